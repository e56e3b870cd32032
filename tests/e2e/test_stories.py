"""Test stories (tests/stories/) run by `rasa test core` against the running action server."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_stories_pass(stack, tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        yaml.safe_dump({"action_endpoint": {"url": stack["ACTION_PORT"] + "/webhook"}})
    )
    out = tmp_path / "core"
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "rasa"), "test", "core",
            "--model", str(ROOT / "models" / "govbot.tar.gz"),
            "--stories", str(ROOT / "tests" / "stories"),
            "--endpoints", str(endpoints),
            "--out", str(out),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failed = out / "failed_test_stories.yml"
    text = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert "story:" not in text, text[:3000]
