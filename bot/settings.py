"""Settings read from the environment, with embedded defaults for `make run`.

Everything that differs between a laptop and production is an environment variable, so
one code base serves both; nothing secret has a default that works in production.

This module is the one place where an environment variable becomes a value: `Settings`
declares every variable of the bot, the Rasa extensions and the actions with its type
and default, and `load()` reads them once per process (the first call) and hands the
same object to everyone after. A variable set to blanks counts as unset, and a value
that is not of its type (a port that is no number) stops the process at the first
`load()`, not at the first citizen who needs it. Tests change the environment and then
`reset()` (tests/conftest.py does it after every `monkeypatch.setenv`), or build their
own `Settings(field=value, ...)`.

Production is the default: a process is in development only when `GOVBOT_ENV=development`
says so (`make run` and the tests set it). A deployment that forgets the variable
therefore gets the strict behaviour: every credential must be set, none may be a
development value, and development accounts are never created. Credentials are checked
when a process asks for one (`secret`), so a tool that needs none of them (the catalog
import) starts without them.
"""
from __future__ import annotations

import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from pydantic import BaseSettings, Field, PositiveFloat, SecretStr, root_validator, validator

ROOT = Path(__file__).resolve().parent.parent
#: Where SQLite files and other local state live (BOT_VAR_DIR). Read at import: it is
#: where this process keeps its files and does not change while it runs.
VAR_DIR = Path(os.environ.get("BOT_VAR_DIR", "").strip() or ROOT / "var")

logger = logging.getLogger(__name__)

#: Where internal services listen unless BIND_HOST opens them on a private network.
LOOPBACK = "127.0.0.1"
#: Shorter credentials are refused in production (a token is at least 128 random bits).
MIN_SECRET_CHARS = 24


class InsecureConfiguration(SystemExit):
    """A process refuses to start: a credential is missing or a development value."""


def _environment_values(settings: BaseSettings) -> Dict[str, str]:
    """Each field's value from the first of its variables that is set and not blank
    (stripped): `X=` in an env file, or `X=${X:-}` in a script, means "unset", so the
    next variable or the default applies, as the `os.environ.get(...) or ...` reads this
    replaces did."""
    values: Dict[str, str] = {}
    for field in settings.__fields__.values():
        for name in field.field_info.extra["env_names"]:
            value = os.environ.get(name, "").strip()
            if value:
                values[field.alias] = value
                break
    return values


def _local_url(port: int, path: str = "") -> str:
    return f"http://127.0.0.1:{port}{path}"


