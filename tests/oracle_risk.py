"""Decimal reference model of the risk desk, written from ``docs/risk.md``.

It extends the order-engine model of ``tests/oracle_engine.py`` (``_Engine``)
with margin (used margin per symbol at entry cost, the margin call state, the
stop-out sequence), sizing (``notional``, ``equity_pct``, ``risk_pct``,
``kelly``), the pre-trade checks of §3 in their order, the fill-time margin
refusal of triggered pending orders, the daily loss limit on trading days of a
time zone, the circuit breaker, the lifecycle events of §5 and the summary
counters of §7.

``RiskScenario`` and ``risk_scenario`` (a hypothesis strategy) give the same
inputs to the oracle and to ``backtestr.run`` (``tests/test_oracle_risk.py``).

Risk arithmetic is done in the rule book's integer units: prices in ticks,
quantities in lot steps, money in minor units, ``V`` the exact ``Decimal``
value of one tick on one lot step in minor units.  ``R`` is
``ROUND_HALF_EVEN``, ``F`` is the floor; the Kelly fraction is the one float
step, done with Python floats exactly as the rule book writes it.  Choices the
rule book leaves open are marked ``INTERPRETATION`` here and listed in
``tests/test_oracle_risk.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from tests.oracle import _CTX, EInstrument, EResult, round_half_even, whole
from tests.oracle_engine import EConfig, _Engine
from tests.oracle_engine import simulate as simulate_engine
from tests.scenarios import SPECS, EngineScenario, engine_scenario

__all__ = ["RInstrument", "RiskConfig", "RiskResult", "RiskScenario", "SEVERITY", "kelly_ppm", "risk_scenario",
           "simulate"]

D1 = Decimal(1)
PPM = Decimal(10**6)
R = round_half_even

SEVERITY = {
    **dict.fromkeys(("rate_limit", "price_sanity", "no_quote", "size_zero", "max_qty", "max_notional",
                     "max_positions", "max_positions_symbol", "max_exposure", "qty_below_min",
                     "qty_above_max", "before_data"), "warning"),
    **dict.fromkeys(("no_stop", "bad_stops", "unknown_ref", "not_working", "nothing_to_close", "off_tick",
                     "expiry_past"), "error"),
    **dict.fromkeys(("breaker", "daily_loss", "margin_call", "no_margin"), "critical"),
}
_FILL_EVENT = {"open": "opened", "increase": "increased", "reduce": "partially_closed", "close": "closed"}


def F(x: Decimal | Fraction) -> int:
    """The floor of ``x``."""
    if isinstance(x, Fraction):
        return math.floor(x)
    return int(x.to_integral_value(rounding=ROUND_FLOOR, context=_CTX))


def RF(x: Decimal | Fraction) -> int:
    """``R`` of an exact amount: a ``Fraction`` (at a live rate) or a ``Decimal``."""
    return round(x) if isinstance(x, Fraction) else R(x)  # round() of a Fraction: ties to even, exactly


def ppm(pct: Decimal | None) -> int | None:
    """A percent as parts per million of 1 (at most 4 decimals)."""
    return None if pct is None else whole(Decimal(pct) * 10**4, D1, "percent in ppm")


@dataclass
class RInstrument(EInstrument):
    """EInstrument with its margin: ``margin_rate`` m, or ``leverage`` L with ``m = 1/L`` (§1)."""

    margin_rate: Decimal | None = None
    leverage: Decimal | None = None
    margin_per_lot: Decimal | None = None  # fixed margin per lot in the quote currency (docs/currency.md §6)
    margin_hedged: Decimal = D1  # share of the smaller of two opposite sides charged


class _LiveV(Mapping):
    """``V`` of each symbol at this moment: minor units of one tick on one lot step, times the live
    rate (a ``Fraction``) for a symbol with ``rate_legs``, else times its fixed ``quote_to_account``."""

    def __init__(self, md):
        self.md = md

    def __getitem__(self, s):
        i = self.md.inst[s]
        if i.rate_legs:
            return (Fraction(i.tick_size * i.lot_step * i.contract_size) * 10**self.md.cfg.minor_digits
                    * self.md.rate(i))
        return i.tick_size * i.lot_step * i.contract_size * i.quote_to_account * 10**self.md.cfg.minor_digits

    def __iter__(self):
        return iter(self.md.inst)

    def __len__(self):
        return len(self.md.inst)


@dataclass
class RiskConfig:
    """The ``[risk]`` keys (docs/config.md); percents in percent, money in account currency, ``None``
    (or 0) = off for the limits without a default."""

    margin_call_level: Decimal = Decimal(100)
    stop_out_level: Decimal = Decimal(50)
    max_order_qty: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_order_notional_pct: Decimal | None = None
    max_positions: int | None = None
    max_positions_per_symbol: int | None = None
    daily_loss_limit: Decimal | None = None
    daily_loss_limit_pct: Decimal | None = None
    timezone: str = "UTC"
    day_start: str = "00:00"
    max_exposure: Decimal | None = None
    max_exposure_pct: Decimal | None = None
    max_price_deviation_pct: Decimal | None = None
    max_orders: int | None = None
    order_window_ns: int = 10**9
    breaker_losses: int | None = None
    breaker_rejections: int | None = None
    breaker_cooldown_ns: int = 3600 * 10**9
    kelly_fraction: Decimal = Decimal("0.5")
    kelly_min_trades: int = 30
    kelly_cap_pct: Decimal = Decimal(25)


@dataclass
class RiskResult(EResult):
    events: list[dict] = field(default_factory=list)
    margin_calls: int = 0
    stop_outs: int = 0
    daily_limit_hits: int = 0
    breaker_trips: int = 0
    max_margin_used_minor: int = 0


def kelly_ppm(nw: int, sw: int, nl: int, sl: int, fraction: float, cap: float) -> int:
    """``f_ppm`` of §2, in float64 in the rule book's order (``sw``, ``sl`` in minor units)."""
    n = nw + nl
    w = nw / n
    if nl == 0 or sl == 0:
        f = w
    elif nw == 0:
        f = 0.0
    else:
        r = (sw / nw) / (sl / nl)
        f = w - (1 - w) / r
    f = fraction * f
    f = min(max(f, 0.0), cap)
    return math.floor(f * 1e6)


