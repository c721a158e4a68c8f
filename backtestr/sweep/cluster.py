"""A sweep's sets on a Dask cluster (docs/sweeps.md §9).

``run_sets_on_cluster`` takes what the in-process executor takes and yields each
set's Outcome as it finishes, in any order. The sets go out in batches, one task
per batch (``batch_size``): the worker runs each set with ``backtestr.run.run`` over the archive at a path every worker sees
(or a tick frame sent to every worker once), reduces the Result to the set's
Outcome there (``executor.measure``, the code the in-process sweep uses) and
sends back only that. Results are keyed by set id and each set's first Outcome
is the one kept, so a set re-run after a lost worker is never counted twice.

``distributed`` is imported only when a cluster sweep starts; ``cluster_settings``
and ``shared_data`` check the arguments before any set runs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from ..errors import BacktestrError, ConfigError, current_interface
from .settle import SettledSet

CONNECT_TIMEOUT = 10.0  # seconds to reach a scheduler
WORKER_WAIT = 60.0  # seconds to wait for the workers asked for to join a scheduler
RETRIES = 2  # re-runs of a task that raised something other than a BacktestrError
BATCHES_PER_WORKER = 2  # each batch is one pass over the data: few large batches, fewer reads
MAX_BATCH = 500
STALL_CHECK_S = 30.0  # how long without a finished batch before the cluster is asked whether it still works
RESUBMITS = 3  # at most this many times the pending batches are sent again after a stall


@dataclass(frozen=True)
class ClusterSettings:
    """Where a sweep's sets run: a scheduler ``address`` or a ready ``client``, or neither
    (a local cluster of ``workers`` processes); with an address or client, ``workers`` is
    the number of workers to wait for before the first set. ``batch``: sets per task
    (None: ``batch_size`` chooses)."""

    address: str | None = None
    client: Any = None
    workers: int | None = None
    batch: int | None = None
    connect_timeout: float = CONNECT_TIMEOUT
    worker_wait: float = WORKER_WAIT


def _names() -> tuple[str, str]:
    """The cluster arguments as the interface in use spells them."""
    return ("--scheduler", "--workers") if current_interface() == "cli" else ("cluster=", "workers=")


def _spelt(name: str, value: Any) -> str:
    """``cluster=tcp://h:1`` in Python, ``--scheduler tcp://h:1`` on the command line."""
    return f"{name}{value}" if name.endswith("=") else f"{name} {value}"


def cluster_settings(cluster: Any, workers: Any) -> ClusterSettings | None:
    """``sweep(cluster=..., workers=...)`` settled: None runs the sets in this process."""
    where, many = _names()
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        shown = repr(workers) if many.endswith("=") else workers
        raise ConfigError(f"{_spelt(many, shown)}: expected a whole number of worker processes, at least 1")
    if isinstance(cluster, ClusterSettings):
        return cluster
    if cluster is None:
        return None if workers is None else ClusterSettings(workers=workers)
    if isinstance(cluster, str):
        if not cluster.strip():
            raise ConfigError(f"{where}: the scheduler address is empty (expected e.g. tcp://host:8786)")
        return ClusterSettings(address=cluster.strip(), workers=workers)
    if type(cluster).__module__.startswith("distributed") and hasattr(cluster, "submit"):
        return ClusterSettings(client=cluster, workers=workers)
    raise ConfigError(f"{where}: expected a Dask scheduler address (tcp://host:8786) or a distributed.Client, "
                      f"got {type(cluster).__name__}")


def shared_data(data: Any) -> Any:
    """The data as the workers get it: a path made absolute (a ``file://`` URL becomes its
    path), or a frame as it is (sent to every worker once). Other URLs are refused: the
    tick reader reads files, so the archive must be on a path every worker sees."""
    if not isinstance(data, str | Path):
        return data
    text = str(data)
    if "://" in text:
        url = urlparse(text)
        if url.scheme != "file":
            raise ConfigError(f"data {text}: the tick reader reads files, not {url.scheme}:// URLs; on a cluster give "
                              "a path every worker sees (a shared mount), or a file:// URL of one")
        if url.netloc not in ("", "localhost"):
            raise ConfigError(f"data {text}: a file:// URL must name a path on the workers (file:///path)")
        text = url2pathname(url.path)
    return str(Path(text).absolute())


