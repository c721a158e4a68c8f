"""Hand-worked checks of the Decimal reference model in ``tests/oracle.py``.

Every expected number below is worked out by hand in the comments.

EURUSD: tick 0.00001, lot_step 0.01, contract 100000, USD account, 2 digits.
  One tick on one step (0.01 lot = 1000 units) is 0.00001 x 1000 = $0.01,
  so V = 1 minor unit per tick.step.
BTCUSD: tick 0.01, lot_step 0.0001, contract 1.
  One tick on one step is 0.01 x 0.0001 = $0.000001 = 0.0001 cent,
  so V = 1/10000 minor per tick.step and every P&L is rounded to cents.
"""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings

from tests.oracle import OCommission, OInstrument, round_half_even
from tests.oracle import simulate as _simulate
from tests.scenarios import scenario

EURUSD = OInstrument("EURUSD", D("0.00001"), D("0.01"), D("100000"), D(1), D("0.01"))
GBPUSD = OInstrument("GBPUSD", D("0.00001"), D("0.01"), D("100000"), D(1), D("0.01"))
BTCUSD = OInstrument("BTCUSD", D("0.01"), D("0.0001"), D("1"), D(1), D("0.0001"))
CASH = D("10000.00")
CASH_MINOR = 1_000_000
NO_COMM = OCommission()


def buy(ts, qty, symbol="EURUSD"):
    return {"ts": ts, "symbol": symbol, "type": "market", "side": "buy", "qty": D(qty), "target": None}


def sell(ts, qty, symbol="EURUSD"):
    return {"ts": ts, "symbol": symbol, "type": "market", "side": "sell", "qty": D(qty), "target": None}


def target(ts, tgt, symbol="EURUSD"):
    return {"ts": ts, "symbol": symbol, "type": "target", "side": None, "qty": None, "target": D(tgt)}


def tick(ts, bid, ask, symbol="EURUSD"):
    return (ts, symbol, D(bid), D(ask))


def simulate(ticks, orders, *args, **kw):
    """The oracle on ``ticks`` led by a copy of the first tick at the first order's ``ts`` when an
    order comes before the data (acting before the first tick it would be rejected
    ``before_data``): these cases' orders then act on the ticks they were written for. The
    equity log has a row for the lead tick first."""
    t0 = min((o["ts"] for o in orders), default=ticks[0][0]) if ticks else None
    lead = [(t0, *ticks[0][1:])] if ticks and t0 < ticks[0][0] else []
    return _simulate(lead + list(ticks), orders, *args, **kw)


def ledger_ok(res, initial=CASH_MINOR):
    assert res.final_cash_minor == initial + res.realized_minor - res.commission_minor
    assert res.realized_minor == sum(f["realized_pnl_minor"] for f in res.fills)
    assert res.commission_minor == sum(f["commission_minor"] for f in res.fills)
    cash = initial
    for f in res.fills:
        cash += f["realized_pnl_minor"] - f["commission_minor"]
        assert f["cash_after_minor"] == cash


def test_round_half_even_helper():
    assert [round_half_even(D(x)) for x in ("0.5", "1.5", "2.5", "-0.5", "-1.5", "2.4999")] == [
        0,
        2,
        2,
        0,
        -2,
        2,
    ]


def test_buy_at_ask_sell_at_bid_and_strictly_after():
    # Buy 0.10 at ts 5 -> first tick after is ts 10, ask 1.10010 (110010 ticks).
    # Sell 0.10 stamped ts 10, equal to that tick's ts: it waits for ts 20,
    # bid 1.10110 (110110 ticks).
    # P&L = (1.10110 - 1.10010) x 0.10 x 100000 = 0.001 x 10000 = $10.00
    #     = 100 ticks x 10 steps x 1 cent = 1000 minor.
    # A second sell stamped ts 20 (the last tick) finds no later tick: unfilled.
    ticks = [tick(10, "1.10000", "1.10010"), tick(20, "1.10110", "1.10120")]
    orders = [buy(5, "0.10"), sell(10, "0.10"), sell(20, "0.10")]
    res = simulate(ticks, orders, {"EURUSD": EURUSD}, NO_COMM, CASH)
    f0, f1 = res.fills
    assert (f0["ts"], f0["side"], f0["price_ticks"], f0["qty_steps"], f0["effect"]) == (
        10,
        1,
        110010,
        10,
        "open",
    )
    assert (f1["ts"], f1["side"], f1["price_ticks"], f1["qty_steps"], f1["effect"]) == (
        20,
        -1,
        110110,
        10,
        "close",
    )
    assert f1["realized_pnl_minor"] == 1000
    assert res.order_status == ["filled", "filled", "unfilled"]
    assert res.final_cash_minor == 1_001_000
    assert res.final_equity_minor == 1_001_000
    ledger_ok(res)


