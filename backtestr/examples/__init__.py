"""Example strategies (docs/strategies.md)."""
