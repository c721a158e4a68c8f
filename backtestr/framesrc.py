"""Tick frames as sources: in-memory frames split once by symbol, lazy frames streamed (docs/architecture.md §1).

A frame's symbol column is turned into integer codes in one pass
(``kernels/framecodes.py``; the codes in the symbols' name order). When the
rows are already in the order the per-symbol merge gives (by time, ties by
symbol name), the frame is one source of several symbols read in place: no
copy, no merge. Otherwise the rows are split by a stable counting sort into one
source per symbol (one copy), merged as any sources are. Either way a bad row
is named by its symbol and its row among that symbol's ticks.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import SIZE_COLS, check_ts_type
from .errors import DataError
from .kernels import framecodes
from .reader import Source, _stat_ns

WHERE = "tick frame"


def split_frame(table: pa.Table, ts_unit: str | None = None) -> list[Source]:
    """In-memory ticks (ts, symbol, bid, ask, ...): sources as described above."""
    for c in ("ts", "symbol", "bid", "ask"):
        if c not in table.column_names:
            raise DataError(f"{WHERE}: missing column {c!r} (have: {', '.join(table.column_names)})",
                            rule="missing_column")
    check_ts_type(table.schema.field("ts").type, WHERE, ts_unit)
    found = symbol_codes(table.column("symbol"), table.column("ts"))
    if found is None:  # null symbols: one filter per symbol, as the rows say
        return _filtered(table, ts_unit)
    codes, names, ordered = found
    cols = table.drop_columns(["symbol"])
    if len(names) == 1:
        return [Source(f"{WHERE}, symbol {names[0]}", names, table=cols, ts_unit=ts_unit)]
    if ordered:  # codes index ``names`` (any order): the stream maps them to its symbols
        return [Source(WHERE, names, table=cols, ts_unit=ts_unit, codes=codes)]
    sorted_names = sorted(names)
    place = {s: i for i, s in enumerate(sorted_names)}
    rank = np.array([place[s] for s in names], np.int32)
    order, bounds = framecodes.partition(rank[codes], len(sorted_names))
    split = cols.take(pa.array(order))
    return [Source(f"{WHERE}, symbol {s}", [s], table=split.slice(int(bounds[j]), int(bounds[j + 1] - bounds[j])),
                   ts_unit=ts_unit) for j, s in enumerate(sorted_names)]


def symbol_codes(col: pa.ChunkedArray, ts: pa.ChunkedArray) -> tuple[np.ndarray, list[str], bool] | None:
    """(codes int32 per row, the symbol of each code, whether the rows are by ts, ties
    by symbol name), or None when a symbol is missing."""
    if col.null_count:
        return None
    raw = _ts_raw(ts)
    if pa.types.is_string_view(col.type):
        found = _view_codes(col, raw)
        if found is not None:
            return found
    codes = np.empty(len(col), np.int32)
    names: list[str] = []
    index: dict[str, int] = {}
    off = 0
    for chunk in col.chunks:
        enc = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
        lut = np.empty(max(len(enc.dictionary), 1), np.int32)
        for i, s in enumerate(enc.dictionary.to_pylist()):
            lut[i] = index.setdefault(str(s), len(index))
            if lut[i] == len(names):
                names.append(str(s))
        ind = np.asarray(enc.indices.to_numpy(zero_copy_only=False))
        codes[off:off + len(chunk)] = lut[ind]
        off += len(chunk)
    sorted_names = sorted(names)
    place = {s: i for i, s in enumerate(sorted_names)}
    rank = np.array([place[s] for s in names], np.int32)
    if raw is None:
        return rank[codes], sorted_names, False
    ordered = framecodes.rank_check(codes, rank, raw, np.zeros(3, np.int64))  # codes ranked in place
    return codes, sorted_names, bool(ordered)


def _ts_raw(ts: pa.ChunkedArray) -> np.ndarray | None:
    """The ts column's stored integers (one array), None when one is missing."""
    if ts.null_count:
        return None
    parts = []
    for chunk in ts.chunks:
        raw = chunk.view(pa.int64()) if pa.types.is_timestamp(chunk.type) or chunk.type == pa.int64() \
            else chunk.cast(pa.int64())
        parts.append(np.asarray(raw.to_numpy(zero_copy_only=False)))
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _view_codes(col: pa.ChunkedArray, raw: np.ndarray | None) -> tuple[np.ndarray, list[str], bool] | None:
    """Codes of a ``string_view`` column whose strings all fit in their views; None otherwise."""
    codes = np.empty(len(col), np.int32)
    ts = raw if raw is not None else np.zeros(len(col), np.int64)
    cap = 1 << 12
    while True:
        keys = np.zeros((cap // 2, 2), np.uint64)
        table = np.full(cap, -1, np.int32)
        prev = np.zeros(2, np.uint64)
        state = np.array([0, 0, 1], np.int64)
        n_keys, off = 0, 0
        for chunk in col.chunks:
            n = len(chunk)
            if n == 0:
                continue
            views = np.frombuffer(chunk.buffers()[1], np.uint64).reshape(-1, 2)[chunk.offset:chunk.offset + n]
            n_keys = framecodes.encode_views(views, ts[off:off + n], keys, n_keys, table, codes[off:off + n],
                                             prev, state)
            if n_keys < 0:
                break
            off += n
        if n_keys == framecodes.LONG:
            return None
        if n_keys != framecodes.FULL:
            break
        cap *= 4
    names = []
    for w0, w1 in keys[:n_keys]:
        b = struct.pack("<QQ", int(w0), int(w1))
        names.append(b[4:4 + (int(w0) & 0xFFFFFFFF)].decode("utf-8"))
    return codes, names, raw is not None and bool(state[2])


def _filtered(table: pa.Table, ts_unit: str | None) -> list[Source]:
    syms = sorted(str(s) for s in pc.unique(table.column("symbol")).to_pylist())
    out = []
    for s in syms:
        t = table.filter(pc.equal(table.column("symbol"), s))
        out.append(Source(f"{WHERE}, symbol {s}", [s], table=t, ts_unit=ts_unit))
    return out


def locate(src: Source, row: int) -> tuple[str, int]:
    """A frame source's row as (where, row among its symbol's rows)."""
    if src.codes is None:
        return src.name, row
    code = int(src.codes[row])
    return f"{WHERE}, symbol {src.symbols[code]}", int(framecodes.count_before(src.codes, row, code))


def lazy_sources(lf: Any, ts_unit: str | None = None, where: str = "tick frame") -> list[Source]:
    """A Polars LazyFrame of ticks (ts, symbol, bid, ask): one source per symbol, each
    streamed in batches by the streaming engine (memory bounded by the batch size)."""
    import polars as pl

    schema = lf.collect_schema()
    names = schema.names()
    for c in ("ts", "symbol", "bid", "ask"):
        if c not in names:
            raise DataError(f"{where}: missing column {c!r} (have: {', '.join(names)})", rule="missing_column")
    t = schema["ts"]
    if not (t.is_integer() or isinstance(t, pl.Datetime)):
        raise DataError(f"{where}: column 'ts' has type {t}; expected a datetime (or integers with a unit)",
                        path=where, rule="wrong_type")
    check_ts_type(pa.int64() if t.is_integer() else pa.timestamp("ns"), where, ts_unit)
    sym = pl.col("symbol").cast(pl.String)
    found = lf.select(sym.unique()).collect(engine="streaming").to_series()
    keep = [c for c in ("ts", "bid", "ask", *SIZE_COLS, "funding_rate") if c in names]
    return [Source(f"{where}, symbol {s}", [s], lazy=lf.filter(sym == s).select(keep), ts_unit=ts_unit)
            for s in sorted(str(x) for x in found.drop_nulls().to_list())]


def lazy_span(src: Source) -> tuple[int | None, int | None]:
    import polars as pl

    mm = src.lazy.select(pl.col("ts").min().alias("lo"), pl.col("ts").max().alias("hi")).collect(
        engine="streaming").to_arrow()
    if mm.column("lo")[0].as_py() is None:
        return None, None
    raw = [mm.column(k).cast(pa.int64())[0].as_py() for k in ("lo", "hi")]
    t = mm.schema.field("lo").type
    return _stat_ns(raw[0], t, src.ts_unit), _stat_ns(raw[1], t, src.ts_unit)
