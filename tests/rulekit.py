"""Small builders for the hand-worked rule tests (tests/test_rules_*.py).

Everything is in EURUSD (and GBPUSD, same grid) unless a test says otherwise:
tick 0.00001, lot step 0.01, 100 000 per lot, a USD account with 2 minor
digits.  So the tick value per lot step is ``V = 0.00001 x 0.01 x 100000 x 100
= 1`` minor unit: one tick on one lot step is 1 cent, one tick on one lot
(100 steps) is 100 minor = 1 USD.

Prices are written in ticks (``110002`` is 1.10002).  Times are seconds after
``MON`` = 2024-01-01 00:00:00 UTC, a Monday.
"""

from __future__ import annotations

from typing import Any

import polars as pl

import backtestr as bt

MON = 1_704_067_200 * 10**9  # 2024-01-01T00:00:00Z, a Monday, in ns
H = 3600  # seconds
DAY = 24 * H
TICK = 0.00001  # EURUSD / GBPUSD tick size
UTC = pl.Datetime("ns", "UTC")

# order columns holding a price (ticks when given as int) or a price distance (trail)
_PRICE_COLS = ("price", "stop", "sl", "tp", "trail")
_INT_COLS = ("id", "ref", "oco", "sl_ticks", "tp_ticks", "trail_ticks", "trail_activation", "trail_step")
_FLOAT_COLS = ("qty", "sl_pct", "tp_pct", "trail_pct", "size", *_PRICE_COLS)
_STR_COLS = ("action", "symbol", "side", "type", "tif", "sizing", "tag")
_TIME_COLS = ("ts", "expire")


def at(sec: float) -> int:
    """ns of ``MON + sec`` seconds (millisecond resolution)."""
    return MON + round(sec * 1000) * 10**6


def px(ticks: int) -> float:
    """A price in ticks as the float a user would type."""
    return round(ticks * TICK, 5)


def ticks(rows: list[tuple]) -> pl.DataFrame:
    """``[(sec, bid, ask[, symbol]), ...]`` with prices in ticks -> a tick frame (EURUSD by default)."""
    return pl.DataFrame({
        "ts": pl.Series([at(r[0]) for r in rows], dtype=pl.Int64),
        "symbol": [r[3] if len(r) > 3 else "EURUSD" for r in rows],
        "bid": pl.Series([px(r[1]) for r in rows], dtype=pl.Float64),
        "ask": pl.Series([px(r[2]) for r in rows], dtype=pl.Float64),
    }).with_columns(pl.col("ts").cast(UTC))


def orders(*rows: dict[str, Any]) -> pl.DataFrame:
    """Order rows as dicts: ``t`` (seconds, the ``ts``), ``expire`` (seconds), other columns by name.

    ``symbol`` defaults to EURUSD.  ``price``, ``stop``, ``sl``, ``tp`` and
    ``trail`` given as an int are ticks (converted to a price); a float is used
    as it is (to write a price off the tick grid).  Columns no row gives are
    left out.
    """
    cols: dict[str, list] = {}
    names = ["ts", "symbol"] + sorted({k for r in rows for k in r if k not in ("t", "symbol")})
    for name in names:
        vals = []
        for r in rows:
            if name == "ts":
                v = at(r["t"])
            elif name == "symbol":
                v = r.get("symbol", "EURUSD")
            else:
                v = r.get(name)
                if v is not None and name == "expire":
                    v = at(v)
                elif isinstance(v, int) and not isinstance(v, bool) and name in _PRICE_COLS:
                    v = px(v)
            vals.append(v)
        cols[name] = vals
    series = []
    for name, vals in cols.items():
        if name in _TIME_COLS:
            series.append(pl.Series(name, vals, dtype=pl.Int64).cast(UTC))
        elif name in _INT_COLS:
            series.append(pl.Series(name, vals, dtype=pl.Int64))
        elif name in _FLOAT_COLS:
            series.append(pl.Series(name, [None if v is None else float(v) for v in vals], dtype=pl.Float64))
        elif name in _STR_COLS:
            series.append(pl.Series(name, vals, dtype=pl.String))
        else:
            raise KeyError(f"unknown order column {name}")
    return pl.DataFrame(series)


def signals(rows: list[tuple]) -> pl.DataFrame:
    """``[(sec, target_lots[, symbol]), ...]`` -> a signals frame."""
    return pl.DataFrame({
        "ts": pl.Series([at(r[0]) for r in rows], dtype=pl.Int64),
        "symbol": [r[2] if len(r) > 2 else "EURUSD" for r in rows],
        "target": pl.Series([float(r[1]) for r in rows], dtype=pl.Float64),
    }).with_columns(pl.col("ts").cast(UTC))


