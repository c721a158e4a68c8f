"""What a plain-Python strategy sees and does (docs/strategies.md §8).

``PyCtx`` mirrors backtestr/strategies/context.py: the same helpers under the
same names, with the same units (prices in ticks, bars of the mid basis in half
ticks, quantities in lot steps, money in minor units, time in ns UTC) and the
same rules. Its actions are written as ORDER rows into the free rows of the
orders table exactly as the compiled helpers write them, so the engine stamps
and checks them identically. Each helper is a method (``ctx.buy(s, 1)``) and a
free function of this module (``buy(ctx, s, 1)``), as in compiled code.

The arrays are the kernel's own, seen through their addresses: valid during a
call only (the orders table and the positions move when they grow).
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import numpy as np

from ..kernels.enums import (
    A_CANCEL,
    A_CLOSE,
    A_MODIFY,
    A_NEW,
    BASIS_MID,
    ERR_ACTIONS,
    ERR_BARS,
    ERR_SYMBOL,
    K_NONE,
    K_PPM,
    K_PRICE,
    K_TICKS,
    OS_NEW,
    OS_WORKING,
    OT_LIMIT,
    OT_MARKET,
    OT_STOP,
    OT_STOP_LIMIT,
    R_EXPIRY_PAST,
    R_NONE,
    R_OFF_STEP,
    R_OFF_TICK,
    R_QTY_BELOW_MIN,
    TIF_GTC,
    TIF_GTD,
    TIF_IOC,
)
from ..kernels.gtd import add_expiry, drop_expiry  # a strategy's GTD orders join the expiry list
from ..kernels.records import ACCOUNT, ORDER, POSITION, SYMBOL

__all__ = [
    "PyCtx", "ContextError", "Record", "K_NONE", "K_PPM", "K_PRICE", "K_TICKS", "OT_LIMIT", "OT_MARKET",
    "OT_STOP", "OT_STOP_LIMIT", "TIF_GTC", "TIF_IOC", "now", "bid", "ask", "n_symbols", "n_bars", "bar",
    "bar_close", "to_ticks", "net_qty", "position_slot", "position_qty", "oldest_position", "order_status",
    "is_working", "cash", "equity", "used_margin", "free_margin", "margin_level", "submit", "buy", "sell",
    "set_stops", "set_trail", "set_oco", "set_sizing", "set_tif", "set_expiry", "set_tag", "modify", "cancel",
    "close", "close_symbol",
]

_TOL = 1e-6
_LIMIT_TYPES = (OT_LIMIT, OT_STOP_LIMIT)
_STOP_TYPES = (OT_STOP, OT_STOP_LIMIT)
_DTYPES = (ACCOUNT, SYMBOL, ORDER, POSITION, np.dtype(np.int64))  # bridge.ARRAYS
_ORDER_FIELDS = ("action", "type", "side", "symbol", "qty_steps", "price_ticks", "stop_ticks", "reason", "ref_id",
                 "oco_group", "sl_kind", "sl_val", "tp_kind", "tp_val", "trail_kind", "trail_val", "trail_act",
                 "trail_step", "sizing", "size_val", "tif", "status", "expire_ts", "tag_code")


class ContextError(IndexError):
    """A helper used out of its rules (a bar not kept, too many actions, set_* on an order not
    written by the call, an unknown symbol index): stops the run like the compiled helpers."""

    def __init__(self, code: int, tf: int, text: str) -> None:
        super().__init__(text)
        self.code, self.tf = code, tf


class Record:
    """Parameters or state of a Python strategy: attributes; ``rec[0]`` is the record itself,
    so ``ctx.params[0].fast`` reads as in compiled code."""

    def __getitem__(self, i: int) -> Record:
        if i != 0:
            raise IndexError("a strategy's record has one row: [0]")
        return self

    def __repr__(self) -> str:
        return f"Record({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


def _view(addr: int, n: int, dtype: np.dtype) -> np.ndarray:
    """The kernel's array at ``addr`` (``n`` rows of ``dtype``), without a copy."""
    if n == 0:
        return np.zeros(0, dtype)
    buf = (ctypes.c_char * (n * dtype.itemsize)).from_address(addr)
    return np.frombuffer(buf, dtype)


