"""Plain-Python strategies (docs/strategies.md §8): the same context, actions and rules as
compiled ones.

The expected values come from the compiled strategies of tests/test_strategy.py
(themselves checked against a Polars signals table and table replays): a Python
twin of each, written with the Python helpers, must give identical orders,
fills, positions and events. Error messages are checked against times the
strategy recorded itself.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest
from backtestr.kernels import engine
from backtestr.kernels.records import K_TICKS, OT_LIMIT, OT_STOP
from numba import njit

import backtestr as bt
from backtestr.cli import main
from backtestr.errors import ConfigError
from backtestr.examples.sma_cross import SmaCross
from backtestr.strategies import PyStrategy, Strategy, StrategyError
from backtestr.strategies import context as cc
from backtestr.strategies.pycontext import PyCtx, bar_close, buy, n_bars, net_qty, sell
from tests.strategy_kit import python_bars, ticks_frame
from tests.test_strategy import ROW, Busy, Recorder, Rejects, TickFlip


class PySma(PyStrategy):
    """SmaCross (backtestr/examples/sma_cross.py) in plain Python, with the free functions."""

    name = "py_sma"
    params = {"fast": 10, "slow": 30, "qty": 1}
    state = {"sign": (np.int64, 64)}
    timeframes = ("1m",)
    keep = 200

    def on_bar(self, ctx, s, tf):
        p = ctx.params[0]
        st = ctx.state[0]
        if n_bars(ctx, tf, s) < p.slow:
            return
        fast = sum(bar_close(ctx, tf, s, k) for k in range(p.fast))
        slow = sum(bar_close(ctx, tf, s, k) for k in range(p.slow))
        d = fast * p.slow - slow * p.fast
        sign = 1 if d > 0 else (-1 if d < 0 else 0)
        prev = st.sign[s]
        st.sign[s] = sign
        if prev == 0 or sign == 0 or sign == prev:
            return
        delta = p.qty * sign - net_qty(ctx, s)
        if delta > 0:
            buy(ctx, s, delta)
        elif delta < 0:
            sell(ctx, s, -delta)


def _fills(res) -> pl.DataFrame:
    return res.fills.select("ts", "symbol", "side", "qty_steps", "price_ticks", "effect", "realized_pnl_minor",
                            "cash_after_minor")


def test_python_sma_gives_the_fills_of_the_compiled_one():
    df = ticks_frame(40_000, seed=11)
    prm = {"fast": 5, "slow": 20, "qty": 100}
    ref = bt.run(df, strategy=SmaCross, params=prm)
    res = bt.run(df, strategy=PySma, params=prm)
    assert res.summary["fills"] == ref.summary["fills"] > 10
    assert _fills(res).equals(_fills(ref))
    assert res.summary["final_equity"] == ref.summary["final_equity"]
    assert res.strategy_orders.equals(ref.strategy_orders)
    assert res.strategy_state.dtype.names == ("sign",)
    assert (res.strategy_state[0]["sign"] == ref.strategy_state[0]["sign"]).all()
    assert np.abs(res.strategy_state[0]["sign"][:2]).sum() == 2  # both symbols had a sign at the end


class PyBusy(PyStrategy):
    """tests/test_strategy.py::Busy in plain Python, with the context's methods."""

    timeframes = ("1m",)
    keep = 2
    max_actions = 4
    params = {"seed": 7}

    def __init__(self):
        self.x, self.last, self.group = 0, [0, 0], 0

    def on_bar(self, ctx, s, tf):
        if self.x == 0:
            self.x = ctx.params.seed
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & 0x7FFFFFFFFFFFFFFF
        r = (self.x >> 33) % 9
        q = 1 + (self.x >> 20) % 3
        b, a = ctx.bid(s), ctx.ask(s)
        if r == 0:
            k = ctx.buy(s, q)
            ctx.set_stops(k, K_TICKS, 8, K_TICKS, 12)
        elif r == 1:
            ctx.sell(s, q)
        elif r == 2:
            self.last[s] = ctx.submit(s, 1, q, OT_LIMIT, b - 2, 0.0)
        elif r == 3:
            self.last[s] = ctx.submit(s, -1, q, OT_STOP, 0.0, b - 3)
        elif r == 4:
            self.group += 1
            k1 = ctx.submit(s, -1, q, OT_LIMIT, a + 4, 0.0)
            k2 = ctx.submit(s, -1, q, OT_STOP, 0.0, b - 4)
            ctx.set_oco(k1, self.group)
            ctx.set_oco(k2, self.group)
        elif r == 5:
            ctx.cancel(self.last[s])
        elif r == 6:
            ctx.modify(self.last[s], b - 1, 0.0, 0.0)
        elif r == 7:
            pid = ctx.oldest_position(s, 1 if ctx.net_qty(s) >= 0 else -1)
            if pid >= 0:
                ctx.close(pid, 0.0)
        else:
            ctx.close_symbol(s)


