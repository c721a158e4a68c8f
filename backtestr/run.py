"""The driver: archive -> prefetching stream -> kernel -> logs -> results."""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from . import __version__
from .accounts import FINAL, Account, AccountSetup, OrdersLog, _drive, _flush, select_symbols, settle_account  # noqa: F401
from .analytics import summary_stats
from .config import Config, load_config, minor_digits
from .errors import ConfigError
from .framesrc import lazy_sources
from .kernels.records import (
    PARAMS,
    AccountMode,
    LogLevel,
)
from .outputs import stage
from .reader import Source, TickStream, data_span, frame_sources, plan_sources
from .warmup import CompileWatch
from .writer import write_json

LEVELS = {"off": LogLevel.OFF, "trades": LogLevel.TRADES, "events": LogLevel.EVENTS, "ticks": LogLevel.TICKS}


class Result:
    """Outputs of a run as Polars frames (empty frames at log level off).

    After a run with ``out``, the frames are read from the written Parquet
    files the first time they are asked for, so a long run's logs are never
    all in memory unless you ask for them.
    """

    KINDS = ("orders", "fills", "positions", "equity", "events")

    def __init__(self, summary: dict[str, Any], frames: dict[str, pl.DataFrame] | None = None,
                 out: Path | None = None) -> None:
        self.summary = summary
        self.out = out
        self.strategy_state = None  # a strategy's state record at the end of the run
        self.strategy_orders: pl.DataFrame | None = None  # its orders as submitted, as an orders table
        self._frames = dict(frames or {})

    def _get(self, kind: str) -> pl.DataFrame:
        if kind not in self._frames:
            path = self.out / f"{kind}.parquet" if self.out is not None else None
            self._frames[kind] = pl.read_parquet(path) if path is not None and path.exists() else pl.DataFrame()
        return self._frames[kind]

    @property
    def orders(self) -> pl.DataFrame:
        return self._get("orders")

    @property
    def fills(self) -> pl.DataFrame:
        return self._get("fills")

    @property
    def positions(self) -> pl.DataFrame:
        return self._get("positions")

    @property
    def equity(self) -> pl.DataFrame:
        return self._get("equity")

    @property
    def events(self) -> pl.DataFrame:
        """The lifecycle log (log level events and ticks; docs/risk.md §5)."""
        return self._get("events")

    def stats(self, **settings: Any) -> Any:
        """The run's statistics (``backtestr.analytics.Stats``; settings: docs/analytics.md §1)."""
        from .analytics import stats

        return stats(self, **settings)

    def plot(self, data: Any = None, **kw: Any) -> Any:
        """The run's charts (``Plots``, shown in a notebook); ``data``: the ticks, for price bars."""
        from .analytics import plot

        return plot(self, data=data, **kw)

    def __repr__(self) -> str:
        s = self.summary
        return (f"Result(ticks={s.get('ticks')}, fills={s.get('fills')}, final_equity={s.get('final_equity')}, "
                f"out={self.out})")


