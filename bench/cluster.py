"""`python -m bench --cluster` (`make bench CLUSTER=1`): 1 and then 2 Rasa instances behind
nginx, in one run, so that the docs can size a deployment.

For each number of Rasa instances the bench starts scripts/run.sh itself (RASA_INSTANCES=n,
ACTION_INSTANCES=2, nginx in front; ports of its own, below, so it never meets a `make run`
or the e2e tests), on a PostgreSQL database (govbot_bench, made afresh) and a Redis
database (6, emptied) of its own, and, when the machine's RabbitMQ answers, with the event
stream `make run-cluster` runs (Rasa's events to RabbitMQ, the stats consumer; a stream of
its own, govbot-bench, made afresh), and:

1. checks that the instances share conversations (none fell back to the in-memory
   tracker store; a turn sent to the first is in the last one's tracker), warms every
   instance up (directly);
2. capacity: `users` citizens without pauses, in rounds alternately through nginx (the
   internal balancer, 127.0.0.1:RASA_INTERNAL_PORT: the same nginx and upstream block as
   the public edge, which does not route the REST channel) and directly (citizen i to
   instance i mod n: balanced by the client), nginx first, then direct, direct, nginx …
   so that the host's drift falls on both alike; CPU of every part is read from
   /proc/<pid>/stat before and after each run (bench/cpu.py);
3. open load through nginx at one rate for both instance counts: `cluster_load_share` of
   the 1-instance capacity through nginx (or `--cluster-rate`);
4. nginx's own cost in latency with nothing queued: turns one at a time, each line of a
   conversation sent through nginx in one conversation and straight to instance A in its
   twin (which goes first alternates); the overhead is p50 through nginx minus p50
   direct (and the median of the pairs' differences). Rasa's calls to the action servers
   go through nginx's inside balancer in both;
5. resident memory of each instance after the load; then stops the stack.
With the stream, the events waiting in the stats consumer's queue when the capacity runs
(the heaviest load) end, and how long the consumer takes to empty it, are measured too.

The results go into the results file under "cluster" (the rest of the file is kept) and
the report is printed. The ratio of the capacities is bounded by the machine: on 2 cores
one Rasa instance, nginx, PostgreSQL and the load generator already share both cores, so
the report also gives the cores that were busy and the CPU per turn of each part.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlparse, urlunparse

import aiohttp

from bench import ROOT, cpu, memory, report
from bench.config import Config
from bench.conversations import conversation
from bench.load import capacity, open_load, send_turn, warmup
from bench.stats import percentile
from bench.stack import Stack, StackError, port_in_use, rasa_api_headers, rasa_ready

EXIT_STACK = 2
EXIT_SECTION_CRASHED = 3

#: The cluster bench's own ports (never those of `make run`, `make run-cluster` or the
#: e2e tests). Rasa instances on RASA_PORT, +1, …; action servers on ACTION_PORT, +1.
PORTS: Dict[str, int] = {
    "RASA_PORT": 25005, "ACTION_PORT": 25055, "WEB_PORT": 28800, "BACKEND_PORT": 28700,
    "EDGE_PORT": 28080, "RASA_INTERNAL_PORT": 25004, "ACTION_INTERNAL_PORT": 25054,
    "STATS_PORT": 28790,
}
INSTANCE_COUNTS = (1, 2)
ACTION_INSTANCES = 2
DATABASE = "govbot_bench"
REDIS_DB = 6
NGINX, DIRECT = "nginx", "direct"
#: The bench's own event stream (exchange govbot-bench.events, queue govbot-bench.stats),
#: deleted before each instance count: never the deployment's.
STREAM = "govbot-bench"
#: Seconds the bench waits, after the load, for the stats consumer to empty its queue.
DRAIN_TIMEOUT = 120.0
#: Variables of the caller's environment that would point the stack elsewhere.
CLEARED_ENV = ("BOT_DATABASE_URL", "TRACKER_DATABASE_URL", "RABBITMQ_URL", "RASA_URL",
               "RASA_URLS", "ACTION_ENDPOINT_URL", "RASA_PUBLIC_URL", "PUBLIC_BASE_URL",
               "CORS_ORIGINS", "RASA_UPSTREAMS", "ACTION_UPSTREAMS", "WEB_UPSTREAMS",
               "TLS_CERT", "TLS_KEY", "DESK_URL", "BACKEND_URL")


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# -- the topology ---------------------------------------------------------------------


@dataclass(frozen=True)
class Topology:
    rasa_instances: int
    action_instances: int = ACTION_INSTANCES
    #: Rasa's events to RabbitMQ and the stats consumer, as `make run-cluster` runs them
    #: (when the machine's RabbitMQ answers).
    stream: bool = False

    @property
    def rasa_ports(self) -> List[int]:
        return [PORTS["RASA_PORT"] + i for i in range(self.rasa_instances)]

    @property
    def action_ports(self) -> List[int]:
        return [PORTS["ACTION_PORT"] + i for i in range(self.action_instances)]

    @property
    def nginx_ports(self) -> List[int]:
        return [PORTS["EDGE_PORT"], PORTS["RASA_INTERNAL_PORT"], PORTS["ACTION_INTERNAL_PORT"]]

    @property
    def balancer_url(self) -> str:
        return f"http://127.0.0.1:{PORTS['RASA_INTERNAL_PORT']}"

    @property
    def direct_urls(self) -> List[str]:
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    def all_ports(self) -> List[int]:
        return (self.rasa_ports + self.action_ports + self.nginx_ports
                + [PORTS["WEB_PORT"], PORTS["BACKEND_PORT"]]
                + ([PORTS["STATS_PORT"]] if self.stream else []))

    def kinds(self, services: Dict[str, str]) -> Dict[str, List[int]]:
        """The ports by which bench/cpu.py finds each kind of process."""
        kinds = {
            "rasa": self.rasa_ports,
            "actions": self.action_ports,
            "nginx": self.nginx_ports,
            "postgres": [urlparse(services["DATABASE_URL"]).port or 5432],
            "redis": [urlparse(services["REDIS_URL"]).port or 6379],
            "web + backend": [PORTS["WEB_PORT"], PORTS["BACKEND_PORT"]],
        }
        if self.stream:
            kinds["rabbitmq"] = [rabbitmq_port(services)]
            kinds["stats consumer"] = [PORTS["STATS_PORT"]]
        return kinds

    def env(self, services: Dict[str, str], var_dir: Path) -> Dict[str, Optional[str]]:
        env: Dict[str, Optional[str]] = {name: None for name in CLEARED_ENV}
        env.update({name: str(port) for name, port in PORTS.items()})
        env.update(
            RASA_INSTANCES=str(self.rasa_instances), ACTION_INSTANCES=str(self.action_instances),
            BOT_VAR_DIR=str(var_dir), GOVBOT_ENV="development",
            DATABASE_URL=services["DATABASE_URL"], REDIS_URL=services["REDIS_URL"],
            # The bench's conversations are not reviewed data.
            REVIEWED_DATA_DIR=str(var_dir / "reviewed"),
            REVIEWED_ALIASES_FILE=str(var_dir / "reviewed_aliases.yml"),
        )
        if self.stream:
            env.update(RABBITMQ_URL=services["RABBITMQ_URL"], EVENT_STREAM=STREAM)
        return env


def services() -> Dict[str, str]:
    """The machine's PostgreSQL and Redis (hosts from DATABASE_URL / REDIS_URL when set),
    with the bench's own database and Redis database."""
    base = os.environ.get("DATABASE_URL", "").strip()
    if not base.startswith("postgres"):
        base = "postgresql://postgres@127.0.0.1:5432/postgres"
    url = urlparse(base)
    redis = os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0"
    return {
        "admin": urlunparse(url._replace(path="/postgres")),
        "DATABASE_URL": urlunparse(url._replace(path=f"/{DATABASE}")),
        "REDIS_URL": urlunparse(urlparse(redis)._replace(path=f"/{REDIS_DB}")),
        "RABBITMQ_URL": (os.environ.get("RABBITMQ_URL", "").strip()
                         or "amqp://guest:guest@127.0.0.1:5672/%2F"),
    }


