"""Tags and good-till-date expiry of a strategy's orders (docs/strategies.md §4).

Expected values are read off the ticks by hand: the first tick at which a buy
limit can fill (``ask <= price``) decides whether a GTD order fills or expires.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from backtestr.kernels.records import OT_LIMIT
from numba import njit

import backtestr as bt
from backtestr.errors import ConfigError
from backtestr.strategies import Strategy, StrategyError
from backtestr.strategies.context import bid, buy, close_symbol, now, set_expiry, set_tag, set_tif, submit
from tests.strategy_kit import TICK, ticks_frame


class Tagger(Strategy):
    """Hedging: on the 50th, 100th, 150th and 200th tick of symbol 0 a buy tagged 0, 1, 7 and
    none; on the 300th every position is closed (an untagged close)."""

    tags = ("alpha", "beta")
    state = {"n": np.int64}

    @staticmethod
    @njit
    def on_tick(ctx, s):
        if s != 0:
            return
        st = ctx.state[0]
        st.n += 1
        if st.n == 50:
            set_tag(ctx, buy(ctx, 0, 1), 0)
        elif st.n == 100:
            set_tag(ctx, buy(ctx, 0, 2), 1)
        elif st.n == 150:
            set_tag(ctx, buy(ctx, 0, 3), 7)
        elif st.n == 200:
            buy(ctx, 0, 4)
        elif st.n == 300:
            close_symbol(ctx, 0)


def test_tags_show_in_the_orders_log_and_the_statistics_by_tag():
    df = ticks_frame(3000, seed=4)
    over = {"run.account_mode": "hedging"}
    res = bt.run(df, strategy=Tagger, overrides=over)
    o = res.orders.sort("order_id")
    assert o["tag"].to_list() == ["alpha", "beta", "7", None, None]
    assert o["status"].cast(pl.String).to_list() == ["filled"] * 5
    by_tag = {r["tag"]: r for r in res.stats().by_tag.to_dicts()}
    assert {k: v["trades"] for k, v in by_tag.items()} == {"alpha": 1, "beta": 1, "7": 1, "(none)": 1}
    # one position per buy (hedging), opened by orders 0..3: the tag of its opening order
    assert res.positions.sort("position_id")["position_id"].to_list() == [0, 1, 2, 3]
    # the replayed orders table carries the names: the same orders log, tags included
    assert res.strategy_orders["tag"].to_list() == ["alpha", "beta", "7", None, None]
    ref = bt.run(df, orders=res.strategy_orders, overrides=over)
    assert ref.orders.sort("order_id").select("order_id", "tag", "status").equals(o.select("order_id", "tag", "status"))
    assert ref.fills.equals(res.fills)


class Expiring(Strategy):
    """At the first tick of symbol 0, four buy limits ``off`` ticks under the bid: D expiring at
    ``late``, A at ``early`` (written after D: the expiry list is kept sorted), B good till
    cancelled, C expiring now (rejected)."""

    params = {"off": 20, "early": 0, "late": 0}
    state = {"done": np.int64}

    @staticmethod
    @njit
    def on_tick(ctx, s):
        st = ctx.state[0]
        if s != 0 or st.done == 1:
            return
        st.done = 1
        p = ctx.params[0]
        price = bid(ctx, 0) - p.off
        d = submit(ctx, 0, 1, 1, OT_LIMIT, price, 0.0)
        set_expiry(ctx, d, p.late)
        a = submit(ctx, 0, 1, 1, OT_LIMIT, price, 0.0)
        set_expiry(ctx, a, p.early + 5)
        set_expiry(ctx, a, p.early)  # set again: the second replaces the first
        submit(ctx, 0, 1, 1, OT_LIMIT, price, 0.0)
        c = submit(ctx, 0, 1, 1, OT_LIMIT, price, 0.0)
        set_expiry(ctx, c, now(ctx))


def _first_fill_tick(df: pl.DataFrame, off: int) -> tuple[int, int]:
    """(ts of the first tick of EURUSD, ts of the first later EURUSD tick with ask <= bid0 - off)."""
    e = df.filter(pl.col("symbol") == "EURUSD")
    ts = e["ts"].cast(pl.Int64).to_numpy()
    bids = np.rint(e["bid"].to_numpy() / TICK).astype(np.int64)
    asks = np.rint(e["ask"].to_numpy() / TICK).astype(np.int64)
    price = bids[0] - off
    hit = np.flatnonzero((asks <= price) & (ts > ts[0]))
    assert hit.size > 0
    return int(ts[0]), int(ts[hit[0]])


def test_gtd_orders_expire_at_their_time_and_an_expiry_not_after_now_is_rejected():
    df = ticks_frame(4000, seed=9, symbols=("EURUSD",))
    t0, t_fill = _first_fill_tick(df, 20)
    assert t_fill > t0 + 10**9
    # A expires at the very tick it would have filled on (working on ticks with ts < expire);
    # D, one ns later, fills there
    res = bt.run(df, strategy=Expiring, params={"early": t_fill, "late": t_fill + 1},
                 overrides={"run.log_level": "events"})
    o = res.orders.sort("order_id")
    assert o["status"].cast(pl.String).to_list() == ["filled", "expired", "filled", "rejected"]
    reasons = o["reason"].cast(pl.String).to_list()
    assert (reasons[1], reasons[3]) == ("expiry", "expiry_past")
    assert o["tif"].cast(pl.String).to_list() == ["gtd", "gtd", "gtc", "gtd"]
    assert o["expire_ts"].cast(pl.Int64).to_list()[:2] == [t_fill + 1, t_fill]
    assert res.fills.sort("order_id")["ts"].cast(pl.Int64).to_list() == [t_fill, t_fill]
    # the same orders as a table give the same orders log
    ref = bt.run(df, orders=res.strategy_orders, overrides={"run.log_level": "events"})
    cols = ["order_id", "status", "reason", "tif", "expire_ts"]
    assert ref.orders.sort("order_id").select(cols).equals(o.select(cols))
    # an expiry after the fill leaves A to fill too
    later = bt.run(df, strategy=Expiring, params={"early": t_fill + 1, "late": t_fill + 2})
    assert later.orders.sort("order_id")["status"].cast(pl.String).to_list() == \
        ["filled", "filled", "filled", "rejected"]


class BadTag(Strategy):
    @staticmethod
    @njit
    def on_tick(ctx, s):
        set_tag(ctx, buy(ctx, s, 1), -1)


class TifAfterExpiry(Strategy):
    @staticmethod
    @njit
    def on_tick(ctx, s):
        k = buy(ctx, s, 1)
        set_expiry(ctx, k, now(ctx) + 10**9)
        set_tif(ctx, k, 0)


@pytest.mark.parametrize("cls", [BadTag, TifAfterExpiry])
def test_a_negative_tag_or_set_tif_after_set_expiry_stops_the_run(cls):
    with pytest.raises(StrategyError, match="negative tag|set_tif after set_expiry"):
        bt.run(ticks_frame(200, seed=1), strategy=cls)


def test_tags_must_be_names():
    class Bad(Tagger):
        tags = ("ok", "")

    with pytest.raises(ConfigError, match="tags"):
        bt.run(ticks_frame(200, seed=1), strategy=Bad)


class GtdMany(Strategy):
    """On every tick of symbol 0 a buy limit ``off`` ticks under the bid, good for 2 s and 20 s by
    turns (so expiries are written out of their order); the orders table grows many times."""

    params = {"off": 6}
    state = {"n": np.int64}

    @staticmethod
    @njit
    def on_tick(ctx, s):
        if s != 0:
            return
        st = ctx.state[0]
        st.n += 1
        k = submit(ctx, 0, 1, 1, OT_LIMIT, bid(ctx, 0) - ctx.params[0].off, 0.0)
        set_expiry(ctx, k, now(ctx) + (2 if st.n % 2 else 20) * 10**9)


def test_many_gtd_orders_each_fill_or_expire_by_the_ticks_before_their_expiry():
    df = ticks_frame(3000, seed=6, symbols=("EURUSD",))
    res = bt.run(df, strategy=GtdMany, overrides={"run.log_level": "events"})
    o = res.orders.sort("order_id").with_columns(t=pl.col("ts").cast(pl.Int64), x=pl.col("expire_ts").cast(pl.Int64))
    assert o.height == 3000
    ts = df["ts"].cast(pl.Int64).to_numpy()
    asks = np.rint(df["ask"].to_numpy() / TICK).astype(np.int64)
    seen = {"filled": 0, "expired": 0}
    for r in o.iter_rows(named=True):
        # the ticks it works on: after its stamp, before its expiry
        lo, hi = np.searchsorted(ts, r["t"], "right"), np.searchsorted(ts, r["x"], "left")
        can = bool((asks[lo:hi] <= r["price_ticks"]).any())
        st = r["status"]
        if hi >= ts.shape[0] and not can:
            continue  # the data ends before its expiry: unfilled
        assert st == ("filled" if can else "expired"), r
        seen[st] += 1
    assert seen["filled"] > 100 and seen["expired"] > 100
    ref = bt.run(df, orders=res.strategy_orders, overrides={"run.log_level": "events"})
    cols = ["order_id", "status", "reason", "expire_ts", "fill_ts"]
    assert ref.orders.sort("order_id").select(cols).equals(o.select(cols))
