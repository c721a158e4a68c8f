"""Command line: ``backtestr run``, ``backtestr data synth|import|check|bars``, ``backtestr risk show``,
``backtestr demo``, ``backtestr report|stats``, ``backtestr sweep``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from .errors import BacktestrError, interface


def _run(a: argparse.Namespace) -> int:
    from .config import load_config
    from .run import run

    if a.strategy is not None and a.fills is not None:
        raise BacktestrError("--fills replays an account's executions: give it without --strategy")
    if a.strategy is not None:  # a compiled strategy: backtestr/strategies/cli.py
        from .strategies.cli import run_command
        return run_command(a)
    if a.orders is None and a.signals is None and a.fills is None:
        raise BacktestrError("give --orders PATH or --signals PATH (or both), or --fills PATH")
    cfg = load_config(a.config, a.set or None, risk_file=a.risk)
    res = run(a.data, orders=a.orders, signals=a.signals, config=cfg, fills=a.fills,
              instruments=a.instruments or [], out=a.out, force=a.force, progress=not a.quiet, ts_unit=a.ts_unit)
    _print_summary(res.summary, a.out, a.quiet)
    return 0


def _print_summary(s: dict[str, Any], out: Any, quiet: bool) -> None:
    if quiet:
        return
    ccy = s["account_currency"]
    lines = [
        f"symbols        {', '.join(s['symbols'])}",
        f"period         {s['start']} .. {s['end']}",
        f"ticks          {s['ticks']:,}   ({s['ticks_per_s']:,} ticks/s, {s['wall_s']:.2f} s)",
        *([f"compile        {s['compile_s']:.2f} s   (kernels once per environment, a strategy once per process; not in ticks/s)"] if s.get("compile_s") else []),
        f"orders         {s['orders']:,} ({s['orders_filled']:,} filled, {s['orders_no_action']:,} already at "
        f"target, {s['orders_rejected']:,} rejected, {s['orders_unfilled']:,} unfilled)",
        f"fills          {s['fills']:,}   positions {s['positions']:,} ({s['positions_open']:,} open)",
        f"initial cash   {s['initial_cash']:,.2f} {ccy}",
        f"final equity   {s['final_equity']:,.2f} {ccy}   (cash {s['final_cash']:,.2f})",
        f"realized P&L   {s['realized_pnl']:,.2f}   commission {s['commission']:,.2f}",
        f"max drawdown   {s['max_drawdown']:,.2f} ({s['max_drawdown_pct']:.3f} %)",
    ]
    if s.get("bad_rows_skipped"):
        lines.append(f"bad rows       skipped {s['bad_rows_skipped']}")
    if out is not None:
        lines.append(f"written to     {out}")
    print("\n".join(lines))


def _synth(a: argparse.Namespace) -> int:
    from .synth import write_archive

    symbols = [s.strip() for s in a.symbols.split(",") if s.strip()]
    info = write_archive(a.out, symbols, a.days, a.seed, start=a.start, rate=a.rate, progress=not a.quiet,
                         force=a.force)
    if not a.quiet:
        print(json.dumps(info, indent=2, default=str))
    return 0


def _import(a: argparse.Namespace) -> int:
    from .importer import import_csv

    mapping = None
    if a.map:
        mapping = {}
        for item in a.map.split(","):
            if "=" not in item:
                raise BacktestrError(f"--map {a.map!r}: expected ours=theirs pairs such as ts=Time,bid=Bid")
            k, v = item.split("=", 1)
            mapping[k.strip()] = v.strip()
    info = import_csv(a.src if len(a.src) > 1 else a.src[0], a.out, a.symbol, fmt=a.format, mapping=mapping,
                      ts_format=a.ts_format, tz=a.tz, sep=a.sep, overwrite=a.force,
                      instruments=a.instruments or [])
    print(json.dumps(info, indent=2, default=str))
    return 0


def _check(a: argparse.Namespace) -> int:
    from .check import check_archive

    report = check_archive(a.path, config=a.config, overrides=a.set or None, instruments=a.instruments or [])
    print(report.text())
    return 0 if report.ok else 1


def _risk_show(a: argparse.Namespace) -> int:
    from .config import load_config
    from .risk import show

    cfg = load_config(a.config, a.set or None, risk_file=a.risk)
    print(show(cfg.risk))
    return 0


def _demo(a: argparse.Namespace) -> int:
    from .demo import run_demo

    res = run_demo(Path(a.data), Path(a.out), days=a.days)
    _print_summary(res.summary, a.out, False)
    return 0


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="backtestr", description="Vectorised tick backtester.")
    p.add_argument("--version", action="version", version=f"backtestr {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND", help="one of:")

    r = sub.add_parser("run", help="run a backtest and write its logs", description="Run a backtest.")
    r.add_argument("--data", required=True, help="Parquet file, folder or glob of bid/ask ticks")
    r.add_argument("--orders", help="orders table (Parquet or CSV)")
    r.add_argument("--signals", help="signals table: ts, symbol, target (Parquet or CSV)")
    r.add_argument("--fills", help="an account's fills to replay: ts, symbol, side, qty, price, fee (docs/fills.md)")
    r.add_argument("--out", required=True, help="output folder: new, empty, or an earlier run's (with --force)")
    r.add_argument("--config", help="TOML or JSON config file")
    r.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config key (repeatable)")
    r.add_argument("--risk", metavar="FILE", help="risk limits file (TOML, JSON or YAML)")
    r.add_argument("--instruments", action="append", metavar="FILE", help="extra instrument registry (TOML)")
    r.add_argument("--force", action="store_true", help="replace the outputs of an earlier run in --out")
    r.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    r.add_argument("--ts-unit", choices=("s", "ms", "us", "ns"), help="unit of integer ts columns (data.ts_unit)")
    from .strategies.cli import add_arguments
    add_arguments(r)  # --strategy, --param
    r.set_defaults(fn=_run)

    d = sub.add_parser("data", help="sample data, CSV import, archive checks",
                       description="Make, import and check tick archives.")
    dsub = d.add_subparsers(dest="data_cmd", required=True, metavar="COMMAND", help="one of:")
    s = dsub.add_parser("synth", help="write a deterministic synthetic tick archive",
                        description="Write a deterministic synthetic tick archive.")
    s.add_argument("--out", required=True, help="archive folder: new, empty, or an earlier archive (with --force)")
    s.add_argument("--symbols", default="EURUSD,GBPUSD,BTCUSD",
                   help="comma-separated symbols (default EURUSD,GBPUSD,BTCUSD)")
    s.add_argument("--days", type=int, default=5, help="number of UTC days from --start (default 5)")
    s.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same files")
    s.add_argument("--start", type=_iso_date, default=date(2024, 1, 1), metavar="YYYY-MM-DD",
                   help="first day (default 2024-01-01)")
    s.add_argument("--rate", type=float, default=None, help="average ticks per second (default per symbol)")
    s.add_argument("--force", action="store_true", help="replace an archive written earlier by backtestr")
    s.add_argument("--quiet", action="store_true", help="no progress, no summary")
    s.set_defaults(fn=_synth)

    i = dsub.add_parser("import", help="convert CSV ticks into a Parquet archive",
                        description="Convert CSV quote files into partitions of a Parquet tick archive.")
    i.add_argument("src", nargs="+", help="CSV file(s), folder(s) or glob pattern(s)")
    i.add_argument("--out", required=True, help="archive folder: new, empty, or an archive backtestr wrote")
    i.add_argument("--symbol", help="symbol name when the CSV has no symbol column")
    i.add_argument("--format", default="generic", help="generic | dukascopy | truefx | histdata")
    i.add_argument("--map", help="column mapping, e.g. ts=Time,bid=Bid,ask=Ask")
    i.add_argument("--ts-format", help="strptime format or epoch_s|epoch_ms|epoch_us|epoch_ns")
    i.add_argument("--tz", default=None, help="time zone of naive times (default: the format's own, else UTC)")
    i.add_argument("--sep", help="field separator (default: sniffed from the first line)")
    i.add_argument("--instruments", action="append", metavar="FILE",
                   help="extra instrument registry (TOML) for symbols not built in")
    i.add_argument("--force", action="store_true", help="replace partition files the archive already has")
    i.set_defaults(fn=_import)

    c = dsub.add_parser("check", help="validate an archive and print what it holds",
                        description="Validate an archive and print what it holds.")
    c.add_argument("path", help="Parquet file, folder or glob of ticks")
    c.add_argument("--config", help="config file (instruments, symbols, time range)")
    c.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config key")
    c.add_argument("--instruments", action="append", metavar="FILE", help="extra instrument registry (TOML)")
    c.set_defaults(fn=_check)
    from .bars.cli import add_parser as _bars_parser
    _bars_parser(dsub)

    k = sub.add_parser("risk", help="risk limits", description="Risk limits.")
    ksub = k.add_subparsers(dest="risk_cmd", required=True, metavar="COMMAND", help="one of:")
    ks = ksub.add_parser("show", help="print every risk limit, its value and where it came from",
                         description="Print every risk limit, its value and where it came from.")
    ks.add_argument("--config", help="TOML or JSON config file (its [risk] section)")
    ks.add_argument("--risk", metavar="FILE", help="risk limits file (TOML, JSON or YAML)")
    ks.add_argument("--set", action="append", metavar="risk.KEY=VALUE", help="override a risk limit")
    ks.set_defaults(fn=_risk_show)

    m = sub.add_parser("demo", help="make the sample archive if needed and run the sample strategy",
                       description="Make the sample archive if it is missing and run the sample strategy "
                       "(the breakout of backtestr/examples/breakout.py). "
                       "--out is replaced only when it holds an earlier run's outputs.")
    m.add_argument("--data", default="data/sample", help="sample archive folder (default data/sample)")
    m.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    m.add_argument("--days", type=int, default=10, help="days of sample data when it is made (default 10)")
    m.set_defaults(fn=_demo)

    from .analytics.report import add_parser as add_report  # report and stats (docs/analytics.md)
    add_report(sub)
    from .sweep.cli import add_parser as add_sweep  # parameter sweeps (docs/sweeps.md)
    add_sweep(sub)

    from .warmup import add_parser as add_warmup

    add_warmup(sub)
    return p


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


REPORT = "this is a bug in backtestr; please report it with the command line and this message"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with interface("cli"):
        try:
            return args.fn(args)
        except BacktestrError as exc:
            print(f"backtestr: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("backtestr: interrupted; nothing was written", file=sys.stderr)
            return 130
        except OSError as exc:  # the file system refused: a missing folder, no space, no permission
            where = f": {exc.filename}" if exc.filename else ""
            print(f"backtestr: error: {exc.strerror or exc}{where}", file=sys.stderr)
            return 2
        except Exception as exc:  # noqa: BLE001 - last resort: one line, no traceback
            if os.environ.get("BACKTESTR_TRACEBACK"):
                raise
            text = " ".join(str(exc).split())[:300]
            print(f"backtestr: internal error: {type(exc).__name__}: {text} ({REPORT}; "
                  "set BACKTESTR_TRACEBACK=1 to see where it happened)", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
