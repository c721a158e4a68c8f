"""Which symbols' quotes convert each instrument's quote currency into the account's
(docs/currency.md §1).

A path is one leg (a symbol Q/A, or A/Q read inverted) or two legs through a
third currency C (Q→C then C→A), USD first, then the others by name. Symbols
of the run are preferred to symbols that would have to be added to the read;
a direct leg to a cross.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .instruments import Instrument


@dataclass(frozen=True)
class Leg:
    symbol: str
    inverted: bool  # the rate is 1 / mid (the symbol is A/Q, or C/Q)


RatePath = tuple[Leg, ...]  # () = no conversion (quoted in the account currency or a fixed rate)


def currencies(reg: dict[str, Instrument]) -> set[str]:
    out = set()
    for ins in reg.values():
        out.add(ins.quote)
        if ins.base:
            out.add(ins.base)
    return out


def _pairs(reg: dict[str, Instrument]) -> dict[tuple[str, str], list[str]]:
    """(base, quote) -> symbols quoting base in quote, sorted by name."""
    out: dict[tuple[str, str], list[str]] = {}
    for sym in sorted(reg):
        ins = reg[sym]
        if ins.base and ins.base != ins.quote:
            out.setdefault((ins.base, ins.quote), []).append(sym)
    return out


def _legs(frm: str, to: str, pairs: dict[tuple[str, str], list[str]], rank) -> list[Leg]:
    """Every one-symbol conversion frm -> to, best first."""
    cand = [Leg(s, False) for s in pairs.get((frm, to), [])] + [Leg(s, True) for s in pairs.get((to, frm), [])]
    return sorted(cand, key=lambda leg: rank(leg.symbol))


def resolve(symbols: list[str], reg: dict[str, Instrument], ccy: str, available: set[str]) -> dict[str, RatePath]:
    """The conversion path of each symbol of the run; raises ConfigError naming what is missing.

    ``available``: the symbols the data holds (the run's and any others of the archive).
    """
    known = currencies(reg)
    if ccy not in known:
        raise ConfigError(f"account.currency = {ccy} is not a currency of any instrument in the registry "
                          f"(known: {', '.join(sorted(known))})")
    pairs = _pairs(reg)
    run = set(symbols)

    def rank(sym: str) -> tuple[int, str]:  # in the run, then in the archive, then missing
        return (0 if sym in run else 1 if sym in available else 2, sym)

    out: dict[str, RatePath] = {}
    for sym in symbols:
        ins = reg[sym]
        if ins.quote == ccy or ins.quote_to_account is not None:
            out[sym] = ()
            continue
        best: list[RatePath] = [(leg,) for leg in _legs(ins.quote, ccy, pairs, rank)]
        if not best or rank(best[0][0].symbol)[0] == 2:
            vias = ["USD"] + sorted(known - {"USD", ins.quote, ccy})
            for via in vias:
                if via in (ins.quote, ccy):
                    continue
                a = _legs(ins.quote, via, pairs, rank)
                b = _legs(via, ccy, pairs, rank)
                if a and b:
                    best.append((a[0], b[0]))
        if not best:
            raise ConfigError(
                f"instrument {sym} is quoted in {ins.quote} and the account is in {ccy}: no symbol of the "
                f"registry converts {ins.quote} to {ccy}, directly or through another currency; add one "
                f"(e.g. {ins.quote}{ccy}) or set instruments.{sym}.quote_to_account")
        best.sort(key=lambda p: (max(rank(leg.symbol)[0] for leg in p), len(p)))
        path = best[0]
        missing = [leg.symbol for leg in path if leg.symbol not in available]
        if missing:
            raise ConfigError(
                f"instrument {sym} is quoted in {ins.quote} and the account is in {ccy}: the conversion needs "
                f"the quotes of {', '.join(missing)}, which the data does not hold; add them to the data or "
                f"set instruments.{sym}.quote_to_account")
        out[sym] = path
    return out


def rate_symbols(paths: dict[str, RatePath]) -> list[str]:
    """Every symbol some conversion reads, sorted."""
    return sorted({leg.symbol for p in paths.values() for leg in p})


def leg_scale(leg: Leg, reg: dict[str, Instrument]) -> Fraction:
    """The constant of a leg: its rate is (bid + ask) x tick_size / 2, so the kernel's
    integer bid + ask times this (or, inverted, divided by it)."""
    t = Fraction(reg[leg.symbol].tick_size) / 2
    return 1 / t if leg.inverted else t


def fixed_rate(rate: Decimal | None) -> Fraction:
    return Fraction(rate) if rate is not None else Fraction(1)


def with_rate_symbols(symbols: list[str], sources: list, all_sources: list, reg: dict[str, Instrument],
                      ccy: str) -> tuple[list[str], list, dict[str, RatePath]]:
    """The run's symbols and sources with every rate symbol the conversions need added
    to the read (streamed, not traded), and the paths."""
    available = {s for src in all_sources for s in src.symbols}
    paths = resolve(symbols, reg, ccy, available)
    extra = [s for s in rate_symbols(paths) if s not in symbols]
    if not extra:
        return symbols, sources, paths
    while extra:  # a rate symbol quoted in another currency is converted too (it may be traded)
        symbols = sorted([*symbols, *extra])
        paths = resolve(symbols, reg, ccy, available)
        extra = [s for s in rate_symbols(paths) if s not in symbols]
    keep = set(symbols)
    return symbols, [src for src in all_sources if any(s in keep for s in src.symbols)], paths


LEG_MAX = 1 << 25  # the largest bid + ask of a leg, in its ticks, that exactness is checked for
_RATIONALS = ("value", "comm_frac", "margin", "swap_long", "swap_short", "fund")


def check_range(sym: str, rec) -> None:
    """Refuse, naming the symbol, a converted symbol whose amounts could overflow the kernel's
    64-bit products at a leg's bid + ask up to LEG_MAX ticks (docs/currency.md §4): for each
    rational num / den of its INSTRUMENT record ``rec``, num x fx_num and den x fx_den."""
    legs = [int(rec[inv]) for at, inv in (("fx_a", "fx_a_inv"), ("fx_b", "fx_b_inv")) if rec[at] > 0]
    if not legs:
        return
    fx_num = LEG_MAX ** sum(1 for inv in legs if not inv)
    fx_den = LEG_MAX ** sum(1 for inv in legs if inv)
    for k in _RATIONALS:
        num, den = abs(int(rec[f"{k}_num"])), int(rec[f"{k}_den"])
        if k == "margin":
            den *= int(rec["hedge_den"])
        if max(num * fx_num, den * fx_den) >= 1 << 63:
            raise ConfigError(
                f"instrument {sym}: its {k} rational {num}/{den} times the conversion rate's integers (up to "
                f"{LEG_MAX} per leg) does not fit in 64 bits; converted at a live rate its amounts would not be "
                f"exact. Set instruments.{sym}.quote_to_account, or a coarser tick_size or lot_step")

