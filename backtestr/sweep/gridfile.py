"""A sweep described in a TOML file (docs/sweeps.md §7): the space, the declared parameters,
constraints and the objective."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import read_toml
from ..errors import ConfigError
from .space import RandomSpace, Range, random

_TOP = ("grid", "random", "sets", "params", "constraints", "objective")


@dataclass
class GridFile:
    """What a grid file holds: ``space`` (a grid dict, ``random(...)`` or a list of dicts),
    ``params`` (declared defaults, or None), ``constraints`` and ``objective`` (or None)."""

    space: dict[str, list[Any]] | RandomSpace | list[dict[str, Any]]
    params: dict[str, Any] | None = None
    constraints: list[str] = field(default_factory=list)
    objective: str | None = None


def _flat(table: Mapping[str, Any], leaf: Any, prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys (``[grid.execution] model = [...]`` is ``execution.model``);
    ``leaf(value)`` says when a table is a value itself."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping) and not leaf(v):
            out.update(_flat(v, leaf, name + "."))
        else:
            out[name] = v
    return out


def _is_range(v: Mapping[str, Any]) -> bool:
    return "lo" in v and "hi" in v and set(v) <= {"lo", "hi", "log"}


def read_grid(path: str | Path) -> GridFile:
    """Read a grid file; every problem is named with the file and the key."""
    p = Path(path)
    data = read_toml(p, "grid file")
    unknown = [k for k in data if k not in _TOP]
    if unknown:
        raise ConfigError(f"{p}: unknown key {unknown[0]!r} (known: {', '.join(_TOP)})")
    kinds = [k for k in ("grid", "random", "sets") if k in data]
    if len(kinds) != 1:
        raise ConfigError(f"{p}: give exactly one of [grid], [random] or [[sets]] (found: "
                          f"{', '.join(kinds) or 'none'})")
    space: Any
    if "grid" in data:
        if not isinstance(data["grid"], Mapping):
            raise ConfigError(f"{p}: grid must be a table of lists")
        space = _flat(data["grid"], lambda v: False)
    elif "sets" in data:
        if not isinstance(data["sets"], list) or not all(isinstance(s, Mapping) for s in data["sets"]):
            raise ConfigError(f"{p}: sets must be an array of tables ([[sets]])")
        space = [_flat(s, lambda v: False) for s in data["sets"]]
    else:
        space = _random(data["random"], p)
    params = data.get("params")
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"{p}: params must be a table of parameter = default")
    constraints = data.get("constraints", [])
    if isinstance(constraints, str):
        constraints = [constraints]
    if not isinstance(constraints, list) or not all(isinstance(c, str) for c in constraints):
        raise ConfigError(f"{p}: constraints must be a list of expressions such as \"fast < slow\"")
    objective = data.get("objective")
    if objective is not None and not isinstance(objective, str):
        raise ConfigError(f"{p}: objective must be a column name such as \"net_pnl\" (\"-col\" to minimise)")
    return GridFile(space, dict(params) if params is not None else None, list(constraints), objective)


def _random(table: Any, p: Path) -> RandomSpace:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{p}: random must be a table with n, seed and [random.ranges]")
    extra = [k for k in table if k not in ("n", "seed", "ranges")]
    if extra:
        raise ConfigError(f"{p}: unknown key random.{extra[0]} (known: n, seed, ranges)")
    if "n" not in table or not isinstance(table.get("ranges"), Mapping):
        raise ConfigError(f"{p}: random needs n and a [random.ranges] table")
    ranges: dict[str, Any] = {}
    for k, v in _flat(table["ranges"], _is_range).items():
        if isinstance(v, Mapping):
            ranges[k] = Range(v["lo"], v["hi"], bool(v.get("log", False)))
        elif isinstance(v, list):
            ranges[k] = v
        else:
            raise ConfigError(f"{p}: random.ranges.{k}: expected {{lo = ..., hi = ...[, log = true]}} or a list "
                              f"of choices, got {v!r}")
    try:
        return random(table["n"], ranges, table.get("seed", 0))
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
