"""docs/execution.md §1 (ids), §2 (actions), §3 (order types, time in force) and
the bad-input rules, one hand-worked scenario per rule.

Units (tests/rulekit.py): EURUSD, prices in ticks (110002 = 1.10002), one tick
on one lot step = 1 minor unit (cent), one tick on 1 lot (100 steps) = 100
minor.  Times in seconds after Monday 2024-01-01 00:00 UTC; ticks at whole
seconds, orders stamped between them (an order at 0.5 acts on the tick at 1).
Model ``perfect`` and no slippage unless a test says otherwise.
"""

from __future__ import annotations

from tests.rulekit import fill_secs, fills, order, orders, position, position_ids, run, signals, status, ticks

HEDGING = {"account_mode": "hedging"}


# ---------------------------------------------------------------------------------------------
# §1 Ids
# ---------------------------------------------------------------------------------------------


def test_order_id_is_the_id_column_else_the_row_number_orders_then_signals():
    # Row 0 has id 10; row 1 has no id -> its row number 1; the one signal comes after the two
    # order rows -> id 2.
    # t1 (110000/110002): 10 buys 1 lot at the ask 110002, opens position 10.
    # t2 (110004/110006): 1 sells 0.5 at the bid 110004: reduce; removed cost
    #   R(11000200 x 50 / 100) = 5500100, P&L 110004 x 50 - 5500100 = 100.
    # t3 (110010/110012): signal 2, target 0: sells the other 50 at 110010:
    #   110010 x 50 - 5500100 = 400.  Realized 500.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006), (3, 110010, 110012)])
    o = orders({"t": 0.5, "id": 10, "side": "buy", "qty": 1},
               {"t": 1.5, "id": None, "side": "sell", "qty": 0.5})
    res = run(data, o, signals([(2.5, 0)]))
    assert sorted(res.orders["order_id"].to_list()) == [1, 2, 10]
    assert fills(res) == [
        (10, 10, "buy", "open", "signal", 100, 110002),
        (1, 10, "sell", "reduce", "signal", 50, 110004),
        (2, 10, "sell", "close", "signal", 50, 110010),
    ]
    assert res.fills["realized_pnl_minor"].to_list() == [0, 100, 400]
    assert position(res, 10)["realized_pnl_minor"] == 500


def test_position_id_is_the_opening_order_id_and_an_increase_keeps_it():
    # Netting: 5 opens (110002 at t1), 6 increases (110006 at t2): one position, id 5.
    # entry_value 11000200 + 11000600 = 22000800 over 200 steps.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006)])
    o = orders({"t": 0.5, "id": 5, "side": "buy", "qty": 1}, {"t": 1.5, "id": 6, "side": "buy", "qty": 1})
    res = run(data, o)
    assert fills(res) == [(5, 5, "buy", "open", "signal", 100, 110002),
                          (6, 5, "buy", "increase", "signal", 100, 110006)]
    p = position(res, 5)
    assert position_ids(res) == [5]
    assert (p["is_open"], p["entry_value"], p["entry_steps"], p["qty_steps"]) == (1, 22000800, 200, 200)
    assert order(res, 6)["position_id"] == 5


def test_netting_reversal_opens_a_position_with_the_reversing_order_id_and_parent():
    # 1 buys 1 lot at t1's ask 110002.  2 sells 3 lots at t2's bid 110004: closes position 1
    # (P&L (110004 - 110002) x 100 = 200) and opens short 2 lots as position 2, parent 1.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006)])
    o = orders({"t": 0.5, "id": 1, "side": "buy", "qty": 1}, {"t": 1.5, "id": 2, "side": "sell", "qty": 3})
    res = run(data, o)
    assert fills(res) == [(1, 1, "buy", "open", "signal", 100, 110002),
                          (2, 1, "sell", "close", "signal", 100, 110004),
                          (2, 2, "sell", "open", "signal", 200, 110004)]
    p1, p2 = position(res, 1), position(res, 2)
    assert (p1["is_open"], p1["realized_pnl_minor"], p1["exit_reason"], p1["close_order_id"]) == (
        0, 200, "signal", 2)
    assert (p2["is_open"], p2["side_code"], p2["parent_id"], p2["qty_steps"], p2["entry_value"]) == (
        1, -1, 1, 200, 22000800)
    assert order(res, 2)["position_id"] == 2


