"""The composed figure's geometry: what it shows (FigureData) and where each part goes.

Pure layout maths in logical px (no painting), shared by :mod:`widgets.figure`'s
painter, ``panel_rects`` (tests, previews) and the size the writers use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt

WIDTH = 1600
MARGIN = 40
CONTENT_W = WIDTH - 2 * MARGIN
CAM_MAX_W, CAM_MAX_H = 560.0, 400.0   # the CAM on the photo: as large as row 2's overlay


@dataclass
class CamPanel:
    """The top-1 class's class activation map, ready to paint (see ``app.figure_data.cam_panel``)."""

    label: str                 # the class: "tabby, tabby cat"
    layer: str                 # the layer with its alias: "relu5_3 (features.29)"
    method: str                # "Grad-CAM"
    heat: np.ndarray           # float32 [h, w] at the layer's resolution, min–max normalised to [0, 1]
    raw_range: tuple           # (min, max) of the raw map ReLU(Σ w_k A_k), before normalising
    channels: list             # [(channel, weight w_k, contribution w_k·mean A_k, fmap [h, w] or None)], |contribution| first

    @property
    def title(self) -> str:
        return f"{self.method} of \u201c{self.label}\u201d at {self.layer}"


@dataclass
class ComparePanel:
    """An A/B comparison of one channel, ready to paint (see ``app.figure_data.compare_panel``)."""

    title: str                 # "B − A at conv5_3: two photos under one model, channel 17"
    label_a: str               # "cat.png · untrained (random, seed 0)"
    label_b: str
    a: np.ndarray              # float32 [h, w]: A's map of the channel
    b: np.ndarray | None       # B's (None: the channel counts disagree)
    diff: np.ndarray | None    # B − A (None: the shapes disagree, ``reason`` says why)
    levels: tuple              # (lo, hi) A and B are both coloured over
    diff_level: float | None   # the difference's ±L (the engine's rule); 0: nothing changed
    rule: str                  # how L was chosen, in words
    reason: str = ""           # why there is no difference map
    channels: list = None      # [(channel, mean A, mean B, B − A)], largest |B − A| first
    predictions: list = None   # [(label, prob A, prob B)] in the comparison's order
    note: str = ""             # why there are no per-class rows
    layer: str = ""
    channel: int = 0


@dataclass
class FigureData:
    """Everything the figure shows, already computed (numpy arrays, strings, numbers)."""

    title: str
    photo: np.ndarray  # uint8 (H, W, 3)
    demo_output: np.ndarray  # uint8 (h, w, 3)
    demo_channels: np.ndarray  # float32 (3, h, w)
    demo_caption: str
    layer_name: str
    top_channels: list  # [(channel index, fmap float32 (fh, fw), mean), ...] highest mean first
    levels: tuple  # (lo, hi) shared by the top channels and the overlay
    overlay_fmap: np.ndarray  # float32 (fh, fw)
    overlay_rect: tuple  # (x, y, w, h) in photo pixels: where the network's input crop sits
    overlay_label: str
    predictions: list  # [{"index", "label", "prob", "logit"}, ...] top-k
    cat_vs_dog: dict | None
    pretrained: bool
    colormap: str = "viridis"
    alpha: float = 0.6
    blend: str = "value"   # the overlay's opacity: "value" (follows the map) or "flat", as in the window
    overlay_colormap: str | None = None   # the overlay view's colormap (None: the same as the tiles')
    model_name: str = ""     # the footer's model: "VGG16", "ResNet50" (the app's name for it; "" names none)
    weights_text: str = ""   # the footer's weights: "ImageNet-pretrained weights (torchvision)", "weights from FILE (N classes)", …
    classes_note: str = ""   # row 3's note: "top 5 of ImageNet's 1000 classes", "both classes"; "" says "top k classes"
    cam: CamPanel | None = None   # row 4: the top-1 class's Grad-CAM (None: not computed, drawn as "n/a")
    compare: ComparePanel | None = None   # row 5, while an A/B comparison is on: A, B and B − A of the channel


# ----------------------------------------------------------------------------- layout


def _aspect(arr: np.ndarray | None, default: float = 0.75) -> float:
    """Height / width of an image-like array (last two axes for 2-D, first two for RGB)."""
    if arr is None or np.asarray(arr).ndim < 2 or min(np.shape(arr)[:2]) == 0:
        return default
    h, w = np.shape(arr)[:2]
    return h / w


