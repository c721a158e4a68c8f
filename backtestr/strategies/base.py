"""The declaration of a compiled strategy (docs/strategies.md §1).

A strategy is a class with settings as class attributes and its callbacks as
``@njit`` functions (plain functions of ``ctx``, no ``self``)::

    class SmaCross(Strategy):
        params = {"fast": 10, "slow": 30, "qty": 1}
        state = {"prev": np.int64}
        timeframes = ("1m",)
        keep = 30

        @staticmethod
        @njit
        def on_bar(ctx, symbol, tf): ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError

CALLBACKS = ("on_start", "on_bar", "on_tick", "on_fill", "on_end")
BASES = {"bid": 0, "ask": 1, "mid": 2}
_UNITS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_TF = re.compile(r"^([1-9][0-9]*)([smhdw])$")


class Strategy:
    """Base of a compiled strategy; every setting has a default."""

    name: str = ""  # defaults to the class name
    params: Mapping[str, int | float] = {}  # name -> default (int -> int64, float -> float64)
    state: Mapping[str, Any] = {}  # name -> numpy type, or (type, shape) for an array field
    timeframes: tuple[str, ...] = ()  # "<n>s", "<n>m", "<n>h", "1d", "1w"
    keep: int = 2  # closed bars kept per symbol and timeframe
    basis: str = "mid"  # bar prices: bid, ask or mid (bid + ask, half ticks)
    session: tuple[str, str] = ("America/New_York", "17:00")  # start of the 1d/1w bars
    max_actions: int = 16  # actions one callback may write
    tags: tuple[str, ...] = ()  # names of the tag codes of set_tag: code k shows as tags[k]


def label(cls: type) -> str:
    return getattr(cls, "name", "") or cls.__name__


def callback(cls: type, name: str) -> Any:
    """The callback ``name`` of the class (a staticmethod unwrapped), None when not defined."""
    for k in cls.__mro__:
        if name in k.__dict__:
            v = k.__dict__[name]
            return v.__func__ if isinstance(v, staticmethod) else v
    return None


def parse_timeframe(text: str, where: str) -> tuple[int, str]:
    """(length in ns, "") for an intraday timeframe; (0, "d" or "w") for a session one."""
    m = _TF.match(str(text).strip())
    if not m or (m.group(2) in "dw" and m.group(1) != "1"):
        raise ConfigError(f"{where}: timeframe {text!r} does not parse (use <n>s, <n>m, <n>h, 1d or 1w)")
    n, unit = int(m.group(1)), m.group(2)
    if unit in "dw":
        return 0, unit
    return n * _UNITS[unit], ""


def params_dtype(cls: type) -> np.dtype:
    fields = [(k, np.float64 if isinstance(v, float) else np.int64) for k, v in dict(cls.params).items()]
    return np.dtype(fields or [("_", np.int64)], align=True)


def state_dtype(cls: type) -> np.dtype:
    fields = []
    for k, v in dict(cls.state).items():
        fields.append((k, v[0], v[1]) if isinstance(v, tuple) else (k, v))
    return np.dtype(fields or [("_", np.int64)], align=True)


def params_record(cls: type, values: Mapping[str, Any] | None, where: str) -> np.ndarray:
    """The parameter record: defaults, then ``values`` (strings from the command line are
    converted to the default's type)."""
    dt = params_dtype(cls)
    rec = np.zeros(1, dt)
    defaults = dict(cls.params)
    for k, v in defaults.items():
        rec[0][k] = v
    for k, v in dict(values or {}).items():
        if k not in defaults:
            have = ", ".join(defaults) or "none"
            raise ConfigError(f"{where}: strategy {label(cls)} has no parameter {k!r} (it has: {have})")
        typ = float if isinstance(defaults[k], float) else int
        try:
            rec[0][k] = typ(v)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: parameter {k} of strategy {label(cls)}: {v!r} is not "
                              f"{'a number' if typ is float else 'an integer'}") from None
    return rec


def check(cls: type, where: str) -> None:
    """Settings that can be checked before anything runs."""
    if not isinstance(cls, type) or not issubclass(cls, Strategy):
        raise ConfigError(f"{where}: {cls!r} is not a Strategy class")
    n = label(cls)
    if not any(callback(cls, c) is not None for c in CALLBACKS):
        raise ConfigError(f"{where}: strategy {n} defines none of {', '.join(CALLBACKS)}")
    if cls.basis not in BASES:
        raise ConfigError(f"{where}: strategy {n}: basis {cls.basis!r} is not one of bid, ask, mid")
    for attr in ("keep", "max_actions"):
        v = getattr(cls, attr)
        if not isinstance(v, int) or v < 1:
            raise ConfigError(f"{where}: strategy {n}: {attr} {v!r} must be a whole number >= 1")
    if not isinstance(cls.tags, tuple) or not all(isinstance(t, str) and t for t in cls.tags):
        raise ConfigError(f"{where}: strategy {n}: tags {cls.tags!r} must be a tuple of names (non-empty strings)")
    for tf in cls.timeframes:
        parse_timeframe(tf, f"{where}: strategy {n}")
    if callback(cls, "on_bar") is not None and not cls.timeframes:
        raise ConfigError(f"{where}: strategy {n} has on_bar but no timeframes")
