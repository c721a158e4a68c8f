"""Record dtypes, integer enums and the state containers of the kernel.

Defined once here; the Parquet schemas of the logs are these dtypes (see
docs/architecture.md §4 and docs/outputs.md). Prices are int64 ticks,
quantities int64 lot steps, money int64 minor units, time int64 ns UTC.
"""

from __future__ import annotations

from collections import namedtuple
from enum import IntEnum

import numpy as np

# --------------------------------------------------------------------------- enums


# Plain module constants are what the kernels use (numba folds them at compile
# time); the IntEnum classes give the same codes their names for Python code
# and the writer.

BUY, SELL = 1, -1

OT_MARKET, OT_LIMIT, OT_STOP, OT_STOP_LIMIT, OT_TARGET = 0, 1, 2, 3, 4

OS_NEW, OS_WORKING, OS_FILLED, OS_REJECTED = 0, 1, 2, 3
OS_CANCELLED, OS_EXPIRED, OS_UNFILLED, OS_NO_ACTION = 4, 5, 6, 7

R_NONE, R_SIGNAL, R_STOP_LOSS, R_TAKE_PROFIT, R_TRAILING = 0, 1, 2, 3, 4
R_EXPIRY, R_STOP_OUT, R_END_OF_DATA = 5, 6, 7
R_QTY_BELOW_MIN, R_QTY_ABOVE_MAX = 100, 101

E_OPEN, E_INCREASE, E_REDUCE, E_CLOSE = 0, 1, 2, 3

MODE_NETTING, MODE_HEDGING = 0, 1

LOG_OFF, LOG_TRADES, LOG_EVENTS, LOG_TICKS = 0, 1, 2, 3

ST_DONE, ST_BUFFER_FULL, ST_POSITIONS_FULL = 0, 1, 2


class Side(IntEnum):
    BUY = BUY
    SELL = SELL


class OrderType(IntEnum):
    MARKET = OT_MARKET
    LIMIT = OT_LIMIT
    STOP = OT_STOP
    STOP_LIMIT = OT_STOP_LIMIT
    TARGET = OT_TARGET


class OrderStatus(IntEnum):
    NEW = OS_NEW
    WORKING = OS_WORKING
    FILLED = OS_FILLED
    REJECTED = OS_REJECTED
    CANCELLED = OS_CANCELLED
    EXPIRED = OS_EXPIRED
    UNFILLED = OS_UNFILLED
    NO_ACTION = OS_NO_ACTION


class Reason(IntEnum):
    """Exit reasons and rejection reasons share one code space."""

    NONE = R_NONE
    SIGNAL = R_SIGNAL
    STOP_LOSS = R_STOP_LOSS
    TAKE_PROFIT = R_TAKE_PROFIT
    TRAILING = R_TRAILING
    EXPIRY = R_EXPIRY
    STOP_OUT = R_STOP_OUT
    END_OF_DATA = R_END_OF_DATA
    QTY_BELOW_MIN = R_QTY_BELOW_MIN
    QTY_ABOVE_MAX = R_QTY_ABOVE_MAX


class Effect(IntEnum):
    OPEN = E_OPEN
    INCREASE = E_INCREASE
    REDUCE = E_REDUCE
    CLOSE = E_CLOSE


class AccountMode(IntEnum):
    NETTING = MODE_NETTING
    HEDGING = MODE_HEDGING


class LogLevel(IntEnum):
    OFF = LOG_OFF
    TRADES = LOG_TRADES
    EVENTS = LOG_EVENTS
    TICKS = LOG_TICKS


class Status(IntEnum):
    """Return codes of engine.run_chunk."""

    DONE = ST_DONE
    BUFFER_FULL = ST_BUFFER_FULL
    POSITIONS_FULL = ST_POSITIONS_FULL


def enum_names(enum: type[IntEnum]) -> dict[int, str]:
    """Map code -> lower-case name for an enum class."""
    return {int(m): m.name.lower() for m in enum}


# -------------------------------------------------------------------- dtypes

I8, I16, I32, I64, F64 = np.int8, np.int16, np.int32, np.int64, np.float64

