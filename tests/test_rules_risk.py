"""docs/risk.md, one hand-worked scenario per rule: margin, margin call and stop-out (§1),
sizing (§2), the pre-trade checks in their order (§3), the daily loss limit and the
circuit breaker, the lifecycle log and its severities (§5), the summary counts (§7).

Units (tests/rulekit.py): EURUSD (and GBPUSD, same grid), prices in ticks (110002 =
1.10002), V = 1 minor unit (cent) per tick per lot step; one lot = 100 steps, so the
notional of q steps at p ticks is p x q minor.  Times in seconds after Monday 2024-01-01
00:00 UTC; ticks at whole seconds, orders stamped between them (an order at 0.5 acts on
the tick at 1, in step 3, before the tick's fills and marking, with the tick's own quote
as its symbol's current quote and the equity as marked on the tick before).  Model
``perfect``, no slippage and no commission unless a test says otherwise.

Margin rates come from instrument tables of the config (``margin_rate`` or ``leverage``);
money limits of ``[risk]`` are in USD, percents in percent.  Used margin
``U = R(m x cost)``, margin-call threshold ``F(call_ppm x U / 10^6)``, stop-out threshold
``F(so_ppm x U / 10^6)`` (defaults 100 % and 50 %).

Readings of the rule book written down here (see also the docstrings):
- a stop-limit order carries two prices; check 2 tests each of them;
- in netting a reversal "opens a new position" (§3), so check 9 refuses it while
  ``max_positions`` are open even though the reversed position closes on the same fill;
- the ``closed`` event of a position closed by a stop-out is a position event, severity
  ``info`` (its ``stop_out`` event is the critical one);
- "a limit set to 0 is off" (the preamble) holds for every limit docs/config.md lets be 0; the counts
  ``max_orders``, ``breaker_losses``, ``breaker_rejections`` are ">= 1" there.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from tests.rulekit import DAY, H, at, events, fills, order, orders, position, run, signals, status, ticks

HEDGING = {"account_mode": "hedging", "log_level": "events"}
NETTING = {"account_mode": "netting", "log_level": "events"}
M1 = {"EURUSD": {"margin_rate": "0.01"}}  # 1 % margin: 1 lot at 110002 needs R(0.01 x 11000200) = 110002


def sts(res, ids) -> list[str]:
    """Each order's end: its status, or ``rejected <reason>``."""
    out = []
    for i in ids:
        st, why = status(res, i)
        out.append(f"rejected {why}" if st == "rejected" else st)
    return out


def rejected(res) -> list[tuple[float, int | None, str, str]]:
    """``(sec, order_id, reason, severity)`` of every ``rejected`` event."""
    return [(e["sec"], e["order_id"], e["reason"], e["severity"]) for e in events(res, "rejected")]


def max_margin_used(summary: dict[str, Any]) -> tuple[int, float]:
    """``max_margin_used`` in minor units and in money."""
    return summary["max_margin_used_minor"], summary["max_margin_used"]


# ---------------------------------------------------------------------------------------------
# §1 Margin, margin call, stop-out
# ---------------------------------------------------------------------------------------------


def test_stop_out_closes_the_largest_floating_loss_first_and_tests_again_after_each_close():
    # Hedging, cash 5000 USD = 500000, margin 1 %, commission per_lot 2 USD = R(2 x 100 x q x 0.01) = 2q.
    # t1-t3 (110000/110002): P0 buys 100, P1 200, P2 50 steps at 110002; commissions 200, 400, 100.
    #   Checks: P0 margin R(0.01 x 11000200) = 110002 <= free 500000; P1 R(0.01 x 22000400) = 220004 <=
    #   499600 - 110002 (equity after t1: 500000 - 200 - 200 spread); P2 R(0.01 x 5500100) = 55001 <=
    #   498800 - 330006.  U = R(0.01 x 110002 x 350) = R(385007) = 385007 = max_margin_used.
    #   cash 500000 - 700 = 499300.  Call at equity <= 385007, stop-out at <= F(192503.5) = 192503.
    # t4 bid 109602: equity 499300 + (109602 - 110002) x 350 = 359300 <= 385007: margin_call
    #   (before 359300, after 385007); > 192503: no stop-out.
    # t5 bid 108802: equity 499300 - 1200 x 350 = 79300 <= 192503: stop-out, still in the call (no event).
    #   Floating: P0 -1200 x 100 = -120000, P1 -240000, P2 -60000.
    #   1. P1 (the largest loss): sells 200 at 108802, commission 400; equity 79300 -> 78900.
    #      U = R(0.01 x (11000200 + 5500100)) = 165003, threshold F(82501.5) = 82501; 78900 <= 82501:
    #   2. P0 (-120000 < -60000): sells 100 at 108802, commission 200; equity 78900 -> 78700.
    #      U = R(0.01 x 5500100) = 55001, threshold F(27500.5) = 27500; 78700 > 27500: stop.
    # t6 (same quotes): equity 78700 > F(1.0 x 55001) = 55001: the call state ends (no event).
    # t7 bid 108002: cash 499300 - 240000 - 400 - 120000 - 200 = 138700; equity 138700 - 2000 x 50
    #   = 38700 <= 55001: a second margin_call (before 38700, after 55001); > 27500: no stop-out.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 110000, 110002), (4, 109602, 109604),
                  (5, 108802, 108804), (6, 108802, 108804), (7, 108002, 108004)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "buy", "qty": 2},
               {"t": 2.5, "side": "buy", "qty": 0.5})
    res = run(data, o, run=HEDGING, instruments=M1, account={"initial_cash": 5000},
              commission={"per_lot": "2"})
    assert fills(res)[3:] == [(-1, 1, "sell", "close", "stop_out", 200, 108802),
                              (-1, 0, "sell", "close", "stop_out", 100, 108802)]
    p0, p1, p2 = position(res, 0), position(res, 1), position(res, 2)
    assert (p1["exit_reason"], p1["realized_pnl_minor"], p1["commission_minor"]) == ("stop_out", -240000, 800)
    assert (p0["exit_reason"], p0["realized_pnl_minor"], p0["commission_minor"]) == ("stop_out", -120000, 400)
    assert (p2["is_open"], p2["unrealized_pnl_minor"]) == (1, -100000)
    ev = [(e["sec"], e["event"], e["position_id"] if e["event"] == "stop_out" else None, e["severity"],
           e["before"], e["after"]) for e in events(res, "margin_call", "stop_out")]
    assert ev == [(4, "margin_call", None, "critical", 359300, 385007),
                  (5, "stop_out", 1, "critical", 79300, 78900),
                  (5, "stop_out", 0, "critical", 78900, 78700),
                  (7, "margin_call", None, "critical", 38700, 55001)]
    assert res.summary["stop_outs"] == 2
    assert res.summary["margin_calls"] == 2
    assert max_margin_used(res.summary) == (385007, 3850.07)
    assert res.summary["final_equity_minor"] == 38700


def test_used_margin_counts_both_legs_without_hedge_relief():
    # Hedging, margin 1 %: long 1 at 110002 and short 1 at 110000 on one symbol:
    # U = R(0.01 x (11000200 + 11000000)) = 220002 (not the net, 0).
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "sell", "qty": 1})
    res = run(data, o, run=HEDGING, instruments=M1)
    assert len(fills(res)) == 2
    assert max_margin_used(res.summary) == (220002, 2200.02)


def test_stop_out_ties_close_the_oldest_position_first():
    # Hedging, cash 2500 USD = 250000, margin 1 %.  Order id 7 opens first (t1), id 3 second (t2), both
    # 100 at 110002: equal floating losses.  Checks: 110002 <= 250000; at t2 free 249800 - 110002 =
    # 139798 >= 110002.  U = 220004, stop-out at <= F(110002) = 110002.
    # t3 bid 109202: E = 250000 - 800 x 200 = 90000: margin call (<= 220004), stop-out (<= 110002).
    #   Both lose 80000: the oldest, 7, closes at 109202 (before 90000, after 90000).  U = 110002,
    #   threshold F(55001) = 55001 < 90000: 3 stays open.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 109202, 109204), (4, 109202, 109204)])
    o = orders({"t": 0.5, "id": 7, "side": "buy", "qty": 1}, {"t": 1.5, "id": 3, "side": "buy", "qty": 1})
    res = run(data, o, run=HEDGING, instruments=M1, account={"initial_cash": 2500})
    assert fills(res)[2:] == [(-1, 7, "sell", "close", "stop_out", 100, 109202)]
    assert [(e["sec"], e["position_id"], e["before"], e["after"]) for e in events(res, "stop_out")] == [
        (3, 7, 90000, 90000)]
    assert (position(res, 3)["is_open"], res.summary["stop_outs"]) == (1, 1)


