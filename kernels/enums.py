"""Integer enums of the kernel and their names: the codes, defined once.

Plain module constants are what the kernels use (numba folds them at compile
time); the IntEnum classes give the same codes their names for Python code and
the writer. ``kernels/records.py`` re-exports everything here.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

BUY, SELL = 1, -1

# Funding rates read from the data are whole units of 10**-RATE_DIGITS (nearest); NO_RATE: none.
RATE_DIGITS = 10
NO_RATE = np.iinfo(np.int64).min
NEVER = np.iinfo(np.int64).max  # a time that never comes

OT_MARKET, OT_LIMIT, OT_STOP, OT_STOP_LIMIT, OT_TARGET = 0, 1, 2, 3, 4
# a replayed fill (docs/fills.md): booked at its own price and fee, no matching
OT_FILL = 5

OS_NEW, OS_WORKING, OS_FILLED, OS_REJECTED = 0, 1, 2, 3
OS_CANCELLED, OS_EXPIRED, OS_UNFILLED, OS_NO_ACTION, OS_APPLIED = 4, 5, 6, 7, 8

A_NEW, A_MODIFY, A_CANCEL, A_CLOSE = 0, 1, 2, 3

TIF_GTC, TIF_GTD, TIF_IOC = 0, 1, 2

# How a stop is given (sl_kind, tp_kind, trail_kind); on modify K_NONE = unchanged.
K_NONE, K_PRICE, K_TICKS, K_PPM, K_REMOVE = 0, 1, 2, 3, 4

# Exit, cancel and rejection reasons share one code space.
R_NONE, R_SIGNAL, R_STOP_LOSS, R_TAKE_PROFIT, R_TRAILING = 0, 1, 2, 3, 4
R_EXPIRY, R_STOP_OUT, R_END_OF_DATA = 5, 6, 7
R_CANCELLED, R_OCO, R_IOC = 8, 9, 10
R_QTY_BELOW_MIN, R_QTY_ABOVE_MAX, R_BAD_STOPS, R_UNKNOWN_REF = 100, 101, 102, 103
R_NOT_WORKING, R_EXPIRY_PAST, R_OFF_TICK, R_NOTHING_TO_CLOSE = 104, 105, 106, 107
# risk (docs/risk.md §3): pre-trade rejections, then the breaker's trip reasons
R_RATE_LIMIT, R_PRICE_SANITY, R_BREAKER, R_DAILY_LOSS, R_MARGIN_CALL = 108, 109, 110, 111, 112
R_NO_QUOTE, R_NO_STOP, R_SIZE_ZERO, R_MAX_QTY, R_MAX_NOTIONAL = 113, 114, 115, 116, 117
R_MAX_POSITIONS, R_MAX_POSITIONS_SYMBOL, R_MAX_EXPOSURE, R_NO_MARGIN = 118, 119, 120, 121
R_LOSS_STREAK, R_REJECT_STREAK = 122, 123
R_BEFORE_DATA = 124  # a market, target or close order acting before the first tick (docs/execution.md §2)
# a strategy's quantity that is not a whole number of lot steps (docs/strategies.md §5)
R_OFF_STEP = 127

SEV_INFO, SEV_WARNING, SEV_ERROR, SEV_CRITICAL = 0, 1, 2, 3

# Lifecycle events (docs/risk.md §5)
EV_OPENED, EV_INCREASED, EV_PARTIAL, EV_CLOSED, EV_MODIFIED, EV_TRAILED = 0, 1, 2, 3, 4, 5
EV_REJECTED, EV_MARGIN_CALL, EV_STOP_OUT, EV_SWAP, EV_FUNDING, EV_DAILY_LIMIT = 6, 7, 8, 9, 10, 11
EV_BREAKER_TRIPPED, EV_BREAKER_RESET = 12, 13

# Sizing rules of new orders (docs/risk.md §2)
SZ_QTY, SZ_NOTIONAL, SZ_EQUITY_PCT, SZ_RISK_PCT, SZ_KELLY = 0, 1, 2, 3, 4

EX_PERFECT, EX_REALISTIC, EX_WORST = 0, 1, 2

SLIP_NONE, SLIP_FIXED, SLIP_SPREAD, SLIP_SIZE = 0, 1, 2, 3

SWAP_NONE, SWAP_POINTS, SWAP_PERCENT = 0, 1, 2

E_OPEN, E_INCREASE, E_REDUCE, E_CLOSE = 0, 1, 2, 3

MODE_NETTING, MODE_HEDGING = 0, 1

LOG_OFF, LOG_TRADES, LOG_EVENTS, LOG_TICKS = 0, 1, 2, 3

ST_DONE, ST_BUFFER_FULL, ST_POSITIONS_FULL, ST_STACK_FULL = 0, 1, 2, 3
# strategies (docs/strategies.md): the orders table needs room for one callback's actions; a callback failed
ST_ORDERS_FULL, ST_STRATEGY_ERROR = 4, 5

# Strategy callbacks (kernels/strategy_hook.py) and the price basis of the bars built in the run
CB_START, CB_BAR, CB_TICK, CB_FILL, CB_END = 0, 1, 2, 3, 4
BASIS_BID, BASIS_ASK, BASIS_MID = 0, 1, 2
# why a callback failed (SCTX.err_code)
ERR_RAISED, ERR_BARS, ERR_ACTIONS, ERR_SYMBOL = 1, 2, 3, 4

# Heaps (kernels/heaps.py): node columns, and which heap of a symbol.
HK_KEY, HK_TIE, HK_CHILD, HK_SIB, HK_PREV, HK_COLS = 0, 1, 2, 3, 4, 5


class Side(IntEnum):
    BUY = BUY
    SELL = SELL


class OrderType(IntEnum):
    MARKET = OT_MARKET
    LIMIT = OT_LIMIT
    STOP = OT_STOP
    STOP_LIMIT = OT_STOP_LIMIT
    TARGET = OT_TARGET
    FILL = OT_FILL


class OrderStatus(IntEnum):
    NEW = OS_NEW
    WORKING = OS_WORKING
    FILLED = OS_FILLED
    REJECTED = OS_REJECTED
    CANCELLED = OS_CANCELLED
    EXPIRED = OS_EXPIRED
    UNFILLED = OS_UNFILLED
    NO_ACTION = OS_NO_ACTION
    APPLIED = OS_APPLIED


class Action(IntEnum):
    NEW = A_NEW
    MODIFY = A_MODIFY
    CANCEL = A_CANCEL
    CLOSE = A_CLOSE


class TimeInForce(IntEnum):
    GTC = TIF_GTC
    GTD = TIF_GTD
    IOC = TIF_IOC


class StopKind(IntEnum):
    NONE = K_NONE
    PRICE = K_PRICE
    TICKS = K_TICKS
    PPM = K_PPM
    REMOVE = K_REMOVE


class ExecutionModel(IntEnum):
    PERFECT = EX_PERFECT
    REALISTIC = EX_REALISTIC
    WORST = EX_WORST


class Slippage(IntEnum):
    NONE = SLIP_NONE
    FIXED = SLIP_FIXED
    SPREAD = SLIP_SPREAD
    SIZE = SLIP_SIZE


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
    CANCELLED = R_CANCELLED
    OCO = R_OCO
    IOC = R_IOC
    QTY_BELOW_MIN = R_QTY_BELOW_MIN
    QTY_ABOVE_MAX = R_QTY_ABOVE_MAX
    BAD_STOPS = R_BAD_STOPS
    UNKNOWN_REF = R_UNKNOWN_REF
    NOT_WORKING = R_NOT_WORKING
    EXPIRY_PAST = R_EXPIRY_PAST
    OFF_TICK = R_OFF_TICK
    NOTHING_TO_CLOSE = R_NOTHING_TO_CLOSE
    RATE_LIMIT = R_RATE_LIMIT
    PRICE_SANITY = R_PRICE_SANITY
    BREAKER = R_BREAKER
    DAILY_LOSS = R_DAILY_LOSS
    MARGIN_CALL = R_MARGIN_CALL
    NO_QUOTE = R_NO_QUOTE
    NO_STOP = R_NO_STOP
    SIZE_ZERO = R_SIZE_ZERO
    MAX_QTY = R_MAX_QTY
    MAX_NOTIONAL = R_MAX_NOTIONAL
    MAX_POSITIONS = R_MAX_POSITIONS
    MAX_POSITIONS_SYMBOL = R_MAX_POSITIONS_SYMBOL
    MAX_EXPOSURE = R_MAX_EXPOSURE
    NO_MARGIN = R_NO_MARGIN
    LOSS_STREAK = R_LOSS_STREAK
    REJECT_STREAK = R_REJECT_STREAK
    BEFORE_DATA = R_BEFORE_DATA
    OFF_STEP = R_OFF_STEP


class Severity(IntEnum):
    INFO = SEV_INFO
    WARNING = SEV_WARNING
    ERROR = SEV_ERROR
    CRITICAL = SEV_CRITICAL


class Event(IntEnum):
    OPENED = EV_OPENED
    INCREASED = EV_INCREASED
    PARTIALLY_CLOSED = EV_PARTIAL
    CLOSED = EV_CLOSED
    MODIFIED = EV_MODIFIED
    TRAILED = EV_TRAILED
    REJECTED = EV_REJECTED
    MARGIN_CALL = EV_MARGIN_CALL
    STOP_OUT = EV_STOP_OUT
    SWAP = EV_SWAP
    FUNDING = EV_FUNDING
    DAILY_LIMIT = EV_DAILY_LIMIT
    BREAKER_TRIPPED = EV_BREAKER_TRIPPED
    BREAKER_RESET = EV_BREAKER_RESET


class Sizing(IntEnum):
    QTY = SZ_QTY
    NOTIONAL = SZ_NOTIONAL
    EQUITY_PCT = SZ_EQUITY_PCT
    RISK_PCT = SZ_RISK_PCT
    KELLY = SZ_KELLY


# Severity of each rejection reason (docs/risk.md §3, §5); info for the rest.
_SEV_BY_REASON = {
    SEV_WARNING: (R_QTY_BELOW_MIN, R_QTY_ABOVE_MAX, R_RATE_LIMIT, R_PRICE_SANITY, R_NO_QUOTE, R_SIZE_ZERO,
                  R_MAX_QTY, R_MAX_NOTIONAL, R_MAX_POSITIONS, R_MAX_POSITIONS_SYMBOL, R_MAX_EXPOSURE,
                  R_BEFORE_DATA),
    SEV_ERROR: (R_BAD_STOPS, R_UNKNOWN_REF, R_NOT_WORKING, R_EXPIRY_PAST, R_OFF_TICK, R_NOTHING_TO_CLOSE,
                R_NO_STOP, R_OFF_STEP),
    SEV_CRITICAL: (R_BREAKER, R_DAILY_LOSS, R_MARGIN_CALL, R_NO_MARGIN, R_STOP_OUT, R_LOSS_STREAK,
                   R_REJECT_STREAK),
}
SEVERITY = np.zeros(128, np.int8)  # reason code -> severity; a constant the kernels read
for _sev, _codes in _SEV_BY_REASON.items():
    SEVERITY[list(_codes)] = _sev
SEVERITY.setflags(write=False)


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
    STACK_FULL = ST_STACK_FULL
    ORDERS_FULL = ST_ORDERS_FULL
    STRATEGY_ERROR = ST_STRATEGY_ERROR


def enum_names(enum: type[IntEnum]) -> dict[int, str]:
    """Map code -> lower-case name for an enum class."""
    return {int(m): m.name.lower() for m in enum}
