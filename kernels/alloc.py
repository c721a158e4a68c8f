"""Allocation and growth of a run's state: ``new_book``, ``new_logs``, the regions of
``Book.ints`` and their growth between kernel calls (docs/architecture.md §4, §5).

Plain Python over the record dtypes of ``records.py``; the kernels never call it.
"""

from __future__ import annotations

import numpy as np

from .enums import HK_COLS, HK_PREV, NO_RATE, TIF_GTD
from .records import ACCOUNT, EQUITY, EVENT, FILL, ORDER, POSITION, SYMBOL, Book, Logs

_BIG = np.iinfo(np.int64).max // 4  # "never" for thresholds, safe to add a few ticks to

# regions of Book.ints in their order: (name, offset field in ACCOUNT)
_REGIONS = ("free", "psl", "ptp", "slot", "onode", "expiry", "ring", "days", "xs")


def _sizes(n_sym: int, cap: int, n_orders: int, n_expiry: int, n_ring: int, n_days: int, xs_cap: int) -> dict:
    return {"free": cap, "psl": cap * HK_COLS, "ptp": cap * HK_COLS, "slot": n_orders,
            "onode": n_orders * HK_COLS, "expiry": n_expiry, "ring": n_ring, "days": n_days,
            "xs": n_sym * 4 * (1 + 2 * xs_cap)}


def _shapes(book: Book) -> dict:
    a = book.acct[0]
    n_orders = int(a["onode_at"] - a["slot_at"])
    return {"n_sym": book.syms.shape[0], "cap": book.pos.shape[0], "n_orders": n_orders,
            "n_expiry": int(a["ring_at"] - a["expiry_at"]), "n_ring": int(a["days_at"] - a["ring_at"]),
            "n_days": int(a["n_days"]), "xs_cap": int(a["xs_cap"])}


def _pack(acct: np.ndarray, sizes: dict) -> np.ndarray:
    """A fresh ints array for these region sizes; sets the offsets in ``acct``."""
    at = 0
    for name in _REGIONS:
        acct[0][name + "_at"] = at
        at += sizes[name]
    return np.zeros(max(1, at), dtype=np.int64)


def regions(book: Book) -> dict:
    """Named views of the regions of ``book.ints`` (for the driver and the tests)."""
    a = book.acct[0]
    sh = _shapes(book)
    sizes = _sizes(**sh)
    ints = book.ints
    v = {name: ints[int(a[name + "_at"]):int(a[name + "_at"]) + sizes[name]] for name in _REGIONS}
    for name in ("psl", "ptp", "onode"):
        v[name] = v[name].reshape(-1, HK_COLS)
    xs = v["xs"].reshape(sh["n_sym"], 4, 1 + 2 * sh["xs_cap"])
    v["xs_n"] = xs[:, :, 0]
    v["xs_seq"] = xs[:, :, 1:1 + sh["xs_cap"]]
    v["xs_val"] = xs[:, :, 1 + sh["xs_cap"]:]
    return v


def _empty_nodes(nodes: np.ndarray) -> None:
    nodes[:] = -1
    nodes[:, HK_PREV] = -2


def new_book(n_symbols: int, orders: np.ndarray, params: np.ndarray, capacity: int = 1024,
             stack_capacity: int = 256, days: np.ndarray | None = None, order_room: int = 0) -> Book:
    """Fresh account state for one parameter set.

    ``days``: sorted trading-day boundaries (ns UTC) for the daily loss limit.
    ``order_room``: free rows after the orders (a strategy appends its orders there).
    """
    n_in = orders.shape[0]
    if order_room > 0:
        orders = np.concatenate([orders, np.zeros(order_room, ORDER)])
    acct = np.zeros(1, ACCOUNT)
    cash = int(params[0]["initial_cash_minor"])
    acct[0]["cash_minor"] = cash
    acct[0]["equity_minor"] = cash
    acct[0]["peak_minor"] = cash
    acct[0]["sample_end"] = np.iinfo(np.int64).min
    acct[0]["next_carry"] = np.iinfo(np.int64).min  # the first tick sets up swap and funding
    syms = np.zeros(n_symbols, SYMBOL)
    for f in ("net_slot", "work_head", "work_tail", "h_long_sl", "h_long_tp", "h_short_sl", "h_short_tp",
              "h_buy_stop", "h_sell_stop", "h_buy_limit", "h_sell_limit", "long_head", "long_tail",
              "short_head", "short_tail", "trail_long", "trail_short"):
        syms[f] = -1
    syms["bid_lo"] = -_BIG
    syms["ask_lo"] = -_BIG
    syms["bid_hi"] = _BIG
    syms["ask_hi"] = _BIG
    syms["fund_rate"] = NO_RATE
    syms["trail_bid"] = _BIG
    syms["trail_ask"] = -_BIG
    syms["next_swap"] = np.iinfo(np.int64).max
    syms["next_fund"] = np.iinfo(np.int64).max
    pos = np.zeros(capacity, POSITION)
    acct[0]["n_free"] = capacity
    acct[0]["n_orders"] = n_in
    n_orders = max(1, orders.shape[0])
    gtd = np.flatnonzero(orders["tif"][:n_in] == TIF_GTD) if n_in else np.empty(0, np.int64)
    expiry = gtd[np.argsort(orders["expire_ts"][gtd], kind="stable")].astype(np.int64)
    a = acct[0]
    for f in ("call_eq", "so_eq", "watch_lo", "day_eq", "level_eq"):
        a[f] = -_BIG
    a["watch_hi"] = _BIG
    daily = params[0]["daily_loss_minor"] > 0 or params[0]["daily_loss_ppm"] > 0
    if days is None or not daily:
        days = np.array([np.iinfo(np.int64).max], np.int64)
    a["next_day"] = np.iinfo(np.int64).min if daily else np.iinfo(np.int64).max
    n_ring = max(1, int(params[0]["max_orders"]))
    a["n_expiry"] = expiry.shape[0]
    a["n_days"] = days.shape[0]
    a["xs_cap"] = stack_capacity
    # room in the expiry list for every order a strategy may append (kernels/gtd.py)
    book = Book(acct, syms, orders, pos, _pack(acct, _sizes(n_symbols, capacity, n_orders,
                                                              expiry.shape[0] + orders.shape[0] - n_in,
                                                              n_ring, days.shape[0], stack_capacity)))
    v = regions(book)
    v["free"][:] = np.arange(capacity - 1, -1, -1, dtype=np.int64)
    v["slot"][:] = -1
    for name in ("psl", "ptp", "onode"):
        _empty_nodes(v[name])
    v["expiry"][:expiry.shape[0]] = expiry
    v["days"][:] = days
    return book


