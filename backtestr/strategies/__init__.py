"""Event-driven strategies compiled with numba (docs/strategies.md)."""

from .base import Strategy
from .driver import StrategyError, StrategyRun, load_class, prepare

__all__ = ["Strategy", "StrategyError", "StrategyRun", "load_class", "prepare"]
