"""The channel/explain switch above the overlay: what it says the user picked."""
import pytest
from PySide6.QtCore import Qt

from widgets.explain_bar import ExplainBar

LAYERS = [("features.28", "conv5_3"), ("features.29", "relu5_3"), ("features.30", "pool5")]


@pytest.fixture
def bar(qtbot):
    b = ExplainBar()
    qtbot.addWidget(b)
    b.set_layers(LAYERS, "features.29")
    return b


def test_modes_and_their_signals(bar, qtbot):
    assert bar.mode() == "channel" and bar.layer() == "" and bar.method() == "gradcam"
    with qtbot.waitSignal(bar.modeChanged) as sig:
        qtbot.mouseClick(bar.button("explain"), Qt.MouseButton.LeftButton)
    assert sig.args == ["explain"] and bar.mode() == "explain"
    with qtbot.waitSignal(bar.methodChanged) as sig:
        bar.set_method("gradcam++")
    assert sig.args == ["gradcam++"]
    with qtbot.waitSignal(bar.layerChanged) as sig:
        bar.set_layer("features.28")
    assert sig.args == ["features.28"] and bar.layer() == "features.28"
    with pytest.raises(ValueError, match="unknown CAM method"):
        bar.set_method("scorecam")
    with pytest.raises(ValueError, match="no CAM layer"):
        bar.set_layer("classifier.0")


def test_the_default_layer_is_listed_once_and_named(bar):
    items = [bar._layer.itemText(i) for i in range(bar._layer.count())]
    assert items == ["relu5_3", "conv5_3", "pool5"]
    bar.set_layer("features.29")  # choosing the default layer by name is choosing the default
    assert bar.layer() == ""


def test_a_new_image_keeps_the_choice(bar, qtbot):
    bar.set_layer("features.30")
    with qtbot.assertNotEmitted(bar.layerChanged):
        bar.set_layers(LAYERS, "features.29")
    assert bar.layer() == "features.30"
    with qtbot.waitSignal(bar.layerChanged) as sig:  # another model without that layer: back to the default
        bar.set_layers(LAYERS[:2], "features.29")
    assert sig.args == [""] and bar.layer() == ""


def test_method_and_layer_wait_for_the_explain_view(bar):
    assert not bar._method.isEnabled() and not bar._layer.isEnabled()
    bar.set_mode("explain")
    assert bar._method.isEnabled() and bar._layer.isEnabled()
