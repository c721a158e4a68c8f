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
from .analytics import summary_stats
from .config import Config, load_config, minor_digits
from .errors import BacktestrError, ConfigError, DataError, term
from .framesrc import lazy_sources
from .fx_paths import with_rate_symbols
from .instruments import kernel_table, load_registry
from .kernels import engine
from .kernels.alloc import grow_orders, grow_positions, grow_stacks, new_book, new_logs
from .kernels.records import (
    PARAMS,
    AccountMode,
    LogLevel,
    OrderStatus,
    Reason,
    Status,
)
from .orders import load_orders, reject_before_data
from .outputs import stage
from .reader import Source, TickStream, data_span, frame_sources, plan_sources
from .summary import build_summary
from .warmup import CompileWatch
from .writer import Decoder, LogSink, write_json

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


def _select_symbols(sources: list[Source], cfg: Config, where: str) -> tuple[list[str], list[Source]]:
    have = sorted({s for src in sources for s in src.symbols})
    want = cfg["data.symbols"]
    if want:
        missing = [s for s in want if s not in have]
        if missing:
            raise DataError(f"{where}: no ticks for symbol(s) {', '.join(missing)} (archive has: {', '.join(have)})")
        have = sorted(set(want))
    keep = [src for src in sources if any(s in have for s in src.symbols)]
    if not keep:
        raise DataError(f"{where}: no ticks to run on")
    return have, keep


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


def _drive(step: Any, book: Any, logs: Any, sink: LogSink, srun: Any = None) -> tuple[Any, Any]:
    """Call a re-entrant kernel step until DONE, making room when asked."""
    while True:
        st = step(book, logs)
        if st == Status.DONE:
            return book, logs
        if st == Status.BUFFER_FULL:
            logs = _flush(book, logs, sink)
            need = int(book.acct[0]["event_need"])
            if need > logs.events.shape[0]:  # one step writes more events than the buffer holds
                logs = logs._replace(events=np.zeros(2 * need, logs.events.dtype))
        elif st == Status.POSITIONS_FULL:
            book = grow_positions(book)
        elif st == Status.STACK_FULL:
            book = grow_stacks(book)
        elif st == Status.ORDERS_FULL:  # a strategy's actions: room in the orders table
            book = grow_orders(book, srun.room)
            srun.fit(book)
        elif st == Status.STRATEGY_ERROR:
            raise srun.error()
        else:  # pragma: no cover - a kernel bug
            raise BacktestrError(f"internal error: kernel status {st}")


_BUFFERS = (("fills", "fills", "n_fill_rows"), ("positions", "closed", "n_closed_rows"),
            ("equity", "equity", "n_equity_rows"), ("events", "events", "n_event_rows"))


def _flush(book: Any, logs: Any, sink: LogSink, least: int = 1, refill: bool = True) -> Any:
    """Hand every log buffer holding at least ``least`` rows to the sink.

    A handed buffer belongs to the sink; with ``refill`` the kernel gets a
    zeroed one (one the writer is done with, else new), so no rows are copied.
    """
    a = book.acct[0]
    fresh = {}
    for kind, field, key in _BUFFERS:
        n = int(a[key])
        if n >= max(least, 1):
            buf = getattr(logs, field)
            sink.add(kind, buf[:n], recycle=refill)
            if refill:
                fresh[field] = sink.buffer(kind, buf)
            a[key] = 0
    return logs._replace(**fresh) if fresh else logs


FINAL = np.zeros(max(OrderStatus) + 1, bool)  # by status code: an order in this status is never written again
FINAL[[OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.NO_ACTION,
       OrderStatus.APPLIED]] = True


class OrdersLog:
    """Writes the orders log while the run goes on, not all at its end.

    The records are in act_ts order and the log is sorted by order id. When
    the ids ascend in act_ts order (orders numbered in time, the usual case),
    the longest prefix of orders whose status is final is handed to the sink
    after each chunk: a final order's record is never written again. A
    working order holds back the orders after it until it ends. Otherwise
    (ids out of time order) the whole log is written at the end, sorted.
    """

    def __init__(self, recs: np.ndarray, tags: Mapping[int, str], sink: LogSink, tags_of: Any = None) -> None:
        self.tags, self.sink = tags, sink
        self.tags_of = tags_of  # a strategy's: rows -> their tags (codes in the records)
        self.streaming = bool(np.all(np.diff(recs["order_id"]) > 0))
        self.done = 0  # rows before this are handed over
        self.final = 0  # rows before this are known final

    def flush(self, recs: np.ndarray, least: int) -> None:
        """Hand over the final prefix if it has at least ``least`` new rows."""
        if not self.streaming:
            return
        st, n, step = recs["status"], recs.shape[0], 256
        if self.final >= n or not FINAL[st[self.final]]:  # the usual case: held back where it was
            return
        while self.final < n:  # windows that double: the cost follows the rows that became final
            window = FINAL[st[self.final:self.final + step]]
            if not window.all():
                self.final += int(np.argmin(window))
                break
            self.final += window.shape[0]
            step *= 2
        if self.final - self.done >= max(least, 1):
            rows = recs[self.done:self.final].copy()
            self.sink.add("orders", rows, self.tags if self.tags_of is None else self.tags_of(rows))
            self.done = self.final

    def close(self, recs: np.ndarray) -> None:
        """Hand over every row not yet written (statuses settled for the end of the run)."""
        rest = recs[self.done:] if self.streaming else recs[np.argsort(recs["order_id"], kind="stable")]
        self.sink.add("orders", rest, self.tags if self.tags_of is None else self.tags_of(rest))
        self.done = recs.shape[0]


