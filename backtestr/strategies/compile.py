"""A strategy's callbacks -> one C callback of the engine's fixed signature.

The generated ``cfunc`` dispatches on the event kind to the user's ``@njit``
functions (compiled into it) and turns an exception into -1, so the engine,
compiled once, calls any strategy through its address (docs/strategies.md §6).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cfunc, njit, types
from numba.core import cgutils
from numba.core.errors import NumbaError
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

from ..kernels.enums import CB_BAR, CB_END, CB_FILL, CB_START, CB_TICK
from ..kernels.records import ACCOUNT, BAR, ORDER, POSITION, SCTX, SYMBOL, TFRAME
from ..kernels.strategy_hook import HOOK_SIG, VIEWS
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
INT64 = np.dtype(np.int64)
# the order in which the callback reads the engine's table
assert [f for _, f in VIEWS] == ["ctx", "acct", "syms", "orders", "pos", "ints", "tfs", "bars", "pbuf", "sbuf"]


def _view_codegen(rec, arrty, one):
    def codegen(context, builder, sig, args):
        i = context.cast(builder, args[1], sig.args[1], types.intp)
        at = builder.mul(i, context.get_constant(types.intp, 2))
        addr = builder.load(builder.gep(args[0], [at]))
        out = make_array(arrty)(context, builder)
        data = builder.inttoptr(addr, context.get_data_type(rec).as_pointer())
        if one:
            n = context.get_constant(types.intp, 1)
        else:
            n = builder.load(builder.gep(args[0], [builder.add(at, context.get_constant(types.intp, 1))]))
        size = context.get_constant(types.intp, context.get_abi_sizeof(context.get_data_type(rec)))
        populate_array(out, data=data, shape=cgutils.pack_array(builder, [n]),
                       strides=cgutils.pack_array(builder, [size]), itemsize=size, meminfo=None)
        return out._getvalue()

    return codegen


@intrinsic
def view(typingctx, views, k, dt):  # pragma: no cover - compiled
    """Entry ``k`` of the engine's table (kernels/strategy_hook.py: ``VIEWS``) seen as an array
    of dtype ``dt``, without copying or allocating."""
    arrty = types.Array(dt.dtype, 1, "C")
    return arrty(views, k, dt), _view_codegen(dt.dtype, arrty, False)


@intrinsic
def view1(typingctx, views, k, dt):  # pragma: no cover - compiled
    """Entry ``k`` (a byte buffer: the parameter or the state record) seen as a one-row array
    of record dtype ``dt``."""
    arrty = types.Array(dt.dtype, 1, "C")
    return arrty(views, k, dt), _view_codegen(dt.dtype, arrty, True)


def _build(cls: type, fast: bool) -> Any:
    """The callback; ``fast``: the strategy's functions recompiled without reference counting
    (no allocation allowed in them: numba refuses to compile one that allocates)."""
    pd, sd = params_dtype(cls), state_dtype(cls)

    def fn(name: str, default: Any) -> Any:
        f = callback(cls, name)
        if f is None:
            return default
        return njit(_nrt=False)(getattr(f, "py_func", f)) if fast else f

    on_start, on_bar, on_tick = fn("on_start", _none1), fn("on_bar", _none3), fn("on_tick", _none2)
    on_fill, on_end = fn("on_fill", _none2), fn("on_end", _none1)

    def hook(views):
        info = view(views, 0, SCTX)
        ctx = Ctx(info, view(views, 1, ACCOUNT), view(views, 2, SYMBOL), view(views, 3, ORDER),
                  view(views, 4, POSITION), view(views, 5, INT64), view(views, 6, TFRAME), view(views, 7, BAR),
                  view1(views, 8, pd), view1(views, 9, sd))
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

    return cfunc(HOOK_SIG, _nrt=not fast)(hook)


def compile_hook(cls: type) -> Any:
    """The compiled callback of strategy class ``cls`` (compiled once per class): without
    reference counting when the strategy allocates nothing, else with it."""
    if cls not in _HOOKS:
        try:
            _HOOKS[cls] = _build(cls, True)
        except NumbaError:
            _HOOKS[cls] = _build(cls, False)
    return _HOOKS[cls]
