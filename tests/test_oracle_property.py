"""The kernel against the Decimal reference model, on random scenarios.

``tests/scenarios.py`` draws small netting scenarios; each is run through
``tests.oracle.simulate`` and through ``backtestr.run`` and the two must agree
fill by fill, order by order, position by position and on every ledger total
(docs/architecture.md §2 and §3).  Two more properties: splitting the stream
into chunks and the logs into buffers of any size changes nothing, and two runs
of the same inputs write byte-identical Parquet files.
"""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backtestr as bt
from tests.oracle import OCommission, OInstrument
from tests.scenarios import BASE_TS, SPECS, Scenario, scenario

EFFECTS = {"open": 0, "increase": 1, "reduce": 2, "close": 3}
FILL_KEYS = (
    "order_id",
    "position_id",
    "ts",
    "symbol",
    "side",
    "effect",
    "qty_steps",
    "price_ticks",
    "commission_minor",
    "realized_pnl_minor",
    "cash_after_minor",
)
SUMMARY_KEYS = (
    "final_cash_minor",
    "final_equity_minor",
    "realized_pnl_minor",
    "commission_minor",
    "max_drawdown_minor",
)
RUN_DEPENDENT = ("wall_s", "kernel_s", "compile_s", "ticks_per_s")
_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


def kernel_order(sc: Scenario) -> Scenario:
    """The scenario as ``bt.run`` can take it, with orders numbered its way.

    ``bt.run`` runs the symbols that have ticks and refuses orders for any
    other symbol, so symbols without ticks are dropped with their orders.  It
    gives the rows of the orders frame ids 0..n-1 and the signals rows the ids
    after them, while the oracle numbers orders by list index: market orders
    first, then target orders, each in their original order, makes the two
    numberings the same.
    """
    traded = sorted({t[1] for t in sc.ticks})
    orders = [o for o in sc.orders if o["symbol"] in traded]
    market = [o for o in orders if o["type"] == "market"]
    target = [o for o in orders if o["type"] == "target"]
    return dataclasses.replace(
        sc,
        symbols=traded,
        instruments={s: i for s, i in sc.instruments.items() if s in traded},
        orders=market + target,
    )


@st.composite
def accounts(draw, **kw) -> Scenario:
    """A ``scenario()``, sometimes with finer minor units and quote rates other than 1.

    Rates other than 1 and more minor digits give tick values ``V`` with large
    numerators and denominators, where rounding is most easily got wrong.
    """
    sc = draw(scenario(**kw))
    digits = draw(st.sampled_from([2, 2, 3, 8]))
    # a third of the draws: an account in EUR or GBP, every symbol (quoted in USD) converted at
    # one over the live mid of EURUSD or GBPUSD (docs/currency.md), which must be in the run
    live = [s for s in ("EURUSD", "GBPUSD") if s in {t[1] for t in sc.ticks}]
    if live and draw(st.integers(0, 2)) == 0:
        via = draw(st.sampled_from(live))
        instruments = {s: dataclasses.replace(i, rate_legs=((via, True),)) for s, i in sc.instruments.items()}
        # with both in the run, BTCUSD sometimes quoted in the other's currency: a cross through
        # USD, two legs (GBP -> USD at GBPUSD's mid, USD -> EUR at one over EURUSD's)
        if len(live) == 2 and "BTCUSD" in instruments and draw(st.booleans()):
            other = live[1] if via == live[0] else live[0]
            instruments["BTCUSD"] = dataclasses.replace(instruments["BTCUSD"], rate_legs=((other, False), (via, True)))
        return dataclasses.replace(sc, minor_digits=digits, instruments=instruments, currency=via[:3])
    rates = st.sampled_from(["1", "1", "1.08532", "0.0067", "151.37", "0.7"])
    instruments = {
        s: dataclasses.replace(i, quote_to_account=Decimal(draw(rates))) for s, i in sc.instruments.items()
    }
    return dataclasses.replace(sc, minor_digits=digits, instruments=instruments)


