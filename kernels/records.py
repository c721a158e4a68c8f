"""Record dtypes and the state containers of the kernel (the enums are in enums.py).

Defined once here; the Parquet schemas of the logs are these dtypes (see
docs/architecture.md §4 and docs/outputs.md). Prices are int64 ticks,
quantities int64 lot steps, money int64 minor units, time int64 ns UTC.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .enums import *  # noqa: F403 - the codes, re-exported for the kernels and the writer

# -------------------------------------------------------------------- dtypes

I8, I16, I32, I64, F64 = np.int8, np.int16, np.int32, np.int64, np.float64

# One row per order: the input columns, then what the kernel writes back.
# Internal fields (links, heap state) are listed in INTERNAL and not written.
ORDER = np.dtype(
    [
        ("order_id", I64),  # the user's id (input `id` or row number)
        ("parent_id", I64),  # -1 when none
        ("ts", I64),  # submission time
        ("act_ts", I64),  # ts + max(1 ns, latency): acts on ticks with ts >= act_ts
        ("expire_ts", I64),  # GTD: working on ticks with ts < expire_ts; 0 = none
        ("symbol", I32),
        ("side", I8),
        ("type", I8),
        ("status", I8),
        ("action", I8),
        ("tif", I8),
        ("stage", I8),  # stop-limit: 0 waiting for its stop, 1 a limit order
        ("sizing", I8),  # SZ_*: how qty_steps is found when the order acts
        ("reason", I16),
        ("sl_kind", I8),
        ("tp_kind", I8),
        ("trail_kind", I8),
        ("qty_steps", I64),  # requested quantity; TARGET: the signed target; 0 = all/unchanged
        ("size_val", I64),  # sizing amount: minor units (notional) or ppm (percent rules)
        ("price_ticks", I64),  # limit price (limit, stop-limit), 0 when unused
        ("stop_ticks", I64),  # stop price (stop, stop-limit), 0 when unused
        ("sl_val", I64),  # price ticks, distance ticks or parts per million by sl_kind
        ("tp_val", I64),
        ("trail_val", I64),
        ("trail_act", I64),  # trailing activation distance in ticks, 0 = at once
        ("trail_step", I64),  # trailing step in ticks, 0 = every tick
        ("ref", I64),  # modify/cancel/close: internal index of the referenced order, -1
        ("ref_id", I64),  # ... and its user id (-1 when none)
        ("oco_group", I64),  # -1 when none
        ("tag_code", I64),  # a strategy's tag: 1 + the code given to set_tag, 0 = none (not output)
        ("filled_steps", I64),
        ("fill_value", I64),  # sum of price_ticks * qty_steps over its fills
        ("fill_ts", I64),  # time of the last fill, 0 when none
        ("commission_minor", I64),
        ("position_id", I64),  # position opened or changed by the last fill
        ("next_working", I64),  # intrusive FIFO link of working orders per symbol
        ("oco_next", I64),  # ring of the OCO group (internal index), -1
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
        ("position_id", I64),  # the id of the order that opened it
        ("parent_id", I64),  # netting reversal: the position it reversed; else -1
        ("symbol", I32),
        ("side", I8),
        ("is_open", I8),
        ("exit_reason", I16),
        ("trail_kind", I8),
        ("trail_state", I8),  # 0 none, 1 waiting for activation, 2 trailing
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
        ("sl_ticks", I64),  # 0 = none
        ("tp_ticks", I64),
        ("trail_val", I64),  # distance in ticks or ppm by trail_kind
        ("trail_act", I64),
        ("trail_step", I64),
        ("trail_stop", I64),  # current trailing stop, 0 = not active
        ("trail_hwm", I64),  # best closing-side quote since activation
        ("trail_next_q", I64),  # the quote at which the trailing stop next moves
        ("mae_ticks", I64),  # worst closing-side quote while open
        ("mfe_ticks", I64),  # best closing-side quote while open
        ("mae_minor", I64),  # the same excursions in money (docs/execution.md §8)
        ("mfe_minor", I64),
        ("n_fills", I64),
        ("open_k", I64),  # internal index of the opening order
        ("open_seq", I64),  # n-th position opened in the run ("oldest first")
        ("seg0", I64),  # excursion segment the position opened in
        ("list_next", I64),  # open positions of the symbol and side, oldest first
        ("list_prev", I64),
        ("trail_next", I64),  # trailing positions of the symbol and side
        ("trail_prev", I64),
    ],
    align=True,
)

# One row per lifecycle event (docs/risk.md §5).
EVENT = np.dtype(
    [
        ("ts", I64),
        ("event", I8),
        ("severity", I8),
        ("side", I8),
        ("reason", I16),
        ("symbol", I32),
        ("position_id", I64),
        ("order_id", I64),
        ("parent_id", I64),
        ("qty_steps", I64),
        ("price_ticks", I64),
        ("before", I64),
        ("after", I64),
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
        ("bid_size", I64),  # quote sizes in lot steps, 0 when unknown
        ("ask_size", I64),
        ("last_ts", I64),
        ("long_steps", I64),
        ("long_cost", I64),
        ("short_steps", I64),
        ("short_cost", I64),
        ("unrealized_minor", I64),
        ("n_open", I64),
        ("net_slot", I64),  # netting: the slot of the symbol's position, -1 when flat
        ("work_head", I64),  # FIFO of working market/target/close/IOC orders
        ("work_tail", I64),
        # trigger thresholds: something may trigger when bid <= bid_lo, bid >= bid_hi,
        # ask >= ask_hi or ask <= ask_lo (kernels/triggers.py::refresh)
        ("bid_lo", I64),
        ("bid_hi", I64),
        ("ask_lo", I64),
        ("ask_hi", I64),
        # heap roots (-1 = empty): position stops, then pending entry orders
        ("h_long_sl", I64),
        ("h_long_tp", I64),
        ("h_short_sl", I64),
        ("h_short_tp", I64),
        ("h_buy_stop", I64),
        ("h_sell_stop", I64),
        ("h_buy_limit", I64),
        ("h_sell_limit", I64),
        # open positions by side, oldest first (slots), and trailing lists
        ("long_head", I64),
        ("long_tail", I64),
        ("short_head", I64),
        ("short_tail", I64),
        ("trail_long", I64),
        ("trail_short", I64),
        ("trail_bid", I64),  # a long trailing stop moves when bid >= this
        ("trail_ask", I64),  # a short trailing stop moves when ask <= this
        # excursions: extremes of the current segment and the segment number
        ("seg", I64),
        ("seg_bid_hi", I64),
        ("seg_bid_lo", I64),
        ("seg_ask_hi", I64),
        ("seg_ask_lo", I64),
        ("next_swap", I64),  # next rollover instant
        ("next_fund", I64),  # next funding instant
        ("fund_rate", I64),  # latest funding rate of the data (10**-RATE_DIGITS), NO_RATE before the first
        ("margin_minor", I64),  # used margin of the symbol (docs/risk.md §1)
        ("exposure_minor", I64),  # gross exposure of the symbol at entry prices
        # live quote-to-account rate fx_num / fx_den (products of the legs' bid + ask,
        # docs/currency.md); fx_den = 0: none (no conversion, or no quote of a leg yet)
        ("fx_num", I64),
        ("fx_den", I64),
        # the marking's rational V x rate = mk_num / mk_den (V alone without a live rate), with
        # mk_num as a float and 1 / mk_den: set at a fill and with the rate (kernels/fx.py)
        ("mk_num", I64),
        ("mk_den", I64),
        ("mk_numf", F64),
        ("mk_inv", F64),
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
        ("n_positions", I64),  # positions ever opened
        ("n_rejected", I64),
        ("order_cursor", I64),  # next order (index in act_ts order) to activate
        ("n_orders", I64),  # rows of the orders table in use (a strategy appends; the rest is room)
        ("expire_cursor", I64),  # next GTD order (in the expiry region) to check
        ("next_carry", I64),  # earliest swap/funding instant over the symbols
        ("last_ts", I64),
        ("sample_end", I64),  # end of the current equity bucket (exclusive)
        ("have_sample", I8),  # a tick was seen in the current bucket
        ("resume", I64),  # tick index to resume at after BUFFER_FULL
        ("n_fill_rows", I64),
        ("n_closed_rows", I64),
        ("n_equity_rows", I64),
        ("n_free", I64),  # free position slots on the stack
        ("n_event_rows", I64),
        ("event_need", I64),  # rows the events buffer must hold for the step that stopped
        # risk state (docs/risk.md)
        ("margin_used_minor", I64),
        ("exposure_minor", I64),
        ("max_margin_used_minor", I64),
        ("call_eq", I64),  # margin call at equity <= call_eq (-BIG when no margin is used)
        ("so_eq", I64),  # stop-out at equity <= so_eq
        ("in_call", I8),
        ("day_hit", I8),
        ("watch_lo", I64),  # step 9 runs when equity <= watch_lo or equity > watch_hi
        ("watch_hi", I64),
        ("day_start_eq", I64),
        ("day_eq", I64),  # daily limit hit at equity <= day_eq
        ("next_day", I64),  # that boundary's time; MIN before the first tick, MAX when off
        ("breaker_until", I64),  # 0 = not tripped
        ("loss_streak", I64),
        ("reject_streak", I64),
        ("n_wins", I64),
        ("n_losses", I64),
        ("sum_win_minor", I64),
        ("sum_loss_minor", I64),
        ("ring_n", I64),  # orders in the rate-limit ring
        ("ring_head", I64),
        ("n_margin_calls", I64),
        ("n_stop_outs", I64),
        ("n_daily_hits", I64),
        ("n_breaker_trips", I64),
        # offsets of the regions of Book.ints (records.py::regions) and their lengths
        ("free_at", I64),  # free position slots, a stack of n_free
        ("psl_at", I64),  # heap nodes of the positions' stop-loss heaps (HK_COLS per slot)
        ("ptp_at", I64),  # ... and of their take-profit heaps
        ("slot_at", I64),  # order index -> slot of the position it opened, -1
        ("onode_at", I64),  # heap nodes of the pending orders (HK_COLS per order)
        ("expiry_at", I64),  # GTD orders by expire_ts
        ("n_expiry", I64),
        ("ring_at", I64),  # act times of the orders in the rate-limit window
        ("days_at", I64),  # trading-day boundaries (ns UTC)
        ("n_days", I64),
        ("xs_at", I64),  # excursion stacks: per symbol and stack, count, seqs, values
        ("xs_cap", I64),  # entries per excursion stack
        # lowest margin level (equity / used margin) seen while margin was used; step 9 runs
        # when equity <= level_eq, the equity below which the level would be a new lowest
        ("have_level", I8),
        ("min_level", F64),
        ("level_eq", I64),
        # a rate tick's re-mark of the symbols converted through it, not yet in the account's
        # unrealized P&L when run_chunk stopped before the tick's marking (it joins on resume)
        ("remark_pending_minor", I64),
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
        # swap: charge = R(base x mult x num / den), base = steps (points) or
        # price*steps (percent); num/den already include V and the sign (a cost > 0)
        ("swap_kind", I8),
        ("swap_long_num", I64),
        ("swap_long_den", I64),
        ("swap_short_num", I64),
        ("swap_short_den", I64),
        ("swap_offset_ns", I64),  # rollover time after 00:00 UTC
        ("swap_days", I64),  # multiplier per weekday, 4 bits each, Monday lowest
        # funding: charge = R(price*steps x num / den) per interval (long; short negated)
        ("fund_num", I64),
        ("fund_den", I64),
        ("fund_period_ns", I64),  # 0 = no funding
        ("fund_offset_ns", I64),
        ("fund_column", I64),  # 1: the rate is the data's (SYMBOL.fund_rate), num/den = V x 10**-RATE_DIGITS
        # margin: M = R(cost x margin_num / margin_den), V and the rate included; 0/1 = none
        ("margin_num", I64),
        ("margin_den", I64),
        ("risk_max_steps", I64),  # risk.max_order_qty in steps of this symbol, 0 = off
        # conversion at the live rate (docs/currency.md): legs as symbol index + 1 (0 = none),
        # inverted (rate = 1 / mid); the legs' constants are folded into the rationals above
        ("fx_a", I64),
        ("fx_a_inv", I8),
        ("fx_b", I64),
        ("fx_b_inv", I8),
        ("fx_feeds", I64),  # bit d set: symbol d converts through this one's quotes
        # margin modes (docs/currency.md §6): 0 = margin_num/den per tick*step of cost (a rate),
        # 1 = per lot step (fixed per contract); the smaller side of opposite positions is
        # charged at hedge_num / hedge_den of its margin (1/1 = in full)
        ("margin_kind", I8),
        ("hedge_num", I64),
        ("hedge_den", I64),
    ],
    align=True,
)

PARAMS = np.dtype(
    [
        ("account_mode", I8),
        ("log_level", I8),
        ("close_at_end", I8),
        ("exec_model", I8),
        ("slip_kind", I8),
        ("slip_random", I8),
        ("initial_cash_minor", I64),
        ("equity_interval_ns", I64),
        ("latency_ns", I64),
        ("slip_ticks", I64),  # fixed ticks; the size model's ticks per full quote size
        ("slip_num", I64),  # spread model: fraction of the spread
        ("slip_den", I64),
        ("seed", I64),
        # risk limits (docs/risk.md §3); 0 = off unless noted
        ("call_ppm", I64),  # margin call level, ppm of 1 (100 % = 1_000_000)
        ("so_ppm", I64),  # stop-out level
        ("max_notional_minor", I64),
        ("max_notional_ppm", I64),
        ("max_positions", I64),
        ("max_positions_sym", I64),
        ("daily_loss_minor", I64),
        ("daily_loss_ppm", I64),
        ("max_exposure_minor", I64),
        ("max_exposure_ppm", I64),
        ("max_dev_ppm", I64),
        ("max_orders", I64),
        ("order_window_ns", I64),
        ("breaker_losses", I64),
        ("breaker_rejects", I64),
        ("breaker_cooldown_ns", I64),
        ("kelly_fraction", F64),
        ("kelly_min_trades", I64),
        ("kelly_cap", F64),  # fraction of equity, 0..1
    ],
    align=True,
)

# Strategies (docs/strategies.md): the callback's header, one row.
SCTX = np.dtype(
    [
        ("event", I64),  # CB_*: the callback being called
        ("ts", I64),  # the time its actions are stamped with (a bar's ts_close, the tick's ts)
        ("symbol", I64),  # on_bar: the bar's symbol; on_tick/on_fill: the tick's symbol
        ("tf", I64),  # on_bar: the timeframe's index in the strategy's declaration
        ("n_actions", I64),  # rows written into the action buffer by this call
        ("max_actions", I64),  # the action buffer: rows a callback may write
        ("n_sym", I64),
        ("n_tf", I64),
        ("keep", I64),  # closed bars kept per symbol and timeframe
        ("basis", I64),  # BASIS_*: the price of the bars
        ("on_tick", I8),  # the strategy has on_tick / on_fill
        ("on_fill", I8),
        ("seen_fills", I64),  # acct.n_fills when on_fill was last called
        ("next_close", I64),  # earliest ts_close of an open bar, NEVER when none
        ("err_code", I64),  # ERR_* when a callback failed
        ("err_event", I64),
        ("err_ts", I64),
        ("err_tf", I64),
    ],
    align=True,
)

# One timeframe of a strategy: a fixed length, or boundaries (session days and weeks).
TFRAME = np.dtype(
    [
        ("length_ns", I64),  # > 0: buckets floor(ts / length); 0: boundaries in Strat.bounds
        ("bounds_at", I64),  # first boundary of this timeframe in Strat.bounds
        ("n_bounds", I64),
        ("cursor", I64),  # the boundary that opened the current bar
        ("next_close", I64),  # ts_close of its open bars (all share it), NEVER when none
        ("source", I64),  # -1: built tick by tick; else the timeframe whose closed bars build it
        ("folded", I64),  # ts_close of the bars last folded into those built from this one
    ],
    align=True,
)

# A bar: prices in ticks of the basis (bid, ask) or half ticks (mid = bid + ask); spread in ticks.
BAR = np.dtype(
    [
        ("ts_open", I64),
        ("ts_close", I64),
        ("open", I64),
        ("high", I64),
        ("low", I64),
        ("close", I64),
        ("n_ticks", I64),  # 0 = no bar (an open row with no tick yet)
        ("spread_min", I64),
        ("spread_max", I64),
        ("spread_sum", I64),
        ("n_closed", I64),  # open rows: bars of this symbol and timeframe closed so far
    ],
    align=True,
)

# Columns of the live records that are links or working state, not output.
INTERNAL = {
    "orders": ("next_working", "oco_next", "ref", "stage", "size_val", "tag_code"),
    "positions": ("open_k", "open_seq", "seg0", "list_next", "list_prev", "trail_next", "trail_prev",
                  "trail_next_q", "trail_state"),
}

# ------------------------------------------------------------------ containers

# ts int64 ns, sym int32, bid/ask int64 ticks, bid_size/ask_size int64 lot steps (0 = unknown),
# funding int64 rate in units of 10**-RATE_DIGITS (NO_RATE = none on this row); an optional column
# is an empty array when the run does not read it
NO_SIZES = np.empty(0, np.int64)
NO_RATES = np.empty(0, np.int64)
TickChunk = namedtuple("TickChunk", ["ts", "sym", "bid", "ask", "bid_size", "ask_size", "funding"],
                       defaults=(NO_SIZES, NO_SIZES, NO_RATES))
# ints: every int64 state array of the account in one array, regions at offsets held in
# acct (docs/architecture.md §4): free position slots, order index -> slot, the heap
# nodes (HK_COLS per node: position SL heap, position TP heap, pending orders), the GTD
# orders by expiry, the rate-limit ring, the trading-day boundaries and the excursion
# stacks. Few arrays keep the calls between kernel functions cheap.
Book = namedtuple("Book", ["acct", "syms", "orders", "pos", "ints"])
# A strategy's arrays (docs/strategies.md): header (SCTX, 1 row), timeframes (TFRAME), bars
# (BAR: n_tf x n_sym open bars, then a ring of ``keep`` closed bars per timeframe and symbol),
# session boundaries (int64), the parameter and state records as bytes, and each order as it was
# submitted (ORDER, the rows of the orders table before a modify changed them). The action buffer
# is the free rows of the orders table (kernels/strategy_hook.py).
Strat = namedtuple("Strat", ["ctx", "tfs", "bars", "bounds", "pbuf", "sbuf", "sent"])
Logs = namedtuple("Logs", ["fills", "closed", "equity", "events"])
