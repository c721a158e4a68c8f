"""The position table grows by open positions, the id map by positions ever opened."""

import datetime as dt

import numpy as np
import polars as pl
from backtestr.kernels.records import PARAMS, grow_positions, new_book

import backtestr as bt


def test_many_reversals_past_the_initial_capacity():
    # 3000 ticks, a target flipping between +0.01 and -0.01 lots after every tick:
    # every signal after the first reverses, so 3000 positions are opened (ids
    # 0..2999), far past the 1024 initial slots and ids, with one open at a time.
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
    assert pos["is_open"].sum() == 1
    s = res.summary
    assert s["final_cash_minor"] == s["initial_cash_minor"] + s["realized_pnl_minor"] - s["commission_minor"]
    # each round trip buys at ask and sells at bid: 2 ticks x 1 step x 1 cent = 2 cents lost per close
    assert s["realized_pnl_minor"] == -2 * (n - 1)


def test_grow_only_what_is_full():
    params = np.zeros(1, PARAMS)
    book = new_book(1, np.zeros(0, dtype=[("x", "i8")]), params, capacity=4)
    # every id used but slots free: only the id map grows
    book.acct[0]["n_positions"] = 4
    grown = grow_positions(book)
    assert grown.pos.shape[0] == 4
    assert grown.slot_of_id.shape[0] == 8
    # every slot taken: the slot table doubles and its new slots are free
    grown.acct[0]["n_free"] = 0
    g2 = grow_positions(grown)
    assert g2.pos.shape[0] == 8
    assert int(g2.acct[0]["n_free"]) == 4
    assert sorted(g2.free[:4].tolist()) == [4, 5, 6, 7]