def test_hedging_long_and_short_at_once_and_close_one_by_id():
    # Hedging: every entry fill opens its own position, a sell does not reduce a long.
    # 0 buys 1 at t1's ask 110002, 1 buys 1 at t2's ask 110006, 2 sells 1 at t3's bid 110008
    # (a short next to the two longs).  3 closes position 0 at t4's bid 110012:
    # (110012 - 110002) x 100 = 1000.  Positions 1 (long) and 2 (short) stay open, marked at t4:
    # 1: (110012 - 110006) x 100 = 600; 2: (110008 - 110014) x 100 = -600.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006), (3, 110008, 110010), (4, 110012, 110014)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "buy", "qty": 1},
               {"t": 2.5, "side": "sell", "qty": 1}, {"t": 3.5, "action": "close", "ref": 0})
    res = run(data, o, run=HEDGING)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (1, 1, "buy", "open", "signal", 100, 110006),
                          (2, 2, "sell", "open", "signal", 100, 110008),
                          (3, 0, "sell", "close", "signal", 100, 110012)]
    assert status(res, 3)[0] == "filled"
    assert position(res, 0)["realized_pnl_minor"] == 1000
    assert (position(res, 1)["is_open"], position(res, 1)["unrealized_pnl_minor"]) == (1, 600)
    assert (position(res, 2)["is_open"], position(res, 2)["side_code"], position(res, 2)["unrealized_pnl_minor"]) == (
        1, -1, -600)
    assert res.summary["positions_open"] == 2


def test_own_exit_fills_have_order_id_minus_one_and_stops_die_with_the_position():
    # 0 buys 1 with sl 109990 (t1, 110002).  1 closes position 0 at t2's bid 110000: the sl dies
    # with it.  2 buys 1 without stops at t3 (110002): position 2.  t4 bids 109980, below the old
    # sl: nothing fills.  3 (modify ref 2, sl 109980; t5 bid 109985 > 109980, valid) gives
    # position 2 a stop-loss; t6 bid 109975 <= 109980: it fills at the stop price 109980
    # (perfect), order_id -1, reason stop_loss: (109980 - 110002) x 100 = -2200.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 110000, 110002), (4, 109980, 109982),
                  (5, 109985, 109987), (6, 109975, 109977)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109990}, {"t": 1.5, "action": "close", "ref": 0},
               {"t": 2.5, "side": "buy", "qty": 1}, {"t": 4.5, "action": "modify", "ref": 2, "sl": 109980})
    res = run(data, o)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (1, 0, "sell", "close", "signal", 100, 110000),
                          (2, 2, "buy", "open", "signal", 100, 110002),
                          (-1, 2, "sell", "close", "stop_loss", 100, 109980)]
    assert fill_secs(res) == [1, 2, 3, 6]
    assert status(res, 3)[0] == "applied"
    p = position(res, 2)
    assert (p["exit_reason"], p["realized_pnl_minor"], p["close_order_id"]) == ("stop_loss", -2200, -1)


# ---------------------------------------------------------------------------------------------
# §2 Actions
# ---------------------------------------------------------------------------------------------


def test_modify_of_a_pending_order_changes_price_stop_qty_and_its_stops():
    # Hedging.  0: buy limit 109990 x 1; 2: buy stop 110050 x 1 (both at 0.5).
    # 1 (at 1.5): order 0 -> price 110000, qty 2, sl 109950, tp 110100.
    # 3 (at 1.5): order 2 -> stop 110030.
    # t3 ask 110000 <= 110000: order 0 fills 200 steps at its limit 110000 (unmodified it would
    # not: 110000 > 109990); the position carries sl 109950 / tp 110100.
    # t4 ask 110031 >= 110030: order 2 fills at its stop 110030 (unmodified: 110031 < 110050).
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 109998, 110000), (4, 110029, 110031),
                  (5, 110029, 110031)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109990},
               {"t": 1.5, "action": "modify", "ref": 0, "price": 110000, "qty": 2, "sl": 109950, "tp": 110100},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "stop", "stop": 110050},
               {"t": 1.5, "action": "modify", "ref": 2, "stop": 110030})
    res = run(data, o, run=HEDGING)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 200, 110000),
                          (2, 2, "buy", "open", "signal", 100, 110030)]
    assert fill_secs(res) == [3, 4]
    assert status(res, 1)[0] == status(res, 3)[0] == "applied"
    p = position(res, 0)
    assert (p["sl_ticks"], p["tp_ticks"]) == (109950, 110100)