class Settings(BaseSettings):
    """Every environment variable of bot/, rasa_ext/, actions/ and web/, typed; one object
    per process (`load()`). Credentials are kept as `SecretStr`, so printing the settings
    shows no secret; `secret(NAME, dev_value)` checks and returns one."""

    # -- the deployment
    #: 'development' turns on development conveniences; anything else is production.
    govbot_env: str = Field("", env="GOVBOT_ENV")
    #: Where Rasa, actions, web app and backend listen (loopback unless a private network).
    bind_host: str = Field(LOOPBACK, env="BIND_HOST")
    #: Portal origins allowed to call Rasa and the web app from a browser (spaces or commas).
    cors_origins: Tuple[str, ...] = Field((), env="CORS_ORIGINS")

    # -- where the parts are
    rasa_port: int = Field(5005, env="RASA_PORT")
    action_port: int = Field(5055, env="ACTION_PORT")
    web_port: int = Field(8800, env="WEB_PORT")
    backend_port: int = Field(8700, env="BACKEND_PORT")
    #: Rasa's HTTP API as the desk reaches it (default: this machine's RASA_PORT).
    rasa_url: str = Field("", env="RASA_URL")
    #: The desk (web app) as the action server reaches it (default: this machine's WEB_PORT).
    desk_url: str = Field("", env="DESK_URL")
    #: The government backend (default: this machine's BACKEND_PORT).
    backend_url: str = Field("", env="BACKEND_URL")
    #: The action server as Rasa reaches it (default: this machine's ACTION_PORT).
    action_endpoint_url: str = Field("", env="ACTION_ENDPOINT_URL")
    #: The web app as citizens reach it, as set ('' when unset: bot/intake/store.py links
    #: to this machine's WEB_PORT; an https address makes the desk's cookie Secure).
    public_base_url: str = Field("", env="PUBLIC_BASE_URL")
    #: Where browsers reach Rasa's socket.io, as set (web/widget.py checks it).
    rasa_public_url: str = Field("", env="RASA_PUBLIC_URL")
    #: Proxies whose X-Forwarded-For the desk believes, as set (web/desk/auth.py parses it).
    trusted_proxies: str = Field("", env="TRUSTED_PROXIES")

    # -- storage
    #: The bot's database as configured; `database_url` adds the SQLite default.
    bot_database_url: Optional[str] = Field(None, env=["BOT_DATABASE_URL", "DATABASE_URL"])
    #: The conversations' database as configured (a PostgreSQL URL, else SQLite under
    #: var/: bot/handoff/config.py and rasa_ext/endpoints.py choose alike).
    tracker_database_url: Optional[str] = Field(
        None, env=["TRACKER_DATABASE_URL", "DATABASE_URL"])
    redis_url: Optional[str] = Field(None, env="REDIS_URL")
    #: RabbitMQ for Rasa's event stream (amqp://user:password@host:5672/%2F; a credential:
    #: `rabbitmq_url()` checks it). Unset: no stream, the desk counts from the tracker.
    rabbitmq_url: SecretStr = Field(SecretStr(""), env="RABBITMQ_URL")
    #: Where the stream's consumer (python -m bot.stats.consumer) serves health and metrics.
    stats_port: int = Field(8790, env="STATS_PORT")
    #: The stream's name on RabbitMQ: exchange `<name>.events`, queue `<name>.stats`; two
    #: deployments (or a test cluster) sharing one RabbitMQ use two names.
    event_stream: str = Field("govbot", env="EVENT_STREAM", regex=r"^[A-Za-z0-9_-]{1,64}$")
    catalog_dir: Path = Field(ROOT / "data" / "catalog", env="CATALOG_DIR")
    #: Where supervisors' labels go (bot/review/labels.py): training data the next
    #: `make retrain` reads. Several web apps must share it (a volume), like the models.
    reviewed_data_dir: Path = Field(ROOT / "data" / "nlu" / "reviewed", env="REVIEWED_DATA_DIR")
    #: The catalog aliases supervisors added, mirrored where the training reads them.
    reviewed_aliases_file: Path = Field(
        ROOT / "data" / "reference" / "reviewed_aliases.yml", env="REVIEWED_ALIASES_FILE")

    # -- credentials between the parts (checked when asked for: `secret`)
    rasa_api_token: SecretStr = Field(SecretStr(""), env="RASA_API_TOKEN")
    action_server_token: SecretStr = Field(SecretStr(""), env="ACTION_SERVER_TOKEN")
    handoff_service_token: SecretStr = Field(SecretStr(""), env="HANDOFF_SERVICE_TOKEN")
    backend_service_token: SecretStr = Field(SecretStr(""), env="BACKEND_SERVICE_TOKEN")
    #: The tokens the backend accepts (comma-separated); the client sends the first
    #: when BACKEND_SERVICE_TOKEN is unset.
    backend_service_tokens: Tuple[SecretStr, ...] = Field((), env="BACKEND_SERVICE_TOKENS")
    widget_session_secret: SecretStr = Field(SecretStr(""), env="WIDGET_SESSION_SECRET")
    seal_key: SecretStr = Field(SecretStr(""), env="SEAL_KEY")
    #: What a Prometheus scraper sends to every process's /metrics (bot/metrics.py).
    metrics_token: SecretStr = Field(SecretStr(""), env="METRICS_TOKEN")

    # -- limits and timeouts
    #: Seconds every call to the backend may take, a retry included.
    backend_timeout: float = Field(2.0, env="BACKEND_TIMEOUT")
    #: Bytes of a request body Rasa reads (1 MB: a pasted 100 KB complaint still arrives).
    rasa_max_body: int = Field(1024 * 1024, env="RASA_MAX_BODY")
    #: Bytes of a request body the action server reads (2 MB: the windowed tracker).
    action_max_body: int = Field(2 * 1024 * 1024, env="ACTION_MAX_BODY")
    #: Seconds Rasa waits for the action server before saying the system is busy.
    action_timeout: float = Field(8.0, env="ACTION_TIMEOUT")
    #: Hours a produced intake documents link works.
    intake_documents_ttl_hours: PositiveFloat = Field(24.0, env="INTAKE_DOCUMENTS_TTL_HOURS")

    # -- the handoff queue and desk
    handoff_accept_timeout: float = Field(180.0, env="HANDOFF_ACCEPT_TIMEOUT")
    handoff_minutes_per_citizen: float = Field(3.0, env="HANDOFF_MINUTES_PER_CITIZEN")
    handoff_presence_ttl: float = Field(30.0, env="HANDOFF_PRESENCE_TTL")
    #: Agents online: a citizen waits for them up to this long, then may leave a message.
    handoff_max_wait: float = Field(1800.0, env="HANDOFF_MAX_WAIT")
    #: When people answer, as said to citizens in every "later" message.
    handoff_office_hours: str = Field("工作日 9:00–17:00", env="HANDOFF_OFFICE_HOURS")
    #: The wallboard marks waits longer than this many seconds.
    handoff_accept_sla: float = Field(60.0, env="HANDOFF_ACCEPT_SLA", gt=0)
    #: DESK_DEV_ACCOUNTS=1 (and only "1") asks for the development desk accounts.
    desk_dev_accounts: bool = Field(False, env="DESK_DEV_ACCOUNTS")
    #: Seconds between two captures of failed turns for review (bot/review/capture.py) by
    #: the web app; 0 turns the capture off in this process.
    review_capture_seconds: float = Field(5.0, ge=0, env="REVIEW_CAPTURE_SECONDS")

    # -- the status check's limits (unset: the defaults of bot.status.guard.Limits)
    status_code_ttl: Optional[float] = Field(None, env="STATUS_CODE_TTL")
    status_code_attempts: Optional[int] = Field(None, env="STATUS_CODE_ATTEMPTS")
    status_failure_window: Optional[float] = Field(None, env="STATUS_FAILURE_WINDOW")
    status_failures_per_user: Optional[int] = Field(None, env="STATUS_FAILURES_PER_USER")
    status_failures_per_number: Optional[int] = Field(None, env="STATUS_FAILURES_PER_NUMBER")
    status_resend_gap: Optional[float] = Field(None, env="STATUS_RESEND_GAP")
    status_sends_per_window: Optional[int] = Field(None, env="STATUS_SENDS_PER_WINDOW")

    class Config:
        case_sensitive = True
        allow_mutation = False
        extra = "forbid"  # a misspelt field in `Settings(...)` is an error, not ignored

        @classmethod
        def customise_sources(cls, init_settings: Any, env_settings: Any,
                              file_secret_settings: Any) -> Tuple[Any, ...]:
            return init_settings, _environment_values

    @validator("cors_origins", "backend_service_tokens", pre=True)
    def _split_list(cls, value: Any) -> Any:  # noqa: N805 - pydantic validator
        """'a, b c' → ('a', 'b', 'c'): lists are written with commas or spaces."""
        if isinstance(value, str):
            return tuple(value.replace(",", " ").split())
        return value

    @validator("desk_dev_accounts", pre=True)
    def _only_one_means_yes(cls, value: Any) -> Any:  # noqa: N805 - pydantic validator
        return value.strip() == "1" if isinstance(value, str) else value

    @root_validator(skip_on_failure=True)
    def _addresses_on_this_machine(cls, values: Dict[str, Any]) -> Dict[str, Any]:  # noqa: N805
        """The parts' addresses default to this machine's ports (`make run`)."""
        values["rasa_url"] = (values["rasa_url"] or _local_url(values["rasa_port"])).rstrip("/")
        values["desk_url"] = (values["desk_url"] or _local_url(values["web_port"])).rstrip("/")
        values["backend_url"] = values["backend_url"] or _local_url(values["backend_port"])
        values["action_endpoint_url"] = (values["action_endpoint_url"]
                                         or _local_url(values["action_port"], "/webhook"))
        return values

    @property
    def environment(self) -> str:
        """'development' only when GOVBOT_ENV says exactly so; anything else is production."""
        return "development" if self.govbot_env == "development" else "production"

    @property
    def database_url(self) -> str:
        """The bot's database: BOT_DATABASE_URL, else DATABASE_URL, else SQLite under var/."""
        return self.bot_database_url or default_database_url()

    @property
    def reference_dir(self) -> Path:
        return ROOT / "data" / "reference"

    def credential(self, name: str) -> str:
        """The credential read from environment variable `name` ("" when unset), as
        configured: `secret` is what checks it."""
        for field in self.__fields__.values():
            if name in field.field_info.extra["env_names"] and field.outer_type_ is SecretStr:
                value = getattr(self, field.name)
                return value.get_secret_value() if isinstance(value, SecretStr) else ""
        raise KeyError(f"{name} is not a credential of bot.settings.Settings: declare it there")


