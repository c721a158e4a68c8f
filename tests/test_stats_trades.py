"""Trade statistics on a small positions log built by hand; every expected value worked out below.

Seven closed trades (money in cents; net = realized - commission - swap):

    trade side  symbol tag  open..close (s)  net   realized comm swap  MAE   MFE
    T1    long  EURUSD a       0..60         +300   350     50    0   -100   500
    T2    short EURUSD a      60..180        -100   -40     50   10   -200   100
    T3    long  EURUSD -     200..380        +200   250     50    0    -50   250
    T4    long  GBPUSD -     300..540        +100   150     50    0    -50   150
    T5    short GBPUSD -    1000..1300       -300  -250     50    0   -300     0
    T6    long  GBPUSD -    1300..1360          0    50     50    0    -10    90
    T7    short GBPUSD -    2000..2600       -100   -50     50    0   -100     0
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from backtestr.kernels.records import FILL, ORDER

from backtestr.analytics import stats
from tests.statlogs import position_records, write_run

T0 = 1_704_196_800 * 10**9  # 2024-01-02T12:00:00Z
S = 10**9
ROWS = [  # (side, symbol, open s, close s, net, swap, mae, mfe)
    (1, 0, 0, 60, 300, 0, -100, 500),
    (-1, 0, 60, 180, -100, 10, -200, 100),
    (1, 0, 200, 380, 200, 0, -50, 250),
    (1, 1, 300, 540, 100, 0, -50, 150),
    (-1, 1, 1000, 1300, -300, 0, -300, 0),
    (1, 1, 1300, 1360, 0, 0, -10, 90),
    (-1, 1, 2000, 2600, -100, 0, -100, 0),
]


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    pos = position_records([
        {"position_id": i, "side": side, "symbol": sym, "open_ts": T0 + a * S, "close_ts": T0 + b * S,
         "commission_minor": 50, "swap_minor": swap, "net": net, "mae_minor": mae, "mfe_minor": mfe}
        for i, (side, sym, a, b, net, swap, mae, mfe) in enumerate(ROWS)])
    orders = np.zeros(7, ORDER)
    orders["order_id"] = np.arange(7)
    fills = np.zeros(14, FILL)  # an open and a close per trade, 50 cents of commission over the two
    fills["commission_minor"] = 25
    folder = write_run(tmp_path_factory.mktemp("trades") / "run", positions=pos, orders=orders, fills=fills,
                       tags={0: "a", 1: "a"}, symbols=("EURUSD", "GBPUSD"), start=T0, end=T0 + 3000 * S)
    return stats(folder)


def test_counts_and_rates(st):
    assert (st["trades"], st["wins"], st["losses"], st["breakeven"]) == (7, 3, 3, 1)
    assert st["win_rate"] == pytest.approx(3 / 7)
    assert st["net_pnl"] == pytest.approx(1.00)  # 300-100+200+100-300+0-100 = 100 cents
    assert st["gross_profit"] == pytest.approx(6.00) and st["gross_loss"] == pytest.approx(5.00)
    assert st["profit_factor"] == pytest.approx(1.2)  # 600 / 500
    assert st["expectancy"] == pytest.approx(1 / 7)  # 1.00 over 7 trades
    assert st["avg_win"] == pytest.approx(2.00)  # 600 / 3 cents
    assert st["avg_loss"] == pytest.approx(-5 / 3)  # -500 / 3 cents
    assert st["payoff_ratio"] == pytest.approx(1.2)  # 200 / (500/3)
    assert st["best_trade"] == 3.00 and st["worst_trade"] == -3.00


def test_streaks_and_sqn(st):
    # signs in close order + - + + - 0 -: two wins in a row (T3, T4); the flat T6 ends the loss run
    assert st["max_win_streak"] == 2 and st["max_loss_streak"] == 1
    # x = 3,-1,2,1,-3,0,-1: mean 1/7, sum x^2 = 25, sample variance (25 - 7/49)/6 = 29/7;
    # SQN = sqrt(7) (1/7) / sqrt(29/7) = 1/sqrt(29)
    assert st["sqn"] == pytest.approx(1 / math.sqrt(29), rel=1e-12)


def test_durations_and_exposure(st):
    # durations 60,120,180,240,300,60,600 s
    assert st["avg_duration_s"] == pytest.approx(1560 / 7)
    assert st["median_duration_s"] == 180 and st["max_duration_s"] == 600
    # open spans united: [0,180] [200,540] [1000,1360] [2000,2600] = 180+340+360+600 = 1480 of 3000 s
    assert st["exposure_pct"] == pytest.approx(1480 / 3000 * 100)


def test_excursion_efficiency(st):
    # entry f/(f-a): 5/6, 1/3, 5/6, 3/4, 0, 0.9, 0 -> sum 3.65
    assert st["entry_efficiency"] == pytest.approx(3.65 / 7)
    # exit (g-a)/(f-a): 450/600, 160/300, 300/300, 200/200, 50/300, 60/100, 50/100 -> sum 4.55
    assert st["exit_efficiency"] == pytest.approx(4.55 / 7)
    # total g/(f-a): 350/600, -40/300, 250/300, 150/200, -250/300, 50/100, -50/100 -> sum 1.2
    assert st["total_efficiency"] == pytest.approx(1.2 / 7)


def test_costs(st):
    assert st["commission"] == pytest.approx(3.50)  # 14 fills x 25 cents
    assert st["swap_and_funding"] == pytest.approx(0.10)  # T2's 10 cents
    assert st["swap"] is None and "events log" in st.notes["swap"]  # no events log to split them
    assert st["slippage"] is None and "mid" in st.notes["slippage"]


def test_breakdowns(st):
    sym = {r["symbol"]: r for r in st.by_symbol.to_dicts()}
    assert sym["EURUSD"]["trades"] == 3 and sym["EURUSD"]["net_pnl"] == pytest.approx(4.00)  # 300-100+200
    assert sym["EURUSD"]["win_rate"] == pytest.approx(2 / 3)
    assert sym["EURUSD"]["profit_factor"] == pytest.approx(5.0)  # 500 / 100
    assert sym["GBPUSD"]["net_pnl"] == pytest.approx(-3.00)  # 100-300+0-100
    assert sym["GBPUSD"]["profit_factor"] == pytest.approx(0.25)  # 100 / 400
    side = {r["side"]: r for r in st.by_side.to_dicts()}
    assert side["long"]["trades"] == 4 and side["long"]["net_pnl"] == pytest.approx(6.00)
    assert side["long"]["profit_factor"] is None  # no losing long trade
    assert side["short"]["net_pnl"] == pytest.approx(-5.00) and side["short"]["profit_factor"] == 0.0
    tag = {r["tag"]: r for r in st.by_tag.to_dicts()}
    assert tag["a"]["trades"] == 2 and tag["a"]["net_pnl"] == pytest.approx(2.00)  # T1, T2
    assert tag["(none)"]["trades"] == 5 and tag["(none)"]["net_pnl"] == pytest.approx(-1.00)


def test_no_equity_log_marks_the_return_figures(st):
    assert st["sharpe"] is None and "no equity rows" in st.notes["sharpe"]