@functools.cache
def _call_and_stop_out():
    """Run once, read by two tests: netting, cash 1500 USD, margin 1 %, 1 lot bought at 0.5,
    the bid falling 1000 ticks at t2."""
    data = ticks([(1, 110000, 110002), (2, 109002, 109004), (3, 109002, 109004)])
    return run(data, orders({"t": 0.5, "side": "buy", "qty": 1}), run=NETTING, instruments=M1,
               account={"initial_cash": 1500})


def test_margin_call_and_stop_out_on_one_tick_log_the_call_first():
    # Netting, cash 1500 USD = 150000, margin 1 %.  t1: buys 100 at 110002, U = 110002
    #   (margin 110002 <= free 150000).  Call at <= 110002, stop-out at <= F(55001) = 55001.
    # t2 bid 109002: equity 150000 - 1000 x 100 = 50000: enters the call (before 50000, after 110002)
    #   and is at the stop-out level: the position closes at 109002 (before 50000, after 50000: no
    #   commission); U = 0, nothing left open.
    res = _call_and_stop_out()
    assert fills(res)[1:] == [(-1, 0, "sell", "close", "stop_out", 100, 109002)]
    ev = [(e["sec"], e["event"], e["before"], e["after"]) for e in events(res, "margin_call", "stop_out")]
    assert ev == [(2, "margin_call", 50000, 110002), (2, "stop_out", 50000, 50000)]
    assert position(res, 0)["realized_pnl_minor"] == -100000
    assert (res.summary["margin_calls"], res.summary["stop_outs"]) == (1, 1)


def test_margin_call_refuses_an_order_that_adds_exposure_and_accepts_one_that_reduces():
    # Netting, cash 1500 USD = 150000, margin 1 %.
    # t1: 0 buys 100 at 110002 (margin 110002 <= 150000); U = 110002.
    # t2 bid 109502: equity 150000 - 500 x 100 = 100000 <= 110002: margin_call (before 100000, after
    #   110002); > F(55001) = 55001: no stop-out.
    # t3 (same quotes), in the call state:
    #   1 buy 0.1: adds -> rejected margin_call (critical);
    #   2 sell 0.5: opposite side, 50 <= |net| 100: reduces -> accepted, sells 50 at 109502:
    #     R(11000200 x 50 / 100) = 5500100 removed, P&L 109502 x 50 - 5500100 = -25000;
    #   3 sell 2: 200 > |net| 100 (net still 100 when it acts, before 2 fills): a reversal adds ->
    #     rejected margin_call.
    #   5 sell, notional 50000 USD: would be F(5000000 / 109502) = 45 <= 100, but a sized order always
    #     counts as adding -> rejected margin_call (check 5 comes before the sizing, check 6).
    #   U = R(0.01 x 5500100) = 55001; equity 125000 - 25000 = 100000 > 55001: the state ends.
    # t4: 4 buy 0.1: margin R(0.01 x 109504 x 10) = R(10950.4) = 10950 <= free 100000 - 55001 = 44999
    #   -> fills at 109504.
    data = ticks([(1, 110000, 110002), (2, 109502, 109504), (3, 109502, 109504), (4, 109502, 109504)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 2.5, "side": "buy", "qty": 0.1},
               {"t": 2.5, "side": "sell", "qty": 0.5}, {"t": 2.5, "side": "sell", "qty": 2},
               {"t": 3.5, "side": "buy", "qty": 0.1},
               {"t": 2.5, "side": "sell", "sizing": "notional", "size": 50000})
    res = run(data, o, run=NETTING, instruments=M1, account={"initial_cash": 1500})
    assert sts(res, [1, 2, 3, 4, 5]) == ["rejected margin_call", "filled", "rejected margin_call", "filled",
                                         "rejected margin_call"]
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002),
                          (2, 0, "sell", "reduce", "signal", 50, 109502),
                          (4, 0, "buy", "increase", "signal", 10, 109504)]
    assert res.fills["realized_pnl_minor"].to_list()[1] == -25000
    assert [(e["sec"], e["before"], e["after"], e["severity"]) for e in events(res, "margin_call")] == [
        (2, 100000, 110002, "critical")]
    assert rejected(res) == [(3, 1, "margin_call", "critical"), (3, 3, "margin_call", "critical"),
                             (3, 5, "margin_call", "critical")]
    assert res.summary["margin_calls"] == 1
    assert res.summary["rejections"] == {"margin_call": 3}


# ---------------------------------------------------------------------------------------------
# §2 Sizing
# ---------------------------------------------------------------------------------------------


def test_notional_sizing_floors_to_lot_steps_at_the_reference_price():
    # Hedging, quotes 105000/105002 throughout.  N = 10000 USD = 1000000 minor, qty = F(N / P) (V = 1).
    #   0 buy market: P = ask 105002, F(9.5236) = 9 (rounding would give 10) -> fills 9 at 105002.
    #   1 sell market: P = bid 105000, F(9.5238) = 9 -> fills 9 at 105000.
    #   2 buy limit 100000: P = the limit, F(10) = 10 -> working, never triggers.
    #   3 sell stop 95000: P = the stop, F(10.526) = 10.
    #   4 sell stop-limit, stop 100000, price 100010: P = the stop, F(10) = 10 (the limit price would give
    #     F(9.999) = 9).
    #   5 buy market, N = 10.50 USD = 1050: F(1050 / 105002) = 0 -> rejected size_zero (warning).
    data = ticks([(1, 105000, 105002), (2, 105000, 105002), (3, 105000, 105002)])
    n = {"sizing": "notional", "size": 10000}
    o = orders({"t": 0.5, "side": "buy", **n}, {"t": 0.5, "side": "sell", **n},
               {"t": 0.5, "side": "buy", "type": "limit", "price": 100000, **n},
               {"t": 0.5, "side": "sell", "type": "stop", "stop": 95000, **n},
               {"t": 0.5, "side": "sell", "type": "stop_limit", "stop": 100000, "price": 100010, **n},
               {"t": 0.5, "side": "buy", "sizing": "notional", "size": 10.5})
    res = run(data, o, run=HEDGING)
    assert fills(res) == [(0, 0, "buy", "open", "signal", 9, 105002), (1, 1, "sell", "open", "signal", 9, 105000)]
    assert [order(res, i)["qty_steps"] for i in (2, 3, 4)] == [10, 10, 10]
    assert {order(res, i)["sizing"] for i in range(6)} == {"notional"}
    assert [status(res, i)[0] for i in (2, 3, 4)] == ["unfilled"] * 3
    assert status(res, 5) == ("rejected", "size_zero")
    assert rejected(res) == [(1, 5, "size_zero", "warning")]


def test_notional_sizing_in_an_account_whose_minor_unit_is_the_whole_currency():
    # account.minor_digits 0 (USD counted in whole dollars): V = 0.00001 x 0.01 x 100000 x 10^0 = 1/100
    # minor per tick per step (value_num 1, value_den 100).  notional 100000 USD = 100000 minor:
    # qty = F(N x value_den / (P x value_num)) = F(100000 x 100 / 105002) = F(95.24) = 95 steps.
    data = ticks([(1, 105000, 105002), (2, 105000, 105002)])
    o = orders({"t": 0.5, "side": "buy", "sizing": "notional", "size": 100000})
    res = run(data, o, run=NETTING, account={"initial_cash": 1000000, "minor_digits": 0})
    assert fills(res) == [(0, 0, "buy", "open", "signal", 95, 105002)]


def test_equity_pct_sizing_uses_the_equity_when_the_order_acts():
    # Hedging, cash 10000 USD = 1000000.
    # t1 (105000/105002): 0 buy equity_pct 95.5 (955000 ppm): E = 1000000 (nothing marked yet),
    #   N = R(1000000 x 955000 / 10^6) = 955000, qty = F(955000 / 105002) = F(9.095) = 9 -> 9 at 105002.
    # t2 (120000/120002): marked equity 1000000 + (120000 - 105002) x 9 = 1134982.
    # t3 (same quotes): 1 buy equity_pct 104.2 (1042000 ppm): N = R(1134982 x 1.042) = R(1182651.244)
    #   = 1182651, qty = F(1182651 / 120002) = F(9.855) = 9 (120002 x 10 = 1200020 > N); with the
    #   starting equity it would be F(1042000 / 120002) = 8.
    #   2 sell equity_pct 0.0005 (5 ppm): N = R(1134982 x 5 / 10^6) = R(5.67) = 6, F(6 / 120000) = 0
    #   -> rejected size_zero.
    data = ticks([(1, 105000, 105002), (2, 120000, 120002), (3, 120000, 120002)])
    o = orders({"t": 0.5, "side": "buy", "sizing": "equity_pct", "size": 95.5},
               {"t": 2.5, "side": "buy", "sizing": "equity_pct", "size": 104.2},
               {"t": 2.5, "side": "sell", "sizing": "equity_pct", "size": 0.0005})
    res = run(data, o, run=HEDGING, account={"initial_cash": 10000})
    assert fills(res) == [(0, 0, "buy", "open", "signal", 9, 105002), (1, 1, "buy", "open", "signal", 9, 120002)]
    assert status(res, 2) == ("rejected", "size_zero")


