"""Risk limits (docs/risk.md §3, §4): declared once, loaded from layered sources.

Every key is declared once in ``RISK_KEYS`` with its parser, default and meaning;
docs/config.md ("Risk limits") is the user's copy of it. Sources, later wins:
the defaults; the ``[risk]`` table of the run config; a risk file (TOML, JSON or
YAML); ``RISK_<KEY>`` environment variables; explicit values (``--set risk.KEY=V``,
``run(risk={...})``). Percent values are percents (2.5 = 2.5 %, at most 4
decimals, held by the kernel as parts per million of 1); money is in account
currency; ``None`` means the limit is off.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import tomllib
import yaml

from .config import hhmm_ns, parse_decimal, parse_duration_ns, parse_hhmm
from .errors import ConfigError, term

PPM_PER_PERCENT = 10_000  # 1 % = 10_000 parts per million of 1
_I64_SAFE = 2**62
_DAY_NS = 86_400 * 10**9
_OFF = ("", "off", "none", "null")


def _is_off(v: Any) -> bool:
    """Whether ``v`` says "no limit": None, '', 'off', 'none' (YAML's ``off`` reads as False)."""
    return v is None or v is False or (isinstance(v, str) and v.strip().lower() in _OFF)


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        return None if _is_off(v) else parse(v)
    return check


def _number(v: Any) -> Decimal:
    d = parse_decimal(v)
    if d < 0:
        raise ValueError(f"{v!r} is negative")
    if abs(d) >= _I64_SAFE:
        raise ValueError(f"{v!r} is too large")
    return d


def _percent(lo_open: bool = False, hi: Decimal | None = None) -> Callable[[Any], Decimal]:
    """A percent >= 0 (> 0 when ``lo_open``; <= ``hi``) with at most 4 decimals."""
    def check(v: Any) -> Decimal:
        d = _number(v)
        if lo_open and d == 0:
            raise ValueError(f"{v!r} is not above 0")
        if hi is not None and d > hi:
            raise ValueError(f"{v!r} is above {hi}")
        if (d * PPM_PER_PERCENT) % 1 != 0:
            raise ValueError(f"{v!r} has more than 4 decimal places (percent limits are held in ppm)")
        return d
    return check


def _fraction_0_1(v: Any) -> Decimal:
    d = _number(v)
    if d == 0 or d > 1:
        raise ValueError(f"{v!r} is not in (0, 1]")
    return d


def _count(lo: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool):
            raise ValueError(f"{v!r} is not a whole number")
        if not isinstance(v, int):
            try:
                v = int(str(v).strip().replace("_", ""))
            except ValueError:
                raise ValueError(f"{v!r} is not a whole number") from None
        if v < 0:
            raise ValueError(f"{v} is negative")
        if v < lo:
            raise ValueError(f"{v} is below {lo}")
        if v >= _I64_SAFE:
            raise ValueError(f"{v} is too large")
        return v
    return check


def _duration(v: Any) -> int:
    """A duration longer than zero ('250ms', '1m', '1h', or seconds) -> ns."""
    if isinstance(v, int) and not isinstance(v, bool) and v < 0:
        raise ValueError(f"{v} is negative")
    ns = parse_duration_ns(v)
    if ns <= 0:
        raise ValueError("must be longer than zero")
    if ns >= _I64_SAFE:
        raise ValueError(f"{v!r} is too long")
    return ns


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError naming it when there is none."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{name!r} is not a time zone name such as 'Europe/London'")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name such as 'America/New_York')") from None


def _timezone(v: Any) -> str:
    zone(v)
    return v.strip()


_PCT = _optional(_percent())
_MONEY = _optional(_number)

