"""BarChart: the class layer's bars are called logits (no "(x0.001)" rescaling), and the value
range holds 0 and every bar of both signs, also for a 2-unit model.

Ranges are checked against the values' own min/max, after the chart has been painted
(the label layout may grow the range) and on the bars' drawn geometry."""
import numpy as np
import pytest

from widgets.bar_chart import BarChart


@pytest.fixture
def chart(qtbot):
    c = BarChart()
    qtbot.addWidget(c)
    c.resize(420, 360)
    c.show()
    qtbot.waitExposed(c)
    return c


def shown_range(chart, qtbot):
    qtbot.waitUntil(lambda: chart.plot_widget().getViewBox().sceneBoundingRect().height() > 50)
    chart.grab()                                  # paint once: labels are laid out, range settles
    return chart.plot_widget().getViewBox().viewRange()


@pytest.mark.parametrize("values", [[0.0312, -0.0457], [3.2, -7.5], [-0.2, -0.9], [0.5, 0.25]])
def test_two_units_show_both_bars_and_zero(chart, qtbot, values):
    values = np.array(values, np.float32)
    chart.set_values(values, ["cat", "dog"])
    (x0, x1), (y0, y1) = shown_range(chart, qtbot)
    lo, hi = min(0.0, values.min()), max(0.0, values.max())
    span = hi - lo
    assert y0 < 0 < y1 or (lo == 0 and y0 <= 0 < y1)
    assert y0 <= lo - 0.02 * span and y1 >= hi + 0.02 * span      # a margin beyond each bar
    if values.min() < 0:
        assert y0 <= values.min() - 0.05 * span                     # the negative bar is not cut off
    bars = chart._bars.boundingRect()
    assert x0 <= bars.left() and bars.right() <= x1
    assert y0 <= bars.top() and bars.bottom() <= y1
    # only the winner is highlighted when every bar would be "top"
    assert chart._top.opts["x"].tolist() == [float(np.argmax(values))]


def test_class_layer_is_labelled_logit_without_si_rescaling(chart, qtbot):
    rng = np.random.default_rng(0)
    values = rng.normal(0, 0.02, 1000).astype(np.float32)     # small logits: pyqtgraph would say "x0.001"
    chart.set_values(values, [f"class {i}" for i in range(1000)])
    shown_range(chart, qtbot)
    axis = chart.plot_widget().getAxis("left")
    assert chart.value_label() == "logit"
    assert "logit" in axis.labelString() and "x0.001" not in axis.labelString()
    assert axis.autoSIPrefixScale == 1.0
    chart.set_values(values[:64])                              # a hidden layer: activations
    assert chart.value_label() == "activation" and "activation" in axis.labelString()
    chart.set_values(values[:10], value_label="score")         # or what the caller says
    assert "score" in axis.labelString()
