import calendar
import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from backtestr.importer import CSV_FORMATS, CsvImportError, import_csv
from backtestr.synth import TICK_SCHEMA


def ns(y, mo, d, h=0, mi=0, s=0, frac_ns=0):
    """Nanoseconds since the epoch of a UTC wall time."""
    return calendar.timegm((y, mo, d, h, mi, s)) * 10**9 + frac_ns


def part(out: Path, symbol: str, day: str) -> Path:
    return out / f"symbol={symbol}" / f"date={day}" / "part-0.parquet"


def rows(path: Path) -> list[tuple]:
    frame = pl.read_parquet(path).with_columns(pl.col("ts").cast(pl.Int64))
    return frame.rows()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_presets_exist():
    assert {"generic", "dukascopy", "truefx", "histdata"} <= set(CSV_FORMATS)


def test_generic_iso_mixed_forms_sorted_and_split_by_date(tmp_path):
    src = write(
        tmp_path / "q.csv",
        "ts,bid,ask,bid_size,ask_size\n"
        "2024-01-02T00:00:01.000000002Z,1.10002,1.10012,1.5,2\n"
        "2024-01-02 00:00:00.5,1.10000,1.10010,1,1\n"
        "2024-01-02T01:00:01+01:00,1.10001,1.10011,3,4\n"  # = 00:00:01 UTC, same ts as next
        "2024-01-02T00:00:01Z,1.10003,1.10013,5,6\n"
        "2024-01-03T00:00:00Z,1.2,1.3,7,8\n",
    )
    out = tmp_path / "out"
    summary = import_csv(src, out, "EURUSD")
    assert summary == {
        "rows": 5,
        "files": 2,
        "symbols": ["EURUSD"],
        "start": "2024-01-02T00:00:00.500000000Z",
        "end": "2024-01-03T00:00:00.000000000Z",
    }
    assert rows(part(out, "EURUSD", "2024-01-02")) == [
        (ns(2024, 1, 2, 0, 0, 0, 500_000_000), 1.1, 1.1001, 1.0, 1.0),
        # equal timestamps keep file order (stable sort)
        (ns(2024, 1, 2, 0, 0, 1), 1.10001, 1.10011, 3.0, 4.0),
        (ns(2024, 1, 2, 0, 0, 1), 1.10003, 1.10013, 5.0, 6.0),
        (ns(2024, 1, 2, 0, 0, 1, 2), 1.10002, 1.10012, 1.5, 2.0),
    ]
    assert rows(part(out, "EURUSD", "2024-01-03")) == [(ns(2024, 1, 3), 1.2, 1.3, 7.0, 8.0)]
    assert pq.read_schema(part(out, "EURUSD", "2024-01-03")).remove_metadata() == TICK_SCHEMA
    # the manifest, no staging
    assert [p for p in out.rglob("*") if p.name.startswith(".")] == [out / ".backtestr-manifest.json"]


def test_dukascopy(tmp_path):
    src = write(
        tmp_path / "EURUSD_Ticks.csv",
        "Gmt time,Ask,Bid,AskVolume,BidVolume\n"
        "01.01.2024 23:59:59.999,1.10520,1.10510,0.75,1.2\n"
        "02.01.2024 00:00:00.123,1.10530,1.10515,2.25,0.9\n",
    )
    out = tmp_path / "out"
    import_csv(src, out, "EURUSD", fmt="dukascopy")
    assert rows(part(out, "EURUSD", "2024-01-01")) == [
        (ns(2024, 1, 1, 23, 59, 59, 999_000_000), 1.1051, 1.1052, 1.2, 0.75)
    ]
    assert rows(part(out, "EURUSD", "2024-01-02")) == [
        (ns(2024, 1, 2, 0, 0, 0, 123_000_000), 1.10515, 1.1053, 0.9, 2.25)
    ]


def test_truefx_symbol_from_file(tmp_path):
    src = write(
        tmp_path / "t.csv",
        "EUR/USD,20240102 00:00:00.123,1.10000,1.10010\n"
        "GBP/USD,20240102 00:00:00.456,1.27000,1.27012\n"
        "EUR/USD,20240102 00:00:01.000,1.10001,1.10011\n",
    )
    out = tmp_path / "out"
    summary = import_csv(src, out, None, fmt="truefx")
    assert summary["symbols"] == ["EURUSD", "GBPUSD"]
    assert rows(part(out, "EURUSD", "2024-01-02")) == [
        (ns(2024, 1, 2, 0, 0, 0, 123_000_000), 1.1, 1.1001, None, None),
        (ns(2024, 1, 2, 0, 0, 1), 1.10001, 1.10011, None, None),
    ]
    assert rows(part(out, "GBPUSD", "2024-01-02")) == [
        (ns(2024, 1, 2, 0, 0, 0, 456_000_000), 1.27, 1.27012, None, None)
    ]


