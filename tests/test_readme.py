"""The README's examples work as written and do what its text says.

Python: the ``python`` blocks of README.md run in order, in one namespace,
from a folder holding ``data/mine``, a synthetic archive of EURUSD and GBPUSD
over 2024-01-01..03 with seed 1. Every file ``backtestr.synth`` writes depends
only on (seed, symbol, day), so these are the first three days of the archive
the README makes with ``backtestr data synth ... --days 20 --seed 1``. Every
expected value below is derived here from the raw ticks by the rules the
README states (a stamped row acts on the first tick of its symbol after its
time; buy at the ask, sell at the bid; a sell limit fills when the bid reaches
its price), never taken from the run's own output.

Shell: the ``sh`` blocks run through bash from an empty folder that has the
repository's ``docs/``, with the ``backtestr`` of this environment and the
synthetic archive cut to three days (``--days 20`` -> ``--days 3``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import polars as pl
import pytest

from backtestr.synth import write_archive

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
UTC = timezone.utc
PIP = Decimal("0.00001")  # tick size of EURUSD and GBPUSD
LOT = 100_000  # their contract size


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, re.S | re.M)


def _dec(x: float) -> Decimal:
    """A price of the archive (a float on the 0.00001 grid) as the exact decimal it denotes."""
    return Decimal(f"{x:.5f}")


def _minor(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """Run the README's Python blocks; the ``res`` of each block, keyed by what the block is about."""
    here = tmp_path_factory.mktemp("readme")
    write_archive(here / "data" / "mine", ["EURUSD", "GBPUSD"], 3, 1)
    blocks = _blocks("python")
    assert len(blocks) == 4, "the README has four Python examples: signals, orders, risk, strategies"
    ns: dict = {}
    results = {}
    cwd = os.getcwd()
    os.chdir(here)
    try:
        for code, key in zip(blocks, ("signals", "orders", "risk", "strategies"), strict=True):
            exec(compile(code, f"README.md ({key} example)", "exec"), ns)
            results[key] = ns["res"]
    finally:
        os.chdir(cwd)
    ticks = {s: pl.read_parquet(here / "data" / "mine" / f"symbol={s}" / "**" / "*.parquet").sort("ts", maintain_order=True)
             for s in ("EURUSD", "GBPUSD")}
    return results, ticks, ns


def _after(ticks: pl.DataFrame, t: datetime) -> dict:
    """The first tick with a time stamp after ``t``."""
    return ticks.filter(pl.col("ts") > t).row(0, named=True)


def test_signals_example(examples):
    results, ticks, _ = examples
    res = results["signals"]
    e1 = _after(ticks["EURUSD"], datetime(2024, 1, 2, 9, tzinfo=UTC))
    e2 = _after(ticks["EURUSD"], datetime(2024, 1, 2, 15, tzinfo=UTC))
    g = _after(ticks["GBPUSD"], datetime(2024, 1, 3, 9, tzinfo=UTC))
    f = res.fills.sort("fill_id")
    got = [(r["ts"], r["symbol"], r["side"], r["effect"], _dec(r["price"]), r["qty"],
            r["commission_minor"]) for r in f.iter_rows(named=True)]
    # long 1 lot at the ask; target -1: sell 2 lots at the bid, split into a close and an open;
    # GBPUSD 0.5 lot at the ask; commission 3.5 USD per lot on every fill
    assert got == [
        (e1["ts"], "EURUSD", "buy", "open", _dec(e1["ask"]), 1.0, 350),
        (e2["ts"], "EURUSD", "sell", "close", _dec(e2["bid"]), 1.0, 350),
        (e2["ts"], "EURUSD", "sell", "open", _dec(e2["bid"]), 1.0, 350),
        (g["ts"], "GBPUSD", "buy", "open", _dec(g["ask"]), 0.5, 175),
    ]
    pnl = _minor((_dec(e2["bid"]) - _dec(e1["ask"])) * LOT * 100)
    assert f["realized_pnl_minor"].to_list() == [0, pnl, 0, 0]
    assert res.summary["final_cash_minor"] == 100_000_00 + pnl - (350 * 3 + 175)
    pos = res.positions.sort("position_id")
    assert pos.select("symbol", "side", "is_open").rows() == [
        ("EURUSD", "long", 0), ("EURUSD", "short", 1), ("GBPUSD", "long", 1)]
    assert pos["parent_id"][1] == pos["position_id"][0]  # the short came from reversing the long


