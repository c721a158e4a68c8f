"""Run configuration: defaults, then a TOML/JSON file, then ``--set`` overrides.

Every key is declared once in ``SCHEMA`` with its type, default and meaning;
docs/config.md is the user's copy of it. Unknown keys and bad values are refused
by name (and file). The ``[risk]`` section is declared in ``risk.RISK_KEYS`` and
loaded with its own sources (a risk file, ``RISK_*`` variables) into ``Config.risk``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomllib

from .errors import ConfigError, term

if TYPE_CHECKING:
    from .risk import RiskLimits

_DUR = re.compile(r"^\s*(\d+)\s*(ns|us|ms|s|m|h|d)?\s*$")
_DUR_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
           "d": 86400 * 10**9, None: 10**9}


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """A TOML file's table; a missing file is named as ``what``, a bad one with its parser's words."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {p} does not exist")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None


def parse_duration_ns(v: Any) -> int:
    """'250ms', '1m', '2h', '1d' or a number of seconds -> nanoseconds."""
    if isinstance(v, bool):
        raise ValueError("expected a duration such as '1m' or '250ms'")
    if isinstance(v, int):
        return v * 10**9
    m = _DUR.match(str(v))
    if not m:
        raise ValueError(f"{v!r} is not a duration such as '1m', '250ms' or '1h'")
    return int(m.group(1)) * _DUR_NS[m.group(2)]


def parse_decimal(v: Any) -> Decimal:
    if isinstance(v, bool):
        raise ValueError("expected a number")
    try:
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(str(v).strip())
    except InvalidOperation:
        raise ValueError(f"{v!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{v!r} is not a finite number")
    return d


def parse_time_ns(v: Any) -> int | None:
    """ISO-8601 time (UTC when naive) -> ns since epoch; '' or None -> None."""
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        dt = v
    else:
        try:
            dt = datetime.fromisoformat(str(v))
        except ValueError:
            raise ValueError(f"{v!r} is not an ISO-8601 time such as '2024-01-02T00:00:00'") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in allowed:
            raise ValueError(f"{v!r} is not one of {', '.join(allowed)}")
        return v
    return check


def _int(lo: int, hi: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            try:
                v = int(str(v).replace("_", ""))
            except ValueError:
                raise ValueError(f"{v!r} is not a whole number") from None
        if v < lo or (hi is not None and v > hi):
            raise ValueError(f"{v} is outside {lo}..{hi if hi is not None else 'inf'}")
        return v
    return check


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if str(v).lower() in ("true", "1", "yes", "on"):
        return True
    if str(v).lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{v!r} is not true or false")


def _nonneg_decimal(v: Any) -> Decimal:
    d = parse_decimal(v)
    if d < 0:
        raise ValueError(f"{v!r} is negative")
    return d


def _pos_decimal(v: Any) -> Decimal:
    d = parse_decimal(v)
    if d <= 0:
        raise ValueError(f"{v!r} is not positive")
    return d


def _symbols(v: Any) -> list[str]:
    if isinstance(v, str):
        v = [s for s in v.split(",") if s.strip()]
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise ValueError("expected a list of symbol names")
    return [s.strip() for s in v]


def _currency(v: Any) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"[A-Z0-9]{2,6}", v):
        raise ValueError(f"{v!r} is not a currency code such as 'USD'")
    return v


def _duration(v: Any) -> int:
    ns = parse_duration_ns(v)
    return ns


def _positive_duration(v: Any) -> int:
    ns = parse_duration_ns(v)
    if ns <= 0:
        raise ValueError("must be longer than zero")
    return ns


def _opt_int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    return _int(0, 18)(v)


_I64_SAFE = 2**62


def _fraction(v: Any) -> Decimal:
    """A non-negative decimal whose exact fraction fits 64-bit integers (the kernel's num/den)."""
    d = _nonneg_decimal(v)
    num, den = d.as_integer_ratio()
    if num >= _I64_SAFE or den >= _I64_SAFE:
        raise ValueError(f"{v!r} has too many digits to be held exactly in 64-bit integers")
    return d


_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_hhmm(v: Any) -> str:
    """'HH:MM' (UTC, 00:00..23:59) -> the same text, zero-padded."""
    m = _HHMM.match(v) if isinstance(v, str) else None
    if not m:
        raise ValueError(f"{v!r} is not a time of day such as '22:00'")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def hhmm_ns(v: str) -> int:
    """'HH:MM' -> ns after 00:00."""
    h, m = v.split(":")
    return (int(h) * 60 + int(m)) * 60 * 10**9


