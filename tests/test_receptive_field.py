"""Theoretical receptive fields from the model's real graph: VGG16's published figures, ResNet-18 and odd
models checked against the support of d unit / d input, and notes (never a wrong box) where none exists."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inference.field_box import clip_box
from inference.receptive_field import field_table


@pytest.fixture(scope="module")
def vgg_geometry():
    """VGG16's structure on the meta device: the geometry needs no weights (the engine's untrained VGG16 has
    the same modules)."""
    from torchvision.models import vgg16

    with torch.device("meta"):
        return vgg16().eval()


def gradient_supports(model: nn.Module, module: nn.Module, x: torch.Tensor, units, call: int = 0) -> list:
    """[((y, x), mask)]: where d units / d input is non-zero, [H, W] bool, for each (y, x) of ``units``: the units of every channel there, in ``module``'s output of its ``call``-th call (0-based; -1 the last; a
    concatenation's channels each see one branch; the field is all of them). With positive weights, positive
    inputs and no max (no ReLU cut, no argmax) nothing cancels, so the support is exactly the input pixels
    those units depend on. Each position gets its own copy of ``x`` in the batch (eval mode: the copies do
    not mix), so one backward serves them all."""
    outs = []
    handle = module.register_forward_hook(lambda m, args, out: outs.append(out.clone()))
    where = units
    batch = x.repeat(len(where), 1, 1, 1).requires_grad_(True)
    try:
        model(batch)
    finally:
        handle.remove()
    out = outs[call]
    score = sum(out[k, :, y, xx].sum() for k, (y, xx) in enumerate(where))
    (g,) = torch.autograd.grad(score, batch)
    return [((y, xx), g[k].abs().sum(0) > 0) for k, (y, xx) in enumerate(where)]


def bounds(mask: torch.Tensor):
    """The bounding box (y0, x0, y1, x1) of a mask's True pixels."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    return (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)


def box_mask(box, size) -> torch.Tensor:
    y0, x0, y1, x1 = clip_box(box, size)
    mask = torch.zeros(size, dtype=torch.bool)
    mask[y0:y1, x0:x1] = True
    return mask


def positive(model: nn.Module) -> nn.Module:
    """Every conv weight made positive, ReLUs out of place, parameters frozen."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.abs_()
                if m.bias is not None:
                    m.bias.abs_()
            if getattr(m, "inplace", False):
                m.inplace = False
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def test_vgg16_published_sizes(vgg_geometry):
    from inference.aliases import VGG16_ALIASES

    table = field_table(vgg_geometry)
    by_alias = {VGG16_ALIASES[name]: f for name, f in table.fields.items()}
    published = {"conv1_2": 5, "conv2_2": 14, "conv3_3": 40, "conv4_3": 92, "conv5_3": 196, "pool5": 212}
    assert {a: by_alias[a].size for a in published} == {a: (s, s) for a, s in published.items()}
    assert by_alias["relu5_3"] == by_alias["conv5_3"]          # elementwise: the same field
    assert by_alias["avgpool"] == by_alias["pool5"]            # 7→7 adaptive pool at 224: the identity
    assert table.map_sizes["features.28"] == (14, 14)


def test_vgg16_conv5_3_rows(vgg_geometry):
    """A conv5_3 unit at row y covers input rows 16y − 90 … 16y + 105 (inclusive), the published figure."""
    field = field_table(vgg_geometry).field("features.28")
    for y in range(14):
        y0, x0, y1, x1 = field.box(y, 13 - y)
        assert (y0, y1 - 1) == (16 * y - 90, 16 * y + 105)
        assert (x0, x1 - 1) == (16 * (13 - y) - 90, 16 * (13 - y) + 105)


def test_vgg16_linear_layers_have_notes_not_fields(vgg_geometry):
    table = field_table(vgg_geometry)
    assert "classifier.0" not in table.fields and "classifier.0" not in table.map_sizes
    assert "no spatial output" in table.note("classifier.0")
    assert table.spatial()[-1] == "avgpool"


@pytest.fixture(scope="module")
def resnet():
    """torchvision's ResNet-18 (no weights, no download) and its field table, taken from the real model."""
    from torchvision.models import resnet18

    torch.manual_seed(0)
    model = resnet18(weights=None).eval()
    return model, field_table(model)


