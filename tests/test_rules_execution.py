"""docs/execution.md §5 (execution models, prices, slippage, seeded draws) and
§6 (order of work on one tick), one hand-worked scenario per rule.

Units (tests/rulekit.py): EURUSD, prices in ticks, one tick on 1 lot = 100
minor.  Ticks at whole seconds, orders stamped between them.  A buy pays
``q + s``, a sell gets ``max(1, q - s)``; ``q`` is the ask for a buy, the bid
for a sell.
"""

from __future__ import annotations

import pytest

from tests.rulekit import draw, fill_secs, fills, orders, position, run, signals, status, ticks

HEDGING = {"account_mode": "hedging"}
FIXED2 = {"slippage": "fixed", "slippage_ticks": 2}

# ---------------------------------------------------------------------------------------------
# §5 Execution models and prices
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model, want", [
    ("perfect", [110002, 110000, 110010, 110022]),  # q, the slippage is not used
    ("realistic", [110004, 109998, 110008, 110024]),  # q +- 2
    ("worst_case", [110004, 109998, 110008, 110024]),  # q +- s_max = 2 (fixed)
])
def test_market_close_and_end_of_data_prices_under_each_model(model, want):
    # Hedging, fixed slippage 2.  0 buys at t1 (ask 110002); 1 sells at t1 (bid 110000);
    # 2 closes position 0 at t2 (bid 110010); end of data closes position 1 at t3 (ask 110022).
    data = ticks([(1, 110000, 110002), (2, 110010, 110012), (3, 110020, 110022)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 0.5, "side": "sell", "qty": 1},
               {"t": 1.5, "action": "close", "ref": 0})
    res = run(data, o, run={"account_mode": "hedging", "close_at_end": True}, execution={"model": model, **FIXED2})
    assert fills(res, ("order_id", "position_id", "effect", "reason")) == [
        (0, 0, "open", "signal"), (1, 1, "open", "signal"), (2, 0, "close", "signal"),
        (-1, 1, "close", "end_of_data")]
    assert res.fills["price_ticks"].to_list() == want


@pytest.mark.parametrize("model, want", [("perfect", 110002), ("realistic", 110004), ("worst_case", 110004)])
def test_target_price_under_each_model(model, want):
    # Signal target 1 from flat: buys 100 steps at t1's ask 110002 (+ 2 unless perfect).
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    res = run(data, None, signals([(0.5, 1)]), execution={"model": model, **FIXED2})
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, want)]


def test_a_sell_gets_at_least_one_tick():
    # Realistic, fixed slippage 5.  t1 bid 3 ask 5 (0.00003 / 0.00005): the sell gets
    # max(1, 3 - 5) = 1.  End of data buys back at t2's ask 5 + 5 = 10: (1 - 10) x 100 = -900.
    data = ticks([(1, 3, 5), (2, 3, 5)])
    res = run(data, orders({"t": 0.5, "side": "sell", "qty": 1}), run={"close_at_end": True},
              execution={"model": "realistic", "slippage": "fixed", "slippage_ticks": 5})
    assert fills(res, ("price_ticks", "effect")) == [(1, "open"), (10, "close")]
    assert position(res, 0)["realized_pnl_minor"] == -900


# Gaps: a long with sl 109990 (and a buy stop 110010) when the next tick jumps over them.
GAP_SL = ([(1, 110000, 110002), (2, 109980, 109982)], {"t": 0.5, "side": "buy", "qty": 1, "sl": 109990})


@pytest.mark.parametrize("execution, want", [
    ({"model": "perfect", **FIXED2}, (110002, 109990)),  # the stop price
    ({"model": "realistic"}, (110002, 109980)),  # q: the gap gives a worse price
    ({"model": "realistic", **FIXED2}, (110004, 109978)),  # q - 2
    ({"model": "worst_case", **FIXED2}, (110004, 109978)),  # q - s_max
    # random draws: realistic takes draw(seed, n, 2) for fill n; worst case always 2
    ({"model": "realistic", **FIXED2, "random_slippage": True, "seed": 1},
     (110002 + draw(1, 0, 2), 109980 - draw(1, 1, 2))),  # draws 2 and 1
    ({"model": "worst_case", **FIXED2, "random_slippage": True, "seed": 1}, (110004, 109978)),
])
def test_gap_through_a_stop_loss_under_each_model(execution, want):
    data, order = GAP_SL
    res = run(ticks(data), orders(order), execution=execution)
    assert fills(res, ("reason", "price_ticks")) == [("signal", want[0]), ("stop_loss", want[1])]
    assert fill_secs(res) == [1, 2]


