"""Command line: ``backtestr run``, ``backtestr data synth|import|check``, ``backtestr risk show``,
``backtestr demo``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from .errors import BacktestrError


def _run(a: argparse.Namespace) -> int:
    from .config import load_config
    from .run import run

    if a.orders is None and a.signals is None:
        raise BacktestrError("give --orders PATH or --signals PATH (or both)")
    cfg = load_config(a.config, a.set or None, risk_file=a.risk)
    res = run(a.data, orders=a.orders, signals=a.signals, config=cfg,
              instruments=a.instruments or [], out=a.out, force=a.force, progress=not a.quiet)
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
        *([f"compile        {s['compile_s']:.2f} s   (once per environment, not in ticks/s)"] if s.get("compile_s") else []),
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
    info = write_archive(a.out, symbols, a.days, a.seed, start=a.start, rate=a.rate, progress=not a.quiet)
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
                      ts_format=a.ts_format, tz=a.tz, sep=a.sep, overwrite=a.force)
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
    p = argparse.ArgumentParser(prog="backtestr", description="Vectorised tick backtester.")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="run a backtest and write its logs")
    r.add_argument("--data", required=True, help="Parquet file, folder or glob of bid/ask ticks")
    r.add_argument("--orders", help="orders table (Parquet or CSV)")
    r.add_argument("--signals", help="signals table: ts, symbol, target (Parquet or CSV)")
    r.add_argument("--out", required=True, help="output folder (written atomically)")
    r.add_argument("--config", help="TOML or JSON config file")
    r.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config key")
    r.add_argument("--risk", metavar="FILE", help="risk limits file (TOML, JSON or YAML)")
    r.add_argument("--instruments", action="append", metavar="FILE", help="extra instrument registry (TOML)")
    r.add_argument("--force", action="store_true", help="replace an existing output folder")
    r.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    r.set_defaults(fn=_run)

    d = sub.add_parser("data", help="sample data, CSV import, archive checks")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    s = dsub.add_parser("synth", help="write a deterministic synthetic tick archive")
    s.add_argument("--out", required=True)
    s.add_argument("--symbols", default="EURUSD,GBPUSD,BTCUSD")
    s.add_argument("--days", type=int, default=5)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    s.add_argument("--rate", type=float, default=None, help="average ticks per second (default per symbol)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(fn=_synth)

    i = dsub.add_parser("import", help="convert CSV ticks into a Parquet archive")
    i.add_argument("src", nargs="+", help="CSV file(s)")
    i.add_argument("--out", required=True)
    i.add_argument("--symbol", help="symbol name when the CSV has no symbol column")
    i.add_argument("--format", default="generic", help="generic | dukascopy | truefx | histdata")
    i.add_argument("--map", help="column mapping, e.g. ts=Time,bid=Bid,ask=Ask")
    i.add_argument("--ts-format", help="strptime format or epoch_s|epoch_ms|epoch_us|epoch_ns")
    i.add_argument("--tz", default=None, help="time zone of naive times (default: the format's own, else UTC)")
    i.add_argument("--sep", help="field separator")
    i.add_argument("--force", action="store_true", help="overwrite existing partition files")
    i.set_defaults(fn=_import)

    c = dsub.add_parser("check", help="validate an archive and print what it holds")
    c.add_argument("path")
    c.add_argument("--config", help="config file (instruments, symbols, time range)")
    c.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE")
    c.add_argument("--instruments", action="append", metavar="FILE")
    c.set_defaults(fn=_check)

    k = sub.add_parser("risk", help="risk limits")
    ksub = k.add_subparsers(dest="risk_cmd", required=True)
    ks = ksub.add_parser("show", help="print every risk limit, its value and where it came from")
    ks.add_argument("--config", help="TOML or JSON config file (its [risk] section)")
    ks.add_argument("--risk", metavar="FILE", help="risk limits file (TOML, JSON or YAML)")
    ks.add_argument("--set", action="append", metavar="risk.KEY=VALUE", help="override a risk limit")
    ks.set_defaults(fn=_risk_show)

    m = sub.add_parser("demo", help="make the sample archive if needed and run the sample strategy")
    m.add_argument("--data", default="data/sample")
    m.add_argument("--out", default="out/demo")
    m.add_argument("--days", type=int, default=10)
    m.set_defaults(fn=_demo)

    from .warmup import add_parser as add_warmup

    add_warmup(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.fn(args)
    except BacktestrError as exc:
        print(f"backtestr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backtestr: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