def corners_and_centre(map_size):
    h, w = map_size
    return [(0, 0), (h // 2, w // 2), (h - 1, w - 1), (1, w - 2)]


RESNET_LAYERS = ["maxpool", "layer1.0.conv2", "layer1.0.relu", "layer1.0.relu#2", "layer2.0.downsample.1",
                 "layer2.0.relu#2", "layer3.0.bn2", "layer3.1.relu#2", "layer4.0.conv1"]


def test_resnet18_fields_are_the_gradient_support(resnet):
    """Each field equals the input pixels the unit really depends on, in a positive-weight copy of the same
    ResNet-18 whose max pool is an average pool of the same geometry (so the gradient reaches every pixel).
    ``layerN.M.relu`` runs twice per block: ``layerN.M.relu`` is its first call, ``layerN.M.relu#2`` its
    second, after the residual add (which is also what the block returns)."""
    model, table = resnet
    from torchvision.models import resnet18

    twin = resnet18(weights=None)
    twin.maxpool = nn.AvgPool2d(3, 2, 1)
    twin = positive(twin)
    modules = dict(twin.named_modules())
    size = (160, 192)   # smaller than 224, and not square: a field does not depend on the input size
    at_size = field_table(model, size)
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1)) + 0.5
    for name in RESNET_LAYERS:
        field = table.field(name)
        assert field is not None, table.note(name)
        assert at_size.field(name) == field
        units = corners_and_centre(at_size.map_sizes[name])
        module, _, k = name.partition("#")
        for (y, xx), support in gradient_supports(twin, modules[module], x, units, int(k or 1) - 1):
            assert torch.equal(support, box_mask(field.box(y, xx), size)), (name, y, xx, field)


def test_resnet18_residual_join_is_the_union_of_its_branches(resnet):
    _, table = resnet
    main, skip = table.field("layer2.0.bn2"), table.field("layer2.0.downsample.1")
    assert table.field("layer2.0.relu#2") == main.union(skip)
    assert table.field("fc") is None and "no spatial output" in table.note("fc")


class _Odd(nn.Module):
    """Asymmetric kernels, strides, dilation and ceil_mode; functional ops between the leaves (a pad, a max
    pool, a concatenation of two branches with the same stride) and a divisible adaptive pool."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, (3, 5), stride=(1, 2), padding=(1, 0), dilation=(2, 1))
        self.pool = nn.AvgPool2d((2, 3), stride=(2, 1), ceil_mode=True)
        self.left = nn.Conv2d(4, 2, 3, padding=1)
        self.right = nn.Conv2d(4, 2, 5, padding=2)
        self.act = nn.ReLU()
        self.last = nn.Conv2d(4, 3, 1)
        self.squash = nn.AdaptiveAvgPool2d((6, 11))   # from 12×11: bins of 2×1

    def forward(self, x):
        x = self.pool(self.conv(x))
        x = F.avg_pool2d(F.pad(x, (1, 0, 2, 1)), 3, stride=2)   # functional: still derived
        x = torch.cat([self.left(x), self.right(x)], dim=1)
        return self.squash(self.last(self.act(x)))


def test_odd_model_fields_are_the_gradient_support():
    torch.manual_seed(3)
    model = positive(_Odd())
    size = (45, 52)
    table = field_table(model, size)
    x = torch.rand(1, 3, *size) + 0.5
    modules = dict(model.named_modules())
    for name in ["conv", "pool", "left", "right", "act", "last", "squash"]:
        field = table.field(name)
        assert field is not None, (name, table.note(name))
        for (y, xx), support in gradient_supports(model, modules[name], x, corners_and_centre(table.map_sizes[name])):
            box = field.box(y, xx)
            assert not (support & ~box_mask(box, size)).any(), (name, y, xx, field)
            if clip_box(box, size) == box:  # wholly inside: the outer taps are real pixels, so the box is tight
                assert bounds(support) == box, (name, y, xx, field)  # (dilation leaves gaps inside it)
    assert table.field("act") == table.field("left").union(table.field("right"))


class _Adaptive(nn.Module):
    def __init__(self, out_size):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveMaxPool2d(out_size)
        self.after = nn.Conv2d(4, 4, 3)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.after(self.pool(self.conv(x))).mean((2, 3)))


def test_adaptive_pool_that_changes_size_unevenly_gives_a_note_not_a_box():
    table = field_table(_Adaptive((5, 5)), (28, 28))      # 14×14 → 5×5: bins of 3 and 4 pixels
    assert table.field("conv") is not None
    for name in ("pool", "after"):
        assert table.field(name) is None and name in table.map_sizes
        assert "14×14 to 5×5" in table.note(name) and "effective field only" in table.note(name)
    assert "\n" not in table.note("after")


def test_adaptive_pool_with_equal_bins_is_a_plain_pool():
    table = field_table(_Adaptive((7, 7)), (28, 28))      # 14 → 7: every bin two pixels, as MaxPool2d(2)
    assert table.field("pool") == table.field("conv").then((2, 2), (2, 2), (0, 0))


class _Disagree(nn.Module):
    """Two branches whose maps have the same size but whose strides differ (2 and 1): no one box per unit."""

    def __init__(self):
        super().__init__()
        self.fine = nn.Conv2d(3, 2, 2, stride=2)
        self.coarse = nn.Conv2d(3, 2, 17)
        self.after = nn.ReLU()

    def forward(self, x):
        return self.after(self.fine(x) + self.coarse(x))


def test_branches_that_disagree_in_stride_give_a_note():
    table = field_table(_Disagree(), (32, 32))
    assert table.field("fine") is not None and table.field("coarse") is not None
    assert table.field("after") is None and "strides 2×2 and 1×1" in table.note("after")


class _SqueezeExcite(nn.Module):
    """An SE block: a 1×1 scale computed from every position multiplies the map, so each unit sees it all."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.gate = nn.Sigmoid()
        self.fc = nn.Linear(4, 4)
        self.after = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        x = self.conv(x)
        scale = self.gate(self.fc(x.mean((2, 3)))).view(1, 4, 1, 1)
        return self.after(x * scale)