@pytest.mark.parametrize("execution, want", [
    ({"model": "perfect", **FIXED2}, 110010),  # the stop price
    ({"model": "realistic", **FIXED2}, 110022),  # ask 110020 + 2
    ({"model": "worst_case", **FIXED2}, 110022),
])
def test_gap_through_a_stop_entry_under_each_model(execution, want):
    # Buy stop 110010; t2's ask jumps from 110002 to 110020.
    data = ticks([(1, 110000, 110002), (2, 110018, 110020)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "type": "stop", "stop": 110010}),
              execution=execution)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, want)]


@pytest.mark.parametrize("model, want", [
    ("perfect", 109990),  # the trailing stop price
    ("realistic", 109978),  # bid 109980 - 2
    ("worst_case", 109978),
])
def test_gap_through_a_trailing_stop_under_each_model(model, want):
    # Buy 1 at t1 (no slippage under perfect: 110002), trail_ticks 10: stop 110000 - 10 = 109990
    # after t1.  t2's bid gaps to 109980.
    data = ticks([(1, 110000, 110002), (2, 109980, 109982)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "trail_ticks": 10}),
              execution={"model": model, **FIXED2})
    assert fills(res, ("reason", "price_ticks"))[1:] == [("trailing", want)]


@pytest.mark.parametrize("model, want", [
    # buy limit 110010 with ask 110005 on t1; tp 110020 with bid 110025 on t2.  The slippage
    # (fixed 2) never applies to limit-type fills.
    ("perfect", (110010, 110020)),  # the limit prices
    ("realistic", (110005, 110025)),  # min(110010, ask 110005), max(110020, bid 110025)
    ("worst_case", (110005, 110025)),  # both quotes are through by at least one tick
])
def test_limit_entry_and_take_profit_prices_under_each_model(model, want):
    data = ticks([(1, 110000, 110005), (2, 110025, 110027)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110010, "tp": 110020}),
              execution={"model": model, **FIXED2})
    assert fills(res, ("reason", "price_ticks")) == [("signal", want[0]), ("take_profit", want[1])]
    assert fill_secs(res) == [1, 2]


@pytest.mark.parametrize("model, want", [
    ("perfect", (1, 110000)),
    ("realistic", (1, 110000)),
    ("worst_case", (2, 109999)),  # ask 110000 is not through; ask 109999 is: min(110000, 109999)
])
def test_worst_case_limit_needs_the_quote_one_tick_through(model, want):
    # Buy limit 110000: t1's ask 110000 is at the price (fills at 110000 unless worst case);
    # t2's ask 109999 is one tick through.
    data = ticks([(1, 109998, 110000), (2, 109997, 109999)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110000}),
              execution={"model": model})
    assert fills(res, ("price_ticks",)) == [(want[1],)]
    assert fill_secs(res) == [want[0]]


def test_worst_case_sell_limit_needs_the_bid_one_tick_through():
    # Sell limit 110010: t1 bid 110010 (at the price) does not fill under worst case; t2 bid 110011
    # fills at max(110010, 110011) = 110011.
    data = ticks([(1, 110010, 110012), (2, 110011, 110013)])
    res = run(data, orders({"t": 0.5, "side": "sell", "qty": 1, "type": "limit", "price": 110010}),
              execution={"model": "worst_case"})
    assert fills(res) == [(0, 0, "sell", "open", "signal", 100, 110011)]
    assert fill_secs(res) == [2]