def inputs(sc: Scenario) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """``(data, orders, signals)`` frames for ``bt.run`` (orders in ``kernel_order``)."""
    data, frame = sc.frames()
    market = frame.filter(pl.col("type") == "market").select("ts", "symbol", "side", "qty")
    signals = frame.filter(pl.col("type") == "target").select("ts", "symbol", "target")
    return data, (market if market.height else None), (signals if signals.height else None)


def config(sc: Scenario, **run) -> dict:
    c = sc.commission
    return {
        "account": {
            "initial_cash": str(sc.initial_cash),
            "currency": sc.currency,
            "minor_digits": sc.minor_digits,
        },
        "commission": {
            "fraction": str(c.fraction),
            "per_lot": str(c.per_lot),
            "per_order": str(c.per_order),
            "minimum": str(c.minimum),
        },
        "run": {"close_at_end": sc.close_at_end, "log_level": "trades", **run},
        "instruments": {
            s: {
                "tick_size": str(i.tick_size),
                "lot_step": str(i.lot_step),
                "contract_size": str(i.contract_size),
                "min_qty": str(i.min_qty),
                "max_qty": "0",
                # live conversion: quoted in USD (or in the first leg's base currency for a cross), the
                # rate from the stream; else a fixed rate
                **({"quote": quote_of(i.rate_legs)} if i.rate_legs else
                   {"quote": sc.currency, "quote_to_account": str(i.quote_to_account)}),
            }
            for s, i in sc.instruments.items()
        },
    }


def quote_of(legs: tuple[tuple[str, bool], ...]) -> str:
    """The quote currency a conversion path starts from: an inverted first leg A/Q reads Q,
    a direct one Q/C reads Q."""
    sym, inverted = legs[0]
    return sym[3:] if inverted else sym[:3]


def run_kernel(sc: Scenario, out=None, **run) -> bt.Result:
    data, orders, signals = inputs(sc)
    return bt.run(data=data, orders=orders, signals=signals, config=config(sc, **run), out=out)


def kernel_fills(res: bt.Result) -> list[dict]:
    df = res.fills.with_columns(
        pl.col("ts").dt.epoch("ns").alias("ts"),
        pl.col("symbol").cast(pl.String).alias("symbol"),
        pl.col("side_code").alias("side"),  # the oracle's codes
        pl.col("effect_code").alias("effect"),
    )
    return [{k: row[k] for k in FILL_KEYS} for row in df.iter_rows(named=True)]


def oracle_fills(ores) -> list[dict]:
    return [{**{k: f[k] for k in FILL_KEYS}, "effect": EFFECTS[f["effect"]]} for f in ores.fills]


def tick_steps(value: Decimal, sc: Scenario, symbol: str) -> int:
    inst = sc.instruments[symbol]
    n = value / (inst.tick_size * inst.lot_step)
    assert n == n.to_integral_value(), (symbol, value)
    return int(n)


