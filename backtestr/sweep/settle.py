"""From a space to settled sets: keys checked, constraints applied, one typed Config per set.

A key of a space is either a strategy parameter (a name the strategy declares,
given for now as a dict ``{name: default}``) or an engine config key in
``section.key`` form: a key of docs/config.md (``execution.model``,
``commission.per_lot``), a per-symbol commission key
(``commission.EURUSD.per_lot``), an instrument key
(``instruments.EURUSD.leverage``) or a risk limit (``risk.max_positions``). A
declared parameter wins over a config key of the same name. Each set is
settled once, here, by ``load_config`` with the base config and the set's
config keys as overrides; a set whose config keys are the same as another's
shares its Config (treat it as read-only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..config import INSTRUMENT_KEYS, SCHEMA, Config, _parse_set, load_config
from ..errors import ConfigError
from ..risk import RISK_KEYS
from .constraints import Constraint, apply_constraints
from .space import enumerate_space, sets_frame

BaseConfig = str | Path | Mapping[str, Any] | Config | None


@dataclass(frozen=True)
class SettledSet:
    """One set ready to run: its id, the strategy's parameters (defaults filled in),
    the config keys it overrides and the Config they settle into."""

    set_id: int
    params: dict[str, Any]
    overrides: dict[str, Any]
    config: Config


@dataclass
class Plan:
    """The sets of a sweep, settled: ``sets`` in id order and ``frame`` (``set_id``
    and one column per key of the space, strategy parameters with their defaults)."""

    sets: list[SettledSet]
    frame: pl.DataFrame
    param_keys: list[str]
    config_keys: list[str]
    excluded: int = 0
    total: int = field(default=0)

    def __len__(self) -> int:
        return len(self.sets)


def config_key_problem(key: str) -> str | None:
    """Why ``key`` is not an engine config key (None when it is one)."""
    parts = key.split(".")
    if len(parts) < 2:
        return "not in section.key form"
    sec = parts[0]
    if sec == "risk":
        if len(parts) != 2 or parts[1] not in RISK_KEYS:
            return f"risk has no key {'.'.join(parts[1:])!r} (known: {', '.join(RISK_KEYS)})"
        return None
    if sec == "instruments":
        if len(parts) != 3 or parts[2] not in INSTRUMENT_KEYS:
            return f"instrument keys are instruments.SYMBOL.KEY with KEY one of {', '.join(INSTRUMENT_KEYS)}"
        return None
    if sec not in SCHEMA:
        return f"no config section {sec!r} (sections: {', '.join(SCHEMA)}, instruments, risk)"
    if sec == "commission" and len(parts) == 3:
        if parts[2] not in SCHEMA["commission"]:
            return f"commission.SYMBOL keys are {', '.join(SCHEMA['commission'])}"
        return None
    if len(parts) != 2 or parts[1] not in SCHEMA[sec]:
        return f"[{sec}] has no key {'.'.join(parts[1:])!r} (known: {', '.join(SCHEMA[sec])})"
    return None


def classify_keys(keys: Sequence[str], declared: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Split keys into strategy parameters and config keys; refuse any other."""
    params, configs = [], []
    for k in keys:
        if k in declared:
            params.append(k)
            continue
        why = config_key_problem(k)
        if why is not None:
            declared_names = ", ".join(declared) if declared else "none declared"
            raise ConfigError(f"grid key {k!r} is neither a parameter of the strategy (parameters: "
                              f"{declared_names}) nor a config key: {why}")
        configs.append(k)
    return params, configs


def _base_overrides(overrides: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return {str(k): v for k, v in overrides.items()}
    return {".".join(parts): v for parts, v in (_parse_set(s) for s in overrides)}


# where load_config says an override came from ("--set KEY", 'overrides["KEY"]', "argument"): a set's
# keys are named by the sweep's own message instead
_SET_PREFIX = re.compile(r"^(--set [^:]+|argument|overrides\[[^\]]*\]|risk\[[^\]]*\]): ")


def _settle_one(base: BaseConfig, overrides: dict[str, Any]) -> Config:
    if isinstance(base, Config):  # plan() refuses config keys with a ready Config
        return base
    if isinstance(base, Mapping):
        return load_config(data=base, overrides=overrides)
    return load_config(base, overrides)


def _why(exc: ConfigError) -> str:
    return _SET_PREFIX.sub("", str(exc))


def plan(space: Any, *, params: Mapping[str, Any] | None = None, constraints: Sequence[Constraint] = (),
         config: BaseConfig = None, overrides: Mapping[str, Any] | Sequence[str] | None = None,
         ids: Sequence[int] | None = None, allow_empty: bool = False) -> Plan:
    """Enumerate ``space``, check its keys, apply ``constraints`` and settle every set.

    ``params``: the strategy's declared parameters ``{name: default}``.
    ``config``/``overrides``: the base config (path, dict or Config) and overrides
    every set starts from; a set's own config keys win over them.
    ``ids``: the sets' ids in enumeration order (default 0, 1, ...; a search numbers
    its sets itself). ``allow_empty``: constraints may exclude every set.
    """
    declared = dict(params or {})
    raw = enumerate_space(space)
    if ids is not None:
        if len(ids) != len(raw) or len(set(ids)) != len(ids):
            raise ConfigError(f"plan(ids=...): expected {len(raw)} distinct ids, one per set")
        raw = [(int(i), s) for i, (_, s) in zip(ids, raw, strict=True)]
    keys = list(dict.fromkeys(k for _, s in raw for k in s))
    _, config_keys = classify_keys(keys, declared)
    if isinstance(config, Config) and (config_keys or overrides):
        raise ConfigError(f"config: a ready Config cannot take {'the grid key ' + config_keys[0] if config_keys else 'overrides'}"
                          ": pass the config as a file path or a dict so each set is settled from it")
    full = [(sid, {**declared, **s}) for sid, s in raw]
    columns = list(dict.fromkeys([*declared, *keys]))
    frame = sets_frame(full, columns)
    keep = apply_constraints(frame, full, list(constraints))
    kept = [f for f, k in zip(full, keep, strict=True) if k]
    if not kept and not allow_empty:
        raise ConfigError(f"the constraints exclude every one of the {len(full)} sets of the grid")
    frame = frame.filter(pl.Series(keep))
    base_over = _base_overrides(overrides)
    settled: list[SettledSet] = []
    cache: dict[tuple, Config] = {}
    for sid, s in kept:
        own = {k: s[k] for k in config_keys if k in s}
        sig = tuple((k, repr(v)) for k, v in own.items())
        cfg = cache.get(sig)
        if cfg is None:
            try:
                cfg = _settle_one(config, {**base_over, **own})
            except ConfigError as exc:
                raise _blame(config, base_over, sid, own, exc) from None
            cache[sig] = cfg
        settled.append(SettledSet(sid, {k: s[k] for k in declared}, own, cfg))
    return Plan(settled, frame, list(declared), config_keys, len(full) - len(kept), len(full))


def _blame(config: BaseConfig, base_over: dict[str, Any], sid: int, own: Mapping[str, Any],
           exc: ConfigError) -> ConfigError:
    """The error of a set that does not settle: the base config's own error, else the set's id,
    its config values and the config's message (which names the key)."""
    try:
        _settle_one(config, base_over)
    except ConfigError as base_exc:
        return ConfigError(f"base config: {_why(base_exc)}")
    shown = ", ".join(f"{k} = {v!r}" for k, v in own.items())
    return ConfigError(f"set {sid} ({shown}): {_why(exc)}")
