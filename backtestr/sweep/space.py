"""Parameter spaces: a grid, random draws, or an explicit list of sets (docs/sweeps.md §1).

A space is turned into a list of parameter sets, each a ``{key: value}`` dict
with a stable integer id: its position in the space's full enumeration, before
constraints remove any set (so a constraint never renumbers the sets it keeps).

* grid ``{key: [values]}``: the cartesian product, keys in the order given,
  the last key varying fastest;
* ``random(n, {key: range | choices}, seed)``: ``n`` draws, set ``i`` from draw ``i``;
* a list of dicts: set ``i`` is the ``i``-th dict.

Constraints (``constraints.py``) then keep the sets they allow.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ..errors import ConfigError

SET_ID = "set_id"


@dataclass(frozen=True)
class Range:
    """A range to draw from: whole numbers when ``lo`` and ``hi`` are both ints
    (both ends included), else floats in ``[lo, hi)``; ``log`` draws uniformly in
    the logarithm (``lo`` must be > 0)."""

    lo: float
    hi: float
    log: bool = False

    @property
    def integer(self) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool) for v in (self.lo, self.hi))


@dataclass(frozen=True)
class RandomSpace:
    """``n`` random sets drawn from ``ranges`` with ``seed`` (see ``random``)."""

    n: int
    ranges: Mapping[str, Range | Sequence[Any]]
    seed: int = 0


def random(n: int, ranges: Mapping[str, Any], seed: int = 0) -> RandomSpace:
    """``n`` sets drawn at random: each key from a ``Range``, a ``(lo, hi)`` or
    ``(lo, hi, "log")`` tuple (a range), or a list (uniform choice among its values).

    The draws are a pure function of ``seed`` and the keys in their order: the
    same call gives the same sets. Equal sets may be drawn more than once.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"random(n): n must be a whole number >= 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"random(seed): seed must be a whole number >= 0, got {seed!r}")
    if not isinstance(ranges, Mapping) or not ranges:
        raise ConfigError("random(ranges): expected a non-empty dict {key: (lo, hi) | Range | [choices]}")
    return RandomSpace(n, {str(k): _range_of(str(k), v) for k, v in ranges.items()}, seed)


def _range_of(key: str, v: Any) -> Range | list[Any]:
    if isinstance(v, Range):
        r = v
    elif isinstance(v, tuple):
        if len(v) == 3 and v[2] == "log":
            r = Range(v[0], v[1], log=True)
        elif len(v) == 2:
            r = Range(v[0], v[1])
        else:
            raise ConfigError(f"random(ranges): {key}: a range is (lo, hi) or (lo, hi, 'log'), got {v!r}")
    elif isinstance(v, list):
        if not v:
            raise ConfigError(f"random(ranges): {key}: the list of choices is empty")
        return list(v)
    else:
        raise ConfigError(f"random(ranges): {key}: expected (lo, hi), (lo, hi, 'log'), Range or a list of "
                          f"choices, got {v!r}")
    for end in (r.lo, r.hi):
        if isinstance(end, bool) or not isinstance(end, int | float) or not math.isfinite(end):
            raise ConfigError(f"random(ranges): {key}: range ends must be finite numbers, got {end!r}")
    if r.hi < r.lo or (r.hi == r.lo and not r.integer):
        raise ConfigError(f"random(ranges): {key}: empty range {r.lo}..{r.hi} (hi must be above lo)")
    if r.log and r.lo <= 0:
        raise ConfigError(f"random(ranges): {key}: a log range needs lo > 0, got {r.lo}")
    return r


def _draw(r: Range | list[Any], n: int, rng: np.random.Generator) -> list[Any]:
    if isinstance(r, list):
        return [r[int(i)] for i in rng.integers(0, len(r), n)]
    if r.integer:
        if r.log:  # uniform in log over [lo, hi + 1), floored: each whole number gets its log-width share
            x = np.floor(np.exp(rng.uniform(math.log(r.lo), math.log(r.hi + 1), n)))
            return [int(min(max(v, r.lo), r.hi)) for v in x]
        return [int(v) for v in rng.integers(int(r.lo), int(r.hi) + 1, n)]
    if r.log:
        return [float(v) for v in np.exp(rng.uniform(math.log(r.lo), math.log(r.hi), n))]
    return [float(v) for v in rng.uniform(float(r.lo), float(r.hi), n)]


def enumerate_space(space: Any) -> list[tuple[int, dict[str, Any]]]:
    """Every set of ``space`` with its id, before constraints."""
    if isinstance(space, RandomSpace):
        rng = np.random.default_rng(space.seed)
        cols = {k: _draw(r, space.n, rng) for k, r in space.ranges.items()}
        return [(i, {k: cols[k][i] for k in cols}) for i in range(space.n)]
    if isinstance(space, Mapping):
        if not space:
            raise ConfigError("grid: the grid is empty (give at least one key with a list of values)")
        keys, lists = [], []
        for k, v in space.items():
            values = list(v) if isinstance(v, list | tuple | range) else None
            if values is None:
                raise ConfigError(f"grid: {k}: expected a list of values, got {v!r}")
            if not values:
                raise ConfigError(f"grid: {k}: the list of values is empty, so the grid has no set")
            keys.append(str(k))
            lists.append(values)
        return [(i, dict(zip(keys, combo, strict=True)))
                for i, combo in enumerate(itertools.product(*lists))]
    if isinstance(space, Sequence) and not isinstance(space, str | bytes):
        if not space:
            raise ConfigError("grid: the list of sets is empty")
        out = []
        for i, s in enumerate(space):
            if not isinstance(s, Mapping):
                raise ConfigError(f"grid: set {i} of the list is {type(s).__name__}, expected a dict")
            out.append((i, {str(k): v for k, v in s.items()}))
        return out
    raise ConfigError(f"grid: expected a dict of lists, random(n, ...) or a list of dicts, got {type(space).__name__}")


def sets_frame(sets: Sequence[tuple[int, Mapping[str, Any]]], keys: Sequence[str] | None = None) -> pl.DataFrame:
    """One row per set: ``set_id`` and a column per key (null where a set lacks the key).

    A column whose values mix kinds (numbers and text) is held as text.
    """
    if keys is None:
        keys = list(dict.fromkeys(k for _, s in sets for k in s))
    cols: dict[str, pl.Series] = {SET_ID: pl.Series(SET_ID, [i for i, _ in sets], pl.Int64)}
    for k in keys:
        values = [_plain(s.get(k)) for _, s in sets]
        try:
            cols[k] = pl.Series(k, values, strict=False)
            if cols[k].dtype == pl.Object or cols[k].null_count() != sum(v is None for v in values):
                raise TypeError
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            cols[k] = pl.Series(k, [None if v is None else str(v) for v in values], pl.String)
    return pl.DataFrame(list(cols.values()))


def _plain(v: Any) -> Any:
    """A value as a plain Python scalar (Decimal -> float for the frame; numpy -> Python)."""
    if isinstance(v, np.generic):
        return v.item()
    from decimal import Decimal

    if isinstance(v, Decimal):
        return float(v)
    return v
