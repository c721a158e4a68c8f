"""The orders log is written while the run goes on (docs/architecture.md §1).

After each chunk, the orders whose status is final, up to the first one that is
not, are handed to the writer. These tests run a mix of every order type and
action with small chunks and buffers, so the log goes out in many pieces, and
compare it with the log written whole at the end of the same run.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

import backtestr as bt
from backtestr.run import OrdersLog
from tests.rulekit import orders, ticks


def _mix(seed: int, shuffle_ids: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """400 ticks of a random walk and 120 orders of every type, action and time in force."""
    rnd = random.Random(seed)
    mid, rows = 110_000, []
    for i in range(400):
        mid += rnd.choice((-3, -1, 0, 1, 3))
        rows.append((i + 1, mid - 1, mid + 1))
    ids = list(range(100, 220))
    if shuffle_ids:
        rnd.shuffle(ids)
    out = []
    for k, oid in enumerate(ids):
        t = 0.5 + k * 3.2
        base = {"t": t, "id": oid, "tag": f"t{k}" if k % 3 else None}
        kind = rnd.choice(("market", "limit", "stop", "stop_limit", "modify", "cancel", "close", "trailing"))
        side = rnd.choice(("buy", "sell"))
        far = rnd.choice((-40, -5, 5, 40))
        if kind == "market":
            row = {"side": side, "qty": 0.1, "sl": mid - 60, "tp": mid + 60}
        elif kind in ("limit", "stop"):
            tif = "gtc" if k >= 100 else rnd.choice(("gtd", "gtd", "ioc"))  # a gtc order holds back the rest
            row = {"side": side, "qty": 0.2, "type": kind, "price" if kind == "limit" else "stop": mid + far,
                   "tif": tif, "expire": t + 20 if tif == "gtd" else None}
            if rnd.random() < 0.3:
                row["oco"] = k // 4
        elif kind == "stop_limit":
            row = {"side": side, "qty": 0.1, "type": "stop_limit", "stop": mid + far, "price": mid + far,
                   "tif": "gtd", "expire": t + 30}
        elif kind in ("modify", "cancel", "close"):
            row = {"action": kind, "ref": ids[max(0, k - rnd.randint(1, 6))]}
            if kind == "modify":
                row["price"] = mid + far
        else:
            row = {"side": side, "qty": 0.3, "trail": 20}
        out.append({**base, **row})
    return ticks(rows), orders(*out)


def _run(data: pl.DataFrame, o: pl.DataFrame, out=None) -> bt.Result:
    cfg = {"run": {"chunk_rows": 7, "buffer_rows": 16, "log_level": "events"}}
    return bt.run(data=data, orders=o, config=cfg, out=out)


def _handovers(monkeypatch) -> list[int]:
    """After each chunk, how many orders OrdersLog.flush has handed over so far (filled in as the run goes)."""
    done: list[int] = []
    flush = OrdersLog.flush

    def counting(self, recs, least):
        flush(self, recs, least)
        done.append(self.done)

    monkeypatch.setattr(OrdersLog, "flush", counting)
    return done


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("shuffle_ids", [False, True])
def test_streamed_orders_log_equals_the_log_written_at_the_end(seed, shuffle_ids, monkeypatch, tmp_path) -> None:
    data, o = _mix(seed, shuffle_ids)
    done = _handovers(monkeypatch)
    streamed = _run(data, o, tmp_path / "streamed")
    pieces = len(set(done) - {0})
    assert (pieces > 5) is (not shuffle_ids), done  # many pieces when ids ascend in time, none else
    monkeypatch.setattr(OrdersLog, "flush", lambda self, recs, least: None)
    whole = _run(data, o, tmp_path / "whole")
    s, w = streamed.orders, whole.orders
    assert s.height == 120 and s["order_id"].is_sorted()
    assert s.equals(w)
    statuses = set(s["status"].to_list())
    assert {"filled", "cancelled", "rejected", "unfilled"} <= statuses, statuses  # the mix has every ending
    assert s["tag"].null_count() == 40


def test_a_working_order_holds_back_the_orders_after_it(monkeypatch) -> None:
    # Order 0 is a limit buy far below the market (works to the end: unfilled); orders 1..5 are
    # market buys that fill at once. Nothing may be handed over before the end: the log is a
    # prefix of final orders.
    data = ticks([(i + 1, 110_000, 110_002) for i in range(30)])
    o = orders({"t": 0.5, "side": "buy", "qty": 0.1, "type": "limit", "price": 100_000},
               *({"t": 2.5 + 3 * k, "side": "buy", "qty": 0.1} for k in range(5)))
    done = _handovers(monkeypatch)
    res = bt.run(data=data, orders=o, config={"run": {"chunk_rows": 2, "buffer_rows": 16}})
    assert done and set(done) == {0}
    assert res.orders["status"].to_list() == ["unfilled"] + ["filled"] * 5
