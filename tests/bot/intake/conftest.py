"""The intake's fixtures: the catalog's matters, the industries, a documents store (tests/fixtures/intake.py)."""
from tests.fixtures.intake import industries, matters, store  # noqa: F401 (fixtures)