def test_modify_of_a_position_distance_from_rounded_average_entry():
    # Netting: 0 buys 1 at 110002 (t1), 1 buys 1 at 110005 (t2): entry_value 22000700 / 200 steps,
    # average R(110003.5) = 110004 (tie -> even).  2 (modify ref 0, sl_ticks 10, tp_ticks 20) at t3:
    # sl 110004 - 10 = 109994, tp 110024; bid 110003 lies between them, so it is applied.
    # t4 bid 109994 <= sl: stop-loss of all 200 steps at 109994 (perfect):
    # 109994 x 200 - 22000700 = -1900.  (With a floored average 110003 the sl would be 109993
    # and t4 would not trigger.)
    data = ticks([(1, 110000, 110002), (2, 110003, 110005), (3, 110003, 110005), (4, 109994, 109996),
                  (5, 109994, 109996)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "buy", "qty": 1},
               {"t": 2.5, "action": "modify", "ref": 0, "sl_ticks": 10, "tp_ticks": 20})
    res = run(data, o)
    assert status(res, 2)[0] == "applied"
    assert fills(res)[2:] == [(-1, 0, "sell", "close", "stop_loss", 200, 109994)]
    assert fill_secs(res)[2:] == [4]
    p = position(res, 0)
    assert (p["sl_ticks"], p["tp_ticks"], p["realized_pnl_minor"]) == (109994, 110024, -1900)


def test_modify_with_zero_removes_a_stop():
    # 0 buys 1 at 110002 with sl 109990, tp 110020.  1 (sl 0) removes the sl at t2;
    # 2 (tp_ticks 0) removes the tp at t4.  t3 bid 109980 (below the old sl) and t5 bid 110030
    # (above the old tp) fill nothing; the position ends open with neither stop.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 109980, 109982), (4, 110000, 110002),
                  (5, 110030, 110032)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109990, "tp": 110020},
               {"t": 1.5, "action": "modify", "ref": 0, "sl": 0},
               {"t": 3.5, "action": "modify", "ref": 0, "tp_ticks": 0})
    res = run(data, o)
    assert len(fills(res)) == 1
    assert status(res, 1)[0] == status(res, 2)[0] == "applied"
    p = position(res, 0)
    assert (p["is_open"], p["sl_ticks"], p["tp_ticks"]) == (1, 0, 0)

def test_a_stop_removed_from_a_working_order_is_not_carried_to_the_position_it_increases():
    # Netting.  0 buys 1 at 110002 (t1) with sl 109990 and trail_ticks 30.  1: buy limit 110000
    # x 1 with sl 109995 and trail_ticks 5; 2 (at 1.5) removes the limit's sl and trail, so it
    # carries no stops.  t3 ask 110000: 1 fills and increases position 0, which keeps its own
    # sl 109990 and trail of 30 ticks (docs/execution.md §4: an increase sets the stops it carries).
    # The trail follows the best bid since t1, 110000 (t1..t3), so its stop is 109970 < sl: the sl is
    # the effective stop.  t4 bid 109992: above 109990 (a carried sl 109995 or trail 5 would have
    # fired).  t5 bid 109990 <= sl: stop-loss of 200 steps at 109990.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 109998, 110000), (4, 109992, 109994),
                  (5, 109990, 109992)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109990, "trail_ticks": 30},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110000, "sl": 109995,
                "trail_ticks": 5},
               {"t": 1.5, "action": "modify", "ref": 1, "sl": 0, "trail_ticks": 0})
    res = run(data, o)
    assert status(res, 2)[0] == "applied"
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (1, 0, "buy", "increase", "signal", 100, 110000),
                          (-1, 0, "sell", "close", "stop_loss", 200, 109990)]
    assert fill_secs(res) == [1, 3, 5]
    assert (order := res.orders.filter(res.orders["order_id"] == 1).row(0, named=True))["sl_kind"] == "none"
    assert order["trail_kind"] == "none"



def test_modify_cancel_close_of_a_closed_or_unknown_id_are_rejected_and_the_run_goes_on():
    # 0 buys 1 (t1), 1 closes position 0 (t2).  At 2.5: 2 modify ref 0 and 3 cancel ref 0 ->
    # order 0 is filled (not working) and position 0 is closed: not_working; 4 modify ref 99 and
    # 5 cancel ref 42 -> no order has that id: unknown_ref (before the run); 6 close ref 0 ->
    # position 0 not open: not_working.  7 buys 1 at t3's ask 110012: the run goes on.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006), (3, 110010, 110012)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "action": "close", "ref": 0},
               {"t": 2.5, "action": "modify", "ref": 0, "sl": 109000},
               {"t": 2.5, "action": "cancel", "ref": 0},
               {"t": 2.5, "action": "modify", "ref": 99, "sl": 109000},
               {"t": 2.5, "action": "cancel", "ref": 42},
               {"t": 2.5, "action": "close", "ref": 0},
               {"t": 2.5, "side": "buy", "qty": 1})
    res = run(data, o)
    assert [status(res, i) for i in range(2, 7)] == [
        ("rejected", "not_working"), ("rejected", "not_working"), ("rejected", "unknown_ref"),
        ("rejected", "unknown_ref"), ("rejected", "not_working")]
    assert fills(res)[-1] == (7, 7, "buy", "open", "signal", 100, 110012)
    assert res.summary["rejections"] == {"not_working": 3, "unknown_ref": 2}
    assert res.summary["orders_rejected"] == 5