def test_fill_on_first_tick_of_own_symbol():
    # GBPUSD buy stamped 0: the EURUSD tick at 10 does not fill it, the GBPUSD
    # tick at 20 does, at its ask 1.27005.  A EURUSD buy stamped 15 has no
    # EURUSD tick after it: unfilled.
    # Mark at ts 20: bid 1.27000 vs cost 1.27005 on 0.01 lot = -5 ticks x 1 step = -5 minor,
    # so equity 999995 and drawdown 5.
    ticks = [tick(10, "1.10000", "1.10010"), tick(20, "1.27000", "1.27005", "GBPUSD")]
    orders = [buy(0, "0.01", "GBPUSD"), buy(15, "0.01")]
    res = simulate(ticks, orders, {"EURUSD": EURUSD, "GBPUSD": GBPUSD}, NO_COMM, CASH)
    (f,) = res.fills
    assert (f["symbol"], f["ts"], f["price_ticks"], f["order_id"]) == ("GBPUSD", 20, 127005, 0)
    assert res.order_status == ["filled", "unfilled"]
    assert res.final_equity_minor == 999_995
    assert res.max_drawdown_minor == 5
    assert res.positions[0]["is_open"]


def test_scale_in_average_cost():
    # Buy 0.10 at ask 1.10010, buy 0.30 at ask 1.10050:
    #   cost = 0.110010 + 0.330150 = 0.440160 (avg 1.10040) on 0.40 lot.
    # Sell 0.40 at bid 1.10100:
    #   P&L = (1.10100 x 0.40 - 0.440160) x 100000 = 0.000240 x 100000 = $24.00 = 2400
    #   (= 60 ticks over the average x 40 steps).
    ticks = [
        tick(10, "1.10000", "1.10010"),
        tick(20, "1.10040", "1.10050"),
        tick(30, "1.10100", "1.10110"),
    ]
    orders = [buy(5, "0.10"), buy(15, "0.30"), sell(25, "0.40")]
    res = simulate(ticks, orders, {"EURUSD": EURUSD}, NO_COMM, CASH)
    assert [f["effect"] for f in res.fills] == ["open", "increase", "close"]
    assert [f["position_id"] for f in res.fills] == [0, 0, 0]
    assert res.fills[2]["realized_pnl_minor"] == 2400
    (p,) = res.positions
    assert p["entry_value"] == D("0.440160")
    assert p["exit_value"] == D("0.440400")
    assert p["entry_qty_steps"] == 40 and not p["is_open"]
    assert res.final_cash_minor == 1_002_400
    ledger_ok(res)


@pytest.mark.parametrize(
    "ask1, ask2, first_removed, pnl1, pnl2",
    [
        # Cost C = 110001 + 110002 = 220003 tick.steps on Q = 2 steps.
        # Close q = 1: C x 1/2 = 110001.5 -> ties to even -> 110002.
        # At bid 110010: pnl1 = 110010 - 110002 = 8; the rest keeps 110001,
        # pnl2 = 110010 - 110001 = 9.  Total 17 = 2 x 110010 - 220003.
        ("1.10001", "1.10002", 110002, 8, 9),
        # C = 110002 + 110003 = 220005; C/2 = 110002.5 -> even -> 110002 (down).
        # pnl1 = 8, rest keeps 110003, pnl2 = 7.  Total 15 = 220020 - 220005.
        # (Half-up on the average 110002.5 would give 7.5 -> 8 twice = 16.)
        ("1.10002", "1.10003", 110002, 8, 7),
    ],
)
def test_partial_close_removed_cost_half_even(ask1, ask2, first_removed, pnl1, pnl2):
    ticks = [
        tick(10, "1.10000", ask1),
        tick(20, "1.10000", ask2),
        tick(30, "1.10010", "1.10020"),
        tick(40, "1.10010", "1.10020"),
    ]
    orders = [buy(5, "0.01"), buy(15, "0.01"), sell(25, "0.01"), sell(35, "0.01")]
    res = simulate(ticks, orders, {"EURUSD": EURUSD}, NO_COMM, CASH)
    assert [f["effect"] for f in res.fills] == ["open", "increase", "reduce", "close"]
    assert res.fills[2]["realized_pnl_minor"] == pnl1
    assert res.fills[3]["realized_pnl_minor"] == pnl2
    # After the partial close at ts 30 the position keeps C - removed on 1 step;
    # marked at bid 110010 the equity is cash + (110010 - kept).
    kept = int(D(ask1) / D("0.00001")) + int(D(ask2) / D("0.00001")) - first_removed
    assert res.equity[3] == (30, CASH_MINOR + pnl1 + 110010 - kept)
    assert res.final_cash_minor == CASH_MINOR + pnl1 + pnl2
    ledger_ok(res)


