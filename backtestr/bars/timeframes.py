"""Timeframes and the settings of a bar build, settled once (docs/bars.md §1, §2).

Messages name the argument in the interface in use: ``names`` maps each
setting (``timeframes``, ``price``, ``session_tz``, ``session_start``) to its
Python argument or CLI flag.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from ..config import parse_hhmm
from ..errors import ConfigError
from ..risk import day_starts, zone

UNIT_NS = {"s": 10**9, "m": 60 * 10**9, "h": 3_600 * 10**9}
SESSION_UNITS = ("d", "w")
PRICES = ("bid", "ask", "mid")
PY_NAMES = {"timeframes": "timeframes", "price": "price", "session_tz": "session_tz",
            "session_start": "session_start"}
_TF = re.compile(r"^([0-9]+)([a-z])$")
_DAY_NS = 86_400 * 10**9
_MAX_NS = np.iinfo(np.int64).max
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Timeframe:
    text: str  # as written: "15m", "1d"
    unit: str  # s, m, h, d, w
    length_ns: int  # intraday: n * unit in ns; session-based: 0

    @property
    def session(self) -> bool:
        return self.length_ns == 0


@dataclass(frozen=True)
class BarSettings:
    timeframes: tuple[Timeframe, ...]
    price: str  # bid | ask | mid
    session_tz: str
    session_start: str  # HH:MM


def parse_timeframe(text: object, name: str = "timeframes") -> Timeframe:
    """``<n><unit>``: n >= 1 with unit s, m or h; or exactly 1d, 1w. ConfigError naming
    ``name`` and the string otherwise."""
    m = _TF.match(text) if isinstance(text, str) else None
    ok = m is not None and int(m.group(1)) >= 1 and (m.group(2) in UNIT_NS or
                                                    (m.group(2) in SESSION_UNITS and m.group(1) == "1"))
    if m is not None and m.group(2) in SESSION_UNITS and not ok:
        raise ConfigError(f"{name}: {text!r} is not a timeframe: daily and weekly bars are '1d' and '1w' "
                          "only (n = 1)")
    if not ok or m is None:
        raise ConfigError(f"{name}: {text!r} is not a timeframe (expected <n><unit> with n >= 1 and unit "
                          "s, m or h, such as '15m', or '1d', '1w')")
    n, unit = int(m.group(1)), m.group(2)
    length = n * UNIT_NS[unit] if unit in UNIT_NS else 0
    if length > _MAX_NS:
        raise ConfigError(f"{name}: {text!r} is longer than the int64 nanosecond range")
    return Timeframe(text, unit, length)


def settle(timeframes: Iterable[str] | str, price: str, session_tz: str, session_start: str,
           names: Mapping[str, str] = PY_NAMES) -> BarSettings:
    """Check every setting once; ConfigError naming the argument otherwise."""
    items = [timeframes] if isinstance(timeframes, str) else list(timeframes)
    if not items:
        raise ConfigError(f"{names['timeframes']}: give at least one timeframe, such as '1m'")
    tfs: list[Timeframe] = []
    for t in items:
        tf = parse_timeframe(t, names["timeframes"])
        if tf.text in {x.text for x in tfs}:
            raise ConfigError(f"{names['timeframes']}: {tf.text!r} is given twice")
        tfs.append(tf)
    if price not in PRICES:
        raise ConfigError(f"{names['price']}: {price!r} is not a price basis (expected bid, ask or mid)")
    try:
        tz = zone(session_tz).key
    except ValueError as exc:
        raise ConfigError(f"{names['session_tz']}: {exc}") from None
    try:
        start = parse_hhmm(session_start)
    except ValueError as exc:
        raise ConfigError(f"{names['session_start']}: {exc}") from None
    return BarSettings(tuple(tfs), price, tz, start)


def day_label(end_ns: int, tz: str) -> int:
    """The weekday (Monday 0) of the local date of the last instant before ``end_ns``."""
    last = _EPOCH + timedelta(microseconds=(end_ns - 1) // 1000)
    return last.astimezone(zone(tz)).weekday()


def session_bounds(tf: Timeframe, s: BarSettings, lo_ns: int, hi_ns: int) -> np.ndarray:
    """Sorted boundaries of the daily or weekly bars, covering ``[lo_ns, hi_ns]`` with at
    least one boundary at or before ``lo_ns`` and one after ``hi_ns``.

    Daily: the trading-day starts (``backtestr.risk.day_starts``). Weekly: the starts
    of the trading days labelled Monday, a day being labelled by the local date of
    its last instant.
    """
    if tf.unit == "d":
        return day_starts(s.session_tz, s.session_start, lo_ns, hi_ns)
    days = day_starts(s.session_tz, s.session_start, lo_ns - 8 * _DAY_NS, hi_ns + 8 * _DAY_NS)
    monday = [i for i in range(days.shape[0] - 1) if day_label(int(days[i + 1]), s.session_tz) == 0]
    return days[monday]
