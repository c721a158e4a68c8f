"""Constraints between parameters (docs/sweeps.md §2).

A constraint is either a callable ``f(params: dict) -> bool`` or an expression
such as ``"fast < slow"`` or ``"execution.model != 'perfect' or commission.per_lot > 0"``.
An expression is never passed to ``eval``: it is parsed with Python's ``ast``
and only a small grammar is accepted (names, dotted config keys, numbers,
text, ``True``/``False``/``None``, arithmetic ``+ - * / // % **``, comparisons
including chained ones and ``in``/``not in`` a literal list, ``and``, ``or``,
``not``), which is translated into a Polars expression evaluated over the sets
frame. A set is kept when every constraint is true for it; a comparison with a
missing (null) value is false.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from ..errors import ConfigError

Constraint = str | Callable[[Mapping[str, Any]], bool]

_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}


class _Translate:
    def __init__(self, text: str, columns: Sequence[str]) -> None:
        self.text, self.columns = text, set(columns)

    def fail(self, what: str) -> ConfigError:
        return ConfigError(f"constraint {self.text!r}: {what}")

    def name(self, node: ast.AST) -> str | None:
        """``a`` or ``a.b.c`` as text; None when ``node`` is not a plain (dotted) name."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(node.id)
        return ".".join(reversed(parts))

    def expr(self, node: ast.AST) -> pl.Expr:
        if isinstance(node, ast.Name | ast.Attribute):
            name = self.name(node)
            if name is None:
                raise self.fail(f"unsupported expression {ast.unparse(node)!r}")
            if name not in self.columns:
                raise self.fail(f"unknown name {name!r} (the sets have: {', '.join(sorted(self.columns - {'set_id'}))})")
            return pl.col(name)
        if isinstance(node, ast.Constant):
            if node.value is not None and not isinstance(node.value, bool | int | float | str):
                raise self.fail(f"unsupported constant {node.value!r}")
            return pl.lit(node.value)
        if isinstance(node, ast.BoolOp):
            parts = [self.expr(v) for v in node.values]
            out = parts[0]
            for p in parts[1:]:
                out = (out & p) if isinstance(node.op, ast.And) else (out | p)
            return out
        if isinstance(node, ast.UnaryOp):
            inner = self.expr(node.operand)
            if isinstance(node.op, ast.Not):
                return ~inner
            if isinstance(node.op, ast.USub):
                return -inner
            if isinstance(node.op, ast.UAdd):
                return inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return _BIN[type(node.op)](self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.Compare):
            return self.compare(node)
        raise self.fail(f"unsupported expression {ast.unparse(node)!r} (allowed: names, numbers, text, "
                        "+ - * / // % **, comparisons, in [...], and, or, not)")

    def compare(self, node: ast.Compare) -> pl.Expr:
        out: pl.Expr | None = None
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.List | ast.Tuple | ast.Set):
                    raise self.fail("'in' needs a literal list such as ['a', 'b']")
                values = []
                for el in right.elts:
                    if not isinstance(el, ast.Constant):
                        raise self.fail("the list after 'in' must hold constants only")
                    values.append(el.value)
                term = self.expr(left).is_in(pl.lit(pl.Series(values, strict=False)).implode())
                if isinstance(op, ast.NotIn):
                    term = ~term
            elif type(op) in _CMP:
                term = _CMP[type(op)](self.expr(left), self.expr(right))
            else:
                raise self.fail(f"unsupported comparison {type(op).__name__}")
            out = term if out is None else (out & term)
            left = right
        assert out is not None
        return out


def parse_constraint(text: str, columns: Sequence[str]) -> pl.Expr:
    """The Polars expression of a constraint's text over the given columns."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"constraint {text!r}: not a valid expression ({exc.msg})") from None
    return _Translate(text, columns).expr(tree.body)


def apply_constraints(frame: pl.DataFrame, sets: Sequence[tuple[int, Mapping[str, Any]]],
                      constraints: Sequence[Constraint]) -> list[bool]:
    """For each set (in order), whether every constraint keeps it."""
    keep = [True] * len(sets)
    for c in constraints:
        if isinstance(c, str):
            expr = parse_constraint(c, [col for col in frame.columns])
            try:
                col = frame.select(expr.fill_null(False).alias("keep")).to_series()
            except pl.exceptions.PolarsError as exc:
                raise ConfigError(f"constraint {c!r}: cannot be evaluated over the sets: {exc}") from None
            if col.dtype != pl.Boolean:
                raise ConfigError(f"constraint {c!r}: is not true or false (a {col.dtype} value)")
            values = col.to_list()
        elif callable(c):
            values = []
            for sid, s in sets:
                try:
                    v = c(dict(s))
                except Exception as exc:
                    raise ConfigError(f"constraint {_label(c)} failed on set {sid} {dict(s)}: {exc}") from exc
                values.append(bool(v))
        else:
            raise ConfigError(f"constraint {c!r}: expected a text expression or a callable(params) -> bool")
        keep = [k and bool(v) for k, v in zip(keep, values, strict=True)]
    return keep


def _label(c: Callable[..., Any]) -> str:
    return getattr(c, "__name__", repr(c))