def test_a_globally_computed_scale_gives_a_note():
    table = field_table(_SqueezeExcite(), (16, 16))
    assert table.field("conv") is not None
    assert table.field("after") is None and "broadcasts" in table.note("after")


class _Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.other = nn.Conv2d(4, 4, 3)

    def forward(self, x):
        x = self.conv(x)
        return self.other(x) if x.sum().item() > 0 else x   # data-dependent: no meta run can decide


def test_a_model_that_cannot_be_followed_gets_a_note_for_every_layer():
    table = field_table(_Untraceable(), (16, 16))
    assert not table.fields
    assert set(table.notes) == {"conv", "other"}
    assert all("cannot be derived for this model" in n and "effective field only" in n for n in table.notes.values())


def test_deriving_leaves_the_model_untouched():
    """The table comes from a meta copy: the model's parameters, hooks and outputs are as they were."""
    torch.manual_seed(4)
    model = _Odd().eval()
    calls = []
    model.left.register_forward_hook(lambda *a: calls.append(1))
    x = torch.rand(1, 3, 45, 52)
    with torch.no_grad():
        before = model(x)
    params = {k: v.clone() for k, v in model.state_dict().items()}
    calls.clear()
    field_table(model, (45, 52))
    assert calls == []   # the model's own hooks did not run for the meta forward
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(torch.equal(params[k], v) for k, v in model.state_dict().items())
    with torch.no_grad():
        assert torch.equal(model(x), before)
    assert calls == [1]


class _Skip(nn.Module):
    """A block whose output no leaf returns: x + conv(x)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 5, padding=2)

    def forward(self, x):
        return x + self.conv(x)


def test_a_blocks_own_output_gets_its_field_and_a_plain_container_none():
    torch.manual_seed(5)
    model = positive(nn.Sequential(nn.Conv2d(3, 3, 3, stride=2), _Skip(), nn.AvgPool2d(2)))
    size = (41, 37)  # every input row and column reaches the strided conv's output
    table = field_table(model, size)
    modules = dict(model.named_modules())
    field = table.field("1")  # the block: its residual sum
    assert field is not None and field == table.field("0").union(table.field("1.conv"))
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2)) + 0.5
    for (y, xx), support in gradient_supports(model, modules["1"], x, corners_and_centre(table.map_sizes["1"])):
        assert torch.equal(support, box_mask(field.box(y, xx), size)), (y, xx, field)
    assert "" not in table.fields and "2" in table.fields  # the Sequential itself returns "2"'s tensor