def _grid_shape(n: int, max_w: float, max_h: float, gap: float, label_h: float, max_tile: float):
    """(rows, cols, tile) for ``n`` square-ish tiles: the largest tiles that fit the area."""
    best = (1, max(n, 1), 0.0)
    for rows in range(1, max(n, 1) + 1):
        cols = math.ceil(max(n, 1) / rows)
        tile = min(max_tile, (max_w - (cols - 1) * gap) / cols, (max_h - (rows - 1) * gap) / rows - label_h)
        if tile > best[2] + 0.5:
            best = (rows, cols, tile)
    return best


class Layout:
    """Rectangles for every part of the figure, in logical px; shared by size and paint."""

    def __init__(self, data: FigureData):
        y = MARGIN - 8
        self.title = QRectF(MARGIN, y, CONTENT_W, 40)
        y += 46
        self.rule_y = y
        y += 18

        # Row 1: photo → demo output + its three channels.
        self.head1 = QRectF(MARGIN, y, CONTENT_W, 26)
        y += 34
        arrow_gap, gap = 64.0, 20.0
        panel_w = (CONTENT_W - arrow_gap - 3 * gap) / 5
        ratio = max(_aspect(data.photo), _aspect(np.asarray(data.demo_output)))
        img_h = round(panel_w * min(max(ratio, 0.45), 1.0))
        self.row1_titles = []
        self.row1_boxes = []
        x = MARGIN
        for i in range(5):
            self.row1_titles.append(QRectF(x, y, panel_w, 22))
            self.row1_boxes.append(QRectF(x, y + 24, panel_w, img_h))
            x += panel_w + (arrow_gap if i == 0 else gap)
        y += 24 + img_h + 6
        self.photo_caption = QRectF(MARGIN, y, panel_w, 20)
        self.demo_caption = QRectF(self.row1_boxes[1].left(), y, self.row1_boxes[4].right() - self.row1_boxes[1].left(), 20)
        self.arrow = (self.row1_boxes[0].right() + 8, self.row1_boxes[1].left() - 8, self.row1_boxes[0].center().y())
        y += 20 + 30

        # Row 2: top channels (grid + one colour bar) | overlay.
        self.head2 = QRectF(MARGIN, y, CONTENT_W, 26)
        y += 34
        n = len(data.top_channels)
        self.label_h = 20.0
        self.grid_gap = 10.0
        rows, cols, tile = _grid_shape(n, 980, 370, self.grid_gap, self.label_h, 170)
        self.grid_rows, self.grid_cols, self.tile = rows, cols, math.floor(tile)
        grid_w = cols * self.tile + (cols - 1) * self.grid_gap if n else 300
        grid_h = rows * (self.tile + self.label_h) + (rows - 1) * self.grid_gap if n else 60
        self.grid = QRectF(MARGIN, y + 24, grid_w, grid_h)
        bar_x = self.grid.right() + 18
        self.cbar = QRectF(bar_x, self.grid.top(), 16, max(self.tile * rows + (rows - 1) * (self.grid_gap + self.label_h), 60))
        self.cbar_label_x = self.cbar.right() + 6
        # The overlay takes the remaining width (at most 360 tall), flush with the right margin.
        over_x = bar_x + 16 + 80
        over_w = WIDTH - MARGIN - over_x
        over_h = max(grid_h, 360.0)
        ratio = _aspect(data.photo)
        img_w = min(over_w, over_h / ratio)
        self.over_img = QRectF(WIDTH - MARGIN - img_w, y + 24, img_w, img_w * ratio)
        self.grid_title = QRectF(MARGIN, y, grid_w + 100, 22)
        # Title and caption start at the picture, or further left if it is too narrow for them.
        text_x = min(self.over_img.left(), WIDTH - MARGIN - 400)
        self.over_text_align = Qt.AlignmentFlag.AlignLeft if text_x == self.over_img.left() else Qt.AlignmentFlag.AlignRight
        self.over_title = QRectF(text_x, y, WIDTH - MARGIN - text_x, 22)
        y += 24 + max(grid_h, self.over_img.height()) + 6
        self.over_caption = QRectF(text_x, self.over_img.bottom() + 6, self.over_title.width(), 20)
        y += 20 + 30

        # Row 3: predictions (bars) | cat vs dog.
        self.head3 = QRectF(MARGIN, y, CONTENT_W, 26)
        y += 34
        self.warning = None
        if not data.pretrained:
            self.warning = QRectF(MARGIN, y, 904, 34)
            y += 46
        self.row_h = 30.0
        k = max(len(data.predictions), 1)
        self.pred_header_y = y
        y += 22
        self.pred_label_x, self.pred_label_w = MARGIN, 280.0
        self.pred_bar_x, self.pred_bar_w = MARGIN + 296.0, 440.0
        self.pred_pct_w = 76.0
        self.pred_logit_x = self.pred_bar_x + self.pred_bar_w + self.pred_pct_w + 12
        self.pred_rows_y = y
        self.catdog = QRectF(MARGIN + 1000, self.pred_header_y, CONTENT_W - 1000, 110)
        self.catdog_bar = QRectF(self.catdog.left(), self.catdog.top() + 54, self.catdog.width(), 16)
        y += k * self.row_h + 10
        y = self._cam_row(data, y + 30)
        if data.compare is not None:
            y = self._compare_row(data.compare, y + 30)
        self.footer = QRectF(MARGIN, y + 6, CONTENT_W, 18)
        y += 24 + MARGIN - 12
        self.size = QSize(WIDTH, int(math.ceil(y)))


    def _cam_row(self, data: FigureData, y: float) -> float:
        """Row 4: the CAM on the photo with its colour bar | the channels that contribute most."""
        self.head4 = QRectF(MARGIN, y, CONTENT_W, 26)
        y += 34
        ratio = _aspect(data.photo)
        img_w = min(CAM_MAX_W, CAM_MAX_H / ratio)
        self.cam_title = QRectF(MARGIN, y, 680, 22)
        self.cam_img = QRectF(MARGIN, y + 24, img_w, img_w * ratio)
        self.cam_bar = QRectF(self.cam_img.right() + 18, self.cam_img.top(), 16, self.cam_img.height())
        self.cam_bar_label_x = self.cam_bar.right() + 6
        # The list: a header, then one row per channel (thumbnail, channel, weight, signed bar, value).
        x = max(self.cam_bar_label_x + 90, MARGIN + 700)
        self.cam_caption = QRectF(MARGIN, self.cam_img.bottom() + 6, x - MARGIN - 20, 18)
        self.contrib_x, self.contrib_w = x, WIDTH - MARGIN - x
        self.contrib_title = QRectF(x, y, self.contrib_w, 22)
        self.contrib_header_y = y + 30
        self.contrib_rows_y = y + 52
        self.contrib_row_h, self.contrib_thumb = 62.0, 54.0
        n = len(data.cam.channels) if data.cam is not None and data.cam.channels else 5
        self.contrib_bar_x = x + 300
        self.contrib_bar_w = self.contrib_w - 300 - 96
        list_bottom = self.contrib_rows_y + n * self.contrib_row_h
        self.contrib_hbar = QRectF(x + 30, list_bottom + 8, 150, 10)
        bottom = max(self.cam_caption.bottom(), self.contrib_hbar.bottom() + 20)
        return bottom + 6

    def _compare_row(self, panel: ComparePanel, y: float) -> float:
        """Row 5: A | B | B − A of one channel, each titled, colour bars under them | the channels whose
        mean changed most, then the predictions of A and B with their change."""
        self.head5 = QRectF(MARGIN, y, CONTENT_W, 26)
        y += 34
        side, gap = 280.0, 24.0
        ratio = min(max(_aspect(panel.a, 1.0), 0.45), 1.4)
        self.cmp_titles, self.cmp_boxes = [], []
        for i in range(3):
            x = MARGIN + i * (side + gap)
            self.cmp_titles.append(QRectF(x, y, side, 40))
            self.cmp_boxes.append(QRectF(x, y + 44, side, round(side * ratio)))
        maps_bottom = self.cmp_boxes[0].bottom()
        self.cmp_ab_bar = QRectF(MARGIN + 30, maps_bottom + 12, 150, 10)
        self.cmp_diff_bar = QRectF(self.cmp_boxes[2].left() + 30, maps_bottom + 12, 150, 10)
        self.cmp_ab_words = QRectF(MARGIN, maps_bottom + 46, 2 * side + gap, 18)
        self.cmp_diff_words = QRectF(self.cmp_boxes[2].left(), maps_bottom + 46, side, 18)
        left_bottom = self.cmp_diff_words.bottom() + 18   # room for a second line: the rule
        x = self.cmp_boxes[2].right() + 48
        self.cmp_list_x, self.cmp_list_w = x, WIDTH - MARGIN - x
        self.cmp_row_h = 26.0
        n_ch = max(len(panel.channels or []), 1)
        self.cmp_channels_title = QRectF(x, y, self.cmp_list_w, 22)
        self.cmp_channels_header_y = y + 26
        self.cmp_channels_y = y + 46
        y2 = self.cmp_channels_y + n_ch * self.cmp_row_h + 14
        n_pred = max(len(panel.predictions or []), 1)
        self.cmp_pred_title = QRectF(x, y2, self.cmp_list_w, 22)
        self.cmp_pred_header_y = y2 + 26
        self.cmp_pred_y = y2 + 46
        right_bottom = self.cmp_pred_y + n_pred * self.cmp_row_h
        return max(left_bottom, right_bottom) + 6

    def contrib_row(self, i: int) -> QRectF:
        """The i-th row of the contributions list."""
        return QRectF(self.contrib_x, self.contrib_rows_y + i * self.contrib_row_h, self.contrib_w,
                      self.contrib_row_h)

    def thumb_box(self, i: int) -> QRectF:
        """The square for the i-th contributing channel's thumbnail."""
        row, t = self.contrib_row(i), self.contrib_thumb
        return QRectF(row.left(), row.top() + (row.height() - t) / 2, t, t)

    def tile_box(self, i: int) -> QRectF:
        """The square for the i-th top channel in the small-multiples grid."""
        r, c = divmod(i, self.grid_cols)
        x = self.grid.left() + c * (self.tile + self.grid_gap)
        y = self.grid.top() + r * (self.tile + self.label_h + self.grid_gap)
        return QRectF(x, y, self.tile, self.tile)