def _margin_rate(v: Any) -> Decimal:
    d = parse_decimal(v)
    if d <= 0 or d > 1:
        raise ValueError(f"{v!r} is not in (0, 1]")
    return d


def _hedged_rate(v: Any) -> Decimal:
    d = parse_decimal(v)
    if d < 0 or d > 1:
        raise ValueError(f"{v!r} is not in [0, 1]")
    return d


def _swap_days(v: Any) -> tuple[int, ...]:
    if (not isinstance(v, list | tuple) or len(v) != 7
            or not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 15 for x in v)):
        raise ValueError(f"{v!r} is not a list of 7 whole numbers 0..15, Monday first")
    return tuple(v)


def _opt_interval(v: Any) -> int | None:
    """A positive duration, or "none" / "" / 0 for no funding."""
    if v is None or (isinstance(v, str) and v.strip().lower() in ("", "none")):
        return None
    ns = parse_duration_ns(v)
    return ns or None


# section -> key -> (parser, default, help)
SCHEMA: dict[str, dict[str, tuple[Callable[[Any], Any], Any, str]]] = {
    "run": {
        "account_mode": (_choice("netting", "hedging"), "netting",
                         "netting: one position per symbol; hedging: one position per entry fill"),
        "log_level": (_choice("off", "trades", "events", "ticks"), "trades",
                      "off: summary only; trades: orders, fills, positions, sampled equity; ticks: equity every tick"),
        "equity_interval": (_positive_duration, "1m", "equity sampling interval below log level ticks"),
        "close_at_end": (_bool, False, "close open positions at the last quote when the data ends"),
        "latency": (_duration, "0", "orders act on the first tick at or after ts + latency (and after ts)"),
        "chunk_rows": (_int(1), 1_000_000, "rows read ahead in all (chunk_rows / sources per source, at least 4,096)"),
        "buffer_rows": (_int(16), 65_536, "rows held per log buffer before it is flushed to disk"),
        "on_bad_rows": (_choice("error", "skip"), "error", "error: stop at the first bad row; skip: drop and count"),
        "qty_rounding": (_choice("exact", "down"), "exact",
                         "exact: refuse a qty or target that is not whole lot steps; down: round it down and count"),
    },
    "account": {
        "currency": (_currency, "USD", "account currency"),
        "initial_cash": (_nonneg_decimal, Decimal("100000"), "starting cash in account currency"),
        "minor_digits": (_opt_int, None, "decimal places of the minor unit; default from the currency"),
    },
    "data": {
        "symbols": (_symbols, [], "symbols to run; empty = every symbol in the archive"),
        "start": (parse_time_ns, None, "first time included (ISO-8601, UTC when naive)"),
        "end": (parse_time_ns, None, "first time excluded"),
        "ts_unit": (_choice("s", "ms", "us", "ns"), None, "unit of integer ts columns; unset: integers are refused"),
    },
    "commission": {
        "fraction": (_nonneg_decimal, Decimal(0), "fraction of notional per fill, e.g. 0.00002"),
        "per_lot": (_nonneg_decimal, Decimal(0), "account currency per lot per fill"),
        "per_order": (_nonneg_decimal, Decimal(0), "account currency per fill of an order"),
        "minimum": (_nonneg_decimal, Decimal(0), "least commission per fill"),
    },
    "execution": {
        "model": (_choice("perfect", "realistic", "worst_case"), "perfect",
                  "fill prices of market, stop and limit fills (docs/execution.md §5)"),
        "slippage": (_choice("none", "fixed", "spread", "size"), "none", "slippage model in ticks"),
        "slippage_ticks": (_int(0, 2**31 - 1), 0, "fixed: ticks; size: ticks for a fill of the full quote size"),
        "slippage_spread": (_fraction, Decimal(0), "spread: slippage as a fraction of the spread"),
        "random_slippage": (_bool, False, "realistic model: draw the slippage uniformly from 0..s"),
        "seed": (_int(0, 2**63 - 1), 0, "seed of the slippage draws"),
    },
}

def _funding_rate(v: Any) -> Decimal | str:
    """A constant rate, or ``"column"``: the rate comes from the data's ``funding_rate`` column."""
    if isinstance(v, str) and v.strip().lower() == "column":
        return "column"
    return parse_decimal(v)