def _mv(a: np.ndarray, field: str) -> memoryview:
    """One field of a structured array as a memoryview: reads and writes Python numbers."""
    return memoryview(a[field])


def _whole(x: Any) -> tuple[int, bool]:
    """(round(x), True when x is a whole number within 1e-6), as the compiled helpers."""
    if type(x) is int:
        return x, True
    x = float(x)
    if not math.isfinite(x):
        return 0, False
    q = round(x)  # half to even, as np.rint
    return q, abs(x - q) <= _TOL


# the views bind() makes of the account's arrays
_BOUND = ("_n_orders", "_bid", "_ask", "_long", "_short", "_long_head", "_short_head", "_ints", "_p_qty", "_p_side",
          "_p_id", "_o_action", "_o_type", "_o_side", "_o_symbol", "_o_qty", "_o_price", "_o_stop", "_o_reason",
          "_o_ref", "_o_oco")


class PyCtx:
    """The context of a Python strategy's call; see backtestr/strategies/context.py for the
    compiled twin of each method."""

    def __init__(self, info: np.ndarray, tfs: np.ndarray, bars: np.ndarray, params: Record, state: Record) -> None:
        self.info, self.tfs, self.bars = info, tfs, bars
        self.params, self.state = params, state
        c = info[0]
        self._n_sym, self._n_tf, self._keep = int(c["n_sym"]), int(c["n_tf"]), int(c["keep"])
        self._mid = int(c["basis"]) == BASIS_MID
        self._max_actions = int(c["max_actions"])
        self._n_act = _mv(info, "n_actions")
        self._closed = _mv(bars, "n_closed")
        self._close = _mv(bars, "close")
        self._bar_rows = bars.view(np.recarray)
        self._ts = 0
        self.release()  # the account's arrays come with the first call (bind)

    # ------------------------------------------------------------ the arrays

    def bind(self, addr: np.ndarray) -> None:
        """See the account's arrays at their addresses (``addr``: bridge.ARRAYS addresses, then
        lengths); called when one of them moved."""
        n = len(_DTYPES)
        a = [_view(int(addr[j]), int(addr[n + j]), _DTYPES[j]) for j in range(n)]
        self.acct, self.syms, self.orders, self.pos, self.ints = a
        acct, syms, orders, pos = a[0], a[1], a[2], a[3]
        self._n_orders = _mv(acct, "n_orders")
        self._acct_mv = {k: _mv(acct, k) for k in ("cash_minor", "equity_minor", "margin_used_minor", "slot_at")}
        self._bid, self._ask = _mv(syms, "bid"), _mv(syms, "ask")
        self._long, self._short = _mv(syms, "long_steps"), _mv(syms, "short_steps")
        self._long_head, self._short_head = _mv(syms, "long_head"), _mv(syms, "short_head")
        self._ints = memoryview(a[4])
        self._p_qty, self._p_side, self._p_id = _mv(pos, "qty_steps"), _mv(pos, "side"), _mv(pos, "position_id")
        o = {f: _mv(orders, f) for f in _ORDER_FIELDS}
        self._o = o
        (self._o_action, self._o_type, self._o_side, self._o_symbol, self._o_qty, self._o_price, self._o_stop,
         self._o_reason, self._o_ref, self._o_oco) = (o[f] for f in _ORDER_FIELDS[:10])

    def release(self) -> None:
        """Forget the kernel's arrays (after the run): a context kept beyond its run then fails
        with an error instead of reading memory the run has freed."""
        self.acct = self.syms = self.orders = self.pos = self.ints = None
        self._o, self._acct_mv = {}, {}
        for k in _BOUND:
            setattr(self, k, None)

    # ------------------------------------------------------------ the moment

    def now(self) -> int:
        """The time actions of this call are stamped with (a bar's ts_close, the tick's ts)."""
        return self._ts

    def bid(self, s: int) -> int:
        """The last bid of symbol ``s`` in ticks (0 before its first tick)."""
        return self._bid[s]

    def ask(self, s: int) -> int:
        return self._ask[s]

    def n_symbols(self) -> int:
        return self._n_sym

    # ------------------------------------------------------------ bars

    def n_bars(self, tf: int, s: int) -> int:
        """Closed bars of timeframe ``tf`` and symbol ``s`` that can be read (at most keep)."""
        n = self._closed[tf * self._n_sym + s]
        return n if n < self._keep else self._keep

    def _bar_row(self, tf: int, s: int, back: int) -> int:
        ns = self._n_sym
        n = self._closed[tf * ns + s]
        keep = self._keep
        if back < 0 or back >= keep or back >= n:
            raise ContextError(ERR_BARS, tf, "bar not kept")
        return self._n_tf * ns + (tf * ns + s) * keep + (n - 1 - back) % keep

    def bar(self, tf: int, s: int, back: int) -> Any:
        """The closed bar ``back`` bars ago (0 = the latest) of (tf, s): a BAR record (fields as
        attributes), valid during the call."""
        return self._bar_rows[self._bar_row(tf, s, back)]

    def bar_close(self, tf: int, s: int, back: int) -> int:
        ns = self._n_sym  # _bar_row inlined: the helper a rule calls most
        j = tf * ns + s
        n = self._closed[j]
        keep = self._keep
        if back < 0 or back >= keep or back >= n:
            raise ContextError(ERR_BARS, tf, "bar not kept")
        return self._close[self._n_tf * ns + j * keep + (n - 1 - back) % keep]

    def closes(self, tf: int, s: int, n: int) -> list[int]:
        """Python only: the last ``n`` closes of (tf, s), newest first, as a list (what ``n`` calls
        of bar_close give, in one call; compiled code loops over bar_close)."""
        ns = self._n_sym
        j = tf * ns + s
        m = self._closed[j]
        keep = self._keep
        if n < 0 or n > keep or n > m:
            raise ContextError(ERR_BARS, tf, "bar not kept")
        base = self._n_tf * ns + j * keep
        end = base + (m - 1) % keep + 1  # after the newest
        lo = end - n
        c = self._close
        out = c[lo:end].tolist() if lo >= base else c[lo + keep:base + keep].tolist() + c[base:end].tolist()
        out.reverse()
        return out

    def to_ticks(self, x: float) -> float:
        """A bar price (half ticks for the mid basis) in ticks, as a float."""
        return x / 2.0 if self._mid else x * 1.0

    # ------------------------------------------------------------ positions and orders

    def net_qty(self, s: int) -> int:
        """Signed net position of symbol ``s`` in lot steps (long minus short)."""
        return self._long[s] - self._short[s]

    def position_slot(self, pid: int) -> int:
        """Row of ``ctx.pos`` of open position ``pid`` (the id of the order that opened it), -1."""
        if pid < 0 or pid >= self._n_orders[0]:
            return -1
        return self._ints[self._acct_mv["slot_at"][0] + pid]

    def position_qty(self, pid: int) -> int:
        """Signed open quantity of position ``pid`` in lot steps, 0 when it is not open."""
        slot = self.position_slot(pid)
        if slot < 0:
            return 0
        return self._p_qty[slot] * self._p_side[slot]

    def oldest_position(self, s: int, side: int) -> int:
        """Id of the oldest open position of symbol ``s`` on ``side`` (1 long, -1 short), -1."""
        slot = self._long_head[s] if side > 0 else self._short_head[s]
        return self._p_id[slot] if slot >= 0 else -1

    def order_status(self, oid: int) -> int:
        """Status code of order ``oid`` (OrderStatus), -1 for an id no order has yet."""
        if oid < 0 or oid >= self._n_orders[0]:
            return -1
        return self._o["status"][oid]

    def is_working(self, oid: int) -> bool:
        return self.order_status(oid) in (OS_WORKING, OS_NEW)

    # ------------------------------------------------------------ account

    def cash(self) -> int:
        return self._acct_mv["cash_minor"][0]

    def equity(self) -> int:
        return self._acct_mv["equity_minor"][0]

    def used_margin(self) -> int:
        return self._acct_mv["margin_used_minor"][0]

    def free_margin(self) -> int:
        return self.equity() - self.used_margin()

    def margin_level(self) -> float:
        """Equity / used margin (a ratio, 1.0 = 100 %); inf when no margin is used."""
        used = self.used_margin()
        return math.inf if used <= 0 else self.equity() / used

    # ------------------------------------------------------------ actions

    def _row(self) -> int:
        """The next free row of the action buffer (the order id it will get)."""
        n = self._n_act[0]
        if n >= self._max_actions:
            raise ContextError(ERR_ACTIONS, -1, "action buffer full")
        k = self._n_orders[0] + n
        self._n_act[0] = n + 1
        self._o_ref[k] = -1
        self._o_oco[k] = -1
        self._o_reason[k] = R_NONE
        o = self._o
        o["tif"][k] = TIF_GTC
        o["expire_ts"][k] = 0
        o["tag_code"][k] = 0
        return k

    def _qty(self, k: int, qty: Any, allow_zero: bool) -> None:
        q, ok = _whole(qty)
        if not ok:
            self._o_reason[k] = R_OFF_STEP
        elif q < 0 or (q == 0 and not allow_zero):
            self._o_reason[k] = R_QTY_BELOW_MIN
        self._o_qty[k] = q if ok else 0

    def _price(self, k: int, x: Any) -> int:
        """Ticks of a price given in ticks; OFF_TICK when it is not a whole number."""
        p, ok = _whole(x)
        if not ok and self._o_reason[k] in (R_NONE, R_EXPIRY_PAST):  # off_tick comes first
            self._o_reason[k] = R_OFF_TICK
        return p if ok else 0

    def _symbol(self, s: int) -> None:
        if s < 0 or s >= self._n_sym:
            raise ContextError(ERR_SYMBOL, -1, "unknown symbol index")

    def submit(self, s: int, side: int, qty: Any, otype: int = OT_MARKET, price: Any = 0.0,
               stop: Any = 0.0) -> int:
        """A new order; returns its id. ``side`` 1 buy, -1 sell; ``qty`` in lot steps; ``price``
        (limit, stop-limit) and ``stop`` (stop, stop-limit) in ticks."""
        self._symbol(s)
        k = self._row()
        self._o_action[k] = A_NEW
        self._o_symbol[k] = s
        self._o_side[k] = 1 if side > 0 else -1
        self._o_type[k] = otype
        self._qty(k, qty, False)
        self._o_price[k] = self._price(k, price) if otype in _LIMIT_TYPES else 0
        self._o_stop[k] = self._price(k, stop) if otype in _STOP_TYPES else 0
        return k

    def buy(self, s: int, qty: Any) -> int:
        return self.submit(s, 1, qty, OT_MARKET, 0.0, 0.0)

    def sell(self, s: int, qty: Any) -> int:
        return self.submit(s, -1, qty, OT_MARKET, 0.0, 0.0)

    def _own(self, oid: int) -> int:
        """Order ``oid`` must be one written by this call."""
        n = self._n_orders[0]
        if oid < n or oid >= n + self._n_act[0]:
            raise ContextError(ERR_ACTIONS, -1, "not an action of this call")
        return oid

    def set_stops(self, oid: int, sl_kind: int, sl: Any, tp_kind: int, tp: Any) -> None:
        """Stop-loss and take-profit of an order of this call: kinds StopKind (PRICE: ticks,
        TICKS: distance in ticks, PPM: parts per million of the entry), NONE for none."""
        k = self._own(oid)
        o = self._o
        o["sl_kind"][k] = sl_kind
        o["tp_kind"][k] = tp_kind
        o["sl_val"][k] = self._price(k, sl) if sl_kind != K_NONE else 0
        o["tp_val"][k] = self._price(k, tp) if tp_kind != K_NONE else 0

    def set_trail(self, oid: int, kind: int, dist: Any, activation: int = 0, step: int = 0) -> None:
        """Trailing stop of an order of this call: ``dist`` in ticks (TICKS) or ppm (PPM)."""
        k = self._own(oid)
        o = self._o
        o["trail_kind"][k] = kind
        o["trail_val"][k] = self._price(k, dist)
        o["trail_act"][k] = int(activation)
        o["trail_step"][k] = int(step)

    def set_oco(self, oid: int, group: int) -> None:
        """The order joins OCO group ``group`` (>= 0): one fill cancels the others."""
        self._o_oco[self._own(oid)] = int(group)

    def set_sizing(self, oid: int, sizing: int, size: int) -> None:
        """Sizing rule (Sizing) and amount (minor units for notional, ppm for percents)."""
        k = self._own(oid)
        self._o["sizing"][k] = sizing
        self._o["size_val"][k] = int(size)

    def set_tif(self, oid: int, tif: int) -> None:
        """TIF_GTC (the default) or TIF_IOC; good-till-date is set with set_expiry (not followed
        by set_tif)."""
        k = self._own(oid)
        if (tif != TIF_GTC and tif != TIF_IOC) or self._o["tif"][k] == TIF_GTD:
            raise ContextError(ERR_ACTIONS, -1, "time in force")
        self._o["tif"][k] = tif

    def set_expiry(self, oid: int, ts: int) -> None:
        """Good-till-date: new order ``oid`` of this call works on ticks with time < ``ts`` (ns
        UTC), then expires; ``ts`` not after ``now()`` rejects it (``expiry_past``)."""
        k = self._own(oid)
        o = self._o
        if o["action"][k] != A_NEW:
            raise ContextError(ERR_ACTIONS, -1, "expiry on a row that is not a new order")
        if o["tif"][k] == TIF_GTD:  # set again: the new expiry replaces the first
            drop_expiry(self.acct, self.ints, k)
            if self._o_reason[k] == R_EXPIRY_PAST:
                self._o_reason[k] = R_NONE
        o["tif"][k] = TIF_GTD
        o["expire_ts"][k] = ts
        if ts <= self._ts:
            if self._o_reason[k] == R_NONE:
                self._o_reason[k] = R_EXPIRY_PAST
            return
        if not add_expiry(self.acct, self.ints, self.orders, k):
            raise ContextError(ERR_ACTIONS, -1, "expiry list full")

    def set_tag(self, oid: int, tag: int) -> None:
        """Tag code ``tag`` (>= 0) of an order of this call (the class's ``tags[tag]`` in the
        orders log)."""
        k = self._own(oid)
        if tag < 0:
            raise ContextError(ERR_ACTIONS, -1, "negative tag")
        self._o["tag_code"][k] = tag + 1

    def _ref_row(self, action: int, ref: int) -> int:
        """A new action row ``action`` on order (or position) ``ref``, in its symbol."""
        k = self._row()
        self._o_action[k] = action
        self._o_ref[k] = ref
        self._o_symbol[k] = self._o_symbol[ref] if 0 <= ref < self._n_orders[0] else 0
        self._o_type[k] = OT_MARKET
        return k

    def modify(self, ref: int, price: Any = 0.0, stop: Any = 0.0, qty: Any = 0.0) -> int:
        """Modify working order (or the stops of open position) ``ref``; 0 = unchanged."""
        k = self._ref_row(A_MODIFY, ref)
        self._qty(k, qty, True)
        self._o_price[k] = self._price(k, price)
        self._o_stop[k] = self._price(k, stop)
        return k

    def cancel(self, ref: int) -> int:
        """Cancel working order ``ref``."""
        return self._ref_row(A_CANCEL, ref)

    def close(self, pid: int, qty: Any = 0.0) -> int:
        """Close open position ``pid`` (all of it, or ``qty`` lot steps) at market."""
        k = self._ref_row(A_CLOSE, pid)
        self._qty(k, qty, True)
        return k

    def close_symbol(self, s: int) -> int:
        """Close every open position of symbol ``s`` at market, oldest first."""
        self._symbol(s)
        k = self._row()
        self._o_action[k] = A_CLOSE
        self._o_symbol[k] = s
        self._o_type[k] = OT_MARKET
        return k


