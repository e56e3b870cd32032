"""The house's rooms: the domain (bot/) and the web app (web/) run without Rasa (and
without the stand-in backend, which plays a system the city runs), so that
a change to one is never a change to the other and the web app starts without loading
TensorFlow. Code that runs inside `rasa run` lives in rasa_ext/ (docs/architecture.md)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IMPORT_ALL = """
import importlib, pkgutil, sys
for package in {packages!r}:
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("rasa", "rasa_sdk", "rasa_ext", "standins"))
print("\\n".join(loaded))
"""


def modules_loaded_by(*packages: str) -> list:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL.format(packages=list(packages))],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if line]


def test_the_domain_and_the_web_app_import_no_rasa_and_no_stand_in():
    assert modules_loaded_by("bot", "web") == []


def test_nothing_outside_the_tests_imports_the_tests():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "web", "rasa_ext", "actions", "connectors", "standins", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if "from tests" in path.read_text(encoding="utf-8")
        or "import tests" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
