"""``data synth`` crosses (backtestr/synth_fx.py): consistent with their legs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from backtestr.synth import synth_symbol_day, write_archive

DAY = dt.date(2024, 1, 2)  # a Tuesday: FX open all day


def _mid_gap(cross: str, legs: tuple[str, str], divide: bool, digits: int) -> tuple[float, int]:
    """Largest |cross mid - combined legs' mid| in cross ticks, and the cross's tick count.

    The legs' latest quotes at each cross tick are found here with numpy's searchsorted, not with
    the join the generator uses."""
    c = synth_symbol_day(cross, DAY, seed=5)
    fa, fb = (synth_symbol_day(s, DAY, seed=5) for s in legs)
    t = c["ts"].dt.epoch("ns").to_numpy()
    out = []
    for f in (fa, fb):
        ft = f["ts"].dt.epoch("ns").to_numpy()
        k = np.searchsorted(ft, t, side="right") - 1
        assert (k >= 0).all()
        out.append(((f["bid"].to_numpy() + f["ask"].to_numpy()) / 2)[k])
    want = out[0] / out[1] if divide else out[0] * out[1]
    got = (c["bid"].to_numpy() + c["ask"].to_numpy()) / 2
    return float(np.abs(got - want).max() * 10**digits), c.height


def test_eurgbp_is_eurusd_over_gbpusd_at_every_tick():
    gap, n = _mid_gap("EURGBP", ("EURUSD", "GBPUSD"), True, 5)
    assert n > 1000
    assert gap <= 1.0  # within a tick (whole-tick quotes around the exact mid; an odd spread adds 1/2)


def test_eurjpy_is_eurusd_times_usdjpy_at_every_tick():
    gap, n = _mid_gap("EURJPY", ("EURUSD", "USDJPY"), False, 3)
    assert n > 1000
    assert gap <= 1.0


def test_cross_quotes_are_on_the_grid_uncrossed_and_in_time_order():
    c = synth_symbol_day("GBPJPY", DAY, seed=5)
    bid, ask = c["bid"].to_numpy(), c["ask"].to_numpy()
    assert (ask > bid).all()
    assert np.allclose(np.rint(bid * 1000), bid * 1000, atol=1e-6)
    assert (np.diff(c["ts"].dt.epoch("ns").to_numpy()) > 0).all()


def test_archive_with_crosses_runs_converting_through_the_legs(tmp_path):
    import backtestr as bt

    info = write_archive(tmp_path, ["EURGBP", "EURUSD", "GBPUSD", "USDJPY"], 1, seed=3, start=DAY)
    assert set(info["symbols"]) == {"EURGBP", "EURUSD", "GBPUSD", "USDJPY"}
    first = pl.scan_parquet(tmp_path / "symbol=EURGBP" / "**" / "*.parquet").select(pl.col("ts").min()).collect()
    ts = first.item() + dt.timedelta(hours=1)
    orders = pl.DataFrame({"ts": [ts], "symbol": ["EURGBP"], "side": ["buy"], "qty": [1.0]})
    res = bt.run(tmp_path, orders=orders, config={"data": {"symbols": ["EURGBP"]}, "run": {"close_at_end": True}})
    s = res.summary
    assert s["fills"] == 2
    assert s["final_cash_minor"] == s["initial_cash_minor"] + s["realized_pnl_minor"] - s["commission_minor"]