# ------------------------------------------------------------ the helpers as free functions of ctx


def now(ctx: PyCtx) -> int:
    return ctx.now()


def bid(ctx: PyCtx, s: int) -> int:
    return ctx.bid(s)


def ask(ctx: PyCtx, s: int) -> int:
    return ctx.ask(s)


def n_symbols(ctx: PyCtx) -> int:
    return ctx.n_symbols()


def n_bars(ctx: PyCtx, tf: int, s: int) -> int:
    return ctx.n_bars(tf, s)


def bar(ctx: PyCtx, tf: int, s: int, back: int) -> Any:
    return ctx.bar(tf, s, back)


def bar_close(ctx: PyCtx, tf: int, s: int, back: int) -> int:
    return ctx.bar_close(tf, s, back)


def closes(ctx: PyCtx, tf: int, s: int, n: int) -> list[int]:
    return ctx.closes(tf, s, n)


def to_ticks(ctx: PyCtx, x: float) -> float:
    return ctx.to_ticks(x)


def net_qty(ctx: PyCtx, s: int) -> int:
    return ctx.net_qty(s)


def position_slot(ctx: PyCtx, pid: int) -> int:
    return ctx.position_slot(pid)


def position_qty(ctx: PyCtx, pid: int) -> int:
    return ctx.position_qty(pid)


