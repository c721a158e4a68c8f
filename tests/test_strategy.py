"""Compiled strategies (docs/strategies.md): bars in the run, actions, replay, errors, compile once.

The expected values come from independent computations: bars from a plain
Python loop over the ticks (tests/strategy_kit.py::python_bars), orders from
replaying the strategy's orders as an orders table through the table path, the
SMA rules from a Polars computation over bars written as a signals table.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from backtestr.kernels import engine
from backtestr.kernels.records import K_TICKS, OT_LIMIT, OT_STOP
from numba import njit

import backtestr as bt
from backtestr.errors import ConfigError
from backtestr.examples.sma_cross import SmaCross
from backtestr.strategies import Strategy, StrategyError
from backtestr.strategies.context import (
    ask,
    bar,
    bid,
    buy,
    cancel,
    close,
    close_symbol,
    modify,
    n_bars,
    net_qty,
    now,
    oldest_position,
    sell,
    set_oco,
    set_stops,
    submit,
)
from tests.strategy_kit import ny_day, python_bars, ticks_frame

MIN = 60 * 10**9
ROW = 15  # values recorded per bar by Recorder
CAP = 20_000


class Recorder(Strategy):
    """Writes every bar it is given (and the quote and time of the call) into its state."""

    timeframes = ("1m", "5m", "1d")
    keep = 3
    state = {"rows": (np.int64, CAP * ROW), "n": np.int64}

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        st = ctx.state[0]
        b = bar(ctx, tf, s, 0)
        k = st.n * ROW
        if st.n < CAP:
            vals = (tf, s, b.ts_open, b.ts_close, b.open, b.high, b.low, b.close, b.n_ticks, b.spread_min,
                    b.spread_max, b.spread_sum, bid(ctx, s) + ask(ctx, s), now(ctx), n_bars(ctx, tf, s))
            for j in range(ROW):
                st.rows[k + j] = vals[j]
            st.n += 1


@pytest.fixture(scope="module")
def three_days() -> pl.DataFrame:
    return ticks_frame(6000, seed=5, gap_ms=80_000)  # about three days


def test_bars_in_the_run_match_a_plain_aggregation(three_days):
    res = bt.run(three_days, strategy=Recorder)
    st = res.strategy_state[0]
    got = st["rows"][: int(st["n"]) * ROW].reshape(-1, ROW)
    assert int(st["n"]) < CAP
    expected = []
    for tf, ref in enumerate((python_bars(three_days, MIN), python_bars(three_days, 5 * MIN),
                              python_bars(three_days, 0, bucket=ny_day))):
        for b in ref:
            if b[-1] is not None:  # closed by a later tick
                expected.append((b[-1], b[2], tf, b[0], b))
    expected.sort(key=lambda x: x[:4])  # by closing tick, ts_close, timeframe, symbol
    assert len(expected) == got.shape[0]
    assert any(e[2] == 2 for e in expected)  # day bars were closed
    for row, (_, _, tf, _, b) in zip(got, expected, strict=True):
        assert tuple(row[:2]) == (tf, b[0])
        assert tuple(row[2:12]) == b[1:11]
        assert row[12] == b[6]  # the quote at on_bar is the bar's last tick (mid basis: bid + ask)
        assert row[13] == b[2]  # actions of on_bar are stamped with ts_close


class Busy(Strategy):
    """Every action kind, drawn from a seeded generator, on 1m bars (for the replay test)."""

    timeframes = ("1m",)
    keep = 2
    max_actions = 4
    params = {"seed": 7}
    state = {"x": np.int64, "last": (np.int64, 2), "group": np.int64}

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        st = ctx.state[0]
        if st.x == 0:
            st.x = ctx.params[0].seed
        st.x = (st.x * 6364136223846793005 + 1442695040888963407) & 0x7FFFFFFFFFFFFFFF
        r = (st.x >> 33) % 9
        q = 1 + (st.x >> 20) % 3
        b = bid(ctx, s)
        a = ask(ctx, s)
        if r == 0:
            k = buy(ctx, s, q)
            set_stops(ctx, k, K_TICKS, 8, K_TICKS, 12)
        elif r == 1:
            sell(ctx, s, q)
        elif r == 2:
            st.last[s] = submit(ctx, s, 1, q, OT_LIMIT, b - 2, 0.0)
        elif r == 3:
            st.last[s] = submit(ctx, s, -1, q, OT_STOP, 0.0, b - 3)
        elif r == 4:
            st.group += 1
            k1 = submit(ctx, s, -1, q, OT_LIMIT, a + 4, 0.0)
            k2 = submit(ctx, s, -1, q, OT_STOP, 0.0, b - 4)
            set_oco(ctx, k1, st.group)
            set_oco(ctx, k2, st.group)
        elif r == 5:
            cancel(ctx, st.last[s])
        elif r == 6:
            modify(ctx, st.last[s], b - 1, 0.0, 0.0)
        elif r == 7:
            pid = oldest_position(ctx, s, 1 if net_qty(ctx, s) >= 0 else -1)
            if pid >= 0:
                close(ctx, pid, 0.0)
        else:
            close_symbol(ctx, s)


@pytest.mark.parametrize("mode", ["netting", "hedging"])
def test_strategy_orders_replayed_as_a_table_give_identical_results(mode):
    df = ticks_frame(30_000, seed=3)
    over = {"run.account_mode": mode, "run.log_level": "events"}
    res = bt.run(df, strategy=Busy, overrides=over)
    small = bt.run(df, strategy=Busy, overrides={**over, "run.chunk_rows": 997})
    table = res.strategy_orders
    assert table.height > 500  # the orders table grew many times (room for 4 + 0 rows at first)
    assert set(table["action"]) == {"new", "modify", "cancel", "close"}
    ref = bt.run(df, orders=table, overrides=over)
    cols = [c for c in res.orders.columns if c not in ("tag",)]
    assert res.orders.select(cols).equals(ref.orders.select(cols))
    assert res.fills.equals(ref.fills)
    assert res.positions.equals(ref.positions)
    assert res.events.equals(ref.events)
    assert res.fills.equals(small.fills) and res.orders.equals(small.orders)
    assert {"filled", "cancelled", "rejected", "applied"} <= set(res.orders["status"].cast(pl.String))


class Rejects(Strategy):
    """Actions the kernel refuses with a reason, once; the run goes on."""

    timeframes = ("1m",)
    state = {"done": np.int64}

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        st = ctx.state[0]
        if st.done == 1:
            return
        st.done = 1
        submit(ctx, s, 1, 1, OT_LIMIT, bid(ctx, s) - 0.5, 0.0)  # off the tick grid
        buy(ctx, s, 1.5)  # off the lot step
        cancel(ctx, 10_000)  # no such order
        buy(ctx, s, 1)  # fine


def test_off_tick_off_step_and_unknown_refs_are_rejected_and_the_run_goes_on():
    res = bt.run(ticks_frame(2000, seed=1), strategy=Rejects)
    o = res.orders.sort("order_id")
    assert o["reason"].cast(pl.String).to_list()[:3] == ["off_tick", "off_step", "unknown_ref"]
    assert o["status"].cast(pl.String).to_list() == ["rejected", "rejected", "rejected", "filled"]


class TickFlip(Strategy):
    """on_tick: count ticks, flip the position every ``every`` ticks; on_fill: count calls."""

    params = {"every": 500}
    state = {"ticks": np.int64, "fill_calls": np.int64, "last_fill_ts": np.int64}

    @staticmethod
    @njit
    def on_tick(ctx, s):
        st = ctx.state[0]
        st.ticks += 1
        if st.ticks % ctx.params[0].every == 0:
            q = net_qty(ctx, s)
            if q > 0:
                sell(ctx, s, 2 * q)
            elif q < 0:
                buy(ctx, s, -2 * q)
            else:
                buy(ctx, s, 1)

    @staticmethod
    @njit
    def on_fill(ctx, s):
        st = ctx.state[0]
        st.fill_calls += 1
        st.last_fill_ts = now(ctx)


def test_on_tick_and_on_fill_are_called_after_each_tick():
    df = ticks_frame(20_000, seed=9)
    res = bt.run(df, strategy=TickFlip, overrides={"run.chunk_rows": 1500})
    st = res.strategy_state[0]
    assert st["ticks"] == df.height
    fill_ticks = res.fills["ts"].unique()
    assert st["fill_calls"] == fill_ticks.len() > 10
    assert st["last_fill_ts"] == res.fills["ts"].cast(pl.Int64).max()
    ref = bt.run(df, orders=res.strategy_orders)
    assert res.fills.equals(ref.fills)


class Raiser(Strategy):
    name = "raiser"
    timeframes = ("1m",)
    params = {"at": 5}
    state = {"n": np.int64}

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        st = ctx.state[0]
        st.n += 1
        if st.n == ctx.params[0].at:
            raise ValueError("boom")


class TooFar(Strategy):
    timeframes = ("1m", "5m")
    keep = 2

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        if tf == 1:
            bar(ctx, tf, s, 2)


def test_a_failing_callback_names_the_strategy_the_callback_and_the_time(tmp_path):
    df = ticks_frame(3000, seed=2)
    out = tmp_path / "out"
    with pytest.raises(StrategyError, match=r"strategy raiser: on_bar \(1m bar\) at 2024-01-02T00:0\d:00\+00:00: "
                                            "raised an exception"):
        bt.run(df, strategy=Raiser, out=out)
    assert not out.exists()
    with pytest.raises(StrategyError, match=r"strategy TooFar: on_bar \(5m bar\) at .*: asked for a 5m bar beyond "
                                            "the 2 kept"):
        bt.run(df, strategy=TooFar)


def test_bad_declarations_and_arguments_are_named():
    df = ticks_frame(500, seed=2)
    with pytest.raises(ConfigError, match="strategy sma_cross has no parameter 'fsat' .*fast, slow, qty"):
        bt.run(df, strategy=SmaCross, params={"fsat": 3})
    with pytest.raises(ConfigError, match="parameter fast of strategy sma_cross: 'x' is not an integer"):
        bt.run(df, strategy=SmaCross, params={"fast": "x"})

    class BadTf(SmaCross):
        timeframes = ("15x",)

    with pytest.raises(ConfigError, match="strategy sma_cross: timeframe '15x' does not parse"):
        bt.run(df, strategy=BadTf)
    with pytest.raises(ConfigError, match="takes the place of orders= and signals="):
        bt.run(df, strategy=SmaCross, signals=pl.DataFrame({"ts": [], "symbol": [], "target": []}))


def test_the_engine_is_compiled_once_whatever_the_strategy():
    df = ticks_frame(1000, seed=4)
    bt.run(df, strategy=SmaCross, params={"fast": 2, "slow": 4})
    bt.run(df, strategy=TickFlip)
    bt.run(df)
    assert len(engine.run_chunk.signatures) == 1


class WeekRecorder(Recorder):
    timeframes = ("1w",)


def _ny_week(t: int) -> tuple[int, int]:
    """The week holding ``t``: trading days labelled Monday..Sunday (a day is labelled by the
    New York date on which it ends at 17:00)."""
    ny = ZoneInfo("America/New_York")
    local = datetime.fromtimestamp(t / 1e9, ny)
    label = local.date() + (timedelta(days=1) if local.hour >= 17 else timedelta(0))
    monday = label - timedelta(days=label.weekday())

    def at17(d):
        return int(datetime(d.year, d.month, d.day, 17, tzinfo=ny).timestamp()) * 10**9

    return at17(monday - timedelta(days=1)), at17(monday + timedelta(days=6))


def test_week_bars_run_from_sunday_17_new_york():
    df = ticks_frame(5000, seed=8, gap_ms=1_000_000)  # about eight weeks, across the March clock change
    df = df.with_columns((pl.col("ts") + pl.duration(days=60)).cast(pl.Datetime("ns", "UTC")))
    res = bt.run(df, strategy=WeekRecorder)
    st = res.strategy_state[0]
    got = st["rows"][: int(st["n"]) * ROW].reshape(-1, ROW)
    expected = sorted(((b[-1], b[2], b[0]), b) for b in python_bars(df, 0, bucket=_ny_week) if b[-1] is not None)
    assert len(expected) >= 3
    assert [tuple(r[2:12]) for r in got] == [b[1:11] for _, b in expected]


class StartEnd(Strategy):
    state = {"n_fills_at_end": np.int64, "end_ts": np.int64, "open_at_end": np.int64}

    @staticmethod
    @njit
    def on_start(ctx):
        buy(ctx, 1, 3)

    @staticmethod
    @njit
    def on_end(ctx):
        st = ctx.state[0]
        st.n_fills_at_end = ctx.acct[0].n_fills
        st.end_ts = now(ctx)
        st.open_at_end = net_qty(ctx, 1)


def test_on_start_acts_after_the_first_tick_and_on_end_sees_the_last_state():
    df = ticks_frame(300, seed=6)
    res = bt.run(df, strategy=StartEnd, overrides={"run.close_at_end": True})
    first = df["ts"][0]
    o = res.orders
    assert o.height == 1 and o["ts"][0] == first and o["status"].cast(pl.String)[0] == "filled"
    gbp = df.filter((pl.col("symbol") == "GBPUSD") & (pl.col("ts") > first))
    assert res.fills["ts"][0] == gbp["ts"][0]  # the first GBPUSD tick after the first tick
    st = res.strategy_state[0]
    assert st["n_fills_at_end"] == 1 and st["open_at_end"] == 3  # before the end of data closed it
    assert st["end_ts"] == df["ts"].cast(pl.Int64)[-1]
    assert res.fills.height == 2  # the close at the end of the data
