"""The status dialogue's fixtures (tests/fixtures/status.py)."""
from tests.fixtures.status import backend, make_dialogue  # noqa: F401 (fixtures)
