"""LayerTree: structure, pending/computed state, selection by mouse, keyboard and code, and
columns that fit whatever the dock's width (compact texts, never a cut column)."""
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from widgets.layer_tree import COL_LAYER, COL_OUTPUT, COL_PARAMS, COL_TYPE, NOT_RUN_TEXT, PENDING_TEXT, LayerTree
from widgets.layer_tree_cells import NAME_ROLE, PATH_ROLE

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


# ----------------------------------------------------------------------------- nested models (issue 12)


def _layer_dicts(specs) -> list[dict]:
    """The layer dicts as the worker sends them (app/worker.py, _model_info)."""
    return [{"name": s.name, "alias": s.alias, "type": s.type, "params": s.params, "group": s.group,
             "module": s.module, "call": s.call, "parent": s.parent, "block": s.block, "ran": s.ran,
             "ends": list(s.ends)} for s in specs]


def _nested(arch: str, model):
    """The real nested layer list of ``model`` (inference.analysis.layer_specs) and, from a hooked forward
    written here, every module's output per call ("layer1.0.relu#2") and the leaves' order of calls."""
    import torch

    from inference.analysis import layer_specs
    from inference.model import ModelBundle, prepare

    cpu = torch.device("cpu")
    bundle = ModelBundle(prepare(model, cpu), arch, "untrained", None, False, [str(i) for i in range(1000)], cpu)
    layers = _layer_dicts(layer_specs(bundle))
    outputs, leaf_order, calls = {}, [], {}

    def hook(module, _inputs, output, name):
        calls[name] = calls.get(name, 0) + 1
        key = name if calls[name] == 1 else f"{name}#{calls[name]}"
        outputs[key] = output.detach().clone()
        if not any(True for _ in module.children()):
            leaf_order.append(key)

    handles = [m.register_forward_hook(lambda m, i, o, n=n: hook(m, i, o, n)) for n, m in model.named_modules() if n]
    torch.manual_seed(0)
    with torch.no_grad():
        model(torch.randn(1, 3, 96, 96))
    for h in handles:
        h.remove()
    return layers, outputs, leaf_order


@pytest.fixture(scope="module")
def resnet18_nested():
    from torchvision.models import resnet18

    return _nested("resnet18", resnet18())


@pytest.fixture(scope="module")
def googlenet_nested():
    from torchvision.models import googlenet

    return _nested("googlenet", googlenet(aux_logits=True, init_weights=False))


def _tree_for(qtbot, layers, width=420):
    tree = LayerTree()
    qtbot.addWidget(tree)
    tree.set_model("model", layers)
    tree.resize(width, 620)
    tree.show()
    qtbot.waitExposed(tree)
    return tree


def _rows(item, path=()):
    """(item, labels from the root) for every row under ``item``, in pre-order (top to bottom when expanded)."""
    out = []
    for i in range(item.childCount()):
        child = item.child(i)
        label = child.text(COL_LAYER).split("  ")[0]
        out.append((child, path + (label,)))
        out.extend(_rows(child, path + (label,)))
    return out


def _click(tree, qtbot, item):
    parent = item.parent()
    while parent is not None:
        parent.setExpanded(True)
        parent = parent.parent()
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())


def _children(item) -> list[str]:
    return [item.child(i).text(COL_LAYER).split("  ")[0] for i in range(item.childCount())]


def test_resnet_rows_nest_by_module_in_run_order(qtbot, resnet18_nested):
    import torch
    from torchvision.models import resnet18

    layers, outputs, leaf_order = resnet18_nested
    tree = _tree_for(qtbot, layers)
    root = tree.topLevelItem(0)
    assert _children(root) == [n for n, _ in resnet18().named_children()]  # ResNet runs them in this order
    assert root.text(COL_LAYER) == f"model  ({len(layers)} layers)"
    layer1 = root.child(_children(root).index("layer1"))
    assert _children(layer1) == ["layer1.0", "layer1.1"]
    assert _children(layer1.child(0)) == ["conv1", "bn1", "relu", "conv2", "bn2", "relu · call 2"]
    down = tree.item_for("layer2.0.downsample.0").parent()
    assert down.text(COL_LAYER).startswith("downsample") and _children(down) == ["downsample.0", "downsample.1"]
    assert _children(down.parent())[-2:] == ["downsample", "relu · call 2"]  # downsample runs before the sum

    # Rows that select a layer, top to bottom, are the leaves in the order a hooked forward calls them
    # (containers aside: they show the output of the layer they end on).
    leaves = [item.data(COL_LAYER, NAME_ROLE) for item, _ in _rows(root) if item.childCount() == 0]
    assert leaves == leaf_order
    call2 = tree.item_for("layer1.0.relu#2")
    assert call2.text(COL_LAYER) == "relu · call 2" and call2.toolTip(COL_LAYER).startswith("layer1.0.relu#2")
    assert tree.item_for("layer1.0.relu").text(COL_LAYER) == "relu"

    # Every container row that selects a layer shows that container's own output (compared with the hook's).
    containers = [item for item, _ in _rows(root) if item.childCount()]
    assert len(containers) == 4 + 8 + 3  # layer1…4, their 2 blocks each, 3 downsamples
    for item in containers:
        path, name = item.data(COL_LAYER, PATH_ROLE), item.data(COL_LAYER, NAME_ROLE)
        assert name and torch.equal(outputs[path], outputs[name]), path
    # the top-level containers open, the ones in them closed
    assert layer1.isExpanded() and not layer1.child(0).isExpanded()


