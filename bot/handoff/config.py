"""Handoff settings from the process's settings (bot/settings.py), with development
defaults for `make run`.

The two credentials go through `bot.settings.secret`: in production they must be set
(and not the development values) or the process refuses to start; on a development
machine the values below are used, and only while everything listens on loopback.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot import settings

#: Development default only; production sets HANDOFF_SERVICE_TOKEN in every process.
DEV_SERVICE_TOKEN = "dev-handoff-token-change-me"
#: Development default of Rasa's API credential (defined with the Rasa-side check).
DEV_RASA_API_TOKEN = settings.DEV_RASA_API_TOKEN


def service_token() -> str:
    """The token the action server shows the desk's /desk/internal/ endpoints."""
    return settings.secret("HANDOFF_SERVICE_TOKEN", DEV_SERVICE_TOKEN)


def rasa_api_token() -> str:
    """The bearer token the desk shows Rasa's HTTP API (rasa_ext/api_guard.py checks it)."""
    return settings.rasa_api_token()


def desk_url() -> str:
    return settings.load().desk_url


def tracker_database_url() -> str:
    """The tracker store's database, chosen as rasa_ext/endpoints.py chooses it for Rasa."""
    url = settings.load().tracker_database_url or ""
    if url.startswith(("postgres://", "postgresql")):
        return url
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.VAR_DIR / 'tracker.db'}"


@dataclass(frozen=True)
class HandoffConfig:
    desk_url: str
    rasa_url: str
    service_token: str
    #: Sent as `Authorization: Bearer …` with every call to Rasa's HTTP API.
    rasa_token: str
    #: Seconds a citizen waits in the queue, with nobody online to take it, before being
    #: offered to leave a message (a work order) instead.
    accept_timeout: float
    #: Minutes one waiting citizen adds to the expected wait, per online agent.
    minutes_per_citizen: float
    #: An agent's desk sends a heartbeat every few seconds; silent this long = offline.
    presence_ttl: float
    database_url: str
    tracker_database_url: str
    #: Seconds between the web app's captures of failed turns for review (0: none).
    review_capture_seconds: float = 5.0
    #: With agents online, the longest wait before a message is offered instead.
    max_wait: float = 1800.0
    #: When people answer (HANDOFF_OFFICE_HOURS), said in every "later" message.
    office_hours: str = "工作日 9:00–17:00"
    #: Seconds a citizen should wait at most before an agent accepts (HANDOFF_ACCEPT_SLA):
    #: the supervisor's wallboard marks longer waits.
    accept_sla: float = 60.0


def load() -> HandoffConfig:
    cfg = settings.load()
    return HandoffConfig(
        desk_url=cfg.desk_url,
        rasa_url=cfg.rasa_url,
        service_token=service_token(),
        rasa_token=rasa_api_token(),
        accept_timeout=cfg.handoff_accept_timeout,
        minutes_per_citizen=cfg.handoff_minutes_per_citizen,
        presence_ttl=cfg.handoff_presence_ttl,
        database_url=cfg.database_url,
        tracker_database_url=tracker_database_url(),
        review_capture_seconds=cfg.review_capture_seconds,
        max_wait=cfg.handoff_max_wait,
        office_hours=cfg.handoff_office_hours,
        accept_sla=cfg.handoff_accept_sla,
    )


def office_hours() -> str:
    """When people answer, for the action server's messages (HANDOFF_OFFICE_HOURS)."""
    return settings.load().handoff_office_hours