def test_reversal_split_with_pro_rata_commission():
    # Commission: per_lot $2.50, per_order $0.05.
    # Buy 0.10 at ask 1.10010: 2.50 x 0.10 = 0.25 + 0.05 = $0.30 = 30 minor.
    # Sell 0.14 at bid 1.10110: 2.50 x 0.14 = 0.35 + 0.05 = 40 minor on the whole fill.
    #   close part 10 of 14 steps: R(40 x 10/14) = R(28.571...) = 29; open part 40 - 29 = 11.
    #   close P&L: 100 ticks x 10 steps = 1000; new short position id 1, 4 steps at 110110.
    # Buy 0.04 at ask 1.10060: 2.50 x 0.04 = 0.10 + 0.05 = 15; P&L short 50 ticks x 4 = 200.
    # Cash: 1000000 - 30 + 1000 - 29 - 11 + 200 - 15 = 1001115.
    comm = OCommission(per_lot=D("2.50"), per_order=D("0.05"))
    ticks = [
        tick(10, "1.10000", "1.10010"),
        tick(20, "1.10110", "1.10120"),
        tick(30, "1.10050", "1.10060"),
    ]
    orders = [buy(5, "0.10"), sell(15, "0.14"), buy(25, "0.04")]
    res = simulate(ticks, orders, {"EURUSD": EURUSD}, comm, CASH)
    rows = [
        (f["order_id"], f["position_id"], f["side"], f["effect"], f["qty_steps"], f["price_ticks"])
        for f in res.fills
    ]
    assert rows == [
        (0, 0, 1, "open", 10, 110010),
        (1, 0, -1, "close", 10, 110110),
        (1, 1, -1, "open", 4, 110110),
        (2, 1, 1, "close", 4, 110060),
    ]
    assert [f["commission_minor"] for f in res.fills] == [30, 29, 11, 15]
    assert [f["realized_pnl_minor"] for f in res.fills] == [0, 1000, 0, 200]
    assert res.final_cash_minor == 1_001_115
    p0, p1 = res.positions
    assert (p0["side"], p0["realized_pnl_minor"], p0["commission_minor"]) == (1, 1000, 59)
    assert (p1["side"], p1["realized_pnl_minor"], p1["commission_minor"]) == (-1, 200, 26)
    assert p1["parent_id"] == 0 and not p1["is_open"]  # the reversal names the position it reversed
    ledger_ok(res)


def test_reversal_split_tie_goes_to_even():
    # per_lot $2.00, per_order $0.05.
    # Buy 0.01: 0.02 + 0.05 = 7.  Sell 0.02 (reverses): 0.04 + 0.05 = 9,
    # close part R(9 x 1/2) = R(4.5) = 4 (even), open part 5.
    comm = OCommission(per_lot=D("2.00"), per_order=D("0.05"))
    ticks = [tick(10, "1.10000", "1.10010"), tick(20, "1.10010", "1.10020")]
    res = simulate(ticks, [buy(5, "0.01"), sell(15, "0.02")], {"EURUSD": EURUSD}, comm, CASH)
    assert [f["commission_minor"] for f in res.fills] == [7, 4, 5]
    assert [f["effect"] for f in res.fills] == ["open", "close", "open"]
    # Close at bid 110010 against cost 110010: P&L 0.
    assert res.final_cash_minor == CASH_MINOR - 16
    ledger_ok(res)