def test_orders_example(examples):
    results, ticks, ns = examples
    res = results["orders"]
    eur = ticks["EURUSD"]
    t0 = datetime(2024, 1, 2, 9, tzinfo=UTC)
    t1 = t0 + timedelta(minutes=1)
    assert (ns["t0"], ns["t1"]) == (t0, t1)
    bid0 = _dec(eur.filter(pl.col("ts") <= t0)["bid"][-1])
    limit = bid0 + 100 * PIP  # "10 pips above the bid at t0"
    a = _after(eur, t0)
    fills = {r["order_id"]: r for r in res.fills.iter_rows(named=True)}

    # order 1: market buy at the ask of the first tick after t0, position 1, SL 150 and TP 300 ticks away
    f1 = fills[1]
    assert (f1["ts"], f1["side"], f1["effect"], f1["position_id"]) == (a["ts"], "buy", "open", 1)
    assert _dec(f1["price"]) == _dec(a["ask"])
    pos = {r["position_id"]: r for r in res.positions.iter_rows(named=True)}
    assert (_dec(pos[1]["sl"]), _dec(pos[1]["tp"])) == (_dec(a["ask"]) - 150 * PIP, _dec(a["ask"]) + 300 * PIP)

    # order 2: the sell limit does not fill at once; it fills on the first tick whose bid reaches it,
    # at its limit price, about eight minutes after t0, and opens a second (short) position
    assert _dec(a["bid"]) < limit
    b = eur.filter((pl.col("ts") > t0) & (pl.col("bid") >= float(limit) - 1e-9)).row(0, named=True)
    assert _dec(b["bid"]) == limit  # the bid reaches the limit exactly: no better price to give
    f2 = fills[2]
    assert (f2["ts"], f2["side"], f2["effect"], f2["position_id"]) == (b["ts"], "sell", "open", 2)
    assert _dec(f2["price"]) == limit
    assert round((b["ts"] - t0).total_seconds() / 60) == 8
    assert pos[2]["side"] == "short" and pos[1]["close_ts"] > b["ts"]  # the long is not closed by it

    # row 3: acts on the first tick after t1 while position 1 is open; 80-tick trailing stop from the bid
    c = _after(eur, t1)
    assert pos[1]["open_ts"] < c["ts"] < pos[1]["close_ts"]
    mod = res.events.filter(pl.col("event") == "modified")
    assert mod.select("ts", "position_id", "order_id", "reason").rows() == [(c["ts"], 1, 3, "trailing")]
    assert mod["after"][0] == int(_dec(c["bid"]) / PIP) - 80
    assert res.orders.filter(pl.col("order_id") == 3)["status"].item() == "applied"
    assert res.events.filter((pl.col("event") == "trailed") & (pl.col("position_id") == 1)).height > 0
    assert pos[1]["exit_reason"] == "trailing" and fills[-1]["position_id"] == 1


def test_risk_example(examples):
    results, ticks, _ = examples
    res = results["risk"]
    o = res.orders.sort("order_id")
    assert o.select("symbol", "status", "reason").rows() == [
        ("EURUSD", "rejected", "max_qty"), ("EURUSD", "rejected", "max_qty"), ("GBPUSD", "filled", "signal")]
    g = _after(ticks["GBPUSD"], datetime(2024, 1, 3, 9, tzinfo=UTC))
    margin = _minor(_dec(g["ask"]) * Decimal("0.5") * LOT * 100 / 30)  # 1/30 of the notional, in cents
    assert res.summary["max_margin_used_minor"] == margin
    rej = res.events.filter(pl.col("event") == "rejected")
    assert rej["reason"].to_list() == ["max_qty", "max_qty"]