@pytest.mark.parametrize("mode", ["netting", "hedging"])
def test_every_action_kind_writes_the_rows_a_compiled_strategy_writes(mode):
    df = ticks_frame(30_000, seed=3)
    over = {"run.account_mode": mode, "run.log_level": "events"}
    ref = bt.run(df, strategy=Busy, overrides=over)
    res = bt.run(df, strategy=PyBusy, overrides={**over, "run.chunk_rows": 997})
    assert res.strategy_orders.height > 500  # the orders table grew many times under the Python side
    assert set(res.strategy_orders["action"]) == {"new", "modify", "cancel", "close"}
    assert res.strategy_orders.equals(ref.strategy_orders)
    assert res.orders.equals(ref.orders)
    assert res.fills.equals(ref.fills)
    assert res.positions.equals(ref.positions)
    assert res.events.equals(ref.events)


class PyRejects(PyStrategy):
    timeframes = ("1m",)

    def on_bar(self, ctx, s, tf):
        if getattr(self, "done", False):
            return
        self.done = True
        ctx.submit(s, 1, 1, OT_LIMIT, ctx.bid(s) - 0.5, 0.0)  # off the tick grid
        ctx.buy(s, 1.5)  # off the lot step
        ctx.cancel(10_000)  # no such order
        ctx.buy(s, 1)  # fine


def test_off_tick_off_step_and_unknown_refs_are_rejected_with_the_compiled_reasons():
    df = ticks_frame(2000, seed=1)
    res = bt.run(df, strategy=PyRejects)
    ref = bt.run(df, strategy=Rejects)
    o = res.orders.sort("order_id")
    assert o["reason"].cast(pl.String).to_list()[:3] == ["off_tick", "off_step", "unknown_ref"]
    assert o["status"].cast(pl.String).to_list() == ["rejected", "rejected", "rejected", "filled"]
    assert res.orders.equals(ref.orders)


class PyTickFlip(PyStrategy):
    """tests/test_strategy.py::TickFlip in plain Python: on_tick and on_fill."""

    params = {"every": 500}
    state = {"ticks": np.int64, "fill_calls": np.int64, "last_fill_ts": np.int64}

    def on_tick(self, ctx, s):
        st = ctx.state
        st.ticks += 1
        if st.ticks % ctx.params.every == 0:
            q = ctx.net_qty(s)
            if q > 0:
                ctx.sell(s, 2 * q)
            elif q < 0:
                ctx.buy(s, -2 * q)
            else:
                ctx.buy(s, 1)

    def on_fill(self, ctx, s):
        ctx.state.fill_calls += 1
        ctx.state.last_fill_ts = ctx.now()


def test_on_tick_and_on_fill_in_python_match_the_compiled_ones():
    df = ticks_frame(20_000, seed=9)
    over = {"run.chunk_rows": 1500}
    res = bt.run(df, strategy=PyTickFlip, overrides=over)
    ref = bt.run(df, strategy=TickFlip, overrides=over)
    st = res.strategy_state[0]
    assert st["ticks"] == df.height
    assert st["fill_calls"] == res.fills["ts"].unique().len() > 10
    assert res.strategy_state.tobytes() == ref.strategy_state.tobytes()
    assert res.fills.equals(ref.fills)