def rabbitmq_port(svc: Dict[str, str]) -> int:
    return urlparse(svc["RABBITMQ_URL"]).port or 5672


def stream_available(svc: Dict[str, str]) -> bool:
    """Whether the machine's RabbitMQ answers (`make run-cluster` starts it)."""
    return _reachable(svc["RABBITMQ_URL"], 5672)


def _reachable(url: str, default: int) -> bool:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default),
                                 timeout=2).close()
        return True
    except OSError:
        return False


def reset_services(svc: Dict[str, str], stream: bool = False) -> None:
    """A fresh database, an empty Redis database and, with the stream, a new bench
    stream for each instance count."""
    for url, default, name in ((svc["admin"], 5432, "PostgreSQL"),
                               (svc["REDIS_URL"], 6379, "Redis")):
        if not _reachable(url, default):
            raise StackError(f"the cluster needs {name}: nothing answers at "
                             f"{urlparse(url).hostname}:{urlparse(url).port or default} "
                             "(scripts/run-cluster.sh starts the machine's)")
    for sql in (f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)',
                f'CREATE DATABASE "{DATABASE}"'):
        try:
            subprocess.run(["psql", svc["admin"], "-qc", sql], check=True, capture_output=True,
                           timeout=60)
        except (OSError, subprocess.SubprocessError) as err:
            raise StackError(f"could not make the database {DATABASE}: {err}") from err
    import redis as redis_client

    client = redis_client.Redis.from_url(svc["REDIS_URL"])
    try:
        client.flushdb()
    finally:
        client.close()
    if stream:
        from bot.stats import delete_stream

        asyncio.run(delete_stream(svc["RABBITMQ_URL"], STREAM))