def test_cancel_of_a_working_order():
    # 0: buy limit 109990 (working from t1).  1 cancels it at t2: 0 ends cancelled (reason
    # cancelled), 1 ends applied.  t3 ask 109982 <= 109990 would have filled it: nothing fills.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 109980, 109982)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109990},
               {"t": 1.5, "action": "cancel", "ref": 0})
    res = run(data, o)
    assert status(res, 0) == ("cancelled", "cancelled")
    assert status(res, 1)[0] == "applied"
    assert res.fills.height == 0


def test_close_by_ref_with_qty_partial_then_more_than_open_closes_all():
    # 0 buys 1 at 110002.  1 closes 0.4 of position 0 at t2's bid 110010: reduce 40 steps, removed
    # cost R(11000200 x 40 / 100) = 4400080, P&L 110010 x 40 - 4400080 = 320.  2 closes qty 5 (more
    # than the 60 left) at t3's bid 110020: closes the 60 steps, no reversal:
    # 110020 x 60 - (11000200 - 4400080) = 6601200 - 6600120 = 1080.
    data = ticks([(1, 110000, 110002), (2, 110010, 110012), (3, 110020, 110022), (4, 110020, 110022)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "action": "close", "ref": 0, "qty": 0.4},
               {"t": 2.5, "action": "close", "ref": 0, "qty": 5})
    res = run(data, o)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (1, 0, "sell", "reduce", "signal", 40, 110010),
                          (2, 0, "sell", "close", "signal", 60, 110020)]
    assert res.fills["realized_pnl_minor"].to_list() == [0, 320, 1080]
    assert status(res, 1)[0] == status(res, 2)[0] == "filled"
    assert position_ids(res) == [0]
    p = position(res, 0)
    assert (p["is_open"], p["exit_reason"], p["close_order_id"], p["realized_pnl_minor"]) == (
        0, "signal", 2, 1400)


def test_close_without_ref_oldest_first_other_symbol_and_nothing_to_close():
    # Hedging.  Rows: 0 (id 9) buys 1 at t1 (110002); 1 (id 2) sells 0.5 at t2's bid 110004;
    # 2 (id 4) buys 0.3 at t2's ask 110006.  Row 3 (id 5) closes ref 9 in GBPUSD: position 9 is
    # open in EURUSD -> unknown_ref.  Row 4 (id 6) closes every EURUSD position at t4
    # (110020/110022), oldest first by opening order index (rows 0, 1, 2 -> ids 9, 2, 4, not by
    # id): 9 at the bid (110020 - 110002) x 100 = 1800; 2 at the ask (110004 - 110022) x 50 = -900;
    # 4 at the bid (110020 - 110006) x 30 = 420.  Rows 5 and 6 (ids 7, 8) close EURUSD and GBPUSD
    # without ref when nothing is open: nothing_to_close.
    data = ticks([(1, 110000, 110002), (1, 127000, 127003, "GBPUSD"), (2, 110004, 110006),
                  (3, 110010, 110012), (3, 127000, 127003, "GBPUSD"), (4, 110020, 110022),
                  (5, 110030, 110032), (5, 127000, 127003, "GBPUSD")])
    o = orders({"t": 0.5, "id": 9, "side": "buy", "qty": 1},
               {"t": 1.5, "id": 2, "side": "sell", "qty": 0.5},
               {"t": 1.5, "id": 4, "side": "buy", "qty": 0.3},
               {"t": 2.5, "id": 5, "action": "close", "ref": 9, "symbol": "GBPUSD"},
               {"t": 3.5, "id": 6, "action": "close"},
               {"t": 4.5, "id": 7, "action": "close"},
               {"t": 4.5, "id": 8, "action": "close", "symbol": "GBPUSD"})
    res = run(data, o, run=HEDGING)
    assert status(res, 5) == ("rejected", "unknown_ref")
    assert fills(res)[3:] == [(6, 9, "sell", "close", "signal", 100, 110020),
                              (6, 2, "buy", "close", "signal", 50, 110022),
                              (6, 4, "sell", "close", "signal", 30, 110020)]
    assert res.fills["realized_pnl_minor"].to_list()[3:] == [1800, -900, 420]
    assert status(res, 6)[0] == "filled"
    assert status(res, 7) == status(res, 8) == ("rejected", "nothing_to_close")
    assert res.summary["rejections"] == {"nothing_to_close": 2, "unknown_ref": 1}


