"""Tick archives: discover files, validate, convert to ticks, merge, stream.

A *source* is a time-ordered run of rows: all files of one symbol (ordered by
their first time stamp, then path), or one file holding several symbols. The
stream merges sources by time stamp; ties go to the lower symbol index (symbols
are sorted by name), then keep file row order (docs/architecture.md §1).
Memory is bounded by ``chunk_rows`` rows per source.
"""

from __future__ import annotations

import glob as _glob
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .columns import (
    EMPTY_F,
    NO_SIZE_COLS,
    SIZE_COLS,
    TS_UNITS,
    _plain,
    _price,
    _sizes,
    _ts_to_ns,
    check_ts_type,
    rel_tol,
)
from .errors import DataError, row_label
from .kernels import ingest
from .kernels.records import NO_RATES, NO_SIZES, TickChunk

_MAX = np.iinfo(np.int64).max
RING = 3
MIN_BATCH = 4096  # the smallest batch a source is read in (per-call overheads)
READERS = 2  # threads decoding sources side by side (each source one batch at a time, in order)

RULES = {
    ingest.NAN_PRICE: ("nan_price", "bid or ask is missing, NaN or infinite"),
    ingest.NONPOSITIVE_PRICE: ("nonpositive_price", "bid or ask is zero or negative"),
    ingest.CROSSED: ("crossed", "ask is below bid"),
    ingest.OFF_TICK: ("off_tick", "price is not a whole number of ticks of the instrument's tick_size"),
    ingest.UNSORTED: ("unsorted", "time stamp is earlier than the row before it"),
    ingest.DUPLICATE: ("duplicate", "row repeats the previous row of the same symbol"),
    ingest.NEGATIVE_SIZE: ("negative_size", "bid_size or ask_size is negative"),
    ingest.BAD_RATE: ("bad_funding_rate", "funding_rate is infinite or beyond -1..1"),
}
_PART = re.compile(r"(?:^|/)([A-Za-z_][A-Za-z0-9_]*)=([^/]+)")


@dataclass
class ParquetPart:
    path: str
    partitions: dict[str, str]
    symbol: str | None  # a single symbol for the whole file, else None
    min_ts: int | None
    has_symbol_col: bool
    row_groups: list[int] | None = None  # None = all
    has_sizes: bool = False  # both bid_size and ask_size columns
    has_rate: bool = False  # a funding_rate column
    max_ts: int | None = None  # from the row groups' statistics, None when one has none
    meta: Any = None  # the footer read when planning (pq.FileMetaData), not read again


@dataclass
class Source:
    name: str  # for messages
    symbols: list[str]
    parts: list[ParquetPart] = field(default_factory=list)
    table: pa.Table | None = None  # in-memory source
    lazy: Any = None  # a Polars LazyFrame of this source's rows, streamed in batches
    ts_unit: str | None = None  # unit of an integer ts column (None: integers are refused)
    codes: np.ndarray | None = None  # a frame of several symbols: each row's index into ``symbols``


def discover(path: str | Path) -> list[str]:
    """Parquet files under a file, folder or glob, sorted by path."""
    p = str(path)
    if any(c in p for c in "*?["):
        files = sorted(f for f in _glob.glob(p, recursive=True) if f.endswith(".parquet"))
        if not files:
            raise DataError(f"no Parquet files match {p}", path=p)
        return files
    pp = Path(p)
    if pp.is_file():
        return [str(pp)]
    if pp.is_dir():
        files = sorted(str(f) for f in pp.rglob("*.parquet") if not f.name.startswith((".", "_")))
        if not files:
            raise DataError(f"{p}: no Parquet files in this folder", path=p)
        return files
    raise DataError(f"{p} does not exist", path=p)