def test_spread_slippage_rounds_half_to_even():
    # Realistic, slippage = R(spread x 0.5).  0 buys at t1 (110000/110003): s = R(1.5) = 2 ->
    # 110005.  1 sells at t2 (110010/110015): s = R(2.5) = 2 -> 110008.  2 buys at t3
    # (110020/110027): s = R(3.5) = 4 -> 110031.
    data = ticks([(1, 110000, 110003), (2, 110010, 110015), (3, 110020, 110027)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "sell", "qty": 1},
               {"t": 2.5, "side": "buy", "qty": 1})
    res = run(data, o, execution={"model": "realistic", "slippage": "spread", "slippage_spread": "0.5"})
    assert res.fills["price_ticks"].to_list() == [110005, 110008, 110031]


def test_size_slippage_without_quote_sizes_uses_slippage_ticks():
    # A tick frame without sizes: s = slippage_ticks = 3.  Buy at 110002 + 3; sell at 110010 - 3.
    data = ticks([(1, 110000, 110002), (2, 110010, 110012)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "sell", "qty": 1})
    res = run(data, o, execution={"model": "realistic", "slippage": "size", "slippage_ticks": 3})
    assert res.fills["price_ticks"].to_list() == [110005, 110007]


RANDOM_TICKS = [(k, 110000 + 10 * k, 110002 + 10 * k) for k in range(1, 9)]
RANDOM_ORDERS = [{"t": k + 0.5, "side": "buy" if k % 2 == 0 else "sell", "qty": 1} for k in range(0, 7)]


def test_random_slippage_is_the_seeded_draw_of_the_fill_number_and_repeats():
    # Realistic, fixed s = 5, random, seed 5.  Fill n is order n, at tick n + 1
    # (bid 110000 + 10 (n + 1), ask bid + 2), buys on even n, sells on odd n; its slippage is
    # draw(5, n, 5) = splitmix64(5 + n x 0x9E37...) mod 6.
    exe = {"model": "realistic", "slippage": "fixed", "slippage_ticks": 5, "random_slippage": True, "seed": 5}
    want = []
    for n in range(7):
        bid = 110000 + 10 * (n + 1)
        want.append(bid + 2 + draw(5, n, 5) if n % 2 == 0 else bid - draw(5, n, 5))
    assert [draw(5, n, 5) for n in range(7)] == [2, 4, 5, 5, 1, 4, 3]  # not all equal to s
    data, o = ticks(RANDOM_TICKS), orders(*RANDOM_ORDERS)
    one = run(data, o, execution=exe)
    two = run(data, o, execution=exe)
    chunked = run(data, o, execution=exe, run={"chunk_rows": 2, "buffer_rows": 16})
    assert one.fills["price_ticks"].to_list() == want
    assert one.fills.equals(two.fills)
    assert one.fills.equals(chunked.fills)
    assert one.positions.equals(chunked.positions)
    # another seed gives other draws; worst case always takes s = 5
    other = run(data, o, execution={**exe, "seed": 3})
    assert other.fills["price_ticks"].to_list() == [
        110000 + 10 * (n + 1) + 2 + draw(3, n, 5) if n % 2 == 0 else 110000 + 10 * (n + 1) - draw(3, n, 5)
        for n in range(7)]
    worst = run(data, o, execution={**exe, "model": "worst_case"})
    assert worst.fills["price_ticks"].to_list() == [
        110000 + 10 * (n + 1) + 2 + 5 if n % 2 == 0 else 110000 + 10 * (n + 1) - 5 for n in range(7)]


# ---------------------------------------------------------------------------------------------
# §6 Order of work on one tick
# ---------------------------------------------------------------------------------------------


