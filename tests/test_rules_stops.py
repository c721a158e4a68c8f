"""docs/execution.md §4 (position stops: SL, TP, trailing), one hand-worked
scenario per rule.

Units (tests/rulekit.py): EURUSD, prices in ticks, one tick on 1 lot = 100
minor.  Ticks at whole seconds, orders stamped between them.  Model
``perfect`` and no slippage unless a test says otherwise: a stop-loss or
trailing exit fills at the stop price, a take-profit at its price.
"""

from __future__ import annotations

import pytest

from tests.rulekit import fill_secs, fills, orders, position, run, status, ticks

HEDGING = {"account_mode": "hedging"}


def test_sl_and_tp_prices_take_profit_exit():
    # Buy 1 at t1's ask 110002 with sl 109990, tp 110020.  t2 bid 110015: neither.  t3 bid 110020
    # >= tp: take-profit at 110020, order_id -1: (110020 - 110002) x 100 = 1800.
    data = ticks([(1, 110000, 110002), (2, 110015, 110017), (3, 110020, 110022), (4, 110030, 110032)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109990, "tp": 110020}))
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (-1, 0, "sell", "close", "take_profit", 100, 110020)]
    assert fill_secs(res) == [1, 3]
    p = position(res, 0)
    assert (p["exit_reason"], p["realized_pnl_minor"], p["sl_ticks"], p["tp_ticks"]) == (
        "take_profit", 1800, 109990, 110020)


def test_tick_distances_are_measured_from_the_fill_price_long_and_short():
    # Hedging, t1 110000/110002.  Long 0 (fill 110002), sl_ticks 10, tp_ticks 15 -> sl 109992,
    # tp 110017.  Short 1 (fill 110000), sl_ticks 10, tp_ticks 20 -> sl 110010, tp 109980.
    # t2 110005/110007: nothing.  t3 110008/110010: short SL (ask 110010 >= 110010) at 110010:
    # (110000 - 110010) x 100 = -1000.  t4 110017/110019: long TP (bid >= 110017) at 110017: +1500.
    data = ticks([(1, 110000, 110002), (2, 110005, 110007), (3, 110008, 110010), (4, 110017, 110019)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl_ticks": 10, "tp_ticks": 15},
               {"t": 0.5, "side": "sell", "qty": 1, "sl_ticks": 10, "tp_ticks": 20})
    res = run(data, o, run=HEDGING)
    assert [(position(res, i)["sl_ticks"], position(res, i)["tp_ticks"]) for i in (0, 1)] == [
        (109992, 110017), (110010, 109980)]
    assert fills(res)[2:] == [(-1, 1, "buy", "close", "stop_loss", 100, 110010),
                              (-1, 0, "sell", "close", "take_profit", 100, 110017)]
    assert fill_secs(res)[2:] == [3, 4]
    assert (position(res, 1)["realized_pnl_minor"], position(res, 0)["realized_pnl_minor"]) == (-1000, 1500)


def test_percent_distances_round_half_to_even():
    # Hedging.  Long 0 fills at t1's ask 100000: sl_pct 0.0025 -> d = R(100000 x 0.0025 / 100) =
    # R(2.5) = 2 -> sl 99998; tp_pct 0.0035 -> R(3.5) = 4 -> tp 100004.
    # Short 1 fills at t2's bid 100000: sl_pct 0.0015 -> R(1.5) = 2 -> sl 100002; tp_pct 0.0045 ->
    # R(4.5) = 4 -> tp 99996.
    # t3 99998/99999: long SL at 99998 (with half-up rounding the sl would be 99997: no trigger).
    # t4 99995/99996: short TP (ask <= 99996) at 99996.
    data = ticks([(1, 99999, 100000), (2, 100000, 100001), (3, 99998, 99999), (4, 99995, 99996)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl_pct": 0.0025, "tp_pct": 0.0035},
               {"t": 1.5, "side": "sell", "qty": 1, "sl_pct": 0.0015, "tp_pct": 0.0045})
    res = run(data, o, run=HEDGING)
    assert [(position(res, i)["sl_ticks"], position(res, i)["tp_ticks"]) for i in (0, 1)] == [
        (99998, 100004), (100002, 99996)]
    assert fills(res)[2:] == [(-1, 0, "sell", "close", "stop_loss", 100, 99998),
                              (-1, 1, "buy", "close", "take_profit", 100, 99996)]
    assert fill_secs(res)[2:] == [3, 4]


def test_entry_check_uses_the_price_a_market_order_would_fill_at_and_the_limit_of_a_stop_limit():
    # Hedging, realistic, fixed slippage 3; t1 110000/110002.
    # 0 buy market, sl 110004: it would fill at 110002 + 3 = 110005, sl below: accepted.  Its SL
    #   triggers on the same tick (bid 110000 <= 110004) and fills at bid - 3 = 109997:
    #   (109997 - 110005) x 100 = -800.
    # 1 buy market, tp 110004: not above 110005 -> bad_stops (against the ask it would pass).
    # 2 sell market, tp 109998: fill 110000 - 3 = 109997, tp not below it -> bad_stops.
    # 3 buy stop-limit, stop 110010, price 110008, sl 110009: checked against the limit price
    #   110008 -> bad_stops (against the stop it would pass).
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 110004},
               {"t": 0.5, "side": "buy", "qty": 1, "tp": 110004},
               {"t": 0.5, "side": "sell", "qty": 1, "tp": 109998},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "stop_limit", "stop": 110010, "price": 110008,
                "sl": 110009})
    res = run(data, o, run=HEDGING, execution={"model": "realistic", "slippage": "fixed", "slippage_ticks": 3})
    assert [status(res, i) for i in range(4)] == [
        ("filled", "signal"), ("rejected", "bad_stops"), ("rejected", "bad_stops"), ("rejected", "bad_stops")]
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110005),
                          (-1, 0, "sell", "close", "stop_loss", 100, 109997)]
    assert position(res, 0)["realized_pnl_minor"] == -800