_loaded: Optional[Settings] = None


def load() -> Settings:
    """The process's settings, read from the environment at the first call."""
    global _loaded
    if _loaded is None:
        _loaded = Settings()
    return _loaded


def reset() -> None:
    """Forgets the settings read, so the next `load()` reads the environment again (for
    tests that change it)."""
    global _loaded
    _loaded = None


def environment() -> str:
    """'development' only when GOVBOT_ENV says so; anything else is production."""
    return load().environment


def is_development() -> bool:
    return environment() == "development"


def bind_host() -> str:
    """The address internal services (Rasa, actions, web app, backend) listen on:
    loopback unless BIND_HOST names a private-network address (or 0.0.0.0 in a
    container whose network is private)."""
    return load().bind_host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cors_origins() -> list[str]:
    """The portal origins whose pages may talk to Rasa and the web app from a browser
    (CORS_ORIGINS, separated by spaces or commas; "*" is refused in production). In
    development the web app's own origin (the demo portal page) is the default."""
    cfg = load()
    configured = list(cfg.cors_origins)
    if not is_development() and "*" in configured:
        raise InsecureConfiguration("CORS_ORIGINS must name the portal origins, not '*'")
    if configured:
        return configured
    if is_development():
        return [f"http://127.0.0.1:{cfg.web_port}", f"http://localhost:{cfg.web_port}"]
    return []


