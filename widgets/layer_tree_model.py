"""The layer tree's rows, built from the worker's layer list without Qt, so the nesting can be tested alone.

The worker lists layers in run order, each with the module it comes from and that module's
parent (``"layer1.0.relu#2"``: module ``layer1.0.relu``, call 2, parent ``layer1.0``). Rows
nest by module path: every dotted prefix is a container row, its children in run order and
the modules eval mode never runs (``ran`` False: GoogLeNet's auxiliary heads) last. A
container *shows a layer* when it is a block (its own output is captured: an Inception
module) or when some layer's ``ends`` names it (ResNet's ``layer1`` is the output of
``layer1.1.relu#2``); then its row is where that output is selected. Older lists without
``module``/``parent`` nest by their names, which gives VGG's features → features.0 … as before.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Row", "build_rows", "row_label", "short_label"]


@dataclass(eq=False)
class Row:
    """One row of the tree: a layer, or a container of rows (which may itself show a layer)."""

    path: str                        # module path of a container, layer name of a leaf
    label: str                       # what column 0 shows before any alias: "relu · call 2", "features.0"
    container: bool
    short: str = ""                  # what it shows in a narrow dock, if shorter: "relu · 2", "0"
    layer: dict | None = None        # the layer this row shows: its own, a block's, or the one ending it
    block: bool = False              # a container whose own output is captured
    children: list["Row"] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        """False for what eval mode never runs: such a row has no output and cannot be selected."""
        if self.block or not self.container:
            return bool(self.layer.get("ran", True))
        return any(child.ran for child in self.children) if self.children else True

    @property
    def target(self) -> str | None:
        """The layer name that selecting this row shows, or None (a plain container, or never run)."""
        if self.layer is None or not self.ran:
            return None
        return str(self.layer["name"])

    @property
    def params(self) -> int:
        """A leaf's own parameters; a block's spec already counts its whole subtree; else the children's sum."""
        if self.layer is not None and (self.block or not self.container):
            return int(self.layer.get("params") or 0)
        return sum(child.params for child in self.children)

    @property
    def count(self) -> int:
        """How many listed layers this row stands for (a block counts its own output too)."""
        if not self.container:
            return 1
        return sum(child.count for child in self.children) + (1 if self.block else 0)


def row_label(path: str) -> str:
    """A module's last name, with its parent's when it is only an index: "layer1.0", "features.0", "relu"."""
    parts = path.split(".")
    if parts[-1].isdigit() and len(parts) > 1:
        return ".".join(parts[-2:])
    return parts[-1]


def short_label(path: str) -> str:
    """The label of a narrow dock: a deep index alone ("layer2.0.downsample.0" → "0", under its "downsample"
    row, as ``print(model)`` writes it); top-level groups keep theirs ("features.0", "layer1.0")."""
    parts = path.split(".")
    return parts[-1] if parts[-1].isdigit() and len(parts) > 2 else row_label(path)


def _module_of(layer: dict) -> str:
    return str(layer.get("module") or str(layer["name"]).split("#", 1)[0])


def _parent_of(layer: dict, module: str) -> str:
    parent = layer.get("parent")
    if parent is None:
        parent = module.rsplit(".", 1)[0] if "." in module else ""
    return str(parent)


def _call_of(layer: dict) -> int:
    if layer.get("call"):
        return int(layer["call"])
    name = str(layer["name"])
    tail = name.rsplit("#", 1)[1] if "#" in name else ""
    return int(tail) if tail.isdigit() else 1


def build_rows(layers: list[dict]) -> tuple[list[Row], dict[str, list[Row]]]:
    """The top-level rows, and for each layer name the rows that show it (its own row first).

    Raises ValueError for a layer listed twice."""
    top: list[Row] = []
    containers: dict[str, Row] = {}

    def container(path: str, parent: str | None = None) -> Row:
        row = containers.get(path)
        if row is None:
            if parent is None:
                parent = path.rsplit(".", 1)[0] if "." in path else ""
            short = short_label(path)
            row = Row(path, row_label(path), container=True, short=short if short != row_label(path) else "")
            (container(parent).children if parent else top).append(row)
            containers[path] = row
        return row

    shown: dict[str, list[Row]] = {}
    for layer in layers:
        name = str(layer["name"])
        if name in shown:
            raise ValueError(f"layer {name!r} listed twice")
        module = _module_of(layer)
        parent = _parent_of(layer, module)
        if layer.get("block"):
            row = container(module, parent)
            row.layer, row.block = layer, True
        else:
            call, label, short = _call_of(layer), row_label(module), short_label(module)
            if call > 1:
                label, short = f"{label} · call {call}", f"{short} · {call}"
            row = Row(name, label, container=False, short=short if short != label else "", layer=layer)
            (container(parent).children if parent else top).append(row)
        shown[name] = [row]

    for layer in layers:  # a container ending on this very tensor shows it too (a block shows its own output)
        for path in layer.get("ends") or ():
            row = containers.get(str(path))
            if row is not None and row.layer is None:
                row.layer = layer
                shown[str(layer["name"])].append(row)

    def settle(rows: list[Row]) -> None:  # what never runs goes last, run order kept otherwise
        rows.sort(key=lambda r: not r.ran)
        for row in rows:
            settle(row.children)

    settle(top)
    return top, shown