def test_histdata_semicolon_est_to_utc(tmp_path):
    # HistData times are EST all year (UTC-5): 20:00:00.5 on Jan 1 is 01:00:00.5 UTC on Jan 2.
    src = write(tmp_path / "h.csv", "20240101 200000500;1.10000;1.10010;0\n20240101 185959999;1.2;1.3;0\n")
    out = tmp_path / "out"
    import_csv(src, out, "EURUSD", fmt="histdata")
    assert rows(part(out, "EURUSD", "2024-01-02")) == [
        (ns(2024, 1, 2, 1, 0, 0, 500_000_000), 1.1, 1.1001, None, None)
    ]
    assert rows(part(out, "EURUSD", "2024-01-01")) == [
        (ns(2024, 1, 1, 23, 59, 59, 999_000_000), 1.2, 1.3, None, None)
    ]
    # An explicit zone wins over the preset's.
    out2 = tmp_path / "out2"
    import_csv(src, out2, "EURUSD", fmt="histdata", tz="UTC")
    assert rows(part(out2, "EURUSD", "2024-01-01"))[0][0] == ns(2024, 1, 1, 18, 59, 59, 999_000_000)


def test_mapping_positions_and_epoch(tmp_path):
    src = write(tmp_path / "e.csv", "x,1704153600123,1.5,1.6\nx,1704153600124,1.7,1.8\n")
    out = tmp_path / "out"
    import_csv(
        src,
        out,
        "BTCUSD",
        has_header=False,
        mapping={"ts": "1", "bid": "2", "ask": "3"},
        ts_format="epoch_ms",
    )
    assert rows(part(out, "BTCUSD", "2024-01-02")) == [
        (ns(2024, 1, 2, 0, 0, 0, 123_000_000), 1.5, 1.6, None, None),
        (ns(2024, 1, 2, 0, 0, 0, 124_000_000), 1.7, 1.8, None, None),
    ]


def test_mapping_names_and_decimal_epoch_seconds(tmp_path):
    src = write(tmp_path / "m.csv", "time|b|a\n1704153600.000000001|10|11\n")
    out = tmp_path / "out"
    import_csv(src, out, "EURUSD", mapping={"ts": "time", "bid": "b", "ask": "a"}, ts_format="epoch_s")
    assert rows(part(out, "EURUSD", "2024-01-02")) == [(ns(2024, 1, 2, 0, 0, 0, 1), 10.0, 11.0, None, None)]


def test_naive_times_in_a_zone(tmp_path):
    # London is UTC+1 in July: 00:30 local is 23:30 UTC the day before.
    src = write(tmp_path / "z.csv", "ts,bid,ask\n2024-07-02 00:30:00,1,2\n")
    out = tmp_path / "out"
    import_csv(src, out, "EURUSD", tz="Europe/London")
    assert rows(part(out, "EURUSD", "2024-07-01")) == [(ns(2024, 7, 1, 23, 30), 1.0, 2.0, None, None)]


def test_small_batches_give_identical_files(tmp_path):
    lines = [f"2024-01-0{2 + i % 2}T00:00:{i:02d}Z,{1 + i / 100},{1.01 + i / 100}" for i in range(40)]
    src = write(tmp_path / "b.csv", "ts,bid,ask\n" + "\n".join(lines) + "\n")
    a, b = tmp_path / "a", tmp_path / "b"
    import_csv(src, a, "EURUSD")
    import_csv(src, b, "EURUSD", chunk_rows=3)
    for day in ("2024-01-02", "2024-01-03"):
        assert part(a, "EURUSD", day).read_bytes() == part(b, "EURUSD", day).read_bytes()


def test_error_names_file_and_row_for_bad_price(tmp_path):
    src = write(
        tmp_path / "bad.csv",
        "ts,bid,ask\n" + "2024-01-02T00:00:00Z,1,2\n" * 4 + "2024-01-02T00:00:01Z,1.1,abc\n",
    )
    with pytest.raises(CsvImportError) as err:
        import_csv(src, tmp_path / "out", "EURUSD", chunk_rows=2)  # the bad row is in the third batch
    msg = str(err.value)
    assert str(src) in msg and "row 5 (line 6)" in msg and "non-numeric ask price 'abc'" in msg
    assert not (tmp_path / "out" / "symbol=X").exists()


def test_error_names_row_for_bad_timestamp(tmp_path):
    src = write(tmp_path / "bad.csv", "ts,bid,ask\n2024-01-02T00:00:00Z,1,2\n2024-01-32T00:00:00Z,1,2\n")
    with pytest.raises(
        CsvImportError, match=r"bad\.csv: row 2 \(line 3\): unparseable timestamp '2024-01-32"
    ):
        import_csv(src, tmp_path / "out", "EURUSD")
    src = write(tmp_path / "dk.csv", "Gmt time,Ask,Bid,AskVolume,BidVolume\n2024-01-02,1,1,1,1\n")
    with pytest.raises(CsvImportError, match=r"row 1 \(line 2\): unparseable timestamp .*format"):
        import_csv(src, tmp_path / "out", "EURUSD", fmt="dukascopy")


