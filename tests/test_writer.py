"""backtestr/writer.py: decoded tables own their memory, and recycled buffers come back zeroed."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import backtestr as bt
from backtestr.writer import KINDS, Decoder, LogSink
from tests.test_orders_log import _mix

# EURUSD as in tests/rulekit.py: tick 0.00001, lot step 0.01, a USD account with 2 minor digits
DECODER = Decoder(["EURUSD"], np.array([0.00001]), np.array([0.01]), 2)


def _records(monkeypatch) -> dict[str, list[tuple[np.ndarray, dict | None]]]:
    """Copies of every record block a run of the order mix hands to its sink, by kind."""
    got: dict[str, list] = {k: [] for k in KINDS}
    add = LogSink.add

    def keep(self, kind, rec, tags=None, recycle=False):
        got[kind].append((rec.copy(), tags))
        add(self, kind, rec, tags, recycle)

    monkeypatch.setattr(LogSink, "add", keep)
    data, o = _mix(1, False)
    bt.run(data=data, orders=o, config={"run": {"chunk_rows": 7, "buffer_rows": 16, "log_level": "ticks"}})
    monkeypatch.undo()
    return got


def test_a_decoded_table_does_not_share_memory_with_its_records(monkeypatch) -> None:
    for kind, blocks in _records(monkeypatch).items():
        assert any(rec.shape[0] for rec, _ in blocks), kind
        for rec, tags in blocks:
            table = DECODER.table(kind, rec, tags)
            want = DECODER.table(kind, rec.copy(), tags)
            rec.view(np.uint8)[:] = 0x5A  # the writer zeroes a buffer once decoded: the table must not see it
            assert table.equals(want), kind


def test_a_recycled_buffer_comes_back_zeroed_and_only_when_asked(monkeypatch) -> None:
    rows = np.concatenate([rec for rec, _ in _records(monkeypatch)["fills"]])[:3]
    assert rows.shape[0] == 3 and rows.view(np.uint8).any()
    sink = LogSink(DECODER, None)
    buf = np.zeros(8, rows.dtype)
    buf[:3] = rows
    sink.add("fills", buf[:3], recycle=True)
    again = sink.buffer("fills", buf)
    assert again is buf and not again.view(np.uint8).any()
    assert sink.buffer("fills", buf) is not buf  # given out once
    other = np.zeros(8, rows.dtype)
    other[:3] = rows
    sink.add("fills", other[:3])  # not handed over for recycling: left alone
    assert other.view(np.uint8).any() and sink.buffer("fills", other) is not other
    assert pa.concat_tables(sink.parts["fills"]).num_rows == 6
