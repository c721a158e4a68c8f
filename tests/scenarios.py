"""Random small netting scenarios for the reference model and the kernel.

``scenario()`` is a hypothesis strategy that draws a ``Scenario``: a few
symbols, a merged tick stream, market and target orders, commission settings,
initial cash and ``close_at_end``.  Prices and quantities are ``Decimal`` values
on the instrument grids; ``Scenario.run_oracle()`` feeds them to
``tests.oracle.simulate`` and ``Scenario.frames()`` builds Polars inputs.

Stream conventions the generator guarantees, so that any faithful reader
sees the same stream as the oracle:

* ``ts`` never decreases; a symbol never has two ticks with the same ``ts``;
* ticks of different symbols with equal ``ts`` come in alphabetical symbol
  order, and ``instruments`` is keyed in that same order;
* orders are listed by non-decreasing ``ts`` (the order id is the list index),
  and an order's ``ts`` is often exactly a tick's ``ts`` or one ns either side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import strategies as st

from tests.oracle import OCommission, OInstrument, OracleResult, simulate

__all__ = ["SPECS", "Scenario", "scenario"]

BASE_TS = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z in ns


@dataclass(frozen=True)
class _Spec:
    tick_size: Decimal
    lot_step: Decimal
    contract_size: Decimal
    min_qty: Decimal
    level_ticks: int  # starting bid, in ticks
    max_move: int  # largest bid change between two ticks of the symbol, in ticks
    max_spread: int  # in ticks
    max_steps: int  # largest order quantity, in lot steps


SPECS: dict[str, _Spec] = {
    "BTCUSD": _Spec(
        Decimal("0.01"), Decimal("0.0001"), Decimal("1"), Decimal("0.0001"), 6_000_000, 5_000, 2_000, 30_000
    ),
    "EURUSD": _Spec(
        Decimal("0.00001"), Decimal("0.01"), Decimal("100000"), Decimal("0.01"), 110_000, 30, 20, 150
    ),
    "GBPUSD": _Spec(
        Decimal("0.00001"), Decimal("0.01"), Decimal("100000"), Decimal("0.01"), 127_000, 30, 20, 150
    ),
}


@dataclass
class Scenario:
    symbols: list[str]
    instruments: dict[str, OInstrument]
    ticks: list[tuple[int, str, Decimal, Decimal]]
    orders: list[dict]
    commission: OCommission
    initial_cash: Decimal
    minor_digits: int = 2
    close_at_end: bool = False
    currency: str = "USD"
    extra: dict = field(default_factory=dict)

    def run_oracle(self, **kw) -> OracleResult:
        return simulate(
            self.ticks,
            self.orders,
            self.instruments,
            self.commission,
            self.initial_cash,
            minor_digits=self.minor_digits,
            close_at_end=self.close_at_end,
            **kw,
        )

    def frames(self):
        """``(data, orders)`` as Polars frames.

        ``data``: ts (Datetime ns UTC), symbol, bid, ask (Float64).
        ``orders``: ts, symbol, type, side (``buy``/``sell``, null for targets),
        qty (Float64 lots, null for targets), target (Float64 lots, null for
        market orders), in order id order.
        """
        import polars as pl

        dt = pl.Datetime("ns", "UTC")
        data = pl.DataFrame(
            {
                "ts": [t[0] for t in self.ticks],
                "symbol": [t[1] for t in self.ticks],
                "bid": [float(t[2]) for t in self.ticks],
                "ask": [float(t[3]) for t in self.ticks],
            },
            schema={"ts": pl.Int64, "symbol": pl.String, "bid": pl.Float64, "ask": pl.Float64},
        ).with_columns(pl.col("ts").cast(dt))
        orders = pl.DataFrame(
            {
                "ts": [o["ts"] for o in self.orders],
                "symbol": [o["symbol"] for o in self.orders],
                "type": [o["type"] for o in self.orders],
                "side": [o["side"] for o in self.orders],
                "qty": [None if o["qty"] is None else float(o["qty"]) for o in self.orders],
                "target": [None if o["target"] is None else float(o["target"]) for o in self.orders],
            },
            schema={
                "ts": pl.Int64,
                "symbol": pl.String,
                "type": pl.String,
                "side": pl.String,
                "qty": pl.Float64,
                "target": pl.Float64,
            },
        ).with_columns(pl.col("ts").cast(dt))
        return data, orders

    def describe(self) -> str:
        lines = [
            f"symbols={self.symbols} close_at_end={self.close_at_end} cash={self.initial_cash}",
            f"commission={self.commission}",
            f"min_qty={ {s: str(i.min_qty) for s, i in self.instruments.items()} }",
        ]
        lines += [f"tick {t[0] - BASE_TS} {t[1]} {t[2]} {t[3]}" for t in self.ticks]
        lines += [
            f"order {i} ts={o['ts'] - BASE_TS} {o['symbol']} {o['type']} "
            f"{o['side'] or ''} {o['qty'] if o['qty'] is not None else ''}"
            f"{o['target'] if o['target'] is not None else ''}"
            for i, o in enumerate(self.orders)
        ]
        return "\n".join(lines)


def _money(draw, hi_cents: int) -> Decimal:
    cents = draw(st.one_of(st.just(0), st.integers(0, hi_cents)))
    return Decimal(cents).scaleb(-2)


@st.composite
def _commission(draw) -> OCommission:
    fraction = Decimal(draw(st.one_of(st.just(0), st.integers(0, 300)))).scaleb(-6)
    return OCommission(
        fraction=fraction,
        per_lot=_money(draw, 700),
        per_order=_money(draw, 200),
        minimum=_money(draw, 500),
    )


@st.composite
def scenario(draw, max_ticks: int = 300, max_orders: int = 40, vary_min_qty: bool = True) -> Scenario:
    """Draw a random small netting scenario (see the module docstring)."""
    symbols = sorted(draw(st.lists(st.sampled_from(sorted(SPECS)), min_size=1, max_size=3, unique=True)))
    instruments: dict[str, OInstrument] = {}
    for s in symbols:
        sp = SPECS[s]
        min_steps = draw(st.sampled_from([1, 1, 1, 5])) if vary_min_qty else 1
        instruments[s] = OInstrument(
            symbol=s,
            tick_size=sp.tick_size,
            lot_step=sp.lot_step,
            contract_size=sp.contract_size,
            quote_to_account=Decimal(1),
            min_qty=max(sp.min_qty, sp.lot_step * min_steps),
        )

    n_ticks = draw(st.integers(1, max_ticks))
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(symbols) - 1),  # symbol
                st.sampled_from([0, 0, 1, 1, 2, 5, 1000]),  # ts gap in ns
                st.integers(-1000, 1000),  # bid move, scaled per symbol
                st.integers(0, 1000),  # spread, scaled per symbol
            ),
            min_size=n_ticks,
            max_size=n_ticks,
        )
    )
    bid_now = {s: SPECS[s].level_ticks for s in symbols}
    last_ts: dict[str, int] = {}
    raw = []
    ts = BASE_TS
    for k, gap, move, spread in steps:
        s = symbols[k]
        sp = SPECS[s]
        ts += gap
        if last_ts.get(s) == ts:
            ts += 1
        last_ts[s] = ts
        bid = max(1, bid_now[s] + move * sp.max_move // 1000)
        bid_now[s] = bid
        ask = bid + spread * sp.max_spread // 1000
        raw.append((ts, k, bid, ask))
    raw.sort(key=lambda r: (r[0], r[1]))
    ticks = [
        (t, symbols[k], Decimal(b) * SPECS[symbols[k]].tick_size, Decimal(a) * SPECS[symbols[k]].tick_size)
        for t, k, b, a in raw
    ]

    tick_ts = [t[0] for t in ticks]
    n_orders = draw(st.integers(0, max_orders))
    orders = []
    for _ in range(n_orders):
        s = draw(st.sampled_from(symbols))
        sp = SPECS[s]
        if draw(st.booleans()):
            ts = draw(st.sampled_from(tick_ts)) + draw(st.sampled_from([-1, 0, 0, 1]))
        else:
            ts = draw(st.integers(tick_ts[0] - 3, tick_ts[-1] + 3))
        small = max(1, sp.max_steps // 10)
        steps_q = draw(st.one_of(st.integers(1, small), st.integers(1, sp.max_steps)))
        if draw(st.integers(0, 9)) < 7:
            side = draw(st.sampled_from(["buy", "sell"]))
            orders.append(
                {
                    "ts": ts,
                    "symbol": s,
                    "type": "market",
                    "side": side,
                    "qty": Decimal(steps_q) * sp.lot_step,
                    "target": None,
                }
            )
        else:
            signed = draw(st.sampled_from([-1, 0, 1])) * steps_q
            orders.append(
                {
                    "ts": ts,
                    "symbol": s,
                    "type": "target",
                    "side": None,
                    "qty": None,
                    "target": Decimal(signed) * sp.lot_step,
                }
            )
    orders.sort(key=lambda o: o["ts"])

    return Scenario(
        symbols=symbols,
        instruments=instruments,
        ticks=ticks,
        orders=orders,
        commission=draw(_commission()),
        initial_cash=Decimal(draw(st.integers(100_000, 100_000_000))).scaleb(-2),
        minor_digits=2,
        close_at_end=draw(st.booleans()),
    )


# ---------------------------------------------------------------------------------------------
# Engine scenarios (docs/execution.md): 2 symbols, every order action, type, TIF, stop form,
# execution model, slippage model, account mode, latency, swap and funding.
# ---------------------------------------------------------------------------------------------

HOUR = 3600 * 10**9
_GAPS = [0, 0, 1, 2, 5, 1000, 10**9, HOUR, 5 * HOUR, 24 * HOUR]
_PCTS = ["0.05", "0.1", "0.25", "0.5", "1", "1.5"]
_ORDER_COLS = ("id", "action", "ts", "symbol", "side", "qty", "type", "price", "stop", "tif", "expire", "oco",
               "ref", "sl", "tp", "sl_ticks", "tp_ticks", "sl_pct", "tp_pct", "trail", "trail_ticks",
               "trail_pct", "trail_activation", "trail_step", "tag")
_INT_COLS = ("id", "oco", "ref", "sl_ticks", "tp_ticks", "trail_ticks", "trail_activation", "trail_step")
_PRICE_COLS = ("price", "stop", "sl", "tp", "trail")


@dataclass
class EngineScenario:
    instruments: dict  # symbol -> tests.oracle_engine.EInstrument
    ticks: list  # (ts, symbol, bid, ask[, bid_size, ask_size]) Decimal prices, sizes in lots or None
    orders: list  # dicts keyed by _ORDER_COLS (absent = null)
    signals: list  # dicts ts, symbol, target
    commission: OCommission
    config: object  # tests.oracle_engine.EConfig
    ids_given: bool = False

    def run_oracle(self):
        from tests.oracle_engine import simulate as simulate_engine

        return simulate_engine(self.ticks, self.orders, self.instruments, self.commission, self.config,
                               self.signals)

    def frames(self):
        """``(data, orders, signals)`` Polars frames for ``backtestr.run`` (``None`` when empty)."""
        import polars as pl

        dt = pl.Datetime("ns", "UTC")
        data = pl.DataFrame(
            {"ts": [t[0] for t in self.ticks], "symbol": [t[1] for t in self.ticks],
             "bid": [float(t[2]) for t in self.ticks], "ask": [float(t[3]) for t in self.ticks]},
            schema={"ts": pl.Int64, "symbol": pl.String, "bid": pl.Float64, "ask": pl.Float64},
        ).with_columns(pl.col("ts").cast(dt))
        extra = ((4, "bid_size"), (5, "ask_size"), (6, "funding_rate"))  # sizes in lots, null = missing
        if self.ticks and len(self.ticks[0]) > 4:
            data = data.with_columns(
                pl.Series(c, [None if t[i] is None else float(t[i]) for t in self.ticks], pl.Float64)
                for i, c in extra if i < len(self.ticks[0]))
        orders = None
        if self.orders:
            cols = [c for c in _ORDER_COLS if c != "id" or self.ids_given]
            schema = {c: (pl.Int64 if c in _INT_COLS or c in ("ts", "expire") else
                          pl.String if c in ("action", "symbol", "side", "type", "tif", "tag") else pl.Float64)
                      for c in cols}
            orders = pl.DataFrame(
                {c: [None if o.get(c) is None else (float(o[c]) if schema[c] == pl.Float64 else o[c])
                     for o in self.orders] for c in cols},
                schema=schema,
            ).with_columns(pl.col(c).cast(dt) for c in ("ts", "expire") if c in cols)
        signals = None
        if self.signals:
            signals = pl.DataFrame(
                {"ts": [s["ts"] for s in self.signals], "symbol": [s["symbol"] for s in self.signals],
                 "target": [float(s["target"]) for s in self.signals]},
                schema={"ts": pl.Int64, "symbol": pl.String, "target": pl.Float64},
            ).with_columns(pl.col("ts").cast(dt))
        return data, orders, signals

    def config_dict(self, **run) -> dict:
        cfg, c = self.config, self.commission
        inst = {}
        for s, i in self.instruments.items():
            t = {"tick_size": str(i.tick_size), "lot_step": str(i.lot_step),
                 "contract_size": str(i.contract_size), "min_qty": str(i.min_qty), "max_qty": str(i.max_qty),
                 "quote": "USD", "quote_to_account": str(i.quote_to_account)}
            if i.swap_mode != "none":
                t.update(swap_mode=i.swap_mode, swap_long=str(i.swap_long), swap_short=str(i.swap_short),
                         swap_time=i.swap_time, swap_days=list(i.swap_days), swap_year_days=i.swap_year_days)
            if i.funding_interval_ns:
                t.update(funding_rate=str(i.funding_rate), funding_interval=f"{i.funding_interval_ns // HOUR}h",
                         funding_time=i.funding_time)
            inst[s] = t
        return {
            "account": {"initial_cash": str(cfg.initial_cash), "currency": "USD", "minor_digits": cfg.minor_digits},
            "commission": {"fraction": str(c.fraction), "per_lot": str(c.per_lot), "per_order": str(c.per_order),
                           "minimum": str(c.minimum)},
            "run": {"close_at_end": cfg.close_at_end, "account_mode": cfg.account_mode,
                    "latency": f"{cfg.latency_ns}ns", "log_level": "ticks", **run},
            "execution": {"model": cfg.model, "slippage": cfg.slippage, "slippage_ticks": cfg.slippage_ticks,
                          "slippage_spread": str(cfg.slippage_spread), "random_slippage": cfg.random_slippage,
                          "seed": cfg.seed},
            "instruments": inst,
        }

    def describe(self) -> str:
        lines = [f"config={self.config}", f"commission={self.commission}"]
        lines += [f"instrument {i}" for i in self.instruments.values()]
        lines += [f"tick {t[0] - BASE_TS} {t[1]} {t[2]} {t[3]}" + (f" sizes {t[4]} {t[5]}" if len(t) > 4 else "")
                  + (f" funding {t[6]}" if len(t) > 6 else "") for t in self.ticks]
        for k, o in enumerate(self.orders):
            shown = {c: (v - BASE_TS if c in ("ts", "expire") else v) for c, v in o.items() if v is not None}
            lines.append(f"order row {k} {shown}")
        lines += [f"signal {s['ts'] - BASE_TS} {s['symbol']} {s['target']}" for s in self.signals]
        return "\n".join(lines)


@st.composite
def _engine_instrument(draw, symbol: str):
    from tests.oracle_engine import EInstrument

    sp = SPECS[symbol]
    kw = {}
    mode = draw(st.sampled_from(["none", "none", "points", "percent"]))
    if mode != "none":
        scale = 10 if mode == "points" else 100
        lo, hi = (-80, 40) if mode == "points" else (-500, 300)
        kw.update(
            swap_mode=mode,
            swap_long=Decimal(draw(st.integers(lo, hi))) / scale,
            swap_short=Decimal(draw(st.integers(lo, hi))) / scale,
            swap_time=f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 30])):02d}",
            swap_days=tuple(draw(st.one_of(st.just([1, 1, 3, 1, 1, 0, 0]),
                                           st.lists(st.integers(0, 3), min_size=7, max_size=7)))),
            swap_year_days=draw(st.sampled_from([360, 365])),
        )
    rate = draw(st.sampled_from([None, None, "0.0001", "-0.00005", "0.000375", "column"]))
    if rate is not None:
        kw.update(funding_rate=rate if rate == "column" else Decimal(rate),
                  funding_interval_ns=draw(st.sampled_from([1, 4, 8])) * HOUR,
                  funding_time=f"{draw(st.integers(0, 23)):02d}:00")
    return EInstrument(
        symbol, sp.tick_size, sp.lot_step, sp.contract_size,
        quote_to_account=Decimal(draw(st.sampled_from(["1", "1", "1.08532", "0.7"]))),
        min_qty=sp.lot_step * draw(st.sampled_from([1, 1, 1, 5])),
        max_qty=sp.lot_step * draw(st.sampled_from([0, 0, 0, sp.max_steps // 4])),
        **kw,
    )


def _stop(draw, name: str, side: int, entry: int, unit: int, sp: _Spec) -> dict:
    """An sl/tp (``name``) in one of its three forms around ``entry`` ticks; sometimes wrong-side."""
    form = draw(st.sampled_from(["price", "ticks", "pct"]))
    if form == "ticks":
        return {f"{name}_ticks": draw(st.integers(1, 3 * unit))}
    if form == "pct":
        return {f"{name}_pct": Decimal(draw(st.sampled_from(_PCTS)))}
    k = draw(st.integers(-unit // 2 - 1, 3 * unit))  # negative: wrong side (bad_stops)
    sign = -side if name == "sl" else side
    return {name: Decimal(max(1, entry + sign * k)) * sp.tick_size}


def _trail(draw, unit: int, sp: _Spec) -> dict:
    form = draw(st.sampled_from(["trail", "trail_ticks", "trail_pct"]))
    d = {"trail": Decimal(draw(st.integers(1, 2 * unit))) * sp.tick_size,
         "trail_ticks": draw(st.integers(1, 2 * unit)),
         "trail_pct": Decimal(draw(st.sampled_from(_PCTS)))}[form]
    out = {form: d}
    if draw(st.booleans()):
        out["trail_activation"] = draw(st.integers(1, 2 * unit))
    if draw(st.booleans()):
        out["trail_step"] = draw(st.integers(1, unit))
    return out


@st.composite
def engine_scenario(draw, max_ticks: int = 120, max_orders: int = 30, max_signals: int = 4) -> EngineScenario:
    from tests.oracle_engine import EConfig

    pair = sorted(draw(st.lists(st.sampled_from(sorted(SPECS)), min_size=2, max_size=2, unique=True)))
    n_ticks = draw(st.integers(2, max_ticks))
    steps = draw(st.lists(st.tuples(st.integers(0, 1), st.sampled_from(_GAPS), st.integers(-1000, 1000),
                                    st.sampled_from([0, 1, 50, 200, 1000])), min_size=n_ticks, max_size=n_ticks))
    bid_now = {s: SPECS[s].level_ticks for s in pair}
    last_ts: dict[str, int] = {}
    raw, ts = [], BASE_TS
    for k, gap, move, spread in steps:
        s, sp = pair[k], SPECS[pair[k]]
        ts += gap
        if last_ts.get(s) == ts:
            ts += 1
        last_ts[s] = ts
        bid_now[s] = max(1, bid_now[s] + move * sp.max_move // 1000)
        raw.append((ts, k, bid_now[s], bid_now[s] + spread * sp.max_spread // 1000))
    raw.sort(key=lambda r: (r[0], r[1]))
    symbols = [s for k, s in enumerate(pair) if any(r[1] == k for r in raw)]
    quotes = {s: [(r[0], r[2], r[3]) for r in raw if pair[r[1]] == s] for s in symbols}
    ticks = [(t, pair[k], Decimal(b) * SPECS[pair[k]].tick_size, Decimal(a) * SPECS[pair[k]].tick_size)
             for t, k, b, a in raw]
    if draw(st.booleans()):  # quote sizes in lots: half lot steps (a half is rounded down), 0 or missing
        half = st.one_of(st.just(-1), st.just(0), st.integers(1, 3), st.integers(4, 200))
        sizes = draw(st.lists(st.tuples(half, half), min_size=len(ticks), max_size=len(ticks)))
        ticks = [tk + tuple(None if h < 0 else SPECS[tk[1]].lot_step * h / 2 for h in hs)
                 for tk, hs in zip(ticks, sizes, strict=True)]
    tick_ts = [t[0] for t in ticks]
    latency = draw(st.sampled_from([0, 0, 1, 3, 1000]))

    def quote_at(s, t):
        before = [q for q in quotes[s] if q[0] <= t]
        return (before or quotes[s])[-1]

    def some_ts():
        if draw(st.booleans()):
            return draw(st.sampled_from(tick_ts)) + draw(st.sampled_from([-1, 0, 0, 1]))
        return draw(st.integers(tick_ts[0] - 3, tick_ts[-1] + 3))

    kinds = ["market", "market", "limit", "limit", "stop", "stop_limit", "modify", "modify", "cancel", "close"]
    rows = sorted(({"ts": some_ts(), "kind": draw(st.sampled_from(kinds))}
                   for _ in range(draw(st.integers(0, max_orders)))), key=lambda r: r["ts"])
    id_mode = draw(st.sampled_from(["rows", "increasing", "shuffled"]))
    ids = list(range(len(rows)))
    if id_mode != "rows":
        ids = [100 + 7 * i + draw(st.integers(0, 6)) for i in range(len(rows))]
        if id_mode == "shuffled":
            ids = draw(st.permutations(ids))
    orders: list[dict] = []
    for i, r in enumerate(rows):
        kind, t = r["kind"], r["ts"]
        s = draw(st.sampled_from(symbols))
        sp = SPECS[s]
        unit = max(1, sp.max_move)
        _, bid, ask = quote_at(s, t)
        o = {"id": ids[i], "ts": t, "symbol": s, "tag": f"{kind}{i}"}
        news = [j for j in range(i) if orders[j]["action"] == "new"]
        if kind in ("modify", "cancel", "close"):
            o["action"] = kind
            if news and draw(st.integers(0, 9)) < 8:
                j = draw(st.sampled_from(news))
                o["ref"], o["symbol"] = orders[j]["id"], orders[j]["symbol"]
                if kind == "close" and draw(st.integers(0, 7)) == 0:  # another symbol: unknown_ref
                    o["symbol"] = draw(st.sampled_from(symbols))
                s, sp = o["symbol"], SPECS[o["symbol"]]
                unit = max(1, sp.max_move)
                _, bid, ask = quote_at(s, t)
            elif kind != "close" or draw(st.booleans()):
                o["ref"] = draw(st.sampled_from([10**6, 99]))  # no such order (99: a gap in the ids)
            if kind == "close" and draw(st.integers(0, 3)) == 0:
                o["qty"] = sp.lot_step * draw(st.integers(5, max(5, sp.max_steps // 10)))
            if kind == "modify":
                ref = next((x for x in orders if x["id"] == o.get("ref")), None)
                side = 1 if ref is None or ref.get("side") == "buy" else -1
                if ref is not None and ref.get("price") is not None and draw(st.booleans()):
                    o["price"] = ref["price"] + draw(st.integers(-unit, unit)) * sp.tick_size
                    o["price"] = max(o["price"], sp.tick_size)
                if ref is not None and ref.get("stop") is not None and draw(st.booleans()):
                    o["stop"] = max(sp.tick_size, ref["stop"] + draw(st.integers(-unit, unit)) * sp.tick_size)
                ref_q = bid if side > 0 else ask
                for name in ("sl", "tp"):
                    if draw(st.integers(0, 2)) == 0:
                        o.update({name: Decimal(0)} if draw(st.integers(0, 3)) == 0 else
                                 _stop(draw, name, side, ref_q, unit, sp))
                if draw(st.integers(0, 4)) == 0:
                    o.update({"trail": Decimal(0)} if draw(st.booleans()) else _trail(draw, unit, sp))
                if draw(st.integers(0, 9)) == 0:
                    o["qty"] = sp.lot_step * draw(st.integers(5, max(5, sp.max_steps // 10)))
            orders.append(o)
            continue
        side = draw(st.sampled_from([1, -1]))
        steps_q = draw(st.one_of(st.integers(1, max(1, sp.max_steps // 10)), st.integers(1, sp.max_steps)))
        o.update(action="new", side="buy" if side > 0 else "sell", type=kind, qty=steps_q * sp.lot_step)
        q = ask if side > 0 else bid
        entry = q
        if kind in ("limit", "stop_limit"):
            off = draw(st.integers(-unit, 3 * unit))  # negative: marketable
            if kind == "limit":
                entry = max(1, q - side * off)
        if kind in ("stop", "stop_limit"):
            stop = max(1, q + side * draw(st.integers(-unit // 2, 3 * unit)))
            o["stop"] = Decimal(stop) * sp.tick_size
            entry = stop
            if kind == "stop_limit":
                entry = max(1, stop + side * draw(st.integers(-unit, unit)))
        if kind in ("limit", "stop_limit"):
            o["price"] = Decimal(entry) * sp.tick_size
            if draw(st.integers(0, 29)) == 0:  # off_tick
                o["price"] += sp.tick_size / 2
        tif = draw(st.sampled_from(["gtc", "gtc", "gtd", "ioc"]))
        if kind != "market" or draw(st.integers(0, 4)) == 0:
            o["tif"] = tif
            if tif == "gtd":
                o["expire"] = t + max(1, latency) + draw(st.sampled_from([1, 2, 1000, 10**9, HOUR, 24 * HOUR]))
                if draw(st.integers(0, 14)) == 0:  # expiry_past
                    o["expire"] = t - draw(st.sampled_from([0, 1, 1000]))
        if kind != "market" and draw(st.integers(0, 3)) == 0:
            o["oco"] = draw(st.integers(1, 3))
        for name in ("sl", "tp"):
            if draw(st.integers(0, 2)) == 0:
                o.update(_stop(draw, name, side, entry, unit, sp))
        if draw(st.integers(0, 5)) == 0:
            o.update(_trail(draw, unit, sp))
        orders.append(o)
    if id_mode == "rows":
        for o in orders:
            o.pop("id")
    signals = []
    for _ in range(draw(st.integers(0, max_signals))):
        s = draw(st.sampled_from(symbols))
        sp = SPECS[s]
        signals.append({"ts": some_ts(), "symbol": s,
                        "target": sp.lot_step * draw(st.integers(-1, 1)) * draw(st.integers(1, sp.max_steps // 5))})
    signals.sort(key=lambda x: x["ts"])
    cfg = EConfig(
        account_mode=draw(st.sampled_from(["netting", "hedging"])),
        model=draw(st.sampled_from(["perfect", "realistic", "worst_case"])),
        slippage=draw(st.sampled_from(["none", "fixed", "spread", "size"])),
        slippage_ticks=draw(st.integers(0, 5)),
        slippage_spread=Decimal(draw(st.sampled_from(["0.25", "0.5", "1", "1.5"]))),
        random_slippage=draw(st.booleans()),
        seed=draw(st.integers(0, 2**63 - 1)),
        latency_ns=latency,
        close_at_end=draw(st.booleans()),
        initial_cash=Decimal(draw(st.integers(100_000, 100_000_000))).scaleb(-2),
        minor_digits=draw(st.sampled_from([2, 2, 3])),
    )
    instruments = {s: draw(_engine_instrument(s)) for s in symbols}
    if any(i.funding_rate == "column" for i in instruments.values()):  # funding rates in the data
        rates = draw(st.lists(st.one_of(st.none(), st.integers(-50_000, 50_000)), min_size=len(ticks),
                              max_size=len(ticks)))
        ticks = [(*tk, *(None, None)[:6 - len(tk)], None if k is None else Decimal(k).scaleb(-9))
                 for tk, k in zip(ticks, rates, strict=True)]
    return EngineScenario(
        instruments=instruments,
        ticks=ticks, orders=orders, signals=signals, commission=draw(_commission()), config=cfg,
        ids_given=id_mode != "rows",
    )
