"""Command-line options and the effective configuration of one run."""
from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Tuple
from urllib.parse import urlparse

from bench import ROOT

SECTIONS = ("capacity", "open", "growth", "long", "memory", "search-local", "search-http")
#: Sections that need the assistant running (search-local runs in this process).
STACK_SECTIONS = {"capacity", "open", "growth", "long", "memory", "search-http"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: Environment variables that change what is measured (echoed in the repeat command).
RELEVANT_ENV = ("RASA_URL", "RASA_PORT", "ACTION_PORT", "WEB_PORT", "BACKEND_PORT", "MODEL",
                "CATALOG_DIR", "DATABASE_URL", "BOT_DATABASE_URL", "TRACKER_DATABASE_URL",
                "REDIS_URL")

# Counts and time limits (seconds) of the full run and of --quick.
FULL: Dict[str, float] = dict(
    users=50, turns=10, capacity_rounds=3, capacity_limit=90, parse_limit=45,
    open_seconds=60, open_rate=30, open_conversations=60, open_drain=15,
    growth_turns=120, growth_limit=60,
    search_queries=2000, search_limit=30,
    http_search_requests=200, http_search_concurrency=10, http_search_limit=20,
    warmup_conversations=3, warmup_limit=30,
    # --cluster (bench/cluster.py): per number of Rasa instances
    cluster_rounds=2, cluster_open_seconds=40, cluster_rate=0, cluster_load_share=0.7,
    overhead_pairs=300, overhead_limit=45,
)
QUICK: Dict[str, float] = dict(
    FULL, users=20, capacity_rounds=1, capacity_limit=30, parse_limit=10,
    open_seconds=15, open_drain=5,
    growth_turns=40, growth_limit=15,
    search_queries=500, search_limit=10,
    http_search_requests=50, http_search_limit=10,
    warmup_conversations=2, warmup_limit=20,
    cluster_rounds=1, cluster_open_seconds=15, overhead_pairs=100, overhead_limit=15,
)
# Worst case (every phase at its limit, stack already running): about 6 minutes for the
# full run and 2 for --quick; a healthy stack finishes well before the limits.
# --cluster starts its own stack twice (1, then 2 Rasa instances): about 6–7 minutes for the
# full run and 3½ for --quick on 2 cores, most of --quick being the two starts.


def _port(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass
class Config:
    rasa_url: str
    action_port: int
    web_port: int
    backend_port: int
    start: bool
    start_timeout: float
    run_script: str
    request_timeout: float
    seed: int
    out: str
    sections: Tuple[str, ...]
    quick: bool
    users: int
    turns: int
    capacity_rounds: int
    capacity_limit: float
    parse_limit: float
    open_seconds: float
    open_rate: float
    open_conversations: int
    open_drain: float
    growth_turns: int
    growth_limit: float
    search_queries: int
    search_limit: float
    http_search_requests: int
    http_search_concurrency: int
    http_search_limit: float
    warmup_conversations: int
    warmup_limit: float
    cluster_rounds: int = 2
    cluster_open_seconds: float = 40
    cluster_rate: float = 0
    cluster_load_share: float = 0.7
    overhead_pairs: int = 300
    overhead_limit: float = 45
    cluster: bool = False
    argv: List[str] = field(default_factory=list)

    @property
    def rasa_port(self) -> int:
        return urlparse(self.rasa_url).port or 80

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    def ports(self) -> Dict[str, int]:
        return {"rasa": self.rasa_port, "actions": self.action_port,
                "web": self.web_port, "backend": self.backend_port}

    def needs_stack(self) -> bool:
        return bool(STACK_SECTIONS & set(self.sections))

    def repeat_command(self) -> str:
        """The command line that repeats this run (relevant environment included)."""
        import shlex

        env = [f"{k}={shlex.quote(os.environ[k])}" for k in RELEVANT_ENV
               if os.environ.get(k) and "PASSWORD" not in k]
        env = [e for e in env if "://" not in e or "@" not in e]  # never echo credentials
        args = " ".join(shlex.quote(a) for a in self.argv)
        return " ".join([f"cd {shlex.quote(str(ROOT))} &&", *env,
                         ".venv/bin/python -m bench", args]).strip()

    def as_dict(self) -> Dict:
        return asdict(self)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Capacity, latency, growth, memory and search benchmark of the running "
        "assistant. Starts scripts/run.sh itself when nothing answers at RASA_URL.",
    )
    p.add_argument("--quick", action="store_true", help="~1-minute smoke run with smaller counts")
    p.add_argument("--no-start", action="store_true",
                   help="require a running stack; never start scripts/run.sh")
    p.add_argument("--rasa-url", default=None,
                   help="Rasa server (default $RASA_URL or http://127.0.0.1:$RASA_PORT)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--out", default="results/bench.json", help="JSON results file")
    p.add_argument("--start-timeout", type=float, default=300,
                   help="seconds to wait for a started stack to answer (default 300)")
    p.add_argument("--run-script", default="scripts/run.sh",
                   help="script that starts the stack (default scripts/run.sh)")
    p.add_argument("--cluster", action="store_true",
                   help="cluster mode (bench/cluster.py): starts scripts/run.sh itself with 1, "
                   "then 2 Rasa instances behind nginx (2 action servers, PostgreSQL, Redis) "
                   "on ports of its own; capacity, open load, nginx's cost and CPU per turn; "
                   "written under \"cluster\" in the results file")
    p.add_argument("--request-timeout", type=float, default=30,
                   help="seconds before one HTTP request counts as failed (default 30)")
    g = p.add_argument_group("counts and limits (defaults: full run / --quick)")
    flags = {
        "users": (int, "simulated users in the capacity run"),
        "turns": (int, "turns per capacity conversation"),
        "capacity_rounds": (int, "alternating rounds of turns and parses in the capacity run"),
        "capacity_limit": (float, "time limit of the capacity turns run, s"),
        "parse_limit": (float, "time limit of the parse-only run, s"),
        "open_seconds": (float, "duration of the open-load arrivals, s"),
        "open_rate": (float, "open-load arrival rate, messages/s"),
        "open_conversations": (int, "live conversations in the open load"),
        "open_drain": (float, "time to wait for open-load replies after arrivals end, s"),
        "growth_turns": (int, "turns of the growth conversation (>= 20)"),
        "growth_limit": (float, "time limit of the growth run, s"),
        "search_queries": (int, "in-process search queries"),
        "search_limit": (float, "time limit of the in-process search run, s"),
        "http_search_requests": (int, "search requests over HTTP"),
        "http_search_concurrency": (int, "concurrent HTTP search clients"),
        "http_search_limit": (float, "time limit of the HTTP search run, s"),
        "warmup_conversations": (int, "warm-up conversations before measuring"),
        "warmup_limit": (float, "time limit of the warm-up, s"),
        "cluster_rounds": (int, "--cluster: capacity rounds (nginx, direct, direct, nginx …)"),
        "cluster_open_seconds": (float, "--cluster: duration of the open load, s"),
        "cluster_rate": (float, "--cluster: open-load rate, msg/s (0: share × 1-instance "
                         "capacity)"),
        "cluster_load_share": (float, "--cluster: open-load rate as a share of the "
                               "1-instance capacity"),
        "overhead_pairs": (int, "--cluster: turns sent one at a time through nginx and "
                           "direct alike, to measure nginx's latency"),
        "overhead_limit": (float, "--cluster: time limit of those turns, s"),
    }
    for name, (kind, text) in flags.items():
        g.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                       help=f"{text} ({FULL[name]:g} / {QUICK[name]:g})")
    return p


