"""Bars from a tick archive or frame, streamed chunk by chunk (docs/bars.md).

The ticks go through the same reader as a run (row rules, conversion to whole
ticks, merge by time); each chunk is added to the open bars of every timeframe
by ``kernels.barsagg`` and the bars it closes are kept. Memory holds one chunk
of ticks plus the bars, never the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from ..config import Config, load_config
from ..errors import BacktestrError, ConfigError, DataError
from ..instruments import Instrument, load_registry
from . import DEFAULT_TIMEFRAMES
from .frame import bar_frame
from .timeframes import BarSettings, Timeframe, session_bounds, settle

_NO_BOUNDS = np.zeros(0, np.int64)
_AHEAD_NS = 31 * 86_400 * 10**9
PY_HINT = "instruments=[FILE] or [instruments.NAME] in the config"


def bars(
    data: str | Path | pl.DataFrame | pa.Table,
    timeframes: Iterable[str] | str = DEFAULT_TIMEFRAMES,
    price: str = "bid",
    session_tz: str = "America/New_York",
    session_start: str = "17:00",
    instruments: Iterable[str | Path] = (),
    config: str | Path | Mapping[str, Any] | Config | None = None,
) -> pl.DataFrame:
    """Bars of every symbol of ``data`` for each timeframe (docs/bars.md).

    ``data``: a Parquet file, folder or glob, or a frame with ts, symbol, bid, ask,
    read as ``backtestr.run`` reads it. ``timeframes``: ``"<n>s|m|h"``, ``"1d"``,
    ``"1w"``. ``price``: ``bid``, ``ask`` or ``mid``. ``session_tz`` and
    ``session_start`` (local ``HH:MM``) place the daily and weekly boundaries.
    ``instruments``: extra registry files (tick sizes). ``config``: a config file,
    dict or ``Config`` (``data.symbols``, ``data.start``, ``data.end``,
    ``run.chunk_rows``, ``run.on_bad_rows``, ``[instruments.X]``).

    Returns one row per bar, sorted by symbol, timeframe, ts_open.
    """
    settings = settle(timeframes, price, session_tz, session_start)
    cfg = _config(config)
    return build(data, settings, cfg, list(instruments))


def _config(config: str | Path | Mapping[str, Any] | Config | None) -> Config:
    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return load_config(data=config)
    return load_config(config)


def _registry(cfg: Config, instruments: list[str | Path], symbols: list[str], hint: str) -> list[Instrument]:
    reg = load_registry(cfg, instruments)
    unknown = [s for s in symbols if s not in reg]
    if unknown:
        raise ConfigError(f"unknown symbol(s) {', '.join(unknown)}: add them to the instrument registry "
                          f"({hint})")
    return [reg[s] for s in symbols]


def build(data: Any, s: BarSettings, cfg: Config, instruments: list[str | Path],
          hint: str = PY_HINT) -> pl.DataFrame:
    """The bars of ``data`` under settled ``s`` and ``cfg``; ``hint`` says how to add an
    instrument in the interface in use."""
    from ..kernels import barsagg
    from ..reader import TickStream
    from ..run import _select_symbols, _sources, pipelined

    where = "tick frame" if isinstance(data, pl.DataFrame | pa.Table) else str(data)
    symbols, sources = _select_symbols(_sources(data, cfg), cfg, where)
    insts = _registry(cfg, instruments, symbols, hint)
    inv_tick = np.array([1.0 / float(i.tick_size) for i in insts])
    stream = TickStream(sources, symbols, inv_tick, cfg["data.start"], cfg["data.end"], cfg["run.chunk_rows"],
                        cfg["run.on_bad_rows"] == "skip")
    basis = {"bid": barsagg.BASIS_BID, "ask": barsagg.BASIS_ASK, "mid": barsagg.BASIS_MID}[s.price]
    states = [barsagg.new_state(len(symbols)) for _ in s.timeframes]
    done: list[list[np.ndarray]] = [[] for _ in s.timeframes]
    out = np.empty((0, barsagg.B_COLS), np.int64)
    cached = [_NO_BOUNDS for _ in s.timeframes]  # session boundaries of the last chunks
    ticks = 0
    for chunk in pipelined(stream):
        n = chunk.ts.shape[0]
        if n == 0:
            continue
        ticks += n
        if out.shape[0] < n:
            out = np.empty((n, barsagg.B_COLS), np.int64)
        lo, hi = int(chunk.ts[0]), int(chunk.ts[-1])
        for j, tf in enumerate(s.timeframes):
            bounds = _NO_BOUNDS
            if tf.session:
                bounds = cached[j]
                if bounds.shape[0] < 2 or bounds[0] > lo or bounds[-1] <= hi:  # a month ahead, reused
                    bounds = cached[j] = session_bounds(tf, s, lo, max(hi, lo + _AHEAD_NS))
            k, bad = barsagg.aggregate(chunk.ts, chunk.sym, chunk.bid, chunk.ask, basis, tf.length_ns, bounds,
                                       states[j], out)
            if bad >= 0:  # pragma: no cover - session_bounds covers the chunk
                raise BacktestrError(f"internal error: no {tf.text} session boundary around tick time "
                                     f"{int(chunk.ts[bad])}")
            if k:
                done[j].append(out[:k].copy())
    if ticks == 0:
        raise DataError(f"no ticks to build bars from in {', '.join(src.name for src in sources)} "
                        "(empty files, or everything filtered out by symbol or time)")
    last = np.empty((len(symbols), barsagg.B_COLS), np.int64)
    frames = []
    for j, tf in enumerate(s.timeframes):
        k = barsagg.flush(states[j], last)
        done[j].append(last[:k].copy())
        frames.append(bar_frame(np.concatenate(done[j]), tf, symbols, insts, s.price))
    return pl.concat(frames).sort("symbol", "timeframe", "ts_open")


__all__ = ["DEFAULT_TIMEFRAMES", "Timeframe", "bars", "build"]
