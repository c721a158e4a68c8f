"""Positions from a fills table (docs/fills.md): hand-worked cases, the replay of a
simulated run's own fills, the Decimal oracle (tests/oracle_fills.py) on random
scenarios, and bad input.

Units (tests/rulekit.py): EURUSD, tick 0.00001, lot step 0.01, contract 100 000,
USD account with 2 digits: one tick on one lot step is 1 minor unit (V = 1), one
tick on 1 lot (100 steps) is 100 minor. Prices are written in ticks (110002 is
1.10002). Times are seconds after Monday 2024-01-01 00:00 UTC. Initial cash
100 000 USD = 10 000 000 minor.
"""

from __future__ import annotations

import random
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backtestr as bt
from backtestr.cli import main
from backtestr.errors import OrdersError
from tests.oracle import OInstrument
from tests.oracle_fills import replay
from tests.rulekit import DAY, UTC, H, at, fill_secs, fills, position, px, ticks

CASH = 10_000_000


def fill_frame(*rows: tuple, **extra: list) -> pl.DataFrame:
    """``(sec, side, qty, price_ticks_or_float, fee[, symbol])`` rows -> a fills frame."""
    df = pl.DataFrame({
        "ts": pl.Series([at(r[0]) for r in rows], dtype=pl.Int64),
        "symbol": [r[5] if len(r) > 5 else "EURUSD" for r in rows],
        "side": [r[1] for r in rows],
        "qty": pl.Series([float(r[2]) for r in rows], dtype=pl.Float64),
        "price": pl.Series([px(r[3]) if isinstance(r[3], int) else r[3] for r in rows], dtype=pl.Float64),
        "fee": pl.Series([float(r[4]) for r in rows], dtype=pl.Float64),
        **extra,
    })
    return df.with_columns(pl.col("ts").cast(UTC))


def replay_run(data: pl.DataFrame, f: pl.DataFrame, **sections) -> bt.Result:
    return bt.run(data, fills=f, config=dict(sections))


# --------------------------------------------------------------------------------- hand-worked


def test_long_partial_close_close_prices_fees_pnl_and_excursions():
    # Ticks (bid/ask): 10 s 110000/110002, 20 s 110010/110012, 30 s 109990/109992, 40 s 110020/110022.
    # Fills: buy 1 lot at 110002 fee 1.50 (10 s); sell 0.4 at 109995 fee 0.25 (25 s, booked on the
    # 30 s tick: the first tick at or after it); sell 0.6 at 110020 fee 0.35 (40 s).
    #   partial close: removed cost R(110002*100 * 40/100) = 4 400 080; 109995*40 = 4 399 800
    #                  -> P&L -280 minor.
    #   close: the rest of the cost 110002*60 = 6 600 120; 110020*60 = 6 601 200 -> +1080.
    # Cash 10 000 000 - 150 - 280 - 25 + 1080 - 35 = 10 000 590.
    # MAE/MFE: bids over the 10..40 s ticks 110000, 110010, 109990, 110020 (entry 110002 on 100
    # steps): worst 109990 -> (109990 - 110002) * 100 = -1200; best 110020 -> +1800.
    # The engine's commission model is not used: 7 USD per lot would give other fees.
    data = ticks([(10, 110000, 110002), (20, 110010, 110012), (30, 109990, 109992), (40, 110020, 110022)])
    f = fill_frame((10, "buy", 1, 110002, 1.5), (25, "sell", 0.4, 109995, 0.25), (40, "sell", 0.6, 110020, 0.35))
    res = replay_run(data, f, commission={"per_lot": "7"})
    assert fills(res) == [(0, 0, "buy", "open", "signal", 100, 110002), (1, 0, "sell", "reduce", "signal", 40, 109995),
                          (2, 0, "sell", "close", "signal", 60, 110020)]
    assert res.fills.get_column("commission_minor").to_list() == [150, 25, 35]
    assert res.fills.get_column("realized_pnl_minor").to_list() == [0, -280, 1080]
    assert res.fills.get_column("cash_after_minor").to_list() == [CASH - 150, CASH - 455, CASH + 590]
    assert fill_secs(res) == [10, 30, 40]  # booked at the tick: the given ts stays in the orders log
    assert res.orders.sort("order_id").get_column("ts").dt.second().to_list() == [10, 25, 40]
    p = position(res, 0)
    assert (p["mae_ticks"], p["mfe_ticks"], p["mae_minor"], p["mfe_minor"]) == (109990, 110020, -1200, 1800)
    assert (p["realized_pnl_minor"], p["commission_minor"], p["exit_reason"]) == (800, 210, "signal")
    s = res.summary
    assert (s["final_cash_minor"], s["final_equity_minor"], s["fills"], s["orders_filled"]) == (CASH + 590,
                                                                                                 CASH + 590, 3, 3)