def load(argv: List[str]) -> Config:
    args = parser().parse_args(argv)
    base = QUICK if args.quick else FULL
    values = {name: (getattr(args, name) if getattr(args, name) is not None else base[name])
              for name in FULL}
    for name in ("users", "turns", "open_conversations", "growth_turns", "search_queries",
                 "http_search_requests", "http_search_concurrency", "warmup_conversations",
                 "cluster_rounds", "overhead_pairs"):
        values[name] = int(values[name])
    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser().error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    if values["growth_turns"] < 20:
        parser().error("--growth-turns must be at least 20 (two 10-turn windows)")
    if values["open_rate"] <= 0 or values["open_conversations"] < 1 or values["users"] < 1:
        parser().error("rates, users and conversations must be positive")
    if (values["cluster_rounds"] < 1 or values["overhead_pairs"] < 1
            or values["cluster_rate"] < 0 or not 0 < values["cluster_load_share"] <= 2):
        parser().error("--cluster-rounds and --overhead-pairs ≥ 1, --cluster-rate ≥ 0 and a "
                       "--cluster-load-share in (0, 2] please")
    rasa_url = (args.rasa_url or os.environ.get("RASA_URL")
                or f"http://127.0.0.1:{_port('RASA_PORT', 5005)}").rstrip("/")
    host = urlparse(rasa_url).hostname or ""
    if host not in LOOPBACK:
        parser().error(f"RASA_URL must be a loopback address (127.0.0.1), not {host!r}")
    return Config(
        rasa_url=rasa_url,
        action_port=_port("ACTION_PORT", 5055),
        web_port=_port("WEB_PORT", 8800),
        backend_port=_port("BACKEND_PORT", 8700),
        start=not args.no_start,
        start_timeout=args.start_timeout,
        run_script=args.run_script,
        request_timeout=args.request_timeout,
        seed=args.seed,
        out=args.out,
        sections=sections,
        quick=args.quick,
        cluster=args.cluster,
        argv=list(argv),
        **values,
    )