def test_risk_pct_sizing_divides_the_risk_by_the_stop_distance():
    # Hedging, cash 10000 USD = 1000000, quotes 105000/105002; every order acts at t1 with E = 1000000.
    #   0 buy, risk_pct 1, sl_ticks 150: K = R(1000000 x 0.01) = 10000, d = 150,
    #     qty = F(10000 / 150) = F(66.67) = 66 -> 66 at 105002.
    #   1 sell, risk_pct 1, sl 105500: P = bid 105000, d = |105000 - 105500| = 500, qty = F(20) = 20.
    #   2 buy limit 104000, risk_pct 1.56, sl_pct 0.5: K = R(1000000 x 0.0156) = 15600,
    #     d = R(104000 x 0.5 / 100) = 520 (against P = the limit), qty = F(15600 / 520) = 30
    #     (against the ask it would be R(525.01) = 525 and F(29.7) = 29); never triggers.
    #   3 buy, risk_pct 1, no stop-loss -> rejected no_stop (error).
    #   4 buy, risk_pct 0.0001, sl_ticks 150: K = R(1000000 x 1 / 10^6) = 1, F(1 / 150) = 0 -> size_zero.
    data = ticks([(1, 105000, 105002), (2, 105000, 105002)])
    r = {"sizing": "risk_pct"}
    o = orders({"t": 0.5, "side": "buy", "size": 1, "sl_ticks": 150, **r},
               {"t": 0.5, "side": "sell", "size": 1, "sl": 105500, **r},
               {"t": 0.5, "side": "buy", "type": "limit", "price": 104000, "size": 1.56, "sl_pct": 0.5, **r},
               {"t": 0.5, "side": "buy", "size": 1, **r},
               {"t": 0.5, "side": "buy", "size": 0.0001, "sl_ticks": 150, **r})
    res = run(data, o, run=HEDGING, account={"initial_cash": 10000})
    assert fills(res) == [(0, 0, "buy", "open", "signal", 66, 105002), (1, 1, "sell", "open", "signal", 20, 105000)]
    assert (position(res, 0)["sl_ticks"], position(res, 1)["sl_ticks"]) == (105002 - 150, 105500)
    assert (status(res, 2)[0], order(res, 2)["qty_steps"]) == ("unfilled", 30)
    assert sts(res, [3, 4]) == ["rejected no_stop", "rejected size_zero"]
    assert rejected(res) == [(1, 3, "no_stop", "error"), (1, 4, "size_zero", "warning")]


KELLY_TICKS = [(1, 105000, 105002), (2, 105302, 105304), (3, 105000, 105002), (4, 104902, 104904),
               (5, 105000, 105002), (6, 105002, 105004), (7, 105000, 105002), (8, 105302, 105304),
               (9, 105000, 105002), (10, 105000, 105002)]


@pytest.mark.parametrize(("cap_pct", "steps"), [(100, 264), (25, 238)])
def test_kelly_uses_qty_until_the_minimum_trade_count_then_the_kelly_fraction(cap_pct, steps):
    # Netting, cash 1000000 USD = 100000000, kelly_min_trades 3, kelly_fraction 0.5.
    # Every kelly order has qty 1 (100 steps); each trade is closed by a close row on the next tick.
    #   t1 K0 buys 100 at 105002 (n = 0 < 3: its qty); t2 closed at 105302: +30000 (win).
    #   t3 K2 buys 100 (n = 1); t4 closed at 104902: -10000 (loss).
    #   t5 K4 buys 100 (n = 2); t6 closed at 105002: 0, neither a win nor a loss.
    #   t7 K6 buys 100 (n still 2: the zero does not count); t8 closed at 105302: +30000 (win).
    #   t9 K8: nw = 2, sw = 60000, nl = 1, sl = 10000, n = 3: W = 2/3, R = (60000/2) / (10000/1) = 3,
    #     f = W - (1 - W) / R = 0.5555555555555555 (float64), x 0.5 = 0.27777777777777773.
    #     cap 100 %: f_ppm = F(277777.77...) = 277777; E = 100000000 + 50000 = 100050000 (flat);
    #       N = R(100050000 x 277777 / 10^6) = R(27791588.85) = 27791589; qty = F(N / 105002) = 264
    #       (105002 x 264 = 27720528, x 265 = 27825530 > N).
    #     cap 25 %: f = 0.25, f_ppm = 250000, N = R(100050000 / 4) = 25012500, qty = F(238.2) = 238
    #       (105002 x 238 = 24990476, x 239 = 25095478 > N).
    data = ticks(KELLY_TICKS)
    k = {"side": "buy", "qty": 1, "sizing": "kelly"}
    o = orders(*[{"t": t + 0.5, **k} if t % 2 == 0 else {"t": t + 0.5, "action": "close"} for t in range(9)])
    res = run(data, o, run=NETTING, account={"initial_cash": 1000000},
              risk={"kelly_min_trades": 3, "kelly_fraction": 0.5, "kelly_cap_pct": cap_pct})
    opens = [(f[0], f[5], f[6]) for f in fills(res) if f[3] == "open"]
    assert opens == [(0, 100, 105002), (2, 100, 105002), (4, 100, 105002), (6, 100, 105002), (8, steps, 105002)]
    assert [position(res, i)["realized_pnl_minor"] for i in (0, 2, 4, 6)] == [30000, -10000, 0, 30000]


def test_kelly_without_a_win_is_size_zero_and_without_a_loss_uses_the_win_rate():
    # kelly_min_trades 1, kelly_fraction 0.5, netting, cash 1000000 USD = 100000000.
    # A: t1 K0 buys 100 (n = 0: its qty); t2 closed at 104902: -10000.  t3 K2: nw = 0 -> f = 0,
    #    N = 0, qty 0 -> rejected size_zero.
    # B: t1 K0 buys 100; t2 closed at 105302: +30000.  t3 K2: nl = 0 -> f = W = 1, x 0.5 = 0.5
    #    (cap 100 %), f_ppm = 500000; E = 100030000, N = R(100030000 x 0.5) = 50015000,
    #    qty = F(50015000 / 105002) = 476 (105002 x 476 = 49980952, x 477 = 50085954 > N).
    k = {"side": "buy", "qty": 1, "sizing": "kelly"}
    o = orders({"t": 0.5, **k}, {"t": 1.5, "action": "close"}, {"t": 2.5, **k})
    risk = {"kelly_min_trades": 1, "kelly_fraction": 0.5, "kelly_cap_pct": 100}
    lose = run(ticks([(1, 105000, 105002), (2, 104902, 104904), (3, 105000, 105002)]), o, run=NETTING,
               account={"initial_cash": 1000000}, risk=risk)
    assert status(lose, 2) == ("rejected", "size_zero")
    win = run(ticks([(1, 105000, 105002), (2, 105302, 105304), (3, 105000, 105002)]), o, run=NETTING,
              account={"initial_cash": 1000000}, risk=risk)
    assert fills(win)[2] == (2, 2, "buy", "open", "signal", 476, 105002)


