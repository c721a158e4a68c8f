"""Event-driven strategies compiled with numba, or plain Python (docs/strategies.md)."""

from .base import Strategy
from .driver import StrategyError, StrategyRun, load_class, prepare
from .python import PyStrategy

__all__ = ["PyStrategy", "Strategy", "StrategyError", "StrategyRun", "load_class", "prepare"]
