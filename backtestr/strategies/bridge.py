"""The compiled strategy behind every plain-Python strategy (docs/strategies.md §8).

``Bridge`` is an ordinary compiled strategy (compiled once per process by
``compile.compile_hook``, so it follows the engine's callback signature): each
of its callbacks calls one C function whose address is its parameter ``fn``
(a ``ctypes`` callback into the Python dispatcher of backtestr/strategies/python.py),
with ``(event, symbol, tf, ts, moved)``. The kernel stays compiled and
``nogil``; only the call crosses into Python, which takes the interpreter lock
itself. ``moved`` is 1 when one of the account's arrays is not where it was at
the previous call (the orders table and the positions grow between kernel
calls): their addresses and lengths are then in the state record ``addr``
(``ARRAYS`` order), and the Python side sees the arrays anew.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ..kernels.enums import CB_BAR, CB_END, CB_FILL, CB_START, CB_TICK
from .base import Strategy

ARRAYS = ("acct", "syms", "orders", "pos", "ints")  # the order of their addresses in ``addr``
N_ARRAYS = len(ARRAYS)


@intrinsic
def call_c(typingctx, fn, ev, s, tf, ts, moved):  # pragma: no cover - compiled
    """Call the C function at address ``fn``: int64 f(int64 ev, int64 s, int64 tf, int64 ts,
    int64 moved)."""
    sig = types.int64(types.int64, types.int64, types.int64, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(i64, [i64] * 5)
        ptr = builder.inttoptr(args[0], fnty.as_pointer())
        return builder.call(ptr, list(args[1:]))

    return sig, codegen


@njit(_nrt=False)
def _note(addr, j, a):  # pragma: no cover - compiled
    """Keep the address and length of array ``a`` at ``j``; 1 when either changed."""
    p = np.int64(a.ctypes.data)
    n = np.int64(a.shape[0])
    if addr[j] == p and addr[N_ARRAYS + j] == n:
        return 0
    addr[j] = p
    addr[N_ARRAYS + j] = n
    return 1


@njit(_nrt=False)
def enter(ctx, ev, s, tf):  # pragma: no cover - compiled
    """Hand the call to Python; a failure there becomes an exception of the strategy."""
    addr = ctx.state[0].addr
    moved = _note(addr, 0, ctx.acct) | _note(addr, 1, ctx.syms) | _note(addr, 2, ctx.orders)
    moved |= _note(addr, 3, ctx.pos) | _note(addr, 4, ctx.ints)
    rc = call_c(ctx.params[0].fn, ev, s, tf, ctx.info[0].ts, moved)
    if rc != 0:
        raise RuntimeError("the Python strategy raised")


class Bridge(Strategy):
    """One compiled strategy for all Python ones: every callback calls Python."""

    name = "python-bridge"
    params = {"fn": 0}  # address of the ctypes callback
    state = {"addr": (np.int64, 2 * N_ARRAYS)}  # addresses then lengths of ARRAYS

    @staticmethod
    @njit
    def on_start(ctx):  # pragma: no cover - compiled
        enter(ctx, CB_START, -1, -1)

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):  # pragma: no cover - compiled
        enter(ctx, CB_BAR, s, tf)

    @staticmethod
    @njit
    def on_tick(ctx, s):  # pragma: no cover - compiled
        enter(ctx, CB_TICK, s, -1)

    @staticmethod
    @njit
    def on_fill(ctx, s):  # pragma: no cover - compiled
        enter(ctx, CB_FILL, s, -1)

    @staticmethod
    @njit
    def on_end(ctx):  # pragma: no cover - compiled
        enter(ctx, CB_END, -1, -1)
