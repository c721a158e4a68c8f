"""A run's logs, opened lazily: a run's output folder or a ``Result`` in memory.

Nothing is read here but ``summary.json`` and the Parquet footers (schemas);
the statistics scan the columns they need.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import BacktestrError

KINDS = ("orders", "fills", "positions", "equity", "events")
NEEDED = {  # the integer columns the statistics read (docs/outputs.md)
    "equity": ("ts", "equity_minor", "drawdown_minor", "open_positions"),
    "positions": ("position_id", "symbol", "side_code", "is_open", "open_ts", "close_ts", "realized_pnl_minor",
                  "commission_minor", "swap_minor", "mae_minor", "mfe_minor", "open_order_id"),
    "fills": ("ts", "commission_minor"),
    "orders": ("order_id",),
    "events": ("event", "before", "after"),
}
_STAGING = re.compile(r"^\.(?P<name>.+?)\.(?P<what>tmp|old)-[0-9A-Za-z-]+$")


class AnalyticsError(BacktestrError):
    """A folder or result that statistics, plots or a report cannot be made from."""


@dataclass
class RunLogs:
    """What a run left: its summary, its logs as lazy frames, its money scale."""

    summary: dict[str, Any]
    folder: Path | None
    frames: dict[str, pl.LazyFrame] = field(default_factory=dict)

    @property
    def scale(self) -> int:
        """Minor units in one unit of the account currency (from the summary's initial cash)."""
        s = self.summary
        cash, minor = s.get("initial_cash"), s.get("initial_cash_minor")
        if cash and minor:
            return max(1, round(minor / cash))
        return 100

    @property
    def currency(self) -> str:
        return str(self.summary.get("account_currency", ""))

    def scan(self, kind: str) -> pl.LazyFrame | None:
        """The log ``kind`` as a lazy frame, None when the run did not write it."""
        return self.frames.get(kind)

    def where(self) -> str:
        return str(self.folder) if self.folder is not None else "the run's result"


def open_logs(source: Any, summary: dict[str, Any] | None = None) -> RunLogs:
    """Open ``source``: a run's output folder (path) or a ``Result``.

    Raises ``AnalyticsError`` naming the path and what is wrong when it is
    not the output of a finished run. With ``summary`` (the run's summary,
    before it is written), ``source`` is the folder the run is writing.
    """
    if summary is not None and isinstance(source, str | Path):
        path = Path(source)
        frames = {k: pl.scan_parquet(path / f"{k}.parquet") for k in KINDS if (path / f"{k}.parquet").is_file()}
        _check_columns(frames, str(path))
        return RunLogs(dict(summary), path, frames)
    if hasattr(source, "summary") and hasattr(source, "out"):
        if source.out is not None:
            return open_logs(source.out)
        frames = {k: v.lazy() for k, v in getattr(source, "_frames", {}).items()
                  if isinstance(v, pl.DataFrame) and v.width}
        _check_columns(frames, "the run's result")
        return RunLogs(dict(source.summary), None, frames)
    if not isinstance(source, str | Path):
        raise AnalyticsError(f"expected a run's output folder or a Result, got {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise AnalyticsError(f"{path}: no such folder (give the --out folder of a finished `backtestr run`)")
    if not path.is_dir():
        raise AnalyticsError(f"{path} is a file, not a run's output folder (give the --out folder of "
                             "`backtestr run`)")
    m = _STAGING.match(path.name)
    if m is not None:
        what = "the staging folder of a run that did not finish" if m["what"] == "tmp" else \
            "a previous output being replaced"
        raise AnalyticsError(f"{path} is {what} (interrupted or failed); its logs are incomplete. Run the "
                             f"backtest again, or give its finished output folder {path.parent / m['name']}")
    summary_file = path / "summary.json"
    if not summary_file.is_file():
        hint = " (it holds Parquet files: a tick archive?)" if any(path.glob("*.parquet")) or \
            any(path.glob("*/")) and any(path.glob("**/*.parquet")) else ""
        raise AnalyticsError(f"{path} is not a run's output folder: it has no summary.json{hint}; give the "
                             "--out folder of a finished `backtestr run`")
    try:
        summary = json.loads(summary_file.read_text())
    except (OSError, ValueError) as exc:
        raise AnalyticsError(f"{summary_file}: not a readable summary ({exc})") from None
    if not isinstance(summary, dict) or "initial_cash_minor" not in summary:
        raise AnalyticsError(f"{summary_file}: not the summary of a run (no initial_cash_minor)")
    frames = {}
    for kind in KINDS:
        f = path / f"{kind}.parquet"
        if f.is_file():
            frames[kind] = pl.scan_parquet(f)
    _check_columns(frames, str(path))
    return RunLogs(summary, path, frames)


def _check_columns(frames: dict[str, pl.LazyFrame], where: str) -> None:
    for kind, lf in frames.items():
        try:
            have = set(lf.collect_schema().names())
        except Exception as exc:  # noqa: BLE001 - a damaged file, reported by name
            raise AnalyticsError(f"{where}: {kind}.parquet cannot be read ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        missing = [c for c in NEEDED[kind] if c not in have]
        if missing:
            raise AnalyticsError(f"{where}: {kind}.parquet lacks column(s) {', '.join(missing)} "
                                 "(not a log written by this version of backtestr)")
