"""The box arithmetic the window draws a probed unit's field with: fields, clipping, photo mapping, the dict form."""
import subprocess
import sys

import numpy as np
import pytest

from inference.field_box import Field, FieldTable, box_on_photo, clip_box

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def window_support(length: int, kernel: int, stride: int, padding: int, dilation: int, unit: int) -> set[int]:
    """The input indices one output index of a 1-D sliding window reads, by enumeration."""
    return {unit * stride - padding + dilation * k for k in range(kernel)}


def chain_support(layers, unit: int) -> set[int]:
    """The input indices an output index depends on, through every layer (last first)."""
    need = {unit}
    for kernel, stride, padding, dilation in reversed(layers):
        need = set().union(*(window_support(0, kernel, stride, padding, dilation, u) for u in need))
    return need


@pytest.mark.parametrize("layers", [
    [(3, 1, 1, 1), (3, 1, 1, 1), (2, 2, 0, 1)],          # VGG's first block
    [(7, 2, 3, 1), (3, 2, 1, 1), (3, 1, 1, 2)],          # a ResNet stem, then a dilated conv
    [(5, 3, 0, 1), (1, 2, 0, 1), (4, 1, 2, 3)],
])
def test_then_composes_as_enumeration_says(layers):
    f = Field((1, 1), (1, 1), (0, 0))
    for kernel, stride, padding, dilation in layers:
        f = f.then((dilation * (kernel - 1) + 1,) * 2, (stride, stride), (padding, padding))
    for unit in (0, 1, 5, 9):
        need = chain_support(layers, unit)
        y0, x0, y1, x1 = f.box(unit, unit)
        assert (y0, y1) == (min(need), max(need) + 1)
        assert (x0, x1) == (y0, y1)


def test_box_rows_and_columns_are_not_swapped():
    f = Field((5, 3), (4, 2), (1, 0))
    assert f.box(2, 3) == (2 * 4 - 1, 3 * 2 - 0, 2 * 4 - 1 + 5, 3 * 2 + 3)


def test_union_is_the_bounding_box_of_both_boxes_at_every_unit():
    a, b = Field((7, 5), (4, 4), (3, 1)), Field((3, 9), (4, 4), (0, 6))
    u = a.union(b)
    for y, x in [(0, 0), (3, 7), (10, 2)]:
        ba, bb = a.box(y, x), b.box(y, x)
        assert u.box(y, x) == (min(ba[0], bb[0]), min(ba[1], bb[1]), max(ba[2], bb[2]), max(ba[3], bb[3]))
    assert a.union(Field((3, 3), (2, 4), (0, 0))) is None  # strides that disagree have no common field


def test_clip_box():
    assert clip_box((-10, 5, 30, 300), (224, 200)) == (0, 5, 30, 200)
    y0, x0, y1, x1 = clip_box((230, -50, 260, -5), (224, 224))  # wholly outside: empty, never inverted
    assert y1 == y0 and x1 == x0


def test_bad_fields_are_one_line_errors():
    for args in [((0, 3), (1, 1), (0, 0)), ((3, 3), (0, 1), (0, 0)), ((2.5, 3), (1, 1), (0, 0)), ((3,), (1, 1), (0, 0))]:
        with pytest.raises(ValueError) as err:
            Field(*args)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError):
        Field.from_dict({"size": [3, 3]})


def test_dict_forms_round_trip():
    f = Field((196, 196), (16, 16), (90, 90))
    assert Field.from_dict(f.as_dict()) == f
    table = FieldTable((224, 224), {"a": f}, {"b": "branches disagree", "fc": "no spatial output"},
                       {"a": (14, 14), "b": (7, 7)})
    plain = table.as_dict()
    assert set(plain) == {"a", "b"}                       # spatial layers only
    assert plain["b"] == {"note": "branches disagree", "map_size": [7, 7]}
    back = FieldTable.from_dict(plain)
    assert back.fields == {"a": f} and back.note("b") == "branches disagree" and back.map_sizes == table.map_sizes
    assert back.spatial() == ["a", "b"]


def _coordinate_maps(photo_w: int, photo_h: int):
    """For each pixel of the network's input (torchvision's resize 256 + centre crop 224, nearest), the photo
    pixel it was taken from: an independent account of where the input square sits on the photo."""
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    ys, xs = torch.meshgrid(torch.arange(photo_h, dtype=torch.float64), torch.arange(photo_w, dtype=torch.float64),
                            indexing="ij")
    maps = torch.stack([ys, xs])
    maps = TF.center_crop(TF.resize(maps, 256, interpolation=InterpolationMode.NEAREST), 224)
    return maps[0].numpy(), maps[1].numpy()


@pytest.mark.parametrize("photo", [(451, 300), (300, 451), (640, 256)])
def test_box_on_photo_lands_where_torchvision_takes_the_pixels_from(photo):
    from PIL import Image

    from inference.preprocess import preprocess

    w, h = photo
    rect = preprocess(Image.new("RGB", photo), "imagenet").rect
    ymap, xmap = _coordinate_maps(w, h)
    step_x, step_y = rect[2] / 224, rect[3] / 224   # photo pixels per input pixel
    for box in [(0, 0, 40, 40), (100, 37, 186, 219), (-90, 130, 106, 326)]:
        y0, x0, y1, x1 = clip_box(box, (224, 224))
        px0, py0, px1, py1 = box_on_photo(box, (224, 224), rect, photo)
        src_y, src_x = ymap[y0:y1, x0:x1], xmap[y0:y1, x0:x1]
        # every source pixel lies in the photo box, and the box is no more than one input pixel too big
        assert px0 - 1 <= src_x.min() and src_x.max() + 1 <= px1 + 1
        assert py0 - 1 <= src_y.min() and src_y.max() + 1 <= py1 + 1
        assert src_x.min() - px0 <= step_x + 1 and px1 - (src_x.max() + 1) <= step_x + 1
        assert src_y.min() - py0 <= step_y + 1 and py1 - (src_y.max() + 1) <= step_y + 1


def test_letterbox_box_is_cut_to_the_photo():
    """A letterboxed portrait: input columns that show only the grey fill map to an empty box on the photo."""
    from PIL import Image

    from inference.preprocess import preprocess

    photo = (150, 300)
    prepared = preprocess(Image.new("RGB", photo, (255, 255, 255)), "letterbox")
    shows_photo = (prepared.view_rgb.min(axis=(0, 2)) > 200)    # per input column: the white photo, not grey
    first, last = int(np.argmax(shows_photo)), 224 - int(np.argmax(shows_photo[::-1]))
    assert first > 10   # the photo really is letterboxed
    px0, py0, px1, py1 = box_on_photo((50, 0, 100, first - 2), (224, 224), prepared.rect, photo)
    assert px1 == px0   # only fill: nothing of the photo
    px0, py0, px1, py1 = box_on_photo((-20, first - 5, 300, last + 5), (224, 224), prepared.rect, photo)
    assert (px0, py0, px1, py1) == (0.0, 0.0, float(photo[0]), float(photo[1]))  # the whole photo, no more


def test_field_box_imports_neither_torch_nor_numpy():
    """The UI thread draws the box from this module: it must not pull torch in."""
    code = ("import sys; import inference.field_box; "
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
