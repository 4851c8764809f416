"""A local stand-in for Jibble's HTTP API, for the tests, the benchmarks and the demo.

Standard library only, so it runs anywhere Python does, inside a test or from the
command line (`python3 -m simulator`).
"""

from .dataset import generate_dataset
from .server import JibbleSimulator
from .webhook import send_event, sign_body

__all__ = ["JibbleSimulator", "generate_dataset", "send_event", "sign_body"]