def _on(x):
    """A limit without a default is off when not set or 0 (docs/config.md)."""
    return x is not None and x != 0


class _Risk(_Engine):
    def __init__(self, instruments, commission, cfg: EConfig, risk: RiskConfig, rows: list[dict]):
        super().__init__(instruments, commission, cfg)
        self.rk, self.rows = risk, rows
        self.cfg = cfg
        self.V = _LiveV(self)
        self.m = {}  # symbol -> (num, den) of the margin rate m (m = 1/L for a leverage L); absent: no margin
        self.per_lot = {}  # symbol -> fixed margin per lot (in self.m too, as (1, 1))
        for s, i in instruments.items():
            rate, lev = getattr(i, "margin_rate", None), getattr(i, "leverage", None)
            if _on(rate) or _on(lev):
                self.m[s] = (D1, Decimal(lev)) if _on(lev) else (Decimal(rate), D1)
            if getattr(i, "margin_per_lot", None) is not None:
                self.m[s], self.per_lot[s] = (D1, D1), Decimal(i.margin_per_lot)
        self.call_ppm, self.so_ppm = ppm(risk.margin_call_level), ppm(risk.stop_out_level)
        if self.so_ppm > self.call_ppm:
            raise ValueError("stop_out_level above margin_call_level")
        self.tz, self.day_start = ZoneInfo(risk.timezone), time(*map(int, risk.day_start.split(":")))
        self.now: int | None = None  # the tick being worked; None before the run
        self.events: list[dict] = []
        self.counts = dict.fromkeys(("margin_calls", "stop_outs", "daily_limit_hits", "breaker_trips"), 0)
        self.max_used, self.in_call = 0, False
        self.marked = self.to_minor(self.initial_cash)  # equity as last marked (after step 9)
        self.day: date | None = None
        self.day_eq, self.day_hit = 0, False  # D, and whether the day's limit is hit
        self.passed: list[int] = []  # times of orders that passed the rate limit
        self.trades = [0, 0, 0, 0]  # nw, sw, nl, sl (minor)
        self.loss_run = self.reject_run = 0
        self.tripped_until: int | None = None
        self.prerun: dict = {}  # order id -> reason, for orders rejected before the run

    # -- amounts in minor units (§1) -------------------------------------------------------------
    def eq(self) -> int:
        """Equity now: cash plus each symbol's unrealized P&L at its latest quote (§1)."""
        return self.to_minor(self.equity())

    def steps(self, sym: str, qty: Decimal) -> int:
        return whole(qty, self.inst[sym].lot_step, "qty")

    def ticks(self, sym: str, price: Decimal) -> int:
        return whole(price, self.inst[sym].tick_size, "price")

    def cost(self, sym: str) -> int:
        """``C_long + C_short``: the exact entry cost of the open quantity, in tick-steps."""
        i = self.inst[sym]
        return sum(whole(p.cost, i.tick_size * i.lot_step, "cost") for p in self.open[sym])

    def margin_of(self, sym: str, tick_steps, steps=0) -> int:
        """``R(V x m x amount)`` at the live rate, or ``R(steps x lot_step x F x rate)`` for a fixed
        margin per lot ``F`` (docs/currency.md §6); 0 where the symbol needs no margin."""
        if sym not in self.m:
            return 0
        i, V = self.inst[sym], self.V[sym]
        if sym in self.per_lot:  # V / (tick_size x contract_size) = lot_step x rate x 10^digits
            return RF(Fraction(V) / Fraction(i.tick_size * i.contract_size) * Fraction(self.per_lot[sym])
                      * Fraction(steps))
        num, den = self.m[sym]
        return RF(Fraction(V) * Fraction(num) * Fraction(tick_steps) / Fraction(den))

    def value_of(self, sym: str, tick_steps: int) -> int:
        return RF(Fraction(self.V[sym]) * tick_steps) if tick_steps else 0  # no rate needed for nothing

    def sides(self, sym: str) -> tuple[tuple[int, int], tuple[int, int]]:
        """((steps, cost) of the longs, (steps, cost) of the shorts) of a symbol, cost in tick-steps."""
        i = self.inst[sym]
        out = [[0, 0], [0, 0]]
        for p in self.open[sym]:
            k = 0 if p.side > 0 else 1
            out[k][0] += self.steps(sym, p.qty)
            out[k][1] += whole(p.cost, i.tick_size * i.lot_step, "cost")
        return tuple(out[0]), tuple(out[1])

    def symbol_margin(self, sym: str) -> int:
        """``M_s``: the larger side by lots (the longs on a tie, INTERPRETATION 12) in full, the other
        at ``margin_hedged`` h, one rounding: ``R((C_large + h x C_small) x V x m)``, or the steps
        for a fixed margin per lot (docs/currency.md §6)."""
        if sym not in self.m or not self.open[sym]:  # flat: nothing, and perhaps no rate yet
            return 0
        (lq, lc), (sq, sc) = self.sides(sym)
        h = Fraction(getattr(self.inst[sym], "margin_hedged", D1))
        (bq, bc), (tq, tc) = ((lq, lc), (sq, sc)) if lq >= sq else ((sq, sc), (lq, lc))
        return self.margin_of(sym, bc + h * tc, bq + h * tq)

    def used(self) -> int:
        """``U = sum_s M_s``."""
        return sum(self.symbol_margin(s) for s in self.inst)

    def exposure(self) -> int:
        """``X = sum_s R(V x (C_long + C_short))``."""
        return sum(self.value_of(s, self.cost(s)) for s in self.inst)

    def call_now(self) -> bool:
        """The margin call state of §1 with the equity as it is now (check 5, the fill-time refusal)."""
        u = self.used()
        return u > 0 and self.eq() <= self.level(self.call_ppm, u)

    def level(self, level_ppm: int, u: int) -> int:
        """``F(level_ppm x U / 10^6)``: the equity at or below which the level is reached."""
        return F(Decimal(level_ppm) * u / PPM)

    def pct_money(self, e: int, pct_ppm: int) -> int:
        return R(Decimal(e) * pct_ppm / PPM)

    def money_minor(self, x: Decimal) -> int:
        return whole(Decimal(x), self.minor, "money limit")

    def pos_upnl(self, p) -> int:
        """A position's floating P&L ``R(V x (q x qty - cost))`` (long), mirrored for a short."""
        _, bid, ask, _, _ = self.quote[p.symbol]
        q = bid if p.side > 0 else ask
        return self.to_minor(self.money(self.value(self.inst[p.symbol], p.side * (q * p.qty - p.cost))))

    # -- events (§5) -------------------------------------------------------------------------------
    def log(self, event, ts=None, severity="critical", **kw):
        self.events.append({"ts": self.now if ts is None else ts, "event": event, "position_id": -1, "order_id": -1,
                            "parent_id": -1, "symbol": None, "side": 0, "qty": None, "price": None, "reason": "none",
                            "severity": severity, "before": None, "after": None, **kw})

    def emit(self, oid, pos, ts, side, effect, qty, price, comm, pnl, reason="signal"):
        super().emit(oid, pos, ts, side, effect, qty, price, comm, pnl, reason)
        after, n = self.steps(pos.symbol, pos.qty), self.steps(pos.symbol, qty)
        self.log(_FILL_EVENT[effect], ts, "info", position_id=pos.position_id, order_id=oid,
                 parent_id=pos.parent_id, symbol=pos.symbol, side=pos.side, reason=reason, qty=n,
                 price=self.ticks(pos.symbol, price), after=after,
                 before=after - n if effect in ("open", "increase") else after + n)
        self.max_used = max(self.max_used, self.used())  # "the largest used margin after any fill"

    # -- trades: Kelly statistics and the loss streak -----------------------------------------------
    def reduce(self, oid, pos, qty, price, ts, reason, comm=None):
        was_open = pos.is_open
        super().reduce(oid, pos, qty, price, ts, reason, comm)
        if was_open and not pos.is_open:  # a trade: a position closed in full
            net = self.to_minor(pos.realized - pos.commission - pos.swap)
            if net:  # wins count in nw, sw; losses in nl, sl (absolute)
                k = 0 if net > 0 else 2
                self.trades[k], self.trades[k + 1] = self.trades[k] + 1, self.trades[k + 1] + abs(net)
            if net < 0:
                self.loss_run += 1
                if _on(self.rk.breaker_losses) and self.loss_run >= self.rk.breaker_losses:
                    self.trip("loss_streak", self.loss_run, ts)
            else:
                self.loss_run = 0

    # -- circuit breaker ---------------------------------------------------------------------------
    def trip(self, why: str, count: int, t: int) -> None:
        self.tripped_until = t + self.rk.breaker_cooldown_ns
        self.loss_run = self.reject_run = 0
        self.counts["breaker_trips"] += 1
        self.log("breaker_tripped", t, reason=why, before=count, after=self.tripped_until)

    def end(self, o, status, reason="none"):
        super().end(o, status, reason)
        if status != "rejected":
            return
        if self.now is None:  # rejected before the run: logged when it would act, no streak
            self.prerun[o.oid] = reason
            return
        self.log_rejected(o, reason)
        if reason != "breaker":
            self.reject_run += 1
            if _on(self.rk.breaker_rejections) and self.reject_run >= self.rk.breaker_rejections:
                self.trip("reject_streak", self.reject_run, self.now)

    def log_rejected(self, o, reason: str) -> None:
        qty = None if o.qty is None else self.steps(o.symbol, o.qty) if o.symbol in self.inst else None
        self.log("rejected", severity=SEVERITY[reason], order_id=o.oid, symbol=o.symbol, side=o.side,
                 reason=reason, qty=qty)

    def passed_by(self, o) -> None:
        """Step 3 reaches an order that does not act: one refused before the run is logged now."""
        if o.oid in self.prerun:
            self.log_rejected(o, self.prerun[o.oid])

    # -- step 0 -------------------------------------------------------------------------------------
    def trading_day(self, ts: int) -> date:
        """The local date ``d`` whose ``day_start`` instant is the last at or before ``ts``
        (a skipped or repeated local time: the offset before the change, ``fold=0``)."""
        d = datetime.fromtimestamp(ts // 10**9, self.tz).date()
        return d if ts >= self.boundary(d) else d - timedelta(days=1)

    def boundary(self, d: date) -> int:
        return int(datetime.combine(d, self.day_start, tzinfo=self.tz).timestamp()) * 10**9

    def step0(self, ts: int) -> None:
        self.now = ts
        day = self.trading_day(ts)
        if day != self.day:  # the first tick of the run or of a trading day: re-arm
            self.day, self.day_eq, self.day_hit = day, self.marked, False
        if self.tripped_until is not None and ts >= self.tripped_until:
            self.tripped_until = None
            self.log("breaker_reset", severity="info")

    # -- daily loss limit ----------------------------------------------------------------------------
    def daily_limit(self) -> int | None:
        """``L``: the smaller of the limits set, the percent one of ``D``."""
        rk = self.rk
        ls = [self.money_minor(rk.daily_loss_limit)] if _on(rk.daily_loss_limit) else []
        ls += [self.pct_money(self.day_eq, ppm(rk.daily_loss_limit_pct))] if _on(rk.daily_loss_limit_pct) else []
        return min(ls) if ls else None

    def daily_test(self) -> bool:
        """Is the limit hit?  Tested at step 9 and at every check 4; the first hit is the event."""
        lim = self.daily_limit()
        if lim is None:
            return False
        if not self.day_hit:
            e = self.eq()
            if e <= self.day_eq - lim:
                self.day_hit = True
                self.counts["daily_limit_hits"] += 1
                self.log("daily_limit", before=self.day_eq, after=e)
        return self.day_hit

    # -- step 9 ---------------------------------------------------------------------------------------
    def step9(self, ts: int) -> None:
        e, u = self.eq(), self.used()
        # INTERPRETATION: the state of the events is set and cleared at step 9 only: tested before the
        # stop-out sequence, and again after it (no event).
        if u > 0 and e <= self.level(self.call_ppm, u):
            if not self.in_call:
                self.in_call = True
                self.counts["margin_calls"] += 1
                self.log("margin_call", before=e, after=u)
        else:
            self.in_call = False
        closed = False
        while True:
            e, u = self.eq(), self.used()
            everything = [p for s in self.inst for p in self.open[s]]
            if not (u > 0 and e <= self.level(self.so_ppm, u) and everything):
                break
            p = min(everything, key=lambda p: (self.pos_upnl(p), p.seq))  # largest loss; ties: oldest
            n, price = self.steps(p.symbol, p.qty), self.fill_price("market", p.symbol, -p.side, p.qty)
            self.reduce(-1, p, p.qty, price, ts, "stop_out")
            # its closed event, then the stop_out event (§1); INTERPRETATION: a breaker trip the closed
            # trade causes comes between them, with the close
            self.counts["stop_outs"] += 1
            self.log("stop_out", ts, position_id=p.position_id, symbol=p.symbol, side=p.side, reason="stop_out",
                     qty=n, price=self.ticks(p.symbol, price), before=e, after=self.eq())
            closed = True
        if closed:  # re-mark: drawdown and the tick's equity row see the state after the closes
            e, u = self.eq(), self.used()
            # INTERPRETATION: the margin call state is tested again after the closes (no event)
            self.in_call = u > 0 and e <= self.level(self.call_ppm, u)
            self.peak = max(self.peak, Decimal(e) * self.minor)
            self.max_dd, self.equity_log[-1] = max(self.max_dd, self.peak - Decimal(e) * self.minor), (ts, e)
        self.daily_test()
        self.marked = self.eq()

    # -- sizing (§2) ------------------------------------------------------------------------------------
    def ref_price(self, o, side: int) -> Decimal | None:
        """``P``: limit price (limit), stop (stop, stop-limit), else the opening-side quote."""
        if o.type in ("limit", "stop", "stop_limit"):
            return o.price if o.type == "limit" else o.stop
        q = self.quote.get(o.symbol)
        return None if q is None else q[2] if side > 0 else q[1]

    def sizing(self, o) -> str:
        return (self.rows[o.idx].get("sizing") if o.idx < len(self.rows) else None) or "qty"

    def size(self, o) -> tuple[Decimal | None, str | None]:
        """``(qty, None)`` or ``(None, reason)`` for a new order; unsized orders keep their qty."""
        row, how = self.rows[o.idx] if o.idx < len(self.rows) else {}, self.sizing(o)
        if how == "qty" or (how == "kelly" and self.trades[0] + self.trades[2] < self.rk.kelly_min_trades):
            return o.qty, None
        if o.symbol not in self.quote or (self.inst[o.symbol].rate_legs and self.rate(self.inst[o.symbol]) is None):
            return None, "no_quote"
        sym, inst = o.symbol, self.inst[o.symbol]
        p = self.ref_price(o, o.side)
        e = self.eq()
        if how == "risk_pct":
            if o.sl is None:
                return None, "no_stop"
            sl = self.stop_price(o.sl, p, o.side, True, sym)
            d = abs(self.ticks(sym, p) - self.ticks(sym, sl))
            if d == 0:
                raise ValueError(f"order {o.oid}: risk_pct with a zero stop distance (the rule book is silent)")
            k = self.pct_money(e, ppm(row["size"]))
            n_steps = F(Fraction(k) / (d * Fraction(self.V[sym])))
        else:
            if how == "notional":
                n = self.money_minor(row["size"])
            elif how == "equity_pct":
                n = self.pct_money(e, ppm(row["size"]))
            else:
                nw, sw, nl, sl = self.trades
                f_ppm = kelly_ppm(nw, sw, nl, sl, float(self.rk.kelly_fraction),
                                  ppm(self.rk.kelly_cap_pct) / 1e6)
                n = self.pct_money(e, f_ppm)
            n_steps = F(Fraction(n) / (self.ticks(sym, p) * Fraction(self.V[sym])))
        # INTERPRETATION: a negative quantity (negative equity) is size_zero too
        return (None, "size_zero") if n_steps <= 0 else (n_steps * inst.lot_step, None)

    # -- pre-trade checks (§3) ----------------------------------------------------------------------------
    def act(self, o) -> None:
        why = self.pre_trade(o)
        if why:
            return self.end(o, "rejected", why)
        self.reject_run = 0  # "an order that passes the checks of §3 resets the count"
        return super().act(o)

    def prices_carried(self, o) -> list[Decimal]:
        if o.action == "modify":
            return [p for p in (o.price, o.stop) if p is not None]
        if o.action != "new":
            return []
        return [p for p, on in ((o.price, o.type in ("limit", "stop_limit")),
                                (o.stop, o.type in ("stop", "stop_limit"))) if on and p is not None]

    def pre_trade(self, o) -> str | None:
        rk, t, sym = self.rk, self.now, o.symbol
        if _on(rk.max_orders):  # 1
            self.passed = [x for x in self.passed if x > t - rk.order_window_ns]
            if len(self.passed) >= rk.max_orders:
                return "rate_limit"
            self.passed.append(t)
        if _on(rk.max_price_deviation_pct) and sym in self.quote:  # 2
            _, bid, ask, _, _ = self.quote[sym]
            two_mid = self.ticks(sym, bid) + self.ticks(sym, ask)
            for p in self.prices_carried(o):
                if abs(2 * self.ticks(sym, p) - two_mid) * 10**6 > ppm(rk.max_price_deviation_pct) * two_mid:
                    return "price_sanity"
        if o.action != "new":
            return None
        net = self.net(sym)
        sized = o.type != "target" and self.sizing(o) != "qty"
        if o.type == "target":
            delta = o.target - net
            side, qty, err = (1 if delta > 0 else -1), abs(delta), None
            adds = delta != 0 and (abs(o.target) > abs(net) or o.target * net < 0)
            opens = adds and (self.hedging or net == 0 or o.target * net < 0)
        else:
            side = o.side
            qty, err = self.size(o)
            # "A sized order always counts as adding exposure" (kelly below its minimum trade count too)
            adds = sized or self.hedging or not (net * side < 0 and qty <= abs(net))
            opens = adds and (self.hedging or net == 0 or (net * side < 0 and err is None and qty > abs(net)))
        if not adds:
            return None
        if self.tripped_until is not None and t < self.tripped_until:  # 3
            return "breaker"
        if self.daily_test():  # 4
            return "daily_loss"
        if self.call_now():  # 5
            return "margin_call"
        if self.inst[sym].rate_legs and self.rate(self.inst[sym]) is None:  # a leg without a quote yet
            return "no_quote"
        if err:  # 6: sizing (no_quote, no_stop, size_zero)
            return err
        needs_p = (_on(rk.max_order_notional) or _on(rk.max_order_notional_pct) or _on(rk.max_exposure)
                   or _on(rk.max_exposure_pct) or sym in self.m)
        if needs_p and sym not in self.quote:  # 6: checks 8, 10, 11 need P; no tick of the symbol yet
            return "no_quote"
        if o.type != "target":
            o.qty = qty
        return self.limits(o, sym, side, qty, opens, needs_p)

    def limits(self, o, sym, side, qty, opens, needs_p) -> str | None:
        """Checks 7 to 11, with the reference price ``P`` where needed."""
        rk, n, e = self.rk, self.steps(sym, qty), self.eq()
        if _on(rk.max_order_qty) and n > F(_CTX.divide(Decimal(rk.max_order_qty), self.inst[sym].lot_step)):
            return "max_qty"  # 7
        p = self.ticks(sym, self.ref_price(o, side)) if needs_p else 0
        notional = self.value_of(sym, p * n)
        if (_on(rk.max_order_notional) and notional > self.money_minor(rk.max_order_notional)) or (
                _on(rk.max_order_notional_pct) and notional > self.pct_money(e, ppm(rk.max_order_notional_pct))):
            return "max_notional"  # 8
        if opens:  # 9
            if _on(rk.max_positions) and sum(len(v) for v in self.open.values()) >= rk.max_positions:
                return "max_positions"
            if _on(rk.max_positions_per_symbol) and len(self.open[sym]) >= rk.max_positions_per_symbol:
                return "max_positions_symbol"
        x = self.exposure() + notional
        if (_on(rk.max_exposure) and x > self.money_minor(rk.max_exposure)) or (
                _on(rk.max_exposure_pct) and x > self.pct_money(e, ppm(rk.max_exposure_pct))):
            return "max_exposure"  # 10
        if sym in self.m and self.margin_of(sym, p * n, n) > e - self.used():
            return "no_margin"  # 11
        return None

    # -- the fill of a triggered pending order (§3) ------------------------------------------------------
    def fill_entry(self, o, ts: int) -> None:
        if o.tif == "ioc":  # INTERPRETATION: an IOC order fills from the queue (step 4), not from a book
            return super().fill_entry(o, ts)
        net = self.net(o.symbol)
        adds = self.hedging or self.sizing(o) != "qty" or not (net * o.side < 0 and o.qty <= abs(net))
        if adds and self.call_now():
            return self.end(o, "rejected", "margin_call")
        kind = "stop" if o.type == "stop" else "limit"
        price = self.fill_price(kind, o.symbol, o.side, o.qty, o.stop if kind == "stop" else o.price)
        n = self.steps(o.symbol, o.qty)
        m = self.margin_of(o.symbol, self.ticks(o.symbol, price) * n, n)  # at the fill price
        if adds and o.symbol in self.m and m > self.eq() - self.used():
            return self.end(o, "rejected", "no_margin")
        return super().fill_entry(o, ts)


def simulate(ticks, orders, instruments, commission, config: EConfig, risk: RiskConfig, signals=()) -> RiskResult:
    """Run the risk model: ``tests/oracle_engine.simulate`` inputs plus ``risk`` and, on order rows,
    ``sizing`` (qty | notional | equity_pct | risk_pct | kelly) and ``size`` (money or percent,
    ``Decimal``).  Instruments may be ``RInstrument`` (margin_rate or leverage)."""
    made: list[_Risk] = []

    def engine(inst, comm, cfg):
        made.append(_Risk(inst, comm, cfg, risk, list(orders)))
        return made[0]

    res = simulate_engine(ticks, orders, instruments, commission, config, signals, engine=engine)
    md = made[0]
    return RiskResult(**res.__dict__, events=md.events, max_margin_used_minor=md.max_used,
                      **md.counts)


@dataclass
class RiskScenario(EngineScenario):
    """An engine scenario (``tests/scenarios.py``) with risk limits, margins and sized orders: the oracle's
    inputs and the same as ``backtestr.run`` inputs (``sizing``/``size`` columns, the ``[risk]`` section,
    ``margin_rate``/``leverage`` instrument keys)."""

    risk: RiskConfig = field(default_factory=lambda: RiskConfig())

    def run_oracle(self):
        return simulate(self.ticks, self.orders, self.instruments, self.commission, self.config, self.risk,
                        self.signals)

    def frames(self):
        import polars as pl

        data, orders, signals = super().frames()
        if orders is not None:
            orders = orders.with_columns(
                pl.Series("sizing", [o.get("sizing") for o in self.orders], pl.String),
                pl.Series("size", [None if o.get("size") is None else float(o["size"]) for o in self.orders],
                          pl.Float64))
        return data, orders, signals

    def config_dict(self, **run) -> dict:
        cfg = super().config_dict(**run)
        for s, i in self.instruments.items():
            cfg["instruments"][s].update({k: str(getattr(i, k)) for k in ("margin_rate", "leverage", "margin_per_lot")
                                          if getattr(i, k) is not None})
            if i.margin_hedged != D1:
                cfg["instruments"][s]["margin_hedged"] = str(i.margin_hedged)
            if i.rate_legs:  # converted at the live rate into an account in EUR (docs/currency.md)
                sym, inverted = i.rate_legs[0]
                cfg["instruments"][s]["quote"] = sym[3:] if inverted else sym[:3]
                del cfg["instruments"][s]["quote_to_account"]
                cfg["account"]["currency"] = "EUR"
        cfg["risk"] = {k[:-3] if k.endswith("_ns") else k: f"{v}ns" if k.endswith("_ns") else
                       v if isinstance(v, int | str) else str(v) for k, v in vars(self.risk).items() if v is not None}
        return cfg

    def describe(self) -> str:
        return f"risk={self.risk}\n" + super().describe()


def _dec(*xs) -> list[Decimal]:
    return [Decimal(x) for x in xs]


@st.composite
def risk_scenario(draw, max_ticks: int = 80, max_orders: int = 25) -> RiskScenario:
    """An engine scenario made risky: margin rates, a drift and a price shock, a small account, sized
    orders and limits drawn near the scenario's own amounts.  Half of the scenarios are about margin
    (every symbol has one, an account of a few margins, few other limits), half about the limits."""
    sc = draw(engine_scenario(max_ticks=max_ticks, max_orders=max_orders))
    pick = lambda values: draw(st.sampled_from(values))  # noqa: E731
    margin = draw(st.booleans())
    p = 1 if margin else 3  # how likely each limit is set, in 10

    def some(values, p=p):
        return pick(values) if draw(st.integers(0, 9)) < p else None

    inst = {}
    # a third of the draws with EURUSD: an account in EUR, both symbols converted at the live rate (one over
    # EURUSD's mid), no carry. (An engine scenario has two symbols, so no cross through USD here: the
    # random scenarios of tests/test_oracle_property.py draw those.)
    live = "EURUSD" in sc.instruments and draw(st.integers(0, 2)) == 0
    for s, i in sc.instruments.items():
        kind = pick(["rate", "leverage", "per_lot"] if margin else ["none", "rate", "rate", "leverage", "per_lot"])
        sp = SPECS[s]
        lot_margin = (sp.level_ticks * sp.tick_size * sp.contract_size * pick(_dec("0.005", "0.01", "0.03"))
                      ).quantize(Decimal("0.01"))
        kw = vars(i) | {"margin_hedged": pick(_dec(1, 1, 0, "0.5"))}
        if live:
            kw |= {"swap_mode": "none", "funding_interval_ns": 0, "rate_legs": (("EURUSD", True),)}
        inst[s] = RInstrument(**kw, margin_rate=pick(_dec("0.002", "0.005", "0.01", "0.03")) if kind == "rate"
                              else None, leverage=pick(_dec(33, 100, 500)) if kind == "leverage" else None,
                              margin_per_lot=lot_margin if kind == "per_lot" else None)
    drift = {s: pick([0, 1, -1]) * max(1, SPECS[s].max_move // 2) for s in inst}
    # a shock: from the k-th tick of the symbol on, every price moves by some percent
    shock = {s: (draw(st.integers(1, 30)), pick([-4, -2, 2, 4] if margin else [0, 1, -1])) for s in inst}
    seen, ticks = dict.fromkeys(inst, 0), []
    for ts, s, bid, ask, *sizes in sc.ticks:
        seen[s] += 1
        sp = SPECS[s]
        jump = shock[s][1] * sp.level_ticks // 100 if seen[s] >= shock[s][0] else 0
        b = max(sp.level_ticks // 2 * sp.tick_size, bid + (drift[s] * seen[s] + jump) * sp.tick_size)
        ticks.append((ts, s, b, b + ask - bid, *sizes))
    cfg, s0 = sc.config, sorted(inst)[0]
    sp = SPECS[s0]
    typical = (sp.level_ticks * max(1, sp.max_steps // 5) * sp.tick_size * sp.lot_step * sp.contract_size
               * inst[s0].quote_to_account)  # the notional of a typical order, in money
    cash = cfg.initial_cash = max(Decimal(1), (typical * pick(
        _dec("0.005", "0.01", "0.03") if margin else _dec("0.01", "0.1", "1", "5"))).quantize(Decimal("0.01")))
    call = pick(_dec(100, 100, 120, 80))
    step = max(SPECS[s].lot_step for s in inst)  # a qty limit finer than a symbol's lot step is refused
    money = lambda base, *ks: [(base * k).quantize(Decimal("0.01")) for k in _dec(*ks)]  # noqa: E731
    risk = RiskConfig(
        margin_call_level=call, stop_out_level=min(call, pick(_dec(50, 80, 100, 100))),
        max_order_qty=some([step * k for k in (5, 20, sp.max_steps // 3)]),
        max_order_notional=some(money(typical, "0.5", 2, 5)), max_order_notional_pct=some(_dec(50, 300, 2000)),
        max_positions=some([1, 2, 4]), max_positions_per_symbol=some([1, 1, 2], p + 2),
        daily_loss_limit=some(money(cash, "0.002", "0.01", "0.05")), daily_loss_limit_pct=some(_dec("0.3", 1, 5)),
        timezone=pick(["UTC", "America/New_York", "Asia/Tokyo", "Europe/London"]),
        day_start=pick(["00:00", "17:00", "09:30", "02:30"]),
        max_exposure=some(money(typical, 1, 3, 10)), max_exposure_pct=some(_dec(100, 1000, 5000)),
        max_price_deviation_pct=some(_dec("0.01", "0.03", "0.1")),
        max_orders=some([2, 3, 6]), order_window_ns=pick([1000, 10**9, 3600 * 10**9]),
        breaker_losses=some([1, 2, 3]), breaker_rejections=some([2, 4, 8]),
        breaker_cooldown_ns=pick([1000, 10**9, 3600 * 10**9, 5 * 3600 * 10**9]),
        kelly_fraction=pick(_dec("0.25", "0.5", 1)), kelly_min_trades=draw(st.integers(1, 3)),
        kelly_cap_pct=pick(_dec(10, 25, 50, 100)))
    orders = []
    for o in map(dict, sc.orders):
        if o.get("action") == "new" and draw(st.integers(0, 9)) < 4:
            o["sizing"] = how = pick(["notional", "equity_pct", "risk_pct", "kelly"])
            if how == "notional":
                o["size"] = max(Decimal("0.01"), pick(money(typical, "0.0001", "0.1", "0.5", 2)))
            elif how == "equity_pct":
                o["size"] = pick(_dec("0.5", 100, 1000, "12.3456", 5000, 20000))
            elif how == "risk_pct":
                o["size"] = pick(_dec("0.1", 1, "2.5", "0.0001"))
                for k in ("sl", "sl_ticks", "sl_pct"):  # no zero distances (INTERPRETATION 11)
                    o.pop(k, None)
                form = pick(["none", "ticks", "ticks", "pct"])
                if form == "ticks":
                    o["sl_ticks"] = draw(st.integers(1, 3 * max(1, SPECS[o["symbol"]].max_move)))
                elif form == "pct":
                    o["sl_pct"] = pick(_dec("0.05", "0.5", 1))
            if how != "kelly":
                o["qty"] = None
        orders.append(o)
    return RiskScenario(inst, ticks, orders, sc.signals, sc.commission, cfg, sc.ids_given, risk=risk)