def test_shell_examples(tmp_path):
    script = "\n".join(_blocks("sh")[1:])  # the first block is make demo / make test
    assert script.count("--days 20") == 1
    script = script.replace("--days 20", "--days 3")
    lines = [ln for ln in script.splitlines() if not ln.startswith(". .venv/bin/activate")]
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("RISK_MAX_POSITIONS", None)
    assert shutil.which("backtestr", path=env["PATH"]) is not None, "the backtestr command is not installed"
    done = subprocess.run(["bash", "-e", "-c", "\n".join(lines)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "OK: no bad rows" in done.stdout
    for run, level_files in (("run1", {"events.parquet"}), ("run2", {"events.parquet"})):
        files = {p.name for p in (tmp_path / "out" / run).iterdir()}
        assert files == {"orders.parquet", "fills.parquet", "positions.parquet", "equity.parquet",
                         "summary.json", ".backtestr-manifest.json"} | level_files
    s1 = json.loads((tmp_path / "out" / "run1" / "summary.json").read_text())
    assert s1["orders"] == 3 and s1["orders_filled"] == 3
    assert sorted(s1["symbols"]) == ["BTCUSD", "EURUSD", "GBPUSD", "XAUUSD"]
    shown = {ln.split()[0]: ln.split()[1:] for ln in done.stdout.splitlines() if ln.startswith("max_positions ")}
    assert shown["max_positions"] == ["3", "data/my_risk.yaml"]


def test_example_config_shows_every_key_and_loads():
    """docs/config.md says docs/example-config.toml shows every key (some commented out, with
    their defaults): check it against the settings' schemas, and that it loads."""
    from backtestr.config import INSTRUMENT_KEYS, SCHEMA, load_config
    from backtestr.risk import RISK_KEYS

    path = ROOT / "docs" / "example-config.toml"
    text = path.read_text()
    keys = {k for ks in SCHEMA.values() for k in ks} | set(RISK_KEYS) | set(INSTRUMENT_KEYS)
    missing = sorted(k for k in keys if not re.search(rf"^(# )?{k} = ", text, re.M))
    assert not missing, f"docs/example-config.toml shows no {missing}"
    cfg = load_config(path)
    assert cfg["commission.per_lot"] == Decimal("3.5") and cfg.risk.values["max_positions"] is None


def test_docs_stand_alone():
    """The README and the rule books cite no file outside the repository."""
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = p.read_text()
        assert "SPEC" not in text, p.name
        for ref in re.findall(r"`((?:docs|backtestr|kernels|tests|bench)/[\w./-]+\.(?:md|py|toml))", text):
            assert (ROOT / ref).exists(), f"{p.name} names {ref}, which does not exist"


def test_strategies_example(examples):
    """The strategy, bars, statistics, plot and sweep example runs and gives what its comments say."""
    results, ticks, ns = examples
    res = results["strategies"]
    assert res.summary["fills"] > 0 and res.summary["orders_rejected"] == 0
    assert "sharpe" in ns["st"].values and ns["fig"] is not None
    bars = ns["bars"]
    assert set(bars["timeframe"].unique()) == {"15m", "1h"}
    # a bar's first tick is at or after its open, its close is a multiple of 15 minutes
    b15 = bars.filter(pl.col("timeframe") == "15m")
    assert (b15["ts_close"].dt.epoch("s") % 900 == 0).all()
    sw = ns["sweep"].results
    assert sw.height == 8 and sorted(set(sw["fast"])) == [5, 10] and sorted(set(sw["slow"])) == [20, 40]
    assert sw["final_equity"].to_list() == sorted(sw["final_equity"].to_list(), reverse=True)
