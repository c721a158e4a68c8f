"""The position table grows by open positions; ids are the opening orders' ids."""

import datetime as dt

import numpy as np
import polars as pl
from backtestr.kernels.alloc import grow_positions, grow_stacks, new_book, regions
from backtestr.kernels.records import HK_PREV, ORDER, PARAMS

import backtestr as bt


def test_many_reversals_past_the_initial_capacity():
    # 3000 ticks, a target flipping between +0.01 and -0.01 lots after every tick:
    # every signal after the first reverses, so 3000 positions are opened, far past
    # the 1024 initial slots, one open at a time. A position's id is the id of the
    # order that opened it: signal i (its row number) opens position i.
    n = 3000
    t0 = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    ts = [t0 + dt.timedelta(seconds=i) for i in range(n + 1)]
    ticks = pl.DataFrame({"ts": ts, "symbol": ["EURUSD"] * (n + 1), "bid": [1.1] * (n + 1),
                          "ask": [1.10002] * (n + 1)})
    signals = pl.DataFrame({"ts": ts[:n], "symbol": ["EURUSD"] * n,
                            "target": [0.01 if i % 2 == 0 else -0.01 for i in range(n)]})
    res = bt.run(ticks, signals=signals)
    pos = res.positions
    assert pos.height == n
    assert sorted(pos["position_id"].to_list()) == list(range(n))
    # each reversal's position names the one it reversed as its parent
    par = dict(zip(pos["position_id"].to_list(), pos["parent_id"].to_list(), strict=True))
    assert par[0] == -1 and all(par[i] == i - 1 for i in range(1, n))
    assert pos["is_open"].sum() == 1
    s = res.summary
    assert s["final_cash_minor"] == s["initial_cash_minor"] + s["realized_pnl_minor"] - s["commission_minor"]
    # each round trip buys at ask and sells at bid: 2 ticks x 1 step x 1 cent = 2 cents lost per close
    assert s["realized_pnl_minor"] == -2 * (n - 1)


def test_grow_only_when_every_slot_is_taken():
    params = np.zeros(1, PARAMS)
    orders = np.zeros(0, ORDER)
    book = new_book(1, orders, params, capacity=4)
    assert grow_positions(book) is book  # slots free: nothing grows
    book.acct[0]["n_free"] = 0
    v = regions(book)
    v["psl"][:, :] = 7  # live heap links must be carried over
    v["ptp"][:, :] = 8
    v["xs_seq"][0, 2, :] = 9
    g2 = grow_positions(book)
    v2 = regions(g2)
    assert g2.pos.shape[0] == 8 and v2["psl"].shape[0] == 8 and v2["ptp"].shape[0] == 8
    assert int(g2.acct[0]["n_free"]) == 4
    assert sorted(v2["free"][:4].tolist()) == [4, 5, 6, 7]
    assert (v2["psl"][:4] == 7).all() and (v2["ptp"][:4] == 8).all()
    assert (v2["psl"][4:, HK_PREV] == -2).all() and (v2["ptp"][4:, HK_PREV] == -2).all()
    assert (v2["slot"] == -1).all() and (v2["xs_seq"][0, 2] == 9).all()


def test_stacks_grow_keeping_their_entries():
    params = np.zeros(1, PARAMS)
    book = new_book(2, np.zeros(0, ORDER), params, stack_capacity=2)
    v = regions(book)
    v["xs_seq"][1, 3, :] = [5, 6]
    v["xs_val"][1, 3, :] = [7, 8]
    v["xs_n"][1, 3] = 2
    v["psl"][:, :] = 3
    g = grow_stacks(book)
    v2 = regions(g)
    assert v2["xs_seq"].shape == (2, 4, 4)
    assert v2["xs_seq"][1, 3, :2].tolist() == [5, 6] and v2["xs_val"][1, 3, :2].tolist() == [7, 8]
    assert v2["xs_n"][1, 3] == 2 and (v2["psl"] == 3).all()
