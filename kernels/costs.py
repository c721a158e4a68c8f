"""Trading costs: commission per fill (swap and funding join here later)."""

from .fx import money
from .jit import njit
from .rounding import mul_div_round


@njit(cache=True, nogil=True, _nrt=False, forceinline=True)
def commission(ins, r, price_ticks, qty_steps):
    """Commission in minor units for a fill of ``qty_steps`` at ``price_ticks``.

    R(fraction x notional) + R(per_lot x lots) + per_order, at least minimum;
    each part rounded half to even (docs/architecture.md §2); the fraction of the
    notional at the live rate of symbol record ``r`` (docs/currency.md).
    """
    c = ins.comm_fixed_minor
    if ins.comm_frac_num != 0:
        c += money(price_ticks * qty_steps, ins.comm_frac_num, ins.comm_frac_den, r)
    if ins.comm_lot_num != 0:
        c += mul_div_round(qty_steps, ins.comm_lot_num, ins.comm_lot_den)
    if c < ins.comm_min_minor:
        c = ins.comm_min_minor
    return c


@njit(cache=True, nogil=True, _nrt=False)
def split_pro_rata(c, part, whole):
    """Share of commission ``c`` for ``part`` of ``whole`` steps: R(c x part / whole)."""
    return mul_div_round(c, part, whole)