def test_modify_of_a_position_is_checked_against_the_closing_side_quote():
    # Buy 1 at t1's ask 110010 (bid 110000, spread 10).  At t2 (same quote):
    # 1 sets sl 110005: below the entry but not below the bid 110000 -> bad_stops, nothing changes.
    # 2 sets sl 109999, tp 110005: 109999 < bid 110000 < 110005 -> applied (tp below the entry is
    # fine: the check is against the bid).  t3 bid 110005 >= tp: take-profit at 110005:
    # (110005 - 110010) x 100 = -500.
    data = ticks([(1, 110000, 110010), (2, 110000, 110010), (3, 110005, 110015)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1},
               {"t": 1.5, "action": "modify", "ref": 0, "sl": 110005},
               {"t": 1.5, "action": "modify", "ref": 0, "sl": 109999, "tp": 110005})
    res = run(data, o)
    assert status(res, 1) == ("rejected", "bad_stops")
    assert status(res, 2)[0] == "applied"
    assert fills(res)[1:] == [(-1, 0, "sell", "close", "take_profit", 100, 110005)]
    p = position(res, 0)
    assert (p["sl_ticks"], p["tp_ticks"], p["realized_pnl_minor"]) == (109999, 110005, -500)


def test_netting_increase_sets_the_stops_it_carries_and_a_reduce_keeps_them():
    # 0 buys 1 at 110002, sl 109990, tp 110050.  1 buys 1 at t2's ask 110006 with sl 109995: the
    # increase sets the sl to 109995, the tp stays 110050.  2 sells 0.5 at t3's bid 110008 with
    # sl_ticks 50, tp_ticks 50 (right side for a sell): a reduce, the position keeps 109995/110050.
    # Reduce P&L: removed cost R(22000800 x 50 / 200) = 5500200, 110008 x 50 - 5500200 = 200.
    # t4 bid 109995 <= sl: stop-loss of the 150 steps at 109995: 16499250 - 16500600 = -1350.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006), (3, 110008, 110010), (4, 109995, 109997)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109990, "tp": 110050},
               {"t": 1.5, "side": "buy", "qty": 1, "sl": 109995},
               {"t": 2.5, "side": "sell", "qty": 0.5, "sl_ticks": 50, "tp_ticks": 50})
    res = run(data, o)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (1, 0, "buy", "increase", "signal", 100, 110006),
                          (2, 0, "sell", "reduce", "signal", 50, 110008),
                          (-1, 0, "sell", "close", "stop_loss", 150, 109995)]
    assert res.fills["realized_pnl_minor"].to_list() == [0, 0, 200, -1350]
    p = position(res, 0)
    assert (p["sl_ticks"], p["tp_ticks"], p["realized_pnl_minor"]) == (109995, 110050, -1150)


