"""PredictionsPanel: top-5 texts and bars, logit/softmax table, cat-vs-dog line, untrained banner,
and the wording for a 2-class model (every class shown) versus a 1000-class one."""
import numpy as np
import pytest

from widgets.predictions_panel import BAR_STEPS, PredictionsPanel, format_percent, format_prob


def number(text: str) -> float:
    """A number as the panel prints it (a real minus sign) read back."""
    return float(text.replace("\u2212", "-"))

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
        assert number(panel.table.item(row, 1).text()) == pytest.approx(entry["logit"], abs=0.005)
        assert float(panel.table.item(row, 2).text()) == pytest.approx(entry["prob"], rel=1e-3, abs=5e-5)
    assert panel.table.rowCount() == 5
    assert panel.weights_label.text() == "ImageNet (torchvision)"


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
    assert panel.summed_buttons["cat"].text() == "Cat 93%"
    assert panel.summed_buttons["dog"].text() == "Dog <1%"  # plain text: "<1%" is not a tag
    text = panel.cat_dog_label.text()
    assert "281–285" in text and "151–268" in text
    panel.set_predictions(TOP, None, "file: catdog.pth", True)
    assert not panel.cat_dog_label.isVisibleTo(panel)
    assert not panel.summed_buttons["cat"].isVisibleTo(panel)


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


def _softmax(z):
    e = np.exp(np.asarray(z, np.float64) - np.max(z))
    return e / e.sum()


def _top(logits, names, k=5):
    probs = _softmax(logits)
    order = np.argsort(-probs, kind="stable")[:k]
    return [{"index": int(i), "label": names[i], "prob": float(probs[i]), "logit": float(logits[i])} for i in order]


@pytest.mark.parametrize("told", [True, False])
def test_two_class_model_shows_both_classes_and_nothing_left_over(panel, told):
    """A cat/dog checkpoint: "Both classes", they sum to 1, and no "other classes" share anything.
    Told the class count, or inferred (the engine lists fewer than 5 only when that is all)."""
    logits = np.array([-0.001, -3.2])  # the first logit rounds to zero: "0.00", never "-0.00"
    top = _top(logits, ["cat", "dog"])
    panel.set_predictions(top, None, "weights from catdog.pth (2 classes)", True,
                          **({"num_classes": 2} if told else {}))
    assert panel.title_label.text() == "Both classes"
    note = panel.sum_label.text()
    assert f"sum to {sum(e['prob'] for e in top):.4f}" in note and "1.0000" in note
    assert "other" not in note and "rest" not in note and "Top" not in panel.title_label.text()
    texts = [panel.table.item(r, 1).text() for r in range(2)]
    assert texts == ["0.00", "\u22123.20"]
    assert panel.weights_label.text() == "Weights from catdog.pth (2 classes)"
    assert "ImageNet" not in panel.class_labels[0].toolTip() + panel.table.item(0, 0).toolTip()


def test_thousand_class_model_says_top_5_of_1000(panel):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=1000) * 3
    top = _top(logits, [f"class {i}" for i in range(1000)])
    panel.set_model_info({"weights_text": "ImageNet-pretrained weights (torchvision)", "pretrained": True,
                          "source": "imagenet", "class_names": [f"class {i}" for i in range(1000)]})
    panel.set_predictions(top, None, "ImageNet-pretrained weights (torchvision)", True)
    assert panel.title_label.text() == "Top 5 of 1000 classes"
    total = sum(e["prob"] for e in top)
    assert panel.sum_label.text() == f"these 5 sum to {total:.4f}; the other 995 classes share the rest"
    for row, entry in enumerate(top):
        z = entry["logit"]
        expected = f"{abs(z):.2f}"
        if z < 0 and float(expected) != 0:
            expected = "\u2212" + expected
        assert panel.table.item(row, 1).text() == expected


def test_new_weights_without_a_count_forget_the_old_count(panel):
    panel.set_model_info({"weights_text": "ImageNet-pretrained weights (torchvision)", "pretrained": True,
                          "class_names": ["x"] * 1000})
    five = _top(np.arange(5.0)[::-1], list("abcde"))
    panel.set_weights("weights from five.pth (5 classes)", True)  # another model, count not said
    panel.set_predictions(five, None, "weights from five.pth (5 classes)", True)
    assert panel.title_label.text() == "Top 5"  # not "Top 5 of 1000 classes"
    assert "995" not in panel.sum_label.text()


@pytest.mark.parametrize("info, label", [
    ({"weights_text": "untrained (random, seed 0)", "pretrained": False, "class_names": ["x"] * 1000},
     "Untrained (random, seed 0)"),
    ({"weights_text": "weights from catdog.pth (2 classes)", "pretrained": True, "class_names": ["cat", "dog"]},
     "Weights from catdog.pth (2 classes)"),
    ({"weights_text": "ImageNet-pretrained weights (torchvision)", "pretrained": True,
      "class_names": ["x"] * 1000}, "ImageNet-pretrained weights (torchvision)"),
])
def test_weights_line_for_each_source(panel, info, label):
    panel.set_model_info(info)
    assert panel.weights_label.text() == label
    assert panel.banner.isVisibleTo(panel) == (not info["pretrained"])
