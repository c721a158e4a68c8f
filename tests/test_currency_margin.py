"""docs/currency.md §6: margin modes in the account currency at the live rate, and the
lowest margin level, worked by hand.

EURUSD (tests/rulekit.py): V = 1 minor unit per tick x lot step; 1 lot = 100 steps; a margin
rate m charges R(cost x V x m), cost = price in ticks x steps.
"""

from __future__ import annotations

from tests.rulekit import orders
from tests.test_currency import go, quotes


def _eur_hedge(hedged: str | None):
    data = quotes([(1, "EURUSD", "1.10000", "1.10002"), (2, "EURUSD", "1.10000", "1.10002"),
                   (3, "EURUSD", "1.10000", "1.10002")])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 1.5, "side": "sell", "qty": 0.4})
    inst = {"leverage": "100"}
    if hedged is not None:
        inst["margin_hedged"] = hedged
    return go(data, o, run={"account_mode": "hedging"}, instruments={"EURUSD": inst})


def test_hedged_margin_charges_the_larger_side_only_or_a_share_of_the_smaller():
    # long 1 lot at 1.10002: cost 110002 x 100 = 11 000 200 -> margin R(11 000 200 x 0.01) = 110 002;
    # short 0.4 lot at 1.10000: cost 110000 x 40 = 4 400 000 -> in full 44 000.
    # margin_hedged 1 (default): 154 002; 0: the larger side only, 110 002; 0.5: 110 002 + 22 000.
    assert _eur_hedge(None).summary["max_margin_used_minor"] == 154_002
    assert _eur_hedge("0").summary["max_margin_used_minor"] == 110_002
    assert _eur_hedge("0.5").summary["max_margin_used_minor"] == 132_002


def test_fixed_margin_per_lot_in_the_quote_currency_at_the_live_rate():
    # DE40 (quoted in EUR, lot step 0.1) in a USD account: EUR -> USD = mid(EURUSD).
    # 100 EUR per lot, 2 lots: 200 EUR x 1.10001 = 220.002 USD -> 22 000 minor; after EURUSD moves
    # to 1.20000/1.20002 (mid 1.20001): 240.002 USD -> 24 000. The index price does not matter.
    # max_margin_used is the largest after any fill (docs/risk.md §7): 22 000, the margin at the fill;
    # the 24 000 of the new rate shows in the lowest margin level below.
    data = quotes([(1, "EURUSD", "1.10000", "1.10002"), (2, "DE40", "18000.00", "18001.00"),
                   (3, "DE40", "18500.00", "18501.00"), (4, "EURUSD", "1.20000", "1.20002"),
                   (5, "DE40", "18500.00", "18501.00")])
    o = orders({"t": 1.5, "symbol": "DE40", "side": "buy", "qty": 2})
    res = go(data, o, instruments={"DE40": {"margin_per_lot": "100"}})
    assert res.summary["max_margin_used_minor"] == 22_000
    # equity at t=4: 10 000 000 + (18500.00 - 18001.00) x 2 = 998 EUR x 1.20001 = 1197.60998 USD
    # -> +119 761; the margin is 24 000 then: the lowest level, 10 119 761 / 24 000 (at t=2 it is
    # (10 000 000 - 220) / 22 000, the spread of 2 EUR x 1.10001 = 2.20002 USD lost; at t=3
    # 10 109 781 / 22 000, both higher)
    assert res.summary["min_margin_level_pct"] == round(10_119_761 / 24_000 * 100, 6)


def test_lowest_margin_level_reached():
    # EURUSD leverage 100: long 1 lot at 1.10002, margin 110 002. Equity: t=1 10 000 000 - 200 (the
    # spread); t=2 bid 1.05000: unrealized (105000 - 110002) x 100 = -500 200 -> 9 499 800 (the
    # lowest); t=3 bid 1.08000: 9 799 800; closed at t=4 (no margin after).
    data = quotes([(1, "EURUSD", "1.10000", "1.10002"), (2, "EURUSD", "1.05000", "1.05002"),
                   (3, "EURUSD", "1.08000", "1.08002"), (4, "EURUSD", "1.08000", "1.08002")])
    o = orders({"t": 0.5, "side": "buy", "qty": 1}, {"t": 3.5, "action": "close"})
    res = go(data, o, instruments={"EURUSD": {"leverage": "100"}})
    assert res.summary["min_margin_level_pct"] == round(9_499_800 / 110_002 * 100, 6)


def test_no_margin_used_gives_no_level():
    data = quotes([(1, "EURUSD", "1.10000", "1.10002"), (2, "EURUSD", "1.05000", "1.05002")])
    res = go(data, orders({"t": 0.5, "side": "buy", "qty": 1}))
    assert res.summary["min_margin_level_pct"] is None