def test_resnet_container_rows_select_the_layer_they_end_on(qtbot, resnet18_nested):
    layers, _, _ = resnet18_nested
    tree = _tree_for(qtbot, layers)
    root = tree.topLevelItem(0)
    by_path = {item.data(COL_LAYER, PATH_ROLE): item for item, _ in _rows(root)}
    for path, expected in [("layer1", "layer1.1.relu#2"), ("layer2.0", "layer2.0.relu#2"),
                           ("layer3.0.downsample", "layer3.0.downsample.1"), ("layer1.0.relu#2", "layer1.0.relu#2")]:
        with qtbot.waitSignal(tree.layerSelected, timeout=1000) as blocker:
            _click(tree, qtbot, by_path[path])
        assert blocker.args == [expected] and tree.selected_layer() == expected
    # layer1.1 is the same tensor as its last relu: going from one row to the other shows nothing new
    tree.select_layer("layer1.1.relu#2")
    with qtbot.assertNotEmitted(tree.layerSelected):
        _click(tree, qtbot, by_path["layer1.1"])
    assert tree.currentItem() is by_path["layer1.1"]

    # the shape reaches every row that shows the layer, and leaves the others pending
    tree.mark_computed("layer1.1.relu#2", (64, 24, 24))
    assert [by_path[p].text(COL_OUTPUT) for p in ("layer1", "layer1.1", "layer1.1.relu#2")] == ["64×24×24"] * 3
    assert by_path["layer1.0"].text(COL_OUTPUT) == PENDING_TEXT
    tree.reset_pending()
    assert by_path["layer1"].text(COL_OUTPUT) == PENDING_TEXT and tree.is_pending("layer1.1.relu#2")


def test_selecting_a_deep_layer_in_code_opens_its_way(qtbot, resnet18_nested):
    layers, _, _ = resnet18_nested
    tree = _tree_for(qtbot, layers)
    item = tree.item_for("layer3.1.conv2")
    assert not item.parent().isExpanded()
    seen = []
    tree.layerSelected.connect(seen.append)
    tree.select_layer("layer3.1.conv2")
    assert seen == ["layer3.1.conv2"] and tree.currentItem() is item
    assert item.parent().isExpanded() and item.parent().parent().isExpanded()
    assert tree.visualItemRect(item).isValid()
    tree.setFocus()
    with qtbot.waitSignal(tree.layerSelected, timeout=1000) as blocker:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert blocker.args == ["layer3.1.bn2"]


def test_googlenet_blocks_calls_and_auxiliary_heads(qtbot, googlenet_nested):
    import torch

    layers, outputs, leaf_order = googlenet_nested
    tree = _tree_for(qtbot, layers)
    root = tree.topLevelItem(0)
    top = _children(root)
    assert top[-2:] == ["aux1", "aux2"]  # never run in eval mode: last, whatever their place in the model
    assert top[:-2] == [n for n in dict.fromkeys(n.split(".")[0] for n in leaf_order)]  # the rest in run order
    incep = tree.item_for("inception3a")  # a block: its container row is the layer, not a duplicate child
    assert incep.text(COL_TYPE) == "Inception" and _children(incep) == ["branch1", "branch2", "branch3", "branch4"]
    assert [item.data(COL_LAYER, PATH_ROLE) for item, _ in _rows(root)].count("inception3a") == 1
    assert not incep.isExpanded()  # a block of 20 layers stays closed until asked for
    branch2 = incep.child(1)
    assert _children(branch2) == ["branch2.0", "branch2.1"] and _children(branch2.child(1)) == ["conv", "bn"]
    leaves = [item.data(COL_LAYER, NAME_ROLE) for item, _ in _rows(root) if item.childCount() == 0]
    assert leaves[:-2] == leaf_order and leaves[-2:] == [None, None]  # the heads select nothing

    for path, expected in [("inception3a", "inception3a"), ("inception3a.branch2", "inception3a.branch2.1"),
                           ("conv1", "conv1")]:
        item = next(i for i, _ in _rows(root) if i.data(COL_LAYER, PATH_ROLE) == path)
        assert torch.equal(outputs[path], outputs[expected])  # the row shows this container's own output
        with qtbot.waitSignal(tree.layerSelected, timeout=1000) as blocker:
            _click(tree, qtbot, item)
        assert blocker.args == [expected]

    aux = tree.item_for("aux1")
    assert "aux1" not in outputs  # the hooked eval forward never ran it
    assert aux.text(COL_OUTPUT) == NOT_RUN_TEXT and aux.toolTip(COL_OUTPUT) == "not run in eval mode (an auxiliary head)"
    assert not aux.flags() & Qt.ItemFlag.ItemIsSelectable and not tree.is_pending("aux1")
    before = tree.currentItem()
    with qtbot.assertNotEmitted(tree.layerSelected):
        _click(tree, qtbot, aux)
        tree.select_layer("aux2")
    assert tree.currentItem() is before
    tree.reset_pending()
    assert aux.text(COL_OUTPUT) == NOT_RUN_TEXT


