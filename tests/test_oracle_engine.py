"""The order-engine oracle (``tests/oracle_engine.py``) checked by hand, then the kernel against it.

Part 1 works small scenarios out by hand (in the comments) for each rule of
``docs/execution.md``, so the oracle can be trusted.  Part 2 draws random
scenarios (``tests.scenarios.engine_scenario``) and compares ``backtestr.run``
with the oracle fill by fill, order by order and position by position, in
several chunkings.

Units in Part 1: EURUSD, tick 0.00001, lot step 0.01, contract 100000, USD
account with 2 digits, so one tick on one lot step is 1 cent (V = 1) and one
tick on 1 lot (100 steps) is 100 minor.  Prices are written in ticks in the
comments (1.10002 = 110002).  ``T`` is 2024-01-01 00:00 UTC, a Monday.

Rules the rule book leaves open, as the oracle reads them (``INTERPRETATION``):

1. Market and target orders join the working queue when they act and are
   checked (qty, bad_stops) when step 4 reaches them: with no later tick of
   their symbol they end ``unfilled``.  Limit, stop and stop-limit orders (IOC
   ones too) are checked as they act (§4: "when the order acts").  A close
   joins its symbol's queue and looks at what is open when step 4 reaches it.
2. Step 5 "best price first" within a book: the order the quote is furthest
   through (lowest buy stop, highest sell stop, highest buy limit, lowest sell
   limit).  The order index is the row (orders, then signals); ``id`` only names.
3. Step 6 "worst stop first": stop-losses by how far the quote is through
   them, furthest first, across longs and shorts, ties by position id;
   take-profits after, likewise.  (The kernel appears to take longs first.)
4. GTD: an order that reaches ``expire`` before it has acted expires too.
5. Netting: an increase replaces only the stops its order carries (distances
   from its own fill price); a reduce keeps the position's stops but its
   order's stops are still checked (bad_stops) as for its own side.
6. A stop of 0 in any form is no stop (new) or removes it (modify).  A modify
   that puts a pending order's stops on the wrong side, or its qty out of
   bounds, is itself rejected and the order is unchanged.  A position modify
   checks the sl and tp the position would have (given or kept).  Setting a
   trail restarts it at once from the symbol's current quote; its activation
   counts from the fill price (the rounded average on a modify).
7. ``qty`` applies to a close of position ``ref`` only.  In hedging every
   position closed (close, target) is its own fill, with its own commission
   and price (slippage draw); a netting reversal is one price with the
   commission split.  A target's "oldest first" is by opening order index too.
8. Trailing: the first stop is placed on the activating quote; later moves
   need ``max(trail_step, 1)`` ticks of tightening.
9. Swap: the weekday multiplier is inside ``R``; the notional uses the last
   quote, the current tick's own included; funding instants are
   ``funding_time + k * interval`` from the epoch.
10. ``mae_ticks``/``mfe_ticks`` are the extreme quotes themselves; the money
    uses the position's final entry totals.  Size slippage uses the ask size
    for a buy, the bid size for a sell.
11. End of data closes open positions in position-id order at market prices
    (the execution model and slippage apply).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings

from tests.oracle import OCommission
from tests.oracle_engine import EConfig, EInstrument, simulate
from tests.scenarios import BASE_TS as T
from tests.scenarios import EngineScenario, engine_scenario

H = 3600 * 10**9
EUR = EInstrument("EURUSD", D("0.00001"), D("0.01"), D("100000"), min_qty=D("0.01"))


def px(ticks: int) -> D:
    return D(ticks) * EUR.tick_size


def tk(ts, bid, ask, sym="EURUSD"):
    return (ts, sym, px(bid) if sym == "EURUSD" else D(bid), px(ask) if sym == "EURUSD" else D(ask))


def od(ts, side=None, qty="1", type="market", sym="EURUSD", **kw):
    row = {"ts": ts, "symbol": sym, "side": side, "qty": None if qty is None else D(qty), "type": type}
    for k in ("price", "stop", "sl", "tp", "trail"):
        if isinstance(kw.get(k), int):
            kw[k] = px(kw[k])
    return {**row, **kw}


def run(ticks, orders, signals=(), inst=None, comm=None, **cfg):
    cfg.setdefault("initial_cash", D("100000"))
    return simulate(lead(ticks, orders, signals), orders, inst or {"EURUSD": EUR}, comm or OCommission(),
                    EConfig(**cfg), signals)


def lead(ticks, orders, signals=()):
    """``ticks`` with a copy of the first one at the first order's ``ts`` when an order comes
    before the data (a market order acting before the first tick is rejected, §2): the orders
    of these hand-worked cases then act on the ticks they were written for."""
    t0 = min((o["ts"] for o in (*orders, *signals)), default=ticks[0][0])
    return ticks if t0 >= ticks[0][0] else [(t0, *ticks[0][1:]), *ticks]


def fills(res, *keys):
    keys = keys or ("order_id", "position_id", "ts", "effect", "price_ticks", "qty_steps")
    return [tuple(f[k] for k in keys) for f in res.fills]


def status(res):
    return [(o["order_id"], o["status"], o["reason"]) for o in res.orders]


def pos(res, pid):
    return next(p for p in res.positions if p["position_id"] == pid)


# ---------------------------------------------------------------------------------------------
# Part 1: hand-worked checks of the oracle
# ---------------------------------------------------------------------------------------------


def test_ids_reversal_parent_and_split_commission():
    # id 50 buys 1 at t10's ask 110002 -> position 50.  id 70 sells 3 at t20's bid 110010: closes
    # 1 lot of 50 (P&L (110010-110002) x 100 steps = 800) and opens short 2 as position 70,
    # parent 50.  Commission 1.00 per lot: buy 100; sell 300 split R(300 x 1/3) = 100 / 200.
    # End of data closes 70 at t30's ask 110022: (110010-110022) x 200 = -2400, commission 200.
    # Cash 10_000_000 - 100 + 800 - 300 - 2400 - 200 = 9_997_800.
    res = run([tk(10, 110000, 110002), tk(20, 110010, 110012), tk(30, 110020, 110022)],
              [od(5, "buy", "1", id=50), od(15, "sell", "3", id=70)],
              comm=OCommission(per_lot=D("1")), close_at_end=True)
    assert fills(res, "order_id", "position_id", "effect", "commission_minor", "realized_pnl_minor") == [
        (50, 50, "open", 100, 0), (70, 50, "close", 100, 800), (70, 70, "open", 200, 0),
        (-1, 70, "close", 200, -2400)]
    assert (pos(res, 70)["parent_id"], pos(res, 70)["exit_reason"], pos(res, 50)["exit_reason"]) == (
        50, "end_of_data", "signal")
    assert res.final_cash_minor == 9_997_800


def test_hedging_positions_and_close_action():
    # Hedging: 0 buys 1, 1 buys 2, 2 sells 1, all at t10 (ask 110002 / bid 110000): three positions.
    # 3 closes 0.5 of position 1 at t20's bid 110010: reduce, (110010-110002) x 50 = 400.
    # 4 closes every EURUSD position, oldest (lowest opening order index) first, at t30: 0 at bid
    # 110020 (+1800), 1's other 1.5 at 110020 (+2700), 2 at ask 110022 ((110000-110022) x 100 = -2200).
    # At t40: 5 (close, nothing open) -> nothing_to_close; 6 (close ref 0, closed) -> not_working;
    # then 8 buys 1 (position 8).  9 closes ref 8 from GBPUSD's queue (t50) -> unknown_ref.
    # 7 cancels id 999, stamped after the data: unknown_ref before the run (not "unfilled").
    # Closes that closed something end "filled".
    res = run([tk(10, 110000, 110002), tk(20, 110010, 110012), tk(30, 110020, 110022), tk(40, 1, 2),
               (50, "GBPUSD", D("1.27000"), D("1.27002"))],
              [od(5, "buy", "1"), od(5, "buy", "2"), od(5, "sell", "1"),
               od(15, qty="0.5", action="close", ref=1), od(25, qty=None, action="close"),
               od(35, qty=None, action="close"), od(35, qty=None, action="close", ref=0),
               od(1000, qty=None, action="cancel", ref=999), od(35, "buy", "1"),
               od(45, qty=None, action="close", ref=8, sym="GBPUSD")],
              inst={"EURUSD": EUR, "GBPUSD": EInstrument("GBPUSD", D("0.00001"), D("0.01"), D("100000"))},
              account_mode="hedging")
    assert fills(res, "order_id", "position_id", "effect", "realized_pnl_minor") == [
        (0, 0, "open", 0), (1, 1, "open", 0), (2, 2, "open", 0), (3, 1, "reduce", 400),
        (4, 0, "close", 1800), (4, 1, "close", 2700), (4, 2, "close", -2200), (8, 8, "open", 0)]
    assert [s[1:] for s in status(res)] == [("filled", "none")] * 5 + [
        ("rejected", "nothing_to_close"), ("rejected", "not_working"), ("rejected", "unknown_ref"),
        ("filled", "none"), ("rejected", "unknown_ref")]


def test_pending_entries_fill_by_book_side_and_price():
    # All act on t20 (bid = ask = 110005), hedging, perfect.  Rows: 0 sell limit 110000, 1 buy limit
    # 110010, 2 sell stop 110010, 3 buy stop 110000, 4 buy stop 110003 -- all trigger.  Step 5:
    # buy stops best price first (3: 5 ticks through, then 4: 2 ticks), sell stops (2), buy limits (1),
    # sell limits (0).  Perfect prices are the orders' own.
    res = run([tk(20, 110005, 110005)],
              [od(15, "sell", type="limit", price=110000), od(15, "buy", type="limit", price=110010),
               od(15, "sell", type="stop", stop=110010), od(15, "buy", type="stop", stop=110000),
               od(15, "buy", type="stop", stop=110003)], account_mode="hedging")
    assert fills(res, "order_id", "price_ticks") == [(3, 110000), (4, 110003), (2, 110010), (1, 110010),
                                                     (0, 110000)]


def test_hedging_target_closes_opposite_oldest_first():
    # Shorts: 0 (1 lot) and 1 (2 lots) at t10's bid 110000.  Signal 2 (target -1): net -3, delta +2:
    # buys at t20's ask 109992, closes 0 (+800) and 1 lot of 1 (+800).  Signal 3 (target +1): net -1,
    # delta +2 at t30's ask 109982: closes the rest of 1 (+1800), opens long 1 as position 3.
    res = run([tk(10, 110000, 110002), tk(20, 109990, 109992), tk(30, 109980, 109982)],
              [od(5, "sell", "1"), od(5, "sell", "2")],
              signals=[{"ts": 15, "symbol": "EURUSD", "target": D(-1)},
                       {"ts": 25, "symbol": "EURUSD", "target": D(1)}], account_mode="hedging")
    assert fills(res, "order_id", "position_id", "effect", "realized_pnl_minor", "price_ticks") == [
        (0, 0, "open", 0, 110000), (1, 1, "open", 0, 110000), (2, 0, "close", 800, 109992),
        (2, 1, "reduce", 800, 109992), (3, 1, "close", 1800, 109982), (3, 3, "open", 0, 109982)]


@pytest.mark.parametrize("model, want", [
    # A buy limit 110000, B buy limit 109998, C buy stop 110010 (sent at 35), slippage fixed 2.
    # t20 (ask 109998): A and B trigger; A is further through (2 ticks vs 0) so fills first.
    # perfect: limit prices 110000 / 109998; stop at its price 110010 on t40.
    ("perfect", [(0, 20, 110000), (1, 20, 109998), (2, 40, 110010)]),
    # realistic: limits at min(price, ask) = 109998 both; stop at ask + 2 = 110017.
    ("realistic", [(0, 20, 109998), (1, 20, 109998), (2, 40, 110017)]),
    # worst case: B needs ask <= 109997, so waits for t30 (ask 109992, fills at 109992).
    ("worst_case", [(0, 20, 109998), (1, 30, 109992), (2, 40, 110017)]),
])
def test_limit_and_stop_under_each_model(model, want):
    res = run([tk(10, 109995, 110003), tk(20, 109990, 109998), tk(30, 109984, 109992), tk(40, 110008, 110015)],
              [od(5, "buy", type="limit", price=110000), od(5, "buy", type="limit", price=109998),
               od(35, "buy", type="stop", stop=110010)],
              account_mode="hedging", model=model, slippage="fixed", slippage_ticks=2)
    assert fills(res, "order_id", "ts", "price_ticks") == want


def test_sell_price_floor_and_spread_slippage():
    # XYZ: tick 1, so prices are ticks.  Realistic, spread slippage x 0.5.
    # t10 bid 3 ask 8: spread 5 -> s = R(2.5) = 2; the sell gets max(1, 3 - 2) = 1.
    # t20 bid 10 ask 13: spread 3 -> s = R(1.5) = 2; the buy pays 15.
    # t30 bid 10 ask 17: spread 7 -> s = R(3.5) = 4; end of data closes the long at 10 - 4 = 6.
    xyz = EInstrument("XYZ", D(1), D(1))
    res = run([(10, "XYZ", D(3), D(8)), (20, "XYZ", D(10), D(13)), (30, "XYZ", D(10), D(17))],
              [od(5, "sell", sym="XYZ"), od(15, "buy", "2", sym="XYZ")], inst={"XYZ": xyz},
              model="realistic", slippage="spread", slippage_spread=D("0.5"), close_at_end=True)
    assert fills(res, "price_ticks", "effect") == [(1, "open"), (15, "close"), (15, "open"), (6, "close")]


def test_size_slippage_and_trailing_percent():
    # XYZ (tick 1, step 1), realistic, size slippage with slippage_ticks 3.
    # t10 bid 100 ask 102, sizes 5 / 4: buy 10 pays s = R(3 x 10 / 4) = R(7.5) = 8 -> 110.  trail_pct 5:
    # hwm 100, d = R(5.0) = 5, stop 95.  t20 bid 103 (no sizes): d = R(5.15) = 5, stop 98.
    # t30 bid 98 <= 98: "trailing"; no size, so s = 3: sold at 98 - 3 = 95.
    xyz = EInstrument("XYZ", D(1), D(1))
    res = run([(10, "XYZ", D(100), D(102), D(5), D(4)), (20, "XYZ", D(103), D(104)), (30, "XYZ", D(98), D(99))],
              [od(5, "buy", "10", sym="XYZ", trail_pct=D(5))], inst={"XYZ": xyz},
              model="realistic", slippage="size", slippage_ticks=3)
    assert fills(res, "price_ticks", "reason") == [(110, "signal"), (95, "trailing")]


def test_random_slippage_is_splitmix_of_fill_number():
    # s = 5 (fixed), seed 0.  Fill n draws splitmix64(0 + n*G) mod 6; the published SplitMix64
    # vectors for seed 0 are 0xE220A8397B1DCDAF (n=0) and 0x6E789E6AA1B965F4 (n=1):
    # mod 6 these are 1 and 0.  Buy at ask 110002 + 1; sell at bid 110010 - 0.
    # Worst case ignores the draw: 110002 + 5 and 110010 - 5.
    ticks = [tk(10, 110000, 110002), tk(20, 110010, 110012)]
    orders = [od(5, "buy"), od(15, "sell")]
    kw = dict(slippage="fixed", slippage_ticks=5, random_slippage=True, seed=0)
    assert fills(run(ticks, orders, model="realistic", **kw), "price_ticks") == [(110003,), (110010,)]
    assert fills(run(ticks, orders, model="worst_case", **kw), "price_ticks") == [(110007,), (110005,)]


@pytest.mark.parametrize("model, want", [("perfect", [(0, 20, 110020), (1, 30, 110012)]),
                                         ("realistic", [(0, 20, 110015), (1, 30, 110011)])])
def test_stop_limit_becomes_limit_on_its_trigger_tick(model, want):
    # 0: buy stop-limit stop 110009 price 110020: t20 ask 110015 >= 110009 converts it, and as a
    #    limit it fills on the same tick (perfect 110020, realistic min(110020, 110015) = 110015).
    # 1: buy stop-limit stop 110010 price 110012: converted on t20 but ask 110015 > 110012; on t30
    #    it is a limit (ask 110011 <= 110012): perfect 110012, realistic 110011.
    res = run([tk(10, 110000, 110005), tk(20, 110010, 110015), tk(30, 110008, 110011)],
              [od(5, "buy", type="stop_limit", stop=110009, price=110020),
               od(5, "buy", type="stop_limit", stop=110010, price=110012)], account_mode="hedging", model=model)
    assert fills(res, "order_id", "ts", "price_ticks") == want


def test_time_in_force():
    # 0: GTD limit expiring at 20: on t20 (ask 109990, would fill) it expires before matching.
    # 1: IOC limit 110000 checked once on t30 (ask 110005): cancelled, reason ioc.
    # 2: IOC limit 110010 on t30: fills at 110010.   3: GTD expiring after the data: unfilled.
    res = run([tk(10, 109998, 110003), tk(20, 109988, 109990), tk(30, 110000, 110005)],
              [od(5, "buy", type="limit", price=110000, tif="gtd", expire=20),
               od(25, "buy", type="limit", price=110000, tif="ioc"),
               od(25, "buy", type="limit", price=110010, tif="ioc"),
               od(5, "buy", type="limit", price=100000, tif="gtd", expire=1000)])
    assert [s[1:] for s in status(res)] == [("expired", "expiry"), ("cancelled", "ioc"), ("filled", "none"),
                                            ("unfilled", "none")]
    assert fills(res, "order_id", "ts", "price_ticks") == [(2, 30, 110010)]


def test_oco_cancels_the_others_even_on_the_same_tick():
    # Group 1: 0 buy limit 110000, 1 sell limit 110000, 2 sell stop 109000.  t20 bid = ask = 110000:
    # 0 and 1 both trigger, 0 ticks through each; the lower index (0) fills, 1 and 2 end "oco".
    # (t10, 109999 / 110003, triggers none of them.)
    res = run([tk(10, 109999, 110003), tk(20, 110000, 110000)],
              [od(5, "buy", type="limit", price=110000, oco=1), od(5, "sell", type="limit", price=110000, oco=1),
               od(5, "sell", type="stop", stop=109000, oco=1)])
    assert [s[1:] for s in status(res)] == [("filled", "none"), ("cancelled", "oco"), ("cancelled", "oco")]


def test_stop_forms_take_profit_and_worst_case_tp():
    # Market buy at t10's ask 110000 with sl_ticks 10 -> sl 109990, tp_pct 0.01 -> d = R(11.0) = 11 ticks
    # -> tp 110011.  t20 bid 110011 >= tp: take_profit at 110011 (perfect).  Worst case needs
    # bid >= 110012: t30 (bid 110012) fills at max(110011, 110012) = 110012.
    ticks = [tk(10, 109998, 110000), tk(20, 110011, 110013), tk(30, 110012, 110014)]
    orders = [od(5, "buy", sl_ticks=10, tp_pct=D("0.01"))]
    assert fills(run(ticks, orders), "position_id", "ts", "price_ticks", "reason") == [
        (0, 10, 110000, "signal"), (0, 20, 110011, "take_profit")]
    assert fills(run(ticks, orders, model="worst_case"), "ts", "price_ticks")[1] == (30, 110012)


def test_bad_stops_and_stop_loss_wins_over_take_profit():
    # 0: buy limit 110000 with sl 110000 (not below the entry) -> bad_stops when it acts.
    # 1: market buy with tp 109990, below t10's ask 110000 -> bad_stops when it would fill.
    # 2: buy 1 at t10 (110000) with tp 110003.  3: buy 1 at t20's ask 110010 with sl_ticks 2: an
    # increase sets sl 110008 and keeps tp 110003.  On t20 bid 110004 hits both: the stop-loss wins,
    # closing 2 lots at 110008: 110008 x 200 - (110000 + 110010) x 100 = 600.
    res = run([tk(10, 109998, 110000), tk(20, 110004, 110010)],
              [od(5, "buy", type="limit", price=110000, sl=110000), od(5, "buy", tp=109990),
               od(5, "buy", tp=110003), od(15, "buy", sl_ticks=2)])
    assert [s[2] for s in status(res)][:2] == ["bad_stops", "bad_stops"]
    assert fills(res, "order_id", "effect", "price_ticks", "reason", "realized_pnl_minor")[-1] == (
        -1, "close", 110008, "stop_loss", 600)


def test_modify_position_measures_from_rounded_average_entry():
    # Long 1 at 110000 (t10) + 1 at 110003 (t20): average R(220003/2 = 110001.5) = 110002 (tie: even).
    # 2 (at 25, acts on t30) sets sl_ticks 3 -> 109999 (t30's bid is 110001: 109999 < 110001, applied).
    # 3 (at 25) sets sl 110005 above the bid 110001 -> bad_stops.  4 modifies id 9 -> unknown_ref.
    # t40 bid 109999 <= 109999: stop_loss at 109999: 109999 x 200 - 220003 x 100 = -500.
    res = run([tk(10, 109998, 110000), tk(20, 110001, 110003), tk(30, 110001, 110003), tk(40, 109999, 110001)],
              [od(5, "buy"), od(15, "buy"), od(25, qty=None, action="modify", ref=0, sl_ticks=3),
               od(25, qty=None, action="modify", ref=0, sl=110005), od(25, qty=None, action="modify", ref=9)])
    assert [s[1:] for s in status(res)][2:] == [("applied", "none"), ("rejected", "bad_stops"),
                                                ("rejected", "unknown_ref")]
    assert fills(res, "price_ticks", "reason", "realized_pnl_minor")[-1] == (109999, "stop_loss", -500)


def test_modify_and_cancel_working_orders():
    # 0 buy limit 109990; 1 moves it to 109995 (applied); t20 ask 109995 fills it at 109995.
    # 2 cancels 0 after the fill -> not_working.  3 cancels 4 (a sell limit 120000) -> cancelled.
    res = run([tk(10, 109998, 110000), tk(20, 109993, 109995), tk(30, 109993, 109995)],
              [od(5, "buy", type="limit", price=109990), od(15, qty=None, action="modify", ref=0, price=109995),
               od(25, qty=None, action="cancel", ref=0), od(25, qty=None, action="cancel", ref=4),
               od(5, "sell", type="limit", price=120000)])
    assert fills(res, "order_id", "ts", "price_ticks") == [(0, 20, 109995)]
    assert [s[1:] for s in status(res)] == [("filled", "none"), ("applied", "none"),
                                            ("rejected", "not_working"), ("applied", "none"),
                                            ("cancelled", "cancelled")]


def test_trailing_activation_step_and_excursions():
    # Long 1 at 110000 (t10, bid 109998), trail 10 ticks, activation 5, step 3, sl 109980.
    # t20 bid 110004 (+4 < 5: waiting); t30 bid 110005: active, hwm 110005, stop 109995;
    # t40 bid 110007: 109997 is only 2 above -> stays; t50 bid 110008: 109998 (+3) -> moves;
    # t60 bid 110001: no trigger; t70 bid 109998 <= 109998: exit "trailing" (tighter than sl) at 109998.
    # MAE/MFE: bids 109998..110008 -> 109998 / 110008 ticks, -200 / +800 minor.
    bids = [109998, 110004, 110005, 110007, 110008, 110001, 109998]
    res = run([tk(10 * (i + 1), b, b + 2) for i, b in enumerate(bids)],
              [od(5, "buy", trail_ticks=10, trail_activation=5, trail_step=3, sl=109980)])
    assert fills(res, "ts", "price_ticks", "reason")[-1] == (70, 109998, "trailing")
    p = pos(res, 0)
    assert (p["mae_ticks"], p["mfe_ticks"], p["mae_minor"], p["mfe_minor"]) == (109998, 110008, -200, 800)


def test_trailing_updates_after_the_ticks_own_triggers_and_sl_reason():
    # Short 1 at t10's bid 110000, sl 110003, trail 10 ticks (no activation): after t10 (ask 110002) the
    # trailing stop is 110012, looser than sl -> t20 ask 110003 exits "stop_loss" at 110003.
    # MAE/MFE over asks 110002, 110003: worst 110003 (-300), best 110002 (-200).
    res = run([tk(10, 110000, 110002), tk(20, 110001, 110003)], [od(5, "sell", sl=110003, trail_ticks=10)])
    assert fills(res, "ts", "price_ticks", "reason")[-1] == (20, 110003, "stop_loss")
    p = pos(res, 0)
    assert (p["mae_ticks"], p["mfe_ticks"], p["mae_minor"], p["mfe_minor"]) == (110003, 110002, -300, -200)


def test_order_of_work_on_one_tick():
    # Hedging.  t10: 0 buys at 110002 with sl 109995; 1 is a buy limit 109994; 2 sells at 15.
    # t20 (109990/109992): step 4 fills 2 (open short at 109990), step 5 fills 1 (109994),
    # step 6 stops out 0 at 109995.
    res = run([tk(10, 110000, 110002), tk(20, 109990, 109992)],
              [od(5, "buy", sl=109995), od(5, "buy", type="limit", price=109994), od(15, "sell")],
              account_mode="hedging")
    assert fills(res, "order_id", "position_id", "effect", "price_ticks") == [
        (0, 0, "open", 110002), (2, 2, "open", 109990), (1, 1, "open", 109994), (-1, 0, "close", 109995)]


def test_latency_and_unfilled():
    # latency 10 ns: the buy stamped 5 acts at 15, so t10 is too early; it fills at t20.
    res = run([tk(10, 1, 2), tk(20, 3, 4)], [od(5, "buy"), od(5, "buy", type="limit", price=1)], latency_ns=10)
    assert fills(res, "order_id", "ts") == [(0, 20)]
    assert status(res)[1][1] == "unfilled"


def test_swap_points_weekday_multiplier_inside_r():
    # swap_long -2.5 points, swap_short +1.0 at 22:00, triple Wednesday.  0.03 lot: one point on it is
    # 3 cents, so a long pays 7.5 -> R = 8 per day and 22.5 -> R = 22 on Wednesday; a short gets 3 / 9.
    # Positions 0 (long) and 1 (short) open Mon 10:00; 2 (long) opens on the Tue 22:00 tick itself,
    # after that instant was charged.  Tue 22:00 tick: Mon + Tue instants; Thu 12:00: Wed; Fri 23:00: Thu, Fri.
    # 0: 8+8+22+8+8 = 54; 1: -3-3-9-3-3 = -21; 2: 22+8+8 = 38; cash 10_000_000 - 71.
    eur = EInstrument("EURUSD", D("0.00001"), D("0.01"), D("100000"), swap_mode="points", swap_long=D("-2.5"),
                      swap_short=D(1), swap_time="22:00", swap_days=(1, 1, 3, 1, 1, 0, 0))
    at = [T + 10 * H, T + 46 * H, T + 84 * H, T + 119 * H]
    res = run([tk(t, 110000, 110002) for t in at],
              [od(T + 9 * H, "buy", "0.03"), od(T + 9 * H, "sell", "0.03"), od(T + 45 * H, "buy", "0.03")],
              inst={"EURUSD": eur}, account_mode="hedging")
    assert [pos(res, i)["swap_minor"] for i in range(3)] == [54, -21, 38]
    assert (res.swap_minor, res.final_cash_minor) == (71, 10_000_000 - 71)


def test_swap_percent_and_funding():
    # Percent: swap_long -3.65 %/year, swap_short +1.825, 365 days, 00:00 every day.  Tue 00:00:
    # long 1 lot at bid 1.10000: notional 110000 x 3.65/100/365 = 11.00 paid -> 1100;
    # short 1 lot at ask 1.10002: 110002 x 0.00005 = 5.5001 received -> R(-550.01) = -550.
    eur = EInstrument("EURUSD", D("0.00001"), D("0.01"), D("100000"), swap_mode="percent",
                      swap_long=D("-3.65"), swap_short=D("1.825"), swap_days=(1,) * 7, swap_year_days=365)
    res = run([tk(T + 10 * H, 110000, 110002), tk(T + 25 * H, 110000, 110002)],
              [od(T + 9 * H, "buy"), od(T + 9 * H, "sell")], inst={"EURUSD": eur}, account_mode="hedging")
    assert [pos(res, i)["swap_minor"] for i in range(2)] == [1100, -550]
    # Funding 0.0001 per 8h from 00:00, BTCUSD.  Long 0.5 / short 0.5 open Mon 01:00.
    # Mon 09:00 tick (bid 60100, ask 60101): 08:00 due: long pays 30050 x 0.0001 = 3.005 -> R(300.5) = 300;
    # short receives 30050.5 x 0.0001 -> R(-300.505) = -301.  Tue 00:30 tick (59999.50 / 60000.50): 16:00
    # and 00:00 due: long 2 x R(299.9975) = 600, short 2 x R(-300.0025) = -600.
    btc = EInstrument("BTCUSD", D("0.01"), D("0.0001"), D(1), funding_rate=D("0.0001"), funding_interval_ns=8 * H)
    res = run([tk(T + H, "59999.00", "60000.00", "BTCUSD"), tk(T + 9 * H, "60100.00", "60101.00", "BTCUSD"),
               tk(T + 24 * H + H // 2, "59999.50", "60000.50", "BTCUSD")],
              [od(T, "buy", "0.5", sym="BTCUSD"), od(T, "sell", "0.5", sym="BTCUSD")],
              inst={"BTCUSD": btc}, account_mode="hedging")
    assert [pos(res, i)["swap_minor"] for i in range(2)] == [900, -901]


def test_netting_reduce_keeps_stops_and_target_no_action():
    # Long 2 at 110000 with sl 109990; 1 sells 1 with sl 120000 (a reduce: the order's stops are
    # ignored, the position keeps 109990); signal target +1 at 15 finds net +1: no_action.
    # t30 bid 109990: the kept stop closes the last lot at 109990: -10 x 100 = -1000.
    res = run([tk(10, 109998, 110000), tk(20, 110000, 110002), tk(30, 109990, 109992)],
              [od(5, "buy", "2", sl=109990), od(15, "sell", "1", sl=120000)],
              signals=[{"ts": 25, "symbol": "EURUSD", "target": D(1)}])
    assert fills(res, "effect", "price_ticks", "reason", "realized_pnl_minor")[1:] == [
        ("reduce", 110000, "signal", 0), ("close", 109990, "stop_loss", -1000)]
    assert status(res)[2][1] == "no_action"


# ---------------------------------------------------------------------------------------------
# Part 2: the kernel against the oracle
# ---------------------------------------------------------------------------------------------

FILL_KEYS = ("order_id", "position_id", "ts", "symbol", "side", "effect", "reason", "qty_steps", "price_ticks",
             "commission_minor", "realized_pnl_minor", "cash_after_minor")
POS_KEYS = ("parent_id", "symbol", "side", "is_open", "exit_reason", "qty_steps", "entry_steps", "exit_steps",
            "cost", "entry_value", "exit_value", "open_ts", "realized_pnl_minor", "commission_minor",
            "swap_minor", "mae_ticks", "mfe_ticks", "mae_minor", "mfe_minor")
SUMMARY_KEYS = ("final_cash_minor", "final_equity_minor", "realized_pnl_minor", "commission_minor",
                "swap_minor", "max_drawdown_minor")
CHUNKINGS = ((1_000_000, 65_536), (1, 16), (3, 16))
_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


def _rows(frame) -> list[dict]:
    import polars as pl

    ns = [pl.col(c).dt.epoch("ns") for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    return list(frame.with_columns(ns).iter_rows(named=True))


def _named(fill: tuple) -> dict:
    return dict(zip(FILL_KEYS, fill, strict=True))


def _name(row, col):
    return row.get(f"{col}_name", row.get(col))


def _code(row, col):
    """An integer column: an enum column's code (``<col>_code``), else the column itself."""
    return row.get(f"{col}_code", row.get(col))


