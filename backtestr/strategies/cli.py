"""``backtestr run --strategy MODULE:CLASS --param NAME=VALUE``: the handler (docs/strategies.md §1)."""

from __future__ import annotations

import argparse

from ..errors import BacktestrError
from .base import check, params_record
from .driver import load_class


def add_arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument("--strategy", metavar="MODULE:CLASS", help="a compiled strategy class (docs/strategies.md)")
    r.add_argument("--param", action="append", metavar="NAME=VALUE", help="a parameter of the strategy")


def run_command(a: argparse.Namespace) -> int:
    """Run with a strategy; arguments checked in the command line's terms."""
    from ..cli import _print_summary
    from ..config import load_config
    from ..run import run

    if a.orders is not None or a.signals is not None:
        raise BacktestrError("--strategy takes the place of --orders and --signals: give one or the other")
    cls = load_class(a.strategy, "--strategy")
    check(cls, f"--strategy {a.strategy}")
    values = {}
    for item in a.param or []:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise BacktestrError(f"--param {item!r}: expected NAME=VALUE")
        values[name.strip()] = value.strip()
    params_record(cls, values, "--param")
    cfg = load_config(a.config, a.set or None, risk_file=a.risk)
    res = run(a.data, config=cfg, instruments=a.instruments or [], out=a.out, force=a.force,
              progress=not a.quiet, strategy=cls, params=values)
    _print_summary(res.summary, a.out, a.quiet)
    return 0
