"""Cold compile of the kernels: a fresh process with an empty numba cache does the warm-up's tiny runs.

Usage (from the project root, after ``make setup``):

    .venv/bin/python bench/bench_compile.py               # one cold process, then one warm one
    .venv/bin/python bench/bench_compile.py --repeat 3    # median of 3 cold processes

Each cold process gets its own empty ``NUMBA_CACHE_DIR``, so nothing is loaded
from a cache. Reported: the wall time of the tiny runs, the compile time
(numba's ``numba:compile`` events, outermost only; wall and CPU time: on a
busy machine compare CPU), the compile time per entry
point (inclusive: an entry point's figure holds every callee compiled first
under it), how many compilations there were and which functions compiled more
than once. The warm process then repeats the runs against the filled cache
(loading only). Results go to bench/work/compile-last.json. The machine is
shared: compare medians of runs made side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"

_CHILD = r"""
import collections, json, sys, tempfile, threading, time
from pathlib import Path
t0 = time.perf_counter()
import backtestr
from backtestr.warmup import _tiny_runs
from numba.core import event
t_import = time.perf_counter() - t0
rec = event.RecordingListener()
cpu = collections.defaultdict(float)  # CPU seconds of outermost compiles, per entry point
local = threading.local()


class CpuListener(event.Listener):  # CPU time tells more than wall time on a busy machine
    def on_start(self, ev):
        local.depth = getattr(local, "depth", 0) + 1
        if local.depth == 1:
            local.t = time.thread_time()

    def on_end(self, ev):
        local.depth -= 1
        if local.depth == 0:
            d = ev.data["dispatcher"]
            cpu[d.py_func.__module__.replace("backtestr.", "") + "." + d.py_func.__qualname__] += \
                time.thread_time() - local.t


cl = CpuListener()
event.register("numba:compile", rec)
event.register("numba:compile", cl)
t1, c1 = time.perf_counter(), time.process_time()
with tempfile.TemporaryDirectory() as tmp:
    _tiny_runs(Path(tmp))
wall, process_cpu = time.perf_counter() - t1, time.process_time() - c1
event.unregister("numba:compile", rec)
event.unregister("numba:compile", cl)
stacks = collections.defaultdict(list)
entry = collections.defaultdict(float)
sigs = collections.defaultdict(int)
total = 0.0
for t, ev in rec.buffer:  # events of one thread nest; compiles in two threads do not overlap (numba's lock)
    d = ev.data["dispatcher"]
    name = d.py_func.__module__.replace("backtestr.", "") + "." + d.py_func.__qualname__
    st = stacks[threading.get_ident()]
    if ev.is_start:
        st.append((name, t))
    else:
        n, ts = st.pop()
        sigs[n] += 1
        if not st:
            entry[n] += t - ts
            total += t - ts
print(json.dumps({"import_s": t_import, "wall_s": wall, "compile_s": total, "cpu_s": process_cpu,
                  "compile_cpu_s": sum(cpu.values()),
                  "entry_points_cpu": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
                  "compilations": sum(sigs.values()),
                  "functions": len(sigs), "entry_points": dict(sorted(entry.items(), key=lambda kv: -kv[1])),
                  "compiled_more_than_once": {k: v for k, v in sorted(sigs.items()) if v > 1}}))
"""


def one(cache_dir: str, opt: str | None) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    if opt is not None:
        env["NUMBA_OPT"] = opt
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout
    res = json.loads(out.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="cold processes (median reported)")
    ap.add_argument("--opt", default=None, help="NUMBA_OPT for the child processes (numba's default: 3)")
    a = ap.parse_args()
    cold = []
    warm = None
    for i in range(a.repeat):
        with tempfile.TemporaryDirectory(prefix="numba-cold-") as d:
            cold.append(one(d, a.opt))
            print(f"cold {i + 1}: process {cold[-1]['process_s']:.1f} s, compile {cold[-1]['compile_s']:.1f} s "
                  f"(CPU {cold[-1]['compile_cpu_s']:.1f} s), "
                  f"{cold[-1]['compilations']} compilations", file=sys.stderr)
            if warm is None:
                warm = one(d, a.opt)
    med = sorted(cold, key=lambda r: r["compile_s"])[len(cold) // 2]
    res = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "numba_opt": a.opt,
        "cold_compile_s": [round(r["compile_s"], 2) for r in cold],
        "cold_compile_median_s": round(statistics.median(r["compile_s"] for r in cold), 2),
        "cold_process_median_s": round(statistics.median(r["process_s"] for r in cold), 2),
        "cold_compile_cpu_s": [round(r["compile_cpu_s"], 2) for r in cold],
        "cold_compile_cpu_median_s": round(statistics.median(r["compile_cpu_s"] for r in cold), 2),
        "cold_runs_cpu_median_s": round(statistics.median(r["cpu_s"] for r in cold), 2),
        "compilations": med["compilations"],
        "functions": med["functions"],
        "entry_points_s": {k: round(v, 2) for k, v in med["entry_points"].items()},
        "entry_points_cpu_s": {k: round(v, 2) for k, v in med["entry_points_cpu"].items()},
        "compiled_more_than_once": med["compiled_more_than_once"],
        "warm": {"process_s": round(warm["process_s"], 2), "import_s": round(warm["import_s"], 3),
                 "runs_s": round(warm["wall_s"], 3), "compile_s": round(warm["compile_s"], 3)},
    }
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "compile-last.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
