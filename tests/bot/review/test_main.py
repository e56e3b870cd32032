"""`make review` (python -m bot.review): catches up with the conversations itself and
prints the groups, without the web app and without any credential."""
from __future__ import annotations

import time

from bot.handoff import config as handoff_config
from bot.review.__main__ import main
from tests.bot.review.events import LISTEN, action, events_db, insert, stored, user


def test_review_captures_and_prints_the_largest_groups(tmp_path, monkeypatch, capsys):
    tracker = events_db(tmp_path / "tracker.db")
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("GOVBOT_ENV", "production")  # no development defaults needed
    monkeypatch.setattr(handoff_config, "tracker_database_url", lambda: tracker)
    asked = ["电瓶车上牌要带啥", "电动车上牌照要带什么", "电动自行车上牌要带啥材料"]
    conversations = {f"c{i}": [user(t, "nlu_fallback", confidence=0.4),
                               action("action_fallback"), LISTEN]
                     for i, t in enumerate(asked)}
    insert(tracker, stored(conversations, t0=time.time() - 3600))
    main(["--days", "7"])
    out = capsys.readouterr().out
    assert "3 messages waiting for review" in out and "3 newly captured" in out
    lines = out.splitlines()
    assert "1 groups" in lines[0]
    assert lines[3].split()[:2] == ["3", "相似问法"]  # one group of three, largest first
    assert sorted(line.strip(" ·") for line in lines[4:7]) == sorted(asked)