def _inspect(path: str, start: int | None, end: int | None, unit: str | None = None) -> ParquetPart | None:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file: {exc}", path=path, rule="unreadable") from None
    schema = pf.schema_arrow
    missing = [c for c in ("ts", "bid", "ask") if c not in schema.names]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (have: {', '.join(schema.names)})",
                        path=path, rule="missing_column")
    check_ts_type(schema.field("ts").type, path, unit)
    parts = {k: v for k, v in _PART.findall(Path(path).as_posix())}
    has_sym = "symbol" in schema.names
    md = pf.metadata
    ts_idx = schema.names.index("ts")
    sym_idx = schema.names.index("symbol") if has_sym else -1
    groups, mins, maxs, sym_vals = [], [], [], set()
    single = True
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        st = rg.column(ts_idx).statistics
        lo = hi = None
        if st is not None and st.has_min_max:
            lo, hi = (_stat_ns(st.min_raw, schema.field("ts").type, unit),
                      _stat_ns(st.max_raw, schema.field("ts").type, unit))
        if start is not None and hi is not None and hi < start:
            continue
        if end is not None and lo is not None and lo >= end:
            continue
        groups.append(g)
        mins.append(lo)
        maxs.append(hi)
        if has_sym:
            ss = rg.column(sym_idx).statistics
            if ss is not None and ss.has_min_max and ss.min == ss.max:
                sym_vals.add(ss.min if isinstance(ss.min, str) else bytes(ss.min).decode())
            else:
                single = False
    if md.num_row_groups and not groups:
        return None
    symbol = parts.get("symbol")
    if symbol is None and has_sym and single and len(sym_vals) == 1:
        symbol = next(iter(sym_vals))
    if symbol is None and not has_sym:
        raise DataError(f"{path}: no symbol: add a 'symbol' column or a symbol=NAME folder", path=path,
                        rule="missing_column")
    known = [x for x in mins if x is not None]
    return ParquetPart(path, parts, symbol, min(known) if known else None, has_sym,
                       None if len(groups) == md.num_row_groups else groups,
                       all(c in schema.names for c in SIZE_COLS), "funding_rate" in schema.names,
                       max(maxs) if maxs and None not in maxs else None, md)


def _stat_ns(raw: object, t: pa.DataType, unit: str | None) -> int | None:
    """A raw ts statistic (physical int64) in ns; None when it cannot be used."""
    if not isinstance(raw, int):
        return None
    if pa.types.is_timestamp(t):
        return raw * TS_UNITS[t.unit]
    return raw * TS_UNITS[unit] if unit is not None else None


def data_span(sources: list[Source]) -> tuple[int | None, int | None]:
    """First and last tick time (ns UTC) of the sources, from Parquet statistics or the
    in-memory frames; None where a file lacks statistics."""
    lo: list[int | None] = []
    hi: list[int | None] = []
    for src in sources:
        if src.table is not None:
            ts = src.table.column("ts")
            if len(ts) == 0:
                continue
            mm = pc.min_max(ts)
            raw = [mm[k].cast(pa.int64()).as_py() if mm[k].is_valid else None for k in ("min", "max")]
            lo.append(_stat_ns(raw[0], ts.type, src.ts_unit))
            hi.append(_stat_ns(raw[1], ts.type, src.ts_unit))
        if src.lazy is not None:
            from .framesrc import lazy_span

            a, b = lazy_span(src)
            if a is None:
                continue
            lo.append(a)
            hi.append(b)
        for part in src.parts:
            lo.append(part.min_ts)
            hi.append(part.max_ts)
    if not lo or None in lo or None in hi:
        return None, None
    return min(lo), max(hi)  # type: ignore[type-var]


def _multi_symbols(part: ParquetPart) -> list[str]:
    col = pq.read_table(part.path, columns=["symbol"]).column("symbol")
    return sorted(str(s) for s in pc.unique(col).to_pylist() if s is not None)


def plan_sources(path: str | Path, start: int | None = None, end: int | None = None,
                 ts_unit: str | None = None) -> list[Source]:
    """Group the files of an archive into time-ordered sources.

    ``ts_unit``: the unit of integer ``ts`` columns (s, ms, us, ns); without it a
    file with integer time stamps is refused."""
    by_symbol: dict[str, list[ParquetPart]] = {}
    multi: list[Source] = []
    for f in discover(path):
        part = _inspect(f, start, end, ts_unit)
        if part is None:
            continue
        if part.symbol is not None:
            by_symbol.setdefault(part.symbol, []).append(part)
        else:
            multi.append(Source(f, _multi_symbols(part), [part], ts_unit=ts_unit))
    out = []
    for sym in sorted(by_symbol):
        parts = sorted(by_symbol[sym], key=lambda p: (p.min_ts if p.min_ts is not None else -1, p.path))
        out.append(Source(f"symbol {sym}", [sym], parts, ts_unit=ts_unit))
    return out + multi


def frame_sources(table: pa.Table, ts_unit: str | None = None) -> list[Source]:
    """In-memory ticks (ts, symbol, bid, ask): split once by symbol (``backtestr/framesrc.py``)."""
    from .framesrc import split_frame

    return split_frame(table, ts_unit)


@dataclass
class StreamStats:
    rows_read: int = 0
    rows_kept: int = 0
    bad_rows: dict[str, int] = field(default_factory=dict)
    files: int = 0


