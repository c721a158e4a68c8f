"""Import quote CSV files into the hive-partitioned tick archive.

The CSV is scanned lazily and processed in batches of ``chunk_rows`` rows:
each batch is validated, converted (timestamps to ns UTC, prices and sizes to
Float64) and spilled per (symbol, UTC date) into a staging directory inside
``out``. When every source is read, each partition is sorted by ``ts``
(stable: ties keep source order, then row order) and written atomically to
``symbol=SYM/date=YYYY-MM-DD/part-0.parquet`` with the archive's Parquet
settings. Memory is bounded by one batch while reading and by one
(symbol, date) partition while writing.

Rows are counted from 1 for the first data row of each file (the header, if
any, is not a row); ``line`` is the physical line of the file.
"""

from __future__ import annotations

import datetime as dt
import glob
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from backtestr.synth import TICK_POLARS_SCHEMA, partition_path, write_tick_file

from .errors import BacktestrError, term
from .outputs import Staged, stage

__all__ = ["CSV_FORMATS", "CsvFormat", "CsvImportError", "import_csv"]

FIELDS = ("ts", "bid", "ask", "bid_size", "ask_size", "symbol")
EPOCH_UNITS = {"epoch_s": 1_000_000_000, "epoch_ms": 1_000_000, "epoch_us": 1_000, "epoch_ns": 1}
_ROW = "__row"
_SEPARATORS = (",", ";", "\t", "|")


class CsvImportError(BacktestrError, ValueError):
    """A CSV file cannot be imported; the message names the file and the row."""


@dataclass(frozen=True)
class CsvFormat:
    """A named CSV layout.

    ``columns`` maps our field names to CSV column names, or to 0-based
    positions written as strings ("0", "1", ...) for files without a header.
    ``optional`` fields are used only when the file has the column.
    ``tz`` is the zone of naive times when the caller gives none.
    """

    has_header: bool
    columns: dict[str, str]
    ts_format: str | None = None
    sep: str | None = None
    tz: str = "UTC"
    optional: frozenset[str] = field(default_factory=frozenset)


CSV_FORMATS: dict[str, CsvFormat] = {
    # ts,bid,ask[,bid_size,ask_size][,symbol]; ISO-8601 or epoch integers.
    "generic": CsvFormat(
        has_header=True,
        columns={f: f for f in FIELDS},
        optional=frozenset({"bid_size", "ask_size", "symbol"}),
    ),
    # Gmt time,Ask,Bid,AskVolume,BidVolume with "01.01.2024 00:00:00.123".
    "dukascopy": CsvFormat(
        has_header=True,
        columns={
            "ts": "Gmt time",
            "ask": "Ask",
            "bid": "Bid",
            "ask_size": "AskVolume",
            "bid_size": "BidVolume",
        },
        ts_format="%d.%m.%Y %H:%M:%S%.f",
        optional=frozenset({"ask_size", "bid_size"}),
    ),
    # EUR/USD,20240102 00:00:00.123,bid,ask without header.
    "truefx": CsvFormat(
        has_header=False,
        columns={"symbol": "0", "ts": "1", "bid": "2", "ask": "3"},
        ts_format="%Y%m%d %H:%M:%S%.f",
    ),
    # 20240102 000000123,bid,ask,volume without header, ';' or ','; times are
    # Eastern Standard Time all year (UTC-5, no daylight saving).
    "histdata": CsvFormat(
        has_header=False,
        columns={"ts": "0", "bid": "1", "ask": "2"},
        ts_format="%Y%m%d %H%M%S%3f",
        tz="Etc/GMT+5",
    ),
}


# --------------------------------------------------------------------------- sources


def _expand(src: str | Path | list) -> list[Path]:
    items = list(src) if isinstance(src, (list, tuple)) else [src]
    paths: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(x for x in p.iterdir() if x.is_file() and x.suffix.lower() in (".csv", ".txt"))
            if not found:
                raise CsvImportError(f"{p}: no .csv or .txt files in this folder")
            paths.extend(found)
        elif p.is_file():
            paths.append(p)
        elif any(ch in str(item) for ch in "*?["):
            found = sorted(Path(x) for x in glob.glob(str(item)) if Path(x).is_file())
            if not found:
                raise CsvImportError(f"{item}: pattern matches no file")
            paths.extend(found)
        else:
            raise CsvImportError(f"{p}: no such file")
    if not paths:
        raise CsvImportError("no source files given")
    return paths


