"""Signed widget session tokens (connectors/widget/session.py)."""
from __future__ import annotations

import uuid

from bot.kv import MemoryStore
from connectors.widget.channel import origin_allowed
from connectors.widget.session import SessionTokens, session_of


def tokens(clock=lambda: 1_000_000.0, secret="s" * 32, store=None):
    return SessionTokens(secret, store or MemoryStore(), ttl=3600, clock=clock)


async def test_a_token_proves_its_session_and_an_id_alone_proves_nothing():
    t = tokens()
    token = await t.issue()
    sid = session_of(token)
    assert await t.verify(token) == sid
    assert await t.verify(sid) is None  # the id agents and logs see claims nothing
    assert await t.verify(uuid.uuid4().hex) is None


async def test_forged_and_foreign_tokens_are_refused():
    t = tokens()
    token = await t.issue()
    sid, generation, expires, mac = token.split(".")
    other = uuid.uuid4().hex
    assert await t.verify(f"{other}.{generation}.{expires}.{mac}") is None
    assert await t.verify(f"{sid}.{generation}.{int(expires) + 9999}.{mac}") is None
    assert await tokens(secret="x" * 32).verify(token) is None
    for junk in (None, 7, "", "a.b.c.d", token + "0", token * 3):
        assert await t.verify(junk) is None


async def test_tokens_expire():
    now = [1_000_000.0]
    t = tokens(clock=lambda: now[0])
    token = await t.issue()
    now[0] += 3601
    assert await t.verify(token) is None


async def test_rotation_voids_every_earlier_token_of_the_session():
    store = MemoryStore()
    t = tokens(store=store)
    first = await t.issue()
    sid = session_of(first)
    second = await t.issue(sid)
    fresh = await t.rotate(sid)
    assert await t.verify(first) is None and await t.verify(second) is None
    assert await t.verify(fresh) == sid
    assert await t.verify(await t.issue(sid)) == sid  # new tokens carry the new generation


def test_browsers_connect_only_from_portal_origins():
    allowed = ["https://portal.example.gov.cn"]
    assert origin_allowed("https://portal.example.gov.cn", allowed)
    assert not origin_allowed("https://evil.example", allowed)
    assert origin_allowed(None, allowed)  # not a browser page
    assert origin_allowed("https://any.example", ["*"])
