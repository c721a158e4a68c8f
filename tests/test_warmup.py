"""Compiling: the once-only notice and compile time (backtestr/warmup.py), one compilation per
kernel function whatever constants or integer widths its callers pass (kernels/jit.py), and a
light ``import backtestr`` (docs/architecture.md §7)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from backtestr.kernels.jit import njit as kernel_njit
from numba import njit

from backtestr import warmup
from backtestr.warmup import NOTICE, CompileWatch


def test_notice_once_when_compiling_and_time_measured(monkeypatch, capsys):
    monkeypatch.setattr(warmup, "_told", False)

    @njit(cache=False)
    def twice(x):
        return 2 * x

    with CompileWatch() as w:
        assert twice(21) == 42  # compiles
        first = w.seconds
        assert twice(4) == 8  # compiled already
    err = capsys.readouterr().err
    assert err.count(NOTICE) == 1
    assert w.compiles == 1 and first > 0 and w.seconds == first
    assert w.here() == first  # compiled in this thread

    @njit(cache=False)
    def thrice(x):
        return 3 * x

    with CompileWatch() as w2:  # a second compile in the same process: measured, not announced again
        assert thrice(2) == 6
    assert w2.compiles == 1 and w2.seconds > 0
    assert NOTICE not in capsys.readouterr().err


def test_no_notice_without_compiling(monkeypatch, capsys):
    monkeypatch.setattr(warmup, "_told", False)

    @njit(cache=False)
    def one(x):
        return x + 1

    assert one(1) == 2  # compiled before the watch
    with CompileWatch() as w:
        assert one(2) == 3
    assert w.compiles == 0 and w.seconds == 0.0
    assert capsys.readouterr().err == ""


@kernel_njit(cache=False)
def _callee(a, b):
    return a * 10 + b


@njit(cache=False)
def _callers(x8, y):
    # literals 1 and 7, an int8 and an int64: four argument types, one compilation of _callee
    return _callee(1, 7) + _callee(x8, y) + _callee(y, x8) + _callee(np.int8(3), 2)


def test_kernel_function_compiles_once_for_literals_and_narrow_ints():
    assert _callers(np.int8(2), 5) == 17 + 25 + 52 + 32
    assert len(_callee.signatures) == 1
    assert str(_callee.signatures[0]) == "(int64, int64)"


def test_import_is_light_and_run_stays_the_function():
    code = ("import sys, backtestr\n"
            "heavy = [m for m in ('numba', 'polars', 'numpy') if m in sys.modules]\n"
            "import backtestr.run, backtestr.warmup\n"
            "print(heavy, callable(backtestr.run), backtestr.Result.__name__, backtestr.Config.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["[]", "True", "Result", "Config"]


def test_a_new_strategy_compile_is_reported_as_compile_s_without_the_kernel_notice(capsys):
    import backtestr as bt
    from backtestr.strategies import Strategy
    from backtestr.strategies.context import buy, net_qty
    from tests.strategy_kit import ticks_frame

    class FirstSeen(Strategy):  # a class never compiled in this process
        timeframes = ("1m",)

        @staticmethod
        @njit
        def on_bar(ctx, s, tf):
            if net_qty(ctx, s) == 0:
                buy(ctx, s, 1)

    df = ticks_frame(5_000, seed=5)
    first = bt.run(df, strategy=FirstSeen).summary
    again = bt.run(df, strategy=FirstSeen).summary
    assert first["compile_s"] > 0  # the strategy's callback compiled while the run was settled
    assert first["compile_s"] < first["wall_s"]
    # over the run's time without the compile (the summary shows both seconds rounded to 0.1 ms)
    assert first["ticks_per_s"] == pytest.approx(first["ticks"] / (first["wall_s"] - first["compile_s"]), rel=1e-2)
    assert again["compile_s"] == 0  # compiled once per class and process
    assert NOTICE not in capsys.readouterr().err  # the kernels were not compiled