def pipelined(stream: Iterable[Any]) -> Iterator[Any]:
    """Produce ``stream`` in a thread one item ahead of the consumer.

    The queue holds one item, so the producer is never more than two items
    ahead of the one being consumed (TickStream's ring of three buffers).
    """
    q: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        """Hand ``item`` over; False when the consumer stopped (it may never take it)."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in stream:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(exc)

    th = threading.Thread(target=work, name="backtestr-merge", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        th.join()


def _sources(data: Any, cfg: Config) -> list[Source]:
    unit = cfg["data.ts_unit"]
    if isinstance(data, pl.LazyFrame):
        return lazy_sources(data, unit)
    if isinstance(data, pl.DataFrame):
        df = data
        if "ts" in df.columns and isinstance(df.schema["ts"], pl.Datetime):
            tz = df.schema["ts"].time_zone
            ts = pl.col("ts").dt.convert_time_zone("UTC") if tz else pl.col("ts").dt.replace_time_zone("UTC")
            df = df.with_columns(ts.cast(pl.Datetime("ns", "UTC")))
        return frame_sources(df.to_arrow(compat_level=pl.CompatLevel.newest()), unit)  # no copy of strings
    if isinstance(data, pa.Table):
        return frame_sources(data, unit)
    return plan_sources(data, cfg["data.start"], cfg["data.end"], unit)


def with_ts_unit(cfg: Config, unit: str) -> Config:
    """``cfg`` with ``data.ts_unit`` set (the ``ts_unit`` argument of ``run``)."""
    import dataclasses

    from .config import SCHEMA

    try:
        unit = SCHEMA["data"]["ts_unit"][0](unit)
    except ValueError as exc:
        raise ConfigError(f"ts_unit: {exc}") from None
    values = {**cfg.values, "data": {**cfg.values["data"], "ts_unit": unit}}
    return dataclasses.replace(cfg, values=values)


_select_symbols = select_symbols  # the name other modules import


def _params(cfg: Config) -> np.ndarray:
    from fractions import Fraction

    from .kernels.records import ExecutionModel, Slippage

    p = np.zeros(1, PARAMS)
    p["account_mode"] = AccountMode[cfg["run.account_mode"].upper()]
    p["exec_model"] = {"perfect": ExecutionModel.PERFECT, "realistic": ExecutionModel.REALISTIC,
                       "worst_case": ExecutionModel.WORST}[cfg["execution.model"]]
    p["slip_kind"] = Slippage[cfg["execution.slippage"].upper()]
    p["slip_ticks"] = cfg["execution.slippage_ticks"]
    spread = Fraction(cfg["execution.slippage_spread"])  # exact; config checked it fits int64
    p["slip_num"], p["slip_den"] = spread.numerator, spread.denominator
    p["slip_random"] = int(cfg["execution.random_slippage"])
    p["seed"] = cfg["execution.seed"]
    p["log_level"] = LEVELS[cfg["run.log_level"]]
    p["close_at_end"] = int(cfg["run.close_at_end"])
    digits = minor_digits(cfg)
    cash = cfg["account.initial_cash"] * (10**digits)
    if cash != cash.to_integral_value():
        raise ConfigError(f"account.initial_cash {cfg['account.initial_cash']} has more than {digits} decimals")
    p["initial_cash_minor"] = int(cash)
    p["equity_interval_ns"] = cfg["run.equity_interval"]
    p["latency_ns"] = cfg["run.latency"]
    from .risk import risk_params

    for k, v in risk_params(cfg.risk, digits).items():
        p[k] = v
    return p


def _days(cfg: Config, sources: list[Source]) -> np.ndarray | None:
    """Trading-day boundaries for the daily loss limit (None when it is off).

    They cover the ticks' time span, known from the Parquet statistics or the
    in-memory frames, within ``data.start``/``data.end``; from 1970 to 2100 when
    neither tells.
    """
    risk = cfg.risk
    if risk.values["daily_loss_limit"] is None and risk.values["daily_loss_limit_pct"] is None:
        return None
    from .risk import day_starts

    lo, hi = data_span(sources)
    start, end = cfg["data.start"], cfg["data.end"]
    start = max(x for x in (start, lo, 0) if x is not None)  # 1970 at the earliest
    end = min(x for x in (end, hi, 4_102_444_800 * 10**9) if x is not None)  # 2100 at the latest
    return day_starts(risk.values["timezone"], risk.values["day_start"], start, end)


def run(
    data: str | Path | pl.DataFrame | pl.LazyFrame | pa.Table,
    orders: str | Path | pl.DataFrame | None = None,
    signals: str | Path | pl.DataFrame | None = None,
    config: str | Path | Mapping[str, Any] | Config | None = None,
    overrides: Mapping[str, Any] | list[str] | None = None,
    instruments: list[str | Path] = (),
    out: str | Path | None = None,
    force: bool = False,
    progress: bool = False,
    risk: Mapping[str, Any] | None = None,
    risk_file: str | Path | None = None,
    ts_unit: str | None = None,
    strategy: type | None = None,
    params: Mapping[str, Any] | None = None,
    fills: str | Path | pl.DataFrame | None = None,
) -> Result:
    """Run a backtest. With ``out`` the logs are written there atomically.

    ``data``: a Parquet file, folder or glob, or a frame with ts, symbol, bid, ask (a
    ``pl.LazyFrame`` such as ``pl.scan_parquet(...)`` is streamed in batches).
    ``orders``/``signals``: Parquet/CSV paths or frames (docs/execution.md §9).
    ``config``: a TOML/JSON path, a dict shaped like the file, or a ``Config``.
    ``overrides``: ``["section.key=value"]`` or ``{"section.key": value}``.
    ``risk``/``risk_file``: risk limits (docs/risk.md §4): explicit values, and a
    TOML/JSON/YAML file; with a ready ``Config`` they must be left out.
    ``ts_unit``: the unit (s, ms, us, ns) of integer ``ts`` columns of the ticks, orders
    and signals (config ``data.ts_unit``); integer time stamps are refused without one.
    ``strategy``/``params``: a compiled strategy class and its parameters
    (docs/strategies.md); it takes the place of ``orders`` and ``signals``.
    ``fills``: an account's executions to replay against the ticks (Parquet/CSV path or
    frame; docs/fills.md); it takes the place of ``orders``, ``signals`` and ``strategy``.
    """
    t0 = time.perf_counter()
    if isinstance(config, Config):
        if risk is not None or risk_file is not None:
            raise ConfigError("risk limits go into load_config() when a ready Config is passed to run()")
        cfg = config
    elif isinstance(config, Mapping):
        cfg = load_config(data=config, overrides=overrides, risk_file=risk_file, risk=risk)
    else:
        cfg = load_config(config, overrides, risk_file=risk_file, risk=risk)
    if ts_unit is not None:
        cfg = with_ts_unit(cfg, ts_unit)
    where = "tick frame" if isinstance(data, pl.DataFrame | pl.LazyFrame | pa.Table) else str(data)
    # compile time is reported apart (compile_s) and kept out of ticks_per_s: a strategy's own
    # compile while settling (no notice: seconds), the kernels' once per environment (a notice)
    watch = CompileWatch(notice=False)
    with watch:
        setup = settle_account(cfg, _sources(data, cfg), where, list(instruments), orders, signals, strategy,
                               params, fills=fills)
    watch.notice = True
    out_path = Path(out) if out is not None else None
    staged = stage(out_path, "run", "run", replace=force) if out_path is not None else None
    staging = staged.path if staged is not None else None
    try:
        with watch:
            result = _execute(setup, staging, progress, t0, watch)
        if staged is not None and staging is not None:
            summary_stats(result.summary, staging)  # headline statistics (docs/analytics.md)
            write_json(staging / "summary.json", result.summary)
            result.out = staged.commit()
        return result
    except BaseException:
        if staged is not None:
            staged.discard()
        raise


def open_stream(setup: AccountSetup) -> TickStream:
    """The chunks of the setup's sources, read for its symbols and settings (a sweep's pass
    reads its sets' data through this too)."""
    cfg, insts = setup.cfg, setup.insts
    inv_tick = np.array([1.0 / float(i.tick_size) for i in insts])
    # quote sizes are read only for the size slippage model
    inv_step = np.array([1.0 / float(i.lot_step) for i in insts]) if cfg["execution.slippage"] == "size" else None
    return TickStream(setup.sources, setup.symbols, inv_tick, cfg["data.start"], cfg["data.end"],
                      cfg["run.chunk_rows"], cfg["run.on_bad_rows"] == "skip", inv_step,
                      rates=bool((setup.inst["fund_column"] == 1).any()))