def test_fee_rounds_once_to_the_minor_unit_ties_to_even_and_a_negative_fee_is_a_rebate():
    # Fees as written: 0.025 -> 2.5 cents -> 2 (tie to even); 0.035 -> 3.5 -> 4; 0.0351 -> 4;
    # -0.10 (a rebate) -> -10 and cash grows by it. No P&L: bought and sold at 110002.
    data = ticks([(10, 110000, 110002), (20, 110000, 110002)])
    f = fill_frame((10, "buy", 0.5, 110002, 0.025), (10, "buy", 0.5, 110002, 0.035),
                   (20, "sell", 0.5, 110002, 0.0351), (20, "sell", 0.5, 110002, -0.10))
    res = replay_run(data, f)
    assert res.fills.get_column("commission_minor").to_list() == [2, 4, 4, -10]
    assert res.summary["final_cash_minor"] == CASH - 2 - 4 - 4 + 10


def test_netting_reversal_splits_the_given_fee_pro_rata():
    # Long 0.3 at 110002, then sell 0.5 at 110010 with fee 1.00: closes 0.3 (P&L (110010-110002)*30
    # = +240) and opens a short of 0.2 (a new position, parent 0). Fee split: close part
    # R(100 * 30/50) = 60, open part 40.
    data = ticks([(10, 110000, 110002), (20, 110010, 110012)])
    res = replay_run(data, fill_frame((10, "buy", 0.3, 110002, 0), (20, "sell", 0.5, 110010, 1)))
    assert fills(res, ("order_id", "position_id", "effect", "qty_steps", "commission_minor",
                       "realized_pnl_minor")) == [(0, 0, "open", 30, 0, 0), (1, 0, "close", 30, 60, 240),
                                                  (1, 1, "open", 20, 40, 0)]
    assert position(res, 1)["parent_id"] == 0


def test_hedging_fills_name_their_position():
    # Hedging: positions "A" (long 1 lot at 110002) and "B" (short 0.5 at 110000) at 10 s. At 20 s a
    # sell of 0.5 for A reduces A (P&L (110010-110002)*50 = +400), and a buy of 0.5 for B closes B
    # (P&L (110000-110012)*50 = -600). Position ids are the ids of the fills that opened them (0
    # and 1). A later fill for "B" after B closed opens a new position B (id 4).
    data = ticks([(10, 110000, 110002), (20, 110010, 110012), (30, 110010, 110012)])
    f = fill_frame((10, "buy", 1, 110002, 0), (10, "sell", 0.5, 110000, 0), (20, "sell", 0.5, 110010, 0),
                   (20, "buy", 0.5, 110012, 0), (30, "sell", 0.2, 110010, 0),
                   position=["A", "B", "A", "B", "B"])
    res = replay_run(data, f, run={"account_mode": "hedging"})
    assert fills(res, ("order_id", "position_id", "effect", "qty_steps", "realized_pnl_minor")) == [
        (0, 0, "open", 100, 0), (1, 1, "open", 50, 0), (2, 0, "reduce", 50, 400), (3, 1, "close", 50, -600),
        (4, 4, "open", 20, 0)]
    assert position(res, 0)["qty_steps"] == 50 and position(res, 0)["is_open"] == 1
    assert res.summary["final_cash_minor"] == CASH - 200
    assert res.orders.sort("order_id").get_column("position").to_list() == ["A", "B", "A", "B", "B"]  # carried


