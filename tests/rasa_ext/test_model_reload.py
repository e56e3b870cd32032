"""`PUT /model` builds the new model in a worker thread (rasa_ext/patches/model_reload.py):
the event loop keeps running turns meanwhile. The model load is faked (a blocking wait)."""
from __future__ import annotations

import asyncio
import threading

import pytest
import rasa.server
from rasa.core.agent import Agent

from rasa_ext.patches import model_reload


@pytest.fixture
def patched(monkeypatch):
    monkeypatch.setattr(rasa.server, "_load_agent", rasa.server._load_agent)
    model_reload.apply()
    model_reload.apply()  # twice is once
    assert getattr(rasa.server._load_agent, "_in_a_thread", False)
    return rasa.server._load_agent


async def test_the_model_loads_in_a_thread_while_the_loop_runs(patched, monkeypatch, tmp_path):
    model = tmp_path / "govbot.tar.gz"
    model.write_bytes(b"not read by the fake")
    loading, release = threading.Event(), threading.Event()
    seen = {}

    def slow_load_model(self, model_path, fingerprint=None):
        seen["thread"], seen["path"] = threading.current_thread(), model_path
        loading.set()
        assert release.wait(30)  # blocks this thread only
        self.processor = object()

    monkeypatch.setattr(Agent, "load_model", slow_load_model)
    load = asyncio.create_task(patched(model_path=str(model)))
    while not loading.is_set():
        await asyncio.sleep(0.01)
    ticks = 0
    for _ in range(5):  # the loop answers while the model is loading
        await asyncio.sleep(0)
        ticks += 1
    assert not load.done()
    release.set()
    agent = await load
    assert ticks == 5 and agent.is_ready()
    assert seen["thread"] is not threading.main_thread() and seen["path"] == str(model)


async def test_a_failed_load_is_rasas_loading_error(patched, monkeypatch, tmp_path):
    model = tmp_path / "broken.tar.gz"
    model.write_bytes(b"")

    def broken(self, model_path, fingerprint=None):
        raise ValueError("not a model")

    monkeypatch.setattr(Agent, "load_model", broken)
    with pytest.raises(rasa.server.ErrorResponse) as error:
        await patched(model_path=str(model))
    assert error.value.status == 500 and "not a model" in error.value.error_info["message"]


async def test_a_path_that_is_no_file_keeps_rasas_answer(patched, tmp_path):
    with pytest.raises(rasa.server.ErrorResponse) as error:
        await patched(model_path=str(tmp_path / "missing.tar.gz"))
    assert error.value.status == 400