def test_target_netting_trades_the_difference_and_no_action_when_reached():
    # Signals: 0 target 1 -> buys 100 at t1's ask 110002.  1 target 1 -> already held: no_action.
    # 2 target -0.5 -> sells 150 at t3's bid 110010: closes position 0 ((110010 - 110002) x 100 =
    # 800) and opens short 50 as position 2, parent 0.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006), (3, 110010, 110012)])
    res = run(data, None, signals([(0.5, 1), (1.5, 1), (2.5, -0.5)]))
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (2, 0, "sell", "close", "signal", 100, 110010),
                          (2, 2, "sell", "open", "signal", 50, 110010)]
    assert status(res, 1)[0] == "no_action"
    assert res.summary["orders_no_action"] == 1
    assert (position(res, 0)["realized_pnl_minor"], position(res, 2)["parent_id"]) == (800, 0)
    assert order(res, 2)["side"] == "sell"


def test_target_in_hedging_closes_opposite_positions_oldest_first_then_opens_the_rest():
    # Hedging: 0 buys 1 at t1 (110002), 1 buys 0.5 at t2 (110006).  Signal 2 (target 0.3): net 150,
    # trade -120 at t3's bid 110010: closes 0 (100 steps, +800), then 20 of 1 (reduce; removed
    # cost R(5500300 x 20 / 50) = 2200120, P&L 2200200 - 2200120 = 80); nothing left to open.
    # Signal 3 (target -0.2): net 30, trade -50 at t4's bid 110020: closes the 30 left of 1
    # (110020 x 30 - 3300180 = 420), opens short 20 as position 3.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006), (3, 110010, 110012), (4, 110020, 110022)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "buy", "qty": 0.5})
    res = run(data, o, signals([(2.5, 0.3), (3.5, -0.2)]), run=HEDGING)
    assert fills(res)[2:] == [(2, 0, "sell", "close", "signal", 100, 110010),
                              (2, 1, "sell", "reduce", "signal", 20, 110010),
                              (3, 1, "sell", "close", "signal", 30, 110020),
                              (3, 3, "sell", "open", "signal", 20, 110020)]
    assert res.fills["realized_pnl_minor"].to_list()[2:] == [800, 80, 420, 0]
    assert position(res, 1)["realized_pnl_minor"] == 500
    p3 = position(res, 3)
    assert (p3["is_open"], p3["side_code"], p3["qty_steps"], p3["parent_id"]) == (1, -1, 20, -1)


# ---------------------------------------------------------------------------------------------
# §3 Order types and time in force
# ---------------------------------------------------------------------------------------------


def test_market_fills_on_the_first_tick_of_its_symbol_strictly_after_ts():
    # Hedging.  0 is stamped at 1.0, exactly the time of a tick: it acts at 1.0 s + 1 ns, so it
    # fills at t2 (ask 110012).  1 (at 1.2) is not filled by the GBPUSD tick at 1.5: t2 too.
    data = ticks([(1, 110000, 110002), (1.5, 127000, 127003, "GBPUSD"), (2, 110010, 110012),
                  (3, 110020, 110022)])
    o = orders({"t": 1.0, "side": "buy", "qty": 1}, {"t": 1.2, "side": "buy", "qty": 1})
    res = run(data, o, run=HEDGING)
    assert fills(res, ("order_id", "price_ticks")) == [(0, 110012), (1, 110012)]
    assert fill_secs(res) == [2, 2]


def test_market_with_latency_fills_at_or_after_ts_plus_latency():
    # Latency 1 s: 0 (0.5) acts at 1.5 -> t2; 1 (1.0) acts at 2.0 -> t2 (at, included);
    # 2 (1.001) acts at 2.001 -> t3.
    data = ticks([(1, 110000, 110002), (2, 110010, 110012), (3, 110020, 110022)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.0, "side": "buy", "qty": 1},
               {"t": 1.001, "side": "buy", "qty": 1})
    res = run(data, o, run={"account_mode": "hedging", "latency": "1s"})
    assert fills(res, ("order_id", "price_ticks")) == [(0, 110012), (1, 110012), (2, 110022)]
    assert fill_secs(res) == [2, 2, 3]


def test_limit_buy_when_ask_at_or_below_sell_when_bid_at_or_above():
    # Hedging.  0: buy limit 110000: t1 ask 110003, t2 ask 110001 no; t3 ask 110000 -> fills at 110000.
    # 1: sell limit 110010: bids 110000, 109998, 109997, 110005 no; t5 bid 110010 -> fills at 110010.
    data = ticks([(1, 110000, 110003), (2, 109998, 110001), (3, 109997, 110000), (4, 110005, 110008),
                  (5, 110010, 110013)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110000},
               {"t": 0.5, "side": "sell", "qty": 1, "type": "limit", "price": 110010})
    res = run(data, o, run=HEDGING)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110000),
                          (1, 1, "sell", "open", "signal", 100, 110010)]
    assert fill_secs(res) == [3, 5]