def test_hedging_refuses_a_missing_position_column_and_a_fill_closing_more_than_its_position():
    data = ticks([(10, 110000, 110002), (20, 110010, 110012)])
    with pytest.raises(OrdersError, match="missing column position"):
        replay_run(data, fill_frame((10, "buy", 1, 110002, 0)), run={"account_mode": "hedging"})
    f = fill_frame((10, "buy", 1, 110002, 0), (20, "sell", 1.5, 110010, 0), position=[7, 7])
    with pytest.raises(OrdersError, match=r"fills frame: row 2: qty 1.5 closes more than position 7 holds then "
                                          r"\(100 lot steps, opened at row 1\)"):
        replay_run(data, f, run={"account_mode": "hedging"})


def test_swap_is_charged_across_a_rollover_as_for_a_simulated_position():
    # swap_long -2.5 points per lot per day: one point on one lot is 100 minor, so 250 per rollover
    # (x1 on Monday 22:00). Bought 1 lot Monday 21:00, sold Tuesday 12:00 at the same price: the
    # position was open across one rollover -> swap 250; cash 10 000 000 - 250.
    data = ticks([(21 * H, 110000, 110002), (23 * H, 110000, 110002), (DAY + 12 * H, 110002, 110004)])
    f = fill_frame((21 * H, "buy", 1, 110002, 0), (DAY + 12 * H, "sell", 1, 110002, 0))
    res = replay_run(data, f, instruments={"EURUSD": {"swap_mode": "points", "swap_long": "-2.5"}})
    assert position(res, 0)["swap_minor"] == 250
    assert res.summary["swap_minor"] == 250 and res.summary["final_cash_minor"] == CASH - 250


def test_open_position_at_the_end_is_marked_not_closed_and_no_stop_out():
    # 10 lots long with leverage 100: margin 110002*1000*... equity falls far below the 50 % stop-out
    # level, yet a replay makes no fills of its own: the position stays open, the margin call is
    # flagged (event and count). Unrealized at the end: (100000 - 110002) * 1000 = -10 002 000
    # minor: equity -2000 minor.
    data = ticks([(10, 110000, 110002), (20, 100000, 100002)])
    res = replay_run(data, fill_frame((10, "buy", 10, 110002, 0)), instruments={"EURUSD": {"leverage": "100"}})
    assert res.fills.height == 1 and res.summary["positions_open"] == 1
    assert res.summary["stop_outs"] == 0 and res.summary["margin_calls"] == 1
    assert res.summary["final_equity_minor"] == CASH - 10_002_000


# ------------------------------------------------------------------------- replaying a run's fills


def _walk(n: int, seed: int, symbols: tuple[str, ...] = ("EURUSD", "GBPUSD")) -> pl.DataFrame:
    """``n`` ticks per symbol, one every 7 s (the second symbol 3 s later), a random walk, spread 1-3."""
    rng = random.Random(seed)
    rows = []
    for k, s in enumerate(symbols):
        mid = 110000 + 20000 * k
        for i in range(n):
            mid += rng.randint(-4, 4)
            rows.append((i * 7 + 3 * k + 3600 * 20, mid, mid + rng.randint(1, 3), s))
    rows.sort()
    return ticks(rows)


def _orders(seed: int, n: int) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        t = 3600 * 20 + rng.randint(0, 7 * 190)
        sym = rng.choice(("EURUSD", "GBPUSD"))
        side = rng.choice(("buy", "sell"))
        qty = rng.randint(1, 80) / 100
        kind = rng.random()
        r = {"ts": at(t), "symbol": sym, "side": side, "qty": qty, "type": "market", "price": None,
             "sl_ticks": None, "tp_ticks": None}
        if kind < 0.3:
            r["sl_ticks"], r["tp_ticks"] = rng.randint(3, 15), rng.randint(3, 15)
        elif kind < 0.5:
            base = 110000 + (20000 if sym == "GBPUSD" else 0)
            r["type"], r["price"] = "limit", px(base + rng.randint(-10, 10))
        rows.append(r)
    return pl.DataFrame(rows, schema={"ts": pl.Int64, "symbol": pl.String, "side": pl.String, "qty": pl.Float64,
                                      "type": pl.String, "price": pl.Float64, "sl_ticks": pl.Int64,
                                      "tp_ticks": pl.Int64}).with_columns(pl.col("ts").cast(UTC))


