"""The window's Model menu: every CNN with its weights' state; choosing one loads it (offline: untrained)."""
from gui_helpers import RESULT_TIMEOUT


def _actions(menu):
    for act in menu.actions():
        if act.menu() is not None:
            yield from _actions(act.menu())
        elif act.data():
            yield act


def test_the_model_menu_lists_the_cnns_and_switches_the_model(shown, qtbot):
    from inference.architectures import cnn_names

    win = shown
    qtbot.waitUntil(lambda: bool(win.session.catalogue), timeout=RESULT_TIMEOUT)
    entries = {act.data(): act for act in _actions(win.model_menu)}
    assert set(entries) == set(cnn_names()) and "vit_b_16" not in entries
    assert entries["vgg16"].isChecked() and not entries["resnet18"].isChecked()
    assert "untrained (offline)" in entries["resnet18"].text() and "11.7 M" in entries["resnet18"].text()
    families = {act.text() for act in win.model_menu.actions() if act.menu() is not None}
    assert {"vgg", "resnet", "mobilenetv2", "densenet"} <= families

    # Offline, with nothing cached: the untrained ResNet-18, saying why; the photo is analysed again with it.
    with qtbot.waitSignal(win.resultShown, timeout=RESULT_TIMEOUT):
        entries["resnet18"].trigger()
    info = win.session.model_info
    assert (info["arch"], info["source"], info["display"]) == ("resnet18", "untrained", "ResNet18")
    assert win.session.results_model["arch"] == "resnet18" and "conv1" in win.session.layers
    assert "untrained" in win.notice.message.text()
    assert win.tree.topLevelItem(0).text(0).startswith("ResNet18")
    entries = {act.data(): act for act in _actions(win.model_menu)}
    assert entries["resnet18"].isChecked() and not entries["vgg16"].isChecked()
