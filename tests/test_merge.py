"""The stable k-way merge of the reader (docs/architecture.md §3: time order, documented ties)."""

import numpy as np
import pytest
from backtestr.kernels.ingest import merge_gather


@pytest.mark.parametrize("sizes_carried", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3, 8, 9, 12, 17])
def test_merge_gather_is_a_stable_sort_by_ts_then_run(k, sizes_carried):
    rng = np.random.default_rng(k)
    sizes = rng.integers(0, 40, k)
    # few distinct times, so ties across runs are common
    runs = [np.sort(rng.integers(0, 25, n)).astype(np.int64) for n in sizes]
    ts = np.concatenate(runs) if runs else np.empty(0, np.int64)
    n = ts.shape[0]
    bounds = np.zeros(k + 1, np.int64)
    bounds[1:] = np.cumsum(sizes)
    run_of = np.repeat(np.arange(k), sizes).astype(np.int32)  # carried in the sym column
    row = np.arange(n, dtype=np.int64)  # carried in the bid column
    none = np.empty(0, np.int64)
    # quote sizes and funding rates ride along, or are absent
    sz = (3 * row, 5 * row, 7 * row) if sizes_carried else (none, none, none)
    out = (np.empty(n, np.int64), np.empty(n, np.int32), np.empty(n, np.int64), np.empty(n, np.int64),
           *((np.empty(n, np.int64), np.empty(n, np.int64)) if sizes_carried else (none, none)),
           np.empty(n, np.int64) if sizes_carried else none)
    scratch = tuple(np.empty(n, np.int64) for _ in range(4))
    assert merge_gather((ts, run_of, row, row.copy(), *sz), bounds, out, scratch) == n
    # reference: order by ts, then run index, then position in the run (= flat row)
    want = np.lexsort((row, run_of, ts))
    assert out[0].tolist() == ts[want].tolist()
    assert out[1].tolist() == run_of[want].tolist()
    assert out[2].tolist() == row[want].tolist()
    if sizes_carried:
        assert out[4].tolist() == (3 * row[want]).tolist() and out[5].tolist() == (5 * row[want]).tolist()
        assert out[6].tolist() == (7 * row[want]).tolist()
    else:
        assert out[4].shape[0] == 0 and out[5].shape[0] == 0 and out[6].shape[0] == 0
