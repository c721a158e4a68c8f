"""Decimal reference model of the order engine, written from ``docs/execution.md``.

It extends the netting ledger of ``tests/oracle.py`` (``_Model``: average
cost, partial closes, commission, P&L, marking) with order ids and position
ids, actions, order types, time in force, OCO, position stops, trailing stops,
execution models and slippage, the order of work on a tick (§6), hedging, swap
and funding, and excursions.

Prices, quantities and money are ``Decimal`` amounts (prices in quote currency,
quantities in lots, money in account currency); they become integer ticks, lot
steps and minor units only when reported.  ``R`` (ties to even) is applied
exactly where the rule book writes ``R(...)``: the money of a P&L, commission,
swap, funding or excursion; percent distances ``R(entry x pct / 100)`` and
trailing percent distances (in ticks); the average entry of a position modify;
spread and size slippage (in ticks).  Everything else is exact.

Where the rule book leaves a choice open, the choice is marked
``INTERPRETATION`` here and listed in ``tests/test_oracle_engine.py``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from tests.oracle import (
    _CTX,
    EConfig,
    EInstrument,
    EResult,
    _Model,
    _Position,
    hhmm_ns,
    random_slip,
    round_half_even,
    stop_spec,
    whole,
)

__all__ = ["EConfig", "EInstrument", "EResult", "simulate"]

D0 = Decimal(0)
DAY = 86_400 * 10**9
WORKING, NEW = "working", "new"


class _Order:
    """One row of the orders (or signals) table and its state."""

    def __init__(self, idx: int, oid: int, row: dict, latency: int, signal: bool):
        g = row.get
        self.idx, self.oid, self.ts, self.act_ts = idx, oid, row["ts"], row["ts"] + max(1, latency)
        self.action = "new" if signal else (g("action") or "new")
        self.type = "target" if signal else (g("type") or "market")
        self.symbol, self.side = g("symbol"), {"buy": 1, "sell": -1, None: 0}[g("side")]
        self.qty, self.price, self.stop = (None if g(k) is None else Decimal(g(k)) for k in ("qty", "price", "stop"))
        self.target = Decimal(row["target"]) if signal else None
        self.tif, self.expire, self.oco, self.ref = g("tif") or "gtc", g("expire"), g("oco"), g("ref")
        self.sl, self.tp, self.trail = (stop_spec(row, k) for k in ("sl", "tp", "trail"))
        self.trail_act, self.trail_step = g("trail_activation") or 0, g("trail_step") or 0
        self.status, self.reason, self.converted = NEW, "none", False  # converted: a triggered stop-limit
        if self.action == "new":  # "0" on a new order is no stop
            self.sl, self.tp, self.trail = (None if s and s[0] == "remove" else s for s in (self.sl, self.tp, self.trail))


@dataclass
class _Pos(_Position):
    seq: int = 0  # n-th position opened in the run: "oldest first" (§2)
    swap: Decimal = D0
    sl: Decimal | None = None
    tp: Decimal | None = None
    trail: tuple | None = None  # ("price", distance) | ("ticks", n) | ("pct", x)
    trail_ref: Decimal = D0  # the entry price its activation is measured from
    trail_act: int = 0
    trail_step: int = 0
    active: bool = False
    hwm: Decimal | None = None  # best closing-side quote since activation
    tstop: Decimal | None = None
    worst_q: Decimal | None = None
    best_q: Decimal | None = None
    close_rate: object = None  # the live rate (docs/currency.md) when it closed: its MAE/MFE in money


class _Engine(_Model):
    def __init__(self, instruments, commission, cfg: EConfig):
        super().__init__(instruments, commission, cfg.initial_cash, cfg.minor_digits, cfg.close_at_end)
        self.cfg, self.hedging = cfg, cfg.account_mode == "hedging"
        self.swap_total = D0
        self.by_pid: dict[int, _Pos] = {}
        self.open: dict[str, list[_Pos]] = {s: [] for s in instruments}  # oldest first
        self.queue: dict[str, list[_Order]] = {s: [] for s in instruments}  # step 4
        self.book: dict[str, list[_Order]] = {s: [] for s in instruments}  # step 5
        self.last_ts: dict[str, int] = {}
        self.closed_order: list[int] = []

    # -- prices (§5) ------------------------------------------------------------------------
    def slip(self, sym: str, side: int, qty: Decimal) -> int:
        cfg, inst = self.cfg, self.inst[sym]
        _, bid, ask, bsize, asize = self.quote[sym]
        size = asize if side > 0 else bsize
        # the quote's size in whole lot steps, rounded down; none, or under one step: unknown
        steps = int(Decimal(size) / inst.lot_step) if size else 0
        if cfg.slippage == "fixed" or (cfg.slippage == "size" and not steps):
            s = cfg.slippage_ticks
        elif cfg.slippage == "spread":
            s = round_half_even((ask - bid) / inst.tick_size * Decimal(cfg.slippage_spread))
        elif cfg.slippage == "size":
            s = round_half_even(_CTX.divide(cfg.slippage_ticks * qty, steps * inst.lot_step))
        else:
            s = 0
        if cfg.model == "realistic" and cfg.random_slippage:
            s = random_slip(cfg.seed, len(self.fills), s)
        return s

    def fill_price(self, kind: str, sym: str, side: int, qty: Decimal, level: Decimal | None = None):
        """kind: market (market, close, target, end of data), stop (SL, trailing, stop entry), limit (TP, limit)."""
        _, bid, ask, _, _ = self.quote[sym]
        tick = self.inst[sym].tick_size
        if kind == "limit":
            return level if self.cfg.model == "perfect" else (min(level, ask) if side > 0 else max(level, bid))
        q = ask if side > 0 else bid
        if self.cfg.model == "perfect":
            return q if kind == "market" else level
        s = self.slip(sym, side, qty) * tick
        return q + s if side > 0 else max(tick, q - s)

    # -- stops (§4) ------------------------------------------------------------------------
    def stop_price(self, spec, entry: Decimal, side: int, is_sl: bool, sym: str) -> Decimal:
        kind, v = spec
        if kind == "price":
            return v
        tick = self.inst[sym].tick_size
        d = (v if kind == "ticks" else round_half_even(entry / tick * v / 100)) * tick
        return entry - side * d if is_sl else entry + side * d

    def wrong_side(self, p: Decimal, is_sl: bool, side: int, ref: Decimal) -> bool:
        """Long: ``sl < ref < tp``; short mirrored."""
        return (p >= ref) if is_sl == (side > 0) else (p <= ref)

    def stops_ok(self, o: _Order, side: int, entry: Decimal, sym: str) -> bool:
        return not any(spec and spec[0] != "remove" and
                       self.wrong_side(self.stop_price(spec, entry, side, is_sl, sym), is_sl, side, entry)
                       for spec, is_sl in ((o.sl, True), (o.tp, False)))

    def set_stops(self, pos: _Pos, o: _Order | None, entry: Decimal) -> None:
        """The stops an order carries onto a position it opened or increased (distances from ``entry``)."""
        if o is None:
            return
        for name, is_sl in (("sl", True), ("tp", False)):
            spec = getattr(o, name)
            if spec is not None:
                setattr(pos, name, self.stop_price(spec, entry, pos.side, is_sl, pos.symbol))
        if o.trail is not None:
            self.set_trail(pos, o.trail, entry, o.trail_act, o.trail_step)

    def set_trail(self, pos: _Pos, spec, ref: Decimal, act: int, step: int) -> None:
        # INTERPRETATION: setting a trail restarts it from the symbol's current quote (activation,
        # hwm and stop at once); its activation is measured from ``ref``: the fill price, or the
        # rounded average entry on a modify.
        pos.trail, pos.trail_ref, pos.trail_act, pos.trail_step = spec, ref, act or 0, step or 0
        pos.active, pos.hwm, pos.tstop = False, None, None
        self.follow(pos)

    def effective_sl(self, p: _Pos):
        """``(stop, reason)``: the tighter of sl and the trailing stop; ``trailing`` only if strictly tighter."""
        if p.tstop is not None and (p.sl is None or p.side * (p.tstop - p.sl) > 0):
            return p.tstop, "trailing"
        return p.sl, "stop_loss"

    # -- ledger (on top of tests/oracle.py::_Model) -------------------------------------------
    def emit(self, oid, pos, ts, side, effect, qty, price, comm, pnl, reason="signal"):
        super().emit(oid, pos, ts, side, effect, qty, price, comm, pnl)
        self.fills[-1]["reason"] = reason

    def new_position(self, oid, sym, side, ts, qty, price, o, parent=-1) -> _Pos:
        if oid in self.by_pid:
            raise AssertionError(f"position id {oid} used twice")
        # seq: the order of opening fills ("oldest first", §2); by_pid holds every position ever opened
        pos = _Pos(oid, sym, side, ts, parent_id=parent, seq=len(self.by_pid))
        _, bid, ask, _, _ = self.quote[sym]
        pos.worst_q = pos.best_q = bid if side > 0 else ask
        self.by_pid[oid] = pos
        self.open[sym].append(pos)
        self.add_to(pos, qty, price)
        self.set_stops(pos, o, price)
        return pos

    def reduce(self, oid, pos, qty, price, ts, reason, comm=None):
        """Close ``qty`` of ``pos`` (all of it: a close) with one fill."""
        if comm is None:
            comm = self.commission_for(self.inst[pos.symbol], price, qty)
        pnl = self.take_from(pos, qty, price)
        closes = pos.qty == 0
        self.emit(oid, pos, ts, -pos.side, "close" if closes else "reduce", qty, price, comm, pnl, reason)
        if closes:
            pos.is_open, pos.close_ts, pos.exit_reason = False, ts, reason
            if self.inst[pos.symbol].rate_legs:
                pos.close_rate = self.rate(self.inst[pos.symbol])
            self.open[pos.symbol].remove(pos)
            self.closed_order.append(pos.position_id)

    def trade(self, oid, o, sym, side, qty, price, ts):
        """An order's fill of ``qty`` on ``side`` at ``price``, netting or hedging (§1, §4)."""
        inst = self.inst[sym]
        comm = self.commission_for(inst, price, qty)
        pos = self.open[sym][0] if self.open[sym] and not self.hedging else None
        if pos is None:  # hedging: every entry fill opens its own position
            pos = self.new_position(oid, sym, side, ts, qty, price, o)
            self.emit(oid, pos, ts, side, "open", qty, price, comm, D0)
        elif pos.side == side:
            self.add_to(pos, qty, price)
            self.set_stops(pos, o, price)  # INTERPRETATION: only the stops the order carries change
            self.emit(oid, pos, ts, side, "increase", qty, price, comm, D0)
        elif qty <= pos.qty:
            self.reduce(oid, pos, qty, price, ts, "signal", comm)  # a reduce keeps the position's stops
        else:
            q1, q2 = pos.qty, qty - pos.qty
            n1, n = whole(q1, inst.lot_step, "qty"), whole(qty, inst.lot_step, "qty")
            c1 = round_half_even(_CTX.divide(Decimal(self.to_minor(comm)) * n1, Decimal(n))) * self.minor
            self.reduce(oid, pos, q1, price, ts, "signal", c1)
            new = self.new_position(oid, sym, side, ts, q2, price, o, parent=pos.position_id)
            self.emit(oid, new, ts, side, "open", q2, price, comm - c1, D0)

    def net(self, sym) -> Decimal:
        return sum((p.side * p.qty for p in self.open[sym]), D0)

    def unrealized(self, sym) -> Decimal:
        if not self.open[sym]:  # flat: nothing (and a symbol converted at a live rate may have none yet)
            return D0
        _, bid, ask, _, _ = self.quote.get(sym, (0, D0, D0, None, None))
        u = sum((p.qty * bid - p.cost if p.side > 0 else p.cost - p.qty * ask for p in self.open[sym]), D0)
        return self.money(self.value(self.inst[sym], u))

    # -- orders: steps 3 and 4 ------------------------------------------------------------------
    def end(self, o, status, reason="none"):
        o.status, o.reason = status, reason

    def filled(self, o):
        self.end(o, "filled")
        for other in self.by_index:
            if o.oco is not None and other is not o and other.oco == o.oco and other.status == WORKING:
                self.end(other, "cancelled", "oco")

    def qty_reason(self, sym, qty):
        inst = self.inst[sym]
        if qty < inst.min_qty:
            return "qty_below_min"
        return "qty_above_max" if inst.max_qty and qty > inst.max_qty else None

    def entry_checks(self, o: _Order, entry: Decimal) -> bool:
        """qty_below_min / qty_above_max, then bad_stops against ``entry``; rejects and says False."""
        why = self.qty_reason(o.symbol, o.qty) or (None if self.stops_ok(o, o.side, entry, o.symbol) else "bad_stops")
        if why:
            self.end(o, "rejected", why)
        return why is None

    def entry_level(self, o: _Order) -> Decimal:
        """What a pending order's stops are checked against: ``stop`` (stop), else ``price``."""
        return o.stop if o.type == "stop" else o.price

    def passed_by(self, o: _Order) -> None:
        """Step 3 reaches an order that no longer acts (refused before the run, or ended): nothing."""

    def act(self, o: _Order) -> None:
        """Step 3: an order whose ``act_ts`` has come."""
        if o.action == "new":
            # INTERPRETATION: market and target orders are checked (qty, stops) when step 4 reaches
            # them; limit, stop and stop-limit orders (IOC too) as they act, against their price (§4).
            if o.type not in ("market", "target") and not self.entry_checks(o, self.entry_level(o)):
                return None
            o.status = WORKING
            pend = o.type not in ("market", "target") and o.tif != "ioc"
            return (self.book if pend else self.queue)[o.symbol].append(o)
        target = self.by_id.get(o.ref)
        if target is None and (o.ref is not None or o.action != "close"):
            return self.end(o, "rejected", "unknown_ref")
        # a modify, cancel or close row is never itself a working order
        working = target is not None and target.status == WORKING and target.action == "new"
        pos = self.by_pid.get(o.ref)
        if pos is not None and not pos.is_open:
            pos = None
        if o.action == "cancel" and working:
            self.end(target, "cancelled", "cancelled")
            return self.end(o, "applied")
        if o.action == "modify" and (working or pos):
            return self.modify_order(o, target) if working else self.modify_position(o, pos)
        if o.action in ("cancel", "modify"):
            return self.end(o, "rejected", "not_working")
        # a close joins the queue of its symbol; what is open is looked at when step 4 reaches it
        # (INTERPRETATION 1)
        o.symbol, o.status = o.symbol or target.symbol, WORKING
        return self.queue[o.symbol].append(o)

    def modify_order(self, m: _Order, o: _Order) -> None:
        trial = copy.copy(o)
        for k in ("price", "stop", "qty", "sl", "tp", "trail"):
            v = getattr(m, k)
            if v is not None:
                setattr(trial, k, None if isinstance(v, tuple) and v[0] == "remove" else v)
        if m.trail is not None:
            trial.trail_act, trial.trail_step = m.trail_act, m.trail_step
        if m.qty is not None and o.type != "target" and self.qty_reason(o.symbol, trial.qty):
            return self.end(m, "rejected", self.qty_reason(o.symbol, trial.qty))
        # INTERPRETATION: a modify that would put a pending order's stops on the wrong side of its
        # price is itself rejected (bad_stops) and the order keeps its values.
        if o.type not in ("market", "target") and not self.stops_ok(trial, o.side, self.entry_level(trial), o.symbol):
            return self.end(m, "rejected", "bad_stops")
        o.__dict__.update({k: v for k, v in trial.__dict__.items() if k not in ("status", "reason")})
        return self.end(m, "applied")

    def modify_position(self, m: _Order, pos: _Pos) -> None:
        inst = self.inst[pos.symbol]
        avg = round_half_even(_CTX.divide(pos.entry_value, pos.entry_qty * inst.tick_size)) * inst.tick_size
        _, bid, ask, _, _ = self.quote[pos.symbol]
        new = {}
        for name, is_sl in (("sl", True), ("tp", False)):  # the stops the position will have
            spec = getattr(m, name)
            new[name] = getattr(pos, name) if spec is None else (
                None if spec[0] == "remove" else self.stop_price(spec, avg, pos.side, is_sl, pos.symbol))
            if new[name] is not None and self.wrong_side(new[name], is_sl, pos.side, bid if pos.side > 0 else ask):
                return self.end(m, "rejected", "bad_stops")  # long: sl < bid < tp, short mirrored
        pos.__dict__.update(new)
        if m.trail is not None:
            self.set_trail(pos, None if m.trail[0] == "remove" else m.trail, avg, m.trail_act, m.trail_step)
        return self.end(m, "applied")

    def work_queue(self, sym: str, ts: int) -> None:
        """Step 4: market, target, close and IOC orders of ``sym``, in the order they acted."""
        items, self.queue[sym] = self.queue[sym], []
        _, bid, ask, _, _ = self.quote[sym]
        for o in items:
            if o.status != WORKING:
                continue
            if o.action == "close":
                self.do_close(o, sym, ts)
            elif o.type == "target":
                self.do_target(o, sym, ts)
            elif o.type == "market":
                price = self.fill_price("market", sym, o.side, o.qty)  # the price it would fill at
                if self.entry_checks(o, price):
                    self.trade(o.oid, o, sym, o.side, o.qty, price, ts)
                    self.filled(o)
            elif self.hit(o, bid, ask):
                self.fill_entry(o, ts)
            else:
                self.end(o, "cancelled", "ioc")

    def do_close(self, o: _Order, sym: str, ts: int) -> None:
        if o.ref is not None:
            pos = self.by_pid.get(o.ref)
            if pos is None or not pos.is_open:
                return self.end(o, "rejected", "not_working")
            if pos.symbol != sym:
                return self.end(o, "rejected", "unknown_ref")
            todo = [pos]
        else:
            todo = sorted(self.open[sym], key=lambda p: p.seq)
            if not todo:
                return self.end(o, "rejected", "nothing_to_close")
        for pos in todo:  # qty is for a close of position ``ref`` only; a close never reverses
            q = pos.qty if o.qty is None or o.ref is None else min(o.qty, pos.qty)
            self.reduce(o.oid, pos, q, self.fill_price("market", sym, -pos.side, q), ts, "signal")
        return self.end(o, "filled")

    def do_target(self, o: _Order, sym: str, ts: int) -> None:
        delta = o.target - self.net(sym)
        if delta == 0:
            return self.end(o, "no_action")
        if self.qty_reason(sym, abs(delta)):
            return self.end(o, "rejected", self.qty_reason(sym, abs(delta)))
        side, left = (1 if delta > 0 else -1), abs(delta)
        if self.hedging:  # close opposite positions oldest first, the last one partly
            for pos in sorted((p for p in self.open[sym] if p.side == -side), key=lambda p: p.seq):
                q = min(left, pos.qty)
                self.reduce(o.oid, pos, q, self.fill_price("market", sym, side, q), ts, "signal")
                left -= q
                if left == 0:
                    break
        if left > 0:
            self.trade(o.oid, None, sym, side, left, self.fill_price("market", sym, side, left), ts)
        return self.filled(o)

    # -- steps 5 to 7 -------------------------------------------------------------------------
    def is_stop(self, o: _Order) -> bool:
        return o.type == "stop" or (o.type == "stop_limit" and not o.converted)

    def stop_hit(self, o: _Order, bid, ask) -> bool:
        return ask >= o.stop if o.side > 0 else bid <= o.stop

    def limit_hit(self, o: _Order, bid, ask) -> bool:
        w = self.inst[o.symbol].tick_size if self.cfg.model == "worst_case" else D0
        return ask <= o.price - w if o.side > 0 else bid >= o.price + w

    def hit(self, o: _Order, bid, ask) -> bool:
        """Does ``o`` (IOC) trigger on this quote?  A stop-limit whose stop triggers becomes a limit."""
        if self.is_stop(o):
            if not self.stop_hit(o, bid, ask):
                return False
            if o.type == "stop":
                return True
            o.converted = True
        return self.limit_hit(o, bid, ask)

    def through(self, o: _Order, bid, ask) -> Decimal:
        """How far the quote is past the order's price (its stop while it is a stop)."""
        if self.is_stop(o):
            return ask - o.stop if o.side > 0 else o.stop - bid
        return o.price - ask if o.side > 0 else bid - o.price

    def fill_entry(self, o: _Order, ts: int) -> None:
        kind = "stop" if o.type == "stop" else "limit"
        price = self.fill_price(kind, o.symbol, o.side, o.qty, o.stop if kind == "stop" else o.price)
        self.trade(o.oid, o, o.symbol, o.side, o.qty, price, ts)
        self.filled(o)

    def work_book(self, sym: str, ts: int) -> None:
        """Step 5: stop orders (buy, then sell), then limit orders (buy, then sell); in each book
        best price first (the order the quote is furthest through), ties by order index.  A
        stop-limit whose stop triggers joins the limit book and can fill on the same tick."""
        _, bid, ask, _, _ = self.quote[sym]
        self.book[sym] = [o for o in self.book[sym] if o.status == WORKING]
        for stops in (True, False):
            for side in (1, -1):
                hits = [o for o in self.book[sym] if o.side == side and self.is_stop(o) == stops and
                        (self.stop_hit if stops else self.limit_hit)(o, bid, ask)]
                for o in sorted(hits, key=lambda o: (-self.through(o, bid, ask), o.act_ts, o.idx)):
                    if o.status != WORKING:
                        continue
                    if o.type == "stop_limit" and stops:
                        o.converted = True
                    else:
                        self.fill_entry(o, ts)

    def exits(self, sym: str, ts: int) -> None:
        """Step 6: stop-losses (with trailing) first, then take-profits.

        Long stops highest first, then short stops lowest first, then long take-profits lowest
        first, then short take-profits highest first; ties by the opening order's (act_ts, index).
        """
        _, bid, ask, _, _ = self.quote[sym]
        worst = self.inst[sym].tick_size if self.cfg.model == "worst_case" else D0
        todo = []
        for p in self.open[sym]:
            q = bid if p.side > 0 else ask
            stop, why = self.effective_sl(p)
            if stop is not None and p.side * (q - stop) <= 0:
                o = self.by_id[p.position_id]
                todo.append((0, -p.side, -p.side * stop, (o.act_ts, o.idx), p, "stop", stop, why))
            elif p.tp is not None and p.side * (q - p.tp) >= worst:
                o = self.by_id[p.position_id]
                todo.append((1, -p.side, p.side * p.tp, (o.act_ts, o.idx), p, "limit", p.tp, "take_profit"))
        for *_, p, kind, level, why in sorted(todo, key=lambda t: t[:4]):
            self.reduce(-1, p, p.qty, self.fill_price(kind, sym, -p.side, p.qty, level), ts, why)

    def trail(self, sym: str) -> None:
        """Step 7: trailing stops follow this tick's closing-side quote."""
        for p in self.open[sym]:
            self.follow(p)

    def follow(self, p: _Pos) -> None:
        _, bid, ask, _, _ = self.quote[p.symbol]
        tick = self.inst[p.symbol].tick_size
        if p.trail is not None:
            q = bid if p.side > 0 else ask
            if not p.active:
                if p.trail_act and p.side * (q - p.trail_ref) < p.trail_act * tick:
                    return
                p.active, p.hwm = True, q
            p.hwm = max(p.hwm, q) if p.side > 0 else min(p.hwm, q)
            kind, v = p.trail
            d = v if kind == "price" else (v if kind == "ticks" else round_half_even(p.hwm / tick * v / 100)) * tick
            cand = p.hwm - p.side * d
            gain = None if p.tstop is None else p.side * (cand - p.tstop)
            if gain is None or (gain > 0 and gain >= p.trail_step * tick):
                p.tstop = cand

    # -- steps 0 and 9 belong to the risk desk (docs/risk.md §6; tests/oracle_risk.py) ---------
    def step0(self, ts: int) -> None:
        """Before swap: trading-day boundary, end of a breaker cooldown.  Nothing here."""

    def step9(self, ts: int) -> None:
        """After marking: margin call, stop-out, daily limit.  Nothing here."""

    # -- step 1: swap and funding (§7) ---------------------------------------------------------
    def charge(self, p: _Pos, cost: Decimal) -> None:
        """``R(base x rate)`` added to the position's and the account's swap, taken from cash."""
        amount = self.money(cost)
        p.swap += amount
        self.swap_total += amount
        self.cash -= amount

    def notional(self, p: _Pos) -> Decimal:
        _, bid, ask, _, _ = self.quote[p.symbol]
        return self.value(self.inst[p.symbol], p.qty * (bid if p.side > 0 else ask))

    def start_calendar(self, t0: int) -> None:
        """First instants strictly after the first tick (no position is open before it)."""
        self.next_swap, self.next_fund, self.fund_rate = {}, {}, {}
        for s, inst in self.inst.items():
            first = t0 // DAY * DAY + hhmm_ns(inst.swap_time)
            self.next_swap[s] = first if first > t0 else first + DAY
            if inst.funding_interval_ns:
                iv, off = inst.funding_interval_ns, hhmm_ns(inst.funding_time)
                self.next_fund[s] = off + ((t0 - off) // iv + 1) * iv

    def costs_due(self, t: int) -> None:
        for s, inst in self.inst.items():
            while self.next_swap[s] <= t:
                # INTERPRETATION: the weekday multiplier is inside R (one rounding per charge)
                mult = inst.swap_days[(self.next_swap[s] // DAY + 3) % 7]  # 1970-01-01 was a Thursday
                for p in self.open[s]:
                    rate = inst.swap_long if p.side > 0 else inst.swap_short  # received per day
                    if inst.swap_mode == "points":
                        per_lot = rate * inst.tick_size * inst.contract_size * inst.quote_to_account
                        self.charge(p, -p.qty * per_lot * mult)
                    elif inst.swap_mode == "percent":
                        year = Decimal(100 * inst.swap_year_days)
                        self.charge(p, _CTX.divide(-self.notional(p) * rate * mult, year))
                self.next_swap[s] += DAY
            while s in self.next_fund and self.next_fund[s] <= t:
                # "column": the latest rate the symbol's ticks gave before this tick; none yet: nothing
                rate = self.fund_rate.get(s) if inst.funding_rate == "column" else inst.funding_rate
                for p in self.open[s] if rate is not None else ():
                    self.charge(p, p.side * self.notional(p) * rate)
                self.next_fund[s] += inst.funding_interval_ns


def simulate(ticks, orders, instruments, commission, config: EConfig, signals=(), engine=None) -> EResult:
    """Run the engine model.

    ``ticks``: ``(ts, symbol, bid, ask[, bid_size, ask_size[, funding_rate]])`` (sizes in lots,
    the rate a fraction, ``None`` when unknown), in stream order.  ``orders``: dicts keyed like the columns of
    the orders frame (prices and ``qty`` as ``Decimal``, ``*_ticks`` as int, ``*_pct`` as
    ``Decimal`` percent, absent or ``None`` = null); ``signals``: dicts ``ts, symbol, target``.
    The order index is the row number, orders first; the id is ``id`` when given, else the index.
    ``engine`` builds the model from ``(instruments, commission, config)`` (default ``_Engine``; the
    risk model of ``tests/oracle_risk.py`` extends it).
    """
    with localcontext(_CTX):
        return _simulate(ticks, orders, instruments, commission, config, signals, engine or _Engine)


def _simulate(ticks, orders, instruments, commission, cfg, signals, engine=None) -> EResult:
    md = (engine or _Engine)(instruments, commission, cfg)
    rows = [(r, False) for r in orders] + [(r, True) for r in signals]
    md.by_index = [_Order(i, i if sig or r.get("id") is None else r["id"], r, cfg.latency_ns, sig)
                   for i, (r, sig) in enumerate(rows)]
    md.by_id = {o.oid: o for o in md.by_index}
    if len(md.by_id) != len(md.by_index):
        raise ValueError("order ids are not unique")
    for o in md.by_index:  # rejected before the run; such rows never act (§2)
        tick = md.inst[o.symbol].tick_size if o.symbol in md.inst else None
        prices = [o.price, o.stop] + [s[1] for s in (o.sl, o.tp, o.trail) if s and s[0] == "price"]
        if o.action != "new" and o.ref is not None and o.ref not in md.by_id:
            md.end(o, "rejected", "unknown_ref")
        elif tick and any(p is not None and p % tick for p in prices):
            md.end(o, "rejected", "off_tick")
        elif o.tif == "gtd" and o.expire is not None and o.expire <= o.ts:
            md.end(o, "rejected", "expiry_past")
    pending = sorted(md.by_index, key=lambda o: (o.act_ts, o.idx))
    head, last = 0, None
    for tk in ticks:
        ts, sym, bid, ask = tk[0], tk[1], Decimal(tk[2]), Decimal(tk[3])
        inst = md.inst[sym]
        whole(bid, inst.tick_size, "bid"), whole(ask, inst.tick_size, "ask")
        if last is None:
            md.start_calendar(ts)
            for o in pending:  # market, target and close orders acting before the first tick (§2)
                if o.status == NEW and o.act_ts < ts and (
                        o.action == "close" or (o.action == "new" and o.type in ("market", "target"))):
                    md.end(o, "rejected", "before_data")
        elif ts < last:
            raise ValueError("ticks are not in time order")
        last = md.last_ts[sym] = ts
        md.quote[sym] = (ts, bid, ask, *(tk[4:6] if len(tk) > 4 else (None, None)))
        for p in md.open[sym]:  # excursions: every tick of the symbol while open (§8)
            q = bid if p.side > 0 else ask
            p.worst_q, p.best_q = (min(p.worst_q, q), max(p.best_q, q)) if p.side > 0 else (
                max(p.worst_q, q), min(p.best_q, q))
        md.step0(ts)  # 0 (risk)
        md.costs_due(ts)  # 1
        if len(tk) > 6 and tk[6] is not None:  # a funding rate of the data, for later instants
            md.fund_rate[sym] = Decimal(tk[6]).quantize(Decimal(1).scaleb(-10), rounding=ROUND_HALF_EVEN)
        for o in md.by_index:  # 2
            # INTERPRETATION: a GTD order that has not acted yet expires too
            if o.tif == "gtd" and o.action == "new" and o.expire is not None and o.expire <= ts \
                    and o.status in (NEW, WORKING):
                md.end(o, "expired", "expiry")
        while head < len(pending) and pending[head].act_ts <= ts:  # 3
            if pending[head].status == NEW:
                md.act(pending[head])
            else:
                md.passed_by(pending[head])
            head += 1
        md.work_queue(sym, ts)  # 4
        md.work_book(sym, ts)  # 5
        md.exits(sym, ts)  # 6
        md.trail(sym)  # 7
        md.mark(ts)  # 8
        md.step9(ts)  # 9 (risk)

    for o in md.by_index:
        if o.status in (NEW, WORKING):
            md.end(o, "unfilled")
    if cfg.close_at_end:
        for pid in sorted(md.by_pid):  # INTERPRETATION: end-of-data closes in position-id order
            p = md.by_pid[pid]
            if p.is_open:
                price = md.fill_price("market", p.symbol, -p.side, p.qty)
                md.reduce(-1, p, p.qty, price, md.last_ts[p.symbol], "end_of_data")
        if last is not None:
            md.mark(last)
    return _result(md)


def _result(md: _Engine) -> EResult:
    res = EResult(fills=md.fills, closed_order=md.closed_order, equity=md.equity_log)
    res.orders = [{"order_id": o.oid, "status": o.status, "reason": o.reason} for o in md.by_index]
    for pid in sorted(md.by_pid):
        p = md.by_pid[pid]
        inst = md.inst[p.symbol]
        tick, step, m = inst.tick_size, inst.lot_step, md.to_minor

        def excursion(q, p=p, inst=inst, m=m):
            u = q * p.entry_qty - p.entry_value if p.side > 0 else p.entry_value - q * p.entry_qty
            if p.close_rate is not None:  # at the rate of the moment it closed (docs/currency.md §4)
                return m(md.money(Fraction(u) * Fraction(inst.contract_size) * p.close_rate))
            return m(md.money(md.value(inst, u)))

        res.positions.append({
            "position_id": pid, "parent_id": p.parent_id, "symbol": p.symbol, "side": p.side,
            "is_open": p.is_open, "exit_reason": p.exit_reason, "open_ts": p.open_ts, "close_ts": p.close_ts,
            **{k: whole(getattr(p, a), step, k) for k, a in (
                ("qty_steps", "qty"), ("entry_steps", "entry_qty"), ("exit_steps", "exit_qty"))},
            **{k: whole(getattr(p, k), tick * step, k) for k in ("cost", "entry_value", "exit_value")},
            "realized_pnl_minor": m(p.realized), "commission_minor": m(p.commission), "swap_minor": m(p.swap),
            "mae_ticks": whole(p.worst_q, tick, "price"), "mfe_ticks": whole(p.best_q, tick, "price"),
            "mae_minor": excursion(p.worst_q), "mfe_minor": excursion(p.best_q),
        })
    res.final_cash_minor, res.final_equity_minor = md.to_minor(md.cash), md.to_minor(md.equity())
    res.realized_minor, res.commission_minor = md.to_minor(md.realized_total), md.to_minor(md.commission_total)
    res.swap_minor, res.max_drawdown_minor = md.to_minor(md.swap_total), md.to_minor(md.max_dd)
    initial = md.to_minor(Decimal(md.cfg.initial_cash))
    if res.final_cash_minor != initial + res.realized_minor - res.commission_minor - res.swap_minor:
        raise AssertionError("oracle ledger does not balance")
    return res
