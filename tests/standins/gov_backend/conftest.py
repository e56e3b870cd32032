"""The stand-in backend on a free port (tests/fixtures/gov_backend.py)."""
from tests.fixtures.gov_backend import backend, http, make_backend, sqlite_backend  # noqa: F401 (fixtures)
