"""Pictures side by side with captions underneath, scaled with their container, aspect kept.

The demo-conv panel's row of five pictures. Their size depends only on the strip's
size and the pictures' aspect, never on what the captions happen to say, so
switching a kernel preset does not make the pictures jump.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

PICTURE_GAP = 8  # pixels between two pictures
CAPTION_GAP = 2  # pixels between a picture and its caption
MIN_PICTURE_WIDTH = 80  # below this the kernel moves under the pictures


class ScaledPixmapLabel(QLabel):
    """A QLabel that shows its pixmap scaled to fit, aspect ratio kept, re-scaled on resize."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._source = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(16, 12)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_source(self, pixmap: QPixmap) -> None:
        """Show ``pixmap`` (kept at full resolution; the label shows a scaled copy)."""
        self._source = QPixmap(pixmap)
        self._rescale()

    def source_pixmap(self) -> QPixmap:
        """The full-resolution pixmap last given to set_source."""
        return self._source

    def clear_source(self) -> None:
        self._source = QPixmap()
        self.clear()

    def aspect(self) -> float:
        """Height / width of the picture (2/3 before any picture arrives)."""
        if self._source.isNull() or self._source.width() == 0:
            return 2 / 3
        return self._source.height() / self._source.width()

    def sizeHint(self) -> QSize:
        return QSize(150, round(150 * self.aspect()))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._source.isNull():
            return
        size = self.contentsRect().size()
        if size.width() < 2 or size.height() < 2:
            return
        self.setPixmap(self._source.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))


class PictureStrip(QWidget):
    """Pictures side by side, each with its caption underneath, all the same size.

    The pictures grow with the strip's height and width (aspect kept). With
    ``fit_width`` on, the strip asks for the height its width needs (used when it
    sits in a vertically scrolling column); otherwise it takes whatever height it gets.
    """

    def __init__(self, views: list[ScaledPixmapLabel], captions: list[QLabel], parent=None):
        super().__init__(parent)
        self.views, self.captions = views, captions
        self._fit_width = False
        self._templates: list[QLabel] = []  # the longest captions expected: measured, never shown
        for view, caption in zip(views, captions):
            view.setParent(self)
            caption.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_caption_templates(self, texts: list[str]) -> None:
        """Reserve caption room for the longest texts expected (rich text, captions' font), so
        a shorter or longer caption (other numbers) never changes the pictures' size."""
        for label in self._templates:
            label.deleteLater()
        self._templates = []
        for text in texts:
            label = QLabel(text, self)
            label.setFont(self.captions[0].font() if self.captions else self.font())
            label.setWordWrap(True)
            label.setVisible(False)
            self._templates.append(label)
        self.refresh()

    def set_fit_width(self, on: bool) -> None:
        if on != self._fit_width:
            self._fit_width = on
            self.updateGeometry()

    def fit_width(self) -> bool:
        return self._fit_width

    def refresh(self) -> None:
        """Re-place everything after the pictures' aspect or the captions' text changed."""
        self.updateGeometry()
        self._place()

    def column_width(self, width: int) -> int:
        """Width of one picture's column when the strip is ``width`` wide."""
        n = len(self.views)
        return max((width - PICTURE_GAP * (n - 1)) // n, 1)

    def caption_height(self, column: int) -> int:
        """Height of the tallest caption, or caption template, in a column ``column`` wide."""
        return max(c.heightForWidth(column) if c.wordWrap() else c.sizeHint().height()
                   for c in (*self.captions, *self._templates))

    def _aspect(self) -> float:
        return self.views[0].aspect() if self.views else 2 / 3

    def _min_picture_height(self) -> int:
        return round(MIN_PICTURE_WIDTH * self._aspect() * 0.75)

    def minimumSizeHint(self) -> QSize:
        n = len(self.views)
        width = n * MIN_PICTURE_WIDTH + (n - 1) * PICTURE_GAP
        return QSize(width, self._min_picture_height() + CAPTION_GAP + self.caption_height(MIN_PICTURE_WIDTH))

    def sizeHint(self) -> QSize:
        n = len(self.views)
        width = n * 150 + (n - 1) * PICTURE_GAP
        if self._fit_width:
            return QSize(width, self.heightForWidth(width))
        return QSize(width, self.minimumSizeHint().height())  # grows into whatever height the dock has

    def hasHeightForWidth(self) -> bool:
        return self._fit_width

    def heightForWidth(self, width: int) -> int:
        column = self.column_width(width)
        return round(column * self._aspect()) + CAPTION_GAP + self.caption_height(column)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._place()

    def _place(self) -> None:
        if not self.views:
            return
        # Never taller than the pictures can use at this width: spare height goes below, not in between.
        self.setMaximumHeight(max(self.heightForWidth(self.width()), self.minimumSizeHint().height()))
        column = self.column_width(self.width())
        caption_h = self.caption_height(column)
        aspect = self._aspect()
        picture_h = max(min(self.height() - caption_h - CAPTION_GAP, round(column * aspect)), 1)
        for i, (view, caption) in enumerate(zip(self.views, self.captions)):
            x = i * (column + PICTURE_GAP)
            view.setGeometry(x, 0, column, picture_h)
            caption.setGeometry(x, picture_h + CAPTION_GAP, column, caption_h)
