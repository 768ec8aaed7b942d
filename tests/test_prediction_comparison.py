"""The predictions panel's before/after view of an ablation: it prints the numbers it is given (read back
here), colours a rise red and a fall blue, keeps class clicks working, Reset asks for the original,
and clearing returns to the normal view without ever asking the window for both views' height."""
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.predictions_panel import PredictionsPanel

MINUS = "\u2212"


def row(index, label, pb, pa, zb, za, new=False, rb=1, ra=1):
    return {"index": index, "label": label, "new": new, "rank_before": rb, "rank_after": ra,
            "logit_before": zb, "logit_after": za, "logit_delta": za - zb,
            "prob_before": pb, "prob_after": pa, "prob_delta": pa - pb}


# A trained model's answer collapsing: 0.906 → 0.335 for the top class, a new class coming in.
ROWS = [row(285, "Egyptian cat", 0.906, 0.335, 14.0, 11.0, rb=1, ra=1),
        row(281, "tabby", 0.055, 0.151, 11.2, 10.2, rb=2, ra=3),
        row(282, "tiger cat", 0.030, 0.184, 10.6, 10.4, rb=3, ra=2),
        row(287, "lynx", 0.006, 0.083, 9.0, 9.6, rb=4, ra=6),
        row(904, "window screen", 0.0012, 0.0019, 7.5, 6.0, rb=5, ra=9),
        row(283, "Persian cat", 0.00004, 0.136, -0.53, 10.1, new=True, rb=412, ra=4)]
CAT_DOG = {"cat": {"before": 0.991, "after": 0.806, "delta": 0.806 - 0.991},
           "dog": {"before": 0.00015, "after": 0.0011, "delta": 0.0011 - 0.00015}}
TOP = [{"index": r["index"], "label": r["label"], "prob": r["prob_before"], "logit": r["logit_before"]}
       for r in ROWS[:5]]
CAPTION = "after ablation: conv5_3: channels 12, 40 set to 0"


@pytest.fixture
def panel(qtbot):
    widget = PredictionsPanel()
    qtbot.addWidget(widget)
    widget.resize(300, 700)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_predictions(TOP, {"cat": 0.991, "dog": 0.00015}, "ImageNet-pretrained weights", True,
                           num_classes=1000)
    return widget


def read(text: str) -> float:
    """A number as the panel prints it, read back: "90.6%", "<0.1%", "▼ 57.1", "▲ 0.60", "−0.53"."""
    sign = -1.0 if text.startswith("▼") else 1.0
    core = text.lstrip("▲▼").strip().replace(MINUS, "-").rstrip("%")
    return sign * float(core.lstrip("<"))


def assert_percent(text: str, p: float) -> None:
    """``text`` shows probability ``p`` to its 0.1 %, or as "<0.1%" when it is smaller than that."""
    if 0 < p * 100 < 0.1:
        assert text == "<0.1%"
    else:
        assert read(text) == pytest.approx(p * 100, abs=0.05)


def ink(label) -> QColor:
    """The colour of a label's text as drawn: the average of the pixels far from its background."""
    image = label.grab().toImage()
    bg = image.pixelColor(0, 0)
    far = []
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if abs(c.red() - bg.red()) + abs(c.green() - bg.green()) + abs(c.blue() - bg.blue()) > 120:
                far.append((c.red(), c.green(), c.blue()))
    assert far, "nothing drawn"
    return QColor(*[int(v) for v in np.mean(far, axis=0)])


def test_values_shown_are_those_given(panel):
    panel.set_comparison(ROWS, CAT_DOG, CAPTION)
    view = panel.compare
    assert panel.is_comparing() and view.isVisibleTo(panel)
    assert view.caption_label.text() == CAPTION
    for given in ROWS:
        line = view.line_of(given["index"])
        assert line["name"].text() == given["label"]
        for label, key in zip(line["prob"], ("prob_before", "prob_after")):
            assert_percent(label.text(), given[key])
        for label, key in zip(line["logit"], ("logit_before", "logit_after")):
            assert read(label.text()) == pytest.approx(given[key], abs=0.005)
        assert read(line["prob_delta"].text()) == pytest.approx(given["prob_delta"] * 100, abs=0.05)
        assert read(line["logit_delta"].text()) == pytest.approx(given["logit_delta"], abs=0.005)
    for key in ("cat", "dog"):
        line = view.line_of(key)
        assert line["name"].text() == key.capitalize()
        assert_percent(line["prob"][0].text(), CAT_DOG[key]["before"])
        assert_percent(line["prob"][1].text(), CAT_DOG[key]["after"])
        assert read(line["prob_delta"].text()) == pytest.approx(CAT_DOG[key]["delta"] * 100, abs=0.05)
    # The original top classes in their order, then the new one, under its heading.
    assert [line["key"] for line in view.lines] == [285, 281, 282, 287, 904, 283, "cat", "dog"]
    heading = [w for w in view._made if getattr(w, "text", lambda: "")().startswith("new in the top")]
    assert len(heading) == 1
    assert view._grid.getItemPosition(view._grid.indexOf(heading[0]))[0] < \
        view._grid.getItemPosition(view._grid.indexOf(view.line_of(283)["name"]))[0]


