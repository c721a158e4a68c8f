"""Per-set logs of a sweep: each set's log files under ``OUT/sets/<set_id>/`` (docs/sweeps.md §3).

``set_logs=LEVEL`` (``--set-logs LEVEL``) settles every set at log level LEVEL
(``run.log_level``, over the base config and overrides) and streams each set's
logs, through its account's sink, into ``sets/<set_id>/`` of the sweep's staging
folder, with the ``summary.json`` a single ``run --out`` writes. The staging
folder becomes ``OUT`` only when the whole sweep succeeded (backtestr/outputs.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..errors import ConfigError, current_interface
from .settle import Plan

LEVELS = ("off", "trades", "events", "ticks")
SETS_DIR = "sets"
LOGGED_SETS_PER_PASS = 100  # accounts per pass writing logs: each holds a writer thread and a file per log


def _flag(value: Any) -> str:
    return f"--set-logs {value}" if current_interface() == "cli" else f"set_logs={value!r}"


def logs_level(value: Any) -> str:
    """``set_logs`` settled: one of LEVELS (None: off)."""
    if value is None:
        return "off"
    if isinstance(value, str) and value.strip().lower() in LEVELS:
        return value.strip().lower()
    raise ConfigError(f"{_flag(value)}: expected one of {', '.join(LEVELS)} (the log level of each set's logs "
                      f"under OUT/{SETS_DIR}/<set_id>/)")


def check_logs(level: str, out: Any, on_cluster: bool, the_plan: Plan) -> None:
    """Refuse per-set logs that could not be written as asked, before any set runs."""
    flag = _flag(level)
    if out is None:
        raise ConfigError(f"{flag}: the sets' logs are written under OUT/{SETS_DIR}/<set_id>/; give out= too")
    if on_cluster:
        where = "--workers/--scheduler" if current_interface() == "cli" else "cluster=/workers="
        raise ConfigError(f"{flag}: per-set logs are written by the sets run in this process; they cannot be "
                          f"combined with {where} (run the sweep without them, or without per-set logs)")
    varied = [s.set_id for s in the_plan.sets if "run.log_level" in s.overrides]
    if varied:
        raise ConfigError(f"{flag}: the space sets run.log_level for set(s) {', '.join(map(str, varied[:5]))}; "
                          "give the log level once, by the per-set logs' level")


def with_level(the_plan: Plan, level: str) -> Plan:
    """The plan with every set's Config at log level ``level`` (sets that shared a Config
    still share one)."""
    done: dict[int, Any] = {}

    def leveled(cfg: Any) -> Any:
        if id(cfg) not in done:
            values = {**cfg.values, "run": {**cfg.values["run"], "log_level": level}}
            done[id(cfg)] = dataclasses.replace(cfg, values=values,
                                                sources={**cfg.sources, "run.log_level": "set_logs"})
        return done[id(cfg)]

    sets = [dataclasses.replace(s, config=leveled(s.config)) for s in the_plan.sets]
    return dataclasses.replace(the_plan, sets=sets)


def set_folder(root: Path, set_id: int) -> Path:
    """The folder of one set's logs under ``root`` (the staging folder's ``sets``), made here."""
    folder = root / str(set_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def finish_set(result: Any, folder: Path) -> None:
    """After a set's account finished (its log files closed): its ``summary.json`` with the
    headline statistics, as ``run --out`` writes; the Result reads its frames from ``folder``."""
    from ..analytics import summary_stats
    from ..writer import write_json

    result.out = folder
    summary_stats(result.summary, folder)
    write_json(folder / "summary.json", result.summary)
