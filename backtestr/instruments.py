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

from .config import (
    INSTRUMENT_KEYS,
    Config,
    _check_margin_keys,
    hhmm_ns,
    minor_digits,
    parse_instrument,
    read_toml,
)
from .errors import ConfigError
from .fx_paths import RatePath, check_range, fixed_rate, leg_scale
from .kernels.enums import RATE_DIGITS
from .kernels.records import INSTRUMENT, SWAP_NONE, SWAP_PERCENT, SWAP_POINTS
from .risk import max_order_steps

BUILTIN = Path(__file__).with_name("instruments.toml")
_I64_SAFE = 2**62
SWAP_KINDS = {"none": SWAP_NONE, "points": SWAP_POINTS, "percent": SWAP_PERCENT}
FX_SWAP_DAYS = (1, 1, 3, 1, 1, 0, 0)  # Monday first: triple Wednesday, no weekend
ALL_SWAP_DAYS = (1, 1, 1, 1, 1, 1, 1)


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
    # swap and funding (docs/execution.md §7)
    swap_mode: str = "none"  # none | points | percent
    swap_long: Decimal = Decimal(0)  # received per lot per day: points, or percent per year
    swap_short: Decimal = Decimal(0)
    swap_time: str = "22:00"  # rollover, UTC
    swap_days: tuple[int, ...] = ALL_SWAP_DAYS  # multiplier per weekday, Monday first
    swap_year_days: int = 365
    funding_rate: Decimal | str = Decimal(0)  # fraction of notional per interval (a long pays a positive
    # rate), or "column": the latest value of the data's funding_rate column
    funding_interval_ns: int | None = None  # None: no funding
    funding_time: str = "00:00"
    # margin (docs/risk.md §1): a rate, or leverage L with rate 1 / L; None = not set
    leverage: Decimal | None = None
    margin_rate: Decimal | None = None
    margin_per_lot: Decimal | None = None  # fixed margin per lot, quote currency (docs/currency.md §6)
    margin_hedged: Decimal = Decimal(1)  # share of the smaller of two opposite sides charged

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
    layers: dict[str, list[str]] = {}  # where each symbol's keys came from
    for path in [BUILTIN, *files]:
        p = Path(path)
        data = read_toml(p, "instrument file")
        data = data.get("instruments", data)
        for sym, table in data.items():
            tables.setdefault(sym, {}).update(parse_instrument(sym, table, str(p)))
            layers.setdefault(sym, []).append(str(p))
    for sym, table in cfg.instruments.items():
        tables.setdefault(sym, {}).update(table)
        layers.setdefault(sym, []).append("the config")
    out = {}
    for sym, t in tables.items():
        _check_margin_keys(sym, t, " + ".join(layers[sym]))  # the layers together, not only each one
        for req in ("tick_size", "lot_step"):
            if t.get(req) is None:
                raise ConfigError(f"instrument {sym}: {req} is required")
        kind = t.get("kind", "other")
        days = t.get("swap_days")
        if days is None:
            days = FX_SWAP_DAYS if kind.lower() in ("fx", "metal") else ALL_SWAP_DAYS

        def get(key: str, t: dict[str, Any] = t) -> Any:
            return t.get(key, INSTRUMENT_KEYS[key][1])

        out[sym] = Instrument(
            symbol=sym, tick_size=t["tick_size"], lot_step=t["lot_step"],
            contract_size=t.get("contract_size", Decimal(1)), min_qty=t.get("min_qty", Decimal(0)),
            max_qty=t.get("max_qty", Decimal(0)), quote=t.get("quote", "USD"), base=t.get("base", ""),
            kind=kind, quote_to_account=t.get("quote_to_account"),
            swap_mode=get("swap_mode"), swap_long=get("swap_long"), swap_short=get("swap_short"),
            swap_time=get("swap_time"), swap_days=tuple(days), swap_year_days=get("swap_year_days"),
            funding_rate=get("funding_rate"), funding_interval_ns=get("funding_interval"),
            funding_time=get("funding_time"), leverage=get("leverage"), margin_rate=get("margin_rate"),
            margin_per_lot=get("margin_per_lot"), margin_hedged=get("margin_hedged"),
        )
    return out


RATE_UNIT = Fraction(1, 10**RATE_DIGITS)  # of a funding rate read from the data


def _frac(x: Fraction, what: str) -> tuple[int, int]:
    if abs(x.numerator) >= _I64_SAFE or x.denominator >= _I64_SAFE:
        raise ConfigError(f"{what} = {x} cannot be held exactly in 64-bit integers")
    return x.numerator, x.denominator


def _whole_minor(v: Decimal, digits: int, what: str) -> int:
    m = Fraction(v) * 10**digits
    if m.denominator != 1:
        raise ConfigError(f"{what} = {v} has more decimal places than the account currency ({digits})")
    return int(m)