@dataclass(frozen=True)
class Failed:
    """A set whose run raised a BacktestrError on a worker: sent back as a value, so the
    task is not retried (the same inputs fail the same way) and the sweep stops with it."""

    error: BacktestrError


_warm = False  # this worker process has compiled (or loaded) the kernels


def warm() -> bool:
    """Compile or load the kernels in this process once: ``backtestr.warmup`` when the
    package has it, else a tiny in-memory run."""
    global _warm
    if _warm:
        return False
    try:
        from ..warmup import warmup
    except ImportError:
        _tiny_run()
    else:
        warmup(quiet=True)
    _warm = True
    return True


def _tiny_run() -> None:
    import datetime as dt

    import polars as pl

    from ..run import run

    t = [dt.datetime(2024, 1, 2, 0, 0, i, tzinfo=dt.timezone.utc) for i in range(4)]
    ticks = pl.DataFrame({"ts": t, "symbol": ["EURUSD"] * 4, "bid": [1.1, 1.1001, 1.1002, 1.1],
                          "ask": [1.1001, 1.1002, 1.1003, 1.1001]})
    orders = pl.DataFrame({"ts": [t[0], t[2]], "symbol": ["EURUSD", "EURUSD"], "side": ["buy", "sell"],
                           "qty": [0.1, 0.1]})
    run(ticks, orders=orders, overrides={"run.log_level": "trades"})


def run_batch(data: Any, batch: Sequence[SettledSet], inputs: Callable[[SettledSet], Any],
              instruments: tuple[str, ...], m: Any) -> Any:
    """A batch of sets on a worker, in order: their Outcomes, or Failed with the sweep's
    error for the first set that fails."""
    from .executor import measure
    from .multi import PassSettings, run_sets_one_pass

    warm()  # a worker that joined after the start (a lost one replaced) warms up first
    try:
        # the batch's sets in one pass over the data, one thread (the worker's threads run other batches)
        return [measure(s, result, m) for s, result in run_sets_one_pass(data, batch, inputs, instruments,
                                                                          PassSettings(threads=1))]
    except BacktestrError as exc:
        return Failed(exc)