def check_against_oracle(sc: Scenario) -> None:
    sc = kernel_order(sc)
    ores = sc.run_oracle()
    res = run_kernel(sc, log_level="ticks")
    rates = {s: str(i.quote_to_account) for s, i in sc.instruments.items()}
    why = f"\nminor_digits={sc.minor_digits} quote_to_account={rates}\n{sc.describe()}"

    # fill by fill
    kf, of = kernel_fills(res), oracle_fills(ores)
    assert len(kf) == len(of), why
    for i, (k, o) in enumerate(zip(kf, of, strict=True)):
        assert k == o, f"fill {i}: kernel {k} != oracle {o}{why}"
    reasons = res.fills.get_column("reason").to_list()
    assert reasons == ["end_of_data" if f["order_id"] < 0 else "signal" for f in of], why

    # order by order
    orders = res.orders.sort("order_id")
    assert orders.get_column("order_id").to_list() == list(range(len(sc.orders))), why
    assert orders.get_column("status").to_list() == ores.order_status, why
    rejected = orders.filter(pl.col("status") == "rejected").get_column("reason").to_list()
    assert rejected == [
        r for s, r in zip(ores.order_status, ores.order_reason, strict=True) if s == "rejected"
    ], why

    # ledger totals
    s = res.summary
    want = {
        "final_cash_minor": ores.final_cash_minor,
        "final_equity_minor": ores.final_equity_minor,
        "realized_pnl_minor": ores.realized_minor,
        "commission_minor": ores.commission_minor,
        "max_drawdown_minor": ores.max_drawdown_minor,
    }
    assert {k: s[k] for k in SUMMARY_KEYS} == want, why
    initial = s["initial_cash_minor"]
    assert initial == int(sc.initial_cash.scaleb(sc.minor_digits)), why
    fills = res.fills
    realized = int(fills.get_column("realized_pnl_minor").sum()) if fills.height else 0
    commission = int(fills.get_column("commission_minor").sum()) if fills.height else 0
    assert (s["realized_pnl_minor"], s["commission_minor"]) == (realized, commission), why
    assert s["final_cash_minor"] == initial + realized - commission, why
    if fills.height:
        assert fills.get_column("cash_after_minor")[-1] == s["final_cash_minor"], why

    # position by position
    kpos = {r["position_id"]: r for r in res.positions.iter_rows(named=True)}
    assert sorted(kpos) == [p["position_id"] for p in ores.positions], why
    for p in ores.positions:
        k = kpos[p["position_id"]]
        got = {
            "symbol": k["symbol"],
            "side": k["side_code"],
            "is_open": bool(k["is_open"]),
            "qty_steps": k["qty_steps"],
            "entry_steps": k["entry_steps"],
            "exit_steps": k["exit_steps"],
            "cost": k["cost"],
            "realized_pnl_minor": k["realized_pnl_minor"],
            "commission_minor": k["commission_minor"],
            "entry_value": k["entry_value"],
            "exit_value": k["exit_value"],
        }
        exp = {
            "symbol": p["symbol"],
            "side": p["side"],
            "is_open": p["is_open"],
            "qty_steps": p["qty_steps"],
            "entry_steps": p["entry_qty_steps"],
            "exit_steps": p["exit_qty_steps"],
            "cost": p["cost_tick_steps"],
            "realized_pnl_minor": p["realized_pnl_minor"],
            "commission_minor": p["commission_minor"],
            "entry_value": tick_steps(p["entry_value"], sc, p["symbol"]),
            "exit_value": tick_steps(p["exit_value"], sc, p["symbol"]),
        }
        assert got == exp, f"position {p['position_id']}{why}"
    closed = [r["position_id"] for r in res.positions.iter_rows(named=True) if not r["is_open"]]
    open_ = [r["position_id"] for r in res.positions.iter_rows(named=True) if r["is_open"]]
    assert open_ == sorted(open_), why
    close_fill = {f["position_id"]: i for i, f in enumerate(of) if f["effect"] == EFFECTS["close"]}
    assert closed == sorted(closed, key=close_fill.__getitem__), why

    # equity after every tick (plus the state after the end-of-data closes)
    eq = res.equity.select(pl.col("ts").dt.epoch("ns"), "equity_minor")
    assert list(eq.iter_rows()) == ores.equity, why


@settings(max_examples=300, **_SETTINGS)
@given(accounts())
def test_kernel_matches_oracle(sc: Scenario) -> None:
    check_against_oracle(sc)