def test_no_quote_rejects_a_sized_order_and_an_order_a_price_limit_needs_a_price_for():
    # GBPUSD has no quote until 2.  Orders stamped 0.5 act on EURUSD's tick at 1.
    # Run A (max_order_notional 1000000 USD, check 8, needs P):
    #   0 GBPUSD buy 1: check 8 needs P, no quote -> rejected no_quote (warning);
    #   1 GBPUSD sell, notional 1000: sizing needs P -> rejected no_quote;
    #   2 EURUSD buy 1: quoted, 110002 x 100 = 11000200 <= 100000000 -> fills at 1 at 110002;
    #   3 GBPUSD buy 1 stamped 1.5 acts on GBPUSD's own tick at 2 (its quote 125003) -> fills there.
    # Run B (max_order_qty 5 only: check 7 compares quantities, no P) and run C (no limit): the same
    #   order 0 needs no price when it acts -> fills at 2 at 125003.
    data = ticks([(1, 110000, 110002), (2, 125000, 125003, "GBPUSD"), (3, 110000, 110002)])
    o = orders({"t": 0.5, "symbol": "GBPUSD", "side": "buy", "qty": 1},
               {"t": 0.5, "symbol": "GBPUSD", "side": "sell", "sizing": "notional", "size": 1000},
               {"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "symbol": "GBPUSD", "side": "buy", "qty": 1})
    res = run(data, o, run=HEDGING, risk={"max_order_notional": 1000000})
    assert sts(res, [0, 1]) == ["rejected no_quote"] * 2
    assert fills(res) == [(2, 2, "buy", "open", "signal", 100, 110002),
                          (3, 3, "buy", "open", "signal", 100, 125003)]
    assert rejected(res) == [(1, 0, "no_quote", "warning"), (1, 1, "no_quote", "warning")]
    one = orders({"t": 0.5, "symbol": "GBPUSD", "side": "buy", "qty": 1})
    for risk in ({"max_order_qty": 5}, {}):
        assert fills(run(data, one, run=HEDGING, risk=risk)) == [(0, 0, "buy", "open", "signal", 100, 125003)]


# ---------------------------------------------------------------------------------------------
# §3 Pre-trade checks, in their order
# ---------------------------------------------------------------------------------------------


def test_rate_limit_counts_orders_that_passed_in_a_rolling_window():
    # max_orders 2, order_window 10 s: an order acting at t is rejected when 2 orders passed
    # check 1 in (t - 10, t].  Acting times (the tick after the stamp):
    #   0 at 1  buy limit 109000 (pending)           window (-9, 1]: 0 passed -> passes
    #   1 at 2  modify 0 -> price 109100             (-8, 2]:  {1}       -> passes (any action counts)
    #   2 at 3  buy 1                                (-7, 3]:  {1, 2}    -> rejected rate_limit
    #   3 at 10 buy 1                                (0, 10]:  {1, 2}    -> rejected
    #   4 at 11 cancel 0                             (1, 11]:  {2} (1 is out: the window is open on the
    #                                                left; 3 and 10 were rejected and do not count)
    #                                                                    -> passes, 0 cancelled
    #   5 at 12 buy 1                                (2, 12]:  {11}      -> passes, fills at 110002
    #   6 at 13 buy 1                                (3, 13]:  {11, 12}  -> rejected
    data = ticks([(s, 110000, 110002) for s in range(1, 15)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109000},
               {"t": 1.5, "action": "modify", "ref": 0, "price": 109100},
               {"t": 2.5, "side": "buy", "qty": 1}, {"t": 9.5, "side": "buy", "qty": 1},
               {"t": 10.5, "action": "cancel", "ref": 0}, {"t": 11.5, "side": "buy", "qty": 1},
               {"t": 12.5, "side": "buy", "qty": 1})
    res = run(data, o, run=NETTING, risk={"max_orders": 2, "order_window": "10s"})
    assert sts(res, range(7)) == ["cancelled", "applied", "rejected rate_limit",
                                  "rejected rate_limit", "applied", "filled",
                                  "rejected rate_limit"]
    assert fills(res) == [(5, 5, "buy", "open", "signal", 100, 110002)]
    assert rejected(res) == [(3, 2, "rate_limit", "warning"), (10, 3, "rate_limit", "warning"),
                             (13, 6, "rate_limit", "warning")]
    assert res.summary["rejections"] == {"rate_limit": 3}


def test_price_sanity_limits_the_distance_of_limit_and_stop_prices_from_the_mid():
    # max_price_deviation_pct 1 (10000 ppm).  EURUSD 110000/110002: bid + ask = 220002; rejected when
    # |2p - 220002| x 10^6 > 10000 x 220002, i.e. |2p - 220002| > 2200.02:
    #   108901: 2200 passes; 108900: 2202 rejected; 111101: 2200 passes; 111102: 2202 rejected.
    #   0 buy limit 108901 -> working;  1 buy limit 108900 -> rejected price_sanity (warning);
    #   2 sell limit 111101 -> working; 3 buy stop 111102 -> rejected;
    #   4 buy stop-limit, stop 111101 (passes), price 111102 (fails) -> rejected;
    #   5 GBPUSD buy limit 100000 acts at 1 when GBPUSD has no quote: skipped -> working, and it is not
    #     checked again when GBPUSD's quotes come (mid 125001.5, 20 % away);
    #   6 (at 2) modify 0 -> price 108900: a new price, rejected; 0 keeps 108901;
    #   7 (at 2) modify 0 -> qty 2: no price, applied;
    #   8 (at 2) buy 0.1 at market: no price, fills at 3;
    #   9 (at 3) modify 5 -> price 100010: GBPUSD quoted now (250003 sum), far off -> rejected.
    data = ticks([(1, 110000, 110002), (2, 125000, 125003, "GBPUSD"), (3, 110000, 110002),
                  (4, 125000, 125003, "GBPUSD")])
    o = orders({"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 108901},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 108900},
               {"t": 0.5, "side": "sell", "qty": 1, "type": "limit", "price": 111101},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "stop", "stop": 111102},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "stop_limit", "stop": 111101, "price": 111102},
               {"t": 0.5, "symbol": "GBPUSD", "side": "buy", "qty": 1, "type": "limit", "price": 100000},
               {"t": 1.5, "action": "modify", "ref": 0, "price": 108900},
               {"t": 1.5, "action": "modify", "ref": 0, "qty": 2},
               {"t": 1.5, "side": "buy", "qty": 0.1},
               {"t": 2.5, "symbol": "GBPUSD", "action": "modify", "ref": 5, "price": 100010})
    res = run(data, o, run=HEDGING, risk={"max_price_deviation_pct": 1})
    assert sts(res, range(10)) == [
        "unfilled", "rejected price_sanity", "unfilled", "rejected price_sanity",
        "rejected price_sanity", "unfilled", "rejected price_sanity", "applied",
        "filled", "rejected price_sanity"]
    assert (order(res, 0)["price_ticks"], order(res, 0)["qty_steps"]) == (108901, 200)
    assert order(res, 5)["price_ticks"] == 100000
    assert fills(res) == [(8, 8, "buy", "open", "signal", 10, 110002)]
    assert {r[2:] for r in rejected(res)} == {("price_sanity", "warning")}
    assert res.summary["rejections"] == {"price_sanity": 5}


def test_max_order_qty_checks_only_orders_that_add_exposure():
    # Netting, max_order_qty 0.505 lots -> F(0.505 / 0.01) = 50 steps.  Quotes 110000/110002.
    #   0 (t1) buy 0.5: 50 <= 50 -> fills, net +50.     1 (t1) buy 0.51: 51 > 50 -> rejected max_qty.
    #   2 (t2) buy 0.5 -> net +100.
    #   3 (t3) sell 1: opposite side, 100 <= |net| 100: reduces, not checked -> fills, flat.
    #   4 (t4) sell 0.51: flat, adds, 51 > 50 -> rejected.
    #   signal 5 (t5) target 0.5: |0.5| > |0|, qty |50 - 0| = 50 -> fills 50.
    #   signal 6 (t6) target 1.01: |101| > |50|, qty |101 - 50| = 51 > 50 -> rejected max_qty.
    data = ticks([(s, 110000, 110002) for s in range(1, 8)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.5}, {"t": 0.5, "side": "buy", "qty": 0.51},
               {"t": 1.5, "side": "buy", "qty": 0.5}, {"t": 2.5, "side": "sell", "qty": 1},
               {"t": 3.5, "side": "sell", "qty": 0.51})
    res = run(data, o, signals([(4.5, 0.5), (5.5, 1.01)]), run=NETTING, risk={"max_order_qty": "0.505"})
    assert sts(res, [1, 4, 6]) == ["rejected max_qty"] * 3
    assert [(f[0], f[3], f[5]) for f in fills(res)] == [(0, "open", 50), (2, "increase", 50), (3, "close", 100),
                                                        (5, "open", 50)]
    assert rejected(res) == [(1, 1, "max_qty", "warning"), (4, 4, "max_qty", "warning"), (6, 6, "max_qty", "warning")]
    assert res.summary["rejections"] == {"max_qty": 3}


def test_max_order_notional_absolute_at_the_reference_price():
    # Hedging, max_order_notional 55001 USD = 5500100 minor; notional R(V x P x qty), quotes 110000/110002.
    #   0 buy 0.5 at market: 110002 x 50 = 5500100 <= 5500100 -> fills.
    #   1 buy 0.51: 110002 x 51 = 5610102 > -> rejected max_notional (warning).
    #   2 buy limit 107843 x 0.51: P = the limit, 107843 x 51 = 5499993 <= -> working.
    #   3 sell stop 107844 x 0.51: P = the stop, 5500044 <= -> working.
    #   4 sell stop 107846 x 0.51: 5500146 > -> rejected.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.5}, {"t": 0.5, "side": "buy", "qty": 0.51},
               {"t": 0.5, "side": "buy", "qty": 0.51, "type": "limit", "price": 107843},
               {"t": 0.5, "side": "sell", "qty": 0.51, "type": "stop", "stop": 107844},
               {"t": 0.5, "side": "sell", "qty": 0.51, "type": "stop", "stop": 107846})
    res = run(data, o, run=HEDGING, risk={"max_order_notional": 55001})
    assert sts(res, range(5)) == ["filled", "rejected max_notional", "unfilled",
                                  "unfilled", "rejected max_notional"]
    assert rejected(res) == [(1, 1, "max_notional", "warning"), (1, 4, "max_notional", "warning")]


