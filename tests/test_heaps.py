"""The pairing heaps against a sorted list, on random operation sequences."""

from __future__ import annotations

import numpy as np
from backtestr.kernels import heaps
from backtestr.kernels.records import HK_COLS, HK_PREV
from hypothesis import given, settings
from hypothesis import strategies as st

N_NODES = 24
B = N_NODES * HK_COLS  # use the second of two node regions, as the TP heap does


def _table() -> np.ndarray:
    t = np.full(2 * N_NODES * HK_COLS, -1, dtype=np.int64)
    t[HK_PREV::HK_COLS] = -2
    return t


def _key(N: np.ndarray, x: int) -> int:
    return int(N[B + HK_COLS * x])


def _check_order(N: np.ndarray, root: int, ref: dict[int, int]) -> None:
    """Popping a copy yields the reference in (key, node) order."""
    M = N.copy()
    got = []
    r = root
    while r >= 0:
        got.append((_key(M, r), r))
        r = heaps.pop(M, B, r)
    assert got == sorted((k, x) for x, k in ref.items())


ops = st.lists(st.tuples(st.sampled_from(["push", "pop", "remove", "update"]),
                         st.integers(0, N_NODES - 1), st.integers(-50, 50)), max_size=120)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_heap_matches_sorted_reference(seq: list[tuple[str, int, int]]) -> None:
    N = _table()
    root = -1
    ref: dict[int, int] = {}
    for op, x, k in seq:
        if op == "push" and x not in ref:
            root = heaps.push(N, B, root, x, k, x)
            ref[x] = k
        elif op == "pop" and ref:
            top = min((v, n) for n, v in ref.items())
            assert root == top[1] and _key(N, root) == top[0]
            root = heaps.pop(N, B, root)
            del ref[top[1]]
        elif op == "remove" and x in ref:
            root = heaps.remove(N, B, root, x)
            del ref[x]
        elif op == "update" and x in ref:
            root = heaps.update(N, B, root, x, k)
            ref[x] = k
        for n in range(N_NODES):
            assert heaps.in_heap(N, B, n) == (n in ref)
        assert (root == -1) == (not ref)
    _check_order(N, root, ref)
    assert (N[:B][HK_PREV::HK_COLS] == -2).all()  # the other heap's nodes are untouched


def test_ties_break_by_node() -> None:
    N = _table()
    root = -1
    for x in (5, 3, 9, 1):
        root = heaps.push(N, B, root, x, 7, x)
    out = []
    while root >= 0:
        out.append(root)
        root = heaps.pop(N, B, root)
    assert out == [1, 3, 5, 9]