_warned: set = set()


def public_base_url() -> str:
    """Where citizens reach the web app, for the links in the bot's messages (intake
    documents, guide pages), without a trailing slash.

    Production: PUBLIC_BASE_URL must be an http(s) address, or the process refuses to
    start: a link to this machine's loopback address in a citizen's chat leads nowhere.
    Development: unset means this machine's web port."""
    cfg = load()
    value = (cfg.public_base_url or "").strip().rstrip("/")
    if value:
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InsecureConfiguration(
                f"PUBLIC_BASE_URL must be an http(s) address such as https://zwfw.example.gov.cn, "
                f"not {value[:80]!r}")
        return value
    if not is_development():
        raise InsecureConfiguration("PUBLIC_BASE_URL must be set in production (GOVBOT_ENV is "
                                    "not 'development'): the bot's links point there")
    return f"http://127.0.0.1:{cfg.web_port}"


def secret(name: str, dev_value: str) -> str:
    """The credential in environment variable `name` (a `SecretStr` field of `Settings`).

    Production: it must be set, at least MIN_SECRET_CHARS long and not the development
    value, or the process refuses to start. Development: unset means `dev_value`, but
    only while the services listen on loopback (a development secret is never served
    on a network), with a warning once per process."""
    value = load().credential(name)
    if not is_development():
        if not value:
            raise InsecureConfiguration(f"{name} must be set in production (GOVBOT_ENV is "
                                        f"not 'development')")
        if value == dev_value or len(value) < MIN_SECRET_CHARS:
            raise InsecureConfiguration(f"{name} is a development value or shorter than "
                                        f"{MIN_SECRET_CHARS} characters: refused in production")
        return value
    if value:
        return value
    if not is_loopback(bind_host()):
        raise InsecureConfiguration(f"{name} is unset and BIND_HOST={bind_host()} is not "
                                    f"loopback: development secrets stay on this machine")
    if name not in _warned:
        _warned.add(name)
        logger.warning("%s is unset: using the development value (loopback only)", name)
    return dev_value