def test_max_order_notional_percent_of_the_equity_at_the_check():
    # Netting, cash 100000 USD = 10000000, max_order_notional_pct 50 (500000 ppm).
    # t1 (110000/110002), E = 10000000, limit R(10000000 x 0.5) = 5000000:
    #   0 buy 0.46: 110002 x 46 = 5060092 > -> rejected max_notional; 1 buy 0.45: 4950090 <= -> fills.
    # t2 (100000/100002): marked E = 10000000 + (100000 - 110002) x 45 = 9549910.
    # t3 (same), limit R(9549910 x 0.5) = 4774955:
    #   2 buy 0.48: 100002 x 48 = 4800096 > -> rejected (it would pass against 5000000);
    #   3 buy 0.47: 4700094 <= -> fills.
    data = ticks([(1, 110000, 110002), (2, 100000, 100002), (3, 100000, 100002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.46}, {"t": 0.5, "side": "buy", "qty": 0.45},
               {"t": 2.5, "side": "buy", "qty": 0.48}, {"t": 2.5, "side": "buy", "qty": 0.47})
    res = run(data, o, run=NETTING, account={"initial_cash": 100000}, risk={"max_order_notional_pct": 50})
    assert sts(res, range(4)) == ["rejected max_notional", "filled", "rejected max_notional",
                                  "filled"]
    assert [(f[0], f[5], f[6]) for f in fills(res)] == [(1, 45, 110002), (3, 47, 100002)]


def test_the_first_failing_check_gives_the_reason():
    # Hedging, cash 400 USD = 40000, margin 1 %; max_orders 5 in 10 s, max_price_deviation_pct 1,
    # max_order_qty 1, max_order_notional 100000 USD (10000000), max_exposure 50000 USD (5000000).
    # At t1 (110000/110002, nothing open, E = 40000), in order:
    #   A buy 2:   7: 200 > 100 -> max_qty (8, 10 and 11 fail too)
    #   B buy 1:   7 ok; 8: 11000200 > 10000000 -> max_notional
    #   C buy 0.5: 8 ok (5500100); 10: 5500100 > 5000000 -> max_exposure (11: 55001 > 40000 too)
    #   D buy 0.4: 10 ok (4400080); 11: R(44000.8) = 44001 > 40000 -> no_margin
    #   E buy 0.3: 11: R(33000.6) = 33001 <= 40000 -> fills
    #   F buy limit 0.1 at 100000 (9 % off the mid): A-E, 5 orders, passed check 1 in (-9, 1]
    #     -> rate_limit (check 2 comes after)
    #   G (t12) the same as F: (2, 12] is empty -> passes 1; 2: |200000 - 220002| = 20002 > 2200.02 ->
    #     price_sanity.
    data = ticks([(1, 110000, 110002), (12, 110000, 110002)])
    far = {"side": "buy", "qty": 0.1, "type": "limit", "price": 100000}
    o = orders({"t": 0.5, "side": "buy", "qty": 2}, {"t": 0.5, "side": "buy", "qty": 1},
               {"t": 0.5, "side": "buy", "qty": 0.5}, {"t": 0.5, "side": "buy", "qty": 0.4},
               {"t": 0.5, "side": "buy", "qty": 0.3}, {"t": 0.5, **far}, {"t": 11.5, **far})
    res = run(data, o, run=HEDGING, instruments=M1, account={"initial_cash": 400},
              risk={"max_orders": 5, "order_window": "10s", "max_price_deviation_pct": 1, "max_order_qty": 1,
                    "max_order_notional": 100000, "max_exposure": 50000})
    assert sts(res, range(7)) == ["rejected max_qty", "rejected max_notional", "rejected max_exposure",
                                  "rejected no_margin", "filled", "rejected rate_limit", "rejected price_sanity"]


def _two_symbols(n: int) -> list[tuple]:
    """EURUSD 110000/110002 at 1..n, GBPUSD 125000/125003 at 1.2..n.2."""
    out: list[tuple] = []
    for s in range(1, n + 1):
        out += [(s, 110000, 110002), (s + 0.2, 125000, 125003, "GBPUSD")]
    return out


def test_max_positions_total_and_per_symbol_in_hedging():
    # Hedging (every adding order opens a position), max_positions 3, max_positions_per_symbol 2.
    # One order per tick, so each check sees the fills before it:
    #   0 (t1) EURUSD buy -> P0;  1 (t2) EURUSD sell -> P1 (EURUSD 2 open);
    #   2 (t3) EURUSD buy: 2 of EURUSD open -> rejected max_positions_symbol (warning);
    #   3 (t4) GBPUSD buy -> P3 (3 open);  4 (t5) GBPUSD buy: 3 open -> rejected max_positions;
    #   5 (t6) close P0 (never adds exposure) -> 2 open;  6 (t7) GBPUSD buy -> P6 (GBPUSD 2 open).
    data = ticks(_two_symbols(8))
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "sell", "qty": 1},
               {"t": 2.5, "side": "buy", "qty": 1}, {"t": 3.5, "symbol": "GBPUSD", "side": "buy", "qty": 1},
               {"t": 4.5, "symbol": "GBPUSD", "side": "buy", "qty": 1}, {"t": 5.5, "action": "close", "ref": 0},
               {"t": 6.5, "symbol": "GBPUSD", "side": "buy", "qty": 1})
    res = run(data, o, run=HEDGING, risk={"max_positions": 3, "max_positions_per_symbol": 2})
    assert sts(res, [2, 4]) == ["rejected max_positions_symbol", "rejected max_positions"]
    assert sorted(res.positions["position_id"].to_list()) == [0, 1, 3, 6]
    assert rejected(res) == [(3, 2, "max_positions_symbol", "warning"), (5, 4, "max_positions", "warning")]
    assert res.summary["rejections"] == {"max_positions_symbol": 1, "max_positions": 1}


def test_max_positions_in_netting_counts_only_orders_that_open_a_position():
    # Netting, max_positions 1.  Docstring of the module: a reversal opens a new position, so it is
    # refused while 1 is open.
    #   0 (t1) EURUSD buy 1 -> opens P0;  1 (t2) EURUSD buy 1: increases, opens nothing -> fills;
    #   2 (t3) GBPUSD buy 1: would open, 1 open -> rejected max_positions;
    #   3 (t4) EURUSD sell 3: reverses (300 > 200), opens -> rejected max_positions;
    #   4 (t5) EURUSD sell 2: 200 <= 200 reduces to flat -> fills, P0 closed;
    #   5 (t6) GBPUSD buy 1: 0 open -> opens P5.
    data = ticks(_two_symbols(7))
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "buy", "qty": 1},
               {"t": 2.5, "symbol": "GBPUSD", "side": "buy", "qty": 1}, {"t": 3.5, "side": "sell", "qty": 3},
               {"t": 4.5, "side": "sell", "qty": 2}, {"t": 5.5, "symbol": "GBPUSD", "side": "buy", "qty": 1})
    res = run(data, o, run=NETTING, risk={"max_positions": 1})
    assert sts(res, [1, 2, 3, 4, 5]) == ["filled", "rejected max_positions",
                                         "rejected max_positions", "filled", "filled"]
    assert sorted(res.positions["position_id"].to_list()) == [0, 5]
    assert position(res, 0)["is_open"] == 0


def test_max_exposure_absolute_counts_both_legs_at_their_entry_cost():
    # Hedging, max_exposure 250000 USD = 25000000.  X = sum R(V x (C_long + C_short)).
    #   0 (t1) EURUSD buy 1 at 110002: 0 + 11000200 <= 25000000 -> opens; X = 11000200.
    #   1 (t2) EURUSD sell 1 at bid 110000: + 11000000 = 22000200 <= -> opens; X = 22000200 (no hedge relief).
    #   2 (t3) GBPUSD buy 0.24, P = ask 125003: + 3000072 = 25000272 > -> rejected max_exposure
    #     (without the short leg it would be 14000272 and pass).
    #   3 (t3) GBPUSD buy 0.23: + 2875069 = 24875269 <= -> fills at 3.2; X = 24875269.
    #   4 (t4) EURUSD buy 0.02: + 220004 = 25095273 > -> rejected.
    #   5 (t5) close P1 (not checked) -> X = 24875269 - 11000000 = 13875269.
    #   6 (t6) EURUSD buy 0.02: + 220004 = 14095273 <= -> fills.
    data = ticks(_two_symbols(7))
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "sell", "qty": 1},
               {"t": 2.5, "symbol": "GBPUSD", "side": "buy", "qty": 0.24},
               {"t": 2.5, "symbol": "GBPUSD", "side": "buy", "qty": 0.23},
               {"t": 3.5, "side": "buy", "qty": 0.02}, {"t": 4.5, "action": "close", "ref": 1},
               {"t": 5.5, "side": "buy", "qty": 0.02})
    res = run(data, o, run=HEDGING, risk={"max_exposure": 250000})
    assert sts(res, range(7)) == ["filled", "filled", "rejected max_exposure",
                                  "filled", "rejected max_exposure", "filled",
                                  "filled"]
    assert rejected(res) == [(3, 2, "max_exposure", "warning"), (4, 4, "max_exposure", "warning")]