def test_stop_buy_when_ask_at_or_above_sell_when_bid_at_or_below():
    # Hedging.  0: buy stop 110010: t2 ask 110009 no, t3 ask 110010 -> fills at 110010.
    # 1: sell stop 109990: t4 bid 109995 no, t5 bid 109990 -> fills at 109990.
    data = ticks([(1, 110000, 110002), (2, 110007, 110009), (3, 110008, 110010), (4, 109995, 109997),
                  (5, 109990, 109992)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "stop", "stop": 110010},
               {"t": 0.5, "side": "sell", "qty": 1, "type": "stop", "stop": 109990})
    res = run(data, o, run=HEDGING)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110010),
                          (1, 1, "sell", "open", "signal", 100, 109990)]
    assert fill_secs(res) == [3, 5]


def test_stop_limit_triggers_and_fills_on_the_same_tick():
    # Buy stop-limit, stop 110010, price 110012.  t1 ask 110002 < stop.  t2 ask 110011 >= 110010:
    # it becomes a buy limit 110012 and ask 110011 <= 110012 fills it on t2:
    # perfect at the limit price 110012, realistic at min(110012, 110011) = 110011.
    data = ticks([(1, 110000, 110002), (2, 110009, 110011), (3, 110009, 110011)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "stop_limit", "stop": 110010, "price": 110012})
    perfect = run(data, o)
    realistic = run(data, o, execution={"model": "realistic"})
    assert fills(perfect) == [(0, 0, "buy", "open", "signal", 100, 110012)]
    assert fills(realistic) == [(0, 0, "buy", "open", "signal", 100, 110011)]
    assert fill_secs(perfect) == fill_secs(realistic) == [2]


def test_stop_limit_triggers_then_fills_on_a_later_tick():
    # Buy stop-limit, stop 110010, price 110008.  t1 ask 110002 <= 110008 but the stop has not
    # triggered: no fill.  t2 ask 110011 triggers it; 110011 > 110008: no fill.  t3 ask 110009
    # no.  t4 ask 110008 <= 110008: fills at 110008.
    data = ticks([(1, 110000, 110002), (2, 110009, 110011), (3, 110007, 110009), (4, 110006, 110008)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "stop_limit", "stop": 110010, "price": 110008})
    res = run(data, o)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110008)]
    assert fill_secs(res) == [4]


def test_gtd_expires_on_the_expiry_tick_before_matching():
    # Hedging.  0: buy limit 110000, GTD expire 3.0.  t1 ask 110007, t2 ask 110005: no.  t3 (ts
    # 3.0 >= expire) has ask 109992 <= 110000, but the order expires before matching.
    # 1: sell limit 110003, GTD expire 2.5: t1 bid 110005 >= 110003 -> fills at 110003 (before
    # its expiry).
    data = ticks([(1, 110005, 110007), (2, 110003, 110005), (3, 109990, 109992), (4, 109990, 109992)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110000, "tif": "gtd", "expire": 3.0},
               {"t": 0.5, "side": "sell", "qty": 1, "type": "limit", "price": 110003, "tif": "gtd",
                "expire": 2.5})
    res = run(data, o, run=HEDGING)
    assert status(res, 0) == ("expired", "expiry")
    assert fills(res) == [(1, 1, "sell", "open", "signal", 100, 110003)]
    assert fill_secs(res) == [1]
    assert res.summary["orders_expired"] == 1


def test_ioc_is_checked_once_and_cancelled_with_reason_ioc():
    # Hedging.  0: buy limit 110000 IOC: on t1 (ask 110002) it does not trigger -> cancelled, ioc;
    # t2's ask 109990 does not revive it.  1: buy limit 110005 IOC: t1 ask 110002 <= 110005 ->
    # fills at 110005 (perfect).
    data = ticks([(1, 110000, 110002), (2, 109988, 109990)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110000, "tif": "ioc"},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110005, "tif": "ioc"})
    res = run(data, o, run=HEDGING)
    assert status(res, 0) == ("cancelled", "ioc")
    assert status(res, 1)[0] == "filled"
    assert fills(res) == [(1, 1, "buy", "open", "signal", 100, 110005)]


