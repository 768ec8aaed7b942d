"""PredictionsPanel: top-5 texts and bars, logit/softmax table, cat-vs-dog line, untrained banner."""
import numpy as np
import pytest

from widgets.predictions_panel import BAR_STEPS, PredictionsPanel, format_percent, format_prob

LOGITS = np.array([15.31, 14.91, 14.20, 11.68, 8.21, 3.0, -2.0])  # a few "other" classes too
PROBS = np.exp(LOGITS - LOGITS.max()) / np.exp(LOGITS - LOGITS.max()).sum()
LABELS = ["Egyptian cat", "tabby, tabby cat", "tiger cat", "lynx, catamount", "<window> screen"]
TOP = [{"index": 285 + i, "label": LABELS[i], "prob": float(PROBS[i]), "logit": float(LOGITS[i])} for i in range(5)]


@pytest.fixture
def panel(qtbot):
    widget = PredictionsPanel()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_top5_texts_bars_and_table(panel):
    panel.set_predictions(TOP, {"cat": 0.93, "dog": 0.02}, "ImageNet (torchvision)", True)
    for row, entry in enumerate(TOP):
        pct = entry["prob"] * 100
        assert panel.class_labels[row].text() == entry["label"]
        expected_pct = f"{pct:.1f}%" if pct >= 0.1 else "<0.1%"
        assert panel.percent_labels[row].text() == expected_pct
        assert panel.bars[row].value() == round(entry["prob"] * BAR_STEPS)
        assert panel.table.item(row, 0).text() == entry["label"]
        assert float(panel.table.item(row, 1).text()) == pytest.approx(entry["logit"], abs=0.005)
        assert float(panel.table.item(row, 2).text()) == pytest.approx(entry["prob"], rel=1e-3, abs=5e-5)
    assert panel.table.rowCount() == 5
    assert "ImageNet (torchvision)" in panel.weights_label.text()


def test_probability_formatting():
    assert format_percent(0.6123) == "61.2%"
    assert format_percent(1.0) == "100.0%"
    assert format_percent(0.0) == "0.0%"
    assert format_percent(0.0004) == "<0.1%"
    assert format_percent(0.93, 0) == "93%"
    assert format_percent(0.004, 0) == "<1%"
    assert format_prob(0.61234) == "0.6123"
    assert format_prob(3e-6) == "3.0e-06"


def test_banner_visible_iff_untrained(panel):
    panel.set_predictions(TOP, None, "untrained (random, seed 0)", False)
    assert panel.banner.isVisibleTo(panel)
    assert "Untrained model" in panel.banner.text()
    panel.clear()  # a new image: the weights are still random
    assert panel.banner.isVisibleTo(panel)
    panel.set_predictions(TOP, {"cat": 0.9, "dog": 0.0}, "ImageNet (torchvision)", True)
    assert not panel.banner.isVisibleTo(panel)


def test_cat_vs_dog_shown_only_when_given(panel):
    panel.set_predictions(TOP, {"cat": 0.93, "dog": 0.004}, "ImageNet (torchvision)", True)
    assert panel.cat_dog_label.isVisibleTo(panel)
    text = panel.cat_dog_label.text()
    assert "Cat 93%" in text and "Dog &lt;1%" in text  # escaped: "<1%" must not be read as a tag
    assert "281–285" in text and "151–268" in text
    panel.set_predictions(TOP, None, "file: catdog.pth", True)
    assert not panel.cat_dog_label.isVisibleTo(panel)


def test_fewer_than_five_and_clear(panel):
    panel.set_predictions(TOP[:2], None, "file: catdog.pth", True)
    assert panel.table.rowCount() == 2
    assert panel.class_labels[1].isVisibleTo(panel) and not panel.class_labels[2].isVisibleTo(panel)
    panel.set_predictions(TOP, None, "file: catdog.pth", True)
    assert panel.table.rowCount() == 5 and panel.table.item(4, 0).text() == LABELS[4]
    panel.clear()
    assert panel.class_labels[0].text() == "" and panel.bars[0].value() == 0
    assert panel.empty_label.isVisibleTo(panel)


def test_busy_state(panel):
    panel.set_predictions(TOP, None, "ImageNet (torchvision)", True)
    panel.set_busy(True)
    assert panel.is_busy() and panel.busy_label.isVisibleTo(panel)
    panel.set_busy(False)
    assert not panel.is_busy()