def test_max_exposure_percent_of_the_equity_at_the_check():
    # Netting, cash 10000 USD = 1000000, max_exposure_pct 1000 (10 x equity).
    #   t1 (110000/110002): 0 buy 0.9: 0 + 110002 x 90 = 9900180 <= R(1000000 x 10) -> fills; X = 9900180.
    #   t2 (111000/111002): marked E = 1000000 + (111000 - 110002) x 90 = 1089820.
    #   t3 (same), limit R(1089820 x 10) = 10898200:
    #     1 buy 0.09: + 111002 x 9 = 999018 -> 10899198 > -> rejected max_exposure;
    #     2 buy 0.08: + 888016 -> 10788196 <= -> fills (against the starting equity, 10000000, it would not).
    data = ticks([(1, 110000, 110002), (2, 111000, 111002), (3, 111000, 111002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.9}, {"t": 2.5, "side": "buy", "qty": 0.09},
               {"t": 2.5, "side": "buy", "qty": 0.08})
    res = run(data, o, run=NETTING, account={"initial_cash": 10000}, risk={"max_exposure_pct": 1000})
    assert sts(res, range(3)) == ["filled", "rejected max_exposure", "filled"]
    assert [(f[0], f[5]) for f in fills(res)] == [(0, 90), (2, 8)]


def test_no_margin_refuses_an_order_whose_margin_exceeds_the_free_margin():
    # Hedging, cash 1000 USD = 100000; EURUSD leverage 100 (m = 1/100), GBPUSD without margin (m = 0).
    #   0 (t1) EURUSD buy 1: margin R(11000200 / 100) = 110002 > free 100000 -> rejected no_margin (critical).
    #   1 (t1) EURUSD buy 0.9: R(9900180 / 100) = R(99001.8) = 99002 <= 100000 -> fills; U = 99002.
    #   marked after t1: E = 100000 - 2 x 90 = 99820, free 99820 - 99002 = 818.
    #   2 (t2) GBPUSD buy 0.1: m = 0, never checked (at 1 % it would need 12500 > 818) -> fills at 2.2.
    #   3 (t2) EURUSD buy 0.01: R(110002 / 100) = 1100 > 818 -> rejected no_margin.
    data = ticks([(1, 110000, 110002), (1.2, 125000, 125003, "GBPUSD"), (2, 110000, 110002),
                  (2.2, 125000, 125003, "GBPUSD")])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 0.5, "side": "buy", "qty": 0.9},
               {"t": 1.3, "symbol": "GBPUSD", "side": "buy", "qty": 0.1}, {"t": 1.5, "side": "buy", "qty": 0.01})
    res = run(data, o, run=HEDGING, instruments={"EURUSD": {"leverage": 100}}, account={"initial_cash": 1000})
    assert sts(res, range(4)) == ["rejected no_margin", "filled", "filled",
                                  "rejected no_margin"]
    assert fills(res) == [(1, 1, "buy", "open", "signal", 90, 110002), (2, 2, "buy", "open", "signal", 10, 125003)]
    assert rejected(res) == [(1, 0, "no_margin", "critical"), (2, 3, "no_margin", "critical")]
    assert max_margin_used(res.summary) == (99002, 990.02)


def test_a_pending_order_whose_fill_needs_more_than_the_free_margin_is_rejected_when_it_triggers():
    # Hedging, cash 1000 USD = 100000, margin 1 %.
    # t1 (110000/110002): 0 buy limit 109500 x 0.5: margin R(0.01 x 109500 x 50) = 54750 <= 100000 ->
    #   working (a pending order holds no margin); 1 buy 0.5 at market: R(0.01 x 5500100) = 55001 <= 100000
    #   -> fills; U = 55001; marked E = 100000 - 100 = 99900 (no call: > 55001).
    # t2 (109498/109500): 0 triggers (ask <= 109500).  Not in the call state (E 99900, or 74800 at this
    #   tick's bid; both > 55001), but its margin 54750 > free margin (99900 - 55001 = 44899; 19799 at
    #   this tick's bid) -> the fill is refused, 0 ends rejected no_margin.
    data = ticks([(1, 110000, 110002), (2, 109498, 109500), (3, 109498, 109500)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.5, "type": "limit", "price": 109500},
               {"t": 0.5, "side": "buy", "qty": 0.5})
    res = run(data, o, run=HEDGING, instruments=M1, account={"initial_cash": 1000})
    assert status(res, 0) == ("rejected", "no_margin")
    assert fills(res) == [(1, 1, "buy", "open", "signal", 50, 110002)]
    assert rejected(res) == [(2, 0, "no_margin", "critical")]


# ---------------------------------------------------------------------------------------------
# §3 Daily loss limit
# ---------------------------------------------------------------------------------------------


def test_daily_loss_limit_holds_until_the_next_new_york_trading_day():
    # Netting, cash 10000 USD = 1000000, timezone America/New_York, day_start 00:00,
    # daily_loss_limit 150 USD (15000) and daily_loss_limit_pct 1.  January: New York = UTC - 5, so the
    # day starting Tue 2 Jan 00:00 NY is 05:00 UTC = MON + 29 h (a UTC day would start at MON + 24 h
    # and MON + 48 h).
    # 26h (Mon 21:00 NY), the run's first tick: D = 1000000, L = min(15000, R(1000000 x 0.01) = 10000)
    #   = 10000: hit at equity <= 990000.  0 buys 100 at 110002.
    # 27h (22:00 NY) bid 109902: E = 1000000 - 100 x 100 = 990000 <= 990000: hit, daily_limit event
    #   (before D 1000000, after 990000, critical).
    # 27h10m: 1 buy 0.1 -> rejected daily_loss; 2 sell 0.5 reduces -> fills 50 at 109902:
    #   P&L 109902 x 50 - 5500100 = -5000, cash 995000.
    # 28h (23:00 NY) bid 110502: E = 995000 + 110502 x 50 - 5500100 = 1020000.
    # 28h30m (23:30 NY; 04:30 UTC): 3 buy 0.1 -> still rejected daily_loss, whatever the equity.
    # 29h (00:00 NY, the boundary): step 0 first: D = 1020000 (marked before the tick),
    #   L = min(15000, R(10200)) = 10200, hit at <= 1009800; then 4 (stamped 28h45m) buy 0.1 -> fills
    #   10 at 110504.  Cost 5500100 + 1105040 = 6605140 over 60 steps.
    # 30h bid 110330: E = 995000 + 110330 x 60 - 6605140 = 995000 + 14660 = 1009660 <= 1009800: hit again
    #   (before 1020000, after 1009660).  30h1m: 5 buy 0.1 -> rejected daily_loss.
    data = ticks([(26 * H, 110000, 110002), (27 * H, 109902, 109904), (27 * H + 600, 109902, 109904),
                  (28 * H, 110502, 110504), (28 * H + 1800, 110502, 110504), (29 * H, 110502, 110504),
                  (30 * H, 110330, 110332), (30 * H + 60, 110330, 110332)])
    o = orders({"t": 26 * H - 0.5, "side": "buy", "qty": 1},
               {"t": 27 * H + 0.5, "side": "buy", "qty": 0.1}, {"t": 27 * H + 0.5, "side": "sell", "qty": 0.5},
               {"t": 28 * H + 0.5, "side": "buy", "qty": 0.1}, {"t": 28 * H + 2700, "side": "buy", "qty": 0.1},
               {"t": 30 * H + 0.5, "side": "buy", "qty": 0.1})
    res = run(data, o, run=NETTING, account={"initial_cash": 10000},
              risk={"timezone": "America/New_York", "day_start": "00:00", "daily_loss_limit": 150,
                    "daily_loss_limit_pct": 1})
    assert sts(res, range(6)) == ["filled", "rejected daily_loss", "filled",
                                  "rejected daily_loss", "filled", "rejected daily_loss"]
    assert [(f[0], f[5], f[6]) for f in fills(res)] == [(0, 100, 110002), (2, 50, 109902), (4, 10, 110504)]
    assert [(e["sec"], e["severity"], e["before"], e["after"]) for e in events(res, "daily_limit")] == [
        (27 * H, "critical", 1000000, 990000), (30 * H, "critical", 1020000, 1009660)]
    assert rejected(res) == [(27 * H + 600, 1, "daily_loss", "critical"), (28 * H + 1800, 3, "daily_loss", "critical"),
                             (30 * H + 60, 5, "daily_loss", "critical")]
    assert res.summary["daily_limit_hits"] == 2
    assert res.summary["rejections"] == {"daily_loss": 3}


