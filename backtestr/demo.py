"""The sample job behind ``make demo``: sample archive, a strategy example, a run.

The demo runs the compiled multi-timeframe breakout of
``backtestr/examples/breakout.py`` (``DEMO_PARAMS``; docs/strategies.md §7):
daily trend filter, 15-minute channel breaks, ATR stop-loss, time exit, tagged
orders. It reads only closed bars, so it acts only on ticks after what it saw.

``momentum_signals`` is the earlier sample job's vectorised rule (a signals
table from 15-minute bars), kept for the statistics' tests and notebooks.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .errors import DataError, term
from .outputs import check_target
from .run import Result, run

SYMBOLS = ["EURUSD", "GBPUSD", "BTCUSD"]
LOTS = {"EURUSD": 1.0, "GBPUSD": 1.0, "BTCUSD": 0.5}
# the breakout on the 10-day sample: a 3-day trend, 16-bar channel (4 hours), 2 ATR stop, out
# after 6 hours; 100 lot steps (1 lot of an FX pair, 0.01 BTC)
DEMO_PARAMS = {"n": 16, "days": 3, "atr_n": 14, "atr_mult": 2.0, "hold_hours": 6, "qty": 100}


def momentum_signals(archive: str | Path, every: str = "15m", fast: int = 4, slow: int = 16) -> pl.DataFrame:
    """Target +lots when the fast mean of bar closes is above the slow mean, else -lots
    (``LOTS`` per symbol, 1 lot for any other symbol)."""
    ticks = pl.scan_parquet(Path(archive) / "**" / "*.parquet", hive_partitioning=True)
    bars = (
        ticks.select("symbol", "ts", ((pl.col("bid") + pl.col("ask")) / 2).alias("mid"))
        .sort("symbol", "ts")
        .group_by_dynamic("ts", every=every, group_by="symbol", label="right", closed="left")
        .agg(pl.col("mid").last().alias("close"))
        .sort("symbol", "ts")
    )
    sig = (
        bars.with_columns(
            pl.col("close").rolling_mean(fast).over("symbol").alias("fast"),
            pl.col("close").rolling_mean(slow).over("symbol").alias("slow"),
        )
        .drop_nulls()
        .with_columns(
            pl.when(pl.col("fast") > pl.col("slow")).then(1.0).otherwise(-1.0).alias("dir"),
            pl.col("symbol").cast(pl.String).replace_strict(LOTS, default=1.0, return_dtype=pl.Float64)
            .alias("lots"),
        )
        .select("ts", pl.col("symbol").cast(pl.String), (pl.col("dir") * pl.col("lots")).alias("target"))
    )
    return sig.collect()


def run_demo(data: Path, out: Path, days: int = 10) -> Result:
    """Make the sample archive ``data`` if it is missing, then run the breakout example on it into
    ``out``, replacing ``out`` only when it holds an earlier run's outputs (docs/safety.md)."""
    data, out = Path(data), Path(out)
    if not data.exists():
        from .synth import write_archive

        if days < 1:  # refused before anything is printed or written
            raise DataError(f"{term('days')} must be at least 1, got {days}")
        print(f"writing the sample archive to {data} ...")
        write_archive(data, SYMBOLS, days, seed=7)
    elif not data.is_dir() or not any(data.rglob("*.parquet")):
        raise DataError(f"{data} holds no Parquet tick files; give {term('data')} a tick archive "
                        "(or a path that does not exist yet, to have the sample archive made there)")
    check_target(out, "run", "demo", replace=True)  # before the strategy is compiled
    from .examples.breakout import Breakout

    config = Path(__file__).with_name("demo.toml")
    return run(data, strategy=Breakout, params=DEMO_PARAMS, config=config, out=out, force=True, progress=True)