@pytest.mark.parametrize("width", [240, 300])
def test_nested_trees_fit_a_narrow_dock(qtbot, resnet18_nested, googlenet_nested, width):
    """As the tree opens, whole texts everywhere at 300 px; at 240 px, as opened at first, too. Opened all the way
    at 240 px, only the deepest names (ResNet's layer2.0.downsample) may elide: Output and Params stay whole."""
    for layers, outputs in (resnet18_nested[:2], googlenet_nested[:2]):
        tree = _tree_for(qtbot, layers, width)
        for layer in layers:
            if layer["ran"]:
                tree.mark_computed(layer["name"], tuple(outputs[layer["name"]].shape[1:]))
        for opened in (False, True):
            if opened:
                tree.expandAll()  # the scroll bar comes: the columns refit to the narrower viewport
                qtbot.waitUntil(lambda: tree.verticalScrollBar().isVisible())
            visible = [tree.header().sectionSize(c) for c in range(4) if not tree.isColumnHidden(c)]
            assert sum(visible) <= tree.viewport().width()
            assert not tree.horizontalScrollBar().isVisible()
            assert not tree.isColumnHidden(COL_OUTPUT) and not tree.isColumnHidden(COL_PARAMS)
            bad = _cells_fit(tree, visible_only=True)
            if opened and width < 300:
                bad = [b for b in bad if f" in column {COL_LAYER}:" not in b]
            assert bad == []


def test_vgg16_nested_list_gives_the_same_tree(qtbot, vgg_layers):
    """VGG16's nested list (the default now) draws the tree its leaves alone drew; only features and
    classifier, whose outputs are their last layers', now select those."""
    import torch
    from torchvision.models import vgg16

    from inference.aliases import ALIASES_BY_ARCH
    from inference.analysis import layer_specs
    from inference.model import ModelBundle

    with torch.device("meta"):
        model = vgg16().eval()
    meta = torch.device("meta")
    bundle = ModelBundle(model, "vgg16", "untrained", None, False, [str(i) for i in range(1000)], meta,
                         aliases=ALIASES_BY_ARCH["vgg16"])
    nested = _layer_dicts(layer_specs(bundle))
    old = _tree_for(qtbot, vgg_layers[0])
    new = _tree_for(qtbot, nested)
    cells = lambda t: [(path, tuple(i.text(c) for c in (COL_LAYER, COL_TYPE, COL_PARAMS)),  # noqa: E731
                        i.text(COL_OUTPUT) if i.childCount() == 0 else None,
                        i.toolTip(COL_LAYER) if i.childCount() == 0 else None) for i, path in _rows(t.topLevelItem(0))]
    assert cells(new) == cells(old) and len(cells(new)) == 3 + 39 - 1
    assert new.layer_names() == old.layer_names()
    features = new.topLevelItem(0).child(0)
    assert features.isExpanded() and features.child(0).text(COL_LAYER) == "features.0  conv1_1"
    with qtbot.waitSignal(new.layerSelected, timeout=1000) as blocker:
        _click(new, qtbot, features)
    assert blocker.args == ["features.30"]
    assert old.topLevelItem(0).child(0).data(COL_LAYER, NAME_ROLE) is None  # without "ends", a plain group


def test_rows_never_run_go_last_even_when_listed_in_between():
    """The builder alone: a module eval mode skips goes to the end of its parent, whatever the list's order."""
    from widgets.layer_tree_model import build_rows

    layers = [{"name": "a.conv", "module": "a.conv", "parent": "a", "ran": True},
              {"name": "a.aux", "module": "a.aux", "parent": "a", "ran": False, "block": True},
              {"name": "a.fc", "module": "a.fc", "parent": "a", "ran": True, "ends": ["a"]},
              {"name": "b", "module": "b", "parent": "", "ran": True}]
    top, shown = build_rows(layers)
    assert [r.label for r in top] == ["a", "b"]
    assert [(r.label, r.target) for r in top[0].children] == [("conv", "a.conv"), ("fc", "a.fc"), ("aux", None)]
    assert top[0].target == "a.fc" and [r.path for r in shown["a.fc"]] == ["a.fc", "a"]
    with pytest.raises(ValueError, match="listed twice"):
        build_rows(layers + layers[:1])
