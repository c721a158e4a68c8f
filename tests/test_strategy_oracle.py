"""A strategy's orders, replayed as an orders table, against the Decimal engine oracle.

tests/test_strategy.py shows the strategy and the replay of its orders give the
same results; here the replay is checked fill by fill, order by order and
position by position against tests/oracle_engine.py (docs/execution.md written
out in Decimal), so the strategy's results are checked by the oracle too.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

import backtestr as bt
from tests.oracle import OCommission
from tests.oracle_engine import EConfig, EInstrument
from tests.scenarios import EngineScenario
from tests.strategy_kit import ticks_frame
from tests.test_oracle_engine import check_engine
from tests.test_strategy import Busy

TICK, STEP = Decimal("0.00001"), Decimal("0.01")


class Busy10s(Busy):
    timeframes = ("10s",)


def _dec(x: float | None, unit: Decimal) -> Decimal | None:
    return None if x is None else Decimal(round(x / float(unit))) * unit


def test_strategy_orders_agree_with_the_engine_oracle():
    df = ticks_frame(400, seed=21, gap_ms=1500)
    inst = {s: EInstrument(s, TICK, STEP, Decimal("100000"), min_qty=STEP) for s in ("EURUSD", "GBPUSD")}
    ticks = [(int(t), s, _dec(b, TICK), _dec(a, TICK))
             for t, s, b, a in zip(df["ts"].cast(pl.Int64), df["symbol"], df["bid"], df["ask"], strict=True)]
    sc = EngineScenario(inst, ticks, [], [], OCommission(), EConfig(), ids_given=True)
    res = bt.run(df, strategy=Busy10s, config=sc.config_dict())
    table = res.strategy_orders
    orders = []
    for r in table.iter_rows(named=True):
        o = {k: v for k, v in r.items() if v is not None}
        o["ts"] = int(table["ts"].cast(pl.Int64)[len(orders)])
        for k in ("qty",):
            if k in o:
                o[k] = _dec(o[k], STEP)
        for k in ("price", "stop", "sl", "tp", "trail"):
            if k in o:
                o[k] = _dec(o[k], TICK)
        orders.append(o)
    assert len(orders) > 20
    assert {"new", "modify", "cancel", "close"} <= {o["action"] for o in orders}
    sc.orders = orders
    ores = check_engine(sc, chunkings=((1_000_000, 65_536),))
    got = res.fills.select("ts", "price_ticks", "qty_steps").rows()
    assert len(got) == len(ores.fills) > 5
    assert res.summary["final_equity"] == bt.run(df, orders=table, config=sc.config_dict()).summary["final_equity"]