def check_engine(sc: EngineScenario, chunkings=CHUNKINGS):
    """The kernel against the engine oracle on one scenario; returns the oracle's result."""
    import backtestr as bt

    ores = sc.run_oracle()
    data, orders, signals = sc.frames()
    why = "\n" + sc.describe()
    want_fills = [tuple(f[k] for k in FILL_KEYS) for f in ores.fills]
    want_orders = {o["order_id"]: (o["status"], o["reason"]) for o in ores.orders}
    want_pos = {p["position_id"]: p for p in ores.positions}
    open_ids = sorted(p["position_id"] for p in ores.positions if p["is_open"])
    want_sum = {"final_cash_minor": ores.final_cash_minor, "final_equity_minor": ores.final_equity_minor,
                "realized_pnl_minor": ores.realized_minor, "commission_minor": ores.commission_minor,
                "swap_minor": ores.swap_minor, "max_drawdown_minor": ores.max_drawdown_minor}
    for chunk_rows, buffer_rows in chunkings:
        res = bt.run(data=data, orders=orders, signals=signals,
                     config=sc.config_dict(chunk_rows=chunk_rows, buffer_rows=buffer_rows))
        at = f"\nchunk_rows={chunk_rows} buffer_rows={buffer_rows}{why}"
        got = [tuple(_name(r, k) if k in ("symbol", "effect", "reason") else _code(r, k) for k in FILL_KEYS)
               for r in _rows(res.fills)]
        for i, (g, w) in enumerate(zip(got, want_fills, strict=False)):
            assert g == w, f"fill {i}: kernel {_named(g)} != oracle {_named(w)}{at}"
        assert len(got) == len(want_fills), f"{len(got)} fills, oracle {len(want_fills)}{at}"
        got_orders = {r["order_id"]: (r["status"], r["reason"]) for r in _rows(res.orders)}
        assert set(got_orders) == set(want_orders), at
        for oid, (st, reason) in want_orders.items():
            g = got_orders[oid]
            exp = (st, reason) if st in ("rejected", "cancelled", "expired") else (st, g[1])
            assert g == exp, f"order {oid}: kernel {g} != oracle {(st, reason)}{at}"
        rows = _rows(res.positions)
        assert sorted(r["position_id"] for r in rows) == sorted(want_pos), at
        for r in rows:
            w = want_pos[r["position_id"]]
            g = {k: _name(r, k) if k in ("symbol", "exit_reason") else _code(r, k) for k in POS_KEYS}
            g["is_open"] = bool(g["is_open"])
            e = {k: w[k] for k in POS_KEYS}
            if not w["is_open"]:
                g["close_ts"], e["close_ts"] = r["close_ts"], w["close_ts"]
            assert g == e, f"position {r['position_id']}: " + str(
                {k: (g[k], e[k]) for k in g if g[k] != e[k]}) + at
        assert [r["position_id"] for r in rows] == ores.closed_order + open_ids, at
        s = res.summary
        assert {k: s.get(k) for k in SUMMARY_KEYS} == want_sum, at
        eq = [(r["ts"], r["equity_minor"]) for r in _rows(res.equity.select("ts", "equity_minor"))]
        assert eq == ores.equity, at
    return ores


