"""Plain-Python reference model of the netting ledger, in ``decimal.Decimal``.

It follows the rules of ``docs/architecture.md`` sections 2 and 3 directly:
prices, quantities and money are real ``Decimal`` amounts throughout, and they
are turned into integer ticks, lot steps and minor units only when a result is
reported.  It is slow on purpose and written for reading, not for speed.

Rules implemented (netting account, latency 0):

* An order stamped ``t`` acts on the first tick of its own symbol with
  ``ts > t``.  Orders of one symbol act in ``(ts, order id)`` order; the order
  id is the input row index.  Buy fills at ask, sell fills at bid.
* ``market`` orders trade ``qty`` lots on ``side``.  ``target`` orders trade
  ``target - net position`` at the moment they act; when that is zero the
  order ends ``no_action``.
* A quantity below the instrument's ``min_qty`` is rejected
  (``qty_below_min``) at the moment the order acts; for a target order the
  traded quantity ``|target - net|`` is checked.
* One position per symbol, its id the id of the order that opened it (a
  reversal's new position has the reversed one as ``parent_id``).  A same-side
  fill increases it, an opposite fill
  reduces or closes it, a larger opposite fill reverses it: a close fill of the
  whole open quantity and an open fill of the rest, with the order's commission
  computed once on the whole quantity and split pro rata.
* Money: ``R`` rounds to the nearest minor unit, ties to even.
* Orders acting before the first tick of the run (``ts + 1 ns`` before it) are
  rejected ``before_data`` and never act.
* Conversion (docs/currency.md): an instrument with ``rate_legs`` converts its
  quote-currency amounts at the live rate, the product over its legs of the
  leg's mid ``(bid + ask) / 2`` (or one over it, for an inverted leg) at the
  latest quote, exactly (``fractions.Fraction``), rounded once per amount.  An
  order acts (is checked) at the first tick of any symbol after its ``ts``;
  when a leg of its symbol has had no quote then and the order would add
  exposure (a market order, a non-zero target) it is rejected ``no_quote``
  (before its quantity is checked against ``min_qty``).
* End of data: orders that never acted are ``unfilled``; with ``close_at_end``
  each open position is closed at its symbol's last quote (long at bid, short
  at ask) at that symbol's last tick ts, with commission, in position-id
  order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction

__all__ = [
    "OCommission",
    "OInstrument",
    "OracleResult",
    "random_slip",
    "EConfig",
    "EInstrument",
    "EResult",
    "hhmm_ns",
    "round_half_even",
    "simulate",
    "splitmix64",
    "stop_spec",
    "whole",
]

# 200 significant digits: every product below is exact, and a quotient of two
# integers is close enough to its true value that rounding it to an integer
# cannot go the wrong way (a non-tie is at least 1/(2*den) from a tie).
_CTX = Context(
    prec=200,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_ONE = Decimal(1)
_ZERO = Decimal(0)


def round_half_even(x: Decimal) -> int:
    """Nearest integer to ``x``, ties to even."""
    return int(x.quantize(_ONE, rounding=ROUND_HALF_EVEN, context=_CTX))


def _ratio_round(a: int, num: int, den: int) -> int:
    """``R(a * num / den)`` for integers."""
    return round_half_even(_CTX.divide(Decimal(a) * Decimal(num), Decimal(den)))


def _whole(x: Decimal, unit: Decimal, what: str) -> int:
    n = _CTX.divide(x, unit)
    if n != n.to_integral_value():
        raise ValueError(f"{what} {x} is not a whole multiple of {unit}")
    return int(n)


whole = _whole  # shared with tests/oracle_engine.py

# -- seeded slippage (docs/execution.md §5), shared with tests/oracle_engine.py --
_M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def splitmix64(x: int) -> int:
    """``z = x + G; z = (z ^ z>>30) * C1; z = (z ^ z>>27) * C2; z ^ z>>31``, all mod 2**64."""
    z = (x + GOLDEN) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def random_slip(seed: int, n: int, s: int) -> int:
    """The slippage drawn for fill number ``n``: ``splitmix64(seed + n*G) mod (s + 1)``."""
    return splitmix64((seed + n * GOLDEN) & _M64) % (s + 1)


@dataclass
class OInstrument:
    symbol: str
    tick_size: Decimal
    lot_step: Decimal
    contract_size: Decimal
    quote_to_account: Decimal = _ONE
    min_qty: Decimal = _ZERO
    rate_legs: tuple[tuple[str, bool], ...] = ()  # (symbol, inverted): the live rate; () = quote_to_account


@dataclass
class OCommission:
    fraction: Decimal = _ZERO
    per_lot: Decimal = _ZERO
    per_order: Decimal = _ZERO
    minimum: Decimal = _ZERO


@dataclass
class _Position:
    position_id: int
    symbol: str
    side: int
    open_ts: int
    qty: Decimal = _ZERO
    cost: Decimal = _ZERO
    is_open: bool = True
    realized: Decimal = _ZERO
    commission: Decimal = _ZERO
    entry_qty: Decimal = _ZERO
    exit_qty: Decimal = _ZERO
    entry_value: Decimal = _ZERO
    exit_value: Decimal = _ZERO
    close_ts: int | None = None
    exit_reason: str = "none"
    parent_id: int = -1  # netting reversal: the position it reversed


@dataclass
class OracleResult:
    fills: list[dict] = field(default_factory=list)
    order_status: list[str] = field(default_factory=list)
    order_reason: list[str] = field(default_factory=list)
    final_cash_minor: int = 0
    final_equity_minor: int = 0
    max_drawdown_minor: int = 0
    peak_equity_minor: int = 0
    realized_minor: int = 0
    commission_minor: int = 0
    positions: list[dict] = field(default_factory=list)
    equity: list[tuple[int, int]] = field(default_factory=list)


class _Model:
    def __init__(self, instruments, commission, initial_cash, minor_digits, close_at_end):
        self.inst: dict[str, OInstrument] = instruments
        self.comm = commission
        self.m = minor_digits
        self.minor = Decimal(10) ** -minor_digits
        self.close_at_end = close_at_end
        self.initial_cash = Decimal(initial_cash)
        _whole(self.initial_cash, self.minor, "initial_cash")
        self.cash = self.initial_cash
        self.realized_total = _ZERO
        self.commission_total = _ZERO
        self.positions: list[_Position] = []
        self.open_pos: dict[str, _Position | None] = {s: None for s in instruments}
        self.quote: dict[str, tuple[int, Decimal, Decimal]] = {}
        self.fills: list[dict] = []
        self.peak = self.initial_cash
        self.max_dd = _ZERO
        self.equity_log: list[tuple[int, int]] = []

    # -- money ---------------------------------------------------------------
    def money(self, x: Decimal | Fraction) -> Decimal:
        """Round an account-currency amount to whole minor units, ties to even."""
        if isinstance(x, Fraction):  # round() of a Fraction: nearest, ties to even, exactly
            return Decimal(round(x / Fraction(self.minor))) * self.minor
        return x.quantize(self.minor, rounding=ROUND_HALF_EVEN, context=_CTX)

    def rate(self, inst: OInstrument) -> Fraction | None:
        """The live quote-to-account rate (docs/currency.md), None while a leg has no quote."""
        r = Fraction(1)
        for sym, inverted in inst.rate_legs:
            if sym not in self.quote:
                return None
            q = self.quote[sym]  # (ts, bid, ask[, sizes]): the engine model keeps the sizes too
            mid = (Fraction(q[1]) + Fraction(q[2])) / 2
            r = r / mid if inverted else r * mid
        return r

    def to_minor(self, x: Decimal) -> int:
        return _whole(x, self.minor, "money")

    def value(self, inst: OInstrument, price_qty: Decimal) -> Decimal:
        """Account-currency value (unrounded) of an amount in price x lots."""
        if inst.rate_legs:
            return Fraction(price_qty) * Fraction(inst.contract_size) * self.rate(inst)
        return price_qty * inst.contract_size * inst.quote_to_account

    def commission_for(self, inst: OInstrument, price: Decimal, qty: Decimal) -> Decimal:
        c = self.comm[inst.symbol] if isinstance(self.comm, dict) else self.comm
        per_order = Decimal(c.per_order)
        _whole(per_order, self.minor, "per_order")
        minimum = Decimal(c.minimum)
        _whole(minimum, self.minor, "minimum")
        total = (
            self.money(_times(Decimal(c.fraction), self.value(inst, price * qty)))
            + self.money(Decimal(c.per_lot) * qty)
            + per_order
        )
        return max(total, minimum)

    # -- positions -------------------------------------------------------------
    def removed_cost(self, inst: OInstrument, pos: _Position, q: Decimal) -> Decimal:
        """Cost taken out of ``pos`` by closing ``q`` lots of it."""
        if q == pos.qty:
            return pos.cost
        unit = inst.tick_size * inst.lot_step
        c_int = _whole(pos.cost, unit, "cost")
        q_steps = _whole(q, inst.lot_step, "qty")
        big_q = _whole(pos.qty, inst.lot_step, "qty")
        return _ratio_round(c_int, q_steps, big_q) * unit

    def emit(self, order_id, pos, ts, side, effect, qty, price, comm, pnl):
        inst = self.inst[pos.symbol]
        self.cash += pnl - comm
        self.realized_total += pnl
        self.commission_total += comm
        pos.realized += pnl
        pos.commission += comm
        self.fills.append(
            {
                "fill_id": len(self.fills),
                "order_id": order_id,
                "position_id": pos.position_id,
                "ts": ts,
                "symbol": pos.symbol,
                "side": side,
                "effect": effect,
                "qty_steps": _whole(qty, inst.lot_step, "qty"),
                "price_ticks": _whole(price, inst.tick_size, "price"),
                "commission_minor": self.to_minor(comm),
                "realized_pnl_minor": self.to_minor(pnl),
                "cash_after_minor": self.to_minor(self.cash),
            }
        )

    def open_position(self, sym, side, ts, order_id, parent_id=-1) -> _Position:
        """A position's id is the id of the order whose fill opened it (docs/execution.md §1)."""
        pos = _Position(position_id=order_id, symbol=sym, side=side, open_ts=ts, parent_id=parent_id)
        self.positions.append(pos)
        self.open_pos[sym] = pos
        return pos

    def add_to(self, pos: _Position, qty: Decimal, price: Decimal) -> None:
        pos.qty += qty
        pos.cost += price * qty
        pos.entry_qty += qty
        pos.entry_value += price * qty

    def take_from(self, pos: _Position, qty: Decimal, price: Decimal) -> Decimal:
        """Close ``qty`` lots of ``pos`` at ``price``; return the realized P&L."""
        inst = self.inst[pos.symbol]
        removed = self.removed_cost(inst, pos, qty)
        diff = price * qty - removed if pos.side > 0 else removed - price * qty
        pnl = self.money(self.value(inst, diff))
        pos.qty -= qty
        pos.cost -= removed
        pos.exit_qty += qty
        pos.exit_value += price * qty
        return pnl

    def finish_position(self, pos: _Position, ts: int, reason: str) -> None:
        pos.is_open = False
        pos.close_ts = ts
        pos.exit_reason = reason
        self.open_pos[pos.symbol] = None

    def fill(self, order_id, sym, side, qty, ts, reason="signal"):
        """Trade ``qty`` lots of ``sym`` on ``side`` at the current quote."""
        inst = self.inst[sym]
        _, bid, ask = self.quote[sym]
        price = ask if side > 0 else bid
        comm = self.commission_for(inst, price, qty)
        pos = self.open_pos[sym]
        if pos is None:
            pos = self.open_position(sym, side, ts, order_id)
            self.add_to(pos, qty, price)
            self.emit(order_id, pos, ts, side, "open", qty, price, comm, _ZERO)
        elif pos.side == side:
            self.add_to(pos, qty, price)
            self.emit(order_id, pos, ts, side, "increase", qty, price, comm, _ZERO)
        elif qty < pos.qty:
            pnl = self.take_from(pos, qty, price)
            self.emit(order_id, pos, ts, side, "reduce", qty, price, comm, pnl)
        elif qty == pos.qty:
            pnl = self.take_from(pos, qty, price)
            self.emit(order_id, pos, ts, side, "close", qty, price, comm, pnl)
            self.finish_position(pos, ts, reason)
        else:
            q_close = pos.qty
            q_open = qty - q_close
            c_minor = self.to_minor(comm)
            close_minor = _ratio_round(
                c_minor,
                _whole(q_close, inst.lot_step, "qty"),
                _whole(qty, inst.lot_step, "qty"),
            )
            comm_close = Decimal(close_minor) * self.minor
            comm_open = comm - comm_close
            pnl = self.take_from(pos, q_close, price)
            self.emit(order_id, pos, ts, side, "close", q_close, price, comm_close, pnl)
            self.finish_position(pos, ts, reason)
            new = self.open_position(sym, side, ts, order_id, parent_id=pos.position_id)
            self.add_to(new, q_open, price)
            self.emit(order_id, new, ts, side, "open", q_open, price, comm_open, _ZERO)

    def net(self, sym) -> Decimal:
        pos = self.open_pos[sym]
        return _ZERO if pos is None else pos.side * pos.qty

    # -- marking ---------------------------------------------------------------
    def unrealized(self, sym) -> Decimal:
        pos = self.open_pos[sym]
        if pos is None:
            return _ZERO
        _, bid, ask = self.quote[sym]
        diff = bid * pos.qty - pos.cost if pos.side > 0 else pos.cost - ask * pos.qty
        return self.money(self.value(self.inst[sym], diff))

    def equity(self) -> Decimal:
        return self.cash + sum((self.unrealized(s) for s in self.inst), _ZERO)

    def mark(self, ts) -> None:
        eq = self.equity()
        if eq > self.peak:
            self.peak = eq
        dd = self.peak - eq
        if dd > self.max_dd:
            self.max_dd = dd
        self.equity_log.append((ts, self.to_minor(eq)))