INSTRUMENT_KEYS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "kind": (str, "other"),
    "base": (str, ""),
    "quote": (_currency, "USD"),
    "tick_size": (_pos_decimal, None),
    "lot_step": (_pos_decimal, None),
    "contract_size": (_pos_decimal, Decimal(1)),
    "min_qty": (_nonneg_decimal, Decimal(0)),
    "max_qty": (_nonneg_decimal, Decimal(0)),
    "quote_to_account": (_pos_decimal, None),
    "swap_mode": (_choice("none", "points", "percent"), "none"),
    "swap_long": (parse_decimal, Decimal(0)),
    "swap_short": (parse_decimal, Decimal(0)),
    "swap_time": (parse_hhmm, "22:00"),
    "swap_days": (_swap_days, None),  # None: [1, 1, 3, 1, 1, 0, 0] for kind fx and metal, else all 1
    "swap_year_days": (_int(1, 1000), 365),
    "funding_rate": (_funding_rate, Decimal(0)),  # or "column"
    "funding_interval": (_opt_interval, None),
    "funding_time": (parse_hhmm, "00:00"),
    "leverage": (_pos_decimal, None),  # margin rate 1 / leverage; not with margin_rate
    "margin_rate": (_margin_rate, None),  # fraction of the notional held as margin
    "margin_per_lot": (_pos_decimal, None),  # fixed margin per lot in the quote currency (futures)
    "margin_hedged": (_hedged_rate, Decimal(1)),  # share of the smaller side of opposite positions charged
}


@dataclass
class Config:
    """Validated settings; ``values[section][key]`` plus per-symbol tables."""

    values: dict[str, dict[str, Any]]
    commission_by_symbol: dict[str, dict[str, Decimal]]
    instruments: dict[str, dict[str, Any]]
    sources: dict[str, str]  # "section.key" -> where the value came from
    risk: RiskLimits = field(default_factory=lambda: _default_risk())

    def __getitem__(self, dotted: str) -> Any:
        sec, key = dotted.split(".", 1)
        return self.values[sec][key]


def _default_risk() -> RiskLimits:
    from .risk import RiskLimits

    return RiskLimits()


def _defaults() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for sec, keys in SCHEMA.items():
        out[sec] = {}
        for key, (parse, default, _h) in keys.items():
            out[sec][key] = parse(default) if isinstance(default, str) and parse is not str else default
    return out


def read_file(path: str | Path) -> dict[str, Any]:
    """A TOML or JSON config file as a dict."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(p.read_text())
        else:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{p}: not valid {p.suffix.lstrip('.').upper() or 'TOML'}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a table")
    return data


def parse_instrument(symbol: str, table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate one instrument table; missing keys take their defaults."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: instruments.{symbol} must be a table")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in INSTRUMENT_KEYS:
            raise ConfigError(
                f"{where}: unknown key instruments.{symbol}.{key} (known: {', '.join(INSTRUMENT_KEYS)})")
        try:
            out[key] = INSTRUMENT_KEYS[key][0](value)
        except ValueError as exc:
            raise ConfigError(f"{where}: instruments.{symbol}.{key}: {exc}") from None
    _check_margin_keys(symbol, out, where)
    return out


def _check_margin_keys(symbol: str, table: Mapping[str, Any], where: str) -> None:
    if table.get("leverage") is not None and table.get("margin_rate") is not None:
        raise ConfigError(f"{where}: instrument {symbol} sets both leverage and margin_rate; give one "
                          f"(margin rate = 1 / leverage)")
    if table.get("margin_per_lot") is not None and (table.get("leverage") is not None
                                                    or table.get("margin_rate") is not None):
        raise ConfigError(f"{where}: instrument {symbol} sets margin_per_lot and a margin rate (leverage or "
                          f"margin_rate); give one")


def _apply(cfg: Config, data: Mapping[str, Any], where: str,
           risk_tables: list[tuple[Mapping[str, Any], str]]) -> None:
    for sec, table in data.items():
        if sec == "instruments":
            if not isinstance(table, Mapping):
                raise ConfigError(f"{where}: [instruments] must be a table of symbols")
            for sym, t in table.items():
                merged = cfg.instruments.setdefault(sym, {})
                merged.update(parse_instrument(sym, t, where))
                _check_margin_keys(sym, merged, where)
            continue
        if sec == "risk":
            if not isinstance(table, Mapping):
                raise ConfigError(f"{where}: [risk] must be a table")
            risk_tables.append((table, where))
            continue
        if sec not in SCHEMA:
            raise ConfigError(f"{where}: unknown section [{sec}] (known: {', '.join(SCHEMA)}, instruments, risk)")
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [{sec}] must be a table")
        for key, value in table.items():
            if sec == "commission" and isinstance(value, Mapping):
                per = cfg.commission_by_symbol.setdefault(key, {})
                for k2, v2 in value.items():
                    _set(per, "commission", k2, v2, where, f"commission.{key}.{k2}")
                continue
            _set(cfg.values[sec], sec, key, value, where, f"{sec}.{key}")
            cfg.sources[f"{sec}.{key}"] = where


def _set(target: dict[str, Any], sec: str, key: str, value: Any, where: str, name: str) -> None:
    if key not in SCHEMA[sec]:
        raise ConfigError(f"{where}: unknown key {name} (known in [{sec}]: {', '.join(SCHEMA[sec])})")
    try:
        target[key] = SCHEMA[sec][key][0](value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {name}: {exc}") from None


def _parse_set(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"{term('set_item', repr(item))}: expected section.key=value")
    dotted, raw = item.split("=", 1)
    parts = dotted.strip().split(".")
    if len(parts) < 2:
        raise ConfigError(f"{term('set_item', repr(item))}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return parts, value


MINOR_DIGITS = {"JPY": 0, "KRW": 0, "HUF": 0, "BTC": 8, "ETH": 8}


def minor_digits(cfg: Config) -> int:
    """Decimal places of the account currency's minor unit."""
    d = cfg["account.minor_digits"]
    return d if d is not None else MINOR_DIGITS.get(cfg["account.currency"], 2)


