"""Slippage of the fills against the mid of the ticks (docs/analytics.md §5).

Each fill is joined (``join_asof`` on ``ts`` by symbol, backward) to the last
quote of its symbol at or before it; its cost is ``side × (price − mid) × qty ×
contract_size`` in the quote currency, converted to the account currency by the
fixed rate the run used. Only the fills' symbols and time span are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from .bars import scan_ticks
from .source import AnalyticsError

NO_DATA_NOTE = ("not measured: the fills log does not record the quote a fill was made against, so slippage "
                "against the mid cannot be told from the logs (it is inside the realized P&L)")
KEYS = ("slippage", "spread_cost", "slippage_beyond_spread")


@dataclass(frozen=True)
class Spec:
    """What converts a fill's price difference into account money: contract size × rate."""

    contract_size: float
    rate: float | None  # quote → account; None: converted at the live rate (not known from the logs)


def specs(symbols: list[str], account: str) -> dict[str, Spec]:
    """The built-in registry's contract size and fixed rate of ``symbols`` (absent: not in it).

    The rate is the run's (instruments.py ``kernel_table``): ``quote_to_account`` when
    set, else 1 when the symbol is quoted in the account currency, else live."""
    from ..config import load_config
    from ..instruments import load_registry

    reg = load_registry(load_config())
    out = {}
    for sym in symbols:
        ins = reg.get(sym)
        if ins is None:
            continue
        if ins.quote_to_account is not None:
            rate: float | None = float(ins.quote_to_account)
        else:
            rate = 1.0 if ins.quote == account else None
        out[sym] = Spec(float(ins.contract_size), rate)
    return out


def _epoch(lf: pl.LazyFrame) -> pl.Expr:
    dt = lf.collect_schema()["ts"]
    return pl.col("ts").cast(pl.Int64) if dt.is_integer() else pl.col("ts").dt.epoch("ns")


def _quotes(data: str | Path | pl.DataFrame, symbols: list[str], lo: int | None, hi: int) -> pl.DataFrame:
    lf = scan_ticks(data)
    cond = pl.col("symbol").cast(pl.String).is_in(symbols) & (pl.col("ts_ns") <= hi)
    if lo is not None:
        cond = cond & (pl.col("ts_ns") >= lo)
    return (lf.with_columns(_epoch(lf).alias("ts_ns"))
            .filter(cond)
            .select(pl.col("symbol").cast(pl.String), "ts_ns", pl.col("bid").cast(pl.Float64),
                    pl.col("ask").cast(pl.Float64))
            .filter(pl.col("bid").is_finite() & pl.col("ask").is_finite() & (pl.col("bid") > 0)
                    & (pl.col("ask") >= pl.col("bid")))  # a row a run skips as bad is no quote
            .collect()
            .sort("symbol", "ts_ns", maintain_order=True))


def fill_costs(fills: pl.LazyFrame, data: str | Path | pl.DataFrame) -> pl.DataFrame:
    """Each fill with the mid and half spread of its quote, and its costs in the quote currency per
    contract unit: ``slip_q = side × (price − mid) × qty``, ``half_q = (ask − bid) / 2 × qty``."""
    f = (fills.select(pl.col("ts").dt.epoch("ns").alias("ts_ns"), pl.col("symbol").cast(pl.String),
                      pl.col("side_code").cast(pl.Float64).alias("sign"), "price", "qty")
         .collect()
         .sort("symbol", "ts_ns", maintain_order=True))
    if f.height == 0:
        return f.with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("mid", "half", "slip_q", "half_q"))
    symbols = f["symbol"].unique().to_list()
    lo, hi = int(f["ts_ns"].min()), int(f["ts_ns"].max())
    q = _quotes(data, symbols, lo, hi)
    j = f.join_asof(q, on="ts_ns", by="symbol", strategy="backward", check_sortedness=False)
    if j["bid"].null_count():  # a fill without a quote of its own at its time: look further back
        q = _quotes(data, symbols, None, hi)
        j = f.join_asof(q, on="ts_ns", by="symbol", strategy="backward", check_sortedness=False)
    return j.with_columns(((pl.col("bid") + pl.col("ask")) / 2).alias("mid"),
                          ((pl.col("ask") - pl.col("bid")) / 2).alias("half")).with_columns(
        (pl.col("sign") * (pl.col("price") - pl.col("mid")) * pl.col("qty")).alias("slip_q"),
        (pl.col("half") * pl.col("qty")).alias("half_q"))


def measure(fills: pl.LazyFrame | None, data: Any, account: str, v: dict, notes: dict) -> None:
    """Put ``slippage``, ``spread_cost`` and ``slippage_beyond_spread`` (account currency) into ``v``."""
    if data is not None and not isinstance(data, str | Path | pl.DataFrame):
        raise AnalyticsError(f"data: expected a tick archive's path or a Polars DataFrame of ticks, got "
                             f"{type(data).__name__}")
    if data is None or fills is None:
        v["slippage"] = None
        notes["slippage"] = NO_DATA_NOTE if data is None else "the run wrote no fills log (log level off)"
        return
    j = fill_costs(fills, data)
    sp = specs(sorted(set(j["symbol"].to_list())), account)
    unknown = sorted({s for s in j["symbol"].to_list() if s not in sp})
    live = sorted(s for s, x in sp.items() if x.rate is None)
    unquoted = sorted(set(j.filter(pl.col("mid").is_null())["symbol"].to_list()))
    skip = set(unknown) | set(live) | set(unquoted)
    factor = pl.col("symbol").replace_strict({s: x.contract_size * x.rate for s, x in sp.items()
                                              if x.rate is not None}, default=None, return_dtype=pl.Float64)
    ok = j.filter(~pl.col("symbol").is_in(list(skip))).with_columns(factor.alias("k"))
    tot = ok.select((pl.col("slip_q") * pl.col("k")).sum().alias("s"),
                    (pl.col("half_q") * pl.col("k")).sum().alias("h"))
    why = []
    if live:
        why.append(f"{', '.join(live)} converted at the live rate, which the fills log does not record")
    if unknown:
        why.append(f"{', '.join(unknown)} not in the built-in instrument registry (contract size unknown)")
    if unquoted:
        why.append(f"{', '.join(unquoted)} without a quote at or before a fill in the data")
    if skip and ok.height == 0:
        for k in KEYS:
            v[k] = None
            notes[k] = "not measured: " + "; ".join(why)
        return
    s, h = float(tot["s"][0]), float(tot["h"][0])
    # float sums: round off below a millionth of the account's unit (a 1e-11 remainder is noise)
    v["slippage"], v["spread_cost"], v["slippage_beyond_spread"] = round(s, 6), round(h, 6), round(s - h, 6)
    notes["slippage"] = "against the mid of the last quote at or before each fill; includes the half spread"
    if why:
        notes["slippage"] += f"; leaves out {'; '.join(why)}"
        notes["spread_cost"] = notes["slippage_beyond_spread"] = f"leaves out {'; '.join(why)}"