def _times(a: Decimal, b: Decimal | Fraction) -> Decimal | Fraction:
    return a * b if isinstance(b, Decimal) else Fraction(a) * b


def _norm_side(side) -> int:
    if side in ("buy", 1, "BUY", "Buy"):
        return 1
    if side in ("sell", -1, "SELL", "Sell"):
        return -1
    raise ValueError(f"bad side {side!r}")


def simulate(
    ticks: list[tuple[int, str, Decimal, Decimal]],
    orders: list[dict],
    instruments: dict[str, OInstrument],
    commission: OCommission | dict[str, OCommission],
    initial_cash: Decimal,
    minor_digits: int = 2,
    close_at_end: bool = False,
    drawdown_includes_final: bool = True,
) -> OracleResult:
    """Run the reference model.

    ``ticks`` are ``(ts_ns, symbol, bid, ask)`` in stream order.  ``orders`` are
    dicts with ``ts``, ``symbol``, ``type`` (``market`` or ``target``) and
    ``side``/``qty`` (market) or ``target`` (signed lots); the order id is the
    list index.  ``drawdown_includes_final`` also counts the state after the
    end-of-data closes (their commission) in the peak and drawdown.
    """
    with localcontext(_CTX):
        return _simulate(
            ticks,
            orders,
            instruments,
            commission,
            initial_cash,
            minor_digits,
            close_at_end,
            drawdown_includes_final,
        )