def figure_size(data: FigureData) -> QSize:
    """The figure's logical size in px (1600 wide; the height follows from the content)."""
    return Layout(data).size


def panel_rects(data: FigureData) -> dict[str, QRectF]:
    """Where the main pictures land, in logical px: "photo", "demo_output", "overlay",
    "colorbar", "channel_<i>" for the i-th top channel, "cam", "cam_colorbar" and "cam_channel_<i>"
    for the i-th contributing channel's thumbnail, and with a comparison "compare_a", "compare_b"
    and "compare_diff" (for tests, previews, hit-testing)."""
    L = Layout(data)
    photo = np.asarray(data.photo)
    out = {
        "photo": fit_rect(photo.shape[1], photo.shape[0], L.row1_boxes[0]) if photo.ndim == 3 else L.row1_boxes[0],
        "demo_output": fit_rect(np.shape(data.demo_output)[1], np.shape(data.demo_output)[0], L.row1_boxes[1]),
        "overlay": QRectF(L.over_img),
        "colorbar": QRectF(L.cbar),
    }
    if data.cat_vs_dog:
        out["cat_vs_dog"] = QRectF(L.catdog_bar)
    out["cam"] = QRectF(L.cam_img)
    out["cam_colorbar"] = QRectF(L.cam_bar)
    for i, (_, _, _, fmap) in enumerate(data.cam.channels if data.cam is not None else []):
        if fmap is not None:
            out[f"cam_channel_{i}"] = fit_rect(np.shape(fmap)[1], np.shape(fmap)[0], L.thumb_box(i))
    for i, (_, fmap, _) in enumerate(data.top_channels):
        out[f"channel_{i}"] = fit_rect(np.shape(fmap)[1], np.shape(fmap)[0], L.tile_box(i))
    if data.compare is not None:
        shape = np.shape(data.compare.a)
        for name, box in zip(("compare_a", "compare_b", "compare_diff"), L.cmp_boxes):
            out[name] = fit_rect(shape[1], shape[0], box)
    return out


def fit_rect(src_w: float, src_h: float, box: QRectF, align_top: bool = False) -> QRectF:
    """The largest rect of aspect src_w:src_h inside ``box``, centred (or top-aligned)."""
    if src_w <= 0 or src_h <= 0:
        return QRectF(box)
    s = min(box.width() / src_w, box.height() / src_h)
    w, h = src_w * s, src_h * s
    top = box.top() if align_top else box.top() + (box.height() - h) / 2
    return QRectF(box.left() + (box.width() - w) / 2, top, w, h)


def cat_dog_shares(cat: float, dog: float) -> tuple[float, float, float]:
    """(cat, other, dog) widths of the cat-vs-dog bar as fractions of it: the same
    probabilities as its text, cat from the left, dog from the right, the rest between.

    Not a cat:dog ratio: cat 0 % / dog 7 % must not look like a sure dog."""
    cat, dog = (min(max(v, 0.0), 1.0) if math.isfinite(v) else 0.0 for v in (float(cat), float(dog)))
    if cat + dog > 1.0:  # rounding in the sums: never draw past the bar
        cat, dog = cat / (cat + dog), dog / (cat + dog)
    return cat, max(0.0, 1.0 - cat - dog), dog
