"""``backtestr data bars ARCHIVE --timeframes 1m,1h --price bid --out DIR`` (docs/bars.md §5)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from . import DEFAULT_TIMEFRAMES

FLAGS = {"timeframes": "--timeframes", "price": "--price", "session_tz": "--session-tz",
         "session_start": "--session-start"}


def add_parser(dsub: Any) -> argparse.ArgumentParser:
    """Add ``bars`` to the ``backtestr data`` subcommands."""
    b = dsub.add_parser("bars", help="build OHLC bars from a tick archive and write a bar archive")
    b.add_argument("archive", help="Parquet file, folder or glob of bid/ask ticks")
    b.add_argument("--out", required=True, help="bar archive folder (written whole or not at all)")
    b.add_argument("--timeframes", default=",".join(DEFAULT_TIMEFRAMES),
                   help="comma-separated: <n>s, <n>m, <n>h, 1d, 1w (default %(default)s)")
    b.add_argument("--price", default="bid", help="price basis: bid, ask or mid (default %(default)s)")
    b.add_argument("--session-tz", default="America/New_York",
                   help="time zone of the daily and weekly sessions (default %(default)s)")
    b.add_argument("--session-start", default="17:00",
                   help="local HH:MM at which a trading day starts (default %(default)s)")
    b.add_argument("--config", help="config file (instruments, symbols, time range, chunk_rows)")
    b.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config key")
    b.add_argument("--instruments", action="append", metavar="FILE", help="extra instrument registry (TOML)")
    b.add_argument("--force", action="store_true", help="replace an existing output folder")
    b.add_argument("--quiet", action="store_true", help="print nothing on success")
    b.set_defaults(fn=run_cli)
    return b


def run_cli(a: argparse.Namespace) -> int:
    from ..config import load_config
    from .archive import write_bars
    from .build import build
    from .timeframes import settle

    items = [t.strip() for t in a.timeframes.split(",") if t.strip()]
    s = settle(items, a.price, a.session_tz, a.session_start, names=FLAGS)
    cfg = load_config(a.config, a.set or None)
    frame = build(a.archive, s, cfg, a.instruments or [],
                  hint="--instruments FILE or [instruments.NAME] in the --config file")
    meta = write_bars(frame, a.out, s, force=a.force, source=str(a.archive))
    if not a.quiet:
        print(json.dumps({"out": str(a.out), **meta}, indent=2))
    return 0
