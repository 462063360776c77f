"""The client side of live runs: settings, scenarios, and the capture of one exchange.

Never imports the reference endpoint (the server side): the two meet only over a socket.
"""

from .capture import Limits, capture
from .config import DEFAULT_KEY_ENV, Settings, load_settings
from .scenarios import SCENARIOS, Scenario

__all__ = ["DEFAULT_KEY_ENV", "SCENARIOS", "Limits", "Scenario", "Settings", "capture", "load_settings"]