# -- pure helpers (tests/bench/test_cluster_bench.py) -----------------------------------


def alternating(n: int) -> List[str]:
    """nginx, direct, direct, nginx, nginx, direct …: a linear drift of the host's speed
    falls on both alike in every four."""
    return [NGINX if i % 4 in (0, 3) else DIRECT for i in range(n)]


def _mean(values: Sequence[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def merge_capacity(runs: Sequence[Dict]) -> Dict:
    """Runs of bench.load.capacity (turns only) into one: turns answered over the time
    they took; latency percentiles as the mean over runs."""
    ok = sum(r["turns"]["ok"] for r in runs)
    seconds = sum(r["turns"]["seconds"] for r in runs)
    errors: Dict[str, int] = {}
    for r in runs:
        for kind, count in r["turns"]["error_kinds"].items():
            errors[kind] = errors.get(kind, 0) + count
    return {
        "runs": len(runs),
        "ok": ok,
        "errors": sum(r["turns"]["errors"] for r in runs),
        "error_kinds": errors,
        "empty_replies": sum(r["turns"]["empty_replies"] for r in runs),
        "seconds": round(seconds, 2),
        "per_second": ok / seconds if seconds > 0 else None,
        "finished": all(r["turns"]["finished"] for r in runs),
        "p50_ms": _mean([r["turns"]["latency"]["p50_ms"] for r in runs]),
        "p95_ms": _mean([r["turns"]["latency"]["p95_ms"] for r in runs]),
        "per_run_per_second": [r["turns"]["per_second"] for r in runs],
    }


def combine_cpu(phases: Sequence[Dict]) -> Optional[Dict]:
    """Several bench.cpu.phase results (the runs of one kind of load) as one."""
    if not phases:
        return None
    turns = sum(p["turns"] for p in phases)
    wall = sum(p["wall_seconds"] for p in phases)
    kinds: List[str] = []
    for p in phases:
        kinds += [k for k in p["cpu_seconds"] if k not in kinds]
    seconds = {k: sum(p["cpu_seconds"].get(k, 0.0) for p in phases) for k in kinds}
    return cpu.rates(seconds, turns, wall)


def overhead(pairs: Sequence[Tuple[Optional[float], Optional[float]]]) -> Dict:
    """nginx's latency per turn from pairs (seconds through nginx, seconds direct; None
    for a failed turn) of the same line at the same point of two conversations: p50
    through nginx minus p50 direct, and the median of the pairs' differences (less
    sensitive to the host's drift; only pairs whose both turns succeeded)."""
    through = [a for a, _ in pairs if a is not None]
    direct = [b for _, b in pairs if b is not None]
    both = [a - b for a, b in pairs if a is not None and b is not None]
    n50, d50, diff = percentile(through, 50), percentile(direct, 50), percentile(both, 50)
    n95, d95 = percentile(through, 95), percentile(direct, 95)

    def millis(v: Optional[float]) -> Optional[float]:
        return None if v is None else v * 1000

    return {
        "pairs": len(pairs),
        "failed": sum((a is None) + (b is None) for a, b in pairs),
        "nginx_p50_ms": millis(n50), "direct_p50_ms": millis(d50),
        "overhead_p50_ms": None if n50 is None or d50 is None else millis(n50 - d50),
        "nginx_p95_ms": millis(n95), "direct_p95_ms": millis(d95),
        "median_pair_difference_ms": millis(diff),
    }


async def paired_turns(session: aiohttp.ClientSession, cfg: Config, topo: Topology,
                       run_id: str) -> List[Tuple[Optional[float], Optional[float]]]:
    """The same conversations twice, one turn at a time: each line through nginx in one
    conversation and straight to instance A in its twin, which of the two goes first
    alternating; up to overhead_pairs pairs within overhead_limit seconds."""
    pairs: List[Tuple[Optional[float], Optional[float]]] = []
    deadline = time.monotonic() + cfg.overhead_limit
    urls = {NGINX: topo.balancer_url, DIRECT: topo.direct_urls[0]}
    n = 0
    while len(pairs) < cfg.overhead_pairs and time.monotonic() < deadline:
        for text in conversation(n, cfg.turns):
            seconds: Dict[str, Optional[float]] = {}
            order = (NGINX, DIRECT) if len(pairs) % 2 == 0 else (DIRECT, NGINX)
            for target in order:
                result = await send_turn(session, cfg, f"bench-{run_id}-{n}-{target}", text,
                                         url=urls[target])
                seconds[target] = result.seconds if result.ok else None
            pairs.append((seconds[NGINX], seconds[DIRECT]))
            if len(pairs) >= cfg.overhead_pairs or time.monotonic() >= deadline:
                break
        n += 1
    return pairs


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def compare(runs: Dict[str, Dict], cores: Optional[int]) -> Dict:
    """The numbers the report and the docs quote, per instance count and 2 against 1."""
    per: Dict[str, Dict] = {}
    for n, run in runs.items():
        cap = run.get("capacity") or {}
        through, direct = cap.get(NGINX) or {}, cap.get(DIRECT) or {}
        cpu_phase = (run.get("cpu") or {}).get("capacity_nginx") or {}
        per_turn = cpu_phase.get("cpu_s_per_turn") or {}
        direct_cpu = ((run.get("cpu") or {}).get("capacity_direct") or {}).get(
            "cpu_s_per_turn") or {}
        busy = (cpu_phase.get("cores_busy") or {}).get(cpu.MACHINE)
        open_ = run.get("open") or {}
        lat = open_.get("latency") or {}
        mem = run.get("memory") or {}
        rasa_rss = [m.get("total_rss_mb") for m in mem.get("rasa", []) if m.get("found")]
        action_rss = [m.get("total_rss_mb") for m in mem.get("actions", []) if m.get("found")]
        per[n] = {
            "capacity_nginx": through.get("per_second"),
            "capacity_direct": direct.get("per_second"),
            "capacity_p50_ms": through.get("p50_ms"),
            "capacity_p95_ms": through.get("p95_ms"),
            "open_rate": open_.get("rate"),
            "open_p50_ms": lat.get("p50_ms"),
            "open_p95_ms": lat.get("p95_ms"),
            "open_failed": ((open_.get("errors", 0) + open_.get("unfinished", 0))
                            if open_ else None),
            "open_arrivals": open_.get("arrivals"),
            "overhead_p50_ms": (run.get("overhead") or {}).get("overhead_p50_ms"),
            "overhead_pair_ms": (run.get("overhead") or {}).get("median_pair_difference_ms"),
            "cpu_s_per_turn": per_turn,
            # Rasa → actions still passes nginx when the citizens go straight to Rasa
            "nginx_cpu_s_per_turn_direct": direct_cpu.get("nginx"),
            "cores_busy": busy,
            "turns_per_busy_core": _ratio(through.get("per_second"), busy),
            "turns_per_core_rasa": cpu.turns_per_core(per_turn.get("rasa")),
            "turns_per_core_deployment": cpu.turns_per_core(per_turn.get("deployment")),
            "rss_mb_per_rasa": _mean(rasa_rss),
            "rss_mb_rasa": rasa_rss,
            "rss_mb_per_action_server": _mean(action_rss),
            "rss_mb_nginx": (mem.get("nginx") or {}).get("total_rss_mb"),
            "rss_mb_stats": (mem.get("stats consumer") or {}).get("total_rss_mb"),
            "rss_mb_rabbitmq": (mem.get("rabbitmq") or {}).get("total_rss_mb"),
            "stream": run.get("stream"),
        }
    one, two = per.get("1", {}), per.get("2", {})
    return {
        "cores": cores,
        "per_instances": per,
        "ratio_nginx": _ratio(two.get("capacity_nginx"), one.get("capacity_nginx")),
        "ratio_direct": _ratio(two.get("capacity_direct"), one.get("capacity_direct")),
        # With every core busy already, a second instance can only add what was idle.
        "core_ceiling": _ratio(cores, one.get("cores_busy")) if cores else None,
    }


# -- one instance count -----------------------------------------------------------------


async def _wait_cluster(session: aiohttp.ClientSession, cfg: Config, topo: Topology) -> None:
    """Every Rasa instance with its model, every action server, and nginx's balancer."""
    deadline = time.monotonic() + cfg.start_timeout
    while time.monotonic() < deadline:
        waiting = []
        for url in topo.direct_urls + [topo.balancer_url]:
            ready, _ = await rasa_ready(session, replace(cfg, rasa_url=url))
            if not ready:
                waiting.append(url)
        for port in topo.action_ports:
            try:
                async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status != 200:
                        waiting.append(f"actions :{port}")
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                waiting.append(f"actions :{port}")
        if topo.stream:
            try:
                async with session.get(
                        f"http://127.0.0.1:{PORTS['STATS_PORT']}/health/ready") as resp:
                    if resp.status != 200:
                        waiting.append("stats consumer")
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                waiting.append("stats consumer")
        if not waiting:
            return
        await asyncio.sleep(1.0)
    raise StackError(f"the cluster did not answer within {cfg.start_timeout:g} s: {waiting}")


IN_MEMORY_FALLBACK = "Using `InMemoryTrackerStore` instead"


async def _check_shared(session: aiohttp.ClientSession, cfg: Config, topo: Topology,
                        stack: Stack, run_id: str) -> None:
    """Refuses to measure a cluster whose instances do not share conversations: a Rasa
    instance that fell back to the in-memory tracker store (Rasa does that, with only a
    warning in its log, when the configured store fails to start), or a turn sent to the
    first instance that the last one does not see."""
    try:
        log = stack.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        log = ""
    if IN_MEMORY_FALLBACK in log:
        raise StackError("a Rasa instance fell back to the in-memory tracker store (see "
                         f"{stack.log_path}): the instances would share no conversations")
    sender = f"bench-{run_id}-shared"
    await send_turn(session, cfg, sender, "你好", url=topo.direct_urls[0])
    async with session.get(f"{topo.direct_urls[-1]}/conversations/rest:{sender}/tracker",
                           headers=rasa_api_headers()) as resp:
        body = await resp.json(content_type=None) if resp.status == 200 else {}
    if not any(e.get("event") == "user" for e in (body or {}).get("events", [])):
        raise StackError(f"a turn sent to {topo.direct_urls[0]} is not in the tracker of "
                         f"{topo.direct_urls[-1]}: the instances share no tracker store")


async def measure(session: aiohttp.ClientSession, cfg: Config, topo: Topology, stack: Stack,
                  svc: Dict[str, str], run_id: str, open_rate: Callable[[Dict], float]) -> Dict:
    out: Dict = {"rasa_instances": topo.rasa_instances,
                 "action_instances": topo.action_instances}
    info = await stack.ensure(session)
    await _wait_cluster(session, cfg, topo)
    out["stack"] = asdict(info)
    await _check_shared(session, cfg, topo, stack, run_id)
    _say(f"{topo.rasa_instances} Rasa instance(s) ready ({info.startup_seconds} s); warm-up …")
    out["warmup"] = [await warmup(session, replace(cfg, rasa_url=url), f"{run_id}-{i}")
                     for i, url in enumerate(topo.direct_urls + [topo.balancer_url])]
    kinds = topo.kinds(svc)

    # capacity, alternately through nginx and directly
    runs: Dict[str, List[Dict]] = {NGINX: [], DIRECT: []}
    phases: Dict[str, List[Dict]] = {NGINX: [], DIRECT: []}
    per_run = replace(cfg, capacity_rounds=1,
                      capacity_limit=cfg.capacity_limit / cfg.cluster_rounds)
    for i, target in enumerate(alternating(2 * cfg.cluster_rounds)):
        urls = [topo.balancer_url] if target == NGINX else topo.direct_urls
        before = cpu.snapshot(kinds)
        result = await capacity(session, per_run, f"{run_id}-cap{i}-{target}", parses=False,
                                urls=urls)
        after = cpu.snapshot(kinds)
        runs[target].append(result)
        phases[target].append(cpu.phase(before, after, result["turns"]["ok"]))
        _say(f"  capacity {target}: {report.num(result['turns']['per_second'])} turns/s")
    out["capacity"] = {target: merge_capacity(r) for target, r in runs.items()}
    out["cpu"] = {f"capacity_{target}": combine_cpu(p) for target, p in phases.items()}
    if topo.stream:  # right after the heaviest load: how far the statistics fell behind
        out["stream"] = stream = await drain(session, topo, svc)
        _say(f"  event stream after the capacity runs: {stream['buffered_in_rasa_after_load']} "
             f"events in Rasa, {stream['backlog_after_load']} in the queue; "
             f"{stream['buffered_in_rasa_left']} and {stream['backlog_left']} left after "
             f"{stream['drain_seconds']} s")

    # open load through nginx, at the same rate for every instance count
    rate = open_rate(out)
    _say(f"  open load through nginx at {rate:g} msg/s for {cfg.cluster_open_seconds:g} s …")
    open_cfg = replace(cfg, rasa_url=topo.balancer_url, open_rate=rate,
                       open_seconds=cfg.cluster_open_seconds)
    before = cpu.snapshot(kinds)
    out["open"] = await open_load(session, open_cfg, f"{run_id}-open")
    out["cpu"]["open"] = cpu.phase(before, cpu.snapshot(kinds), out["open"]["ok"])
    _say(f"  open load: p95 {report.msu(out['open']['latency']['p95_ms'])}")

    # nginx's cost in latency, nothing queued: pairs of turns, one at a time
    _say(f"  nginx against direct: {cfg.overhead_pairs} pairs of turns, one at a time …")
    pairs = await paired_turns(session, cfg, topo, f"{run_id}-ovh")
    out["overhead"] = {"pairs_planned": cfg.overhead_pairs, **overhead(pairs)}
    out["memory"] = {
        "rasa": [memory.server_memory(p) for p in topo.rasa_ports],
        "actions": [memory.server_memory(p) for p in topo.action_ports],
        "nginx": memory.server_memory(PORTS["RASA_INTERNAL_PORT"]),
    }
    if topo.stream:
        out["memory"]["stats consumer"] = memory.server_memory(PORTS["STATS_PORT"])
        out["memory"]["rabbitmq"] = memory.server_memory(rabbitmq_port(svc))
    return out


#: Rasa's gauge of the events its broker still holds (rasa_ext/event_broker.py).
BUFFERED_GAUGE = "govbot_event_stream_buffered"


def gauge_value(metrics_text: str, name: str) -> Optional[float]:
    """The value of an unlabelled gauge in Prometheus' text format (prometheus-client's
    parser)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        for family in text_string_to_metric_families(metrics_text):
            for sample in family.samples:
                if sample.name == name and not sample.labels:
                    return float(sample.value)
    except ValueError:  # not the text format
        return None
    return None


async def rasa_buffered(session: aiohttp.ClientSession, topo: Topology) -> Optional[int]:
    """Events every Rasa instance's broker holds, not yet confirmed by RabbitMQ."""
    total = 0
    for url in topo.direct_urls:
        try:
            async with session.get(f"{url}/metrics", headers={
                    "Authorization": f"Bearer {os.environ.get('METRICS_TOKEN', '')}"}) as resp:
                value = gauge_value(await resp.text(), BUFFERED_GAUGE) if resp.status == 200 \
                    else None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            value = None
        if value is None:
            return None
        total += int(value)
    return total


async def drain(session: aiohttp.ClientSession, topo: Topology, svc: Dict[str, str],
                timeout: float = DRAIN_TIMEOUT) -> Dict:
    """How far the statistics are behind once the load stops: the events Rasa's brokers
    still hold and those waiting in the consumer's queue, and how long until both are
    empty (bounded)."""
    from bot.stats import backlog

    started = time.monotonic()

    async def both() -> Tuple[Optional[int], int]:
        return await rasa_buffered(session, topo), await backlog(svc["RABBITMQ_URL"], STREAM)

    first = left = await both()
    while (left[0] or left[1]) and time.monotonic() - started < timeout:
        await asyncio.sleep(0.5)
        left = await both()
    return {"buffered_in_rasa_after_load": first[0], "backlog_after_load": first[1],
            "buffered_in_rasa_left": left[0], "backlog_left": left[1],
            "drain_seconds": round(time.monotonic() - started, 1)}


# -- the run ------------------------------------------------------------------------------


def _terminate(signum, frame):  # SIGTERM behaves like Ctrl-C: the stack is still stopped
    raise KeyboardInterrupt


def write(out: Path, cluster: Dict) -> None:
    """Puts the cluster results under "cluster" in the results file, keeping the rest."""
    data: Dict = {}
    if out.exists():
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
    if not isinstance(data, dict):
        data = {}
    data["cluster"] = cluster
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str),
                   encoding="utf-8")


