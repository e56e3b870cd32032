"""The guard's counters and codes in the durable store: a restart (a new store on the same
database) neither forgets a lock nor hands out fresh tries."""
from __future__ import annotations

import actions.status as status_action
from bot import kv
from bot.db import engine_for
from bot.kv import SQLStore
from bot.status.guard import Guard, Limits, Target


async def test_locks_and_codes_survive_a_restart_without_redis(database_url):
    limits = Limits(failures_per_user=3)
    before = Guard(SQLStore(engine_for(database_url)), limits)
    for _ in range(3):
        await before.record_failure("rest:attacker", number="SH20261105000123")
    target = Target("P" + "0" * 24, "138****0004", "SH20261105000123")
    await before.issue("rest:owner", target)
    assert await before.locked("rest:attacker")

    after = Guard(SQLStore(engine_for(database_url)), limits)  # the process restarted
    assert await after.locked("rest:attacker")
    assert await after.target("rest:owner") == target
    assert await after.may_send("rest:owner") == "wait"  # the resend gap is kept too


def test_the_action_servers_guard_uses_the_durable_store(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("BOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setattr(kv, "_durable", None)
    monkeypatch.setattr(status_action, "_dialogue", None)
    guard = status_action.dialogue().guard
    assert isinstance(guard.store, SQLStore)
    assert str(guard.store.engine.url) == f"sqlite:///{tmp_path / 'bot.db'}"
