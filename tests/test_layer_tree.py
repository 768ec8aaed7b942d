"""LayerTree: structure, pending/computed state, selection by mouse, keyboard and code, and
columns that fit whatever the dock's width (compact texts, never a cut column)."""
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

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
    assert root.text(COL_PARAMS) == f"{total / 1e6:.0f} M" and root.toolTip(COL_PARAMS) == f"{total:,} parameters"
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
    assert classifier.child(0).text(COL_PARAMS) == "103 M"  # 3 significant digits
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


# ----------------------------------------------------------------------------- fitting a narrow dock


@pytest.fixture(scope="module")
def vgg_layers():
    """VGG16's real 39 layers as the worker lists them, with their output shapes (meta device: no weights)."""
    import torch
    from torchvision.models import vgg16

    from inference.aliases import ALIASES_BY_ARCH
    from inference.capture import describe_layers

    with torch.device("meta"):
        model = vgg16()
    specs = describe_layers(model, ALIASES_BY_ARCH["vgg16"])
    shapes = {}
    modules = dict(model.named_modules())
    for spec in specs:
        modules[spec.name].register_forward_hook(lambda m, i, o, n=spec.name: shapes.__setitem__(n, tuple(o.shape[1:])))
    model(torch.empty(1, 3, 224, 224, device="meta"))
    layers = [{"name": s.name, "alias": s.alias, "type": s.type, "params": s.params, "group": s.group} for s in specs]
    return layers, shapes


def _cells_fit(tree, visible_only=False) -> list[str]:
    """Every cell whose shown text is wider than its column (text measured here); only in open rows if asked."""
    bad = []
    stack = [(tree.topLevelItem(0), 0)]
    while stack:
        item, depth = stack.pop()
        if not visible_only or item.isExpanded():
            stack.extend((item.child(i), depth + 1) for i in range(item.childCount()))
        for col in range(4):
            if tree.isColumnHidden(col):
                continue
            font = item.font(col)
            width = QFontMetrics(font).horizontalAdvance(tree.shown_text(item, col))
            room = tree.header().sectionSize(col) - (depth + 1) * tree.indentation() * (col == COL_LAYER)
            if width > room - 4:
                bad.append(f"{tree.shown_text(item, col)!r} in column {col}: {width} > {room}")
    return bad


@pytest.mark.parametrize("width", [240, 270, 300, 360, 420, 480, 530])
def test_every_column_fits_the_dock(qtbot, vgg_layers, width):
    layers, shapes = vgg_layers
    tree = LayerTree()
    qtbot.addWidget(tree)
    tree.set_model("VGG16", layers)
    for name, shape in list(shapes.items())[:20]:  # half computed: "pending…" and shapes side by side
        tree.mark_computed(name, shape)
    tree.resize(width, 620)
    tree.show()
    qtbot.waitExposed(tree)
    visible = [tree.header().sectionSize(c) for c in range(4) if not tree.isColumnHidden(c)]
    assert sum(visible) <= tree.viewport().width()
    assert not tree.horizontalScrollBar().isVisible()
    assert not tree.isColumnHidden(COL_OUTPUT) and not tree.isColumnHidden(COL_PARAMS)
    assert _cells_fit(tree) == []


def test_full_texts_when_there_is_room_and_compact_ones_in_a_narrow_dock(qtbot, vgg_layers):
    layers, shapes = vgg_layers
    tree = LayerTree()
    qtbot.addWidget(tree)
    tree.set_model("VGG16", layers)
    for name, shape in shapes.items():
        tree.mark_computed(name, shape)
    tree.resize(tree.sizeHint().width(), 620)
    tree.show()
    qtbot.waitExposed(tree)
    avgpool, conv = tree.item_for("avgpool"), tree.item_for("features.0")
    assert not tree.isColumnHidden(COL_TYPE)
    assert tree.shown_text(avgpool, COL_TYPE) == "AdaptiveAvgPool2d"  # whole, not "AdaptiveAvgPool2"
    assert tree.shown_text(conv, COL_TYPE) == "Conv2d"
    assert tree.shown_text(conv, COL_LAYER) == "features.0  conv1_1"
    assert tree.shown_text(conv, COL_OUTPUT) == "64×224×224"

    tree.resize(240, 620)
    qtbot.waitUntil(lambda: tree.compact_names())
    assert tree.isColumnHidden(COL_TYPE)  # its colour stays on the names; the header tooltip says so
    assert "coloured by type" in tree.headerItem().toolTip(COL_LAYER)
    assert tree.shown_text(conv, COL_LAYER) == "conv1_1"
    assert tree.shown_text(tree.topLevelItem(0).child(0), COL_LAYER) == "features"
    assert conv.toolTip(COL_LAYER).startswith("features.0 (conv1_1) — Conv2d")
    out = tree.shown_text(conv, COL_OUTPUT)
    assert out in ("64×224×224", "64×224²") and "64×224×224" in conv.toolTip(COL_OUTPUT)
    assert tree.shown_text(tree.item_for("classifier.0"), COL_PARAMS) == "103 M"
    assert tree.shown_text(tree.item_for("classifier.0"), COL_OUTPUT) == "4096"


def test_short_type_names():
    from widgets.layer_tree_cells import compact_shape, short_type

    assert [short_type(t) for t in ("Conv2d", "MaxPool2d", "AdaptiveAvgPool2d", "ReLU", "Linear", "Dropout")] == \
        ["Conv", "MaxPool", "AdaptAvgPool", "ReLU", "Linear", "Dropout"]
    assert compact_shape((64, 224, 224)) == "64×224²" and compact_shape((64, 10, 12)) == "64×10×12"
    assert compact_shape((4096,)) == "4096"