def oldest_position(ctx: PyCtx, s: int, side: int) -> int:
    return ctx.oldest_position(s, side)


def order_status(ctx: PyCtx, oid: int) -> int:
    return ctx.order_status(oid)


def is_working(ctx: PyCtx, oid: int) -> bool:
    return ctx.is_working(oid)


def cash(ctx: PyCtx) -> int:
    return ctx.cash()


def equity(ctx: PyCtx) -> int:
    return ctx.equity()


def used_margin(ctx: PyCtx) -> int:
    return ctx.used_margin()


def free_margin(ctx: PyCtx) -> int:
    return ctx.free_margin()


def margin_level(ctx: PyCtx) -> float:
    return ctx.margin_level()


def submit(ctx: PyCtx, s: int, side: int, qty: Any, otype: int = OT_MARKET, price: Any = 0.0,
           stop: Any = 0.0) -> int:
    return ctx.submit(s, side, qty, otype, price, stop)


def buy(ctx: PyCtx, s: int, qty: Any) -> int:
    return ctx.buy(s, qty)


def sell(ctx: PyCtx, s: int, qty: Any) -> int:
    return ctx.sell(s, qty)


def set_stops(ctx: PyCtx, oid: int, sl_kind: int, sl: Any, tp_kind: int, tp: Any) -> None:
    return ctx.set_stops(oid, sl_kind, sl, tp_kind, tp)