#: Credentials between our own processes, with the values `make run` may use on loopback.
DEV_RASA_API_TOKEN = "dev-rasa-api-token-loopback-only"
DEV_ACTION_SERVER_TOKEN = "dev-action-server-token-loopback-only"
DEV_METRICS_TOKEN = "dev-metrics-token-loopback-only"


def rasa_api_token() -> str:
    """What the desk and tools send to Rasa's HTTP API (rasa_ext/api_guard.py)."""
    return secret("RASA_API_TOKEN", DEV_RASA_API_TOKEN)


def action_server_token() -> str:
    """What Rasa sends to the action server (actions/server.py)."""
    return secret("ACTION_SERVER_TOKEN", DEV_ACTION_SERVER_TOKEN)


def rabbitmq_url() -> Optional[str]:
    """RABBITMQ_URL as set (None: no event stream). Production refuses a URL without a
    password, RabbitMQ's default guest account or password, or a password shorter than
    MIN_SECRET_CHARS (the URL is a credential like the tokens above)."""
    value = load().credential("RABBITMQ_URL")
    if not value:
        return None
    parsed = urlsplit(value)
    if parsed.scheme not in ("amqp", "amqps") or not parsed.hostname:
        raise InsecureConfiguration("RABBITMQ_URL must be an amqp:// or amqps:// address")
    if not is_development():
        user, password = parsed.username or "", parsed.password or ""
        if user == "guest" or password in ("", "guest") or len(password) < MIN_SECRET_CHARS:
            raise InsecureConfiguration(
                "RABBITMQ_URL must name an account of its own with a password of at least "
                f"{MIN_SECRET_CHARS} characters in production (not guest/guest)")
    return value


def metrics_token() -> str:
    """What a Prometheus scraper sends to every process's `GET /metrics` (bot/metrics.py)."""
    return secret("METRICS_TOKEN", DEV_METRICS_TOKEN)


def default_database_url() -> str:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'bot.db'}"


@dataclass(frozen=True)
class WebSettings:
    """What the web app (web/) takes of the settings, once when it starts, so a handler
    never reads the environment and a wrong value stops the start, not a request."""

    host: str  # BIND_HOST: loopback unless set
    port: int  # WEB_PORT
    development: bool  # GOVBOT_ENV=development
    rasa_port: int  # RASA_PORT: where browsers find Rasa on this host without RASA_PUBLIC_URL
    rasa_public_url: str  # RASA_PUBLIC_URL as set, '' when unset (checked by web/widget.py)
    public_base_url: str  # PUBLIC_BASE_URL: an https address makes the desk's cookie Secure
    trusted_proxies: str  # TRUSTED_PROXIES as set (parsed, or refused, by web/desk/auth.py)


def load_web() -> WebSettings:
    cfg = load()
    return WebSettings(
        host=cfg.bind_host,
        port=cfg.web_port,
        development=is_development(),
        rasa_port=cfg.rasa_port,
        rasa_public_url=cfg.rasa_public_url,
        public_base_url=cfg.public_base_url,
        trusted_proxies=cfg.trusted_proxies,
    )