def _ties_scenario() -> Scenario:
    """Every rounding in it is an exact half; each must go to the even neighbour.

    Commission per_lot 0.50 + per_order 0.02 (BTCUSD: V = 1/10000 minor per tick.step).
    EURUSD buy 0.01 at ts 10:  R(0.5) + 2 = 2.
    EURUSD sell 0.02 at ts 20: 1 + 2 = 3, reversal; close part R(3 x 1/2) = R(1.5) = 2, open part 1.
    EURUSD buy 0.03 at ts 30:  R(1.5) + 2 = 4, reversal; close part R(4/3) = 1, open part 3.
    BTCUSD buy 0.0003 at ask 60000.00 at ts 10: R(0.015) + 2 = 2.
    BTCUSD bid 60050.00 at ts 20: unrealized R(3 x 5000 / 10000) = R(1.5) = 2.
    BTCUSD sell 0.0003 at bid 60050.00 at ts 30: realized R(1.5) = 2.
    End of data: EURUSD long 0.02 closed at 1.10000 for 1 + 2 = 3.
    """
    eur = OInstrument(
        "EURUSD", Decimal("0.00001"), Decimal("0.01"), Decimal("100000"), Decimal(1), Decimal("0.01")
    )
    btc = OInstrument("BTCUSD", Decimal("0.01"), Decimal("0.0001"), Decimal(1), Decimal(1), Decimal("0.0001"))
    ticks = []
    # the data starts at ts 5 with the first orders (acting on ts 10; nothing acts at 5)
    for t, btc_bid in ((5, "60000.00"), (10, "60000.00"), (20, "60050.00"), (30, "60050.00"), (40, "60050.00")):
        ticks.append((BASE_TS + t, "BTCUSD", Decimal(btc_bid), Decimal(btc_bid)))
        ticks.append((BASE_TS + t, "EURUSD", Decimal("1.10000"), Decimal("1.10000")))

    def market(t, sym, side, qty):
        return {
            "ts": BASE_TS + t,
            "symbol": sym,
            "type": "market",
            "side": side,
            "qty": Decimal(qty),
            "target": None,
        }

    orders = [
        market(5, "EURUSD", "buy", "0.01"),
        market(15, "EURUSD", "sell", "0.02"),
        market(25, "EURUSD", "buy", "0.03"),
        market(5, "BTCUSD", "buy", "0.0003"),
        market(25, "BTCUSD", "sell", "0.0003"),
    ]
    return Scenario(
        symbols=["BTCUSD", "EURUSD"],
        instruments={"BTCUSD": btc, "EURUSD": eur},
        ticks=ticks,
        orders=orders,
        commission=OCommission(per_lot=Decimal("0.50"), per_order=Decimal("0.02")),
        initial_cash=Decimal("1000.00"),
        close_at_end=True,
    )


def test_half_even_ties() -> None:
    sc = _ties_scenario()
    check_against_oracle(sc)
    res = run_kernel(sc, log_level="ticks")
    got = res.fills.select("order_id", "symbol", "effect", "commission_minor", "realized_pnl_minor")
    assert [tuple(r) for r in got.iter_rows()] == [
        (3, "BTCUSD", "open", 2, 0),
        (0, "EURUSD", "open", 2, 0),
        (1, "EURUSD", "close", 2, 0),
        (1, "EURUSD", "open", 1, 0),
        (4, "BTCUSD", "close", 2, 2),
        (2, "EURUSD", "close", 1, 0),
        (2, "EURUSD", "open", 3, 0),
        (-1, "EURUSD", "close", 3, 0),
    ]
    eq = res.equity.select(pl.col("ts").dt.epoch("ns") - BASE_TS, "unrealized_minor")
    assert (20, 2) in [tuple(r) for r in eq.iter_rows()]


def test_fixed_scenario_matches_oracle() -> None:
    check_against_oracle(_fixed_scenario())


def _frames(res: bt.Result) -> dict:
    summary = {k: v for k, v in res.summary.items() if k not in RUN_DEPENDENT}
    return {"summary": summary, **{k: getattr(res, k) for k in ("orders", "fills", "positions", "equity")}}


