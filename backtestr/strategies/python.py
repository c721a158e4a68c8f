"""Plain-Python strategies, for prototyping (docs/strategies.md §8).

A ``PyStrategy`` declares what a compiled ``Strategy`` declares (params, state,
timeframes, keep, basis, session, max_actions) and writes its callbacks as
ordinary methods::

    class PySma(PyStrategy):
        params = {"fast": 10, "slow": 30, "qty": 1}
        timeframes = ("1m",)
        keep = 30

        def on_bar(self, ctx, s, tf): ...

The run uses the compiled ``bridge.Bridge`` as its strategy: the engine calls
it as any compiled one, and it calls ``_Dispatch`` below through a ``ctypes``
callback, which calls the instance's method with a ``pycontext.PyCtx``.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..kernels.enums import CB_BAR, CB_FILL, CB_START, CB_TICK, ERR_BARS, ERR_RAISED
from ..kernels.strategy_hook import new_strat
from .base import BASES, Strategy, callback, label, params_record, state_dtype
from .bridge import Bridge
from .compile import compile_hook
from .driver import StrategyError, StrategyRun, frames
from .pycontext import ContextError, PyCtx, Record

# int64 f(int64 event, int64 symbol, int64 tf, int64 ts, int64 moved): bridge.call_c
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                            ctypes.c_int64)


class PyStrategy(Strategy):
    """Base of a plain-Python strategy: callbacks are methods ``on_start(self, ctx)``,
    ``on_bar(self, ctx, s, tf)``, ``on_tick(self, ctx, s)``, ``on_fill(self, ctx, s)``,
    ``on_end(self, ctx)``; the class is instantiated (without arguments) once per run."""

    python = True  # the driver runs it through the bridge


def _record_of(names: Any, values: Any) -> Record:
    r = Record()
    for k in names:
        setattr(r, k, values[k])
    return r


def _params(cls: type, prm: np.ndarray) -> Record:
    """The parameter record as Python numbers (int or float, by the default's type)."""
    return _record_of(dict(cls.params), {k: prm[0][k].item() for k in dict(cls.params)})


def _state(cls: type) -> Record:
    """The declared state, zero: a Python number per scalar field, a numpy array per shaped one."""
    dt = state_dtype(cls)
    vals = {}
    for k in dict(cls.state):
        sub, shape = dt.fields[k][0].base, dt.fields[k][0].shape
        vals[k] = np.zeros(shape, sub) if shape else sub.type(0).item()
    return _record_of(dict(cls.state), vals)


def _nothing(*args: Any) -> None:
    return None


class _Dispatch:
    """The Python side of the bridge: one call per event, exceptions kept for the driver."""

    def __init__(self, run: PyRun, inst: Any) -> None:
        self.run = run
        self.addr = run.strat.sbuf.view(np.int64)  # bridge state: addresses, then lengths
        self.calls = {n: getattr(inst, n, None) or _nothing for n in ("on_start", "on_bar", "on_tick", "on_fill",
                                                                       "on_end")}

    def entry(self) -> Any:
        ctx, run, addr, bind = self.run.ctx, self.run, self.addr, self.run.ctx.bind
        on_start, on_bar, on_tick = self.calls["on_start"], self.calls["on_bar"], self.calls["on_tick"]
        on_fill, on_end = self.calls["on_fill"], self.calls["on_end"]

        def entry(ev: int, s: int, tf: int, ts: int, moved: int) -> int:
            try:
                if moved:
                    bind(addr)
                ctx._ts = ts
                if ev == CB_BAR:
                    on_bar(ctx, s, tf)
                elif ev == CB_TICK:
                    on_tick(ctx, s)
                elif ev == CB_FILL:
                    on_fill(ctx, s)
                elif ev == CB_START:
                    on_start(ctx)
                else:
                    on_end(ctx)
            except BaseException as exc:  # noqa: BLE001 - never lost in ctypes: the driver raises it
                run.exc = exc
                return -1
            return 0

        return entry


class PyRun(StrategyRun):
    """A Python strategy's run: the bridge's arrays and callback, the instance and its context."""

    def __init__(self, name: str, strat: Any, cls: type, params: Record) -> None:
        super().__init__(name, strat, compile_hook(Bridge), tuple(cls.timeframes), state_dtype(cls))
        self.cls, self.exc = cls, None
        self.ctx = PyCtx(strat.ctx, strat.tfs, strat.bars, params, _state(cls))
        try:
            self.instance = cls()
        except Exception as exc:
            raise StrategyError(f"strategy {name}: creating it raised {type(exc).__name__}: {exc}") from exc
        self._callback = CALLBACK(_Dispatch(self, self.instance).entry())  # kept alive for the run
        self.address = ctypes.cast(self._callback, ctypes.c_void_p).value

    def error(self) -> Any:
        """The error of the failed call: the driver's message, with the Python exception's."""
        exc = self.exc
        self.ctx.release()
        if exc is not None and not isinstance(exc, Exception):
            return exc  # KeyboardInterrupt, SystemExit: raised as they are
        c = self.strat.ctx[0]
        if isinstance(exc, ContextError):
            c["err_code"] = exc.code
            if exc.code == ERR_BARS:
                c["err_tf"] = exc.tf
        err = super().error()
        if exc is not None and int(c["err_code"]) == ERR_RAISED:
            err = StrategyError(f"{err}: {type(exc).__name__}: {exc}")
        err.__cause__ = exc
        return err

    def state(self) -> np.ndarray:
        """The declared state at the end, as a one-row record (as a compiled strategy's)."""
        self.ctx.release()
        rec = np.zeros(1, self.state_dtype)
        for k in dict(self.cls.state):
            v = getattr(self.ctx.state, k)
            typ = self.state_dtype.fields[k][0]
            try:
                rec[0][k] = v
                same = np.array_equal(rec[0][k], np.asarray(v))
            except (TypeError, ValueError, OverflowError):
                same = False
            if not same:
                raise StrategyError(f"strategy {self.name}: state field {k} = {v!r} at the end does not fit "
                                    f"its declared type {typ.base}{list(typ.shape) if typ.shape else ''}")
        return rec


def prepare_python(cls: type, prm: np.ndarray, symbols: list[str], insts: list,
                   span: tuple[int | None, int | None], where: str) -> PyRun:
    """The run of Python strategy ``cls`` (declaration checked, ``prm`` its parameter record)."""
    lengths, bounds = frames(cls, span, where)
    name = label(cls)
    bridge_state = np.zeros(1, state_dtype(Bridge))
    strat = new_strat(len(symbols), lengths, bounds, int(cls.keep), BASES[cls.basis],
                      callback(cls, "on_tick") is not None, callback(cls, "on_fill") is not None,
                      np.zeros(1, np.int64).view(np.uint8).copy(), bridge_state.view(np.uint8).copy(),
                      int(cls.max_actions))
    run = PyRun(name, strat, cls, _params(cls, prm))
    fn: Mapping[str, Any] = {"fn": run.address}
    strat.pbuf[:] = params_record(Bridge, fn, where).view(np.uint8)
    run.symbols, run.insts = symbols, insts
    run.tag_names = tuple(getattr(cls, "tags", ()))  # names of set_tag's codes in the orders log
    return run
