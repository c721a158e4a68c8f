"""Instrument registry and the integer settings the kernel uses.

The registry is ``instruments.toml`` beside this file, then any user files,
then ``[instruments.X]`` tables of the run config. ``kernel_table`` turns the
Decimal specs into exact rationals (docs/architecture.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from .config import Config, minor_digits, parse_instrument
from .errors import ConfigError
from .kernels.records import INSTRUMENT

BUILTIN = Path(__file__).with_name("instruments.toml")
_I64_SAFE = 2**62


@dataclass(frozen=True)
class Instrument:
    symbol: str
    tick_size: Decimal
    lot_step: Decimal
    contract_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    quote: str
    base: str = ""
    kind: str = "other"
    quote_to_account: Decimal | None = None

    def ticks(self, price: Decimal) -> int:
        t = price / self.tick_size
        if t != t.to_integral_value():
            raise ValueError(f"{price} is not a whole number of ticks of {self.tick_size}")
        return int(t)

    def steps(self, qty: Decimal) -> int:
        s = qty / self.lot_step
        if s != s.to_integral_value():
            raise ValueError(f"{qty} is not a whole number of lot steps of {self.lot_step}")
        return int(s)

    @property
    def digits(self) -> int:
        return max(0, -self.tick_size.normalize().as_tuple().exponent)


def load_registry(cfg: Config, files: list[str | Path] = ()) -> dict[str, Instrument]:
    tables: dict[str, dict[str, Any]] = {}
    for path in [BUILTIN, *files]:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"instrument file {p} does not exist")
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        data = data.get("instruments", data)
        for sym, table in data.items():
            tables.setdefault(sym, {}).update(parse_instrument(sym, table, str(p)))
    for sym, table in cfg.instruments.items():
        tables.setdefault(sym, {}).update(table)
    out = {}
    for sym, t in tables.items():
        for req in ("tick_size", "lot_step"):
            if t.get(req) is None:
                raise ConfigError(f"instrument {sym}: {req} is required")
        out[sym] = Instrument(
            symbol=sym, tick_size=t["tick_size"], lot_step=t["lot_step"],
            contract_size=t.get("contract_size", Decimal(1)), min_qty=t.get("min_qty", Decimal(0)),
            max_qty=t.get("max_qty", Decimal(0)), quote=t.get("quote", "USD"), base=t.get("base", ""),
            kind=t.get("kind", "other"), quote_to_account=t.get("quote_to_account"),
        )
    return out


def _frac(x: Fraction, what: str) -> tuple[int, int]:
    if x.numerator >= _I64_SAFE or x.denominator >= _I64_SAFE:
        raise ConfigError(f"{what} = {x} cannot be held exactly in 64-bit integers")
    return x.numerator, x.denominator


def _whole_minor(v: Decimal, digits: int, what: str) -> int:
    m = Fraction(v) * 10**digits
    if m.denominator != 1:
        raise ConfigError(f"{what} = {v} has more decimal places than the account currency ({digits})")
    return int(m)


def kernel_table(symbols: list[str], reg: dict[str, Instrument], cfg: Config) -> np.ndarray:
    """The INSTRUMENT records for ``symbols`` (in stream order)."""
    digits = minor_digits(cfg)
    ccy = cfg["account.currency"]
    out = np.zeros(len(symbols), INSTRUMENT)
    for i, sym in enumerate(symbols):
        ins = reg[sym]
        rate = ins.quote_to_account
        if rate is None:
            if ins.quote != ccy:
                raise ConfigError(
                    f"instrument {sym} is quoted in {ins.quote} but the account is in {ccy}: "
                    f"set instruments.{sym}.quote_to_account")
            rate = Decimal(1)
        v = Fraction(ins.tick_size) * Fraction(ins.lot_step) * Fraction(ins.contract_size) * Fraction(rate)
        v *= 10**digits
        com = dict(cfg.values["commission"])
        com.update(cfg.commission_by_symbol.get(sym, {}))
        r = out[i]
        r["value_num"], r["value_den"] = _frac(v, f"tick value of {sym}")
        r["value_inv"] = 1.0 / r["value_den"]
        r["value_lim"] = (1 << 52) // max(1, abs(int(r["value_num"])))
        r["comm_frac_num"], r["comm_frac_den"] = _frac(Fraction(com["fraction"]) * v, f"commission.fraction x tick value of {sym}")
        lot = Fraction(com["per_lot"]) * 10**digits * Fraction(ins.lot_step)
        r["comm_lot_num"], r["comm_lot_den"] = _frac(lot, f"commission.per_lot of {sym}")
        r["comm_fixed_minor"] = _whole_minor(com["per_order"], digits, "commission.per_order")
        r["comm_min_minor"] = _whole_minor(com["minimum"], digits, "commission.minimum")
        r["min_steps"] = -(-Fraction(ins.min_qty) // Fraction(ins.lot_step))  # ceil
        r["max_steps"] = Fraction(ins.max_qty) // Fraction(ins.lot_step)
    return out