# key -> (parser, default, help); a default given as text is parsed like user input
RISK_KEYS: dict[str, tuple[Callable[[Any], Any], Any, str]] = {
    "margin_call_level": (_percent(lo_open=True), "100",
                          "margin call when equity / used margin is at or below this percent"),
    "stop_out_level": (_percent(), "50",
                       "stop-out when equity / used margin is at or below this percent; not above margin_call_level"),
    "max_order_qty": (_optional(_number), None, "largest quantity of an order that adds exposure, in lots"),
    "max_order_notional": (_MONEY, None, "largest notional of an order that adds exposure, account currency"),
    "max_order_notional_pct": (_PCT, None, "largest notional of an order, percent of equity"),
    "max_positions": (_optional(_count(0)), None, "most open positions (all symbols)"),
    "max_positions_per_symbol": (_optional(_count(0)), None, "most open positions of one symbol"),
    "daily_loss_limit": (_MONEY, None, "loss from the day's start equity that stops new exposure for the day"),
    "daily_loss_limit_pct": (_PCT, None, "the same as a percent of the day's start equity"),
    "timezone": (_timezone, "UTC", "IANA time zone of the trading day"),
    "day_start": (parse_hhmm, "00:00", "local time the trading day starts, HH:MM"),
    "max_exposure": (_MONEY, None, "largest gross exposure, account currency"),
    "max_exposure_pct": (_PCT, None, "largest gross exposure, percent of equity"),
    "max_price_deviation_pct": (_PCT, None, "largest distance of a limit or stop price from the mid, percent"),
    "max_orders": (_optional(_count(1)), None, "most orders acting within order_window"),
    "order_window": (_duration, "1s", "window of the order rate limit"),
    "breaker_losses": (_optional(_count(1)), None, "consecutive losing trades that trip the circuit breaker"),
    "breaker_rejections": (_optional(_count(1)), None, "consecutive rejected orders that trip the circuit breaker"),
    "breaker_cooldown": (_duration, "1h", "how long a tripped breaker blocks new exposure"),
    "kelly_fraction": (_fraction_0_1, "0.5", "share of the Kelly fraction used by kelly sizing"),
    "kelly_min_trades": (_count(1), 30, "closed trades before kelly sizing starts (the qty column until then)"),
    "kelly_cap_pct": (_percent(hi=Decimal(100)), "25", "kelly sizing never uses more than this percent of equity"),
}

PERCENT_KEYS = frozenset(k for k in RISK_KEYS if k.endswith("_pct") or k.endswith("_level"))
DURATION_KEYS = frozenset(("order_window", "breaker_cooldown"))
ENV_PREFIX = "RISK_"


def _default_values() -> dict[str, Any]:
    return {k: (p(d) if isinstance(d, str) else d) for k, (p, d, _h) in RISK_KEYS.items()}


@dataclass
class RiskLimits:
    """Validated risk limits: ``values[key]`` and where each came from (``sources[key]``)."""

    values: dict[str, Any] = field(default_factory=_default_values)
    sources: dict[str, str] = field(default_factory=lambda: dict.fromkeys(RISK_KEYS, "default"))

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


def _apply(limits: RiskLimits, table: Mapping[str, Any], where: str, unknown: str) -> None:
    """Parse every key of ``table`` into ``limits``; ``unknown`` says where an unknown key sits."""
    for key, value in table.items():
        if key not in RISK_KEYS:
            raise ConfigError(f"{where}: unknown key {unknown}{key} (known: {', '.join(RISK_KEYS)})")
        _set(limits, key, value, where)


def _set(limits: RiskLimits, key: str, value: Any, where: str) -> None:
    try:
        limits.values[key] = RISK_KEYS[key][0](value)
    except ValueError as exc:
        raise ConfigError(f"{where}: risk.{key}: {exc}") from None
    limits.sources[key] = where


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML without base-60 numbers, so ``day_start: 22:00`` stays the text '22:00'."""


_YamlLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:int"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


def read_risk_file(path: str | Path) -> dict[str, Any]:
    """A risk file (TOML, JSON or YAML by extension) as a flat table of keys."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"risk file {p} does not exist")
    ext = p.suffix.lower()
    try:
        if ext == ".json":
            data = json.loads(p.read_text())
        elif ext in (".yaml", ".yml"):
            data = yaml.load(p.read_text(), Loader=_YamlLoader)  # a SafeLoader subclass
            data = {} if data is None else data
        elif ext == ".toml":
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        else:
            raise ConfigError(f"risk file {p}: unknown extension {p.suffix!r} (use .toml, .json, .yaml or .yml)")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: not valid {ext.lstrip('.').upper()}: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{p}: the top level must be a table of risk keys")
    if "risk" in data:
        rest = [k for k in data if k != "risk"]
        if rest:
            raise ConfigError(f"{p}: unknown key {rest[0]} beside the risk table (put every key under risk)")
        data = data["risk"]
        if not isinstance(data, Mapping):
            raise ConfigError(f"{p}: risk must be a table")
    return dict(data)