def _simulate(
    ticks,
    orders,
    instruments,
    commission,
    initial_cash,
    minor_digits,
    close_at_end,
    drawdown_includes_final,
) -> OracleResult:
    md = _Model(instruments, commission, initial_cash, minor_digits, close_at_end)
    n = len(orders)
    status = ["new"] * n
    reason = ["none"] * n

    queues: dict[str, list[int]] = {s: [] for s in instruments}
    for i, o in enumerate(orders):
        if o["symbol"] not in instruments:
            raise ValueError(f"order {i}: unknown symbol {o['symbol']!r}")
        if o["type"] not in ("market", "target"):
            raise ValueError(f"order {i}: unknown type {o['type']!r}")
        queues[o["symbol"]].append(i)
    for q in queues.values():
        q.sort(key=lambda i: (orders[i]["ts"], i))
    heads = {s: 0 for s in instruments}
    if ticks:  # acting (at ts + 1 ns) before the first tick of the run: rejected before_data
        for oid, o in enumerate(orders):
            if o["ts"] + 1 < ticks[0][0]:
                status[oid], reason[oid] = "rejected", "before_data"

    acted = [False] * n  # the order has been checked (docs/currency.md: no_quote)
    last_ts = None
    for ts, sym, bid, ask in ticks:
        if sym not in instruments:
            raise ValueError(f"tick for unknown symbol {sym!r}")
        if last_ts is not None and ts < last_ts:
            raise ValueError("ticks are not in time order")
        last_ts = ts
        bid, ask = Decimal(bid), Decimal(ask)
        if ask < bid:
            raise ValueError(f"ask < bid at ts {ts}")
        inst = instruments[sym]
        _whole(bid, inst.tick_size, "bid")
        _whole(ask, inst.tick_size, "ask")
        md.quote[sym] = (ts, bid, ask)
        for oid, o in enumerate(orders):
            if acted[oid] or o["ts"] >= ts:
                continue
            acted[oid] = True
            if status[oid] != "new":  # rejected before_data: it never acts, so it is never checked
                continue
            oi = instruments[o["symbol"]]
            if oi.rate_legs and md.rate(oi) is None:
                adds = o["type"] == "market" or Decimal(o["target"]) != 0
                if adds:
                    status[oid] = "rejected"
                    reason[oid] = "no_quote"

        queue = queues[sym]
        while heads[sym] < len(queue) and orders[queue[heads[sym]]]["ts"] < ts:
            oid = queue[heads[sym]]
            heads[sym] += 1
            if status[oid] != "new":
                continue
            o = orders[oid]
            if status[oid] == "rejected":
                continue
            if o["type"] == "market":
                side = _norm_side(o["side"])
                qty = Decimal(o["qty"])
            else:
                delta = Decimal(o["target"]) - md.net(sym)
                if delta == 0:
                    status[oid] = "no_action"
                    continue
                side = 1 if delta > 0 else -1
                qty = abs(delta)
            if qty <= 0:
                raise ValueError(f"order {oid}: quantity must be positive")
            _whole(qty, inst.lot_step, "qty")
            if qty < inst.min_qty:
                status[oid] = "rejected"
                reason[oid] = "qty_below_min"
                continue
            md.fill(oid, sym, side, qty, ts)
            status[oid] = "filled"
        md.mark(ts)

    for oid in range(n):
        if status[oid] == "new":
            status[oid] = "unfilled"

    if close_at_end:
        still_open = sorted(
            (p for p in md.open_pos.values() if p is not None), key=lambda p: p.position_id
        )
        for pos in still_open:
            sym = pos.symbol
            md.fill(-1, sym, -pos.side, pos.qty, md.quote[sym][0], reason="end_of_data")
        if drawdown_includes_final and last_ts is not None:
            md.mark(last_ts)

    res = OracleResult()
    res.fills = md.fills
    res.order_status = status
    res.order_reason = reason
    res.final_cash_minor = md.to_minor(md.cash)
    res.final_equity_minor = md.to_minor(md.equity())
    res.max_drawdown_minor = md.to_minor(md.max_dd)
    res.peak_equity_minor = md.to_minor(md.peak)
    res.realized_minor = md.to_minor(md.realized_total)
    res.commission_minor = md.to_minor(md.commission_total)
    res.equity = md.equity_log
    for p in sorted(md.positions, key=lambda p: p.position_id):
        inst = instruments[p.symbol]
        res.positions.append(
            {
                "position_id": p.position_id,
                "parent_id": p.parent_id,
                "symbol": p.symbol,
                "side": p.side,
                "is_open": p.is_open,
                "qty_steps": _whole(p.qty, inst.lot_step, "qty"),
                "entry_qty_steps": _whole(p.entry_qty, inst.lot_step, "qty"),
                "exit_qty_steps": _whole(p.exit_qty, inst.lot_step, "qty"),
                "cost_tick_steps": _whole(p.cost, inst.tick_size * inst.lot_step, "cost"),
                "realized_pnl_minor": md.to_minor(p.realized),
                "commission_minor": md.to_minor(p.commission),
                "entry_value": p.entry_value,
                "exit_value": p.exit_value,
                "open_ts": p.open_ts,
                "close_ts": p.close_ts,
                "exit_reason": p.exit_reason,
            }
        )

    initial_minor = md.to_minor(md.initial_cash)
    if res.final_cash_minor != initial_minor + res.realized_minor - res.commission_minor:
        raise AssertionError("oracle ledger does not balance")
    return res