def _open_positions(book: Any, inst: np.ndarray) -> np.ndarray:
    engine.report_open(book, inst)
    pos = book.pos[book.pos["is_open"] == 1].copy()
    pos.sort(order="position_id")
    return pos


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
    reg = load_registry(cfg, list(instruments))
    where = "tick frame" if isinstance(data, pl.DataFrame | pl.LazyFrame | pa.Table) else str(data)
    all_sources = _sources(data, cfg)
    symbols, sources = _select_symbols(all_sources, cfg, where)
    unknown = [s for s in symbols if s not in reg]
    if unknown:
        raise ConfigError(f"unknown symbol(s) {', '.join(unknown)}: add them to the instrument registry "
                          f"({term('instruments')} or [instruments.NAME] in the config)")
    symbols, sources, paths = with_rate_symbols(symbols, sources, all_sources, reg, cfg["account.currency"])
    insts = [reg[s] for s in symbols]
    inst = kernel_table(symbols, reg, cfg, paths)
    from .strategies.driver import StrategyRun, prepare

    if strategy is not None:
        if orders is not None or signals is not None:
            raise ConfigError("strategy= takes the place of orders= and signals=: give one or the other")
        srun = prepare(strategy, params, symbols, insts, data_span(sources), "strategy")
    elif params is not None:
        raise ConfigError("params= are a strategy's parameters: give strategy= too")
    else:
        srun = StrategyRun.none(len(symbols))
    kparams = _params(cfg)
    if fills is not None:  # a replay (docs/fills.md)
        from .fills import load_fills, replay_params

        if orders is not None or signals is not None or strategy is not None:
            raise ConfigError(f"{term('fills')} replays an account's executions: give it alone, without "
                              f"{term('orders')}, {term('signals')} or {term('strategy')}")
        ob = load_fills(fills, symbols, insts, minor_digits=minor_digits(cfg),
                        account_mode=int(kparams[0]["account_mode"]), ts_unit=cfg["data.ts_unit"])
        replay_params(kparams)
    else:
        ob = load_orders(orders, signals, symbols, insts, cfg["run.latency"], minor_digits=minor_digits(cfg),
                         ts_unit=cfg["data.ts_unit"], qty_rounding=cfg["run.qty_rounding"])
    out_path = Path(out) if out is not None else None
    staged = stage(out_path, "run", "run", replace=force) if out_path is not None else None
    staging = staged.path if staged is not None else None
    try:
        with CompileWatch() as watch:  # says so when the kernels compile (once); timed apart
            result = _execute(cfg, symbols, sources, insts, inst, kparams, ob, staging, progress, t0, srun, watch)
        if staged is not None and staging is not None:
            summary_stats(result.summary, staging)  # headline statistics (docs/analytics.md)
            write_json(staging / "summary.json", result.summary)
            result.out = staged.commit()
        return result
    except BaseException:
        if staged is not None:
            staged.discard()
        raise


def _execute(cfg: Config, symbols: list[str], sources: list[Source], insts: list, inst: np.ndarray,
             params: np.ndarray, ob: Any, staging: Path | None, progress: bool, t0: float, srun: Any,
             watch: CompileWatch) -> Result:
    digits = minor_digits(cfg)
    inv_tick = np.array([1.0 / float(i.tick_size) for i in insts])
    # quote sizes are read only for the size slippage model
    inv_step = np.array([1.0 / float(i.lot_step) for i in insts]) if cfg["execution.slippage"] == "size" else None
    stream = TickStream(sources, symbols, inv_tick, cfg["data.start"], cfg["data.end"],
                        cfg["run.chunk_rows"], cfg["run.on_bad_rows"] == "skip", inv_step,
                        rates=bool((inst["fund_column"] == 1).any()))
    level = int(params[0]["log_level"])
    book = new_book(len(symbols), ob.records, params, days=_days(cfg, sources),
                    order_room=srun.room if srun.active else 0)
    srun.fit(book)
    rows = cfg["run.buffer_rows"] if level >= LogLevel.TRADES else 16
    logs = new_logs(rows, rows if level >= LogLevel.EVENTS else 16)
    decoder = Decoder(symbols, np.array([float(i.tick_size) for i in insts]),
                      np.array([float(i.lot_step) for i in insts]), digits, ob.carried)
    sink = LogSink(decoder, staging)
    try:
        return _loop(cfg, symbols, sources, inst, params, ob, stream, book, logs, sink, level, digits, progress,
                     t0, srun, watch)
    finally:
        sink.abort()  # a no-op after close(); on an error, waits for the writer thread


