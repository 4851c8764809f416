"""A local stand-in for Jibble's HTTP API, for the tests, the benchmarks and the demo.

Standard library only, so it runs anywhere Python does, inside a test or from the
command line (`python3 -m simulator`).
"""

from .dataset import generate_dataset
from .server import JibbleSimulator
from .shapes import iso_duration, iso_utc, parse_datetime
from .timesheets import tracked_seconds
from .webhook import send_event, sign_body

__all__ = [
    "JibbleSimulator",
    "generate_dataset",
    "iso_duration",
    "iso_utc",
    "parse_datetime",
    "send_event",
    "sign_body",
    "tracked_seconds",
]