def test_daily_loss_day_boundary_follows_daylight_saving_time():
    # Netting, cash 10000 USD = 1000000, daily_loss_limit 100 USD = 10000, America/New_York.
    # Mon 11 Mar 2024 (day 70 after MON) is after the switch to EDT (UTC - 4): Tue 12 Mar 00:00 NY is
    # 04:00 UTC = day 71 + 4 h (with the winter offset it would be 05:00 UTC; a UTC day starts at day 71).
    #   d70 20:00 UTC, first tick: D = 1000000, hit at <= 990000; 0 buys 100 at 110002.
    #   d70 21:00, bid 109902: E = 1000000 - 100 x 100 = 990000: hit.
    #   d71 03:30 UTC (Mon 23:30 NY): 1 buy 0.1 -> rejected daily_loss.
    #   d71 04:00 UTC (Tue 00:00 NY): new day, D = 990000 (marked before), hit at <= 980000; then
    #     2 buy 0.1 -> fills 10 at 109904.
    d70, d71 = 70 * DAY, 71 * DAY
    data = ticks([(d70 + 20 * H, 110000, 110002), (d70 + 21 * H, 109902, 109904),
                  (d71 + 3.5 * H, 109902, 109904), (d71 + 4 * H, 109902, 109904),
                  (d71 + 4 * H + 60, 109902, 109904)])
    o = orders({"t": d70 + 20 * H - 0.5, "side": "buy", "qty": 1},
               {"t": d71 + 3.5 * H - 60, "side": "buy", "qty": 0.1},
               {"t": d71 + 3.5 * H + 60, "side": "buy", "qty": 0.1})
    res = run(data, o, run=NETTING, account={"initial_cash": 10000},
              risk={"timezone": "America/New_York", "daily_loss_limit": 100})
    assert sts(res, range(3)) == ["filled", "rejected daily_loss", "filled"]
    assert fills(res)[-1] == (2, 0, "buy", "increase", "signal", 10, 109904)
    assert [(e["sec"], e["before"], e["after"]) for e in events(res, "daily_limit")] == [
        (d70 + 21 * H, 1000000, 990000)]


# ---------------------------------------------------------------------------------------------
# §3 Circuit breaker
# ---------------------------------------------------------------------------------------------


def test_breaker_trips_after_consecutive_losing_trades_and_resets_after_the_cooldown():
    # Hedging, breaker_losses 2, breaker_cooldown 10m.  Buys at 110002, closes at bid 110000: -200 each.
    #   t1: 0 buys P0 (kept), 1 buys P1.  t2: 2 closes P1: -200, loss 1.  t3: 3 buys P3.
    #   t4: 4 closes P3: -200, loss 2 -> trips at 4 s: breaker_tripped (reason loss_streak, before 2,
    #       after 4 s + 600 s = 604 s in ns); both counts reset.
    #   t5: 5 buy -> rejected breaker (critical); 6 closes P0 (no exposure added): -200, loss count 1
    #       (not 3: the trip reset it) -> no second trip.
    #   600: 7 buy -> 600 < 604: rejected breaker.
    #   604: first tick at the end: breaker_reset (info) in step 0, then 8 buy -> fills (P8).
    #   605 (bid 110010): 9 closes P8: +800, a win: count 0.
    #   606: 10 buys P10; 607: 11 closes P10: -200, count 1 -> no trip (without the win's reset: 2).
    quotes = {605: (110010, 110012)}
    data = ticks([(s, *quotes.get(s, (110000, 110002))) for s in (1, 2, 3, 4, 5, 600, 604, 605, 606, 607)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 0.5, "side": "buy", "qty": 1},
               {"t": 1.5, "action": "close", "ref": 1}, {"t": 2.5, "side": "buy", "qty": 1},
               {"t": 3.5, "action": "close", "ref": 3}, {"t": 4.5, "side": "buy", "qty": 1},
               {"t": 4.5, "action": "close", "ref": 0}, {"t": 599.5, "side": "buy", "qty": 1},
               {"t": 603.5, "side": "buy", "qty": 1}, {"t": 604.5, "action": "close", "ref": 8},
               {"t": 605.5, "side": "buy", "qty": 1}, {"t": 606.5, "action": "close", "ref": 10})
    res = run(data, o, run=HEDGING, risk={"breaker_losses": 2, "breaker_cooldown": "10m"})
    assert sts(res, [5, 6, 7, 8]) == ["rejected breaker", "filled", "rejected breaker",
                                      "filled"]
    assert [position(res, i)["realized_pnl_minor"] for i in (1, 3, 0, 8, 10)] == [-200, -200, -200, 800, -200]
    ev = [(e["sec"], e["event"], e["reason"], e["severity"], e["before"], e["after"])
          for e in events(res, "breaker_tripped", "breaker_reset")]
    assert ev[0] == (4, "breaker_tripped", "loss_streak", "critical", 2, at(604))
    assert [x[:2] + x[3:4] for x in ev] == [(4, "breaker_tripped", "critical"), (604, "breaker_reset", "info")]
    assert rejected(res) == [(5, 5, "breaker", "critical"), (600, 7, "breaker", "critical")]
    assert res.summary["breaker_trips"] == 1
    assert res.summary["rejections"] == {"breaker": 2}


def test_breaker_trips_after_consecutive_rejections_its_own_do_not_count():
    # Netting, max_order_qty 1, breaker_rejections 2, breaker_cooldown 10s.  One order a tick:
    #   t1 0 buy 2: rejected max_qty (count 1);  t2 1 buy 0.5: passes, fills (count 0);
    #   t3 2 buy 2: rejected (1);  t4 3 buy 3: rejected (2) -> trips at 4 s (reject_streak, before 2,
    #   after 14 s in ns);  t5 4 and t6 5 buy 0.1: rejected breaker, not counted (if they were: a
    #   second trip at 6);  t14: breaker_reset, then 6 buy 0.1 -> fills.
    data = ticks([(s, 110000, 110002) for s in (1, 2, 3, 4, 5, 6, 14, 15)])
    o = orders({"t": 0.5, "side": "buy", "qty": 2}, {"t": 1.5, "side": "buy", "qty": 0.5},
               {"t": 2.5, "side": "buy", "qty": 2}, {"t": 3.5, "side": "buy", "qty": 3},
               {"t": 4.5, "side": "buy", "qty": 0.1}, {"t": 5.5, "side": "buy", "qty": 0.1},
               {"t": 13.5, "side": "buy", "qty": 0.1})
    res = run(data, o, run=NETTING, risk={"max_order_qty": 1, "breaker_rejections": 2, "breaker_cooldown": "10s"})
    assert sts(res, range(7)) == ["rejected max_qty", "filled", "rejected max_qty",
                                  "rejected max_qty", "rejected breaker", "rejected breaker",
                                  "filled"]
    ev = [(e["sec"], e["event"], e["reason"], e["severity"], e["before"], e["after"])
          for e in events(res, "breaker_tripped")]
    assert ev == [(4, "breaker_tripped", "reject_streak", "critical", 2, at(14))]
    assert [(e["sec"], e["severity"]) for e in events(res, "breaker_reset")] == [(14, "info")]
    assert res.summary["breaker_trips"] == 1
    assert res.summary["rejections"] == {"max_qty": 3, "breaker": 2}


def test_tripping_again_during_the_cooldown_starts_a_new_cooldown():
    # Hedging, breaker_losses 1, breaker_cooldown 10s.  t1: 0 and 1 buy at 110002 (P0, P1).
    #   t2: 2 closes P1 at 110000: -200 -> trips at 2, cooldown to 12 (after = 12 s in ns).
    #   t5: 3 closes P0 (closing adds no exposure): -200 -> trips again at 5, cooldown to 15.
    #   t12: 4 buy -> 12 < 15: rejected breaker, no reset at 12.
    #   t15: breaker_reset, then 5 buy -> fills.
    data = ticks([(s, 110000, 110002) for s in (1, 2, 5, 12, 15, 16)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 0.5, "side": "buy", "qty": 1},
               {"t": 1.5, "action": "close", "ref": 1}, {"t": 4.5, "action": "close", "ref": 0},
               {"t": 11.5, "side": "buy", "qty": 1}, {"t": 14.5, "side": "buy", "qty": 1})
    res = run(data, o, run=HEDGING, risk={"breaker_losses": 1, "breaker_cooldown": "10s"})
    assert sts(res, [3, 4, 5]) == ["filled", "rejected breaker", "filled"]
    ev = [(e["sec"], e["event"], e["before"], e["after"]) for e in events(res, "breaker_tripped", "breaker_reset")]
    assert [x[:2] for x in ev] == [(2, "breaker_tripped"), (5, "breaker_tripped"), (15, "breaker_reset")]
    assert [x[2:] for x in ev[:2]] == [(1, at(12)), (1, at(15))]
    assert res.summary["breaker_trips"] == 2


