"""The one-pass multi-account engine: every set's account over one read of the data.

The data is read, converted and merged once per pass (``TickStream``); each
chunk is cut into blocks of ``block_rows`` ticks and every account runs over a
block before the next block is taken, so the block stays in the cache while the
accounts walk it. The accounts are shared out among ``threads`` threads (one per
core by default); the kernels release the GIL (``nogil=True``), so the threads run
in parallel. Each account is a ``backtestr.accounts.Account``, the same code a
single ``run`` drives, with its own Config, instruments table, kernel parameters,
orders or strategy: a set re-run alone gives identical figures.

Memory: each set's inputs (the builder's frame) are built in batches of
``build_batch`` sets and turned into the account's orders records at once; the
frames are dropped before the next batch, so no more than one batch of frames is
ever held. A set then costs its own state (orders records, a position table and
excursion stacks that start at ``capacity`` rows and double when full, log buffers of
16 rows at log level off). ``sets_per_pass`` bounds the accounts of one pass (the data is read
once per pass). With ``logs`` (per-set logs, setlogs.py) each account's sink streams its logs
to ``logs/<set_id>/`` as the pass goes, and a pass carries at most ``LOGGED_SETS_PER_PASS``
accounts unless ``sets_per_pass`` says otherwise.

Sets whose settled Configs read the data differently (``data.start``/``end``/
``symbols``, ``run.chunk_rows``, ``run.on_bad_rows``, the size slippage model that
reads quote sizes, instruments with other tick sizes) run in separate passes,
one per way of reading.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..accounts import Account, AccountSetup, settle_account
from ..errors import BacktestrError, ConfigError
from ..kernels.records import TickChunk
from .setlogs import LOGGED_SETS_PER_PASS, finish_set, set_folder
from .settle import SettledSet

Inputs = Callable[[SettledSet], Any]
SWEEP_BUFFER_ROWS = 512  # rows per log buffer of an account at log level trades and above


@dataclass(frozen=True)
class PassSettings:
    """How the one-pass engine runs: threads (None: one per core), ticks per block,
    sets built per batch, accounts per pass (None: all) and the first position slots
    and excursion stack rows of an account."""

    threads: int | None = None
    block_rows: int = 131_072
    build_batch: int = 64
    sets_per_pass: int | None = None
    capacity: int = 16

    def __post_init__(self) -> None:
        for name in ("block_rows", "build_batch", "capacity"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"sweep pass settings: {name} must be at least 1, got {getattr(self, name)}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"sweep pass settings: threads must be at least 1, got {self.threads}")
        if self.sets_per_pass is not None and self.sets_per_pass < 1:
            raise ConfigError(f"sweep pass settings: sets_per_pass must be at least 1, got {self.sets_per_pass}")


def shown(s: SettledSet) -> str:
    return "(" + ", ".join(f"{k}={v!r}" for k, v in {**s.params, **s.overrides}.items()) + ")"


def named(s: SettledSet, exc: BaseException) -> BaseException:
    """``exc`` with the set's id and values in front (a BacktestrError keeps its kind)."""
    if isinstance(exc, BacktestrError):
        try:
            return type(exc)(f"set {s.set_id} {shown(s)}: {exc}")
        except TypeError:  # an error class with another signature
            return BacktestrError(f"set {s.set_id} {shown(s)}: {exc}")
    return BacktestrError(f"set {s.set_id} {shown(s)}: {type(exc).__name__}: {exc}")