def test_commission_minimum():
    # fraction 0.00002, minimum $1.00.
    # Buy 0.10 at 1.10010: notional 0.10 x 100000 x 1.10010 = $11001.00,
    #   x 0.00002 = $0.22002 -> 22 minor, below the minimum -> 100.
    # Buy 1.00 at 1.10010: notional $110010.00 x 0.00002 = $2.2002 -> 220 >= 100 -> 220.
    comm = OCommission(fraction=D("0.00002"), minimum=D("1.00"))
    ticks = [tick(10, "1.10000", "1.10010"), tick(20, "1.10000", "1.10010")]
    res = simulate(ticks, [buy(5, "0.10"), buy(15, "1.00")], {"EURUSD": EURUSD}, comm, CASH)
    assert [f["commission_minor"] for f in res.fills] == [100, 220]
    assert res.final_cash_minor == CASH_MINOR - 320
    ledger_ok(res)


def test_fraction_commission_rounds_half_even():
    # fraction 0.00015 at ask 1.10000:
    #   0.01 lot: notional $1100.00 x 0.00015 = $0.165 = 16.5 minor -> 16 (even, half-up gives 17).
    #   0.03 lot: notional $3300.00 x 0.00015 = $0.495 = 49.5 minor -> 50 (even).
    comm = OCommission(fraction=D("0.00015"))
    ticks = [tick(10, "1.09990", "1.10000"), tick(20, "1.09990", "1.10000")]
    res = simulate(ticks, [buy(5, "0.01"), buy(15, "0.03")], {"EURUSD": EURUSD}, comm, CASH)
    assert [f["commission_minor"] for f in res.fills] == [16, 50]
    # Mark at ts 20: bid 109990 on cost 4 x 110000 -> -10 ticks x 4 steps = -40.
    assert res.final_equity_minor == CASH_MINOR - 66 - 40
    ledger_ok(res)


def test_btcusd_pnl_rounds_to_cents():
    # 1) Buy 0.0015 at ask 60000.01, sell at bid 60012.34:
    #    12.33 x 0.0015 = $0.018495 -> 1.8495 cents -> 2.
    # 2) Sell 0.0001 at bid 60000.00, buy back at ask 59950.00:
    #    50.00 x 0.0001 = $0.005 = 0.5 cent -> 0 (even).
    # 3) Buy 0.0001 at ask 60000.00, sell at bid 60150.00:
    #    150.00 x 0.0001 = $0.015 = 1.5 cents -> 2 (even).
    # Total realized 4 minor.
    ticks = [
        tick(10, "59999.99", "60000.01", "BTCUSD"),
        tick(20, "60012.34", "60012.40", "BTCUSD"),
        tick(30, "60000.00", "60000.50", "BTCUSD"),
        tick(40, "59940.00", "59950.00", "BTCUSD"),
        tick(50, "59999.00", "60000.00", "BTCUSD"),
        tick(60, "60150.00", "60150.50", "BTCUSD"),
    ]
    orders = [
        buy(5, "0.0015", "BTCUSD"),
        sell(15, "0.0015", "BTCUSD"),
        sell(25, "0.0001", "BTCUSD"),
        buy(35, "0.0001", "BTCUSD"),
        buy(45, "0.0001", "BTCUSD"),
        sell(55, "0.0001", "BTCUSD"),
    ]
    res = simulate(ticks, orders, {"BTCUSD": BTCUSD}, NO_COMM, CASH)
    assert [f["price_ticks"] for f in res.fills] == [6000001, 6001234, 6000000, 5995000, 6000000, 6015000]
    assert [f["qty_steps"] for f in res.fills] == [15, 15, 1, 1, 1, 1]
    assert [f["realized_pnl_minor"] for f in res.fills] == [0, 2, 0, 0, 0, 2]
    assert [p["position_id"] for p in res.positions] == [0, 2, 4]  # ids of the opening orders
    assert [p["side"] for p in res.positions] == [1, -1, 1]
    # Unrealized at ts 10 after the first buy: (59999.99 - 60000.01) x 0.0015 = -$0.00003
    # = -0.003 cent -> 0, so equity stays 1000000 and nothing is drawn down there.
    assert res.equity[1] == (10, CASH_MINOR)
    assert res.final_cash_minor == CASH_MINOR + 4
    ledger_ok(res)