class PyRaiser(PyStrategy):
    name = "py_raiser"
    timeframes = ("1m",)
    params = {"at": 5}
    seen: list = []

    def on_bar(self, ctx, s, tf):
        PyRaiser.seen.append(ctx.now())
        ctx.buy(s, 1)  # written, then discarded with the failing call
        if len(PyRaiser.seen) == ctx.params.at:
            raise ValueError("boom")


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).isoformat()


def test_an_exception_names_strategy_callback_and_time_and_nothing_is_written(tmp_path, capsys):
    df = ticks_frame(3000, seed=2)
    out = tmp_path / "out"
    PyRaiser.seen = []
    with pytest.raises(StrategyError) as err:
        bt.run(df, strategy=PyRaiser, out=out)
    assert len(PyRaiser.seen) == 5
    assert str(err.value) == (f"strategy py_raiser: on_bar (1m bar) at {_iso(PyRaiser.seen[-1])}: "
                              "raised an exception: ValueError: boom")
    assert isinstance(err.value.__cause__, ValueError)  # the traceback of the strategy's own code
    assert not out.exists()
    path = tmp_path / "ticks.parquet"
    df.write_parquet(path)
    PyRaiser.seen = []
    rc = main(["run", "--data", str(path), "--strategy", "tests.test_strategy_python:PyRaiser", "--out", str(out),
               "--quiet"])
    assert rc == 2
    assert not out.exists()
    err_text = capsys.readouterr().err
    assert "strategy py_raiser: on_bar (1m bar) at " in err_text and "ValueError: boom" in err_text
    assert "Traceback" not in err_text


class PyMisuse(PyStrategy):
    """A helper used out of its rules, chosen by ``what``."""

    timeframes = ("1m", "5m")
    keep = 2
    max_actions = 2
    params = {"what": 0}

    def on_bar(self, ctx, s, tf):
        w = ctx.params.what
        if w == 0 and tf == 1:
            ctx.bar(tf, s, 2)
        elif w == 1:
            for _ in range(3):
                ctx.buy(s, 1)
        elif w == 2:
            ctx.buy(7, 1)
        elif w == 3:
            ctx.set_oco(0, 1)


def test_helpers_used_out_of_their_rules_stop_the_run_with_the_compiled_messages():
    df = ticks_frame(3000, seed=2)
    cases = {0: r"on_bar \(5m bar\) at .*: asked for a 5m bar beyond the 2 kept",
             1: r"on_bar \(1m bar\) at .*: more than max_actions = 2 actions in one call",
             2: r"on_bar \(1m bar\) at .*: a symbol index outside the run's symbols",
             3: r"on_bar \(1m bar\) at .*: more than max_actions = 2 actions in one call, set_\* on an order"}
    for what, msg in cases.items():
        with pytest.raises(StrategyError, match="strategy PyMisuse: " + msg):
            bt.run(df, strategy=PyMisuse, params={"what": what})


def test_unknown_parameters_and_bad_values_are_refused(tmp_path, capsys):
    df = ticks_frame(500, seed=2)
    with pytest.raises(ConfigError, match=r"strategy py_sma has no parameter 'fsat' \(it has: fast, slow, qty\)"):
        bt.run(df, strategy=PySma, params={"fsat": 3})
    with pytest.raises(ConfigError, match="parameter fast of strategy py_sma: 'x' is not an integer"):
        bt.run(df, strategy=PySma, params={"fast": "x"})
    path = tmp_path / "ticks.parquet"
    df.write_parquet(path)
    out = tmp_path / "out"
    rc = main(["run", "--data", str(path), "--strategy", "tests.test_strategy_python:PySma", "--param", "fsat=3",
               "--out", str(out), "--quiet"])
    assert rc == 2
    assert "--param: strategy py_sma has no parameter 'fsat'" in capsys.readouterr().err
    assert not out.exists()