def test_orders_act_in_act_ts_then_index_order():
    # All act on t2.  0 buy limit 109990; 1 (modify 0 to 110000) then 2 (cancel 0), same ts:
    # 1 acts first -> applied, 2 cancels -> 0 cancelled.  3 buy limit 109990; 4 (cancel 3) then
    # 5 (modify 3), same ts: 3 is cancelled, then 5 is rejected not_working.  6 (cancel ref 7, at
    # 1.6) acts after 7 (a buy limit stamped 1.4, later row): 7 cancelled, 6 applied.
    # t3's ask 109982 would have filled every one of these limits: no fill at all.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 109980, 109982)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109990},
               {"t": 1.5, "action": "modify", "ref": 0, "price": 110000},
               {"t": 1.5, "action": "cancel", "ref": 0},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109990},
               {"t": 1.5, "action": "cancel", "ref": 3},
               {"t": 1.5, "action": "modify", "ref": 3, "price": 110000},
               {"t": 1.6, "action": "cancel", "ref": 7},
               {"t": 1.4, "side": "buy", "qty": 1, "type": "limit", "price": 109990})
    res = run(data, o, run=HEDGING)
    assert [status(res, i)[0] for i in range(8)] == [
        "cancelled", "applied", "applied", "cancelled", "applied", "rejected", "applied", "cancelled"]
    assert status(res, 5) == ("rejected", "not_working")
    assert res.fills.height == 0


def test_working_queue_fills_before_pending_entries():
    # Netting, t1 110000/110002.  Row 0: sell limit 109999; row 1: buy market.  Step 4 fills the
    # market buy first (opens position 1 at 110002), step 5 the sell limit (bid 110000 >= 109999,
    # at 109999) closes it: (109999 - 110002) x 100 = -300.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    o = orders({"t": 0.5, "side": "sell", "qty": 1, "type": "limit", "price": 109999},
               {"t": 0.5, "side": "buy", "qty": 1})
    res = run(data, o)
    assert fills(res) == [(1, 1, "buy", "open", "signal", 100, 110002),
                          (0, 1, "sell", "close", "signal", 100, 109999)]
    assert position(res, 1)["realized_pnl_minor"] == -300


def test_pending_entries_stops_then_limits_buy_then_sell():
    # Netting, t1 110000/110002, all four trigger on it.  Rows: 0 sell limit 109999, 1 buy limit
    # 110003, 2 sell stop 110001, 3 buy stop 110001.  Order of fills: buy stop 3 (opens 3 at
    # 110001), sell stop 2 (closes 3 at 110001: P&L 0), buy limit 1 (opens 1 at 110003), sell
    # limit 0 (closes 1 at 109999: -400).
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    o = orders({"t": 0.5, "side": "sell", "qty": 1, "type": "limit", "price": 109999},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110003},
               {"t": 0.5, "side": "sell", "qty": 1, "type": "stop", "stop": 110001},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "stop", "stop": 110001})
    res = run(data, o)
    assert fills(res) == [(3, 3, "buy", "open", "signal", 100, 110001),
                          (2, 3, "sell", "close", "signal", 100, 110001),
                          (1, 1, "buy", "open", "signal", 100, 110003),
                          (0, 1, "sell", "close", "signal", 100, 109999)]
    assert res.fills["realized_pnl_minor"].to_list() == [0, 0, 0, -400]


def test_each_book_best_price_first_ties_by_order_index():
    # Hedging, t1 110000/110002, everything triggers.  Buy stops 110001 (r0), 109998 (r1);
    # sell stops 110001 (r2), 110004 (r3); buy limits 110005 (r4), 110008 (r5), 110008 (r6);
    # sell limits 109999 (r7), 109995 (r8).
    # Best first: buy stops lowest stop (r1, r0); sell stops highest (r3, r2); buy limits highest
    # price (r5, r6 tie by index, r4); sell limits lowest (r8, r7).  Perfect: each at its price.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    rows = [("buy", "stop", 110001), ("buy", "stop", 109998), ("sell", "stop", 110001), ("sell", "stop", 110004),
            ("buy", "limit", 110005), ("buy", "limit", 110008), ("buy", "limit", 110008),
            ("sell", "limit", 109999), ("sell", "limit", 109995)]
    o = orders(*[{"t": 0.5, "side": s, "qty": 1, "type": t, ("stop" if t == "stop" else "price"): p}
                 for s, t, p in rows])
    res = run(data, o, run=HEDGING)
    assert fills(res, ("order_id", "price_ticks")) == [
        (1, 109998), (0, 110001), (3, 110004), (2, 110001), (5, 110008), (6, 110008), (4, 110005),
        (8, 109995), (7, 109999)]


