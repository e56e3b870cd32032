"""Fake WeChat and Alipay platforms and their keys (tests/fixtures/platforms.py)."""
from tests.fixtures.platforms import alipay_keys, app_keys, harness  # noqa: F401 (fixtures)