def test_the_command_line_runs_a_python_strategy_like_the_python_call(tmp_path):
    path = tmp_path / "ticks.parquet"
    ticks_frame(20_000, seed=11).write_parquet(path)
    out = tmp_path / "out"
    rc = main(["run", "--data", str(path), "--strategy", "tests.test_strategy_python:PySma", "--param", "fast=5",
               "--param", "slow=20", "--param", "qty=100", "--out", str(out), "--quiet"])
    assert rc == 0
    fills = pl.read_parquet(out / "fills.parquet")
    ref = bt.run(path, strategy=SmaCross, params={"fast": 5, "slow": 20, "qty": 100})
    assert fills.height == ref.fills.height > 0
    assert fills["price_ticks"].to_list() == ref.fills["price_ticks"].to_list()
    assert len(engine.run_chunk.signatures) == 1  # the engine is not compiled again for Python strategies


class PyStateKinds(PyStrategy):
    """Declared state: a count, a float sum, an array per symbol; ``bad`` leaves a value that does
    not fit."""

    timeframes = ("1m",)
    state = {"n": np.int64, "f": np.float64, "per": (np.int64, 2)}
    params = {"bad": 0}

    def on_bar(self, ctx, s, tf):
        st = ctx.state
        st.n += 1
        st.f += 0.5
        st.per[s] += 1
        if ctx.params.bad:
            st.n = 1.5


def test_declared_state_is_reported_as_a_record_and_a_value_that_does_not_fit_is_an_error(tmp_path):
    df = ticks_frame(2000, seed=1)
    res = bt.run(df, strategy=PyStateKinds)
    closed = [b[0] for b in python_bars(df, 60 * 10**9) if b[-1] is not None]  # closed by a later tick
    st = res.strategy_state[0]
    assert st["per"].tolist() == [closed.count(0), closed.count(1)]
    assert st["n"] == len(closed) > 10
    assert st["f"] == st["n"] * 0.5
    out = tmp_path / "out"
    with pytest.raises(StrategyError, match=r"strategy PyStateKinds: state field n = 1.5 at the end does not fit "
                                            "its declared type int64"):
        bt.run(df, strategy=PyStateKinds, params={"bad": 1}, out=out)
    assert not out.exists()


class PyRecorder(PyStrategy):
    """tests/test_strategy.py::Recorder in plain Python: every bar given, the quote, the time."""

    timeframes = ("1m", "5m", "1d")
    keep = 3
    rows: list = []
    checked = 0

    def on_bar(self, ctx, s, tf):
        b = ctx.bar(tf, s, 0)
        PyRecorder.rows.append((tf, s, b.ts_open, b.ts_close, b.open, b.high, b.low, b.close, b.n_ticks,
                                b.spread_min, b.spread_max, b.spread_sum, ctx.bid(s) + ctx.ask(s), ctx.now(),
                                ctx.n_bars(tf, s)))
        n = ctx.n_bars(tf, s)
        for k in range(n + 1):  # closes: the bar_close of each bar kept, newest first
            assert ctx.closes(tf, s, k) == [ctx.bar_close(tf, s, j) for j in range(k)]
        PyRecorder.checked += n > 0 and ctx.closes(tf, s, n)[-1] == ctx.bar(tf, s, n - 1).close


def test_bars_quotes_and_times_seen_from_python_are_those_compiled_code_sees():
    df = ticks_frame(6000, seed=5, gap_ms=60_000)  # about four days: day bars close
    ref = bt.run(df, strategy=Recorder)
    st = ref.strategy_state[0]
    want = st["rows"][: int(st["n"]) * ROW].reshape(-1, ROW).tolist()
    PyRecorder.rows, PyRecorder.checked = [], 0
    bt.run(df, strategy=PyRecorder)
    assert [list(r) for r in PyRecorder.rows] == want
    assert PyRecorder.checked == len(want)  # the rings wrapped: keep 3, thousands of bars
    assert {r[0] for r in want} == {0, 1, 2}