@dataclass
class _Run:
    """One validated, converted batch of one source, consumed from ``pos`` on."""

    src: int
    ts: np.ndarray  # int64 ns
    sym: np.ndarray  # int32 symbol index
    bid: np.ndarray  # int64 ticks
    ask: np.ndarray
    bid_size: np.ndarray  # int64 lot steps (empty when sizes are not read)
    ask_size: np.ndarray
    funding: np.ndarray  # int64 funding rate units (empty when rates are not read)
    buf: tuple[np.ndarray, ...] = ()  # the source's buffer the arrays view
    pos: int = 0


_NO_SYM = np.empty(0, np.int32)


def _columns(r: _Run) -> tuple[np.ndarray, ...]:
    return (r.ts, r.sym, r.bid, r.ask, r.bid_size, r.ask_size, r.funding)


class TickStream:
    """Iterate merged, validated ``TickChunk``s (prices in ticks) over sources.

    Decoding, the row rules and the conversion to ticks run in a reader thread,
    one batch ahead per source (the rules are per source); the merge runs in
    the caller's thread, writing into a ring of RING reused chunk buffers: a yielded chunk
    stays valid while at most RING - 2 newer chunks wait in a queue for the
    consumer (see ``backtestr.run.pipelined``).
    """

    def __init__(self, sources: list[Source], symbols: list[str], inv_tick: np.ndarray,
                 start: int | None, end: int | None, chunk_rows: int, skip_bad: bool,
                 inv_step: np.ndarray | None = None, rates: bool = False) -> None:
        """``inv_step`` (1 / lot_step per symbol) given: quote sizes are read where the
        sources have them (``bid_size``, ``ask_size``, in lots) and carried in whole
        lot steps; otherwise they are not read. ``rates``: the ``funding_rate``
        column is read where the sources have it (``ingest.rate_units``)."""
        self.sources = sources
        self.symbols = symbols
        self.index = {s: i for i, s in enumerate(symbols)}
        self.inv_tick = inv_tick
        self.sizes = inv_step is not None
        self.rates = rates
        # indices of the chunk columns carried (ts, sym, bid, ask, bid_size, ask_size, funding)
        self.carried = [0, 1, 2, 3] + ([4, 5] if self.sizes else []) + ([6] if self.rates else [])
        self.scale = (inv_tick, inv_step if inv_step is not None else np.zeros(len(symbols)))
        self.start = start if start is not None else np.iinfo(np.int64).min
        self.end = end if end is not None else np.iinfo(np.int64).max
        self.chunk_rows = chunk_rows
        # rows per batch of each source: a window that shrinks with the number of sources, so
        # what is held ahead is bounded by about chunk_rows in all, not per source
        self.batch_rows = max(chunk_rows // max(len(sources), 1), min(chunk_rows, MIN_BATCH))
        self.skip = skip_bad
        self.stats = StreamStats()
        self._counts = np.zeros((len(sources), ingest.N_RULES), np.int64)
        self._read = np.zeros((len(sources), 2), np.int64)  # per source (each in one thread): files, rows
        self._free: list[deque] = [deque() for _ in sources]
        self._ring: list[tuple[np.ndarray, ...] | None] = [None] * RING
        self._n_chunks = 0
        self._flat: tuple[np.ndarray, ...] = (np.empty(0, np.int64),)
        self._scratch: tuple[np.ndarray, ...] = ()

    # -- decoding (reader thread) ----------------------------------------------
    def _batches(self, j: int) -> Iterator[tuple[str, int, pa.RecordBatch]]:
        src = self.sources[j]
        if src.lazy is not None:
            row = 0
            it = src.lazy.collect_batches(chunk_size=self.batch_rows, lazy=True)
            try:
                for df in it:
                    for b in df.to_arrow().to_batches():
                        yield src.name, row, b
                        row += b.num_rows
            finally:
                stop = getattr(it, "stop", None)
                if stop is not None:
                    stop()
            return
        if src.table is not None:
            row = 0
            for b in src.table.to_batches(max_chunksize=self.batch_rows):
                yield src.name, row, b
                row += b.num_rows
            return
        for part in src.parts:
            self._read[j, 0] += 1
            pf = pq.ParquetFile(part.path, metadata=part.meta)
            cols = ["ts", "bid", "ask"] + (["symbol"] if part.has_symbol_col and part.symbol is None else [])
            if self.sizes and part.has_sizes:
                cols += SIZE_COLS
            if self.rates and part.has_rate:
                cols.append("funding_rate")
            md = pf.metadata
            groups = part.row_groups if part.row_groups is not None else range(md.num_row_groups)
            first_row = np.cumsum([0] + [md.row_group(j).num_rows for j in range(md.num_row_groups)])
            for g in groups:
                row = int(first_row[g])
                for b in pf.iter_batches(batch_size=self.batch_rows, row_groups=[g], columns=cols):
                    yield part.path, row, b
                    row += b.num_rows

    def _decoded(self, j: int) -> Iterator[_Run]:
        """Decode, validate and convert the batches of source ``j`` in order."""
        src = self.sources[j]
        single = src.symbols[0] if len(src.symbols) == 1 and (
            src.table is not None or src.lazy is not None or src.parts[0].symbol) else None
        const = self.index.get(single, -1) if single is not None else -1
        if single is not None and const < 0:
            return
        lut = None  # a frame of several symbols: its codes -> the stream's symbol indices
        if src.codes is not None:
            lut = np.array([self.index.get(s, -1) for s in src.symbols], np.int32)
            if np.array_equal(lut, np.arange(len(lut))):
                lut = None
        last = np.zeros((len(self.symbols), 4), np.int64)
        last_src = np.zeros((1, 2), np.int64)
        counts = self._counts[j]
        free = self._free[j]  # buffers the merge has finished with
        for where, row0, b in self._batches(j):
            n = b.num_rows
            if n == 0:
                continue
            ts = _ts_to_ns(b.column("ts"), where, src.ts_unit, row0)
            bid = _price(b.column("bid"), "bid", where)
            ask = _price(b.column("ask"), "ask", where)
            rel = max(rel_tol(b.column("bid").type), rel_tol(b.column("ask").type))
            bsz, asz = _sizes(b, where) if self.sizes else NO_SIZE_COLS
            fund = _price(b.column("funding_rate"), "funding_rate", where) \
                if self.rates and "funding_rate" in b.schema.names else EMPTY_F
            sym = _NO_SYM
            if src.codes is not None:
                sym = src.codes[row0:row0 + n] if lut is None else lut[src.codes[row0:row0 + n]]
            elif single is None:
                idx = pc.index_in(pc.cast(b.column("symbol"), pa.string()),
                                  value_set=pa.array(self.symbols, pa.string()))
                sym = np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int32)
            out = free.pop() if free else None
            if out is None or out[0].shape[0] < n:
                out = self._buffers(n)
            k, bad, rule = ingest.convert_batch((ts, bid, ask, bsz, asz, fund), sym, const, self.scale, rel,
                                                self.start, self.end, self.skip, last, last_src, out, counts)
            self._read[j, 1] += n
            if bad >= 0:
                name, text = RULES[rule]
                s = const if const >= 0 else int(sym[bad])
                at, row = where, row0 + bad
                if src.codes is not None:
                    from .framesrc import locate

                    at, row = locate(src, row)
                raise DataError(
                    f"{at}: {row_label(row)}: {text} [rule {name}] (symbol {self.symbols[s]}, "
                    f"ts {np.datetime64(int(ts[bad]), 'ns')}, bid {_plain(b.column('bid'), bad)}, "
                    f"ask {_plain(b.column('ask'), bad)})",
                    path=at, row=row + 1, rule=name)
            if k:
                yield _Run(j, *(a[:k] if a.shape[0] else a for a in out), buf=out)
            else:
                free.append(out)

    def _buffers(self, n: int) -> tuple[np.ndarray, ...]:
        """(ts, sym, bid, ask, bid_size, ask_size, funding) of ``n`` rows; optional columns
        empty when not read."""
        sz = (np.empty(n, np.int64), np.empty(n, np.int64)) if self.sizes else (NO_SIZES, NO_SIZES)
        fund = np.empty(n, np.int64) if self.rates else NO_RATES
        return (np.empty(n, np.int64), np.empty(n, np.int32), np.empty(n, np.int64), np.empty(n, np.int64), *sz,
                fund)

    # -- merging (caller's thread) ------------------------------------------------
    def __iter__(self) -> Iterator[TickChunk]:
        from concurrent.futures import ThreadPoolExecutor

        if len(self.sources) == 1:
            yield from self._one()
            return
        iters = [self._decoded(j) for j in range(len(self.sources))]
        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="backtestr-read") as pool:
            ahead = {j: pool.submit(next, it, None) for j, it in enumerate(iters)}

            def take(j: int) -> _Run | None:
                run = ahead[j].result()
                ahead[j] = pool.submit(next, iters[j], None) if run is not None else None
                return run

            runs: list[_Run] = []
            live: set[int] = set()
            for j in range(len(iters)):
                r = take(j)
                if r is not None:
                    runs.append(r)
                    live.add(j)
            try:
                while runs:
                    # the newest run of each live source bounds what is known
                    newest = {r.src: r for r in runs}
                    horizon = min((int(newest[j].ts[-1]) for j in live), default=_MAX)
                    chunk = self._merge(runs, horizon)
                    if chunk is not None:
                        yield chunk
                    left = dict.fromkeys(live, 0)  # rows not yet merged, per source
                    for r in runs:
                        left[r.src] = left.get(r.src, 0) + r.ts.shape[0] - r.pos
                    # a source is read on when its newest batch is used up to the horizon, or when
                    # less than half a batch of it is left (so each merge takes rows of many sources)
                    for j in [j for j in live if int(newest[j].ts[-1]) <= horizon or 2 * left[j] < self.batch_rows]:
                        r = take(j)
                        if r is None:
                            live.discard(j)
                        else:
                            runs.append(r)
                    for r in runs:
                        if r.pos >= r.ts.shape[0]:
                            self._free[r.src].append(r.buf)
                    runs = sorted((r for r in runs if r.pos < r.ts.shape[0]), key=lambda r: r.src)
            finally:
                for f in ahead.values():
                    if f is not None:
                        f.cancel()
                self._sync_bad()

    def _one(self) -> Iterator[TickChunk]:
        """One source: its converted batches are the chunks, as they are (nothing to merge).

        A yielded chunk's buffer goes back to the free list once the chunk two
        yields later is taken, as with the ring (see ``backtestr.run.pipelined``)."""
        from concurrent.futures import ThreadPoolExecutor

        it = self._decoded(0)
        held: deque = deque()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="backtestr-read") as pool:
            ahead = pool.submit(next, it, None)
            try:
                while True:
                    r = ahead.result()
                    if r is None:
                        return
                    ahead = pool.submit(next, it, None)
                    n = r.ts.shape[0]
                    self.stats.rows_kept += n
                    self._sync_bad()
                    self._n_chunks += 1
                    yield TickChunk(r.ts, r.sym, r.bid, r.ask, *((r.bid_size, r.ask_size) if self.sizes
                                                                 else (NO_SIZES, NO_SIZES)),
                                    r.funding if self.rates else NO_RATES)
                    held.append(r.buf)
                    while len(held) > RING - 1:
                        self._free[0].append(held.popleft())
            finally:
                ahead.cancel()
                self._sync_bad()

    def _merge(self, runs: list[_Run], horizon: int) -> TickChunk | None:
        cuts = [int(np.searchsorted(r.ts, horizon, side="left")) for r in runs]
        take = [(r, c) for r, c in zip(runs, cuts, strict=True) if c > r.pos]
        if not take:
            return None
        # the batches of one source are one run (they are in source order)
        seg = np.zeros(len(take) + 1, np.int64)
        seg[1:] = np.cumsum([c - r.pos for r, c in take])
        n = int(seg[-1])
        first = [i for i, (r, _) in enumerate(take) if i == 0 or take[i - 1][0].src != r.src]
        bounds = np.append(seg[first], seg[-1])
        slot = self._n_chunks % RING
        out = self._ring[slot]
        if out is None or out[0].shape[0] < n:
            out = self._ring[slot] = self._buffers(max(n, 2 * self.chunk_rows))
        carried = self.carried
        if len(take) == 1:
            r, c = take[0]
            cols_r = _columns(r)
            for i in carried:
                out[i][:n] = cols_r[i][r.pos:c]
        else:
            if self._flat[0].shape[0] < n:
                cap = max(n, 2 * self.chunk_rows)
                self._flat = self._buffers(cap)
                self._scratch = tuple(np.empty(cap, np.int64) for _ in range(4))
            cols = list(self._flat)
            runs = [(_columns(r), r.pos, c) for r, c in take]
            for i in carried:
                np.concatenate([rc[i][p:c] for rc, p, c in runs], out=cols[i][:n])
                cols[i] = cols[i][:n]
            ingest.merge_gather(tuple(cols), bounds, out, self._scratch)
        for r, c in take:
            r.pos = c
        self.stats.rows_kept += n
        self._sync_bad()
        self._n_chunks += 1
        sizes = (out[4][:n], out[5][:n]) if self.sizes else (NO_SIZES, NO_SIZES)
        return TickChunk(out[0][:n], out[1][:n], out[2][:n], out[3][:n], *sizes,
                         out[6][:n] if self.rates else NO_RATES)

    def _sync_bad(self) -> None:
        total = self._counts.sum(axis=0)
        self.stats.bad_rows = {RULES[r][0]: int(c) for r, c in enumerate(total) if r in RULES and c}
        self.stats.files, self.stats.rows_read = (int(x) for x in self._read.sum(axis=0))