def test_rises_are_red_and_falls_blue(panel):
    panel.set_comparison(ROWS, CAT_DOG, CAPTION)
    view = panel.compare
    down, up = ink(view.line_of(285)["prob_delta"]), ink(view.line_of(281)["prob_delta"])
    assert view.line_of(285)["prob_delta"].text().startswith("▼")
    assert view.line_of(281)["prob_delta"].text().startswith("▲")
    assert down.blue() > down.red() + 60 and up.red() > up.blue() + 60
    assert ink(view.line_of("cat")["prob_delta"]).blue() > ink(view.line_of("cat")["prob_delta"]).red()
    neutral = panel.compare
    neutral.set_comparison([row(1, "same", 0.5, 0.5, 2.0, 2.0)], None, CAPTION)
    assert neutral.line_of(1)["prob_delta"].text() == "0.0"
    plain = ink(neutral.line_of(1)["prob_delta"])
    assert abs(plain.red() - plain.blue()) < 40  # no change: neither red nor blue


def test_the_normal_view_makes_way_and_comes_back(panel):
    normal = [panel.top_bars, panel.table, panel.sum_label, panel.summed_buttons["cat"]]
    assert all(w.isVisibleTo(panel) for w in normal) and not panel.compare.isVisibleTo(panel)
    panel.set_comparison(ROWS, CAT_DOG, CAPTION)
    assert not any(w.isVisibleTo(panel) for w in normal)
    assert panel.picker.isVisibleTo(panel)  # any other class can still be explained
    panel.clear_comparison()
    assert not panel.is_comparing() and not panel.compare.isVisibleTo(panel)
    assert all(w.isVisibleTo(panel) for w in normal)
    assert panel.class_labels[0].text() == "Egyptian cat" and panel.compare.lines == []
    panel.set_comparison(ROWS, None, CAPTION)
    assert panel.compare.line_of("cat") is None  # no cat-vs-dog answer given, none shown
    panel.clear()  # a new image: the comparison goes with the old predictions
    assert not panel.is_comparing() and not panel.compare.isVisibleTo(panel)


def test_reset_and_class_clicks(panel, qtbot):
    panel.set_comparison(ROWS, CAT_DOG, CAPTION)
    with qtbot.waitSignal(panel.resetRequested, timeout=1000):
        qtbot.mouseClick(panel.compare.reset_button, Qt.MouseButton.LeftButton)
    for key, signal, value in ((281, panel.classChosen, 281), (283, panel.classChosen, 283),
                               ("cat", panel.summedChosen, "cat")):
        hit = panel.compare.line_of(key)["hit"]
        with qtbot.waitSignal(signal, timeout=1000) as blocker:
            qtbot.mouseClick(hit, Qt.MouseButton.LeftButton, pos=hit.rect().center())
        assert blocker.args == [value]
    panel.set_explained(282)
    marked = [line["key"] for line in panel.compare.lines if line["hit"].property("marked")]
    assert marked == [282]
    panel.set_explained("dog")
    assert [line["key"] for line in panel.compare.lines if line["hit"].property("marked")] == ["dog"]


def test_switching_views_never_asks_for_both_heights(qtbot):
    """Right after set_comparison (no event loop pass in between) a parent layout must not see the
    comparison and the hidden normal view stacked: a main window asked then grew to fit both."""
    column = QWidget()
    lay = QVBoxLayout(column)
    panel = PredictionsPanel()
    lay.addWidget(panel)
    lay.addStretch(1)
    qtbot.addWidget(column)
    column.resize(260, 700)
    column.show()
    qtbot.waitExposed(column)
    panel.set_predictions(TOP, {"cat": 0.991, "dog": 0.00015}, "ImageNet-pretrained weights", True)
    normal = lay.minimumSize().height()
    many = ROWS + [row(900 + i, f"new class {i}", 0.0, 0.05, 0.0, 9.0, new=True) for i in range(4)]
    panel.set_comparison(many, CAT_DOG, CAPTION)
    comparing = lay.minimumSize().height()
    assert comparing <= normal + 40, (normal, comparing)
    panel.clear_comparison()
    assert lay.minimumSize().height() <= max(normal, comparing) + 5  # the comparison is gone at once


@pytest.mark.parametrize("delta, decimals, scale, text, sign", [
    (-0.571, 1, 100.0, "▼\u200957.1", -1),
    (0.0969, 1, 100.0, "▲\u20099.7", 1),
    (0.0001, 1, 100.0, "▲\u2009<0.1", 1),    # too small to print, but not nothing: never a signed zero
    (-0.004, 2, 1.0, "▼\u2009<0.01", -1),
    (0.0, 1, 100.0, "0.0", 0),
])
def test_format_delta(delta, decimals, scale, text, sign):
    from widgets.prediction_text import format_delta

    assert format_delta(delta, decimals, scale) == (text, sign)
