"""The bar archive: ``DIR/symbol=X/timeframe=Y/part-0.parquet`` plus ``DIR/bars.json``
(docs/bars.md §5), written whole or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ..errors import DataError
from ..outputs import stage
from ..writer import write_json
from .frame import UTC_NS
from .timeframes import BarSettings

META = "bars.json"
PARTITIONS = ("symbol", "timeframe")


def write_bars(frame: pl.DataFrame, out: str | Path, s: BarSettings, force: bool = False,
               source: str = "") -> dict[str, Any]:
    """Write ``frame`` (bars of ``bars()``) as a bar archive at ``out``; returns what bars.json holds."""
    with stage(out, "bars", "data bars", replace=force) as staged:
        counts: dict[str, dict[str, int]] = {}
        for (sym, tf), part in frame.group_by(PARTITIONS, maintain_order=True):
            folder = staged.path / f"symbol={sym}" / f"timeframe={tf}"
            folder.mkdir(parents=True)
            part.drop(PARTITIONS).sort("ts_open").write_parquet(folder / "part-0.parquet")
            counts.setdefault(str(sym), {})[str(tf)] = part.height
        meta = {"price": s.price, "session_tz": s.session_tz, "session_start": s.session_start,
                "timeframes": [t.text for t in s.timeframes], "source": source, "bars": counts}
        write_json(staged.path / META, meta)
    return meta


def read_bars(path: str | Path) -> pl.DataFrame:
    """A bar archive back as the frame ``bars()`` returns (sorted by symbol, timeframe, ts_open)."""
    root = Path(path)
    files = sorted(root.glob("symbol=*/timeframe=*/*.parquet"))
    if not files:
        raise DataError(f"{root}: no bar archive here (expected symbol=X/timeframe=Y/part-0.parquet)", path=str(root))
    frames = []
    for f in files:
        sym = f.parent.parent.name.split("=", 1)[1]
        tf = f.parent.name.split("=", 1)[1]
        df = pl.read_parquet(f)
        frames.append(df.select(pl.lit(sym).alias("symbol"), pl.lit(tf).alias("timeframe"), pl.all()))
    out = pl.concat(frames).sort("symbol", "timeframe", "ts_open")
    return out.with_columns(pl.col("ts_open", "ts_close").cast(UTC_NS))