def test_target_orders_and_no_action():
    # target +0.10 @5  -> buy 0.10 at ask 1.10010 (open long).
    # target +0.10 @15 -> already there: no_action, no fill.
    # target -0.05 @25 -> sell 0.15 at bid 1.10110: close 10 (P&L 100 x 10 = 1000), open short 5.
    # target  0    @35 -> buy 0.05 at ask 1.10060: short P&L 50 ticks x 5 = 250, close.
    ticks = [
        tick(10, "1.10000", "1.10010"),
        tick(20, "1.10050", "1.10060"),
        tick(30, "1.10110", "1.10120"),
        tick(40, "1.10050", "1.10060"),
    ]
    orders = [target(5, "0.10"), target(15, "0.10"), target(25, "-0.05"), target(35, "0")]
    res = simulate(ticks, orders, {"EURUSD": EURUSD}, NO_COMM, CASH)
    assert res.order_status == ["filled", "no_action", "filled", "filled"]
    rows = [
        (f["order_id"], f["side"], f["effect"], f["qty_steps"], f["realized_pnl_minor"]) for f in res.fills
    ]
    assert rows == [
        (0, 1, "open", 10, 0),
        (2, -1, "close", 10, 1000),
        (2, -1, "open", 5, 0),
        (3, 1, "close", 5, 250),
    ]
    assert res.final_cash_minor == 1_001_250
    ledger_ok(res)


def test_qty_below_min_rejected():
    # min_qty 0.02: a market buy of 0.01 is rejected; a target of 0.01 from flat
    # trades 0.01 and is rejected too; a target of 0.03 buys 0.03; a target 0.02 then
    # needs a sell of 0.01 and is rejected.
    inst = OInstrument("EURUSD", D("0.00001"), D("0.01"), D("100000"), D(1), D("0.02"))
    ticks = [tick(10, "1.10000", "1.10010"), tick(20, "1.10000", "1.10010")]
    orders = [buy(5, "0.01"), target(6, "0.01"), target(7, "0.03"), target(15, "0.02")]
    res = simulate(ticks, orders, {"EURUSD": inst}, NO_COMM, CASH)
    assert res.order_status == ["rejected", "rejected", "filled", "rejected"]
    assert res.order_reason == ["qty_below_min", "qty_below_min", "none", "qty_below_min"]
    assert [(f["order_id"], f["qty_steps"]) for f in res.fills] == [(2, 3)]


def test_equity_drawdown_and_ledger():
    # per_order $0.50.  Buy 1.00 lot (100 steps) @5 fills at ts 10 ask 1.10010.
    # ts10: cash 1000000 - 50 = 999950; unreal (110000 - 110010) x 100 = -1000;
    #       equity 998950; peak 1000000 (initial); dd 1050.
    # ts20: unreal (110100 - 110010) x 100 = 9000; equity 1008950 = new peak.
    # ts30: unreal (109900 - 110010) x 100 = -11000; equity 988950; dd 20000.
    # ts40: sell 1.00 @35 at bid 1.10050: P&L 40 x 100 = 4000, commission 50;
    #       cash 999950 + 4000 - 50 = 1003900 = equity; dd stays 20000.
    # Ledger: 1000000 + 4000 - 100 = 1003900.
    comm = OCommission(per_order=D("0.50"))
    ticks = [
        tick(10, "1.10000", "1.10010"),
        tick(20, "1.10100", "1.10110"),
        tick(30, "1.09900", "1.09910"),
        tick(40, "1.10050", "1.10060"),
    ]
    res = simulate(ticks, [buy(5, "1.00"), sell(35, "1.00")], {"EURUSD": EURUSD}, comm, CASH)
    assert res.equity[1:] == [(10, 998_950), (20, 1_008_950), (30, 988_950), (40, 1_003_900)]
    assert res.max_drawdown_minor == 20_000
    assert res.peak_equity_minor == 1_008_950
    assert res.final_cash_minor == res.final_equity_minor == 1_003_900
    assert (res.realized_minor, res.commission_minor) == (4000, 100)
    ledger_ok(res)