def set_trail(ctx: PyCtx, oid: int, kind: int, dist: Any, activation: int = 0, step: int = 0) -> None:
    return ctx.set_trail(oid, kind, dist, activation, step)


def set_oco(ctx: PyCtx, oid: int, group: int) -> None:
    return ctx.set_oco(oid, group)


def set_sizing(ctx: PyCtx, oid: int, sizing: int, size: int) -> None:
    return ctx.set_sizing(oid, sizing, size)


def set_tif(ctx: PyCtx, oid: int, tif: int) -> None:
    return ctx.set_tif(oid, tif)


def set_expiry(ctx: PyCtx, oid: int, ts: int) -> None:
    return ctx.set_expiry(oid, ts)


def set_tag(ctx: PyCtx, oid: int, tag: int) -> None:
    return ctx.set_tag(oid, tag)


def modify(ctx: PyCtx, ref: int, price: Any = 0.0, stop: Any = 0.0, qty: Any = 0.0) -> int:
    return ctx.modify(ref, price, stop, qty)


def cancel(ctx: PyCtx, ref: int) -> int:
    return ctx.cancel(ref)


def close(ctx: PyCtx, pid: int, qty: Any = 0.0) -> int:
    return ctx.close(pid, qty)


def close_symbol(ctx: PyCtx, s: int) -> int:
    return ctx.close_symbol(s)
