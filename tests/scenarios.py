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
