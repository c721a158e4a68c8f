"""Many sources: each read in a window of chunk_rows / sources rows, merged into
chunks of about chunk_rows rows, in merge order (ts, then symbol name, then row)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from backtestr.reader import MIN_BATCH, TickStream, plan_sources
from tests.tickdata import T0


def _archive(root, k, rows, seed):
    rng = np.random.default_rng(seed)
    names = [f"S{j:02d}USD" for j in range(k)]
    want = []
    for j, s in enumerate(names):
        ts = T0 + np.sort(rng.integers(0, 10**12, rows))  # ties within and across symbols are possible
        ts[rows // 2] = ts[rows // 2 - 1]
        bid = 100_000 + np.arange(rows) * 3 + j  # no row repeats the one before it
        d = root / f"symbol={s}"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"ts": pa.array(ts).cast(pa.timestamp("ns", tz="UTC")), "bid": bid * 1e-5,
                                 "ask": (bid + 2) * 1e-5}), d / "p.parquet", row_group_size=3000)
        want.append((ts, np.full(rows, j), bid))
    ts, sym, bid = (np.concatenate(c) for c in zip(*want, strict=True))
    order = np.lexsort((sym, ts))  # by ts, ties by symbol; rows of a symbol keep their order (stable)
    return names, ts[order], sym[order], bid[order]


def test_many_sources_merge_in_windows(tmp_path):
    k, rows, chunk = 40, 10_000, 200_000
    names, ts, sym, bid = _archive(tmp_path / "a", k, rows, 5)
    stream = TickStream(plan_sources(tmp_path / "a"), names, np.full(k, 1e5), None, None, chunk, False)
    assert stream.batch_rows == max(chunk // k, MIN_BATCH) == 5000
    got = [(c.ts.copy(), c.sym.copy(), c.bid.copy()) for c in stream]  # a chunk's buffer is reused later
    # each merge takes rows of every source: a few chunks, not one per source's tail
    assert len(got) <= 2 * (k * rows) // chunk + 3
    assert max(c[0].shape[0] for c in got) <= 2 * chunk
    cat = [np.concatenate([c[i] for c in got]) for i in range(3)]
    assert np.array_equal(cat[0], ts) and np.array_equal(cat[1], sym) and np.array_equal(cat[2], bid)
    assert stream.stats.rows_read == stream.stats.rows_kept == k * rows and stream.stats.files == k