def check_chunking(sc: Scenario, **run) -> None:
    sc = kernel_order(sc)
    base = None
    for chunk_rows in (1, 3, 1_000_000):
        for buffer_rows in (16, 65536):
            got = _frames(run_kernel(sc, chunk_rows=chunk_rows, buffer_rows=buffer_rows, **run))
            if base is None:
                base = got
                continue
            assert got["summary"] == base["summary"], (chunk_rows, buffer_rows)
            for k in ("orders", "fills", "positions", "equity"):
                assert got[k].equals(base[k]), (k, chunk_rows, buffer_rows, got[k], base[k])


@settings(max_examples=100, **_SETTINGS)
@given(
    accounts(max_ticks=120, max_orders=30),
    st.sampled_from(["trades", "ticks"]),
    st.sampled_from(["1m", "1ns", "3ns", "100ns"]),
)
def test_chunking_changes_nothing(sc: Scenario, level: str, interval: str) -> None:
    check_chunking(sc, log_level=level, equity_interval=interval)


@pytest.mark.parametrize("level", ["trades", "ticks"])
def test_chunking_fixed_scenario(level: str) -> None:
    check_chunking(_fixed_scenario(), log_level=level, equity_interval="1m")


@pytest.mark.parametrize("level", ["trades", "ticks"])
def test_parquet_outputs_are_byte_identical(tmp_path, level: str) -> None:
    sc = kernel_order(_fixed_scenario())
    for name in ("a", "b"):
        run_kernel(sc, out=tmp_path / name, log_level=level, buffer_rows=16, chunk_rows=5)
    mem = run_kernel(sc, log_level=level, buffer_rows=16, chunk_rows=5)
    for name in ("orders", "fills", "positions", "equity"):
        a, b = (tmp_path / d / f"{name}.parquet" for d in ("a", "b"))
        assert a.read_bytes() == b.read_bytes(), name
        frame = pl.read_parquet(a)
        assert frame.height > 16 or name == "equity", name
        assert frame.equals(getattr(mem, name)), name


def _fixed_scenario() -> Scenario:
    """A fixed two-symbol scenario with reversals, a rejection and end-of-data closes."""
    rng = random.Random(20240101)
    symbols = ["BTCUSD", "EURUSD"]
    instruments = {
        s: OInstrument(
            s,
            SPECS[s].tick_size,
            SPECS[s].lot_step,
            SPECS[s].contract_size,
            Decimal(1),
            SPECS[s].min_qty * (5 if s == "EURUSD" else 1),
        )
        for s in symbols
    }
    bid = {s: SPECS[s].level_ticks for s in symbols}
    ticks = []
    ts = BASE_TS
    for _ in range(400):
        ts += rng.choice([1, 2, 1000, 60_000_000_000])
        for s in symbols:
            if rng.random() < 0.7:
                sp = SPECS[s]
                bid[s] += rng.randint(-sp.max_move, sp.max_move)
                ask = bid[s] + rng.randint(0, sp.max_spread)
                ticks.append((ts, s, bid[s] * sp.tick_size, ask * sp.tick_size))
    orders = []
    for _ in range(150):
        s = rng.choice(symbols)
        sp = SPECS[s]
        t = rng.choice(ticks)[0] + rng.choice([-1, 0, 1])
        q = Decimal(rng.randint(1, sp.max_steps // 5)) * sp.lot_step
        if rng.random() < 0.7:
            orders.append(
                {
                    "ts": t,
                    "symbol": s,
                    "type": "market",
                    "side": rng.choice(["buy", "sell"]),
                    "qty": q,
                    "target": None,
                }
            )
        else:
            orders.append(
                {
                    "ts": t,
                    "symbol": s,
                    "type": "target",
                    "side": None,
                    "qty": None,
                    "target": q * rng.choice([-1, 0, 1]),
                }
            )
    orders.sort(key=lambda o: o["ts"])
    return Scenario(
        symbols=symbols,
        instruments=instruments,
        ticks=ticks,
        orders=orders,
        commission=OCommission(Decimal("0.00002"), Decimal("3.5"), Decimal("0.5"), Decimal("1")),
        initial_cash=Decimal("100000.00"),
        close_at_end=True,
    )
