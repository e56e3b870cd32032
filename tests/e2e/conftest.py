"""What the browser tests share: Debian's chromium through Playwright (this machine cannot
download Playwright's own browsers; `make browser` installs it), one per test module."""
from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser(request):
    """A headless chromium for the module's tests; the module's ARTIFACTS folder (its
    screenshots and accessibility reports) is made first."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    artifacts = getattr(request.module, "ARTIFACTS", None)
    if artifacts is not None:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