def _check(limits: RiskLimits) -> None:
    call, so = limits.values["margin_call_level"], limits.values["stop_out_level"]
    if so > call:
        raise ConfigError(
            f"risk.stop_out_level = {so} % (from {limits.sources['stop_out_level']}) is above "
            f"risk.margin_call_level = {call} % (from {limits.sources['margin_call_level']}): "
            "the stop-out level must not be above the margin-call level")


def load_risk(section: Mapping[str, Any] | None = None, section_where: str = "",
              file: str | Path | None = None, env: Mapping[str, str] | None = None,
              explicit: Mapping[str, Any] | None = None, *,
              more_sections: Sequence[tuple[Mapping[str, Any], str]] = (),
              explicit_where: Mapping[str, str] | None = None) -> RiskLimits:
    """The risk limits from, later wins: defaults; ``section`` (the ``[risk]`` table of
    the run config, from ``section_where``) and then ``more_sections``; the risk
    ``file``; ``RISK_<KEY>`` variables of ``env`` (default ``os.environ``); ``explicit``
    (``explicit_where`` says where each of its keys came from, for messages).
    """
    limits = RiskLimits()
    for table, where in [(section, section_where or "config"), *more_sections]:
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [risk] must be a table")
        _apply(limits, table, where, "risk.")
    if file is not None:
        _apply(limits, read_risk_file(file), str(file), "")
    for name, value in sorted((os.environ if env is None else env).items()):
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key not in RISK_KEYS:
            known = ", ".join(ENV_PREFIX + k.upper() for k in RISK_KEYS)
            raise ConfigError(f"unknown environment variable {name} (known: {known})")
        _set(limits, key, value, f"env {name}")
    if explicit:
        for key, value in explicit.items():
            where = (explicit_where or {}).get(key) or term("risk", key)
            _apply(limits, {key: value}, where, "risk.")
    _check(limits)
    return limits


def _ppm(limits: RiskLimits, key: str) -> int:
    v = limits.values[key]
    return 0 if v is None else int(v * PPM_PER_PERCENT)


def _minor(limits: RiskLimits, key: str, digits: int) -> int:
    v = limits.values[key]
    if v is None:
        return 0
    m = Fraction(v) * 10**digits
    if m.denominator != 1:
        raise ConfigError(f"{limits.sources[key]}: risk.{key} = {v} is finer than the account currency's "
                          f"minor unit ({digits} decimal places)")
    if m >= _I64_SAFE:
        raise ConfigError(f"{limits.sources[key]}: risk.{key} = {v} is too large")
    return int(m)


def _int_or_0(limits: RiskLimits, key: str) -> int:
    v = limits.values[key]
    return 0 if v is None else int(v)