def _sniff_sep(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        line = fh.readline()
    counts = [line.count(s) for s in _SEPARATORS]
    return _SEPARATORS[counts.index(max(counts))] if max(counts) > 0 else ","


def _resolve_columns(
    path: Path, names: list[str], fmt: CsvFormat, mapping: dict[str, str] | None
) -> dict[str, str]:
    """Our field -> column name in the scanned frame."""
    wanted = dict(fmt.columns)
    optional = set(fmt.optional)
    for key, value in (mapping or {}).items():
        if key not in FIELDS:
            raise CsvImportError(f"{path}: unknown field {key!r} in mapping; fields are {list(FIELDS)}")
        wanted[key] = str(value)
        optional.discard(key)
    resolved: dict[str, str] = {}
    for key, col in wanted.items():
        if col in names:
            resolved[key] = col
        elif col.isdigit() and int(col) < len(names):
            resolved[key] = names[int(col)]
        elif key not in optional:
            raise CsvImportError(
                f"{path}: column {col!r} mapped to {key!r} not found; the file has columns {names}"
            )
    for key in ("ts", "bid", "ask"):
        if key not in resolved:
            raise CsvImportError(f"{path}: no column mapped to {key!r}")
    return resolved


# --------------------------------------------------------------------------- conversion


def _epoch_ns(raw: pl.Expr, unit: int | pl.Expr) -> pl.Expr:
    """Integer or decimal epoch text to int64 ns (null when malformed)."""
    m = raw.str.extract_groups(r"^([+-]?)(\d+)(?:\.(\d*))?$")
    whole = m.struct.field("2").cast(pl.Int64, strict=False)
    frac9 = m.struct.field("3").fill_null("").str.pad_end(9, "0").str.slice(0, 9).cast(pl.Int64, strict=False)
    # frac9 is the fraction in 1e-9 of a unit; the unit is ``unit`` ns.
    ns = pl.when(whole.abs() <= (2**63 - 1) // unit - 1).then(whole * unit + frac9 * unit // 1_000_000_000)
    return pl.when(m.struct.field("1") == "-").then(-ns).otherwise(ns)


def _auto_unit(raw: pl.Expr) -> pl.Expr:
    """Unit of an integer epoch from its magnitude (s, ms, us or ns)."""
    whole = raw.str.extract(r"^[+-]?(\d+)", 1).cast(pl.Float64, strict=False).abs()
    return (
        pl.when(whole >= 1e17)
        .then(pl.lit(1, pl.Int64))
        .when(whole >= 1e14)
        .then(pl.lit(1_000, pl.Int64))
        .when(whole >= 1e11)
        .then(pl.lit(1_000_000, pl.Int64))
        .otherwise(pl.lit(1_000_000_000, pl.Int64))
    )


def _localize(naive: pl.Expr, tz: str) -> pl.Expr:
    if tz == "UTC":
        return naive.dt.replace_time_zone("UTC")
    local = naive.dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def _ts_expr(raw: pl.Expr, ts_format: str | None, tz: str) -> pl.Expr:
    """Timestamp text -> int64 ns UTC, null where it cannot be parsed."""
    if ts_format in EPOCH_UNITS:
        return _epoch_ns(raw, EPOCH_UNITS[ts_format])
    if ts_format is not None:
        parsed = raw.str.strptime(pl.Datetime("ns"), ts_format, strict=False)
        if any(z in ts_format for z in ("%z", "%:z", "%#z")):
            return parsed.dt.convert_time_zone("UTC").cast(pl.Int64)
        return _localize(parsed, tz).cast(pl.Int64)
    # ISO-8601: "YYYY-MM-DD[T ]HH:MM[:SS[.f]]" with optional Z or +HH:MM; or epoch digits.
    text = raw.str.replace(r"^(\d{4}-\d{2}-\d{2})[Tt ]", "$1 ").str.replace(r"(?i)(Z|\s*UTC)$", "+00:00")
    is_epoch = text.str.contains(r"^[+-]?\d+(\.\d*)?$")
    is_aware = text.str.contains(r"[+-]\d{2}:?\d{2}$")
    aware = pl.coalesce(
        text.str.strptime(pl.Datetime("ns", "UTC"), "%Y-%m-%d %H:%M:%S%.f%#z", strict=False),
        text.str.strptime(pl.Datetime("ns", "UTC"), "%Y-%m-%d %H:%M%#z", strict=False),
    )
    naive = pl.coalesce(
        text.str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M:%S%.f", strict=False),
        text.str.strptime(pl.Datetime("ns"), "%Y-%m-%d %H:%M", strict=False),
    )
    return (
        pl.when(is_epoch)
        .then(_epoch_ns(text, _auto_unit(text)))
        .when(is_aware)
        .then(aware.dt.convert_time_zone("UTC").cast(pl.Int64))
        .otherwise(_localize(naive, tz).cast(pl.Int64))
    )


# Tried in order on the first value of a batch; the first that parses it is
# applied to the whole batch, and only rows it cannot parse go through the
# general (slower) expression.
_ISO_FAST = (
    ("%Y-%m-%dT%H:%M:%S%.f%#z", True),
    ("%Y-%m-%d %H:%M:%S%.f%#z", True),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%d %H:%M:%S%.f", False),
)


def _apply(fn, series: pl.Series, *args) -> pl.Series:
    """Evaluate an expression builder ``fn(expr, *args)`` on a series."""
    return pl.DataFrame({"x": series}).select(fn(pl.col("x"), *args)).to_series()


def _fast_ts(raw: pl.Series, ts_format: str | None, tz: str) -> pl.Series | None:
    """A cheap parse for the common homogeneous case, or None."""
    first = raw.drop_nulls().head(1)
    if first.len() == 0:
        return None
    if ts_format in EPOCH_UNITS or (ts_format is None and first.str.contains(r"^[+-]?\d+$").item()):
        whole = raw.cast(pl.Int64, strict=False)
        unit = EPOCH_UNITS.get(ts_format or "")
        off = pl.Series([False] * len(raw))
        if unit is None:
            unit = _apply(_auto_unit, first).item()
            off = _apply(_auto_unit, raw) != unit  # other magnitudes: the general path
        off |= whole.abs() > (2**63 - 1) // unit  # beyond int64 ns: unparseable
        return (whole * unit).set(off, None)
    if ts_format is not None:
        return None
    for fmt, aware in _ISO_FAST:
        dtype = pl.Datetime("ns", "UTC") if aware else pl.Datetime("ns")
        if first.str.strptime(dtype, fmt, strict=False).is_not_null().item():
            parsed = raw.str.strptime(dtype, fmt, strict=False)
            if not aware:
                parsed = _apply(_localize, parsed, tz)
            return parsed.cast(pl.Int64)
    return None


def _parse_ts(raw: pl.Series, ts_format: str | None, tz: str) -> pl.Series:
    """Timestamp text -> int64 ns UTC, null where it cannot be parsed."""
    fast = _fast_ts(raw, ts_format, tz)
    if fast is None:
        return _apply(_ts_expr, raw, ts_format, tz)
    redo = fast.is_null() & raw.is_not_null()
    if redo.any():
        idx = redo.arg_true()
        slow = _apply(_ts_expr, raw.gather(idx), ts_format, tz)
        fast = fast.scatter(idx, slow)
    return fast


def parse_times(raw: pl.Series, ts_format: str | None = None, tz: str = "UTC") -> pl.Series:
    """Time text -> int64 ns UTC, null where a value cannot be parsed (the forms of ``import_csv``'s
    ``ts_format``; with None: ISO-8601 with or without seconds and offset, or epoch digits)."""
    return _parse_ts(raw, ts_format, tz)


def _symbol_expr(raw: pl.Expr) -> pl.Expr:
    return raw.str.replace_all(r"[/\-_ ]", "").str.to_uppercase()


def _convert(
    batch: pl.DataFrame,
    path: Path,
    cols: dict[str, str],
    symbol: str | None,
    ts_format: str | None,
    tz: str,
    header_lines: int,
) -> pl.DataFrame:
    """Validate and convert one batch of text columns; raise on the first bad row."""
    raw = batch.select(
        pl.col(_ROW),
        *[pl.col(c).str.strip_chars().replace("", None).alias(f"raw_{k}") for k, c in cols.items()],
    )
    nums = [k for k in ("bid", "ask", "bid_size", "ask_size") if k in cols]
    conv = raw.with_columns(
        _parse_ts(raw["raw_ts"], ts_format, tz).alias("ts"),
        *[pl.col(f"raw_{k}").cast(pl.Float64, strict=False).alias(k) for k in nums],
        *([_symbol_expr(pl.col("raw_symbol")).alias("symbol")] if symbol is None else []),
    )
    # (condition, raw column shown, what is wrong), in the order they are reported for one row.
    checks: list[tuple[pl.Expr, str, str]] = [
        (pl.col("raw_ts").is_null(), "raw_ts", "missing timestamp"),
        (pl.col("ts").is_null(), "raw_ts", "unparseable timestamp"),
    ]
    for key in nums:
        kind = "price" if key in ("bid", "ask") else "size"
        if kind == "price":
            checks.append((pl.col(f"raw_{key}").is_null(), f"raw_{key}", f"missing {key} price"))
        checks.append(
            (
                pl.col(f"raw_{key}").is_not_null() & pl.col(key).is_null(),
                f"raw_{key}",
                f"non-numeric {key} {kind}",
            )
        )
        checks.append((~pl.col(key).is_finite(), f"raw_{key}", f"non-finite {key} {kind}"))
    if symbol is None:
        checks.append((pl.col("raw_symbol").is_null(), "raw_symbol", "missing symbol"))
        checks.append((~pl.col("symbol").str.contains(r"^[A-Z0-9._]+$"), "raw_symbol", "invalid symbol"))
    bad = conv.filter(pl.any_horizontal([c.fill_null(False) for c, _, _ in checks])).head(1)
    if bad.height:
        _raise_for_row(bad, checks, path, header_lines, ts_format, tz)

    return conv.select(
        pl.col("ts").cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"),
        "bid",
        "ask",
        (pl.col("bid_size") if "bid_size" in cols else pl.lit(None, pl.Float64)).alias("bid_size"),
        (pl.col("ask_size") if "ask_size" in cols else pl.lit(None, pl.Float64)).alias("ask_size"),
        (pl.col("symbol") if symbol is None else pl.lit(symbol)).alias("symbol"),
    ).with_columns(date=pl.col("ts").dt.date())


def _raise_for_row(
    bad: pl.DataFrame,
    checks: list[tuple[pl.Expr, str, str]],
    path: Path,
    header_lines: int,
    ts_format: str | None,
    tz: str,
) -> None:
    row = bad.row(0, named=True)
    n = row[_ROW]
    for cond, col, what in checks:
        if not bad.select(cond.fill_null(False)).item():
            continue
        value = row[col]
        detail = f" {value!r}" if value is not None else ""
        if what == "unparseable timestamp":
            in_utc = _apply(_ts_expr, pl.Series([value], dtype=pl.String), ts_format, "UTC").item()
            if tz != "UTC" and in_utc is not None:
                what = f"local time that does not exist or is ambiguous in {tz} (daylight saving change)"
            else:
                detail += f" (format {ts_format!r})" if ts_format else " (expected ISO-8601 or epoch digits)"
        raise CsvImportError(f"{path}: row {n} (line {n + header_lines}): {what}{detail}")


# --------------------------------------------------------------------------- driver


def _iso(ns: int) -> str:
    sec, frac = divmod(int(ns), 1_000_000_000)
    base = dt.datetime.fromtimestamp(sec, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


def import_csv(
    src: str | Path | list,
    out: str | Path,
    symbol: str | None = None,
    fmt: str = "generic",
    mapping: dict[str, str] | None = None,
    ts_format: str | None = None,
    tz: str | None = None,
    sep: str | None = None,
    has_header: bool | None = None,
    overwrite: bool = False,
    chunk_rows: int = 1_000_000,
    instruments: list[str | Path] = (),
) -> dict:
    """Import CSV quote files into the archive under ``out``.

    ``src``: a file, a folder (its .csv/.txt files), a glob pattern, or a list
    of these. ``symbol`` names every row; when None it comes from the mapped
    ``symbol`` column ("EUR/USD" becomes "EURUSD"). Every symbol must be in the
    instrument registry: the built-in one plus the TOML files ``instruments``.
    ``mapping`` maps our fields (ts, bid, ask, bid_size, ask_size, symbol) to
    CSV column names or 0-based positions ("0", "1", ...) and overrides the
    preset ``fmt``.
    ``ts_format``: a strptime format, "epoch_s", "epoch_ms", "epoch_us",
    "epoch_ns", or None for the preset's format, else ISO-8601 (epoch digits
    are also accepted, their unit taken from their magnitude). Naive times are
    in ``tz`` (default: the preset's zone, UTC except for histdata); a time
    that does not exist or is ambiguous in ``tz`` is refused. ``sep`` and
    ``has_header`` default to the preset's (the separator is sniffed from the
    first line when the preset has none). Missing sizes are written as null.

    ``out`` must be missing, an empty folder or an archive written by
    backtestr (``data synth`` or ``data import``); the new partitions are added
    to it, and existing partition files are refused unless ``overwrite``. A
    failed import writes nothing (docs/safety.md).

    Returns ``{"rows", "files", "symbols", "start", "end"}`` (ISO-8601 UTC).
    """
    if fmt not in CSV_FORMATS:
        raise CsvImportError(f"unknown CSV format {fmt!r}; known: {sorted(CSV_FORMATS)}")
    preset = CSV_FORMATS[fmt]
    if ts_format is None and not (mapping and "ts" in mapping):
        ts_format = preset.ts_format
    tz = preset.tz if tz is None else tz
    try:
        ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError):
        raise CsvImportError(f"unknown time zone {tz!r} in {term('tz')} (an IANA name such as "
                             "Europe/London, or UTC)") from None
    header = preset.has_header if has_header is None else has_header
    if chunk_rows < 1:
        raise CsvImportError(f"chunk_rows must be >= 1, got {chunk_rows}")
    registry = _registry(instruments)
    if symbol is not None:
        symbol = symbol.strip()
        if not re.fullmatch(r"[A-Za-z0-9._]+", symbol):
            raise CsvImportError(f"invalid symbol {symbol!r} in {term('symbol')}: use letters, digits, '.' and '_'")
        _known(registry, [symbol])
    paths = _expand(src)
    staged = stage(out, "archive", "data import", add=True, replace_arg="overwrite")
    with staged:
        info = _import(paths, staged, symbol, preset, mapping, ts_format, tz, sep, header, overwrite,
                       chunk_rows, registry)
    return info


def _registry(instruments: list[str | Path]) -> set[str]:
    from .config import load_config
    from .instruments import load_registry

    return set(load_registry(load_config(), list(instruments)))


def _known(registry: set[str], symbols: list[str]) -> None:
    unknown = sorted(set(symbols) - registry)
    if unknown:
        raise CsvImportError(f"symbol(s) {', '.join(unknown)} not in the instrument registry; nothing was "
                             f"imported (describe them in a TOML file and give {term('instruments')})")


def _import(paths: list[Path], staged: Staged, symbol: str | None, preset: CsvFormat,
            mapping: dict[str, str] | None, ts_format: str | None, tz: str, sep: str | None, header: bool,
            overwrite: bool, chunk_rows: int, registry: set[str]) -> dict:
    spill_dir = staged.path / ".spill"
    spills: dict[tuple[str, dt.date], list[Path]] = {}
    n_spill = 0
    rows = 0
    try:
        for path in paths:
            if path.stat().st_size == 0:
                continue
            separator = sep or preset.sep or _sniff_sep(path)
            lf = pl.scan_csv(
                path,
                has_header=header,
                separator=separator,
                infer_schema=False,
                row_index_name=_ROW,
                row_index_offset=1,
                truncate_ragged_lines=False,
            )
            try:
                names = [c for c in lf.collect_schema().names() if c != _ROW]
            except pl.exceptions.PolarsError as exc:
                raise CsvImportError(f"{path}: cannot read CSV: {_polars_reason(exc, path, separator, header)}") from None
            cols = _resolve_columns(path, names, preset, mapping)
            if symbol is None and "symbol" not in cols:
                raise CsvImportError(f"{path}: no {term('symbol')} given and no symbol column mapped")
            lf = lf.select(_ROW, *dict.fromkeys(cols.values()))
            try:
                batches = lf.collect_batches(chunk_size=chunk_rows)
                for batch in batches:
                    if batch.height == 0:
                        continue
                    conv = _convert(batch, path, cols, symbol, ts_format, tz, 1 if header else 0)
                    rows += conv.height
                    for (sym, day), part in conv.partition_by(
                        ["symbol", "date"], as_dict=True, maintain_order=True
                    ).items():
                        spill = spill_dir / f"{n_spill:08d}.parquet"
                        spill_dir.mkdir(exist_ok=True)
                        part.drop("symbol", "date").write_parquet(spill, compression="lz4", statistics=False)
                        spills.setdefault((sym, day), []).append(spill)
                        n_spill += 1
            except pl.exceptions.PolarsError as exc:
                raise CsvImportError(f"{path}: cannot read CSV: {_polars_reason(exc, path, separator, header)}") from None
        if not spills:
            raise CsvImportError(f"no data rows in {', '.join(str(p) for p in paths)}; nothing was written")
        _known(registry, sorted({sym for sym, _ in spills}))
        targets = {key: partition_path(staged.path, key[0], key[1]) for key in sorted(spills)}
        existing = [str(partition_path(staged.out, *key)) for key in targets if staged.out.is_dir()
                    and partition_path(staged.out, *key).exists()]
        if existing and not overwrite:
            shown = ", ".join(existing[:3]) + (" ..." if len(existing) > 3 else "")
            raise CsvImportError(
                f"{len(existing)} partition file(s) already exist: {shown}; pass {term('overwrite')} "
                "to replace them"
            )
        start = end = None
        for key, target in targets.items():
            frame = pl.concat([pl.read_parquet(p) for p in spills[key]]).sort("ts", maintain_order=True)
            write_tick_file(target, frame.cast(TICK_POLARS_SCHEMA))
            lo, hi = frame["ts"].cast(pl.Int64).min(), frame["ts"].cast(pl.Int64).max()
            start = lo if start is None else min(start, lo)
            end = hi if end is None else max(end, hi)
            for p in spills[key]:
                p.unlink()
    finally:
        shutil.rmtree(spill_dir, ignore_errors=True)
    return {
        "rows": rows,
        "files": len(spills),
        "symbols": sorted({sym for sym, _ in spills}),
        "start": None if start is None else _iso(start),
        "end": None if end is None else _iso(end),
    }


def _polars_reason(exc: Exception, path: Path, sep: str, header: bool) -> str:
    """What is wrong with the file, in place of a Polars error and its hints about Polars' options."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "truncate_ragged_lines" in str(exc) or "more fields" in text:
        return _ragged(path, sep, header)
    return text


def _ragged(path: Path, sep: str, header: bool) -> str:
    """Name the first record with more fields than the first line (the header, if any)."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=sep)
        width = None
        for n, rec in enumerate(reader, start=0 if header else 1):
            if width is None:
                width = len(rec)
            elif len(rec) > width:
                first = "the header" if header else "the first row"
                return (f"row {n} (line {reader.line_num}) has {len(rec)} fields, {first} has {width}; "
                        "every row needs the same number of fields")
    return "some row has more fields than the first line; every row needs the same number of fields"