def test_hedging_each_position_has_its_own_stops():
    # Two longs at 110002: 0 with sl 109990, 1 with sl 109980.  t2 bid 109990: only 0 stops out;
    # t3 bid 109985: nothing.  1 ends open with its sl 109980.
    data = ticks([(1, 110000, 110002), (2, 109990, 109992), (3, 109985, 109987)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109990},
               {"t": 0.5, "side": "buy", "qty": 1, "sl": 109980})
    res = run(data, o, run=HEDGING)
    assert fills(res)[2:] == [(-1, 0, "sell", "close", "stop_loss", 100, 109990)]
    assert (position(res, 1)["is_open"], position(res, 1)["sl_ticks"]) == (1, 109980)


# entry on t1 (110000/110002): a long fills at 110002, a short at 110000.
# long: sl 109990, tp 110020; short: sl 110010, tp 109980.
@pytest.mark.parametrize("side, model, later, want", [
    # long SL: bid <= sl.  t2 bid 109991 no; t3 bid 109990: at the sl.
    ("buy", "perfect", [(2, 109991, 109993), (3, 109990, 109992)], (3, "stop_loss", 109990)),
    # long TP: bid >= tp.  t2 bid 110019 no; t3 bid 110020.
    ("buy", "perfect", [(2, 110019, 110021), (3, 110020, 110022)], (3, "take_profit", 110020)),
    # worst case long TP: bid >= tp + 1.  t3 bid 110020 no; t4 bid 110021: max(110020, 110021).
    ("buy", "worst_case", [(2, 110019, 110021), (3, 110020, 110022), (4, 110021, 110023)],
     (4, "take_profit", 110021)),
    # short SL: ask >= sl.  t2 ask 110009 no; t3 ask 110010.
    ("sell", "perfect", [(2, 110007, 110009), (3, 110008, 110010)], (3, "stop_loss", 110010)),
    # short TP: ask <= tp.  t2 ask 109981 no; t3 ask 109980.
    ("sell", "perfect", [(2, 109979, 109981), (3, 109978, 109980)], (3, "take_profit", 109980)),
    # worst case short TP: ask <= tp - 1.  t3 ask 109980 no; t4 ask 109979: min(109980, 109979).
    ("sell", "worst_case", [(2, 109979, 109981), (3, 109978, 109980), (4, 109977, 109979)],
     (4, "take_profit", 109979)),
])
def test_stop_triggers_at_the_boundary(side, model, later, want):
    sl, tp = (109990, 110020) if side == "buy" else (110010, 109980)
    data = ticks([(1, 110000, 110002), *later])
    res = run(data, orders({"t": 0.5, "side": side, "qty": 1, "sl": sl, "tp": tp}),
              execution={"model": model})
    exit_side = "sell" if side == "buy" else "buy"
    sec, reason, price = want
    assert fills(res)[1:] == [(-1, 0, exit_side, "close", reason, 100, price)]
    assert fill_secs(res)[1:] == [sec]


def test_stop_loss_wins_when_sl_and_tp_are_hit_on_the_same_tick():
    # Realistic, no slippage.  0 buys 1 at t1's ask 110002 with tp 110010.  1 buys 1 more at t2's
    # ask 110030 with sl 110020 (below its fill: valid); the increase sets sl 110020, the tp stays
    # 110010.  Step 6 of t2 (bid 110015): SL (110015 <= 110020) and TP (110015 >= 110010) both hit;
    # the stop-loss wins: all 200 steps at the bid 110015, reason stop_loss:
    # 110015 x 200 - (11000200 + 11003000) = -200.
    data = ticks([(1, 110000, 110002), (2, 110015, 110030), (3, 110015, 110030)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "tp": 110010},
               {"t": 1.5, "side": "buy", "qty": 1, "sl": 110020})
    res = run(data, o, execution={"model": "realistic"})
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (1, 0, "buy", "increase", "signal", 100, 110030),
                          (-1, 0, "sell", "close", "stop_loss", 200, 110015)]
    assert fill_secs(res) == [1, 2, 2]
    p = position(res, 0)
    assert (p["exit_reason"], p["realized_pnl_minor"]) == ("stop_loss", -200)