def _as_fills(res: bt.Result, hedging: bool) -> pl.DataFrame:
    """A run's fills log as a fills table: id = fill id, fee = its commission."""
    f = res.fills.sort("fill_id")
    cols = [pl.col("fill_id").alias("id"), "ts", pl.col("symbol").cast(pl.String), pl.col("side").cast(pl.String),
            "qty", "price", pl.col("commission").alias("fee")]
    if hedging:
        cols.append(pl.col("position_id").alias("position"))
    return f.select(cols)


@pytest.mark.parametrize("mode", ["netting", "hedging"])
def test_replaying_a_runs_fills_reproduces_its_positions_pnl_and_equity(mode):
    # A simulated run (market and limit orders, stop-losses and take-profits, commission, swap,
    # equity on every tick); its fills log replayed must give the same fills (but the reasons: a
    # replayed fill is a signal), the same positions (by opening order), cash and equity on every
    # tick. The run does not close at the end (its end-of-data fills would be booked on the last
    # tick, not after it).
    data = _walk(200, seed=5)
    cfg = {"run": {"account_mode": mode, "close_at_end": False, "log_level": "ticks"},
           "commission": {"per_lot": "3.5", "fraction": "0.00001"},
           "instruments": {"EURUSD": {"swap_mode": "points", "swap_long": "-2.5", "swap_short": "1.3"}}}
    sim = bt.run(data, orders=_orders(11, 60), config=cfg)
    assert sim.fills.height > 40 and sim.positions.height > 10
    assert set(sim.fills.get_column("reason").cast(pl.String)) >= {"signal", "stop_loss", "take_profit"}
    rep = bt.run(data, fills=_as_fills(sim, mode == "hedging"), config=cfg)
    keys = ["ts", "symbol", "side", "effect", "qty_steps", "price_ticks", "commission_minor", "realized_pnl_minor",
            "cash_after_minor"]
    assert rep.fills.sort("fill_id").select(keys).equals(sim.fills.sort("fill_id").select(keys))
    pkeys = ["symbol", "side", "is_open", "qty_steps", "max_qty_steps", "cost", "entry_value", "entry_steps",
             "exit_value", "exit_steps", "open_ts", "close_ts", "realized_pnl_minor", "commission_minor",
             "swap_minor", "unrealized_pnl_minor", "mae_ticks", "mfe_ticks", "mae_minor", "mfe_minor", "n_fills"]
    by_open = ["open_ts", "symbol", "side", "entry_value"]
    assert rep.positions.sort(by_open).select(pkeys).equals(sim.positions.sort(by_open).select(pkeys))
    assert rep.equity.equals(sim.equity)
    for k in ("final_cash_minor", "final_equity_minor", "realized_pnl_minor", "commission_minor", "swap_minor",
              "max_drawdown_minor"):
        assert rep.summary[k] == sim.summary[k], k


# ------------------------------------------------------------------------- the Decimal oracle

_EUR = OInstrument("EURUSD", Decimal("0.00001"), Decimal("0.01"), Decimal(100000))
_GBP = OInstrument("GBPUSD", Decimal("0.00001"), Decimal("0.01"), Decimal(100000))