def kernel_table(symbols: list[str], reg: dict[str, Instrument], cfg: Config,
                 paths: dict[str, RatePath] | None = None) -> np.ndarray:
    """The INSTRUMENT records for ``symbols`` (in stream order).

    ``paths`` (fx_paths.resolve): the symbols whose quotes convert each one's quote
    currency into the account's; their constant factors are folded into V and the
    legs' indices set (docs/currency.md §2)."""
    digits = minor_digits(cfg)
    ccy = cfg["account.currency"]
    out = np.zeros(len(symbols), INSTRUMENT)
    index = {s: i for i, s in enumerate(symbols)}
    for i, sym in enumerate(symbols):
        ins = reg[sym]
        path = (paths or {}).get(sym, ())
        rate = fixed_rate(ins.quote_to_account)
        if ins.quote_to_account is None and ins.quote != ccy and not path:
            raise ConfigError(
                f"instrument {sym} is quoted in {ins.quote} but the account is in {ccy}: "
                f"set instruments.{sym}.quote_to_account")
        r = out[i]
        for leg, (at, inv) in zip(path, (("fx_a", "fx_a_inv"), ("fx_b", "fx_b_inv")), strict=False):
            rate *= leg_scale(leg, reg)
            r[at] = index[leg.symbol] + 1
            r[inv] = int(leg.inverted)
            out[index[leg.symbol]]["fx_feeds"] |= 1 << i
        v = Fraction(ins.tick_size) * Fraction(ins.lot_step) * Fraction(ins.contract_size) * rate
        v *= 10**digits
        com = dict(cfg.values["commission"])
        com.update(cfg.commission_by_symbol.get(sym, {}))
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
        _carry(r, ins, v)
        _margin(r, ins, v, cfg, rate * Fraction(ins.lot_step) * 10**digits)
        check_range(sym, r)  # exact at any live rate (docs/currency.md §4)
    return out


def _margin(r: np.void, ins: Instrument, v: Fraction, cfg: Config, per_step: Fraction) -> None:
    """Margin M = R(cost x V x m) (docs/risk.md §1), m = margin_rate or 1 / leverage, or
    M = R(steps x margin_per_lot x per_step) (``per_step``: minor units per quote-currency unit
    per lot step, the conversion's constants included); the hedged share; the order quantity
    limit of risk.max_order_qty in steps of this symbol."""
    rate, lev = ins.margin_rate, ins.leverage
    m = Fraction(rate) if rate is not None else (1 / Fraction(lev) if lev is not None else Fraction(0))
    if ins.margin_per_lot is not None:
        r["margin_kind"] = 1
        r["margin_num"], r["margin_den"] = _frac(Fraction(ins.margin_per_lot) * per_step,
                                                 f"instruments.{ins.symbol}.margin_per_lot")
    elif m:
        r["margin_num"], r["margin_den"] = _frac(m * v, f"margin rate x tick value of {ins.symbol}")
    else:
        r["margin_num"], r["margin_den"] = 0, 1
    h = Fraction(ins.margin_hedged)
    r["hedge_num"], r["hedge_den"] = h.numerator, h.denominator
    lots = cfg.risk.values["max_order_qty"]
    steps = max_order_steps(cfg.risk, ins.lot_step) if lots else 0  # None or 0: off
    if lots and steps == 0:
        raise ConfigError(f"risk.max_order_qty = {lots} is below the lot step {ins.lot_step} of {ins.symbol}")
    r["risk_max_steps"] = steps


def _carry(r: np.void, ins: Instrument, v: Fraction) -> None:
    """Swap and funding fields of one INSTRUMENT record; ``v`` = V, minor units per tick*step.

    points: charge = R(steps x mult x num/den), num/den = -swap x V (ticks per lot per
    day; one lot is 1/lot_step steps and V is per step, so lot_step cancels);
    percent: charge = R(price x steps x mult x num/den), num/den = -swap / 100 / year_days x V;
    funding (long): charge = R(price x steps x num/den), num/den = rate x V. A cost is > 0.
    """
    sym = ins.symbol
    r["swap_kind"] = SWAP_KINDS[ins.swap_mode]
    for side in ("long", "short"):
        rate = Fraction(getattr(ins, f"swap_{side}"))
        if ins.swap_mode == "points":
            x = -rate * v
        elif ins.swap_mode == "percent":
            x = -rate / 100 / ins.swap_year_days * v
        else:
            x = Fraction(0)
        r[f"swap_{side}_num"], r[f"swap_{side}_den"] = _frac(x, f"instruments.{sym}.swap_{side} x tick value")
    r["swap_offset_ns"] = hhmm_ns(ins.swap_time)
    r["swap_days"] = sum(int(m) << (4 * d) for d, m in enumerate(ins.swap_days))
    period = ins.funding_interval_ns or 0
    column = ins.funding_rate == "column"
    if column:  # charge = R(price x steps x k x num/den), the column's rate k in units of RATE_UNIT
        fund = v * RATE_UNIT if period else Fraction(0)
    else:
        fund = Fraction(ins.funding_rate) * v if period else Fraction(0)
    r["fund_column"] = int(column and period > 0)
    r["fund_num"], r["fund_den"] = _frac(fund, f"instruments.{sym}.funding_rate x tick value")
    r["fund_period_ns"] = period
    r["fund_offset_ns"] = hhmm_ns(ins.funding_time)