def test_oco_member_that_triggered_on_the_same_tick_does_not_fill_after_a_fill():
    # Hedging, group 1: 0 buy stop 110001, 1 buy limit 110003; both trigger on t1 (ask 110002).
    # The stop fills first (stops before limits) at 110001; looking again, 1 has been cancelled by
    # the OCO: it does not fill.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "stop", "stop": 110001, "oco": 1},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110003, "oco": 1})
    res = run(data, o, run=HEDGING)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110001)]
    assert status(res, 1) == ("cancelled", "oco")


def test_exits_stop_losses_first_worst_first_then_take_profits_ties_by_position_id():
    # Hedging, entries on t1 (110000/110002): 0 short (110000) with tp 109995; 1 and 2 long
    # (110002) with sl 109993; 3 long with sl 109996.  t2 109990/109992 hits all four.
    # Stop-losses first: 3 (109996, the quote is 6 ticks through it), then 1 and 2 (109993, 3
    # ticks through, tie by position id); then the take-profit of 0 (ask 109992 <= 109995).
    data = ticks([(1, 110000, 110002), (2, 109990, 109992)])
    o = orders({"t": 0.5, "side": "sell", "qty": 1, "tp": 109995},
               {"t": 0.5, "side": "buy", "qty": 1, "sl": 109993},
               {"t": 0.5, "side": "buy", "qty": 1, "sl": 109993},
               {"t": 0.5, "side": "buy", "qty": 1, "sl": 109996})
    res = run(data, o, run=HEDGING)
    assert fills(res, ("position_id", "reason", "price_ticks"))[4:] == [
        (3, "stop_loss", 109996), (1, "stop_loss", 109993), (2, "stop_loss", 109993),
        (0, "take_profit", 109995)]


def test_stop_losses_before_take_profits_regardless_of_position_id():
    # Hedging: 0 short at 110000 with tp 109995 (lower id), 1 long at 110002 with sl 109993.
    # t2 109990/109992 hits both: the stop-loss of 1 fills before the take-profit of 0.
    data = ticks([(1, 110000, 110002), (2, 109990, 109992)])
    o = orders({"t": 0.5, "side": "sell", "qty": 1, "tp": 109995},
               {"t": 0.5, "side": "buy", "qty": 1, "sl": 109993})
    res = run(data, o, run=HEDGING)
    assert fills(res, ("position_id", "reason", "price_ticks"))[2:] == [
        (1, "stop_loss", 109993), (0, "take_profit", 109995)]


def test_a_close_on_the_tick_fills_before_the_positions_stop():
    # 0 buys at 110002 with sl 109995; 1 closes it at t2 where bid 109990 is also through the sl:
    # step 4 (the close, at the bid 109990, reason signal) comes before step 6; no stop-loss fill.
    data = ticks([(1, 110000, 110002), (2, 109990, 109992), (3, 109990, 109992)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109995}, {"t": 1.5, "action": "close", "ref": 0})
    res = run(data, o)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (1, 0, "sell", "close", "signal", 100, 109990)]
    assert position(res, 0)["exit_reason"] == "signal"


def test_an_entry_filled_on_a_tick_is_checked_for_exits_on_that_tick():
    # Steps 4-5 (fills) come before step 6 (exits): a buy limit 110003 fills on t1 (ask 110002) at
    # 110003 with sl 110001 (below its price: valid); t1's bid 110000 <= 110001, so the stop-loss
    # fills on t1 too, at 110001: (110001 - 110003) x 100 = -200.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110003, "sl": 110001}))
    assert fills(res, ("position_id", "reason", "price_ticks")) == [
        (0, "signal", 110003), (0, "stop_loss", 110001)]
    assert fill_secs(res) == [1, 1]
    assert position(res, 0)["realized_pnl_minor"] == -200


