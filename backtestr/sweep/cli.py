"""``backtestr sweep``: the command line of a sweep (docs/sweeps.md §7).

``add_parser(subparsers)`` adds the subcommand to the ``backtestr`` parser; its
handler raises BacktestrError for every bad input, which the command line
prints as one line.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..errors import BacktestrError, ConfigError, interface

SHOWN = 10  # rows of the ranking printed


def load_strategy(spec: str) -> Any:
    """``MODULE:NAME`` or ``FILE.py:NAME`` -> the object NAME (a builder)."""
    mod_name, sep, name = spec.rpartition(":")
    if not sep or not mod_name or not name:
        raise ConfigError(f"--strategy {spec}: expected MODULE:NAME or FILE.py:NAME")
    try:
        if mod_name.endswith(".py") or "/" in mod_name:
            path = Path(mod_name)
            if not path.is_file():
                raise ConfigError(f"--strategy {spec}: file {path} does not exist")
            loader_spec = importlib.util.spec_from_file_location(f"_backtestr_strategy_{path.stem}", path)
            if loader_spec is None or loader_spec.loader is None:
                raise ConfigError(f"--strategy {spec}: {path} cannot be imported")
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except BacktestrError:
        raise
    except ModuleNotFoundError as exc:
        raise ConfigError(f"--strategy {spec}: no module named {exc.name!r}") from None
    except Exception as exc:
        raise ConfigError(f"--strategy {spec}: importing {mod_name} failed: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, name):
        raise ConfigError(f"--strategy {spec}: {mod_name} has no {name!r}")
    return getattr(module, name)


def _sweep_cmd(a: argparse.Namespace) -> int:
    from .executor import sweep
    from .gridfile import read_grid

    if Path(a.out).exists() and not a.force:
        raise BacktestrError(f"output folder {a.out} exists; pass --force to replace it")
    grid = read_grid(a.grid)
    strategy = load_strategy(a.strategy)
    objective = a.objective or grid.objective or "final_equity"
    res = sweep(a.data, strategy, grid.space, params=grid.params, constraints=grid.constraints, config=a.config,
                overrides=a.set or None, objective=objective, instruments=a.instruments or [], out=a.out,
                force=a.force, progress=not a.quiet, cluster=a.scheduler, workers=a.workers, set_logs=a.set_logs,
                metrics=_headline() if a.stats else None)
    if not a.quiet:
        _print_ranking(res)
    return 0


def _headline() -> Any:
    from .stats import headline

    return headline


def _print_ranking(res: Any) -> None:
    df = res.results
    keys = [c for c in res.plan.frame.columns if c != "set_id"]
    cols = ["rank", "set_id", *keys, res.objective.column]
    cols = list(dict.fromkeys(cols + [c for c in ("net_pnl", "max_drawdown_pct", "fills") if c not in cols]))
    rows = [[str(v) for v in r] for r in df.select(cols).head(SHOWN).rows()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    more = df.height - len(rows)
    tail = f" ({more} more in the file)" if more > 0 else ""
    excluded = f", {res.plan.excluded} excluded by the constraints" if res.plan.excluded else ""
    print(f"{df.height} sets run{excluded}; best by {'' if res.objective.maximize else '-'}"
          f"{res.objective.column}{tail}")
    print(f"written to     {res.out}")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``backtestr sweep`` to the subcommands of the ``backtestr`` parser."""
    p = subparsers.add_parser("sweep", help="run a strategy once per parameter set and rank the sets")
    p.add_argument("--data", required=True, help="Parquet file, folder or glob of bid/ask ticks")
    p.add_argument("--strategy", required=True, metavar="MODULE:NAME",
                   help="a compiled strategy class (backtestr.strategies.Strategy) or a builder(params) -> "
                        "orders or signals frame: a module or a .py file, and its name")
    p.add_argument("--grid", required=True, metavar="GRID.toml", help="the sets: [grid], [random] or [[sets]]")
    p.add_argument("--out", required=True, help="output folder: results.parquet (written whole)")
    p.add_argument("--config", help="base TOML or JSON config file")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a base config key")
    p.add_argument("--objective", help="result column ranking the sets, -COL to minimise (default: the grid "
                                       "file's, else final_equity)")
    p.add_argument("--instruments", action="append", metavar="FILE", help="extra instrument registry (TOML)")
    p.add_argument("--workers", type=int, metavar="N", help="run the sets on N worker processes (a local Dask "
                   "cluster; with --scheduler, wait for N workers)")
    p.add_argument("--scheduler", metavar="ADDR", help="run the sets on the Dask cluster at ADDR (tcp://host:8786); "
                   "the workers read --data at the same path")
    p.add_argument("--set-logs", metavar="LEVEL", help="write each set's logs at LEVEL (off, trades, events, "
                   "ticks; default off) under OUT/sets/SET_ID/, as `backtestr run --out` writes them")
    p.add_argument("--stats", action="store_true", help="add every headline statistic of each set (Sharpe, "
                   "Sortino, win rate, ...; needs run.log_level trades or above) to the results")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no ranking")
    p.set_defaults(fn=_sweep_cmd)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m backtestr.sweep.cli ...``: the subcommand on its own, until it is in ``backtestr``."""
    parser = argparse.ArgumentParser(prog="backtestr")
    add_parser(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(argv)
    try:
        with interface("cli"):
            return args.fn(args)
    except BacktestrError as exc:
        print(f"backtestr: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