def _check_money(cfg: Config) -> None:
    """Amounts charged whole must be whole minor units of the account currency."""
    digits = minor_digits(cfg)
    unit = Decimal(1).scaleb(-digits)
    checks = [("account.initial_cash", cfg["account.initial_cash"], cfg.sources["account.initial_cash"])]
    for key in ("per_order", "minimum"):
        checks.append((f"commission.{key}", cfg[f"commission.{key}"], cfg.sources[f"commission.{key}"]))
        for sym, table in cfg.commission_by_symbol.items():
            if key in table:
                checks.append((f"commission.{sym}.{key}", table[key], "config"))
    for name, value, where in checks:
        if value % unit != 0:
            raise ConfigError(f"{where}: {name} = {value} is finer than the account currency's minor unit "
                              f"({unit} {cfg['account.currency']})")


def load_config(file: str | Path | None = None, overrides: Mapping[str, Any] | list[str] | None = None,
                data: Mapping[str, Any] | None = None, *, risk_file: str | Path | None = None,
                risk: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then ``file`` (TOML/JSON), then ``data`` (a dict), then overrides.

    ``overrides`` is either ``["section.key=value", ...]`` (as from ``--set``) or
    a mapping ``{"section.key": value}``. The risk limits (``Config.risk``) come
    from, later wins: defaults, the ``[risk]`` tables of ``file`` and ``data``,
    ``risk_file`` (TOML, JSON or YAML), ``RISK_<KEY>`` variables of ``env``
    (default ``os.environ``), then ``risk.KEY`` overrides and ``risk`` (explicit values).
    """
    from .risk import load_risk, risk_params

    cfg = Config(_defaults(), {}, {}, {f"{s}.{k}": "default" for s, t in SCHEMA.items() for k in t})
    risk_tables: list[tuple[Mapping[str, Any], str]] = []
    if file is not None:
        _apply(cfg, read_file(file), str(file), risk_tables)
    if data:
        _apply(cfg, data, "config", risk_tables)
    items: list[tuple[list[str], Any]] = []
    if isinstance(overrides, Mapping):
        items = [(k.split("."), v) for k, v in overrides.items()]
    elif overrides:
        items = [_parse_set(s) for s in overrides]
    explicit: dict[str, Any] = {}
    explicit_where: dict[str, str] = {}  # where each explicit risk value came from, for messages
    for parts, value in items:
        if parts[0] == "risk":
            if len(parts) != 2:
                raise ConfigError(f"{term('set', '.'.join(parts))}: expected risk.key=value")
            explicit[parts[1]] = value
            explicit_where[parts[1]] = term("set", ".".join(parts))
            continue
        nested: Any = value
        for p in reversed(parts):
            nested = {p: nested}
        _apply(cfg, nested, term("set", ".".join(parts)), risk_tables)
    for key, value in (risk or {}).items():
        explicit[key] = value
        explicit_where[key] = term("risk", key)
    cfg.risk = load_risk(more_sections=risk_tables, file=risk_file, env=env, explicit=explicit,
                         explicit_where=explicit_where)
    _check_money(cfg)
    risk_params(cfg.risk, minor_digits(cfg))  # money limits must be whole minor units
    start, end = cfg["data.start"], cfg["data.end"]
    if start is not None and end is not None and end <= start:
        raise ConfigError("data.end must be after data.start")
    return cfg