@settings(max_examples=200, **_SETTINGS)
@given(engine_scenario())
def test_kernel_matches_engine_oracle(sc: EngineScenario) -> None:
    check_engine(sc, chunkings=CHUNKINGS[:1])


@settings(max_examples=40, **_SETTINGS)
@given(engine_scenario(max_ticks=60, max_orders=20))
def test_kernel_matches_engine_oracle_in_chunks(sc: EngineScenario) -> None:
    check_engine(sc)


def test_kernel_matches_hand_worked_scenario() -> None:
    """One fixed scenario through the kernel: a bracket, a trailing stop, OCO and swap."""
    eur = EInstrument("EURUSD", D("0.00001"), D("0.01"), D("100000"), min_qty=D("0.01"), swap_mode="points",
                      swap_long=D("-2.5"), swap_short=D(1), swap_time="22:00")
    bids = [110000, 110004, 110012, 110020, 110013, 110001, 109990, 109985]
    ticks = [tk(T + i * 7 * H, b, b + 2) for i, b in enumerate(bids[:1] + bids)]  # the first one as a lead
    orders = [
        od(T, "buy", "0.5", sl_ticks=20, tp=110030, trail_ticks=6, trail_activation=4, id=10),
        od(T, "buy", "0.5", type="limit", price=109990, oco=7, id=11),
        od(T, "sell", "0.5", type="stop", stop=109988, oco=7, id=12),
        od(T + 20 * H, qty=None, action="modify", ref=11, price=109992, id=13),
    ]
    sc = EngineScenario({"EURUSD": eur}, ticks, orders, [], OCommission(per_lot=D("3")),
                        EConfig(account_mode="hedging", model="realistic", slippage="fixed", slippage_ticks=1,
                                close_at_end=True, initial_cash=D("100000")), ids_given=True)
    res = check_engine(sc)  # the kernel against the oracle; the oracle's result, checked by hand below
    # 10 opens at ask 110002 + 1 slippage = 110003 (sl 110003 - 20 = 109983, tp 110030).  The trail
    # waits for bid >= 110003 + 4: t2 bid 110004 is +1; t3 bid 110012 activates it, hwm 110012, stop
    # 110006; t4 110020 -> 110014; t5 bid 110013 <= 110014: "trailing" (tighter than 109983), sold at
    # 110013 - 1 = 110012.  11 (moved to 109992 by 13) fills on t7 (ask 109992) at min(109992, 109992)
    # and cancels 12 ("oco"), whose stop 109988 the bid 109990 had not reached.
    assert fills(res, "order_id", "position_id", "price_ticks", "reason")[:3] == [
        (10, 10, 110003, "signal"), (-1, 10, 110012, "trailing"), (11, 11, 109992, "signal")]
    assert [o["status"] for o in res.orders] == ["filled", "filled", "cancelled", "applied"]
