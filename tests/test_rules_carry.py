"""docs/execution.md §7 (swap and funding) and §8 (accounting, excursions, exit
reasons), one hand-worked scenario per rule.

Units (tests/rulekit.py): EURUSD, prices in ticks, one tick on one lot step =
1 minor unit, one tick on 1 lot = 100 minor; notional of 1 lot at 1.10000 is
110 000 USD = 11 000 000 minor.  Times are seconds after Monday 2024-01-01
00:00 UTC (``H`` an hour, ``DAY`` a day).  EURUSD is kind ``fx``: swap days
``[1, 1, 3, 1, 1, 0, 0]`` (triple Wednesday) and rollover 22:00 UTC by default.
``swap_minor`` of a position is a cost (> 0 = paid).
"""

from __future__ import annotations

import polars as pl

from tests.rulekit import DAY, MON, H, fill_secs, fills, orders, position, run, ticks


def _eur(**keys):
    return {"EURUSD": keys}


# ---------------------------------------------------------------------------------------------
# §7 Swap and funding
# ---------------------------------------------------------------------------------------------


def test_swap_points_long_and_short_with_triple_wednesday_rounded_per_charge():
    # Hedging; swap_long -2.5 points, swap_short +1.2 points per lot per day.  One point on one lot
    # is 100 minor.  The quote stays 110000/110002.
    # Opened on the Monday 21:00 tick, closed on the Thursday 12:00 tick: open across the
    # rollovers Mon 22:00 (x1), Tue 22:00 (x1), Wed 22:00 (x3).
    #   0 long 1 lot:    R(1 x -2.5 x 100 x m): -250, -250, -750 -> pays 1250.
    #   1 long 0.37:     R(0.37 x -250 x 1) = R(-92.5) = -92 (tie -> even); Wednesday
    #                    R(0.37 x -250 x 3) = R(-277.5) = -278 (the multiplier is inside R;
    #                    3 x -92 would be -276) -> pays 92 + 92 + 278 = 462.
    #   2 short 0.37:    R(0.37 x 1.2 x 100 x m) = R(44.4) = 44, 44, R(133.2) = 133 -> receives 221.
    # P&L (exit at the bid 110000, the short at the ask 110002): -200, -74, -74 -> -348.
    # Swap 1250 + 462 - 221 = 1491.  Cash 10_000_000 - 348 - 1491 = 9_998_161.
    data = ticks([(21 * H, 110000, 110002), (23 * H, 110000, 110002), (DAY + 23 * H, 110000, 110002),
                  (2 * DAY + 23 * H, 110000, 110002), (3 * DAY + 12 * H, 110000, 110002)])
    o = orders({"t": 20 * H, "side": "buy", "qty": 1}, {"t": 20 * H, "side": "buy", "qty": 0.37},
               {"t": 20 * H, "side": "sell", "qty": 0.37}, {"t": 3 * DAY + 11 * H, "action": "close"})
    res = run(data, o, run={"account_mode": "hedging"},
              instruments=_eur(swap_mode="points", swap_long="-2.5", swap_short="1.2"))
    assert [position(res, i)["swap_minor"] for i in range(3)] == [1250, 462, -221]
    assert [position(res, i)["realized_pnl_minor"] for i in range(3)] == [-200, -74, -74]
    assert res.summary["swap_minor"] == 1491
    assert res.summary["final_cash_minor"] == 10_000_000 - 348 - 1491


def test_swap_over_a_weekend_gap_is_charged_at_the_first_tick_after():
    # Hedging; swap_long -2.5 points.  0 buys 1 lot on Friday 2024-01-05 21:00.  The next tick is
    # Monday 2024-01-08 01:00: the rollovers Fri 22:00 (x1), Sat 22:00 (x0), Sun 22:00 (x0) are
    # all due there -> 250 in all.  1 (close position 0) acts on that same Monday tick: the swap
    # (step 1) is charged before the close fills (step 4), so 0 pays 250.  2 (a buy stamped Friday
    # 23:00) fills on the Monday 01:00 tick: it was not open across those instants -> 0 swap; 3
    # closes it on the 02:00 tick.
    fri, mon = 4 * DAY, 7 * DAY
    data = ticks([(fri + 21 * H, 110000, 110002), (mon + 1 * H, 110000, 110002), (mon + 2 * H, 110000, 110002)])
    o = orders({"t": fri + 20 * H, "side": "buy", "qty": 1},
               {"t": fri + 23 * H, "action": "close", "ref": 0},
               {"t": fri + 23 * H, "side": "buy", "qty": 1},
               {"t": mon + 1.5 * H, "action": "close", "ref": 2})
    res = run(data, o, run={"account_mode": "hedging"}, instruments=_eur(swap_mode="points", swap_long="-2.5"))
    assert fill_secs(res) == [fri + 21 * H, mon + 1 * H, mon + 1 * H, mon + 2 * H]
    assert (position(res, 0)["swap_minor"], position(res, 2)["swap_minor"]) == (250, 0)
    assert res.summary["swap_minor"] == 250