def test_error_missing_values_and_dst_gap(tmp_path):
    src = write(tmp_path / "m.csv", "ts,bid,ask\n2024-01-02T00:00:00Z,1,2\n2024-01-02T00:00:01Z,,2\n")
    with pytest.raises(CsvImportError, match=r"row 2 \(line 3\): missing bid price"):
        import_csv(src, tmp_path / "out", "EURUSD")
    # 02:30 on 2024-03-10 does not exist in New York (clocks jump from 02:00 to 03:00).
    src = write(tmp_path / "dst.csv", "ts,bid,ask\n2024-03-10 02:30:00,1,2\n")
    with pytest.raises(CsvImportError, match=r"row 1 \(line 2\): local time .* America/New_York"):
        import_csv(src, tmp_path / "out", "EURUSD", tz="America/New_York")


def test_error_missing_mapped_column(tmp_path):
    src = write(tmp_path / "c.csv", "time,bid,ask\n2024-01-02T00:00:00Z,1,2\n")
    with pytest.raises(
        CsvImportError,
        match=r"c\.csv: column 'ts' mapped to 'ts' not found.*\['time', 'bid', 'ask'\]",
    ):
        import_csv(src, tmp_path / "out", "EURUSD")
    with pytest.raises(CsvImportError, match="no symbol"):
        import_csv(src, tmp_path / "out", None, mapping={"ts": "time"})


def test_existing_partition_refused_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    import_csv(write(tmp_path / "a.csv", "ts,bid,ask\n2024-01-02T00:00:00Z,1,2\n"), out, "EURUSD")
    newer = write(tmp_path / "b.csv", "ts,bid,ask\n2024-01-02T00:00:05Z,3,4\n")
    with pytest.raises(CsvImportError, match="already exist.*overwrite=True"):
        import_csv(newer, out, "EURUSD")
    assert rows(part(out, "EURUSD", "2024-01-02")) == [(ns(2024, 1, 2), 1.0, 2.0, None, None)]
    import_csv(newer, out, "EURUSD", overwrite=True)
    assert rows(part(out, "EURUSD", "2024-01-02")) == [(ns(2024, 1, 2, 0, 0, 5), 3.0, 4.0, None, None)]


def test_several_sources_merge_stably(tmp_path):
    a = write(tmp_path / "1.csv", "ts,bid,ask\n2024-01-02T00:00:01Z,1,2\n")
    b = write(tmp_path / "2.csv", "ts,bid,ask\n2024-01-02T00:00:00Z,5,6\n2024-01-02T00:00:01Z,3,4\n")
    out = tmp_path / "out"
    assert import_csv([a, b], out, "EURUSD")["rows"] == 3
    assert rows(part(out, "EURUSD", "2024-01-02")) == [
        (ns(2024, 1, 2), 5.0, 6.0, None, None),
        (ns(2024, 1, 2, 0, 0, 1), 1.0, 2.0, None, None),
        (ns(2024, 1, 2, 0, 0, 1), 3.0, 4.0, None, None),
    ]
    # A folder imports its CSV files in name order.
    out2 = tmp_path / "out2"
    import_csv(tmp_path, out2, "EURUSD")
    assert part(out2, "EURUSD", "2024-01-02").read_bytes() == part(out, "EURUSD", "2024-01-02").read_bytes()


def test_synth_day_round_trips_through_csv(tmp_path):
    from backtestr.synth import synth_symbol_day

    frame = synth_symbol_day("EURUSD", dt.date(2024, 1, 3), 5, rate=0.02)
    src = tmp_path / "s.csv"
    frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.9fZ")).write_csv(src)
    out = tmp_path / "out"
    import_csv(src, out, "EURUSD")
    assert pl.read_parquet(part(out, "EURUSD", "2024-01-03")).equals(frame)


def test_unknown_time_zone_is_refused_naming_the_argument(tmp_path):
    src = write(tmp_path / "q.csv", "ts,bid,ask\n2024-01-02T00:00:00,1,2\n")
    with pytest.raises(CsvImportError, match=r"unknown time zone 'Nope/Zone' in tz"):
        import_csv(src, tmp_path / "out", "EURUSD", tz="Nope/Zone")
    assert not (tmp_path / "out").exists()


def test_symbol_not_in_the_registry_is_refused_before_writing(tmp_path):
    src = write(tmp_path / "q.csv", "ts,bid,ask\n2024-01-02T00:00:00Z,1,2\n")
    with pytest.raises(CsvImportError, match=r"EURSEK not in the instrument registry.*instruments=\[FILE\]"):
        import_csv(src, tmp_path / "out", "EURSEK")
    assert not (tmp_path / "out").exists()
    reg = write(tmp_path / "sek.toml", '[EURSEK]\nkind = "fx"\nbase = "EUR"\nquote = "SEK"\n'
                'tick_size = "0.0001"\nlot_step = "0.01"\ncontract_size = "100000"\n')
    assert import_csv(src, tmp_path / "out", "EURSEK", instruments=[reg])["symbols"] == ["EURSEK"]


def test_a_file_without_data_rows_writes_nothing(tmp_path):
    src = write(tmp_path / "q.csv", "ts,bid,ask\n")
    with pytest.raises(CsvImportError, match="no data rows.*nothing was written"):
        import_csv(src, tmp_path / "out", "EURUSD")
    assert not (tmp_path / "out").exists()