@st.composite
def _scenario(draw):
    n = draw(st.integers(2, 25))
    tick_rows, mids = [], {"EURUSD": 110000, "GBPUSD": 130000}
    t = 0
    for _ in range(n):
        t += draw(st.integers(1, 5))
        sym = draw(st.sampled_from(("EURUSD", "GBPUSD")))
        mids[sym] += draw(st.integers(-6, 6))
        tick_rows.append((t, mids[sym], mids[sym] + draw(st.integers(0, 3)), sym))
    last = {s: max((r[0] for r in tick_rows if r[3] == s), default=-1) for s in mids}
    have = [s for s in mids if last[s] >= 0]
    fl = []
    for _ in range(draw(st.integers(1, 12))):
        sym = draw(st.sampled_from(have))
        fl.append({"ts": draw(st.integers(tick_rows[0][0], last[sym])), "symbol": sym, "side": draw(st.sampled_from(("buy", "sell"))),
                   "qty": draw(st.integers(1, 300)), "price": mids[sym] + draw(st.integers(-40, 40)),
                   "fee": draw(st.integers(-50, 3000))})
    return tick_rows, fl


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenario())
def test_replay_matches_the_decimal_oracle(sc):
    tick_rows, fl = sc
    data = ticks(tick_rows)
    frame = pl.DataFrame({
        "ts": pl.Series([at(f["ts"]) for f in fl], dtype=pl.Int64), "symbol": [f["symbol"] for f in fl],
        "side": [f["side"] for f in fl], "qty": [f["qty"] / 100 for f in fl],
        "price": [px(f["price"]) for f in fl], "fee": [f["fee"] / 1000 for f in fl],  # thousandths: rounded
    }).with_columns(pl.col("ts").cast(UTC))
    res = bt.run(data, fills=frame, config={"run": {"log_level": "ticks"}})
    tk = [(at(r[0]), r[3], Decimal(r[1]) * _EUR.tick_size, Decimal(r[2]) * _EUR.tick_size) for r in tick_rows]
    ofl = [{"ts": at(f["ts"]), "symbol": f["symbol"], "side": f["side"], "qty": Decimal(f["qty"]) / 100,
            "price": Decimal(f["price"]) * _EUR.tick_size, "fee": str(Decimal(f["fee"]) / 1000)} for f in fl]
    ref = replay(tk, ofl, {"EURUSD": _EUR, "GBPUSD": _GBP}, Decimal(100000))
    keys = ("order_id", "position_id", "side", "qty_steps", "price_ticks", "commission_minor",
            "realized_pnl_minor", "cash_after_minor")
    got = [tuple(r) for r in res.fills.sort("fill_id").with_columns(pl.col("side_code").alias("side"))
           .select(keys).iter_rows()]
    assert got == [tuple(f[k] for k in keys) for f in ref.fills]
    assert res.summary["final_equity_minor"] == ref.final_equity_minor
    assert res.summary["max_drawdown_minor"] == ref.max_drawdown_minor
    assert res.equity.get_column("equity_minor").to_list() == [e for _, e in ref.equity]
    pos = res.positions.sort("position_id")
    assert pos.select("position_id", "parent_id", "realized_pnl_minor", "commission_minor",
                      "qty_steps").rows() == [(p["position_id"], p["parent_id"], p["realized_pnl_minor"],
                                               p["commission_minor"], p["qty_steps"]) for p in ref.positions]


# ------------------------------------------------------------------------------- bad input

_DATA = ticks([(10, 110000, 110002), (20, 110010, 110012)])


@pytest.mark.parametrize("change, message", [
    (lambda f: f.with_columns(pl.lit("USDXYZ").alias("symbol")),
     r"fills frame: row 1: unknown symbol 'USDXYZ' \(this run has: EURUSD\)"),
    (lambda f: f.drop("fee"), r"fills frame: missing column\(s\) fee \(a fills table has ts, symbol, side, qty, "
                              r"price, fee; have: ts, symbol, side, qty, price\)"),
    (lambda f: f.with_columns(pl.Series("qty", [1.0, -0.5])), r"fills frame: row 2: qty -0.5 must be a positive "
                                                              r"number \(EURUSD\)"),
    (lambda f: f.with_columns(pl.Series("price", [1.10002, 1.100105])),
     r"fills frame: row 2: price 1.100105 is not on the tick grid of EURUSD \(tick size 0.00001\)"),
    (lambda f: f.with_columns(pl.Series("fee", [1.0, None])),
     r"fills frame: row 2: fee is missing \(give 0 for a fill without a fee\)"),
    (lambda f: f.with_columns(pl.Series("side", ["buy", "hold"])),
     r"fills frame: row 2: side 'hold' is not one of buy, sell"),
])
def test_bad_rows_are_refused_naming_frame_row_and_column(change, message):
    f = change(fill_frame((10, "buy", 1, 110002, 1), (20, "sell", 1, 110010, 1)))
    with pytest.raises(OrdersError, match=message):
        replay_run(_DATA, f)


def test_a_fill_before_the_data_or_after_its_symbols_last_tick_is_refused():
    f = fill_frame((5, "buy", 1, 110002, 1), (20, "sell", 1, 110010, 1))
    with pytest.raises(OrdersError, match=r"fills frame: row 1: the fill at 2024-01-01T00:00:05.000000000Z "
                                          r"\(EURUSD\) is before the first tick of the data"):
        replay_run(_DATA, f)
    f = fill_frame((10, "buy", 1, 110002, 1), (25, "sell", 1, 110010, 1))
    with pytest.raises(OrdersError, match=r"fills frame: row 2: no tick of EURUSD at or after the fill's time "
                                          r"2024-01-01T00:00:25.000000000Z"):
        replay_run(_DATA, f)


