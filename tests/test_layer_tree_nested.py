"""LayerTree on nested models (issue 12): rows follow the module hierarchy of real resnet18, googlenet and
vgg16 layer lists, checked against a hooked forward written here; container rows, shared calls, aux heads."""
import pytest
from PySide6.QtCore import Qt

from test_layer_tree import _cells_fit, vgg_layers  # noqa: F401,F811  (vgg_layers: a fixture, shared)
from widgets.layer_tree import COL_LAYER, COL_OUTPUT, COL_PARAMS, COL_TYPE, NOT_RUN_TEXT, PENDING_TEXT, LayerTree
from widgets.layer_tree_cells import NAME_ROLE, PATH_ROLE


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