# One row per order: the input columns, then what the kernel writes back.
ORDER = np.dtype(
    [
        ("order_id", I64),
        ("parent_id", I64),  # -1 when none
        ("ts", I64),  # submission time
        ("act_ts", I64),  # ts + max(1 ns, latency): acts on ticks with ts >= act_ts
        ("symbol", I32),
        ("side", I8),
        ("type", I8),
        ("status", I8),
        ("reason", I16),
        ("qty_steps", I64),  # requested quantity; for TARGET the signed target position
        ("price_ticks", I64),  # limit/stop price, 0 when unused
        ("sl_ticks", I64),  # 0 when unused
        ("tp_ticks", I64),
        ("trail_ticks", I64),
        ("filled_steps", I64),
        ("fill_value", I64),  # sum of price_ticks * qty_steps over its fills
        ("fill_ts", I64),  # time of the last fill, 0 when none
        ("commission_minor", I64),
        ("position_id", I64),  # position opened or changed by the last fill
        ("next_working", I64),  # intrusive FIFO link of working orders per symbol
    ],
    align=True,
)

# One row per fill. A fill changes exactly one position.
FILL = np.dtype(
    [
        ("fill_id", I64),
        ("order_id", I64),
        ("position_id", I64),
        ("ts", I64),
        ("symbol", I32),
        ("side", I8),
        ("effect", I8),
        ("reason", I16),
        ("qty_steps", I64),
        ("price_ticks", I64),
        ("commission_minor", I64),
        ("realized_pnl_minor", I64),
        ("cash_after_minor", I64),
    ],
    align=True,
)

# One row per position; the live table and the positions log share it.
POSITION = np.dtype(
    [
        ("position_id", I64),
        ("parent_id", I64),
        ("symbol", I32),
        ("side", I8),
        ("is_open", I8),
        ("exit_reason", I16),
        ("qty_steps", I64),  # open quantity now
        ("max_qty_steps", I64),
        ("cost", I64),  # tick*steps of the open quantity (exact; see docs §2)
        ("entry_value", I64),  # sum of price*qty over entry fills
        ("entry_steps", I64),  # sum of qty over entry fills
        ("exit_value", I64),  # sum of price*qty over exit fills
        ("exit_steps", I64),
        ("open_ts", I64),
        ("close_ts", I64),
        ("open_order_id", I64),
        ("close_order_id", I64),
        ("realized_pnl_minor", I64),
        ("commission_minor", I64),
        ("swap_minor", I64),
        ("unrealized_pnl_minor", I64),  # filled in when reported open
        ("mae_ticks", I64),  # worst closing-side quote seen while open (next issue)
        ("mfe_ticks", I64),  # best closing-side quote seen while open (next issue)
        ("n_fills", I64),
    ],
    align=True,
)

EQUITY = np.dtype(
    [
        ("ts", I64),
        ("cash_minor", I64),
        ("equity_minor", I64),
        ("unrealized_minor", I64),
        ("drawdown_minor", I64),
        ("open_positions", I64),
    ],
    align=True,
)

# Per-symbol market and exposure state.
SYMBOL = np.dtype(
    [
        ("bid", I64),
        ("ask", I64),
        ("last_ts", I64),
        ("long_steps", I64),
        ("long_cost", I64),
        ("short_steps", I64),
        ("short_cost", I64),
        ("unrealized_minor", I64),
        ("net_slot", I64),  # netting: the slot of the symbol's position, -1 when flat
        ("work_head", I64),  # FIFO of working market/target orders (order index)
        ("work_tail", I64),
    ],
    align=True,
)

