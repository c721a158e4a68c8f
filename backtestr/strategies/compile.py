"""A strategy's callbacks -> one C callback of the engine's fixed signature.

The generated ``cfunc`` takes the engine's table of the context's arrays (one
pointer, kernels/strategy_hook.py), sees them as arrays again, dispatches on
the event kind to the user's ``@njit`` functions it has (compiled into it) and
turns an exception into -1, so the engine, compiled once, calls any strategy
through its address. The context helpers are typed without their constants'
values and built without a Python entry point: a new strategy compiles fewer,
lighter functions (docs/strategies.md §6).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import cfunc, njit, types
from numba.core import cgutils
from numba.core.dispatcher import Dispatcher
from numba.core.errors import NumbaError
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

from ..kernels.enums import CB_BAR, CB_END, CB_FILL, CB_START, CB_TICK
from ..kernels.records import ACCOUNT, BAR, ORDER, POSITION, SCTX, SYMBOL, TFRAME
from ..kernels.strategy_hook import HOOK_SIG, VIEWS
from . import context
from .base import callback, params_dtype, state_dtype
from .context import Ctx

_HOOKS: dict[type, Any] = {}


def _one_version(disp: Any) -> None:
    """Type a context helper's arguments without their constant values: numba would otherwise
    compile one version of a helper (and of every helper it calls) per constant a strategy
    passes (``bar_close(ctx, tf, s, 0)``, ``(..., 1)``), each taking about as long to compile
    as the first."""
    template = type(disp).get_call_template

    def get_call_template(args: tuple, kws: dict) -> Any:
        return template(disp, tuple(types.unliteral(a) for a in args),
                        {k: types.unliteral(v) for k, v in kws.items()})

    disp.get_call_template = get_call_template


for _f in vars(context).values():
    if isinstance(_f, Dispatcher) and _f.py_func.__module__ == context.__name__:  # its own helpers
        _one_version(_f)
        # called only from compiled code: no Python entry point to build (a tenth of a compile)
        _f.targetoptions.update(no_cpython_wrapper=True, no_cfunc_wrapper=True)
CB_EVENTS = {"CB_BAR": CB_BAR, "CB_TICK": CB_TICK, "CB_FILL": CB_FILL, "CB_START": CB_START, "CB_END": CB_END}
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


# event, callback, its arguments after ctx
_EVENTS = (("CB_BAR", "on_bar", "c.symbol, c.tf"), ("CB_TICK", "on_tick", "c.symbol"),
           ("CB_FILL", "on_fill", "c.symbol"), ("CB_START", "on_start", ""), ("CB_END", "on_end", ""))

_HOOK_SRC = """
def hook(views):
    info = view(views, 0, SCTX)
    ctx = Ctx(info, view(views, 1, ACCOUNT), view(views, 2, SYMBOL), view(views, 3, ORDER),
              view(views, 4, POSITION), view(views, 5, INT64), view(views, 6, TFRAME), view(views, 7, BAR),
              view1(views, 8, pd), view1(views, 9, sd))
    c = info[0]
    ev = c.event
    try:
{calls}
    except Exception:
        return -1
    return 0
"""


def _build(cls: type, fast: bool) -> Any:
    """The callback; ``fast``: the strategy's functions recompiled without reference counting
    (no allocation allowed in them: numba refuses to compile one that allocates). Only the
    callbacks the strategy has are dispatched to (an absent one is not compiled)."""
    ns: dict[str, Any] = {"view": view, "view1": view1, "Ctx": Ctx, "SCTX": SCTX, "ACCOUNT": ACCOUNT,
                          "SYMBOL": SYMBOL, "ORDER": ORDER, "POSITION": POSITION, "INT64": INT64,
                          "TFRAME": TFRAME, "BAR": BAR, "pd": params_dtype(cls), "sd": state_dtype(cls)}
    calls = []
    for event, name, args in _EVENTS:
        f = callback(cls, name)
        if f is not None:
            py = getattr(f, "py_func", f)
            ns[name] = njit(_nrt=False, no_cpython_wrapper=True, no_cfunc_wrapper=True)(py) if fast else f
            ns[event] = CB_EVENTS[event]
            calls.append(f"        if ev == {event}:\n            {name}(ctx{', ' if args else ''}{args})")
    exec(_HOOK_SRC.format(calls="\n".join(calls) or "        pass"), ns)  # noqa: S102 - fixed text
    return cfunc(HOOK_SIG, _nrt=not fast)(ns["hook"])


def compile_hook(cls: type) -> Any:
    """The compiled callback of strategy class ``cls`` (compiled once per class): without
    reference counting when the strategy allocates nothing, else with it."""
    if cls not in _HOOKS:
        try:
            _HOOKS[cls] = _build(cls, True)
        except NumbaError:
            _HOOKS[cls] = _build(cls, False)
    return _HOOKS[cls]