def _execute(setup: AccountSetup, staging: Path | None, progress: bool, t0: float, watch: CompileWatch) -> Result:
    """One account (backtestr/accounts.py) over the stream of the setup's sources."""
    cfg = setup.cfg
    stream = open_stream(setup)
    acct = Account(setup, _days(cfg, setup.sources), staging)
    try:
        bar = _progress_bar(progress)
        for chunk in pipelined(stream):
            acct.step(chunk, watch)
            if bar is not None:
                bar.update(chunk.ts.shape[0])
        if bar is not None:
            bar.close()
        return acct.finish(stream.stats, t0, __version__, compile_s=watch.seconds)
    finally:
        acct.abort()  # a no-op after finish(); on an error, waits for the writer thread


def _progress_bar(enabled: bool) -> Any:
    """A tqdm bar: a widget in a Jupyter notebook, text on a terminal; none elsewhere."""
    if not enabled:
        return None
    if in_notebook():
        from tqdm.auto import tqdm as auto_tqdm

        return auto_tqdm(unit=" ticks", unit_scale=True, desc="backtest")
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit=" ticks", unit_scale=True, desc="backtest", file=sys.stderr)


def in_notebook() -> bool:
    """True inside a Jupyter (IPython kernel) session."""
    ipy = sys.modules.get("IPython")
    shell = ipy.get_ipython() if ipy is not None and hasattr(ipy, "get_ipython") else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})