N_PROBE = 12  # values recorded per bar by the probes


class Probe(Strategy):
    """Reads every account and order helper at each 1m bar, then acts (a fixed cycle)."""

    timeframes = ("1m",)
    state = {"rows": (np.int64, 4000 * N_PROBE), "n": np.int64, "last": np.int64}

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        st = ctx.state[0]
        pid = cc.oldest_position(ctx, s, 1)
        vals = (cc.cash(ctx), cc.equity(ctx), cc.used_margin(ctx), cc.free_margin(ctx), pid,
                cc.position_slot(ctx, pid), cc.position_qty(ctx, pid), cc.order_status(ctx, st.last),
                1 if cc.is_working(ctx, st.last) else 0, cc.net_qty(ctx, s), cc.n_symbols(ctx),
                int(cc.to_ticks(ctx, 7) * 2))
        if st.n < 4000:
            for j in range(N_PROBE):
                st.rows[st.n * N_PROBE + j] = vals[j]
        st.n += 1
        r = st.n % 4
        if r == 0:
            cc.buy(ctx, s, 2)
        elif r == 1:
            st.last = cc.submit(ctx, s, 1, 1, OT_LIMIT, cc.bid(ctx, s) - 3, 0.0)
        elif r == 2 and pid >= 0:
            cc.close(ctx, pid, 1)


class PyProbe(PyStrategy):
    timeframes = ("1m",)
    rows: list = []

    def __init__(self):
        self.n, self.last = 0, 0

    def on_bar(self, ctx, s, tf):
        pid = ctx.oldest_position(s, 1)
        PyProbe.rows.append([ctx.cash(), ctx.equity(), ctx.used_margin(), ctx.free_margin(), pid,
                             ctx.position_slot(pid), ctx.position_qty(pid), ctx.order_status(self.last),
                             1 if ctx.is_working(self.last) else 0, ctx.net_qty(s), ctx.n_symbols(),
                             int(ctx.to_ticks(7) * 2)])
        self.n += 1
        r = self.n % 4
        if r == 0:
            ctx.buy(s, 2)
        elif r == 1:
            self.last = ctx.submit(s, 1, 1, OT_LIMIT, ctx.bid(s) - 3, 0.0)
        elif r == 2 and pid >= 0:
            ctx.close(pid, 1)


@pytest.mark.parametrize("mode", ["netting", "hedging"])
def test_account_position_and_order_helpers_read_what_compiled_helpers_read(mode):
    df = ticks_frame(20_000, seed=12)
    over = {"run.account_mode": mode, "instruments.EURUSD.margin_rate": 0.05,
            "instruments.GBPUSD.margin_rate": 0.05}
    ref = bt.run(df, strategy=Probe, overrides=over)
    st = ref.strategy_state[0]
    want = st["rows"][: int(st["n"]) * N_PROBE].reshape(-1, N_PROBE).tolist()
    PyProbe.rows = []
    res = bt.run(df, strategy=PyProbe, overrides=over)
    assert PyProbe.rows == want
    assert res.fills.equals(ref.fills)
    seen = np.array(want)
    assert (seen[:, 0] != seen[:, 1]).any()  # open positions marked: equity differs from cash
    assert (seen[:, 2] > 0).any() and (seen[:, 3] < seen[:, 1]).any()  # margin used, free margin below equity
    assert (seen[:, 6] > 0).any() and (seen[:, 5] >= 0).any() and (seen[:, 8] == 1).any()  # positions, working
    assert len(set(seen[:, 7].tolist())) >= 2  # several order statuses seen


