"""backtestr: a vectorised, columnar tick backtester."""

__version__ = "0.1.0"

from .analytics import StatsSettings, plot, stats, write_report  # noqa: E402
from .bars import bars  # noqa: E402
from .config import Config, load_config  # noqa: E402
from .errors import BacktestrError, ConfigError, DataError, OrdersError  # noqa: E402
from .run import Result, run  # noqa: E402
from .sweep import sweep as sweep  # noqa: E402

__all__ = ["BacktestrError", "Config", "ConfigError", "DataError", "OrdersError", "Result",
           "bars", "load_config", "run", "__version__"]
__all__ += ["StatsSettings", "plot", "stats", "write_report"]
