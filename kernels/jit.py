"""``njit`` for kernel functions that only other kernel functions call.

Two compile-time savings over ``numba.njit`` (docs/architecture.md §7):

- No Python-callable wrapper (``no_cpython_wrapper``, ``no_cfunc_wrapper``):
  the wrapper that unboxes a ``Book`` from Python objects is code that a
  function called only from compiled code never runs, yet numba generates,
  optimises and compiles it for every function.
- One compilation per function: numba types a call between compiled
  functions on the exact argument types, so a constant argument
  (``Literal[int](5)``) or an ``int8`` field where another call site passes an
  ``int64`` compiles the callee once more. Calls here are typed on plain
  types: literals lose their value and signed integers narrower than 64 bits
  widen to ``int64`` (numba computes with ``int64`` anyway), as does a Python
  ``IntEnum`` member passed in from Python. A callee that
  only compiles with a literal argument still gets one.

Functions called from Python (the entry points in engine.py and ingest.py,
and those the tests call) use ``numba.njit``.
"""

from numba import njit as _numba_njit
from numba.core import errors, types


def _plain(t: types.Type) -> types.Type:
    t = types.unliteral(t)
    if isinstance(t, types.IntEnumMember):  # a Python IntEnum passed in (close_all's reason)
        t = t.dtype
    if isinstance(t, types.Integer) and t.signed and t.bitwidth < 64:
        return types.int64
    return t


def _typed_on_plain_types(disp):
    literal = disp.get_call_template

    def get_call_template(args, kws):
        plain = tuple(_plain(a) for a in args)
        plain_kws = {k: _plain(v) for k, v in kws.items()}
        if plain != tuple(args) or plain_kws != kws:
            try:
                return literal(plain, plain_kws)
            except errors.TypingError:
                pass  # the callee needs the literal value
        return literal(args, kws)

    disp.get_call_template = get_call_template
    return disp


def njit(**options):
    """``numba.njit(**options)`` for a function only compiled code calls."""
    options.setdefault("no_cpython_wrapper", True)
    options.setdefault("no_cfunc_wrapper", True)
    inner = _numba_njit(**options)
    return lambda fn: _typed_on_plain_types(inner(fn))