class Gtd(Strategy):
    """Good-till-date orders and tags (set_expiry, set_tag), compiled: a fixed cycle."""

    timeframes = ("1m",)
    tags = ("entry", "exit")
    state = {"n": np.int64}

    @staticmethod
    @njit
    def on_bar(ctx, s, tf):
        st = ctx.state[0]
        st.n += 1
        r = st.n % 5
        b = cc.bid(ctx, s)
        t = cc.now(ctx)
        if r == 0:
            k = cc.submit(ctx, s, 1, 1, OT_LIMIT, b - 2, 0.0)
            cc.set_expiry(ctx, k, t + 90 * 10**9)
            cc.set_tag(ctx, k, 0)
        elif r == 1:
            k = cc.submit(ctx, s, -1, 1, OT_LIMIT, b + 5, 0.0)
            cc.set_expiry(ctx, k, t)  # not after the action's time: expiry_past
            cc.set_tag(ctx, k, 3)  # beyond the names: shown as the number
        elif r == 2:
            k = cc.submit(ctx, s, 1, 1, OT_LIMIT, b - 1.5, 0.0)
            cc.set_expiry(ctx, k, t)  # off_tick comes first
        elif r == 3:
            k = cc.submit(ctx, s, 1, 1, OT_STOP, 0.0, b + 3)
            cc.set_expiry(ctx, k, t + 10**12)
            cc.set_expiry(ctx, k, t + 60 * 10**9)  # set again: replaces the first
            cc.set_tag(ctx, k, 1)
        else:
            cc.set_tag(ctx, cc.buy(ctx, s, 1), 1)


class PyGtd(PyStrategy):
    timeframes = ("1m",)
    tags = ("entry", "exit")

    def __init__(self):
        self.n = 0

    def on_bar(self, ctx, s, tf):
        self.n += 1
        r = self.n % 5
        b, t = ctx.bid(s), ctx.now()
        if r == 0:
            k = ctx.submit(s, 1, 1, OT_LIMIT, b - 2, 0.0)
            ctx.set_expiry(k, t + 90 * 10**9)
            ctx.set_tag(k, 0)
        elif r == 1:
            k = ctx.submit(s, -1, 1, OT_LIMIT, b + 5, 0.0)
            ctx.set_expiry(k, t)
            ctx.set_tag(k, 3)
        elif r == 2:
            k = ctx.submit(s, 1, 1, OT_LIMIT, b - 1.5, 0.0)
            ctx.set_expiry(k, t)
        elif r == 3:
            k = ctx.submit(s, 1, 1, OT_STOP, 0.0, b + 3)
            ctx.set_expiry(k, t + 10**12)
            ctx.set_expiry(k, t + 60 * 10**9)
            ctx.set_tag(k, 1)
        else:
            ctx.set_tag(ctx.buy(s, 1), 1)


def test_expiry_and_tags_from_python_write_what_compiled_helpers_write():
    df = ticks_frame(20_000, seed=13)
    over = {"run.log_level": "events", "run.chunk_rows": 1999}
    ref = bt.run(df, strategy=Gtd, overrides=over)
    res = bt.run(df, strategy=PyGtd, overrides=over)
    reasons = set(ref.orders["reason"].cast(pl.String))
    assert {"expiry", "expiry_past", "off_tick"} <= reasons
    assert {"entry", "exit", "3"} <= set(ref.orders["tag"].drop_nulls())
    assert res.orders.equals(ref.orders)
    assert res.fills.equals(ref.fills)
    assert res.events.equals(ref.events)
    assert res.strategy_orders.equals(ref.strategy_orders)


def test_every_compiled_helper_has_a_python_twin_of_the_same_name():
    from numba.core.registry import CPUDispatcher

    import backtestr.strategies.pycontext as pc

    names = [n for n, f in vars(cc).items() if isinstance(f, CPUDispatcher) and not n.startswith("_")
             and f.py_func.__module__ == cc.__name__]  # its own helpers, not the kernels' it imports
    assert {"bar_close", "buy", "submit", "set_stops", "close_symbol", "margin_level"} <= set(names)
    for n in names:
        assert callable(getattr(PyCtx, n, None)), f"PyCtx has no {n}"
        assert callable(getattr(pc, n, None)) and n in pc.__all__, f"pycontext has no free function {n}"
