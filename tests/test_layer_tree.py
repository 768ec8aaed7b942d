"""LayerTree: structure, pending/computed state, and selection by mouse, keyboard and code."""
import pytest
from PySide6.QtCore import Qt

from widgets.layer_tree import COL_LAYER, COL_OUTPUT, COL_PARAMS, COL_TYPE, PENDING_TEXT, LayerTree

LAYERS = [
    {"name": "features.0", "alias": "conv1_1", "type": "Conv2d", "params": 3 * 64 * 9 + 64, "group": "features"},
    {"name": "features.1", "alias": "relu1_1", "type": "ReLU", "params": 0, "group": "features"},
    {"name": "features.2", "alias": "conv1_2", "type": "Conv2d", "params": 64 * 64 * 9 + 64, "group": "features"},
    {"name": "features.3", "alias": "relu1_2", "type": "ReLU", "params": 0, "group": "features"},
    {"name": "features.4", "alias": "pool1", "type": "MaxPool2d", "params": 0, "group": "features"},
    {"name": "avgpool", "alias": None, "type": "AdaptiveAvgPool2d", "params": 0, "group": "avgpool"},
    {"name": "classifier.0", "alias": "fc6", "type": "Linear", "params": 25088 * 4096 + 4096, "group": "classifier"},
    {"name": "classifier.1", "alias": None, "type": "ReLU", "params": 0, "group": "classifier"},
    {"name": "classifier.2", "alias": None, "type": "Dropout", "params": 0, "group": "classifier"},
]


@pytest.fixture
def tree(qtbot):
    widget = LayerTree()
    qtbot.addWidget(widget)
    widget.set_model("VGG16", LAYERS)
    widget.resize(widget.sizeHint().width(), 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_structure_and_columns(tree):
    assert [tree.headerItem().text(c) for c in range(4)] == ["Layer", "Type", "Output", "Params"]
    assert tree.topLevelItemCount() == 1
    root = tree.topLevelItem(0)
    assert root.text(COL_LAYER).startswith("VGG16")
    total = sum(l['params'] for l in LAYERS)
    assert root.text(COL_PARAMS) == f"{total / 1e6:.1f} M" and root.toolTip(COL_PARAMS) == f"{total:,} parameters"
    groups = [root.child(i) for i in range(root.childCount())]
    assert [g.text(COL_LAYER).split()[0] for g in groups] == ["features", "avgpool", "classifier"]
    features, avgpool, classifier = groups
    assert features.childCount() == 5 and "5 layers" in features.text(COL_LAYER)
    assert classifier.childCount() == 3
    assert avgpool.childCount() == 0  # a dot-less layer is its own group row
    assert all(g.isExpanded() for g in (root, features, classifier))

    conv = features.child(0)
    assert conv.text(COL_LAYER) == "features.0  conv1_1"
    assert conv.text(COL_TYPE) == "Conv2d"
    assert conv.text(COL_PARAMS) == "1.8 k" and conv.toolTip(COL_PARAMS) == "1,792 parameters"
    assert classifier.child(0).text(COL_PARAMS) == "102.8 M"
    assert classifier.child(0).toolTip(COL_PARAMS) == "102,764,544 parameters"
    assert classifier.child(1).text(COL_LAYER) == "classifier.1"
    assert tree.layer_names() == [l["name"] for l in LAYERS]


def test_pending_then_computed_then_reset(tree):
    assert all(tree.is_pending(l["name"]) for l in LAYERS)
    item = tree.item_for("features.2")
    assert item.text(COL_OUTPUT) == PENDING_TEXT
    assert item.font(COL_OUTPUT).italic()

    tree.mark_computed("features.2", (64, 224, 224))
    assert item.text(COL_OUTPUT) == "64×224×224"
    assert not item.font(COL_OUTPUT).italic()
    assert not tree.is_pending("features.2") and tree.is_pending("features.0")
    tree.mark_computed("classifier.0", (4096,))
    assert tree.item_for("classifier.0").text(COL_OUTPUT) == "4096"

    tree.reset_pending()
    assert all(tree.is_pending(l["name"]) for l in LAYERS)
    assert item.font(COL_OUTPUT).italic()


def test_unknown_layer_is_a_clear_error(tree):
    with pytest.raises(KeyError, match="nosuch"):
        tree.mark_computed("nosuch", (1,))


def test_click_emits_layer_name(tree, qtbot):
    item = tree.item_for("features.2")
    center = tree.visualItemRect(item).center()
    with qtbot.waitSignal(tree.layerSelected, timeout=1000) as blocker:
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert blocker.args == ["features.2"]
    assert tree.selected_layer() == "features.2"


def test_clicking_a_group_emits_nothing(tree, qtbot):
    group = tree.topLevelItem(0).child(0)
    center = tree.visualItemRect(group).center()
    with qtbot.assertNotEmitted(tree.layerSelected):
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert tree.currentItem() is group
    assert tree.selected_layer() is None


def test_keyboard_down_moves_to_next_layer(tree, qtbot):
    tree.select_layer("features.3")
    tree.setFocus()
    with qtbot.waitSignal(tree.layerSelected, timeout=1000) as blocker:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert blocker.args == ["features.4"]
    # past the last feature comes avgpool, a layer at group level
    with qtbot.waitSignal(tree.layerSelected, timeout=1000) as blocker:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert blocker.args == ["avgpool"]
    with qtbot.assertNotEmitted(tree.layerSelected):  # onto the "classifier" group row
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    with qtbot.waitSignal(tree.layerSelected, timeout=1000) as blocker:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert blocker.args == ["classifier.0"]


def test_select_layer_emits_once(tree, qtbot):
    seen = []
    tree.layerSelected.connect(seen.append)
    tree.select_layer("classifier.0")
    assert seen == ["classifier.0"]
    assert tree.selected_layer() == "classifier.0"
    tree.select_layer("classifier.0")  # already current: no feedback loop
    assert seen == ["classifier.0"]


def test_set_model_again_replaces_tree_silently(tree, qtbot):
    tree.select_layer("features.0")
    with qtbot.assertNotEmitted(tree.layerSelected):
        tree.set_model("tiny", LAYERS[:2])
    assert tree.layer_names() == ["features.0", "features.1"]
    assert tree.selected_layer() is None
    assert tree.topLevelItem(0).text(COL_LAYER).startswith("tiny")
