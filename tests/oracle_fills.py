"""Plain-Python reference model of a fills replay (docs/fills.md), in ``decimal.Decimal``.

It extends the netting ledger of ``tests/oracle.py`` (``_Model``: positions,
realized P&L, the ledger, marking) with the replayed fill, written from the
rule book and not from the kernel:

* A replayed fill is booked on the first tick **of its own symbol** with
  ``ts >= `` the fill's ``ts`` (at ``ts``, not strictly after), before that
  tick's marking; fills of one tick in ``(ts, row)`` order.
* Its price is its own (already on the tick grid); its commission is its own
  fee, rounded once to whole minor units, ties to even, from the fee as
  written (a decimal text).
* Netting: a same-side fill increases the symbol's position, an opposite one
  reduces, closes or reverses it; on a reversal the fee is split as a
  simulated fill's commission is: the close part ``R(fee × q_close / qty)`` in
  minor units, the open part the rest.
* A fill stamped before the first tick of the run, or with no tick of its
  symbol at or after it, is refused (``ValueError`` here).
* A replay makes no fills of its own: nothing is closed at the end.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from tests.oracle import _CTX, _ZERO, OracleResult, _Model, _norm_side, _ratio_round, _whole


class _Replay(_Model):
    def fee(self, text: str) -> Decimal:
        """The one rounding of a fee: to whole minor units, ties to even."""
        return Decimal(text).quantize(self.minor, rounding=ROUND_HALF_EVEN)

    def replay(self, fid: int, sym: str, side: int, qty: Decimal, price: Decimal, comm: Decimal, ts: int) -> None:
        inst = self.inst[sym]
        pos = self.open_pos[sym]
        if pos is None:
            pos = self.open_position(sym, side, ts, fid)
            self.add_to(pos, qty, price)
            self.emit(fid, pos, ts, side, "open", qty, price, comm, _ZERO)
        elif pos.side == side:
            self.add_to(pos, qty, price)
            self.emit(fid, pos, ts, side, "increase", qty, price, comm, _ZERO)
        elif qty < pos.qty:
            pnl = self.take_from(pos, qty, price)
            self.emit(fid, pos, ts, side, "reduce", qty, price, comm, pnl)
        elif qty == pos.qty:
            pnl = self.take_from(pos, qty, price)
            self.emit(fid, pos, ts, side, "close", qty, price, comm, pnl)
            self.finish_position(pos, ts, "signal")
        else:
            q_close, q_open = pos.qty, qty - pos.qty
            close_minor = _ratio_round(self.to_minor(comm), _whole(q_close, inst.lot_step, "qty"),
                                       _whole(qty, inst.lot_step, "qty"))
            c_close = Decimal(close_minor) * self.minor
            pnl = self.take_from(pos, q_close, price)
            self.emit(fid, pos, ts, side, "close", q_close, price, c_close, pnl)
            self.finish_position(pos, ts, "signal")
            new = self.open_position(sym, side, ts, fid, parent_id=pos.position_id)
            self.add_to(new, q_open, price)
            self.emit(fid, new, ts, side, "open", q_open, price, comm - c_close, _ZERO)


def replay(ticks: list[tuple[int, str, Decimal, Decimal]], fills: list[dict], instruments: dict,
           initial_cash: Decimal, minor_digits: int = 2) -> OracleResult:
    """Replay ``fills`` (dicts: ``ts``, ``symbol``, ``side``, ``qty`` lots, ``price``, ``fee`` as
    decimal text; the fill id is the list index) against ``ticks`` ``(ts_ns, symbol, bid, ask)``
    in stream order, netting, no commission model."""
    with localcontext(_CTX):
        md = _Replay(instruments, {}, initial_cash, minor_digits, False)
        if fills and ticks and min(f["ts"] for f in fills) < ticks[0][0]:
            raise ValueError("a fill before the first tick")
        todo = sorted(range(len(fills)), key=lambda i: (fills[i]["ts"], i))
        done = [False] * len(fills)
        for ts, sym, bid, ask in ticks:
            md.quote[sym] = (ts, Decimal(bid), Decimal(ask))
            for i in todo:
                f = fills[i]
                if done[i] or f["symbol"] != sym or f["ts"] > ts:
                    continue
                done[i] = True
                md.replay(i, sym, _norm_side(f["side"]), Decimal(f["qty"]), Decimal(f["price"]), md.fee(f["fee"]), ts)
            md.mark(ts)
        if not all(done):
            raise ValueError("a fill with no tick of its symbol at or after it")
        res = OracleResult()
        res.fills = md.fills
        res.final_cash_minor = md.to_minor(md.cash)
        res.final_equity_minor = md.to_minor(md.equity())
        res.max_drawdown_minor = md.to_minor(md.max_dd)
        res.realized_minor = md.to_minor(md.realized_total)
        res.commission_minor = md.to_minor(md.commission_total)
        res.equity = md.equity_log
        for p in sorted(md.positions, key=lambda p: p.position_id):
            inst = instruments[p.symbol]
            res.positions.append({
                "position_id": p.position_id, "parent_id": p.parent_id, "side": p.side, "is_open": p.is_open,
                "qty_steps": _whole(p.qty, inst.lot_step, "qty"),
                "realized_pnl_minor": md.to_minor(p.realized), "commission_minor": md.to_minor(p.commission),
            })
        return res