def test_trailing_follows_the_best_bid_and_only_tightens():
    # Hedging, both long at t1's ask 110002.  0: trail_ticks 10; 1: trail 0.0002 (a price
    # distance = 20 ticks).  Best bid since the entry:
    #   t1 110000 -> stops 109990 / 109980;  t2 110005 -> 109995 / 109985;
    #   t3 110012 -> 110002 / 109992;  t4 110008: lower, the stops stay (only tighten);
    #   t5 bid 110002 <= 110002: 0 exits at its trailing stop 110002 (reason trailing, P&L 0).
    # 1 ends open with trail_stop 109992 and trail_hwm 110012.
    data = ticks([(1, 110000, 110002), (2, 110005, 110007), (3, 110012, 110014), (4, 110008, 110010),
                  (5, 110002, 110004)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "trail_ticks": 10},
               {"t": 0.5, "side": "buy", "qty": 1, "trail": 20})
    res = run(data, o, run=HEDGING)
    assert fills(res)[2:] == [(-1, 0, "sell", "close", "trailing", 100, 110002)]
    assert fill_secs(res)[2:] == [5]
    p0, p1 = position(res, 0), position(res, 1)
    assert (p0["exit_reason"], p0["realized_pnl_minor"]) == ("trailing", 0)
    assert (p1["is_open"], p1["trail_stop"], p1["trail_hwm"]) == (1, 109992, 110012)


def test_trailing_short_follows_the_best_ask():
    # Sell 1 at t1's bid 110000 (ask 110002), trail_ticks 10: stop = best ask + 10.
    #   t1 ask 110002 -> 110012;  t2 ask 109995 -> 110005;  t3 ask 110004: no trigger, stays;
    #   t4 ask 110005 >= 110005: buys back at 110005: (110000 - 110005) x 100 = -500.
    data = ticks([(1, 110000, 110002), (2, 109993, 109995), (3, 110002, 110004), (4, 110003, 110005)])
    res = run(data, orders({"t": 0.5, "side": "sell", "qty": 1, "trail_ticks": 10}))
    assert fills(res)[1:] == [(-1, 0, "buy", "close", "trailing", 100, 110005)]
    assert fill_secs(res)[1:] == [4]
    assert position(res, 0)["realized_pnl_minor"] == -500


def test_trailing_activation_waits_for_the_favourable_move():
    # Buy 1 at 110002, trail_ticks 10, trail_activation 10 (starts at bid >= 110012).
    #   t2 110010/110011: 8 ticks (9 on the ask): not active.
    #   t3 bid 110000: had it been active since t2 (stop 110000) it would trigger; it does not.
    #   t4 bid 110013: 11 ticks: active, hwm 110013, stop 110003.  t5 bid 110006: no.
    #   t6 bid 110003 <= 110003: trailing exit at 110003: +100.
    data = ticks([(1, 110000, 110002), (2, 110010, 110011), (3, 110000, 110002), (4, 110013, 110015),
                  (5, 110006, 110008), (6, 110003, 110005)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "trail_ticks": 10, "trail_activation": 10}))
    assert fills(res)[1:] == [(-1, 0, "sell", "close", "trailing", 100, 110003)]
    assert fill_secs(res)[1:] == [6]
    assert position(res, 0)["realized_pnl_minor"] == 100


def test_trailing_step_moves_the_stop_only_by_at_least_the_step():
    # Buy 1 at 110002, trail_ticks 10, trail_step 3.
    #   t1 bid 110000 -> stop 109990.  t2 bid 110002 -> 109992 is 2 < 3 ticks tighter: stays 109990.
    #   t3 bid 110003 -> 109993, 3 ticks: moves.  t4 bid 110005 -> 109995 is 2 tighter: stays 109993.
    #   t5 bid 109994: above 109993, no trigger (without the step the stop would be 109995).
    #   t6 bid 109993: trailing exit at 109993: (109993 - 110002) x 100 = -900.
    data = ticks([(1, 110000, 110002), (2, 110002, 110004), (3, 110003, 110005), (4, 110005, 110007),
                  (5, 109994, 109996), (6, 109993, 109995)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "trail_ticks": 10, "trail_step": 3}))
    assert fills(res)[1:] == [(-1, 0, "sell", "close", "trailing", 100, 109993)]
    assert fill_secs(res)[1:] == [6]
    assert position(res, 0)["realized_pnl_minor"] == -900