class _Shared:
    """What sets with the same Config share: the data's sources, the instrument registry,
    the trading-day boundaries (caches keyed by the Config object)."""

    def __init__(self, data: Any, instruments: Sequence[str | Path]) -> None:
        self.data, self.instruments = data, list(instruments)
        self.lock = threading.RLock()  # sets are settled in threads: each cache filled once
        self.sources: dict[tuple, list] = {}
        self.registry: dict[int, Any] = {}
        self.days: dict[tuple, Any] = {}
        self.where = "tick frame" if not isinstance(data, str | Path) else str(data)

    def all_sources(self, cfg: Any) -> list:
        from ..run import _sources

        key = (cfg["data.ts_unit"], cfg["data.start"], cfg["data.end"])
        with self.lock:
            if key not in self.sources:
                self.sources[key] = _sources(self.data, cfg)
            return self.sources[key]

    def reg(self, cfg: Any) -> Any:
        from ..instruments import load_registry

        with self.lock:
            if id(cfg) not in self.registry:
                self.registry[id(cfg)] = (cfg, load_registry(cfg, self.instruments))  # cfg kept: its id stays its own
            return self.registry[id(cfg)][1]

    def day_starts(self, cfg: Any, sources: list) -> Any:
        from ..run import _days

        key = (id(cfg), tuple(id(s) for s in sources))
        with self.lock:
            if key not in self.days:
                self.days[key] = (cfg, _days(cfg, sources))
            return self.days[key][1]


def _read_key(setup: AccountSetup) -> tuple:
    """Sets with the same key read the data the same way (one stream for them all)."""
    cfg, insts = setup.cfg, setup.insts
    sizes = cfg["execution.slippage"] == "size"
    return (tuple(setup.symbols), tuple(id(s) for s in setup.sources),
            tuple(float(i.tick_size) for i in insts), tuple(float(i.lot_step) for i in insts) if sizes else None,
            cfg["data.start"], cfg["data.end"], cfg["run.chunk_rows"], cfg["run.on_bad_rows"],
            bool((setup.inst["fund_column"] == 1).any()))


def _stream(setup: AccountSetup) -> Any:
    from ..run import open_stream  # the reader of a single run

    return open_stream(setup)


def _settle(s: SettledSet, ins: Any, shared: _Shared) -> AccountSetup:
    cfg = s.config
    return settle_account(cfg, shared.all_sources(cfg), shared.where, shared.instruments, ins.orders,
                          ins.signals, ins.strategy, ins.params if ins.strategy is not None else None,
                          registry=shared.reg(cfg))


def _blocks(chunk: Any, rows: int) -> list[Any]:
    """The chunk cut into views of at most ``rows`` ticks (optional columns: empty stay empty)."""
    n = chunk.ts.shape[0]
    if n <= rows:
        return [chunk]
    out = []
    for lo in range(0, n, rows):
        hi = min(lo + rows, n)
        out.append(TickChunk(*[a[lo:hi] if a.shape[0] == n else a for a in chunk]))
    return out


class _Pass:
    """The accounts of one pass over one stream, shared out among threads."""

    def __init__(self, members: list[tuple[SettledSet, Account]], threads: int, block_rows: int) -> None:
        self.members = members
        self.block_rows = block_rows
        k = max(1, min(threads, len(members)))
        self.parts = [members[i::k] for i in range(k)]

    @staticmethod
    def _walk(part: list[tuple[SettledSet, Account]], blocks: list[Any]) -> None:
        for b in blocks:
            for s, acct in part:
                try:
                    acct.step(b, flush=False)
                except BaseException as exc:
                    raise named(s, exc) from exc
        for s, acct in part:
            try:
                _after_chunk(acct)
            except BaseException as exc:
                raise named(s, exc) from exc

    def run(self, stream: Any, pool: ThreadPoolExecutor | None, bar: Any = None) -> Any:
        from ..run import pipelined

        for chunk in pipelined(stream):
            if bar is not None:
                bar.update(chunk.ts.shape[0])
            blocks = _blocks(chunk, self.block_rows)
            if pool is None or len(self.parts) == 1:
                self._walk(self.members, blocks)
                continue
            futures = [pool.submit(self._walk, part, blocks) for part in self.parts]
            errors = [f.exception() for f in futures]
            first = next((e for e in errors if e is not None), None)
            if first is not None:
                raise first
        return stream.stats


def _after_chunk(acct: Account) -> None:
    """An account's log buffers handed to its sink after each chunk (as in a single run)."""
    from ..accounts import _flush

    acct.logs = _flush(acct.book, acct.logs, acct.sink, acct.flush_rows)
    if acct.orders_log is not None:
        acct.orders_log.flush(acct._orders(), acct.flush_rows)