def _loop(cfg: Config, symbols: list[str], sources: list[Source], inst: np.ndarray, params: np.ndarray,
          ob: Any, stream: TickStream, book: Any, logs: Any, sink: LogSink, level: int, digits: int, progress: bool,
          t0: float, srun: Any, watch: CompileWatch) -> Result:
    bar = _progress_bar(progress)
    first_ts = None
    t_kernel = 0.0
    flush_rows = max(logs.fills.shape[0] // 8, 1)
    orders_log = OrdersLog(book.orders[:int(book.acct[0]["n_orders"])], ob.tags, sink,
                           srun.tags if srun.active else None) if level >= LogLevel.TRADES else None
    for chunk in pipelined(stream):
        if first_ts is None:
            first_ts = int(chunk.ts[0])
            reject_before_data(book.orders[:int(book.acct[0]["n_orders"])], first_ts)
            if hasattr(ob, "check_start"):  # a replay: no fill before the data (docs/fills.md)
                ob.check_start(book.orders[:int(book.acct[0]["n_orders"])], first_ts, symbols)
            if srun.active:  # on_start, its actions stamped at the first tick
                book, logs = _drive(lambda b, lg, t=first_ts: engine.strategy_event(b, params, srun.strat, srun.hook, 0, t),
                                    book, logs, sink, srun)
        book.acct[0]["resume"] = 0
        tk, ck = time.perf_counter(), watch.here()
        book, logs = _drive(
            lambda b, lg, c=chunk: engine.run_chunk(c, int(b.acct[0]["resume"]), b, lg, inst, params, srun.strat,
                                                    srun.hook),
            book, logs, sink, srun)
        t_kernel += time.perf_counter() - tk - (watch.here() - ck)  # compiling is not kernel time
        logs = _flush(book, logs, sink, flush_rows)  # written while the next chunks run
        if orders_log is not None:
            orders_log.flush(book.orders[:int(book.acct[0]["n_orders"])], flush_rows)
        if bar is not None:
            bar.update(chunk.ts.shape[0])
    if bar is not None:
        bar.close()
    if first_ts is None:
        raise DataError(f"no ticks to run on in {', '.join(s.name for s in sources)} "
                        "(empty files, or everything filtered out by symbol or time)")
    a = book.acct[0]
    if hasattr(ob, "check_end"):  # a replay: every fill booked (docs/fills.md)
        ob.check_end(book.orders[:int(a["n_orders"])], symbols)
    if srun.active:  # on_end, before the positions are closed at the end of the data
        book = grow_orders(book, srun.room)
        book, logs = _drive(lambda b, lg: engine.strategy_event(b, params, srun.strat, srun.hook, 4, int(a["last_ts"])),
                            book, logs, sink, srun)
        a = book.acct[0]
    if params[0]["close_at_end"]:
        book, logs = _drive(lambda b, lg: engine.close_all(b, lg, inst, params, Reason.END_OF_DATA),
                            book, logs, sink)
    if level >= LogLevel.TRADES:
        if a["n_equity_rows"] >= logs.equity.shape[0]:
            logs = _flush(book, logs, sink)
        if level < LogLevel.TICKS or params[0]["close_at_end"]:
            engine.log_final_equity(book, logs)
        _flush(book, logs, sink, refill=False)
    recs = book.orders[:int(a["n_orders"])]
    recs["status"] = np.where(np.isin(recs["status"], (OrderStatus.NEW, OrderStatus.WORKING)),
                              OrderStatus.UNFILLED, recs["status"])
    open_pos = _open_positions(book, inst)
    if orders_log is not None:
        orders_log.close(recs)
        sink.add("positions", open_pos)
        for kind, field, _ in _BUFFERS:  # every file exists, with its schema, even without rows
            if kind != "events" or level >= LogLevel.EVENTS:
                sink.add(kind, np.zeros(0, getattr(logs, field).dtype))
    tables = sink.close()
    wall = time.perf_counter() - t0
    summary = build_summary(a, recs, open_pos, params[0], cfg, symbols, stream.stats, first_ts, wall,
                            t_kernel, digits, __version__, compile_s=watch.seconds, qty_rounded=ob.qty_rounded)
    frames = {k: pl.from_arrow(t) for k, t in tables.items()}
    res = Result(summary, frames)
    res.strategy_state = srun.state()
    res.strategy_orders = srun.orders_table(recs.shape[0])
    return res


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
