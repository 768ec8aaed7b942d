"""Find any of the model's classes by typing part of its name, to explain it.

The top 5 are only a few of ImageNet's 1000 classes; a student who wonders why
the network did *not* say "tiger" needs to reach that class too. The completer
matches anywhere in the name, ignoring case, and every entry carries its class
index, so two classes with the same name stay apart.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QLabel, QLineEdit, QVBoxLayout, QWidget

INDEX_ROLE = Qt.ItemDataRole.UserRole + 1
PLACEHOLDER = "explain another class…"


def find_classes(text: str, names: list[str]) -> list[int]:
    """The classes ``text`` names: an index, the exact names (any case), else every name containing it."""
    text = text.strip()
    if not text:
        return []
    if text.isdigit():
        return [int(text)] if int(text) < len(names) else []
    low = text.casefold()
    exact = [i for i, n in enumerate(names) if n.casefold() == low]
    return exact or [i for i, n in enumerate(names) if low in n.casefold()]


class ClassPicker(QWidget):
    """A search field over all class names; emits ``classChosen(index)`` for a completion or a unique match."""

    classChosen = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._names: list[str] = []
        self.field = QLineEdit()
        self.field.setPlaceholderText(PLACEHOLDER)
        self.field.setClearButtonEnabled(True)
        self.field.setToolTip("Type part of a class name (or its index) and pick it: "
                              "the overlay shows why the network would answer that class")
        self.model = QStandardItemModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setMaxVisibleItems(10)
        self.field.setCompleter(self.completer)
        self.completer.activated[QModelIndex].connect(self._on_completion)
        self.field.returnPressed.connect(self._on_return)
        self.field.textEdited.connect(lambda _t: self.hint.setVisible(False))
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setStyleSheet("color: #b00020;")
        self.hint.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.field)
        lay.addWidget(self.hint)
        self._just_chosen = False  # a completion was picked by this very key press: its Enter is not a 2nd pick

    def set_class_names(self, names) -> None:
        """All of the model's classes, in index order; None or empty disables the field."""
        self._names = [str(n) for n in (names or [])]
        self.model.clear()
        seen: dict[str, int] = {}
        for n in self._names:
            seen[n.casefold()] = seen.get(n.casefold(), 0) + 1
        for i, n in enumerate(self._names):
            item = QStandardItem(n if seen[n.casefold()] == 1 else f"{n} (class {i})")
            item.setData(i, INDEX_ROLE)
            item.setToolTip(f"class {i}: {n}")
            self.model.appendRow(item)
        self.field.clear()
        self.hint.setVisible(False)
        self.field.setEnabled(bool(self._names))

    def class_names(self) -> list[str]:
        return list(self._names)

    def _choose(self, index: int) -> None:
        self.hint.setVisible(False)
        self._just_chosen = True
        QTimer.singleShot(0, self._after_choice)  # after the completer has written into the field
        self.classChosen.emit(int(index))

    def _after_choice(self) -> None:
        self._just_chosen = False
        self.field.clear()  # the panel's caption says what is explained; the field is ready for the next name

    def _on_completion(self, proxy_index: QModelIndex) -> None:
        index = proxy_index.data(INDEX_ROLE)
        if index is None:
            return
        self._choose(int(index))

    def _on_return(self) -> None:
        text = self.field.text()
        popup = self.completer.popup()
        if popup.isVisible() and popup.currentIndex().isValid():
            return  # the completer picks the highlighted entry from this same key press
        if self._just_chosen or not text.strip():
            return
        found = find_classes(text, self._names)
        if len(found) == 1:
            self._choose(found[0])
            return
        if not found:
            self.show_hint(f"no class matches “{text.strip()}”" if not text.strip().isdigit()
                           else f"no class {text.strip()}: the indices are 0–{len(self._names) - 1}")
        else:
            self.show_hint(f"“{text.strip()}” matches {len(found)} classes: pick one from the list")

    def show_hint(self, message: str) -> None:
        """One line under the field saying why nothing was chosen."""
        self.hint.setText(message)
        self.hint.setVisible(True)