ACCOUNT = np.dtype(
    [
        ("cash_minor", I64),
        ("realized_minor", I64),
        ("commission_minor", I64),
        ("swap_minor", I64),
        ("unrealized_minor", I64),
        ("equity_minor", I64),
        ("peak_minor", I64),
        ("max_drawdown_minor", I64),
        ("max_drawdown_frac", F64),  # analytics only
        ("n_ticks", I64),
        ("n_fills", I64),
        ("n_open", I64),
        ("n_positions", I64),  # positions ever opened = next position id
        ("n_rejected", I64),
        ("order_cursor", I64),  # next order (index in ts order) to activate
        ("last_ts", I64),
        ("sample_end", I64),  # end of the current equity bucket (exclusive)
        ("have_sample", I8),  # a tick was seen in the current bucket
        ("resume", I64),  # tick index to resume at after BUFFER_FULL
        ("n_fill_rows", I64),
        ("n_closed_rows", I64),
        ("n_equity_rows", I64),
        ("n_free", I64),  # free position slots on the stack
    ],
    align=True,
)

# Per-instrument settings in integer form (built by backtestr/instruments.py).
INSTRUMENT = np.dtype(
    [
        ("value_num", I64),  # V = value_num / value_den minor units per tick*step
        ("value_den", I64),
        ("value_inv", F64),  # 1 / value_den, for the branch-free marking path
        ("value_lim", I64),  # 2**52 // value_num: marking stays exact below it
        ("comm_frac_num", I64),  # commission per tick*step of notional
        ("comm_frac_den", I64),
        ("comm_lot_num", I64),  # commission per lot step
        ("comm_lot_den", I64),
        ("comm_fixed_minor", I64),  # per order
        ("comm_min_minor", I64),  # per fill
        ("min_steps", I64),
        ("max_steps", I64),  # 0 = no limit
    ],
    align=True,
)

PARAMS = np.dtype(
    [
        ("account_mode", I8),
        ("log_level", I8),
        ("close_at_end", I8),
        ("initial_cash_minor", I64),
        ("equity_interval_ns", I64),
        ("latency_ns", I64),
    ],
    align=True,
)

# ------------------------------------------------------------------ containers

TickChunk = namedtuple("TickChunk", ["ts", "sym", "bid", "ask", "bid_size", "ask_size"])
Book = namedtuple("Book", ["acct", "syms", "orders", "pos", "free", "slot_of_id"])
Logs = namedtuple("Logs", ["fills", "closed", "equity"])


def new_book(
    n_symbols: int, orders: np.ndarray, params: np.ndarray, capacity: int = 1024
) -> Book:
    """Fresh account state for one parameter set."""
    acct = np.zeros(1, ACCOUNT)
    cash = int(params[0]["initial_cash_minor"])
    acct[0]["cash_minor"] = cash
    acct[0]["equity_minor"] = cash
    acct[0]["peak_minor"] = cash
    acct[0]["sample_end"] = np.iinfo(np.int64).min
    syms = np.zeros(n_symbols, SYMBOL)
    syms["net_slot"] = -1
    syms["work_head"] = -1
    syms["work_tail"] = -1
    pos = np.zeros(capacity, POSITION)
    free = np.arange(capacity - 1, -1, -1, dtype=np.int64)
    acct[0]["n_free"] = capacity
    slot_of_id = np.full(capacity, -1, dtype=np.int64)
    return Book(acct, syms, orders, pos, free, slot_of_id)


def grow_positions(book: Book) -> Book:
    """Make room for one more position (between kernel calls, never per tick).

    The slot table doubles only when every slot is taken (open positions);
    the id map doubles only when every id is used (positions ever opened).
    """
    n_free = int(book.acct[0]["n_free"])
    if n_free == 0:
        cap = book.pos.shape[0]
        pos = np.zeros(2 * cap, POSITION)
        pos[:cap] = book.pos
        free = np.empty(2 * cap, dtype=np.int64)
        free[:cap] = np.arange(2 * cap - 1, cap - 1, -1, dtype=np.int64)
        book.acct[0]["n_free"] = cap
        book = book._replace(pos=pos, free=free)
    ids = book.slot_of_id.shape[0]
    if int(book.acct[0]["n_positions"]) >= ids:
        slot_of_id = np.full(2 * ids, -1, dtype=np.int64)
        slot_of_id[:ids] = book.slot_of_id
        book = book._replace(slot_of_id=slot_of_id)
    return book


def new_logs(rows: int) -> Logs:
    return Logs(np.zeros(rows, FILL), np.zeros(rows, POSITION), np.zeros(rows, EQUITY))
