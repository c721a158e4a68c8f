"""Compiling the kernels: the once-only notice, compile time apart, the warm-up.

numba compiles the kernels the first time they run in an environment and
caches the machine code next to their source files; later processes load it
(docs/architecture.md §7). ``CompileWatch`` notices a compile as it starts (a
cache hit is no compile), tells the user once per process on stderr, and
measures it so that a run reports compile time apart from its speed.
``warmup()`` compiles every entry point on tiny runs, so that ``make setup``
pays the compile instead of a user's first run:

    backtestr warmup            # or: python -m backtestr.warmup
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

NOTICE = ("backtestr: compiling the kernels for this environment; this happens once "
          "(about a minute; cached for later runs; `backtestr warmup` does it ahead)")

_told = False
_told_lock = threading.Lock()


def _tell() -> None:
    global _told
    with _told_lock:
        if _told:
            return
        _told = True
    print(NOTICE, file=sys.stderr, flush=True)


class CompileWatch:
    """Time spent compiling kernels while the watch is on, per thread.

    Listens to numba's ``numba:compile`` event, which fires only when a
    function is compiled (not when it is loaded from the cache). Nested
    compiles (a callee typed while its caller compiles) count once.
    """

    def __init__(self, notice: bool = True) -> None:
        self.notice = notice
        self._local = threading.local()
        self._lock = threading.Lock()
        self._by_thread: dict[int, float] = {}
        self.compiles = 0  # outermost compilations seen
        self._listener: Any = None

    def __enter__(self) -> CompileWatch:
        from numba.core import event

        watch = self

        class _Listener(event.Listener):
            def on_start(self, ev: Any) -> None:
                watch._start()

            def on_end(self, ev: Any) -> None:
                watch._end()

        self._listener = _Listener()
        event.register("numba:compile", self._listener)
        return self

    def __exit__(self, *exc: object) -> None:
        from numba.core import event

        event.unregister("numba:compile", self._listener)

    def _start(self) -> None:
        loc = self._local
        depth = getattr(loc, "depth", 0)
        if depth == 0:
            loc.t0 = time.perf_counter()
            if self.notice:
                _tell()
        loc.depth = depth + 1

    def _end(self) -> None:
        loc = self._local
        loc.depth -= 1
        if loc.depth == 0:
            dt = time.perf_counter() - loc.t0
            key = threading.get_ident()
            with self._lock:
                self._by_thread[key] = self._by_thread.get(key, 0.0) + dt
                self.compiles += 1

    @property
    def seconds(self) -> float:
        """Compile time in every thread so far."""
        with self._lock:
            return sum(self._by_thread.values())

    def here(self) -> float:
        """Compile time in the calling thread so far."""
        with self._lock:
            return self._by_thread.get(threading.get_ident(), 0.0)


def _tiny_runs(tmp: Path) -> None:
    import datetime as dt

    import polars as pl

    from .run import run
    from .synth import write_archive

    # a Parquet archive of two symbols (two sources merged), signals, log level trades, outputs written
    data = tmp / "data"
    write_archive(data, ["EURUSD", "BTCUSD"], 1, seed=1, start=dt.date(2024, 1, 2), rate=0.02)
    ts = pl.datetime_range(dt.datetime(2024, 1, 2, 1), dt.datetime(2024, 1, 2, 23), "1h", eager=True,
                           time_zone="UTC")
    signals = pl.DataFrame({"ts": ts, "symbol": ["EURUSD"] * len(ts),
                            "target": [0.1 if i % 2 else -0.1 for i in range(len(ts))]})
    config = Path(__file__).with_name("demo.toml")
    run(data, signals=signals, config=config, out=tmp / "out", force=True)
    # an in-memory frame of one symbol, orders with stops, every log level's code path
    t = [dt.datetime(2024, 1, 2, 0, 0, i, tzinfo=dt.timezone.utc) for i in range(6)]
    ticks = pl.DataFrame({"ts": t, "symbol": ["EURUSD"] * 6,
                          "bid": [1.1, 1.1001, 1.1002, 1.1003, 1.1, 1.0999],
                          "ask": [1.1001, 1.1002, 1.1003, 1.1004, 1.1001, 1.1]})
    orders = pl.DataFrame({"ts": [t[0], t[2]], "symbol": ["EURUSD", "EURUSD"], "side": ["buy", "sell"],
                           "qty": [0.1, 0.2]})
    run(ticks, orders=orders, overrides={"run.log_level": "ticks"})
    # bars from ticks (bt.bars) and a compiled strategy's entry points (on_start, on_end)
    from .bars import bars
    from .examples.sma_cross import SmaCross

    bars(data, timeframes=["1h", "1d"])
    run(data, strategy=SmaCross, params={"fast": 2, "slow": 3})


def warmup(quiet: bool = False) -> dict[str, Any]:
    """Compile (or load from the cache) every kernel a run uses, on tiny runs.

    Returns ``{"compile_s": ..., "compiles": ..., "wall_s": ...}``; ``compiles``
    is 0 when everything was already cached.
    """
    global _told
    t0 = time.perf_counter()
    _told = True  # the warm-up says it itself
    if not quiet:
        print("backtestr: warming up the kernels (compiled once per environment, then cached) ...",
              file=sys.stderr, flush=True)
    with CompileWatch(notice=False) as w, tempfile.TemporaryDirectory(prefix="backtestr-warmup-") as tmp:
        _tiny_runs(Path(tmp))
    res = {"compile_s": round(w.seconds, 2), "compiles": w.compiles, "wall_s": round(time.perf_counter() - t0, 2)}
    if not quiet:
        what = f"compiled in {res['compile_s']:.1f} s" if res["compiles"] else "already compiled (cached)"
        print(f"backtestr: kernels {what}", file=sys.stderr, flush=True)
    return res


def add_parser(subparsers: Any) -> None:
    """``backtestr warmup``."""
    w = subparsers.add_parser("warmup", help="compile the kernels now (once per environment) so runs start fast")
    w.add_argument("--quiet", action="store_true", help="print nothing")
    w.set_defaults(fn=_cli)


def _cli(a: argparse.Namespace) -> int:
    warmup(quiet=a.quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m backtestr.warmup", description="Compile the kernels now.")
    ap.add_argument("--quiet", action="store_true", help="print nothing")
    return _cli(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