def test_trailing_percent_distance_is_taken_from_the_hwm():
    # Buy 1 at t1's ask 100002 (bid 100000), trail_pct 0.0025: d = R(hwm x 0.0025 / 100).
    #   t1 hwm 100000: d = R(2.5) = 2 -> stop 99998 (from the entry 100002 it would be R(2.50005)
    #   = 3 -> 99997).  t2 bid 99999: no.  t3 bid 99998: trailing exit at 99998: -400.
    data = ticks([(1, 100000, 100002), (2, 99999, 100001), (3, 99998, 100000)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "trail_pct": 0.0025}))
    assert fills(res)[1:] == [(-1, 0, "sell", "close", "trailing", 100, 99998)]
    assert fill_secs(res)[1:] == [3]
    assert position(res, 0)["realized_pnl_minor"] == -400


def test_trailing_percent_distance_grows_with_the_hwm():
    # Buy 1 at 100002, trail_pct 0.5:  t1 hwm 100000: d = 500 -> 99500;  t2 hwm 100100:
    # d = R(500.5) = 500 -> 99600;  t3 hwm 100300: d = R(501.5) = 502 -> 99798.
    # t4 bid 99799: no (a fixed 500-tick distance would give 99800 and trigger here).
    # t5 bid 99798: trailing exit at 99798: (99798 - 100002) x 100 = -20400.
    data = ticks([(1, 100000, 100002), (2, 100100, 100102), (3, 100300, 100302), (4, 99799, 99801),
                  (5, 99798, 99800)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "trail_pct": 0.5}))
    assert fills(res)[1:] == [(-1, 0, "sell", "close", "trailing", 100, 99798)]
    assert fill_secs(res)[1:] == [5]
    assert position(res, 0)["realized_pnl_minor"] == -20400


@pytest.mark.parametrize("later, want", [
    # trailing 109990 (t1), sl 109995 tighter: t2 bid 109995 -> stop_loss at 109995.
    ([(2, 109995, 109997)], (2, "stop_loss", 109995)),
    # t2 bid 110010 -> trailing 110000, strictly tighter than the sl: t3 bid 110000 -> trailing.
    ([(2, 110010, 110012), (3, 110000, 110002)], (3, "trailing", 110000)),
    # t2 bid 110005 -> trailing 109995 = sl, not strictly tighter: t3 bid 109995 -> stop_loss.
    ([(2, 110005, 110007), (3, 109995, 109997)], (3, "stop_loss", 109995)),
])
def test_effective_stop_is_the_tighter_of_sl_and_trailing(later, want):
    # Buy 1 at t1's ask 110002 with sl 109995 and trail_ticks 10.
    data = ticks([(1, 110000, 110002), *later])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109995, "trail_ticks": 10}))
    sec, reason, price = want
    assert fills(res)[1:] == [(-1, 0, "sell", "close", reason, 100, price)]
    assert fill_secs(res)[1:] == [sec]
    assert position(res, 0)["exit_reason"] == reason


def test_trailing_set_by_a_modify_of_a_position():
    # Buy 1 at t1's ask 110002 without stops.  t2 bid 110020 (the best bid).  1 (modify ref 0,
    # trail_ticks 10) acts at t3 (bid 110020 again): the stop is 110020 - 10 = 110010 (the same
    # whether the best bid is counted from the entry or from the modify).  t4 bid 110015: no.
    # t5 bid 110010: trailing exit at 110010: +800.
    data = ticks([(1, 110000, 110002), (2, 110020, 110022), (3, 110020, 110022), (4, 110015, 110017),
                  (5, 110010, 110012)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 2.5, "action": "modify", "ref": 0, "trail_ticks": 10})
    res = run(data, o)
    assert status(res, 1)[0] == "applied"
    assert fills(res)[1:] == [(-1, 0, "sell", "close", "trailing", 100, 110010)]
    assert fill_secs(res)[1:] == [5]
    assert position(res, 0)["realized_pnl_minor"] == 800