def risk_params(limits: RiskLimits, minor_digits: int) -> dict[str, int | float]:
    """The risk fields of the kernel's PARAMS record (0 = off, except call_ppm and so_ppm)."""
    v = limits.values
    return {
        "call_ppm": _ppm(limits, "margin_call_level"),
        "so_ppm": _ppm(limits, "stop_out_level"),
        "max_notional_minor": _minor(limits, "max_order_notional", minor_digits),
        "max_notional_ppm": _ppm(limits, "max_order_notional_pct"),
        "max_positions": _int_or_0(limits, "max_positions"),
        "max_positions_sym": _int_or_0(limits, "max_positions_per_symbol"),
        "daily_loss_minor": _minor(limits, "daily_loss_limit", minor_digits),
        "daily_loss_ppm": _ppm(limits, "daily_loss_limit_pct"),
        "max_exposure_minor": _minor(limits, "max_exposure", minor_digits),
        "max_exposure_ppm": _ppm(limits, "max_exposure_pct"),
        "max_dev_ppm": _ppm(limits, "max_price_deviation_pct"),
        "max_orders": _int_or_0(limits, "max_orders"),
        "order_window_ns": int(v["order_window"]),
        "breaker_losses": _int_or_0(limits, "breaker_losses"),
        "breaker_rejects": _int_or_0(limits, "breaker_rejections"),
        "breaker_cooldown_ns": int(v["breaker_cooldown"]),
        "kelly_fraction": float(Fraction(v["kelly_fraction"])),
        "kelly_min_trades": int(v["kelly_min_trades"]),
        "kelly_cap": float(Fraction(v["kelly_cap_pct"]) / 100),
    }


def max_order_steps(limits: RiskLimits, lot_step: Decimal) -> int:
    """``max_order_qty`` in whole lot steps of a symbol, rounded down; 0 when off."""
    q = limits.values["max_order_qty"]
    if q is None:
        return 0
    return int(Fraction(q) // Fraction(lot_step))


_EPOCH_ORD = datetime(1970, 1, 1).toordinal()


def day_starts(tz: str, hhmm: str, start_ns: int, end_ns: int) -> np.ndarray:
    """Sorted ns UTC instants at which local trading days start (local date d at ``hhmm``
    in ``tz``), every one in ``[start_ns - 2 days, end_ns + 2 days]``.

    A local start that does not exist (a clock jump forward) or happens twice (a jump
    back) is resolved as zoneinfo resolves ``fold=0``: the offset in force before the
    change. Days that resolve to the same instant appear once.
    """
    z = zone(tz)
    h, m = (int(x) for x in parse_hhmm(hhmm).split(":"))
    lo, hi = int(start_ns) - 2 * _DAY_NS, int(end_ns) + 2 * _DAY_NS
    if hi < lo:
        return np.zeros(0, np.int64)
    # local dates whose start can fall in [lo, hi]: UTC offsets are within +-26 h
    first = max(lo // _DAY_NS - 2, datetime.min.toordinal() - _EPOCH_ORD)
    last = min(hi // _DAY_NS + 2, datetime.max.toordinal() - _EPOCH_ORD - 1)
    days = np.arange(first, last + 1, dtype=np.int64)
    local = days * _DAY_NS + hhmm_ns(hhmm)
    offsets = np.empty(len(days), np.int64)
    wall = datetime.fromordinal(int(first) + _EPOCH_ORD).replace(hour=h, minute=m)
    one_day = timedelta(days=1)
    for i in range(len(days)):
        off = z.utcoffset(wall)  # wall is naive with fold=0
        offsets[i] = off.days * 86_400 + off.seconds
        wall += one_day
    out = np.unique(local - offsets * 10**9)
    return out[(out >= lo) & (out <= hi)]


def _human(key: str, v: Any) -> str:
    if v is None:
        return "off"
    if key in DURATION_KEYS:
        return format_duration(v)
    if key in PERCENT_KEYS:
        return f"{_plain(v)} %"
    if isinstance(v, Decimal):
        return _plain(v)
    return str(v)


def _plain(d: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 2.50 -> '2.5', 1E+3 -> '1000'."""
    return format(d.normalize(), "f")


def format_duration(ns: int) -> str:
    """ns -> the largest whole unit: 3_600_000_000_000 -> '1h', 1_500_000_000 -> '1500ms'."""
    for unit, size in (("d", 86_400 * 10**9), ("h", 3_600 * 10**9), ("m", 60 * 10**9), ("s", 10**9),
                       ("ms", 10**6), ("us", 10**3)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def show(limits: RiskLimits) -> str:
    """A table of every limit: key, value (human form, 'off' when not set) and source."""
    rows = [("key", "value", "source")]
    rows += [(k, _human(k, limits.values[k]), limits.sources[k]) for k in RISK_KEYS]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows)
