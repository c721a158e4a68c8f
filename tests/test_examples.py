"""The strategy examples (backtestr/examples/, docs/strategies.md §7), each run from the command
line on synthetic ticks and checked against the ticks by plain Python: bars from
tests/strategy_kit.py::python_bars, quotes read off the data.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

import backtestr as bt
from backtestr.cli import main
from backtestr.examples.breakout import Breakout
from backtestr.examples.sma_cross import SmaCross, sma_signals
from tests.strategy_kit import SYMS, TICK, ny_day, python_bars, ticks_frame

MIN = 60 * 10**9
HOUR = 60 * MIN


def _cli(tmp, df: pl.DataFrame, spec: str, params: dict, sets: tuple[str, ...] = ()) -> dict[str, pl.DataFrame]:
    """Run ``spec`` from the command line on ``df``; its logs."""
    data = tmp / "ticks.parquet"
    df.write_parquet(data)
    out = tmp / "out"
    argv = ["run", "--data", str(data), "--strategy", spec, "--out", str(out), "--quiet",
            "--set", "run.log_level=events"]
    for k, v in params.items():
        argv += ["--param", f"{k}={v}"]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    return {k: pl.read_parquet(out / f"{k}.parquet") for k in ("orders", "fills", "positions")}


def _closed(bars: list[tuple]) -> dict[int, list[tuple]]:
    """Closed bars (a later tick closed them) per symbol index, in time order."""
    by: dict[int, list[tuple]] = {}
    for b in bars:
        if b[-1] is not None:
            by.setdefault(b[0], []).append(b)
    for v in by.values():
        v.sort(key=lambda b: b[2])
    return by


# ------------------------------------------------------------------ SMA crossover, both styles


def test_sma_cross_compiled_and_vectorised_give_identical_fills():
    df = ticks_frame(30_000, seed=17)
    res = bt.run(df, strategy=SmaCross, params={"fast": 5, "slow": 20, "qty": 100})
    signals = sma_signals(df, {s: TICK for s in SYMS}, 5, 20, 1.0)
    assert signals.height > 10  # crossings on both symbols
    assert set(signals["symbol"]) == set(SYMS)
    ref = bt.run(df, signals=signals)
    cols = ["ts", "symbol", "side", "qty_steps", "price_ticks", "effect", "realized_pnl_minor", "cash_after_minor"]
    assert res.fills.height > 10
    assert res.fills.select(cols).equals(ref.fills.select(cols))


# ------------------------------------------------------------------ multi-timeframe breakout

BREAKOUT = {"n": 12, "days": 2, "atr_n": 14, "atr_mult": 2.0, "hold_hours": 4, "qty": 1}


@pytest.fixture(scope="module")
def breakout(tmp_path_factory):
    df = ticks_frame(40_000, seed=21, gap_ms=20_000)  # about nine days
    logs = _cli(tmp_path_factory.mktemp("breakout"), df, "backtestr.examples.breakout:Breakout", BREAKOUT)
    m15 = _closed(python_bars(df, 15 * MIN))
    days = _closed(python_bars(df, 0, bucket=ny_day))
    return df, logs, m15, days


def _trend(days: list[tuple], t: int, n: int) -> int:
    """Sign of the last daily close minus the mean of the last n, over days closed by ``t``."""
    seen = [b[6] for b in days if b[2] <= t]
    if len(seen) < n:
        return 0
    d = seen[-1] * n - sum(seen[-n:])
    return (d > 0) - (d < 0)


def _channel(bars: list[tuple], i: int, n: int) -> tuple[int, int] | None:
    if i < n:
        return None
    prev = bars[i - n:i]
    return max(b[4] for b in prev), min(b[5] for b in prev)


def test_breakout_enters_on_channel_breaks_with_the_daily_trend_never_against_it(breakout):
    df, logs, m15, days = breakout
    o = logs["orders"].sort("order_id")
    sym = {s: i for i, s in enumerate(sorted(set(df["symbol"])))}
    entries = o.filter(pl.col("tag").is_in(["long", "short"])).with_columns(t=pl.col("ts").cast(pl.Int64))
    assert entries.filter(pl.col("tag") == "long").height > 3 and entries.filter(pl.col("tag") == "short").height > 3
    taken = set()
    for r in entries.iter_rows(named=True):
        s, t = sym[r["symbol"]], r["t"]
        bars = m15[s]
        i = [b[2] for b in bars].index(t)  # stamped at the close of one of its 15m bars
        hi, lo = _channel(bars, i, BREAKOUT["n"])
        up = r["side"] == "buy"
        assert (bars[i][6] > hi) if up else (bars[i][6] < lo)
        assert _trend(days[s], t, BREAKOUT["days"]) == (1 if up else -1)
        taken.add((s, t))
    against = 0
    for s, bars in m15.items():
        for i, b in enumerate(bars):
            ch = _channel(bars, i, BREAKOUT["n"])
            if ch is None:
                continue
            tr = _trend(days[s], b[2], BREAKOUT["days"])
            if (b[6] > ch[0] and tr < 0) or (b[6] < ch[1] and tr > 0):
                against += 1
                assert (s, b[2]) not in taken
    assert against > 10  # the filter had breaks to refuse


def test_breakout_time_exit_is_honoured_for_every_trade(breakout):
    df, logs, m15, _ = breakout
    o = logs["orders"].sort("order_id").with_columns(t=pl.col("ts").cast(pl.Int64))
    pos = {r["position_id"]: r for r in logs["positions"].with_columns(
        c=pl.col("close_ts").cast(pl.Int64)).iter_rows(named=True)}
    sym = {s: i for i, s in enumerate(sorted(set(df["symbol"])))}
    exits = {r["ref_id"]: r for r in o.filter(pl.col("tag") == "time_exit").iter_rows(named=True)}
    assert len(exits) > 5
    hold = BREAKOUT["hold_hours"] * HOUR
    n_checked = 0
    for r in o.filter(pl.col("tag").is_in(["long", "short"])).iter_rows(named=True):
        closes = [b[2] for b in m15[sym[r["symbol"]]]]
        j = bisect.bisect_left(closes, r["t"] + hold)
        if j == len(closes):
            continue  # the data ends first
        due = closes[j]  # the first 15m close of the symbol at or after entry + hold
        p = pos[r["order_id"]]
        if r["order_id"] in exits:
            assert exits[r["order_id"]]["t"] == due
            assert p["exit_reason"] == "signal" and p["c"] >= due
        else:  # stopped out before the exit was due
            assert p["exit_reason"] == "stop_loss" and p["c"] < due
        n_checked += 1
    assert n_checked > 10


def test_breakout_a_planted_future_spike_changes_no_earlier_decision(breakout, tmp_path):
    df, logs, _, _ = breakout
    # 10:00 New York on Friday 5 January: inside a trading day whose bar closes at 17:00
    cut = int(datetime(2024, 1, 5, 15, 0, tzinfo=ZoneInfo("UTC")).timestamp()) * 10**9
    t = df["ts"].cast(pl.Int64)
    late = (t >= cut) & (df["symbol"] == "EURUSD")
    spiked = df.with_columns(bid=pl.when(late).then(pl.col("bid") + 0.005).otherwise(pl.col("bid")),
                             ask=pl.when(late).then(pl.col("ask") + 0.005).otherwise(pl.col("ask")))
    res = bt.run(spiked, strategy=Breakout, params=BREAKOUT)
    cols = ["order_id", "ts", "symbol", "side", "action", "tag"]

    def upto(frame, before):
        f = frame.with_columns(pl.col("symbol").cast(pl.String), pl.col("side").cast(pl.String),
                               pl.col("action").cast(pl.String)).select(cols).sort("order_id")
        return f.filter((pl.col("ts").cast(pl.Int64) <= cut) == before)

    assert upto(logs["orders"], True).height > 5
    assert upto(res.orders, True).equals(upto(logs["orders"], True))
    assert not upto(res.orders, False).equals(upto(logs["orders"], False))  # the spike did matter later


# ------------------------------------------------------------------ hedged grid

GRID = {"step": 30, "levels": 4, "qty": 1}


def test_grid_holds_many_positions_each_take_profit_at_its_level_and_rearms_on_fill(tmp_path):
    df = ticks_frame(20_000, seed=21)
    logs = _cli(tmp_path, df, "backtestr.examples.grid:Grid", GRID, ("run.account_mode=hedging",))
    o = logs["orders"].sort("order_id").with_columns(t=pl.col("ts").cast(pl.Int64))
    pos = logs["positions"].with_columns(o_=pl.col("open_ts").cast(pl.Int64), c_=pl.col("close_ts").cast(pl.Int64))
    step = GRID["step"]
    for name, g in o.group_by("symbol"):
        first_bid = round(df.filter(pl.col("symbol") == name[0])["bid"][0] / TICK)
        levels = {first_bid - k * step: "buy" for k in range(1, 5)} | {first_bid + k * step: "sell" for k in range(1, 5)}
        for r in g.iter_rows(named=True):
            assert levels[r["price_ticks"]] == r["side"]
            assert r["tp_val"] == r["price_ticks"] + (step if r["side"] == "buy" else -step)
            assert r["tag"] == ("buy_level" if r["side"] == "buy" else "sell_level")
        # a level's next order is stamped at the tick its previous position closed on
        for _, lv in g.group_by("price_ticks"):
            rows = lv.sort("order_id").to_dicts()
            for a, b in zip(rows, rows[1:], strict=False):
                p = pos.filter(pl.col("position_id") == a["order_id"]).row(0, named=True)
                assert p["exit_reason"] == "take_profit" and p["c_"] == b["t"]
    tp = pos.filter(pl.col("exit_reason") == "take_profit")
    assert tp.height > 5
    # a take-profit closes at its level or better (a gap may jump it)
    assert (tp.filter(pl.col("side") == "long")["avg_exit_price"] >= tp.filter(pl.col("side") == "long")["tp"]).all()
    assert (tp.filter(pl.col("side") == "short")["avg_exit_price"] <= tp.filter(pl.col("side") == "short")["tp"]).all()
    # open positions over time: +1 at each open, -1 at each close
    ev = sorted([(t, 1) for t in pos["o_"]] + [(t, -1) for t in pos["c_"] if t is not None])
    n, most = 0, 0
    for _, d in ev:
        n += d
        most = max(most, n)
    assert most > 1


# ------------------------------------------------------------------ per-tick momentum

TICKP = {"run": 4, "max_spread": 2, "sl": 30, "tp": 60, "be": 15, "qty": 1}


def test_tick_momentum_spread_filter_run_rule_and_break_even(tmp_path):
    df = ticks_frame(20_000, seed=21)
    logs = _cli(tmp_path, df, "backtestr.examples.tick_momentum:TickMomentum", TICKP)
    o = logs["orders"].sort("order_id").with_columns(t=pl.col("ts").cast(pl.Int64))
    fills = logs["fills"].with_columns(t=pl.col("ts").cast(pl.Int64))
    ticks = {}
    for s in SYMS:
        e = df.filter(pl.col("symbol") == s)
        b = np.rint(e["bid"].to_numpy() / TICK).astype(np.int64)
        a = np.rint(e["ask"].to_numpy() / TICK).astype(np.int64)
        ticks[s] = (e["ts"].cast(pl.Int64).to_numpy(), b, a, b + a)
    n_run = TICKP["run"]
    entries = o.filter(pl.col("tag") == "entry")
    assert entries.height > 20
    for r in entries.iter_rows(named=True):
        ts, b, a, mid = ticks[r["symbol"]]
        i = int(np.searchsorted(ts, r["t"]))
        assert ts[i] == r["t"]  # stamped with its tick
        assert a[i] - b[i] <= TICKP["max_spread"]
        d = np.sign(np.diff(mid[i - n_run - 1:i + 1]))  # the last n_run + 1 moves
        want = 1 if r["side"] == "buy" else -1
        assert (d[1:] == want).all() and d[0] != want  # a run of exactly n_run moves
        assert r["tp_val"] == TICKP["tp"] and r["sl_val"] == TICKP["sl"]
    # the filter was exercised: runs reached on a wide spread, none of them entered
    wide = 0
    for s, (ts, b, a, mid) in ticks.items():
        d = np.sign(np.diff(mid))
        for i in range(n_run + 1, len(mid)):
            w = d[i - n_run - 1:i]
            if abs(w[1:].sum()) == n_run and w[0] != w[1] and a[i] - b[i] > TICKP["max_spread"]:
                wide += 1
                assert entries.filter((pl.col("symbol") == s) & (pl.col("t") == int(ts[i]))).height == 0
    assert wide > 10
    # break-even: the stop moves to the entry fill's price at the first tick in profit by be
    moves = o.filter(pl.col("tag") == "break_even")
    assert moves.height > 5
    for r in moves.iter_rows(named=True):
        f = fills.filter(pl.col("order_id") == r["ref_id"]).row(0, named=True)
        entry = f["price_ticks"]
        assert r["sl_val"] == entry and r["status"] == "applied"
        ts, b, a, _ = ticks[r["symbol"]]
        lo = int(np.searchsorted(ts, f["t"]))  # from the entry's fill tick
        hi = int(np.searchsorted(ts, r["t"]))
        gain = (b[lo:hi + 1] - entry) if f["side"] == "buy" else (entry - a[lo:hi + 1])
        assert gain[-1] >= TICKP["be"] and (gain[:-1] < TICKP["be"]).all()


# ------------------------------------------------------------------ the demo


def test_demo_runs_the_breakout_example_and_prints_the_summary(tmp_path, capsys):
    from backtestr.demo import DEMO_PARAMS

    data = tmp_path / "sample"
    assert main(["data", "synth", "--out", str(data), "--symbols", "EURUSD", "--days", "6", "--start",
                 "2024-01-02", "--rate", "0.02", "--quiet"]) == 0
    capsys.readouterr()
    out = tmp_path / "demo"
    assert main(["demo", "--data", str(data), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "final equity" in printed and str(out) in printed
    orders = pl.read_parquet(out / "orders.parquet")
    assert orders.height > 0
    assert set(orders["tag"]) <= {"long", "short", "time_exit"}
    entries = orders.filter(pl.col("tag").is_in(["long", "short"]))
    assert entries.height > 0 and (entries["qty_steps"] == DEMO_PARAMS["qty"]).all()
    # the same run through the Python call: the demo is the breakout with DEMO_PARAMS
    ref = bt.run(data, strategy=Breakout, params=DEMO_PARAMS, config=Path(bt.__file__).with_name("demo.toml"))
    assert ref.fills.select("ts", "price_ticks", "qty_steps").equals(
        pl.read_parquet(out / "fills.parquet").select("ts", "price_ticks", "qty_steps"))