def test_a_netting_reversal_gives_the_new_position_the_reversing_orders_stops():
    # 0 buys 1 at 110002 with sl 109000.  1 sells 2 at t2's bid 110010 with sl_ticks 20,
    # tp_ticks 30: it opens short 1 lot as position 1, whose stops are measured from 110010:
    # sl 110030, tp 109980.  Position 0 is closed with its own sl.
    data = ticks([(1, 110000, 110002), (2, 110010, 110012), (3, 110010, 110012)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109000},
               {"t": 1.5, "side": "sell", "qty": 2, "sl_ticks": 20, "tp_ticks": 30})
    res = run(data, o)
    p1 = position(res, 1)
    assert (p1["side_code"], p1["parent_id"], p1["sl_ticks"], p1["tp_ticks"]) == (-1, 0, 110030, 109980)


def test_trailing_activation_of_a_short():
    # Sell 1 at t1's bid 110000, trail_ticks 10, trail_activation 10 (starts at ask <= 109990).
    #   t2 ask 109993 (7 ticks): not active.  t3 ask 110003: nothing (not active).
    #   t4 ask 109989 (11 ticks): active, best ask 109989, stop 109999.  t5 ask 109998: no.
    #   t6 ask 109999 >= 109999: trailing exit at 109999: +100.
    data = ticks([(1, 110000, 110002), (2, 109991, 109993), (3, 110001, 110003), (4, 109987, 109989),
                  (5, 109996, 109998), (6, 109997, 109999)])
    res = run(data, orders({"t": 0.5, "side": "sell", "qty": 1, "trail_ticks": 10, "trail_activation": 10}))
    assert fills(res)[1:] == [(-1, 0, "buy", "close", "trailing", 100, 109999)]
    assert fill_secs(res)[1:] == [6]
    assert position(res, 0)["realized_pnl_minor"] == 100


def test_modify_percent_distances_from_the_rounded_average_entry():
    # Netting: buys at 110002 and 110005: average R(110003.5) = 110004.  Modify sl_pct 0.01:
    # d = R(110004 x 0.0001) = R(11.0004) = 11 -> sl 109993; tp_pct 0.0225: R(24.7509) = 25 ->
    # tp 110029.  Bid 110003 lies between: applied.
    data = ticks([(1, 110000, 110002), (2, 110003, 110005), (3, 110003, 110005)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "buy", "qty": 1},
               {"t": 2.5, "action": "modify", "ref": 0, "sl_pct": 0.01, "tp_pct": 0.0225})
    res = run(data, o)
    assert status(res, 2)[0] == "applied"
    assert (position(res, 0)["sl_ticks"], position(res, 0)["tp_ticks"]) == (109993, 110029)


def test_trailing_with_activation_set_by_a_modify_already_in_profit_starts_at_once():
    # Sell 1 at t1's bid 110000 (entry 110000, no stops).  t2 ask 109972 (28 ticks in favour).
    # 1 (modify ref 0, trail_ticks 1, trail_activation 1) acts at t3, a tick of GBPUSD: the
    # short's current ask 109972 is already >= 1 tick past the entry, so the trail is active at
    # once from that quote: best ask 109972, stop 109973.  t4 EURUSD ask 109990 >= 109973:
    # trailing exit at the stop (perfect model) 109973, P&L (110000 - 109973) x 100 = +2700.
    data = ticks([(1, 110000, 110002), (2, 109970, 109972), (3, 130000, 130002, "GBPUSD"),
                  (4, 109988, 109990)])
    o = orders({"t": 0.5, "side": "sell", "qty": 1},
               {"t": 2.5, "action": "modify", "ref": 0, "trail_ticks": 1, "trail_activation": 1})
    res = run(data, o)
    assert status(res, 1)[0] == "applied"
    assert fills(res)[1:] == [(-1, 0, "buy", "close", "trailing", 100, 109973)]
    assert fill_secs(res)[1:] == [4]
    assert position(res, 0)["realized_pnl_minor"] == 2700