def run_sets_one_pass(data: Any, sets: Sequence[SettledSet], inputs: Inputs, instruments: Sequence[str | Path] = (),
                      settings: PassSettings | None = None, bar: Any = None,
                      logs: Path | None = None) -> Iterator[tuple[SettledSet, Any]]:
    """Every set's account over one read of ``data`` per pass; yields ``(set, Result)``
    (sets in id order within a pass). A failing set stops the sweep, naming the set.
    ``bar``: a progress bar told the ticks of each chunk as the pass reads it. ``logs``: a
    folder each set's logs stream into, as ``logs/<set_id>/`` (setlogs.py), with its
    summary.json; the Results then read their frames from there."""
    cfg = settings or PassSettings()
    threads = cfg.threads or os.cpu_count() or 1
    per_pass = cfg.sets_per_pass or (LOGGED_SETS_PER_PASS if logs is not None else max(len(sets), 1))
    shared = _Shared(data, instruments)
    pool = ThreadPoolExecutor(threads, thread_name_prefix="backtestr-sweep") if threads > 1 else None
    try:
        for lo in range(0, len(sets), per_pass):
            yield from _one_pass(sets[lo:lo + per_pass], inputs, shared, cfg, pool, bar, logs)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _account(s: SettledSet, inputs: Inputs, shared: _Shared, cfg: PassSettings,
             logs: Path | None = None) -> tuple[SettledSet, AccountSetup, Account]:
    """One set's inputs built and settled into its Account (its frames dropped on return;
    with ``logs``, its logs stream to ``logs/<set_id>/``)."""
    try:
        setup = _settle(s, inputs(s), shared)
        staging = set_folder(logs, s.set_id) if logs is not None else None
        return s, setup, Account(setup, shared.day_starts(s.config, setup.sources), staging, capacity=cfg.capacity,
                                 stack_capacity=cfg.capacity, buffer_rows=SWEEP_BUFFER_ROWS)
    except BaseException as exc:
        if isinstance(exc, BacktestrError) and str(exc).startswith(f"set {s.set_id} "):
            raise  # the builder's error, already named
        raise named(s, exc) from exc


def _one_pass(sets: Sequence[SettledSet], inputs: Inputs, shared: _Shared, cfg: PassSettings,
              pool: ThreadPoolExecutor | None, bar: Any = None,
              logs: Path | None = None) -> Iterator[tuple[SettledSet, Any]]:
    t0 = time.perf_counter()
    groups: dict[tuple, list[tuple[SettledSet, Account]]] = {}
    streams: dict[tuple, AccountSetup] = {}
    made: list[Account] = []
    try:
        for lo in range(0, len(sets), cfg.build_batch):  # inputs built a batch at a time, frames dropped after
            batch = sets[lo:lo + cfg.build_batch]
            if lo == 0 or pool is None:  # the first set alone: a strategy class compiles once, caches fill
                first, batch = [_account(batch[0], inputs, shared, cfg, logs)], batch[1:]
            else:
                first = []
            # the builders and the orders reader (polars, which releases the GIL) in the pass's threads
            done = first + (list(pool.map(lambda s: _account(s, inputs, shared, cfg, logs), batch))
                            if pool is not None else [_account(s, inputs, shared, cfg, logs) for s in batch])
            for s, setup, acct in done:
                made.append(acct)
                key = _read_key(setup)
                streams.setdefault(key, setup)
                groups.setdefault(key, []).append((s, acct))
            del done
        threads = cfg.threads or os.cpu_count() or 1
        for key, members in groups.items():
            stats = _Pass(members, threads, cfg.block_rows).run(_stream(streams[key]), pool, bar)
            for s, acct in members:
                try:
                    res = acct.finish(stats, t0, __version__)
                    if logs is not None:
                        finish_set(res, logs / str(s.set_id))
                except BaseException as exc:
                    raise named(s, exc) from exc
                acct.book = acct.logs = None  # the set's state is no longer needed
                yield s, res
            members.clear()
    finally:
        for acct in made:
            acct.abort()