def test_swap_percent_of_the_notional_at_the_closing_side_quote():
    # Hedging; percent mode, swap_long = swap_short = -3.65 % a year, 365 days: -0.01 % a day.
    # The quote stays bid 110000, ask 120000.  Long 0 (notional at the bid: 1 lot x 1.10000 x
    # 100000 = 110000 USD = 11_000_000 minor) pays R(11_000_000 x 0.0001 x m) = 1100 x m; short 1
    # (at the ask: 12_000_000 minor) pays 1200 x m.  Open from Monday 21:00 to the end (Thursday
    # 12:00): Mon x1, Tue x1, Wed x3 -> 5500 and 6000.
    data = ticks([(21 * H, 110000, 120000), (23 * H, 110000, 120000), (DAY + 23 * H, 110000, 120000),
                  (2 * DAY + 23 * H, 110000, 120000), (3 * DAY + 12 * H, 110000, 120000)])
    o = orders({"t": 20 * H, "side": "buy", "qty": 1}, {"t": 20 * H, "side": "sell", "qty": 1})
    res = run(data, o, run={"account_mode": "hedging"},
              instruments=_eur(swap_mode="percent", swap_long="-3.65", swap_short="-3.65"))
    assert (position(res, 0)["swap_minor"], position(res, 1)["swap_minor"]) == (5500, 6000)
    assert res.summary["swap_minor"] == 11500


def test_swap_percent_rounds_each_charge_once():
    # Percent mode, swap_long -3.65 (-0.01 % a day), 0.37 lot long, bid 110005: notional
    # 0.37 x 100000 x 1.10005 = 40701.85 USD = 4_070_185 minor.  Mon: R(407.0185) = 407, Tue 407,
    # Wed R(1221.0555) = 1221 -> 2035.
    data = ticks([(21 * H, 110005, 110007), (23 * H, 110005, 110007), (DAY + 23 * H, 110005, 110007),
                  (2 * DAY + 23 * H, 110005, 110007), (3 * DAY + 12 * H, 110005, 110007)])
    res = run(data, orders({"t": 20 * H, "side": "buy", "qty": 0.37}),
              instruments=_eur(swap_mode="percent", swap_long="-3.65"))
    assert position(res, 0)["swap_minor"] == 2035


