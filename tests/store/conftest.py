"""Store fixtures for the tests in this package (see ``fixtures.py``)."""

from .fixtures import *  # noqa: F403
