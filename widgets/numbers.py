"""Numbers as people read them in labels: a fixed number of significant digits, short.

Tile captions, colour bars and the overlay's readout all print activations this way,
so one value reads the same everywhere and a caption has a bounded width
("-7.93e-3", never "-0.00793012").
"""
from __future__ import annotations

import math


def fmt_sig(v: float, digits: int = 3) -> str:
    """``v`` with ``digits`` significant digits: plain for 0.01 ≤ |v| < 10**digits, else a
    short exponent form ("7.93e-3", "1.23e4"). 0 is "0"."""
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    rounded = float(f"{v:.{digits}g}")          # round first: 9.996 → 10.0, not "10.00"
    e = math.floor(math.log10(abs(rounded)))
    if -2 <= e < digits:
        return f"{rounded:.{max(0, digits - 1 - e)}f}"
    mantissa, exp = f"{v:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exp)}"


def fmt_percent(fraction: float, digits: int = 3) -> str:
    """A fraction 0..1 as a percentage with ``digits`` significant digits: "63.2%", "100%", "0%"."""
    return f"{fmt_sig(100.0 * float(fraction), digits)}%"