def test_funding_every_8h_long_pays_short_receives_at_the_first_tick_of_any_symbol():
    # Hedging; EURUSD funding_rate 0.0001 every 8h from 00:00 (instants 00:00, 08:00, 16:00).
    # Quote 110000/110004 throughout; log level ticks (an equity row per tick).
    #   0 long 1 lot, opened at 01:00, open to the end: charged at 08:00 and 16:00, each
    #     R(11_000_000 x 0.0001) = 1100 -> pays 2200.
    #   1 short 1 lot, opened at 01:00 (bid 110000), closed by 2 on the 08:00 tick: funding (step
    #     1) comes before the close (step 4): receives R(11_000_400 x 0.0001) = R(1100.04) = 1100
    #     at 08:00 -> swap -1100.  P&L (110000 - 110004) x 100 = -400.
    #   3 long 1 lot, filled on the 08:00 tick: not open across 08:00; charged 1100 at 16:00.
    # The 16:00 charges are due at the first tick at or after 16:00: the GBPUSD tick at 16:10.
    # Cash: before it 10_000_000 - 400 (08:00: -1100 + 1100) = 9_999_600; after it 9_997_400.
    data = ticks([(1 * H, 110000, 110004), (8 * H, 110000, 110004), (12 * H, 110000, 110004),
                  (16 * H + 600, 127000, 127003, "GBPUSD"), (16.5 * H, 110000, 110004), (17 * H, 110000, 110004)])
    o = orders({"t": 0.5 * H, "side": "buy", "qty": 1}, {"t": 0.5 * H, "side": "sell", "qty": 1},
               {"t": 7.5 * H, "action": "close", "ref": 1}, {"t": 7.5 * H, "side": "buy", "qty": 1})
    res = run(data, o, run={"account_mode": "hedging", "log_level": "ticks"},
              instruments=_eur(funding_rate="0.0001", funding_interval="8h", funding_time="00:00"))
    assert [position(res, i)["swap_minor"] for i in (0, 1, 3)] == [2200, -1100, 1100]
    assert position(res, 1)["realized_pnl_minor"] == -400
    assert res.summary["swap_minor"] == 2200
    eq = res.equity.with_columns(((pl.col("ts").dt.replace_time_zone(None).cast(pl.Int64) - MON) // 10**9)
                                 .alias("sec"))
    cash = dict(zip(eq["sec"].to_list(), eq["cash_minor"].to_list(), strict=False))
    assert cash[12 * H] == 9_999_600
    assert cash[16 * H + 600] == 9_997_400


def _with_rates(data: pl.DataFrame, rates: list) -> pl.DataFrame:
    return data.with_columns(pl.Series("funding_rate", rates, pl.Float64))


def test_funding_rate_from_the_data_is_the_latest_before_the_charging_tick():
    # Hedging; EURUSD funding_rate "column" every 8h from 00:00; quote 110000/110004 throughout.
    # The data's funding_rate: 0.0001 at 01:00, 0.0002 at 07:00, 0.0005 at 08:00, null at 12:00,
    # -0.0003 at 16:00.  A rate is for the instants after its tick: the 08:00 tick charges with
    # 0.0002 (its own 0.0005 comes after), 16:00 with 0.0005 (null keeps the last rate).
    #   0 long 1 lot from 01:00: R(11_000_000 x 0.0002) = 2200, R(11_000_000 x 0.0005) = 5500 -> 7700.
    #   1 short 1 lot from 01:00, notional at the ask 11_000_400: receives R(2200.08) = 2200 and
    #     R(5500.2) = 5500 -> -7700.
    data = _with_rates(ticks([(1 * H, 110000, 110004), (7 * H, 110000, 110004), (8 * H, 110000, 110004),
                              (12 * H, 110000, 110004), (16 * H, 110000, 110004), (23 * H, 110000, 110004)]),
                       [0.0001, 0.0002, 0.0005, None, -0.0003, 0.0001])
    o = orders({"t": 0.5 * H, "side": "buy", "qty": 1}, {"t": 0.5 * H, "side": "sell", "qty": 1})
    res = run(data, o, run={"account_mode": "hedging"},
              instruments=_eur(funding_rate="column", funding_interval="8h", funding_time="00:00"))
    assert [position(res, i)["swap_minor"] for i in (0, 1)] == [7700, -7700]
    # A constant rate of the config ignores the column.
    const = run(data, o, run={"account_mode": "hedging"},
                instruments=_eur(funding_rate="0.0001", funding_interval="8h", funding_time="00:00"))
    assert [position(const, i)["swap_minor"] for i in (0, 1)] == [2200, -2200]


def test_no_funding_until_the_data_gives_a_rate_and_rates_round_to_ten_decimals():
    # As above, the first rate comes on the 09:00 tick: nothing is charged at 08:00.  It is
    # 0.000123456789049 -> 1234567.89049 units of 1e-10 -> 1234568: at 16:00 the long pays
    # R(11_000_000 x 0.0001234568) = R(1358.0248) = 1358.
    data = _with_rates(ticks([(1 * H, 110000, 110004), (8 * H, 110000, 110004), (9 * H, 110000, 110004),
                              (16 * H, 110000, 110004)]), [None, None, 0.000123456789049, None])
    o = orders({"t": 0.5 * H, "side": "buy", "qty": 1})
    res = run(data, o, instruments=_eur(funding_rate="column", funding_interval="8h", funding_time="00:00"))
    assert position(res, 0)["swap_minor"] == 1358


def test_a_funding_rate_beyond_one_is_a_bad_row_only_when_the_column_is_used():
    import pytest

    import backtestr as bt

    data = _with_rates(ticks([(1 * H, 110000, 110004), (8 * H, 110000, 110004)]), [0.0001, 1.5])
    o = orders({"t": 1 * H, "side": "buy", "qty": 1})
    with pytest.raises(bt.DataError) as ei:
        run(data, o, instruments=_eur(funding_rate="column", funding_interval="8h", funding_time="00:00"))
    assert (ei.value.row, ei.value.rule) == (2, "bad_funding_rate")  # the second row, counted from 1
    res = run(data, o, instruments=_eur(funding_rate="0.0001", funding_interval="8h", funding_time="00:00"))
    assert res.summary["ticks"] == 2


# ---------------------------------------------------------------------------------------------
# §8 Accounting and excursions
# ---------------------------------------------------------------------------------------------


def test_partial_close_removes_cost_pro_rata_and_commission_of_a_reversal_is_split():
    # Netting, commission per_lot 3.5 (350 minor a lot: R(350 x lots)).
    # 0 buys 0.5 at t1's ask 110002: commission R(175) = 175.
    # 1 sells 0.75 at t2's bid 110010: commission R(262.5) = 262 (tie -> even); it closes the 50
    #   steps ((110010 - 110002) x 50 = 400) and opens short 25 as position 1: close part
    #   R(262 x 50 / 75) = R(174.67) = 175, open part 262 - 175 = 87.
    # Cash 10_000_000 - 175 + 400 - 262 = 9_999_963.
    data = ticks([(1, 110000, 110002), (2, 110010, 110012)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.5}, {"t": 1.5, "side": "sell", "qty": 0.75})
    res = run(data, o, commission={"per_lot": "3.5"})
    assert fills(res, ("position_id", "effect", "qty_steps", "commission_minor", "realized_pnl_minor")) == [
        (0, "open", 50, 175, 0), (0, "close", 50, 175, 400), (1, "open", 25, 87, 0)]
    assert (position(res, 0)["commission_minor"], position(res, 1)["commission_minor"]) == (350, 87)
    assert res.summary["final_cash_minor"] == 9_999_963


def test_mae_mfe_of_a_long_include_the_opening_and_closing_ticks():
    # A tick before the entry (bid 109000) and one after the exit (bid 111000) do not count, nor
    # does the GBPUSD tick.  0 buys 1 at t1's ask 110002; t1's bid 109990 is the lowest bid while
    # open (the opening tick).  1 closes at t4's bid 110020, the highest (the closing tick).
    # mae 109990: 109990 x 100 - 11000200 = -1200; mfe 110020: 110020 x 100 - 11000200 = 1800.
    data = ticks([(0.2, 109000, 109002), (1, 109990, 110002), (2, 110000, 110003), (2.5, 100000, 100003, "GBPUSD"),
                  (3, 110005, 110007), (4, 110020, 110021), (5, 111000, 111002)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 3.5, "action": "close", "ref": 0})
    res = run(data, o)
    p = position(res, 0)
    assert (p["mae_ticks"], p["mfe_ticks"], p["mae_minor"], p["mfe_minor"]) == (109990, 110020, -1200, 1800)
    assert p["realized_pnl_minor"] == 1800


def test_mae_mfe_of_a_short_use_the_ask_including_the_opening_and_closing_ticks():
    # 0 sells 1 at t1's bid 110000; t1's ask 110030 is the highest ask while open (opening tick).
    # 1 closes at t3's ask 109980, the lowest (closing tick).  t4's ask 109000 is after the close.
    # mae 110030: 11000000 - 110030 x 100 = -3000; mfe 109980: 11000000 - 109980 x 100 = 2000.
    data = ticks([(1, 110000, 110030), (2, 110000, 110010), (3, 109970, 109980), (4, 108990, 109000)])
    o = orders({"t": 0.5, "side": "sell", "qty": 1}, {"t": 2.5, "action": "close", "ref": 0})
    res = run(data, o)
    p = position(res, 0)
    assert (p["mae_ticks"], p["mfe_ticks"], p["mae_minor"], p["mfe_minor"]) == (110030, 109980, -3000, 2000)
    assert p["realized_pnl_minor"] == 2000


def test_mae_of_a_stopped_long_includes_the_gap_tick_that_closed_it():
    # Realistic: buy at 110002 with sl 109990; t2 110004 (the best bid); t3 gaps to 109900 and the
    # stop fills there.  mae 109900: -10200; mfe 110004: 200; P&L -10200.
    data = ticks([(1, 110000, 110002), (2, 110004, 110006), (3, 109900, 109902), (4, 110100, 110102)])
    res = run(data, orders({"t": 0.5, "side": "buy", "qty": 1, "sl": 109990}), execution={"model": "realistic"})
    p = position(res, 0)
    assert (p["mae_ticks"], p["mfe_ticks"], p["mae_minor"], p["mfe_minor"]) == (109900, 110004, -10200, 200)
    assert (p["exit_reason"], p["realized_pnl_minor"]) == ("stop_loss", -10200)


def test_exit_reasons_signal_stop_loss_take_profit_trailing_end_of_data_and_expiry():
    # Hedging, close at end, every entry on t1 (ask 110002).
    #   0 closed by 6 at t2's bid 110010: signal, +800.
    #   1 sl 109990: t5 bid 109990 -> stop_loss, -1200.
    #   2 tp 110020: t4 bid 110020 -> take_profit, +1800.
    #   3 trail_ticks 5: t1 stop 109995, t2 hwm 110010 -> 110005; t3 bid 110004 -> trailing at
    #     110005, +300.
    #   4 no stops: closed at the end on t6's bid 110001 by end of data (order_id -1), -100.
    #   5 buy limit 109000, GTD expire 3.5: expires on t4 (reason expiry).
    data = ticks([(1, 110000, 110002), (2, 110010, 110012), (3, 110004, 110006), (4, 110020, 110022),
                  (5, 109990, 109992), (6, 110001, 110003)])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 0.5, "side": "buy", "qty": 1, "sl": 109990},
               {"t": 0.5, "side": "buy", "qty": 1, "tp": 110020},
               {"t": 0.5, "side": "buy", "qty": 1, "trail_ticks": 5}, {"t": 0.5, "side": "buy", "qty": 1},
               {"t": 0.5, "side": "buy", "qty": 1, "type": "limit", "price": 109000, "tif": "gtd", "expire": 3.5},
               {"t": 1.5, "action": "close", "ref": 0})
    res = run(data, o, run={"account_mode": "hedging", "close_at_end": True})
    assert fills(res)[5:] == [(6, 0, "sell", "close", "signal", 100, 110010),
                              (-1, 3, "sell", "close", "trailing", 100, 110005),
                              (-1, 2, "sell", "close", "take_profit", 100, 110020),
                              (-1, 1, "sell", "close", "stop_loss", 100, 109990),
                              (-1, 4, "sell", "close", "end_of_data", 100, 110001)]
    assert fill_secs(res)[5:] == [2, 3, 4, 5, 6]
    got = {i: (position(res, i)["exit_reason"], position(res, i)["realized_pnl_minor"]) for i in range(5)}
    assert got == {0: ("signal", 800), 1: ("stop_loss", -1200), 2: ("take_profit", 1800), 3: ("trailing", 300),
                   4: ("end_of_data", -100)}
    o5 = res.orders.filter(pl.col("order_id") == 5).to_dicts()[0]
    assert (o5["status"], o5["reason"]) == ("expired", "expiry")