def run(data: pl.DataFrame, orders: pl.DataFrame | None = None, signals: pl.DataFrame | None = None,
        **sections: dict[str, Any]) -> bt.Result:
    """``backtestr.run`` with the config given as sections: ``run(..., execution={"model": ...})``.

    The cases are written with orders before the first tick acting on it, so the data is
    given a lead tick (see ``lead``)."""
    return bt.run(data=lead(data, orders, signals), orders=orders, signals=signals, config=dict(sections))


def lead(data: pl.DataFrame, *inputs: pl.DataFrame | None) -> pl.DataFrame:
    """``data`` with a copy of its first tick at the first order's ``ts`` when an order comes
    before the data: market, target and close orders acting before the first tick are
    rejected (docs/execution.md §2), and the orders of these cases then act on the ticks
    they were written for. The lead tick has no position to mark and no order acts on it."""
    first = min((df.get_column("ts").min() for df in inputs if df is not None and df.height), default=None)
    if first is None or data.height == 0 or first >= data.get_column("ts").min():
        return data
    return pl.concat([data.head(1).with_columns(pl.lit(first).cast(data.schema["ts"]).alias("ts")), data])


FILL_COLS = ("order_id", "position_id", "side", "effect", "reason", "qty_steps", "price_ticks")


def fills(res: bt.Result, cols: tuple[str, ...] = FILL_COLS) -> list[tuple]:
    """The fills in fill-id order as tuples of ``cols``."""
    f = res.fills.sort("fill_id")
    return [tuple(r) for r in f.select(cols).iter_rows()]


def fill_secs(res: bt.Result) -> list[float]:
    """The fills' times in seconds after MON, in fill-id order."""
    f = res.fills.sort("fill_id")
    ns = f.get_column("ts").dt.replace_time_zone(None).cast(pl.Int64).to_list()
    return [(t - MON) / 1e9 for t in ns]


def order(res: bt.Result, oid: int) -> dict[str, Any]:
    rows = res.orders.filter(pl.col("order_id") == oid).to_dicts()
    assert len(rows) == 1, f"order {oid}: {len(rows)} rows"
    return rows[0]


def status(res: bt.Result, oid: int) -> tuple[str, str]:
    """``(status_name, reason_name)`` of order ``oid``."""
    o = order(res, oid)
    return o["status"], o["reason"]


def position(res: bt.Result, pid: int) -> dict[str, Any]:
    rows = res.positions.filter(pl.col("position_id") == pid).to_dicts()
    assert len(rows) == 1, f"position {pid}: {len(rows)} rows"
    return rows[0]


def position_ids(res: bt.Result) -> list[int]:
    return sorted(res.positions.get_column("position_id").to_list())


def splitmix64(x: int) -> int:
    """docs/execution.md §5, written from the rule text (all arithmetic mod 2^64)."""
    m = (1 << 64) - 1
    z = (x + 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def draw(seed: int, n: int, s: int) -> int:
    """The random slippage of fill number ``n``: ``splitmix64(seed + n x 0x9E37...) mod (s + 1)``."""
    return splitmix64((seed + n * 0x9E3779B97F4A7C15) & ((1 << 64) - 1)) % (s + 1)


def _named(row: dict[str, Any], key: str) -> Any:
    """An enum column's name: ``<key>_name`` when the log has it, else ``key`` itself."""
    v = row.get(f"{key}_name", row.get(key))
    return v if v is None or isinstance(v, str) else str(v)


def events(res: bt.Result, *kinds: str) -> list[dict[str, Any]]:
    """The lifecycle log (docs/risk.md §5) in log order, optionally only the events named ``kinds``.

    Each row: ``sec`` (seconds after MON), ``event``, ``reason``, ``severity`` (names),
    ``position_id``, ``order_id``, ``parent_id``, ``qty_steps``, ``price_ticks``, ``before``, ``after``.
    """
    out = []
    for r in res.events.to_dicts():
        ts = r["ts"]
        ns = ts if isinstance(ts, int) else round(ts.timestamp() * 1e6) * 1000
        e = {"sec": (ns - MON) / 1e9, "event": _named(r, "event"), "reason": _named(r, "reason"),
             "severity": _named(r, "severity")}
        for k in ("position_id", "order_id", "parent_id", "qty_steps", "price_ticks", "before", "after"):
            e[k] = r.get(k)
        if not kinds or e["event"] in kinds:
            out.append(e)
    return out
