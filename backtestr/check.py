"""``backtestr data check``: validate an archive and say what it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import load_config
from .errors import DataError, term
from .instruments import load_registry
from .reader import TickStream, plan_sources

_I64_MAX = np.iinfo(np.int64).max


@dataclass
class CheckReport:
    path: str
    files: int = 0
    rows: int = 0
    per_symbol: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_rows: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.bad_rows and self.first_error is None

    def text(self) -> str:
        out = [f"{self.path}: {self.files} file(s), {self.rows:,} rows"]
        for s, d in self.per_symbol.items():
            out.append(f"  {s:<10} {d['ticks']:>12,} ticks  {d['start']} .. {d['end']}  "
                       f"bid {d['min_bid']}..{d['max_bid']}  median spread {d['median_spread_ticks']} ticks")
        if self.ok:
            out.append("OK: no bad rows")
        else:
            out.append("BAD ROWS: " + ", ".join(f"{k} {v:,}" for k, v in self.bad_rows.items()))
            if self.first_error:
                out.append(f"first: {self.first_error}")
        return "\n".join(out)


def check_archive(path: str | Path, config: str | Path | None = None, overrides: list[str] | None = None,
                  instruments: list[str | Path] = ()) -> CheckReport:
    """Stream the whole archive through validation (no kernel) and count."""
    cfg = load_config(config, overrides)
    reg = load_registry(cfg, list(instruments))
    sources = plan_sources(path, cfg["data.start"], cfg["data.end"], cfg["data.ts_unit"])
    symbols = sorted({s for src in sources for s in src.symbols})
    if cfg["data.symbols"]:
        symbols = [s for s in symbols if s in set(cfg["data.symbols"])]
    unknown = [s for s in symbols if s not in reg]
    if unknown:
        raise DataError(f"{path}: symbol(s) {', '.join(unknown)} are not in the instrument registry "
                        f"(describe them in a TOML file and give {term('instruments')})")
    inv = np.array([1.0 / float(reg[s].tick_size) for s in symbols])
    n = len(symbols)
    ticks = np.zeros(n, np.int64)
    t_min = np.full(n, _I64_MAX)
    t_max = np.full(n, -_I64_MAX)
    b_min = np.full(n, _I64_MAX)
    b_max = np.full(n, -_I64_MAX)
    spreads: list[list[np.ndarray]] = [[] for _ in range(n)]
    stream = TickStream(sources, symbols, inv, cfg["data.start"], cfg["data.end"], cfg["run.chunk_rows"], True)
    for c in stream:
        ticks += np.bincount(c.sym, minlength=n)
        for i in np.unique(c.sym):
            m = c.sym == i
            t_min[i] = min(t_min[i], int(c.ts[m][0]))
            t_max[i] = max(t_max[i], int(c.ts[m][-1]))
            b_min[i] = min(b_min[i], int(c.bid[m].min()))
            b_max[i] = max(b_max[i], int(c.bid[m].max()))
            sp = (c.ask[m] - c.bid[m])
            spreads[i].append(sp[:: max(1, sp.shape[0] // 10_000)])
    rep = CheckReport(str(path), stream.stats.files, stream.stats.rows_read, bad_rows=dict(stream.stats.bad_rows))
    for i, s in enumerate(symbols):
        if not ticks[i]:
            continue
        tick = reg[s].tick_size
        rep.per_symbol[s] = {
            "ticks": int(ticks[i]),
            "start": str(np.datetime64(int(t_min[i]), "ns")),
            "end": str(np.datetime64(int(t_max[i]), "ns")),
            "min_bid": str(int(b_min[i]) * tick),
            "max_bid": str(int(b_max[i]) * tick),
            "median_spread_ticks": float(np.median(np.concatenate(spreads[i]))),
        }
    if rep.bad_rows:
        strict = TickStream(plan_sources(path, cfg["data.start"], cfg["data.end"], cfg["data.ts_unit"]), symbols, inv,
                            cfg["data.start"], cfg["data.end"], cfg["run.chunk_rows"], False)
        try:
            for _ in strict:
                pass
        except DataError as exc:
            rep.first_error = str(exc)
    return rep
