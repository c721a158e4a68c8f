"""Settling a strategy for a run: its arrays, its compiled callback, its errors."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..errors import BacktestrError, ConfigError
from ..kernels.enums import CB_BAR, CB_END, CB_FILL, CB_START, CB_TICK, ERR_ACTIONS, ERR_BARS, ERR_SYMBOL
from ..kernels.records import Strat
from ..kernels.strategy_hook import new_strat, no_strat, noop, room_needed
from .base import BASES, callback, check, label, params_record, parse_timeframe, state_dtype
from .compile import compile_hook

_EVENTS = {CB_START: "on_start", CB_BAR: "on_bar", CB_TICK: "on_tick", CB_FILL: "on_fill", CB_END: "on_end"}
_DAY_NS = 86_400 * 10**9
_SPAN = (0, 4_102_444_800 * 10**9)  # 1970-2100 when the data's span is unknown


class StrategyError(BacktestrError):
    """A strategy's callback failed during the run."""


class StrategyRun:
    """A strategy's arrays and callback for one account (a run without one: ``none``)."""

    def __init__(self, name: str, strat: Strat, hook: Any, timeframes: tuple[str, ...],
                 state: np.dtype | None = None) -> None:
        self.name, self.strat, self.hook, self.timeframes = name, strat, hook, timeframes
        self.state_dtype = state
        self.tag_names: tuple[str, ...] = ()
        c = strat.ctx[0]
        self.room = int(c["max_actions"]) + room_needed(strat)  # free order rows one call needs
        self.active = name != ""

    @classmethod
    def none(cls, n_sym: int) -> StrategyRun:
        return cls("", no_strat(n_sym), noop, ())

    def fit(self, book: Any) -> None:
        """The as-submitted copy of the orders as long as the orders table (after it grew)."""
        cap = book.orders.shape[0]
        sent = self.strat.sent
        if self.active and sent.shape[0] < cap:
            new = np.zeros(cap, sent.dtype)
            new[:sent.shape[0]] = sent
            self.strat = self.strat._replace(sent=new)

    def tags(self, rows: np.ndarray) -> dict[int, str]:
        """Order id -> tag name of the tagged rows among ``rows`` (ORDER records)."""
        codes = rows["tag_code"]
        at = np.flatnonzero(codes > 0)
        names = self.tag_names
        return {int(i): names[c - 1] if c - 1 < len(names) else str(c - 1)
                for i, c in zip(rows["order_id"][at].tolist(), codes[at].tolist(), strict=True)}

    def orders_table(self, n: int) -> Any:
        """The strategy's ``n`` orders as submitted, as an orders table (None without one)."""
        if not self.active:
            return None
        from .replay import orders_table

        return orders_table(self.strat.sent[:n], self.symbols, self.insts, tags=self.tags(self.strat.sent[:n]))

    def error(self) -> StrategyError:
        c = self.strat.ctx[0]
        ev = _EVENTS.get(int(c["err_event"]), "?")
        when = datetime.fromtimestamp(int(c["err_ts"]) / 1e9, timezone.utc).isoformat()
        tf = int(c["err_tf"])
        code = int(c["err_code"])
        at = f"strategy {self.name}: {ev}" + (f" ({self.timeframes[tf]} bar)" if ev == "on_bar" else "")
        if code == ERR_BARS:
            keep = int(c["keep"])
            name = self.timeframes[tf] if 0 <= tf < len(self.timeframes) else str(tf)
            why = (f"asked for a {name} bar beyond the {keep} kept or not yet closed "
                   "(raise keep, or check n_bars first)")
        elif code == ERR_ACTIONS:
            why = (f"more than max_actions = {int(c['max_actions'])} actions in one call, set_* on an "
                   "order not written by this call, a time in force other than gtc and ioc (or set_tif "
                   "after set_expiry), set_expiry on a row that is not a new order, or a negative tag")
        elif code == ERR_SYMBOL:
            why = "a symbol index outside the run's symbols"
        else:
            why = "raised an exception"
        return StrategyError(f"{at} at {when}: {why}")

    def state(self) -> np.ndarray | None:
        """The strategy's state record as it is now (a copy: one row of its own dtype)."""
        return None if self.state_dtype is None else self.strat.sbuf.view(self.state_dtype).copy()


def _local_date(ns: int, tz: str) -> Any:
    from ..risk import zone

    return datetime.fromtimestamp(ns / 1e9, zone(tz)).date()


def session_bounds(kind: str, tz: str, hhmm: str, lo: int, hi: int) -> np.ndarray:
    """Boundaries of 1d or 1w bars over [lo, hi] (ns UTC): days start at ``hhmm`` local
    time (backtestr/risk.py::day_starts); a day is labelled by the local date on which it
    ends, a week is the days labelled Monday..Sunday."""
    from ..risk import day_starts

    days = day_starts(tz, hhmm, lo - 8 * _DAY_NS, hi + 8 * _DAY_NS)
    if kind == "d":
        return days
    keep = [int(days[i]) for i in range(days.shape[0] - 1) if _local_date(int(days[i + 1]) - 1, tz).weekday() == 0]
    return np.array(keep, np.int64)


def load_class(spec: str, where: str) -> type:
    """``module.path:ClassName`` -> the class."""
    mod, _, name = spec.partition(":")
    if not mod or not name:
        raise ConfigError(f"{where}: {spec!r} is not module.path:ClassName")
    try:
        cls = getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{where}: cannot load {spec!r}: {exc}") from None
    return cls


def frames(cls: type, span: tuple[int | None, int | None], where: str) -> tuple[list[int], list[np.ndarray]]:
    """Each timeframe's length in ns (0 for 1d and 1w) and session boundaries over ``span``."""
    lo = span[0] if span[0] is not None else _SPAN[0]
    hi = span[1] if span[1] is not None else _SPAN[1]
    lengths, bounds = [], []
    for tf in cls.timeframes:
        n, kind = parse_timeframe(tf, f"{where}: strategy {label(cls)}")
        lengths.append(n)
        tz, hhmm = cls.session
        bounds.append(session_bounds(kind, tz, hhmm, lo, hi) if kind else np.zeros(0, np.int64))
    return lengths, bounds


def prepare(cls: type, values: Mapping[str, Any] | None, symbols: list[str], insts: list,
            span: tuple[int | None, int | None], where: str = "strategy") -> StrategyRun:
    """Check the declaration, compile its callback, build its arrays for the run's symbols
    (``insts``: their instruments, for the orders table of the strategy's orders)."""
    n_sym = len(symbols)
    check(cls, where)
    name = label(cls)
    prm = params_record(cls, values, where)
    if getattr(cls, "python", False):  # a plain-Python strategy (backtestr/strategies/python.py)
        from .python import prepare_python

        return prepare_python(cls, prm, symbols, insts, span, where)
    lengths, bounds = frames(cls, span, where)
    state = np.zeros(1, state_dtype(cls))
    strat = new_strat(n_sym, lengths, bounds, int(cls.keep), BASES[cls.basis],
                      callback(cls, "on_tick") is not None, callback(cls, "on_fill") is not None,
                      prm.view(np.uint8).copy(), state.view(np.uint8).copy(), int(cls.max_actions))
    srun = StrategyRun(name, strat, compile_hook(cls), tuple(cls.timeframes), state.dtype)
    srun.symbols, srun.insts = symbols, insts
    srun.tag_names = tuple(cls.tags)
    return srun
