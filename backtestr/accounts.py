"""One account over a stream of tick chunks: its state, its stepping, its end.

``backtestr.run.run`` drives one ``Account`` over a TickStream; the one-pass sweep
(``backtestr.sweep.multi``) drives many over the same chunks, each with its own
Config, instruments table, kernel parameters, orders and strategy. Both go
through the same code below, so a set re-run alone gives the sweep's figures.

- ``settle_account``: a run's inputs (config, sources, orders, signals or a
  strategy class) -> ``AccountSetup`` (symbols, instruments, kernel tables).
- ``Account``: the book, log buffers and sink; ``begin`` (first tick: orders before
  the data refused, the strategy's ``on_start``), ``step`` (one chunk, room made
  when a kernel asks: BUFFER_FULL, POSITIONS_FULL, STACK_FULL, ORDERS_FULL) and
  ``finish`` (``on_end``, close at the end, final statuses, logs, summary).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .config import Config, minor_digits
from .errors import BacktestrError, ConfigError, DataError, term
from .fx_paths import with_rate_symbols
from .instruments import kernel_table, load_registry
from .kernels import engine
from .kernels.alloc import grow_orders, grow_positions, grow_stacks, new_book, new_logs
from .kernels.records import LogLevel, OrderStatus, Reason, Status
from .orders import load_orders, reject_before_data
from .reader import Source, data_span
from .summary import build_summary
from .writer import Decoder, LogSink


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


@dataclass
class AccountSetup:
    """What one account trades and how: its symbols (rate symbols included), the sources
    to read, their instruments, the kernel's instruments table and parameters, the
    orders book and the strategy (``StrategyRun.none`` without one)."""

    cfg: Config
    symbols: list[str]
    sources: list[Source]
    insts: list
    inst: np.ndarray
    params: np.ndarray
    ob: Any
    srun: Any


def select_symbols(sources: list[Source], cfg: Config, where: str) -> tuple[list[str], list[Source]]:
    """The symbols to run (``data.symbols``, else every symbol of the data) and their sources."""
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


def settle_account(cfg: Config, all_sources: list[Source], where: str, instruments: list[str | Path],
                   orders: Any = None, signals: Any = None, strategy: type | None = None,
                   params: Mapping[str, Any] | None = None, registry: Any = None,
                   fills: Any = None) -> AccountSetup:
    """Settle one account's inputs against the data's sources (``registry``: an instrument
    registry already loaded for ``cfg``, else loaded here; ``fills``: executions to replay,
    docs/fills.md)."""
    from .run import _params
    from .strategies.driver import StrategyRun, prepare

    reg = registry if registry is not None else load_registry(cfg, list(instruments))
    symbols, sources = select_symbols(all_sources, cfg, where)
    unknown = [s for s in symbols if s not in reg]
    if unknown:
        raise ConfigError(f"unknown symbol(s) {', '.join(unknown)}: add them to the instrument registry "
                          f"({term('instruments')} or [instruments.NAME] in the config)")
    symbols, sources, paths = with_rate_symbols(symbols, sources, all_sources, reg, cfg["account.currency"])
    insts = [reg[s] for s in symbols]
    inst = kernel_table(symbols, reg, cfg, paths)
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
    return AccountSetup(cfg, symbols, sources, insts, inst, kparams, ob, srun)


class Account:
    """One account's state over a stream of chunks (see the module's docstring).

    ``capacity``/``stack_capacity``: position slots and excursion stack rows to start
    with (they double when full; a sweep starts small so a set costs little).
    ``buffer_rows``: at most this many rows per log buffer (a sweep's many accounts
    flush smaller buffers more often; the logs are the same). ``staging``: the folder the logs are
    written to (None: kept in memory, at log levels trades and above).
    """

    def __init__(self, setup: AccountSetup, days: np.ndarray | None, staging: Path | None = None,
                 capacity: int = 1024, stack_capacity: int = 256, buffer_rows: int | None = None) -> None:
        cfg, insts, params, ob, srun = setup.cfg, setup.insts, setup.params, setup.ob, setup.srun
        self.setup = setup
        self.digits = minor_digits(cfg)
        self.level = level = int(params[0]["log_level"])
        self.book = new_book(len(setup.symbols), ob.records, params, capacity=capacity,
                             stack_capacity=stack_capacity, days=days,
                             order_room=srun.room if srun.active else 0)
        srun.fit(self.book)
        rows = cfg["run.buffer_rows"] if level >= LogLevel.TRADES else 16
        if buffer_rows is not None:
            rows = min(rows, buffer_rows)
        self.logs = new_logs(rows, rows if level >= LogLevel.EVENTS else 16)
        decoder = Decoder(setup.symbols, np.array([float(i.tick_size) for i in insts]),
                          np.array([float(i.lot_step) for i in insts]), self.digits, ob.carried)
        self.sink = LogSink(decoder, staging)
        self.flush_rows = max(self.logs.fills.shape[0] // 8, 1)
        self.orders_log = OrdersLog(self._orders(), ob.tags, self.sink, srun.tags if srun.active else None) \
            if level >= LogLevel.TRADES else None
        self.first_ts: int | None = None
        self.t_kernel = 0.0

    def _orders(self) -> np.ndarray:
        return self.book.orders[:int(self.book.acct[0]["n_orders"])]

    def begin(self, first_ts: int) -> None:
        """At the first tick: orders acting before it are refused; a strategy's ``on_start``."""
        self.first_ts = first_ts
        reject_before_data(self._orders(), first_ts)
        ob = self.setup.ob
        if hasattr(ob, "check_start"):  # a replay: no fill before the data (docs/fills.md)
            ob.check_start(self._orders(), first_ts, self.setup.symbols)
        srun, params = self.setup.srun, self.setup.params
        if srun.active:  # on_start, its actions stamped at the first tick
            self.book, self.logs = _drive(
                lambda b, lg: engine.strategy_event(b, params, srun.strat, srun.hook, 0, first_ts),
                self.book, self.logs, self.sink, srun)

    def step(self, chunk: Any, watch: Any = None, flush: bool = True) -> None:
        """Run the account over one chunk; with ``flush``, hand its log buffers holding an
        eighth of their rows or more to the sink (after each chunk of the stream)."""
        if self.first_ts is None:
            self.begin(int(chunk.ts[0]))
        s = self.setup
        srun, inst, params = s.srun, s.inst, s.params
        self.book.acct[0]["resume"] = 0
        tk = time.perf_counter()
        ck = watch.here() if watch is not None else 0.0
        self.book, self.logs = _drive(
            lambda b, lg: engine.run_chunk(chunk, int(b.acct[0]["resume"]), b, lg, inst, params, srun.strat,
                                           srun.hook),
            self.book, self.logs, self.sink, srun)
        self.t_kernel += time.perf_counter() - tk - ((watch.here() - ck) if watch is not None else 0.0)
        if flush:
            self.logs = _flush(self.book, self.logs, self.sink, self.flush_rows)  # written while the next chunks run
            if self.orders_log is not None:
                self.orders_log.flush(self._orders(), self.flush_rows)

    def finish(self, stats: Any, wall_start: float, version: str, compile_s: float = 0.0) -> Any:
        """End of the data: ``on_end``, positions closed (``run.close_at_end``), final order
        statuses, the last log rows; returns the run's Result."""
        from .run import Result

        s = self.setup
        srun, inst, params, cfg = s.srun, s.inst, s.params, s.cfg
        if self.first_ts is None:
            raise DataError(f"no ticks to run on in {', '.join(src.name for src in s.sources)} "
                            "(empty files, or everything filtered out by symbol or time)")
        book, logs, sink, level = self.book, self.logs, self.sink, self.level
        try:
            a = book.acct[0]
            if hasattr(s.ob, "check_end"):  # a replay: every fill booked (docs/fills.md)
                s.ob.check_end(book.orders[:int(a["n_orders"])], s.symbols)
            if srun.active:  # on_end, before the positions are closed at the end of the data
                book = grow_orders(book, srun.room)
                book, logs = _drive(lambda b, lg: engine.strategy_event(b, params, srun.strat, srun.hook, 4,
                                                                        int(a["last_ts"])), book, logs, sink, srun)
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
            if self.orders_log is not None:
                self.orders_log.close(recs)
                sink.add("positions", open_pos)
                for kind, field, _ in _BUFFERS:  # every file exists, with its schema, even without rows
                    if kind != "events" or level >= LogLevel.EVENTS:
                        sink.add(kind, np.zeros(0, getattr(logs, field).dtype))
            tables = sink.close()
        finally:
            sink.abort()  # a no-op after close(); on an error, waits for the writer thread
        wall = time.perf_counter() - wall_start
        summary = build_summary(a, recs, open_pos, params[0], cfg, s.symbols, stats, self.first_ts, wall,
                                self.t_kernel, self.digits, version, compile_s=compile_s,
                                qty_rounded=s.ob.qty_rounded)
        res = Result(summary, {k: pl.from_arrow(t) for k, t in tables.items()})
        res.strategy_state = srun.state()
        res.strategy_orders = srun.orders_table(recs.shape[0])
        return res

    def abort(self) -> None:
        """Stop the account's log writer after an error."""
        self.sink.abort()
