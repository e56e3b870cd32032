"""Finding the running assistant, or starting scripts/run.sh and stopping it afterwards."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import aiohttp

from bench import ROOT
from bench.config import Config


class StackError(RuntimeError):
    """The assistant is not running and could not be started."""


@dataclass
class StackInfo:
    started_by_bench: bool
    model_file: Optional[str] = None
    startup_seconds: Optional[float] = None
    health: Dict[str, str] = field(default_factory=dict)
    log: Optional[str] = None


def rasa_api_headers() -> Dict[str, str]:
    """Rasa's API wants its token (rasa_ext/api_guard.py): RASA_API_TOKEN, else the one
    `make run` keeps in $BOT_VAR_DIR/dev-secrets.env (read afresh: a stack the bench
    starts writes it)."""
    token = os.environ.get("RASA_API_TOKEN", "")
    secrets_file = Path(os.environ.get("BOT_VAR_DIR", ROOT / "var")) / "dev-secrets.env"
    if not token and secrets_file.exists():
        for line in secrets_file.read_text().splitlines():
            if line.startswith("RASA_API_TOKEN="):
                token = line.partition("=")[2]
    return {"Authorization": f"Bearer {token}"} if token else {}


async def get(session: aiohttp.ClientSession, url: str, timeout: float = 5.0,
              headers: Optional[Dict[str, str]] = None) -> Tuple[Optional[int], Optional[object]]:
    """(status, JSON body or None); (None, None) when nothing answers."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout),
                               headers=headers) as resp:
            try:
                body = await resp.json(content_type=None)
            except Exception:  # noqa: BLE001 - any non-JSON body is just "no JSON"
                body = None
            return resp.status, body
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
        return None, None


def port_in_use(port: int) -> bool:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                if sock.connect_ex((host, port)) == 0:
                    return True
        except OSError:
            continue
    return False


async def rasa_ready(session: aiohttp.ClientSession, cfg: Config) -> Tuple[bool, Optional[str]]:
    status, body = await get(session, f"{cfg.rasa_url}/status", headers=rasa_api_headers())
    if status == 200 and isinstance(body, dict) and body.get("model_file"):
        return True, str(body["model_file"])
    return False, None


async def rasa_answers(session: aiohttp.ClientSession, cfg: Config) -> bool:
    for path in ("/status", "/"):
        status, _ = await get(session, cfg.rasa_url + path)
        if status is not None:
            return True
    return False


def _health_urls(cfg: Config) -> Dict[str, str]:
    return {
        "actions": f"{cfg.action_url}/health",
        "web": f"{cfg.web_url}/healthz",
        "backend": f"{cfg.backend_url}/healthz",
    }


async def health(session: aiohttp.ClientSession, cfg: Config) -> Dict[str, str]:
    out = {}
    for name, url in _health_urls(cfg).items():
        status, _ = await get(session, url)
        out[name] = "ok" if status == 200 else ("no answer" if status is None else f"HTTP {status}")
    return out


class Stack:
    """The assistant under test; owns the run.sh process group when it started it."""

    def __init__(self, cfg: Config, log_path: Path,
                 env: Optional[Dict[str, Optional[str]]] = None) -> None:
        """env: what the started script's environment sets on top of this process's and
        the ports of cfg (None removes a variable), e.g. the cluster bench's instances."""
        self.cfg = cfg
        self.log_path = log_path
        self.env = dict(env or {})
        self.proc: Optional[subprocess.Popen] = None
        self._log = None

    # -- start ------------------------------------------------------------------

    async def ensure(self, session: aiohttp.ClientSession) -> StackInfo:
        cfg = self.cfg
        if await rasa_answers(session, cfg):
            info = StackInfo(started_by_bench=False)
            t0 = time.monotonic()
            model = await self._wait(session, require_all=False)
            info.model_file, info.startup_seconds = model, round(time.monotonic() - t0, 1)
            info.health = await health(session, cfg)
            return info
        if not cfg.start:
            raise StackError(f"nothing answers at {cfg.rasa_url} and --no-start was given; "
                             "start the assistant with `make run` first")
        busy = {name: port for name, port in cfg.ports().items() if port_in_use(port)}
        if busy:
            raise StackError(
                f"Rasa does not answer at {cfg.rasa_url}, but port(s) {busy} are in use, so "
                "scripts/run.sh could not start; stop the partial stack or use --no-start")
        model = Path(os.environ.get("MODEL", "models/govbot.tar.gz"))
        default_script = Path(cfg.run_script) == Path("scripts/run.sh")
        if default_script and not (ROOT / model).exists():
            raise StackError(f"no trained model at {model}; run `make train` first")
        self._spawn()
        t0 = time.monotonic()
        model_file = await self._wait(session, require_all=True)
        info = StackInfo(started_by_bench=True, model_file=model_file,
                         startup_seconds=round(time.monotonic() - t0, 1), log=str(self.log_path))
        info.health = await health(session, cfg)
        return info

    def _spawn(self) -> None:
        cfg = self.cfg
        env = dict(os.environ)
        env.update(RASA_PORT=str(cfg.rasa_port), ACTION_PORT=str(cfg.action_port),
                   WEB_PORT=str(cfg.web_port), BACKEND_PORT=str(cfg.backend_port))
        for name, value in self.env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        script = Path(cfg.run_script)
        if not script.is_absolute():
            script = ROOT / script
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        print(f"starting the assistant: {script} (log {self.log_path})", flush=True)
        self.proc = subprocess.Popen(
            [str(script)], cwd=str(ROOT), env=env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # own session and process group: stopped as a whole
        )

    async def _wait(self, session: aiohttp.ClientSession, require_all: bool) -> str:
        """Waits until Rasa has a model loaded (and, for a stack we started, until the
        action server, web app and backend answer). Returns the model file."""
        cfg = self.cfg
        deadline = time.monotonic() + cfg.start_timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise StackError(f"{cfg.run_script} exited with status {self.proc.returncode} "
                                 f"before the assistant answered:\n{self.log_tail()}")
            ready, model = await rasa_ready(session, cfg)
            states = await health(session, cfg) if require_all else {}
            waiting = [n for n, s in states.items() if s != "ok"] + ([] if ready else ["rasa"])
            if not waiting:
                return model or ""
            if ", ".join(waiting) != last:
                last = ", ".join(waiting)
                print(f"  waiting for: {last}", flush=True)
            await asyncio.sleep(1.0)
        raise StackError(f"the assistant did not answer within {cfg.start_timeout:g} s "
                         f"(still waiting for {last})\n{self.log_tail()}")

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join("  | " + line for line in text.splitlines()[-lines:])

    # -- stop -------------------------------------------------------------------

    def stop(self) -> None:
        """SIGINT to the whole process group, then SIGTERM, then SIGKILL."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # session leader: its pid is the group id
        for sig, grace in ((signal.SIGINT, 20.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            if not self._group_alive(pgid):
                break
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self._group_alive(pgid):
                time.sleep(0.2)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self._log:
            self._log.close()
        print(f"stopped the assistant (process group {pgid})", flush=True)
        self.proc = None

    def _group_alive(self, pgid: int) -> bool:
        """True while any non-zombie process of the group exists."""
        if self.proc is not None:
            self.proc.poll()  # reap run.sh itself when it has exited
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            # fields[0] = state, fields[2] = pgrp
            if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                return True
        return False
