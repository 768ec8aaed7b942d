"""Container rows name their class ("Sequential", "BasicBlock"), from the map the worker sends."""
from torchvision.models import resnet18

from test_layer_tree_nested import _nested, _rows
from widgets.layer_tree import COL_TYPE, LayerTree


def test_containers_show_their_class(qtbot):
    model = resnet18()
    layers, _outputs, _order = _nested("resnet18", model)
    kinds = {n: type(m).__name__ for n, m in model.named_modules() if n and any(True for _ in m.children())}
    tree = LayerTree()
    qtbot.addWidget(tree)
    tree.set_model("ResNet18", layers, kinds)
    by_path = {path[-1] if path else "": item for item, path in _rows(tree.topLevelItem(0))}
    assert by_path["layer1"].text(COL_TYPE) == "Sequential"
    assert by_path["layer1.0"].text(COL_TYPE) == "BasicBlock"
    assert by_path["conv1"].text(COL_TYPE) == "Conv2d"  # a leaf keeps its own
    tree.set_model("ResNet18", layers)  # no map: containers stay blank, as before
    by_path = {path[-1] if path else "": item for item, path in _rows(tree.topLevelItem(0))}
    assert by_path["layer1"].text(COL_TYPE) == ""
