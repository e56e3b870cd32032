"""The stand-in backend the client talks to (tests/fixtures/gov_backend.py)."""
from tests.fixtures.gov_backend import backend, http, make_backend, sqlite_backend  # noqa: F401 (fixtures)