def test_swap_time_and_swap_days_of_the_instrument():
    # Points, swap_long -2.5 (250 minor a lot a day), rollover 10:00 UTC, multipliers
    # [0, 2, 0, 0, 0, 0, 0] (only Tuesday, twice).  Long 1 lot from Monday 09:00 to Wednesday 11:00:
    # instants Mon 10:00 (x0), Tue 10:00 (x2), Wed 10:00 (x0) -> 500.  Position 1, opened Tuesday
    # 11:00 (after Tuesday's 10:00), crosses only Wed 10:00 (x0): 0.  (With the defaults, 22:00
    # and [1, 1, 3, ...], position 1 would pay 250 for Tue 22:00.)
    data = ticks([(9 * H, 110000, 110002), (11 * H, 110000, 110002), (DAY + 9 * H, 110000, 110002),
                  (DAY + 11 * H, 110000, 110002), (2 * DAY + 11 * H, 110000, 110002)])
    o = orders({"t": 8 * H, "side": "buy", "qty": 1}, {"t": DAY + 10.5 * H, "side": "buy", "qty": 1})
    res = run(data, o, run={"account_mode": "hedging"},
              instruments=_eur(swap_mode="points", swap_long="-2.5", swap_time="10:00",
                               swap_days=[0, 2, 0, 0, 0, 0, 0]))
    assert (position(res, 0)["swap_minor"], position(res, 1)["swap_minor"]) == (500, 0)


def test_funding_instants_from_funding_time_and_a_negative_rate():
    # Hedging; funding_rate -0.0001 every 8h from 04:00: instants 04:00, 12:00, 20:00.  Quote
    # 110000/110004.  Long and short 1 lot from 01:00 to the end (21:00): three instants.  A
    # negative rate: the long receives R(11_000_000 x 0.0001) = 1100 each -> -3300; the short pays
    # R(11_000_400 x 0.0001) = R(1100.04) = 1100 each -> 3300.
    data = ticks([(1 * H, 110000, 110004), (5 * H, 110000, 110004), (13 * H, 110000, 110004),
                  (19 * H, 110000, 110004), (21 * H, 110000, 110004)])
    o = orders({"t": 0.5 * H, "side": "buy", "qty": 1}, {"t": 0.5 * H, "side": "sell", "qty": 1})
    res = run(data, o, run={"account_mode": "hedging"},
              instruments=_eur(funding_rate="-0.0001", funding_interval="8h", funding_time="04:00"))
    assert (position(res, 0)["swap_minor"], position(res, 1)["swap_minor"]) == (-3300, 3300)
    assert res.summary["swap_minor"] == 0