def main(cfg: Config, out: Path) -> int:
    from bench.cli import _git  # the same run metadata as the other sections

    signal.signal(signal.SIGTERM, _terminate)
    # The API token the started stacks use (run.sh keeps what the environment sets), so
    # that /status answers this process without reading another var directory.
    os.environ.setdefault("RASA_API_TOKEN", secrets.token_urlsafe(32))
    os.environ.setdefault("METRICS_TOKEN", secrets.token_urlsafe(32))  # Rasa's /metrics
    run_id = f"{time.strftime('%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    r: Dict = {
        "meta": {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "run_id": run_id,
                 "git": _git(), "cpus": os.cpu_count(), "quick": cfg.quick},
        "config": {"ports": PORTS, "action_instances": ACTION_INSTANCES,
                   "users": cfg.users, "turns": cfg.turns, "rounds": cfg.cluster_rounds,
                   "open_seconds": cfg.cluster_open_seconds,
                   "open_conversations": cfg.open_conversations,
                   "overhead_pairs": cfg.overhead_pairs,
                   "database": DATABASE, "redis_db": REDIS_DB, "event_broker": None},
        "repeat": cfg.repeat_command(),
        "runs": {},
        "errors": {},
    }
    status = 0
    svc = services()
    stream = stream_available(svc)
    r["config"]["event_broker"] = f"RabbitMQ, stream {STREAM}" if stream else None
    if not stream:
        _say("RabbitMQ does not answer: measuring without the event stream "
             "(scripts/run-cluster.sh starts it)")
    rates: Dict[str, float] = {}

    def open_rate(run: Dict) -> float:
        """Fixed by the first instance count, kept for the next."""
        if "rate" not in rates:
            cap = ((run.get("capacity") or {}).get(NGINX) or {}).get("per_second")
            if cfg.cluster_rate:
                rates["rate"] = cfg.cluster_rate
            elif cap:
                rates["rate"] = max(1.0, round(cfg.cluster_load_share * cap, 1))
            else:
                rates["rate"] = cfg.open_rate
        return rates["rate"]

    var_root = ROOT / "var" / "bench-cluster"
    for n in INSTANCE_COUNTS:
        topo = Topology(n, stream=stream)
        stack_cfg = replace(cfg, rasa_url=topo.direct_urls[0], action_port=PORTS["ACTION_PORT"],
                            web_port=PORTS["WEB_PORT"], backend_port=PORTS["BACKEND_PORT"],
                            start=True, run_script="scripts/run.sh")
        log = out.parent / f"bench-cluster-{n}.log"
        stack = Stack(stack_cfg, log, env=topo.env(svc, var_root))
        _say(f"cluster: {n} Rasa instance(s), {ACTION_INSTANCES} action servers, nginx "
             f"(log {log}) …")
        t0 = time.monotonic()
        try:
            busy = [p for p in topo.all_ports() if port_in_use(p)]
            if busy:
                raise StackError(f"the cluster bench's ports {busy} are in use (another "
                                 "bench --cluster?); stop it first")
            reset_services(svc, stream)

            async def one() -> Dict:
                connector = aiohttp.TCPConnector(limit=cfg.users + cfg.open_conversations + 20)
                timeout = aiohttp.ClientTimeout(total=cfg.request_timeout)
                async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                    return await measure(session, stack_cfg, topo, stack, svc, run_id + f"-{n}i",
                                         open_rate)

            r["runs"][str(n)] = asyncio.run(one())
            r["runs"][str(n)]["seconds"] = round(time.monotonic() - t0, 1)
        except StackError as err:
            r["errors"][str(n)] = str(err)
            _say(f"cluster with {n} instance(s): no measurement:\n{err}")
            status = EXIT_STACK
        except KeyboardInterrupt:
            print("\ninterrupted", flush=True)
            status = 130
        except Exception:  # noqa: BLE001 - report what was measured so far
            r["errors"][str(n)] = traceback.format_exc(limit=8)
            _say(f"cluster with {n} instance(s) FAILED:\n{r['errors'][str(n)]}")
            status = EXIT_SECTION_CRASHED
        finally:
            stack.stop()
        if status in (EXIT_STACK, 130):
            break
    r["config"]["open_rate"] = rates.get("rate")
    r["comparison"] = compare(r["runs"], os.cpu_count())
    r["summary_lines"] = report.cluster_summary_lines(r)
    r["meta"]["seconds"] = round(time.monotonic() - started, 1)
    r["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write(out, r)
    print("\n" + report.cluster_section(r) + f"\n\nresults written to {out} (\"cluster\")",
          flush=True)
    return status
