"""The statistics' settings: the calendar returns are taken on, settled once at the edge."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError

CALENDARS = ("auto", "weekdays", "daily")
PERIODS = {"weekdays": 252, "daily": 365}
CRYPTO = frozenset({"crypto"})  # instrument kinds that trade every day


@dataclass(frozen=True)
class StatsSettings:
    """How returns are sampled from the equity (docs/analytics.md §1).

    ``timezone``/``day_end``: a day closes at ``day_end`` local time (default
    17:00 in New York, the FX day). ``calendar``: ``weekdays`` (closes Monday
    to Friday, 252 periods a year), ``daily`` (every day, 365) or ``auto``
    (daily when a symbol is a crypto instrument or the equity log has rows on
    a Saturday or Sunday, else weekdays). ``periods_per_year``: overrides the
    calendar's count. ``risk_free``: annual rate, ``risk_free / periods`` per
    period. ``target``: the per-period return that Sortino and Omega measure
    against.
    """

    timezone: str = "America/New_York"
    day_end: str = "17:00"
    calendar: str = "auto"
    periods_per_year: int | None = None
    risk_free: float = 0.0
    target: float = 0.0

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(f"timezone {self.timezone!r} is not an IANA time zone "
                              "(such as 'America/New_York' or 'UTC')") from None
        if not isinstance(self.day_end, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.day_end):
            raise ConfigError(f"day_end {self.day_end!r}: expected a local time HH:MM such as '17:00'")
        if self.calendar not in CALENDARS:
            raise ConfigError(f"calendar {self.calendar!r}: expected one of {', '.join(CALENDARS)}")
        p = self.periods_per_year
        if p is not None and (isinstance(p, bool) or not isinstance(p, int) or p <= 0):
            raise ConfigError(f"periods_per_year {p!r}: expected a whole number above 0, or None for the "
                              "calendar's own (252 weekdays, 365 daily)")
        for name in ("risk_free", "target"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= -1:
                raise ConfigError(f"{name} {v!r}: expected a finite number above -1 (a fraction: 0.02 is 2 %)")

    @property
    def day_end_minutes(self) -> int:
        h, m = self.day_end.split(":")
        return int(h) * 60 + int(m)

    def resolved(self, daily: bool) -> StatsSettings:
        """These settings with ``auto`` replaced by the calendar found for the run."""
        if self.calendar != "auto":
            return self
        return replace(self, calendar="daily" if daily else "weekdays")

    @property
    def periods(self) -> int:
        if self.periods_per_year is not None:
            return self.periods_per_year
        return PERIODS.get(self.calendar, 252)

    def describe(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "day_end": self.day_end, "calendar": self.calendar,
                "periods_per_year": self.periods, "risk_free": self.risk_free, "target": self.target}


def settle(settings: StatsSettings | Mapping[str, Any] | None = None, **kw: Any) -> StatsSettings:
    """A ``StatsSettings`` from one, a mapping of its fields, or keywords (None: the defaults)."""
    if isinstance(settings, StatsSettings):
        return replace(settings, **kw) if kw else settings
    values = dict(settings or {})
    values.update(kw)
    known = {f.name for f in fields(StatsSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown statistics setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return StatsSettings(**values)