# ---------------------------------------------------------------------------------------------
# Inputs and outputs of the order-engine model in tests/oracle_engine.py (docs/execution.md)
# ---------------------------------------------------------------------------------------------


@dataclass
class EInstrument(OInstrument):
    """OInstrument with quantity limits, swap and funding (docs/execution.md §7)."""

    contract_size: Decimal = _ONE
    max_qty: Decimal = _ZERO  # 0 = no limit
    swap_mode: str = "none"  # none | points | percent
    swap_long: Decimal = _ZERO  # received per lot per day (points) / percent per year
    swap_short: Decimal = _ZERO
    swap_time: str = "00:00"
    swap_days: tuple = (1, 1, 3, 1, 1, 0, 0)  # Monday first
    swap_year_days: int = 365
    funding_rate: Decimal = _ZERO
    funding_interval_ns: int = 0  # 0 = no funding
    funding_time: str = "00:00"


@dataclass
class EConfig:
    account_mode: str = "netting"  # netting | hedging
    model: str = "perfect"  # perfect | realistic | worst_case
    slippage: str = "none"  # none | fixed | spread | size
    slippage_ticks: int = 0
    slippage_spread: Decimal = _ZERO
    random_slippage: bool = False
    seed: int = 0
    latency_ns: int = 0
    close_at_end: bool = False
    initial_cash: Decimal = Decimal("100000")
    minor_digits: int = 2


@dataclass
class EResult:
    fills: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)  # by order index: id, status, reason
    positions: list[dict] = field(default_factory=list)  # by id
    closed_order: list[int] = field(default_factory=list)  # position ids in the order they closed
    equity: list[tuple[int, int]] = field(default_factory=list)
    final_cash_minor: int = 0
    final_equity_minor: int = 0
    realized_minor: int = 0
    commission_minor: int = 0
    swap_minor: int = 0
    max_drawdown_minor: int = 0


def hhmm_ns(s: str) -> int:
    h, m = s.split(":")
    return (int(h) * 60 + int(m)) * 60 * 10**9


def stop_spec(row: dict, name: str):
    """The stop ``name`` (sl, tp or trail) of an input row: the first of price, ticks, percent given."""
    for kind, key in (("price", name), ("ticks", f"{name}_ticks"), ("pct", f"{name}_pct")):
        v = row.get(key)
        if v is not None:
            if v == 0:
                return ("remove", None)  # INTERPRETATION: 0 in any form removes the stop
            return (kind, int(v) if kind == "ticks" else Decimal(v))
    return None