def _repack(book: Book, pos: np.ndarray, xs_cap: int) -> Book:
    """The same state with room for ``pos.shape[0]`` positions and stacks of ``xs_cap``."""
    old = regions(book)
    sh = _shapes(book)
    sh["cap"] = pos.shape[0]
    sh["xs_cap"] = xs_cap
    book.acct[0]["xs_cap"] = xs_cap
    new = book._replace(pos=pos, ints=_pack(book.acct, _sizes(**sh)))
    v = regions(new)
    cap = old["free"].shape[0]
    v["free"][:cap] = old["free"]
    v["free"][cap:] = -1
    for name in ("psl", "ptp"):
        _empty_nodes(v[name])
        v[name][:cap] = old[name]
    for name in ("slot", "onode", "expiry", "ring", "days"):
        v[name][:] = old[name]
    k = old["xs_seq"].shape[2]
    v["xs_n"][:] = old["xs_n"]
    v["xs_seq"][:, :, :k] = old["xs_seq"]
    v["xs_val"][:, :, :k] = old["xs_val"]
    return new


def grow_positions(book: Book) -> Book:
    """Double the position slots when every slot is taken (between kernel calls)."""
    if int(book.acct[0]["n_free"]) > 0:
        return book
    cap = book.pos.shape[0]
    pos = np.zeros(2 * cap, POSITION)
    pos[:cap] = book.pos
    new = _repack(book, pos, int(book.acct[0]["xs_cap"]))
    regions(new)["free"][:cap] = np.arange(2 * cap - 1, cap - 1, -1, dtype=np.int64)
    new.acct[0]["n_free"] = cap
    return new


def grow_orders(book: Book, room: int) -> Book:
    """At least ``room`` free rows in the orders table, doubling it (between kernel calls).

    The per-order regions of ``ints`` (slot, heap nodes) grow with it.
    """
    cap = book.orders.shape[0]
    used = int(book.acct[0]["n_orders"])
    if cap - used >= room:
        return book
    new_cap = max(2 * cap, used + room, 16)
    orders = np.zeros(new_cap, ORDER)
    orders[:cap] = book.orders
    old = regions(book)
    sh = _shapes(book)
    sh["n_orders"] = new_cap
    sh["n_expiry"] += new_cap - cap  # the expiry list keeps room for every appended order
    new = book._replace(orders=orders, ints=_pack(book.acct, _sizes(**sh)))
    v = regions(new)
    for name in ("free", "psl", "ptp", "ring", "days", "xs"):
        v[name][:] = old[name]
    v["expiry"][:old["expiry"].shape[0]] = old["expiry"]
    n_old = old["slot"].shape[0]
    v["slot"][:] = -1
    v["slot"][:n_old] = old["slot"]
    _empty_nodes(v["onode"])
    v["onode"][:n_old] = old["onode"]
    return new


def grow_stacks(book: Book) -> Book:
    """Double the excursion stacks (between kernel calls)."""
    return _repack(book, book.pos, 2 * int(book.acct[0]["xs_cap"]))


def new_logs(rows: int, event_rows: int | None = None) -> Logs:
    ev = rows if event_rows is None else event_rows
    return Logs(np.zeros(rows, FILL), np.zeros(rows, POSITION), np.zeros(rows, EQUITY), np.zeros(ev, EVENT))