def test_marking_unrealized_equity_and_drawdown_on_every_tick():
    # Hedging, log level ticks.  At t2 (110000/110002): long 1 lot at 110002 (cost 11000200) and
    # short 0.5 at 110000 (cost 5500000).  Unrealized = bid x 100 - 11000200 + 5500000 - ask x 50:
    #   t1 (nothing open) 0; t2 -200 - 100 = -300; t3 (110010/110012) 800 - 600 = 200;
    #   t4 (109990/109992) -1200 + 400 = -800; t5 (110005/110007) 300 - 350 = -50.
    # Equity 10_000_000 + unrealized; drawdown = peak so far - equity: 0, 300, 0, 1000, 250.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 110010, 110012), (4, 109990, 109992),
                  (5, 110005, 110007)])
    o = orders({"t": 1.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "sell", "qty": 0.5})
    res = run(data, o, run={"account_mode": "hedging", "log_level": "ticks"})
    eq = res.equity.head(5)
    assert eq["unrealized_minor"].to_list() == [0, -300, 200, -800, -50]
    assert eq["equity_minor"].to_list() == [10_000_000, 9_999_700, 10_000_200, 9_999_200, 9_999_950]
    assert eq["drawdown_minor"].to_list() == [0, 300, 0, 1000, 250]
    assert eq["open_positions"].to_list() == [0, 2, 2, 2, 2]
    assert res.summary["max_drawdown_minor"] == 1000
    assert res.summary["final_equity_minor"] == 9_999_950


def test_random_slippage_fill_number_counts_every_fill():
    # Realistic, fixed s = 5, random, seed 5: draws for n = 0, 1, 2 are 2, 4, 5.
    # Fill 0 is a buy limit 110003 (no slippage: min(110003, 110002) = 110002) but it is still
    # fill number 0; fill 1, a market sell at t2, gets 110010 - draw(5, 1, 5) = 110006; fill 2,
    # a market buy at t3, pays 110022 + draw(5, 2, 5) = 110027.
    exe = {"model": "realistic", "slippage": "fixed", "slippage_ticks": 5, "random_slippage": True, "seed": 5}
    assert [draw(5, n, 5) for n in range(3)] == [2, 4, 5]
    data = ticks([(1, 110000, 110002), (2, 110010, 110012), (3, 110020, 110022)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 110003},
               {"t": 1.5, "side": "sell", "qty": 1}, {"t": 2.5, "side": "buy", "qty": 1})
    res = run(data, o, execution=exe)
    assert res.fills["price_ticks"].to_list() == [110002, 110006, 110027]


def test_short_stop_losses_worst_first():
    # Hedging: shorts at t1's bid 110000 with sl 110010 (0), 110005 (1), 110005 (2).  t2's ask
    # 110020 is through all three: 110005 first (15 ticks through; 1 then 2 by position id), then
    # 110010 (10 ticks).  Perfect: each at its stop.
    data = ticks([(1, 110000, 110002), (2, 110018, 110020)])
    o = orders({"t": 0.5, "side": "sell", "qty": 1, "sl": 110010}, {"t": 0.5, "side": "sell", "qty": 1, "sl": 110005},
               {"t": 0.5, "side": "sell", "qty": 1, "sl": 110005})
    res = run(data, o, run=HEDGING)
    assert fills(res, ("position_id", "reason", "price_ticks"))[3:] == [
        (1, "stop_loss", 110005), (2, "stop_loss", 110005), (0, "stop_loss", 110010)]


@pytest.mark.parametrize("model, want", [
    ("perfect", (3, 109995)), ("realistic", (3, 109995)),
    ("worst_case", (4, 109996)),  # the bid must be 109996 (one tick through): max(109995, 109996)
])
def test_sell_stop_limit_under_each_model(model, want):
    # Sell stop-limit, stop 109990, price 109995.  t2 bid 109989 triggers it, below 109995: no
    # fill.  t3 bid 109995 = the price: fills at 109995 (perfect, realistic max(109995, 109995)).
    data = ticks([(1, 110000, 110002), (2, 109989, 109991), (3, 109995, 109997), (4, 109996, 109998)])
    res = run(data, orders({"t": 0.5, "side": "sell", "qty": 1, "type": "stop_limit", "stop": 109990,
                            "price": 109995}), execution={"model": model})
    assert fills(res) == [(0, 0, "sell", "open", "signal", 100, want[1])]
    assert fill_secs(res) == [want[0]]