@pytest.mark.parametrize("close_at_end", [False, True])
def test_end_of_data(close_at_end):
    # per_order $0.50; the quotes at ts 10 and 25 have zero spread.
    # ts10 EURUSD buy 0.10 @5 at ask 1.10010: cash 999950, unreal 0, equity 999950, dd 50.
    # ts20 EURUSD bid 1.10060: unreal (110060 - 110010) x 10 = 500, equity 1000450 = peak.
    # ts25 BTCUSD sell 0.0010 @15 at bid 60000.00: cash 999900, BTC unreal 0, equity 1000400, dd 50.
    # ts30 BTCUSD ask 59990.00: BTC unreal (60000.00 - 59990.00) x 0.0010 = $0.01 = 1;
    #      equity 1000401.
    # close_at_end, in instrument order (EURUSD first):
    #   EURUSD sold at its last bid 1.10060 stamped ts 20: +500, commission 50;
    #   BTCUSD bought at its last ask 59990.00 stamped ts 30: +1, commission 50.
    #   cash = equity = 999900 + 501 - 100 = 1000301; the final state is 149 below the
    #   peak 1000450, so the drawdown becomes 149 (50 if the final state is not counted).
    # Without close_at_end: cash 999900, equity 1000401, drawdown 50.
    comm = OCommission(per_order=D("0.50"))
    ticks = [
        tick(10, "1.10010", "1.10010"),
        tick(20, "1.10060", "1.10070"),
        tick(25, "60000.00", "60000.00", "BTCUSD"),
        tick(30, "59989.00", "59990.00", "BTCUSD"),
    ]
    orders = [buy(5, "0.10"), sell(15, "0.0010", "BTCUSD")]
    insts = {"EURUSD": EURUSD, "BTCUSD": BTCUSD}
    res = simulate(ticks, orders, insts, comm, CASH, close_at_end=close_at_end)
    assert res.equity[1:5] == [(10, 999_950), (20, 1_000_450), (25, 1_000_400), (30, 1_000_401)]
    assert res.peak_equity_minor == 1_000_450
    if close_at_end:
        end = res.fills[2:]
        assert [(f["symbol"], f["ts"], f["order_id"], f["side"], f["effect"]) for f in end] == [
            ("EURUSD", 20, -1, -1, "close"),
            ("BTCUSD", 30, -1, 1, "close"),
        ]
        assert [f["realized_pnl_minor"] for f in end] == [500, 1]
        assert [f["commission_minor"] for f in end] == [50, 50]
        assert [f["price_ticks"] for f in end] == [110060, 5999000]
        assert all(p["exit_reason"] == "end_of_data" and not p["is_open"] for p in res.positions)
        assert res.final_cash_minor == res.final_equity_minor == 1_000_301
        assert res.equity[5:] == [(30, 1_000_301)]
        assert res.max_drawdown_minor == 149
        res2 = simulate(ticks, orders, insts, comm, CASH, close_at_end=True, drawdown_includes_final=False)
        assert res2.max_drawdown_minor == 50
    else:
        assert len(res.fills) == 2
        assert all(p["is_open"] for p in res.positions)
        assert [p["qty_steps"] for p in res.positions] == [10, 10]
        assert res.final_cash_minor == 999_900
        assert res.final_equity_minor == 1_000_401
        assert res.max_drawdown_minor == 50
    ledger_ok(res)


@settings(max_examples=150, deadline=None)
@given(scenario())
def test_oracle_invariants_on_random_scenarios(sc):
    # Properties that follow from the rules whatever the inputs:
    # the ledger balances row by row; fills of an order come in one tick; a closed
    # position's P&L over its life is exact when V is a whole number of minor units
    # (EURUSD, GBPUSD: V = 1, so P&L = exit value - entry value, in cents);
    # with close_at_end nothing is left open and cash equals equity.
    res = sc.run_oracle()
    initial = int(sc.initial_cash.scaleb(2))
    ledger_ok(res, initial)
    assert len(res.order_status) == len(sc.orders)
    assert res.max_drawdown_minor >= 0
    assert res.peak_equity_minor >= initial
    filled = {f["order_id"] for f in res.fills if f["order_id"] >= 0}
    assert filled == {i for i, s in enumerate(res.order_status) if s == "filled"}
    for f in res.fills:
        o = sc.orders[f["order_id"]] if f["order_id"] >= 0 else None
        if o is not None:
            assert f["ts"] > o["ts"]
    for p in res.positions:
        assert p["realized_pnl_minor"] == sum(
            f["realized_pnl_minor"] for f in res.fills if f["position_id"] == p["position_id"]
        )
        assert p["qty_steps"] == p["entry_qty_steps"] - p["exit_qty_steps"]
        assert p["is_open"] == (p["qty_steps"] > 0)
        if not p["is_open"] and p["symbol"] != "BTCUSD":
            diff = (p["exit_value"] - p["entry_value"]) * p["side"] * 100000 * 100
            assert p["realized_pnl_minor"] == diff
    if sc.close_at_end:
        assert not any(p["is_open"] for p in res.positions)
        assert res.final_cash_minor == res.final_equity_minor
