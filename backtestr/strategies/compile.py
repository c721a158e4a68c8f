"""A strategy's callbacks -> one C callback of the engine's fixed signature.

The generated ``cfunc`` dispatches on the event kind to the user's ``@njit``
functions (compiled into it) and turns an exception into -1, so the engine,
compiled once, calls any strategy through its address (docs/strategies.md §6).
"""

from __future__ import annotations

from typing import Any

from numba import cfunc, njit

from ..kernels.enums import CB_BAR, CB_END, CB_FILL, CB_START, CB_TICK
from ..kernels.strategy_hook import HOOK_SIG
from .base import callback, params_dtype, state_dtype
from .context import Ctx


@njit
def _none1(ctx):  # pragma: no cover - compiled, never called
    return None


@njit
def _none2(ctx, s):  # pragma: no cover
    return None


@njit
def _none3(ctx, s, tf):  # pragma: no cover
    return None


_HOOKS: dict[type, Any] = {}


def compile_hook(cls: type) -> Any:
    """The compiled callback of strategy class ``cls`` (compiled once per class)."""
    if cls in _HOOKS:
        return _HOOKS[cls]
    pd, sd = params_dtype(cls), state_dtype(cls)
    on_start = callback(cls, "on_start") or _none1
    on_bar = callback(cls, "on_bar") or _none3
    on_tick = callback(cls, "on_tick") or _none2
    on_fill = callback(cls, "on_fill") or _none2
    on_end = callback(cls, "on_end") or _none1

    def hook(info, acct, syms, orders, pos, ints, tfs, bars, pbuf, sbuf):
        ctx = Ctx(info, acct, syms, orders, pos, ints, tfs, bars, pbuf.view(pd), sbuf.view(sd))
        c = info[0]
        ev = c.event
        try:
            if ev == CB_BAR:
                on_bar(ctx, c.symbol, c.tf)
            elif ev == CB_TICK:
                on_tick(ctx, c.symbol)
            elif ev == CB_FILL:
                on_fill(ctx, c.symbol)
            elif ev == CB_START:
                on_start(ctx)
            elif ev == CB_END:
                on_end(ctx)
        except Exception:  # noqa: BLE001 - reported by the driver with the callback and the time
            return -1
        return 0

    compiled = cfunc(HOOK_SIG)(hook)
    _HOOKS[cls] = compiled
    return compiled
