"""Statistics, plots and reports computed from a run's logs."""