def batch_size(n_sets: int, n_workers: int, asked: int | None = None) -> int:
    """Sets per task: ``asked``, else about ``BATCHES_PER_WORKER`` tasks per worker (fewer
    round trips than one task per set, and still the load spread), at most ``MAX_BATCH``."""
    if asked is not None:
        return asked
    return max(1, min(MAX_BATCH, -(-n_sets // (BATCHES_PER_WORKER * max(1, n_workers)))))


def run_sets_on_cluster(data: Any, sets: Sequence[SettledSet], inputs: Callable[[SettledSet], Any],
                        instruments: Sequence[str | Path], m: Any, where: ClusterSettings) -> Iterator[Any]:
    """Every set on the cluster, in batches of sets (one task each); yields each set's
    Outcome once, as batches finish.

    Before the first set every worker warms up. A task whose worker is lost is run again
    elsewhere by the scheduler; a set's Outcome is accepted once. The first set that fails
    stops the sweep (the other tasks are cancelled) with the set's error.
    """
    from distributed import wait

    files = tuple(str(Path(f).absolute()) for f in instruments)
    seen: set[int] = set()
    with _connect(where) as client:
        n_workers = _warm_workers(client)
        shared = data if isinstance(data, str) else client.scatter(data, broadcast=True, hash=False)
        token = uuid.uuid4().hex[:12]
        size = batch_size(len(sets), n_workers, where.batch)
        batches = [list(sets[i:i + size]) for i in range(0, len(sets), size)]

        def submit(b: list[SettledSet], attempt: int) -> Any:
            return client.submit(run_batch, shared, b, inputs, files, m, retries=RETRIES, pure=False,
                                 key=f"backtestr-sets-{token}-{b[0].set_id}-{attempt}")

        pending = {submit(b, 0): b for b in batches}
        resubmits = 0
        try:
            while pending:
                try:
                    finished = wait(list(pending), timeout=STALL_CHECK_S, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    # no batch finished for a while: when no worker is running anything, the pending
                    # batches were lost on the way (a worker's state out of step with the
                    # scheduler's); they are sent again, and each set's result is still taken once
                    if resubmits < RESUBMITS and _idle(client):
                        resubmits += 1
                        client.cancel(list(pending))
                        pending = {submit(b, resubmits): b for b in pending.values()}
                    continue
                for fut in finished:
                    got = _result(fut, pending.pop(fut))
                    if isinstance(got, Failed):
                        raise got.error
                    for o in got:
                        if o.set_id not in seen:
                            seen.add(o.set_id)
                            yield o
        finally:
            if pending:  # stopped early (a failed set, or the caller stopped): the rest is not needed
                client.cancel(list(pending))
    missing = [s.set_id for s in sets if s.set_id not in seen]
    if missing:  # every batch finished; a set without an outcome would be a lost result
        raise BacktestrError(f"the cluster returned no result for set(s) {', '.join(map(str, missing[:5]))}")


def _result(fut: Any, batch: Sequence[SettledSet]) -> Any:
    from distributed import KilledWorker

    try:
        return fut.result()
    except KilledWorker:
        ids = ", ".join(str(s.set_id) for s in batch)
        raise BacktestrError(f"set(s) {ids}: the workers that ran them were lost each time (a crash or out of "
                             "memory in a run); the sweep stopped and nothing was written") from None


def _executing(dask_worker: Any = None) -> int:
    """Tasks this worker is running now (run on each worker by ``_idle``)."""
    return len(dask_worker.state.executing) + len(dask_worker.state.long_running)


def _idle(client: Any) -> bool:
    """True when every worker answers and none is running a task."""
    try:
        return not any(client.run(_executing, wait=True).values())
    except Exception:  # noqa: BLE001 - a worker that does not answer: not known to be idle
        return False


def _warm_workers(client: Any) -> int:
    """The warm-up as one task pinned to each worker (a task, so the worker keeps answering
    the scheduler while it compiles); the number of workers."""
    addrs = list(client.scheduler_info()["workers"])
    futs = [client.submit(warm, key=f"backtestr-warm-{uuid.uuid4().hex[:12]}", workers=[a],
                          allow_other_workers=False, pure=False) for a in addrs]
    client.gather(futs, errors="skip")  # a worker lost while warming is replaced, and warms with its first set
    return len(addrs)


@contextmanager
def _connect(where: ClusterSettings) -> Iterator[Any]:
    """A client of the cluster for the sweep; what the sweep started (a local cluster, a
    client of an address) is closed at the end, a client passed in is left open."""
    from distributed import Client, LocalCluster

    if where.client is not None:
        _wait_workers(where.client, where, "the client's scheduler")
        yield where.client
        return
    if where.address is None:
        with LocalCluster(n_workers=where.workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=logging.CRITICAL) as local, Client(local) as client:
            yield client
        return
    flag = _names()[0]
    try:
        client = Client(where.address, timeout=where.connect_timeout)
    except Exception as exc:
        raise BacktestrError(f"{_spelt(flag, where.address)}: cannot reach a Dask scheduler "
                             f"at {where.address} within {where.connect_timeout:g} s ({type(exc).__name__}: {exc})"
                             ) from None
    try:
        _wait_workers(client, where, f"the scheduler at {where.address}")
        yield client
    finally:
        client.close()


def _wait_workers(client: Any, where: ClusterSettings, what: str) -> None:
    want = where.workers or 1
    try:
        client.wait_for_workers(want, timeout=where.worker_wait)
    except TimeoutError:
        have = len(client.scheduler_info()["workers"])
        raise BacktestrError(f"{what} has {have} worker(s); waited {where.worker_wait:g} s for {want} "
                             f"({_spelt(_names()[1], want)})") from None
