"""How the predictions are worded and their numbers printed, shared by the panel and the figure.

One place, so the window and the exported figure never disagree: a 2-class model
shows "Both classes", not "Top 5"; only torchvision's weights are called ImageNet's;
and no number is ever printed as "-0.00".
"""
from __future__ import annotations

import math

MINUS = "\u2212"  # a real minus sign: as wide as a digit, so columns of logits line up


def format_signed(value: float, decimals: int = 2, minus: str = MINUS) -> str:
    """``value`` with ``decimals`` decimals and a real minus sign (or ``minus``); never a negative zero."""
    v = float(value)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("∞" if v > 0 else minus + "∞")
    text = f"{v:.{decimals}f}"
    if text.startswith("-"):
        # "-0.00": the value rounds to zero, so it is printed as zero, without a sign.
        text = text[1:] if float(text) == 0 else minus + text[1:]
    return text


def format_percent(p: float, decimals: int = 1) -> str:
    """0.6123 → "61.2%"; tiny non-zero values → "<0.1%" rather than a misleading 0."""
    pct = float(p) * 100.0
    floor = 10.0 ** -decimals
    if 0 < pct < floor:
        return f"<{floor:.{decimals}f}%"
    return f"{pct:.{decimals}f}%"


def format_prob(p: float) -> str:
    """A softmax probability as a plain number: 4 decimals, scientific below 1e-4."""
    p = float(p)
    return f"{p:.1e}" if 0 < p < 1e-4 else f"{p:.4f}"


def explain_tip(label: str) -> str:
    """The tooltip of anything that, clicked, explains a class."""
    return f"Click to show why the network answers “{label}”"


def explaining_caption(label: str) -> str:
    """The line that says which class the explain view shows."""
    return f"explaining: {label}"


def format_logit(value) -> str:
    """A logit as the panel and the figure print it: 2 decimals, "—" when unknown."""
    return "—" if value is None else format_signed(value, 2)


def classes_heading(shown: int, total: int | None) -> str:
    """The title over the predictions: "Both classes", "All 3 classes", "Top 5 of 1000 classes".

    ``total`` is the model's number of classes (None when unknown: just "Top 5")."""
    if total is not None and shown >= total:
        return "Both classes" if total == 2 else ("The only class" if total == 1 else f"All {total} classes")
    if total is None:
        return f"Top {shown}"
    return f"Top {shown} of {total} classes"


def classes_note(shown: int, total: int | None, *, imagenet: bool = False, imagenet_names: bool = False) -> str:
    """The figure's lower-case note: "top 5 of ImageNet's 1000 classes", "both classes", ….

    ``imagenet``: torchvision's ImageNet weights (the only ones called ImageNet's);
    ``imagenet_names``: the classes carry ImageNet's names (any 1000-class head)."""
    if total is not None and shown >= total:
        return classes_heading(shown, total).lower()
    if total is None:
        return f"top {shown} classes"
    if imagenet:
        return f"top {shown} of ImageNet's {total} classes"
    names = " (ImageNet's class names)" if imagenet_names else ""
    return f"top {shown} of {total} classes{names}"


def sum_note(probs: list[float], total: int | None, fmt) -> str:
    """What the shown probabilities add up to, and whether other classes share the rest.

    ``fmt`` prints a probability. With every class shown the sum is 1 and nothing is
    left over; with the total unknown, "the other classes" is said only if the rest
    is visible at the printed precision."""
    shown = len(probs)
    if not shown:
        return ""
    s = fmt(sum(float(p) for p in probs))
    if total is not None and shown >= total:
        return f"{'both' if total == 2 else f'all {total}'} sum to {s}: these are all the classes"
    if total is not None:
        return f"these {shown} sum to {s}; the other {total - shown} classes share the rest"
    if fmt(1.0) == s:
        return f"these {shown} sum to {s}"
    return f"these {shown} sum to {s}; the other classes share the rest"


ARROW_UP, ARROW_DOWN = "▲", "▼"
THIN_SPACE = "\u2009"


def format_delta(delta: float, decimals: int = 1, scale: float = 1.0) -> tuple[str, int]:
    """A change as the panel prints it, and its sign (+1, −1, 0): "▲ 48.3" up, "▼ 61.1" down (the arrow
    is the sign, so a narrow column still fits it); a change too small for ``decimals`` is "▲ <0.1",
    never a signed zero; no change at all is "0.0".

    ``scale``: 100 prints a probability's change in percentage points."""
    v = float(delta) * scale
    if not math.isfinite(v):
        return format_signed(v, decimals), 0
    if v == 0:
        return f"{0:.{decimals}f}", 0
    sign = 1 if v > 0 else -1
    arrow = ARROW_UP if sign > 0 else ARROW_DOWN
    if abs(v) < 0.5 * 10.0 ** -decimals:
        return f"{arrow}{THIN_SPACE}<{10.0 ** -decimals:.{decimals}f}", sign
    return f"{arrow}{THIN_SPACE}{abs(v):.{decimals}f}", sign