def test_fills_is_given_alone():
    with pytest.raises(bt.ConfigError, match="fills replays an account's executions: give it alone"):
        bt.run(_DATA, fills=fill_frame((10, "buy", 1, 110002, 1)), orders=pl.DataFrame({"ts": [], "symbol": []}))


def test_cli_replays_a_csv_file_and_names_a_bad_row(tmp_path, capsys):
    data_path = tmp_path / "ticks.parquet"
    _DATA.write_parquet(data_path)
    csv = tmp_path / "fills.csv"
    csv.write_text("ts,symbol,side,qty,price,fee\n10,EURUSD,buy,1,1.10002,1.5\n20,EURUSD,sell,1,1.10010,1.5\n")
    out = tmp_path / "out"
    argv = ["run", "--data", str(data_path), "--fills", str(csv), "--out", str(out), "--quiet"]
    rc = main([*argv, "--ts-unit", "s"])
    assert rc != 0  # the integer times are seconds of 1970: before the data
    assert "is before the first tick of the data" in capsys.readouterr().err
    base = at(0) // 10**9
    csv.write_text(f"ts,symbol,side,qty,price,fee\n{base + 10},EURUSD,buy,1,1.10002,1.5\n"
                   f"{base + 20},EURUSD,sell,1,1.10010,1.5\n")
    assert main([*argv, "--ts-unit", "s"]) == 0
    f = pl.read_parquet(out / "fills.parquet")
    assert f.get_column("commission_minor").to_list() == [150, 150]
    assert f.get_column("realized_pnl_minor").to_list() == [0, 800]
    csv.write_text(f"ts,symbol,side,qty,price,fee\n{base + 10},EURUSD,buy,1,1.100025,1.5\n")
    assert main([*argv, "--ts-unit", "s", "--force"]) != 0
    err = capsys.readouterr().err
    assert f"{csv}: row 1: price 1.100025 is not on the tick grid of EURUSD" in err
    assert "Traceback" not in err
    # nothing half written: the earlier outputs stand
    assert pl.read_parquet(out / "fills.parquet").height == 2
    assert np.array_equal(pl.read_parquet(out / "fills.parquet").get_column("price_ticks").to_numpy(),
                          np.array([110002, 110010]))


def test_a_converted_symbol_is_valued_at_the_live_rate_and_refused_before_its_legs_quote():
    # EURGBP in a USD account converts through GBPUSD (docs/currency.md). Ticks: 1 s EURGBP
    # 0.85000/0.85002 (GBPUSD not quoted yet), 2 s GBPUSD 1.25000/1.25002, 3 s EURGBP, 4 s GBPUSD
    # 1.30000/1.30002 (mid 1.30001), 5 s EURGBP 0.86000/0.86002.
    # Buy 1 lot at 0.85002 (3 s), sell it at 0.86000 (5 s): (0.86000 - 0.85002) x 100 000 = 998 GBP
    # x 1.30001 = 1297.40998 USD -> 129 741 minor.
    from tests.test_currency import EURGBP_DATA, quotes

    data = quotes(EURGBP_DATA)

    def frame(*rows):
        return pl.DataFrame({"ts": pl.Series([at(r[0]) for r in rows], dtype=pl.Int64), "symbol": "EURGBP",
                             "side": [r[1] for r in rows], "qty": 1.0, "price": [r[2] for r in rows],
                             "fee": 0.0}).with_columns(pl.col("ts").cast(UTC))

    res = replay_run(data, frame((3, "buy", 0.85002), (5, "sell", 0.86)))
    assert res.fills.get_column("realized_pnl_minor").to_list() == [0, 129_741]
    assert res.summary["final_cash_minor"] == CASH + 129_741
    with pytest.raises(OrdersError, match=r"fills frame: row 1: the fill at 2024-01-01T00:00:01.000000000Z could "
                                          r"not be booked: a currency conversion leg of EURGBP had no quote yet"):
        replay_run(data, frame((1, "buy", 0.85002), (5, "sell", 0.86)))