def test_oco_cancels_working_members_but_not_members_acting_later():
    # Hedging; group 1.  0: buy stop 110010, 1: sell stop 109990 (at 0.5).  t2 ask 110011: 0 fills
    # at 110010; 1 is working then -> cancelled, oco.  2 (buy limit 109000, group 1) acts at t4,
    # after the fill: it is not affected and fills on t4 (ask 109000) at 109000.  t4's bid 108998
    # would have triggered the cancelled sell stop 1.
    data = ticks([(1, 110000, 110002), (2, 110009, 110011), (3, 110009, 110011), (4, 108998, 109000)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "stop", "stop": 110010, "oco": 1},
               {"t": 0.5, "side": "sell", "qty": 1, "type": "stop", "stop": 109990, "oco": 1},
               {"t": 3.5, "side": "buy", "qty": 1, "type": "limit", "price": 109000, "oco": 1})
    res = run(data, o, run=HEDGING)
    assert status(res, 1) == ("cancelled", "oco")
    assert status(res, 2)[0] == "filled"
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110010),
                          (2, 2, "buy", "open", "signal", 100, 109000)]
    assert fill_secs(res) == [2, 4]


def test_pending_order_is_checked_from_its_activation_tick():
    # 0 (buy limit 110005, at 0.5) acts at t1 and fills there (ask 110002): the activation tick is
    # included.  1 (buy limit 110005, stamped at 1.0 = t1's time) acts after t1: fills on t2.
    data = ticks([(1, 110000, 110002), (2, 110000, 110003)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110005},
               {"t": 1.0, "side": "buy", "qty": 1, "type": "limit", "price": 110005})
    res = run(data, o, run=HEDGING)
    assert fills(res, ("order_id", "price_ticks")) == [(0, 110005), (1, 110005)]
    assert fill_secs(res) == [1, 2]


# ---------------------------------------------------------------------------------------------
# Bad input: rejected with a reason, the run goes on, the summary counts it
# ---------------------------------------------------------------------------------------------


def test_bad_input_is_rejected_with_a_reason_and_counted():
    # t1 110000/110002.  Hedging.
    # 0 buy market, sl 110010 >= its fill price 110002 -> bad_stops.
    # 1 buy limit 110000, tp 109995 <= 110000 -> bad_stops (checked against the limit price).
    # 2 buy stop 110020, sl 110025 >= 110020 -> bad_stops (checked against the stop).
    # 3 sell market (fill 110000), sl 109990 below -> bad_stops (a short's sl must be above).
    # 4 buy limit 1.100005: not a whole tick -> off_tick.
    # 5 GTD expire = ts, 6 GTD expire before ts -> expiry_past.
    # 7 modify ref 77: no such order -> unknown_ref.  8 cancel ref 5: order 5 is not working ->
    # not_working.  9 buys 1 at 110002: the run goes on.  10 modify ref 9 with sl 1.099995: off
    # the grid -> off_tick, never acts (position 9 keeps no sl).
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 110010},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110000, "tp": 109995},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "stop", "stop": 110020, "sl": 110025},
               {"t": 0.5, "side": "sell", "qty": 1, "sl": 109990},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 1.100005},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109000, "tif": "gtd", "expire": 0.5},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109000, "tif": "gtd", "expire": 0.4},
               {"t": 0.5, "action": "modify", "ref": 77, "sl": 109000},
               {"t": 0.5, "action": "cancel", "ref": 5},
               {"t": 0.5, "side": "buy", "qty": 1},
               {"t": 1.5, "action": "modify", "ref": 9, "sl": 1.099995})
    res = run(data, o, run=HEDGING)
    assert [status(res, i) for i in range(11)] == [
        ("rejected", "bad_stops"), ("rejected", "bad_stops"), ("rejected", "bad_stops"),
        ("rejected", "bad_stops"), ("rejected", "off_tick"), ("rejected", "expiry_past"),
        ("rejected", "expiry_past"), ("rejected", "unknown_ref"), ("rejected", "not_working"),
        ("filled", "signal"), ("rejected", "off_tick")]
    assert fills(res) == [(9, 9, "buy", "open", "signal", 100, 110002)]
    assert position(res, 9)["sl_ticks"] == 0
    assert res.summary["rejections"] == {"bad_stops": 4, "off_tick": 2, "expiry_past": 2, "unknown_ref": 1,
                                         "not_working": 1}
    assert res.summary["orders_rejected"] == 10


def test_quantity_limits_are_rejections():
    # EURUSD max_qty 100 lots: a buy of 150 -> qty_above_max.  With min_qty 0.05 set for the run a
    # buy of 0.02 -> qty_below_min.  A buy of 0.05 fills at 110002.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 150}, {"t": 0.5, "side": "buy", "qty": 0.02},
               {"t": 0.5, "side": "buy", "qty": 0.05})
    res = run(data, o, run=HEDGING, instruments={"EURUSD": {"min_qty": "0.05"}})
    assert [status(res, i) for i in range(3)] == [
        ("rejected", "qty_above_max"), ("rejected", "qty_below_min"), ("filled", "signal")]
    assert fills(res) == [(2, 2, "buy", "open", "signal", 5, 110002)]
    assert res.summary["rejections"] == {"qty_above_max": 1, "qty_below_min": 1}


