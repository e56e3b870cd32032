"""Runs the sections in order, prints the report and writes results/bench.json.

Order: warm-up → capacity → open load → growth → search over HTTP → memory (after the load)
→ the stack is stopped if the bench started it → search in process (needs no stack).
`--cluster` runs bench/cluster.py instead (1 and 2 Rasa instances behind nginx).
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Dict, List, Optional

import aiohttp

from bench import ROOT, memory, report
from bench.config import Config, load
from bench.load import capacity, growth, long_neighbour, open_load, warmup
from bench.stack import Stack, StackError, health

EXIT_STACK = 2
EXIT_SECTION_CRASHED = 3


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _git() -> Dict[str, Optional[str]]:
    def run(*args: str) -> Optional[str]:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None

    return {"commit": run("rev-parse", "HEAD"), "dirty": bool(run("status", "--porcelain"))}


class Run:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.run_id = f"{time.strftime('%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.r: Dict = {
            "meta": {
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "run_id": self.run_id,
                "git": _git(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "host": platform.node(),
            },
            "config": cfg.as_dict(),
            "repeat": cfg.repeat_command(),
            "section_errors": {},
            "skipped": {},
        }
        self.queries: List = []

    def wants(self, section: str) -> bool:
        return section in self.cfg.sections

    async def section(self, name: str, key: str, fn: Callable) -> None:
        _say(f"{name} …")
        start = time.monotonic()
        try:
            self.r[key] = await fn()
            _say(f"{name} done in {time.monotonic() - start:.1f} s")
        except Exception:  # noqa: BLE001 - one broken section must not hide the others
            self.r["section_errors"][name] = traceback.format_exc(limit=6)
            _say(f"{name} FAILED:\n{self.r['section_errors'][name]}")

    async def against_stack(self, stack: Stack) -> None:
        cfg = self.cfg
        connector = aiohttp.TCPConnector(
            limit=max(cfg.users, cfg.open_conversations, cfg.http_search_concurrency) + 20)
        timeout = aiohttp.ClientTimeout(total=cfg.request_timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            _say(f"looking for the assistant at {cfg.rasa_url} …")
            info = await stack.ensure(session)
            self.r["stack"] = asdict(info)
            _say(f"assistant ready (model {info.model_file}; {info.health})")

            _say("warm-up …")
            self.r["warmup"] = await warmup(session, cfg, self.run_id)
            if self.wants("search-http") and info.health.get("web") == "ok":
                for q in ("居住证", "社保卡补办", "營業執照"):
                    async with session.get(f"{cfg.web_url}/api/matters/search",
                                           params={"q": q}) as resp:
                        await resp.read()
            if self.wants("memory"):
                self.r["memory"] = {"before": memory.measure(cfg.ports())}

            if self.wants("capacity"):
                await self.section("capacity", "capacity",
                                   lambda: capacity(session, cfg, self.run_id))
            if self.wants("open"):
                await self.section("open load", "open",
                                   lambda: open_load(session, cfg, self.run_id))
            if self.wants("growth"):
                await self.section("growth", "growth", lambda: growth(session, cfg, self.run_id))
            if self.wants("long"):
                await self.section("long messages", "long",
                                   lambda: long_neighbour(session, cfg, self.run_id))
            if self.wants("search-http"):
                current = await health(session, cfg)
                if current.get("web") != "ok":
                    self.r["skipped"]["search-http"] = f"web app at {cfg.web_url}: {current['web']}"
                else:
                    from bench.search_bench import run_http

                    async def http_search() -> Dict:
                        return {"http": await run_http(session, cfg, self._queries())}

                    await self.section("search over HTTP", "search", http_search)
            if self.wants("memory"):
                self.r["memory"]["after"] = memory.measure(cfg.ports())

    def _queries(self) -> List:
        if not self.queries:
            from bench.search_bench import make_queries, scale_documents

            documents, extra = scale_documents()
            self.queries = make_queries(documents, extra, self.cfg.search_queries, self.cfg.seed)
        return self.queries

    def local_search(self) -> None:
        from bench.search_bench import run_local

        _say("search in process …")
        start = time.monotonic()
        try:
            local, _ = run_local(self.cfg)
            self.r.setdefault("search", {})["local"] = local
            _say(f"search in process done in {time.monotonic() - start:.1f} s")
        except Exception:  # noqa: BLE001
            self.r["section_errors"]["search in process"] = traceback.format_exc(limit=6)
            _say("search in process FAILED:\n" + self.r["section_errors"]["search in process"])

    def _keep_cluster(self, out: Path) -> None:
        """The last `--cluster` results (their own meta and time) stay in the file."""
        try:
            previous = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(previous, dict) and "cluster" in previous:
            self.r.setdefault("cluster", previous["cluster"])

    def finish(self, out: Path) -> None:
        """Writes the JSON (even if the report cannot be rendered), then prints the report."""
        self.r["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        try:
            self.r["summary_lines"] = report.summary_lines(self.r)
            self.r["targets"] = report.targets(self.r)
        finally:
            self._keep_cluster(out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(self.r, ensure_ascii=False, indent=2, default=str),
                           encoding="utf-8")
        if self.r.get("stack_error"):
            text = (f"no measurement: the assistant is not available:\n{self.r['stack_error']}"
                    f"\n\nrepeat with:\n  {self.r['repeat']}")
        else:
            text = report.render(self.r)
        print("\n" + text + f"\n\nresults written to {out}", flush=True)


def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C: the stack is still stopped
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    cfg = load(sys.argv[1:] if argv is None else argv)
    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, _terminate)
    out = Path(cfg.out) if Path(cfg.out).is_absolute() else ROOT / cfg.out
    if cfg.cluster:
        from bench import cluster

        return cluster.main(cfg, out)
    run = Run(cfg)
    stack = Stack(cfg, out.parent / "bench-stack.log")
    status = 0
    started = time.monotonic()
    _say(f"bench {'--quick ' if cfg.quick else ''}sections: {', '.join(cfg.sections)}")
    try:
        if cfg.needs_stack():
            asyncio.run(run.against_stack(stack))
    except StackError as err:
        run.r["stack_error"] = str(err)
        status = EXIT_STACK
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr, flush=True)
        status = 130
    finally:
        stack.stop()
    if status == 0 and run.wants("search-local"):
        try:
            run.local_search()
        except KeyboardInterrupt:
            status = 130
    run.r["meta"]["seconds"] = round(time.monotonic() - started, 1)
    run.finish(out)
    if status == 0 and run.r["section_errors"]:
        status = EXIT_SECTION_CRASHED
    return status