def test_rejections_at_any_step_count_toward_the_reject_streak():
    # Hedging, cash 1000 USD = 100000, margin 1 %, max_order_qty 1, breaker_rejections 2, cooldown 10s.
    #   t1 (110000/110002): 0 buy limit 109500 x 0.5 passes (margin 54750 <= 100000); 1 buy 0.5 passes and
    #     fills (U = 55001): count 0.
    #   t2 (109498/109500): 0 triggers; its margin 54750 > free margin (99900 - 55001 = 44899) ->
    #     its fill is refused, rejected no_margin in step 5: count 1.
    #   t3: 2 buy 2: 200 > 100 steps -> rejected max_qty: count 2 -> trips at 3 (reject_streak, before 2,
    #     after 13 s).
    #   t4: 3 buy 0.01 -> rejected breaker.
    data = ticks([(s, 109498, 109500) if s > 1 else (1, 110000, 110002) for s in range(1, 6)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.5, "type": "limit", "price": 109500},
               {"t": 0.5, "side": "buy", "qty": 0.5}, {"t": 2.5, "side": "buy", "qty": 2},
               {"t": 3.5, "side": "buy", "qty": 0.01})
    res = run(data, o, run=HEDGING, instruments=M1, account={"initial_cash": 1000},
              risk={"max_order_qty": 1, "breaker_rejections": 2, "breaker_cooldown": "10s"})
    assert sts(res, range(4)) == ["rejected no_margin", "filled", "rejected max_qty", "rejected breaker"]
    ev = [(e["sec"], e["reason"], e["before"], e["after"]) for e in events(res, "breaker_tripped")]
    assert ev == [(3, "reject_streak", 2, at(13))]


# every limit docs/config.md lets be 0 ("For those limits a value of 0 is the same as off"); max_orders,
# breaker_losses and breaker_rejections are whole numbers >= 1 there, so 0 is refused at start.
ZERO_OFF = ("max_positions", "max_positions_per_symbol", "max_order_qty", "max_order_notional",
            "max_order_notional_pct", "max_exposure", "max_exposure_pct", "daily_loss_limit",
            "daily_loss_limit_pct", "max_price_deviation_pct")


@pytest.mark.parametrize("key", ZERO_OFF)
def test_a_limit_set_to_zero_is_off(key):
    # A limit set to 0 is off: the run is the same as without it (hedging).  Read as a limit, 0 would
    # refuse all of it: 0 opens a 2-lot position (qty, notional, exposure, positions), 1 is a
    # buy limit 2 lots at 100000, 9 % below the mid (price deviation); at t2 the bid falls 1000 ticks:
    # equity 10000000 - 1002 x 200 = 9799600 < the day's start (daily loss); 2 and 3 open more positions.
    data = ticks([(1, 110000, 110002), (2, 109000, 109002), (3, 109000, 109002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 2}, {"t": 0.5, "side": "buy", "qty": 2, "type": "limit", "price": 100000},
               {"t": 1.5, "side": "buy", "qty": 1}, {"t": 2.5, "side": "buy", "qty": 1})
    res = run(data, o, run=HEDGING, risk={key: 0})
    assert sts(res, range(4)) == ["filled", "unfilled", "filled", "filled"]
    assert res.summary["rejections"] == {}
    assert events(res, "daily_limit", "breaker_tripped") == []


# ---------------------------------------------------------------------------------------------
# §5 The lifecycle log: severities
# ---------------------------------------------------------------------------------------------


def test_severities_of_position_events_and_rejections():
    # Hedging, cash 1000 USD = 100000, margin 1 %, max_order_qty 5.  At t1 (110000/110002), in order:
    #   0 buy 0.5: margin 55001 <= 100000 -> opens (its fill comes in step 4, after the rejections);
    #   1 buy 6: 600 > 500 steps -> max_qty, warning;
    #   2 buy risk_pct 1 without a stop -> no_stop, error;
    #   3 buy 1: margin 110002 > free 100000 (0 has not filled yet) -> no_margin, critical.
    # t2: 4 closes P0 -> closed, info.
    data = ticks([(1, 110000, 110002), (2, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.5}, {"t": 0.5, "side": "buy", "qty": 6},
               {"t": 0.5, "side": "buy", "sizing": "risk_pct", "size": 1}, {"t": 0.5, "side": "buy", "qty": 1},
               {"t": 1.5, "action": "close", "ref": 0})
    res = run(data, o, run=HEDGING, instruments=M1, account={"initial_cash": 1000}, risk={"max_order_qty": 5})
    ev = [(e["sec"], e["event"], e["order_id"], e["reason"] if e["event"] == "rejected" else None, e["severity"])
          for e in events(res)]
    assert ev == [(1, "rejected", 1, "max_qty", "warning"), (1, "rejected", 2, "no_stop", "error"),
                  (1, "rejected", 3, "no_margin", "critical"), (1, "opened", 0, None, "info"),
                  (2, "closed", 4, None, "info")]
    assert res.summary["rejections"] == {"max_qty": 1, "no_stop": 1, "no_margin": 1}
    assert res.summary["rejections_by_severity"] == {"warning": 1, "error": 1, "critical": 1}


def test_a_sized_pending_order_that_only_reduces_is_still_refused_for_margin_at_its_fill():
    """§3: a sized order always counts as adding exposure, also when its triggered fill is
    judged against the free margin (netting; found by the oracle comparison).

    Netting, cash 1500 USD = 150000, margin 1 %.  At 0.5: 0 buys 1 lot; 1 is a sell stop at
    109990 for 0.5 lot sized ``kelly`` (fewer closed trades than kelly_min_trades: its qty).
    t1 (110000/110002): 1 acts first (step 3): free 150000 >= R(0.01 x 109990 x 50) = 54995;
    then 0 fills at 110002, U = 110002.  t2 (109990/109992): 1 triggers; equity 150000 +
    (109990 - 110002) x 100 = 148800, free 148800 - 110002 = 38798 < 54995 -> no_margin, although
    selling 50 of the 100 steps long would only reduce the position.
    """
    data = ticks([(1, 110000, 110002), (2, 109990, 109992), (3, 109990, 109992)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1},
               {"t": 0.5, "side": "sell", "qty": 0.5, "type": "stop", "stop": 109990, "sizing": "kelly"})
    res = run(data, o, run=NETTING, instruments=M1, account={"initial_cash": 1500})
    assert sts(res, range(2)) == ["filled", "rejected no_margin"]
    assert rejected(res) == [(2, 1, "no_margin", "critical")]
    assert position(res, 0)["qty_steps"] == 100


def test_orders_refused_when_read_are_logged_as_they_would_act_without_feeding_the_breaker():
    """§5: every rejection is in the lifecycle log.  Rows refused when the input is read
    (``off_tick``, ``expiry_past``, ``unknown_ref``) never act; their ``rejected`` event is logged
    at the tick where they would have acted (step 3), in their order among the other orders, with
    the input-error severity ``error``.  They are no pre-trade rejections, so they do not count
    towards the breaker's rejection streak (``breaker_rejections`` 2 here: three of them, no trip).

    Ticks at 1, 2, 3 (110000/110002), hedging, the default latency (1 ns):
      0 at 0.5: buy limit at 1.100005 (110000.5 ticks) -> off_tick, logged at t1;
      1 at 0.5: buy 0.1 at market -> opens P0 at t1 (opened after the rejection of 0, step 4);
      2 at 1.5: buy GTD limit expiring at 1.0, before it is sent -> expiry_past, logged at t2;
      3 at 2.5: cancel of id 42, which no row has -> unknown_ref, logged at t3.
    """
    data = ticks([(1, 110000, 110002), (2, 110000, 110002), (3, 110000, 110002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.1, "type": "limit", "price": 1.100005},
               {"t": 0.5, "side": "buy", "qty": 0.1},
               {"t": 1.5, "side": "buy", "qty": 0.1, "type": "limit", "price": 109000, "tif": "gtd", "expire": 1.0},
               {"t": 2.5, "action": "cancel", "ref": 42})
    res = run(data, o, run=HEDGING, risk={"breaker_rejections": 2})
    assert sts(res, range(4)) == ["rejected off_tick", "filled", "rejected expiry_past", "rejected unknown_ref"]
    ev = [(e["sec"], e["event"], e["order_id"], e["reason"] if e["event"] == "rejected" else None, e["severity"])
          for e in events(res)]
    assert ev == [(1, "rejected", 0, "off_tick", "error"), (1, "opened", 1, None, "info"),
                  (2, "rejected", 2, "expiry_past", "error"), (3, "rejected", 3, "unknown_ref", "error")]
    assert events(res, "breaker_tripped") == []
    assert res.summary["breaker_trips"] == 0
    assert res.summary["rejections"] == {"off_tick": 1, "expiry_past": 1, "unknown_ref": 1}


def test_position_events_of_a_stop_out_are_info():
    """§5: ``info`` for position events; ``critical`` for the stop-out.  Reading: the ``closed``
    event of a position closed by a stop-out is a position event (info), next to its ``stop_out``
    event (critical); the fill reason ``stop_out`` does not make it critical.

    The scenario of test_margin_call_and_stop_out_on_one_tick_log_the_call_first.
    """
    res = _call_and_stop_out()
    ev = [(e["sec"], e["event"], e["reason"], e["severity"]) for e in events(res)]
    assert ev == [(1, "opened", "signal", "info"), (2, "margin_call", "margin_call", "critical"),
                  (2, "closed", "stop_out", "info"), (2, "stop_out", "stop_out", "critical")]