def test_gtd_order_whose_expiry_comes_before_it_acts_never_works():
    # Buy limit 110000, stamped 0.5, GTD expire 0.8 (after ts: not expiry_past).  Its first tick,
    # t1 (ts 1.0 >= expire), has ask 109992 <= 110000, but the order works only on ticks with
    # ts < expire: it ends expired (step 2 comes before step 3) and never fills.
    data = ticks([(1, 109990, 109992), (2, 109990, 109992)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110000, "tif": "gtd",
                            "expire": 0.8}))
    assert status(res, 0) == ("expired", "expiry")
    assert res.fills.height == 0


def test_ioc_stop_limit_triggered_but_not_filled_is_cancelled():
    # Buy stop-limit IOC, stop 110010, price 110008.  Its one check, t1 (ask 110011): the stop
    # triggers but ask 110011 > 110008, so it does not fill -> cancelled, ioc.  t2's ask 110002
    # would fill the limit: nothing.
    data = ticks([(1, 110009, 110011), (2, 110000, 110002)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "type": "stop_limit", "stop": 110010,
                            "price": 110008, "tif": "ioc"}))
    assert status(res, 0) == ("cancelled", "ioc")
    assert res.fills.height == 0


def test_orders_that_never_fill_end_unfilled():
    # 0: a buy limit 109000 that never triggers; 1: a market buy stamped after the last tick.
    data = ticks([(1, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109000},
               {"t": 1.5, "side": "buy", "qty": 1})
    res = run(data, o)
    assert status(res, 0)[0] == status(res, 1)[0] == "unfilled"
    assert res.summary["orders_unfilled"] == 2


def test_target_in_hedging_with_zero_net_is_no_action():
    # Hedging: long 1 and short 1 (net 0).  A target 0 trades 0 - 0 = 0: no_action, both stay open.
    data = ticks([(1, 110000, 110002), (2, 110010, 110012)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 0.5, "side": "sell", "qty": 1})
    res = run(data, o, signals([(1.5, 0)]), run=HEDGING)
    assert status(res, 2)[0] == "no_action"
    assert len(fills(res)) == 2
    assert res.summary["positions_open"] == 2


def test_target_in_hedging_closes_only_the_opposite_side():
    # Hedging: long 0 (1 lot at 110002), short 1 (0.5 at 110000): net 0.5.  Target 1 buys 0.5 at
    # t2's ask 110012: the opposite positions are the shorts: closes 1 ((110000 - 110012) x 50 =
    # -600); nothing is left to open; the long stays.
    data = ticks([(1, 110000, 110002), (2, 110010, 110012)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 0.5, "side": "sell", "qty": 0.5})
    res = run(data, o, signals([(1.5, 1)]), run=HEDGING)
    assert fills(res)[2:] == [(2, 1, "buy", "close", "signal", 50, 110012)]
    assert position(res, 1)["realized_pnl_minor"] == -600
    assert (position(res, 0)["is_open"], position(res, 0)["qty_steps"]) == (1, 100)


def test_oco_a_market_fill_cancels_the_group_and_a_cancel_cancels_only_its_order():
    # Hedging.  Group 3: 0 sell limit 110050 (working from t1), 1 market buy (acts at t2): 1 fills
    # at t2's ask 110012 -> 0 cancelled, oco.  Group 4: sell stops 109500 (2) and 109400 (3);
    # 4 cancels 2 at t2: a cancel is not a fill, 3 keeps working and fills at t3 (bid 109000 <=
    # 109400) at its stop 109400.
    data = ticks([(1, 110000, 110002), (2, 110010, 110012), (3, 109000, 109002)])
    o = orders({"t": 0.5, "side": "sell", "qty": 1, "type": "limit", "price": 110050, "oco": 3},
               {"t": 1.5, "side": "buy", "qty": 1, "oco": 3},
               {"t": 0.5, "side": "sell", "qty": 1, "type": "stop", "stop": 109500, "oco": 4},
               {"t": 0.5, "side": "sell", "qty": 1, "type": "stop", "stop": 109400, "oco": 4},
               {"t": 1.5, "action": "cancel", "ref": 2})
    res = run(data, o, run=HEDGING)
    assert [status(res, i) for i in range(4)] == [
        ("cancelled", "oco"), ("filled", "signal"), ("cancelled", "cancelled"), ("filled", "signal")]
    assert fills(res) == [(1, 1, "buy", "open", "signal", 100, 110012),
                          (3, 3, "sell", "open", "signal", 100, 109400)]
    assert fill_secs(res) == [2, 3]
