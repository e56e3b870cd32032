"""Load patterns against Rasa: warm-up, closed-loop capacity, parse-only, open (Poisson)
load and one long conversation (growth).

A turn is one POST /webhooks/rest/webhook until the response carrying the bot's messages
has been read completely. Every loop is bounded by a count and a time limit.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Deque, Dict, List, Optional, Sequence

import aiohttp

from bench.config import Config
from bench.conversations import conversation, growth_script
from bench.stats import latency_summary, median, ratio


@dataclass
class Result:
    ok: bool
    seconds: float
    messages: int = 0
    error: str = ""


@dataclass
class Tally:
    """Outcomes of a batch of requests."""

    results: List[Result] = field(default_factory=list)

    def add(self, result: Result) -> None:
        self.results.append(result)

    @property
    def ok(self) -> List[Result]:
        return [r for r in self.results if r.ok]

    def errors(self) -> Dict[str, int]:
        return dict(Counter(r.error for r in self.results if not r.ok))

    def summary(self) -> Dict:
        ok = self.ok
        return {
            "requests": len(self.results),
            "ok": len(ok),
            "errors": len(self.results) - len(ok),
            "error_kinds": self.errors(),
            "empty_replies": sum(1 for r in ok if r.messages == 0),
            "latency": latency_summary(r.seconds for r in ok),
        }


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    return type(exc).__name__


async def send_turn(session: aiohttp.ClientSession, cfg: Config, sender: str, text: str,
                    since: Optional[float] = None, url: Optional[str] = None) -> Result:
    """One turn to `url` (default cfg.rasa_url); latency counts from `since` (an arrival
    time) when given."""
    start = time.perf_counter() if since is None else since
    try:
        async with session.post(f"{url or cfg.rasa_url}/webhooks/rest/webhook",
                                json={"sender": sender, "message": text}) as resp:
            body = await resp.json(content_type=None)
            elapsed = time.perf_counter() - start
            if resp.status != 200 or not isinstance(body, list):
                return Result(False, elapsed, error=f"HTTP {resp.status}")
            return Result(True, elapsed, messages=len(body))
    except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
        return Result(False, time.perf_counter() - start, error=_error_name(exc))


async def send_parse(session: aiohttp.ClientSession, cfg: Config, text: str) -> Result:
    start = time.perf_counter()
    try:
        async with session.post(f"{cfg.rasa_url}/model/parse", json={"text": text}) as resp:
            body = await resp.json(content_type=None)
            elapsed = time.perf_counter() - start
            if resp.status != 200 or not isinstance(body, dict) or "intent" not in body:
                return Result(False, elapsed, error=f"HTTP {resp.status}")
            return Result(True, elapsed, messages=1)
    except Exception as exc:  # noqa: BLE001
        return Result(False, time.perf_counter() - start, error=_error_name(exc))


async def _bounded(tasks: List[asyncio.Task], limit: float) -> int:
    """Waits for tasks up to limit seconds and cancels the rest; returns how many were
    cancelled (0: all finished)."""
    if not tasks:
        return 0
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, limit))
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    return len(pending)


# -- warm-up --------------------------------------------------------------------------


async def warmup(session: aiohttp.ClientSession, cfg: Config, run_id: str) -> Dict:
    """A few conversations and parses so that first-request costs are not measured."""
    tally, parses = Tally(), Tally()

    async def citizen(n: int) -> None:
        for text in conversation(n * 7, 10):
            tally.add(await send_turn(session, cfg, f"bench-{run_id}-warm-{n}", text))

    async def parser() -> None:
        for n in range(20):
            parses.add(await send_parse(session, cfg, conversation(n, 1)[0]))

    start = time.perf_counter()
    tasks = [asyncio.create_task(citizen(n)) for n in range(cfg.warmup_conversations)]
    tasks.append(asyncio.create_task(parser()))
    finished = await _bounded(tasks, cfg.warmup_limit) == 0
    first = tally.results[0].seconds * 1000 if tally.results else None
    return {"seconds": round(time.perf_counter() - start, 2), "finished": finished,
            "first_turn_ms": first, "turns": tally.summary(), "parses": parses.summary()}


# -- 1. capacity ----------------------------------------------------------------------


async def capacity(session: aiohttp.ClientSession, cfg: Config, run_id: str,
                   parses: bool = True, urls: Optional[Sequence[str]] = None) -> Dict:
    """`users` citizens without pauses, each a `turns`-turn conversation; then (unless
    `parses` is False) the same texts as /model/parse requests from as many concurrent
    clients. With `urls`, citizen i talks to urls[i % len(urls)] (balanced by the client,
    as the cluster bench's "direct" runs do) instead of cfg.rasa_url.

    Done in `capacity_rounds` alternating rounds (new conversations each round) and
    summed: the machine's speed drifts (shared host), and a single turns phase followed
    by a single parse phase measured that drift as often as the server."""
    want_parses = parses
    turns, parses = Tally(), Tally()
    turn_wall = parse_wall = 0.0
    finished = parse_finished = True
    rounds = max(1, cfg.capacity_rounds)
    planned = 0
    for round_no in range(rounds):
        scripts = [conversation(i + round_no * cfg.users, cfg.turns) for i in range(cfg.users)]
        planned += sum(len(script) for script in scripts)
        seconds, done = await _turns_round(session, cfg, f"{run_id}-r{round_no}", scripts,
                                           turns, cfg.capacity_limit / rounds, urls)
        turn_wall += seconds
        finished = finished and done
        if not want_parses:
            continue
        texts = [t for script in scripts for t in script]
        seconds, done = await _parse_round(session, cfg, texts, parses,
                                           cfg.parse_limit / rounds)
        parse_wall += seconds
        parse_finished = parse_finished and done

    t_sum, p_sum = turns.summary(), parses.summary()
    turns_per_s = t_sum["ok"] / turn_wall if turn_wall > 0 else None
    parses_per_s = p_sum["ok"] / parse_wall if parse_wall > 0 else None
    return {
        "users": cfg.users,
        "turns_per_user": cfg.turns,
        "rounds": rounds,
        "planned_turns": planned,
        "turns": {**t_sum, "seconds": round(turn_wall, 2), "finished": finished,
                  "per_second": turns_per_s},
        "parses": {**p_sum, "seconds": round(parse_wall, 2), "finished": parse_finished,
                   "concurrency": cfg.users, "per_second": parses_per_s},
        "ratio": ratio(turns_per_s, parses_per_s),
    }


async def _turns_round(session: aiohttp.ClientSession, cfg: Config, run_id: str,
                       scripts: List[List[str]], tally: Tally, limit: float,
                       urls: Optional[Sequence[str]] = None):
    """One citizen per script, all at once; (seconds, finished)."""

    async def citizen(i: int) -> None:
        sender = f"bench-{run_id}-cap-{i}"
        url = urls[i % len(urls)] if urls else None
        for text in scripts[i]:
            tally.add(await send_turn(session, cfg, sender, text, url=url))

    return await _all_at_once([citizen(i) for i in range(len(scripts))], limit)


async def _parse_round(session: aiohttp.ClientSession, cfg: Config, texts: List[str],
                       tally: Tally, limit: float):
    """The texts as /model/parse requests from `users` clients; (seconds, finished)."""
    position = iter(range(len(texts)))

    async def client() -> None:
        for i in position:  # shared iterator: each request is taken by one client
            tally.add(await send_parse(session, cfg, texts[i]))

    return await _all_at_once([client() for _ in range(cfg.users)], limit)


async def _all_at_once(workers: List, limit: float):
    """Runs the coroutines concurrently for at most `limit` seconds; (seconds until the
    last one finished or the limit, whether all finished)."""
    start = time.perf_counter()
    finished = await _bounded([asyncio.create_task(w) for w in workers], limit) == 0
    return time.perf_counter() - start, finished


# -- 2. open load ---------------------------------------------------------------------


@dataclass
class _Slot:
    sender: str
    script: List[str]
    position: int = 0


async def open_load(session: aiohttp.ClientSession, cfg: Config, run_id: str) -> Dict:
    """Poisson arrivals at open_rate over open_conversations live conversations.

    Each arrival goes to a random conversation not waiting for a reply; when all are busy
    it is queued and sent by the next conversation to free up, its latency counted from
    its arrival. A conversation whose citizen has said all `turns` lines is taken over by
    a new citizen (new sender), so 60 ordinary conversations stay live throughout.
    """
    rng = random.Random(cfg.seed)
    tally = Tally()
    citizens = [0]

    def new_citizen() -> _Slot:
        n = citizens[0]
        citizens[0] += 1
        return _Slot(f"bench-{run_id}-open-{n}", conversation(n, cfg.turns))

    slots = [new_citizen() for _ in range(cfg.open_conversations)]
    idle: List[int] = list(range(len(slots)))
    queue: Deque[float] = deque()
    counts = {"arrivals": 0, "queued": 0, "max_queue": 0}
    in_flight: set = set()
    last_done = [0.0]

    async def serve(k: int, arrival: float) -> None:
        while True:
            slot = slots[k]
            if slot.position >= len(slot.script):
                slot = slots[k] = new_citizen()
            text = slot.script[slot.position]
            slot.position += 1
            tally.add(await send_turn(session, cfg, slot.sender, text, since=arrival))
            last_done[0] = time.perf_counter()
            if not queue:
                idle.append(k)
                return
            arrival = queue.popleft()

    start = time.perf_counter()
    end = start + cfg.open_seconds
    next_arrival = start + rng.expovariate(cfg.open_rate)
    while next_arrival < end:
        delay = next_arrival - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        counts["arrivals"] += 1
        if idle:
            k = idle.pop(rng.randrange(len(idle)))
            task = asyncio.create_task(serve(k, next_arrival))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        else:
            queue.append(next_arrival)
            counts["queued"] += 1
            counts["max_queue"] = max(counts["max_queue"], len(queue))
        next_arrival += rng.expovariate(cfg.open_rate)
    arrivals_end = time.perf_counter()

    cancelled = await _bounded(list(in_flight), cfg.open_drain)
    unfinished = cancelled + len(queue)  # replies never received: in flight or still queued
    summary = tally.summary()
    span = (last_done[0] or arrivals_end) - start
    return {
        "rate": cfg.open_rate,
        "conversations": cfg.open_conversations,
        "seconds": cfg.open_seconds,
        **counts,
        "offered_per_second": counts["arrivals"] / cfg.open_seconds,
        "achieved_per_second": summary["ok"] / span if span > 0 else None,
        "unfinished": unfinished,
        "drained": unfinished == 0,
        "citizens": citizens[0],
        **summary,
    }


# -- 3. growth ------------------------------------------------------------------------


async def growth(session: aiohttp.ClientSession, cfg: Config, run_id: str) -> Dict:
    """One conversation of growth_turns turns, one after another. Its last ten lines
    repeat its first ten, so early and late turns compare the same messages."""
    script = growth_script(cfg.growth_turns)
    sender = f"bench-{run_id}-growth"
    latencies: List[Optional[float]] = []
    errors: Counter = Counter()
    deadline = time.perf_counter() + cfg.growth_limit
    for text in script:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        try:
            result = await asyncio.wait_for(send_turn(session, cfg, sender, text), remaining)
        except asyncio.TimeoutError:
            errors["time limit"] += 1
            break
        latencies.append(result.seconds * 1000 if result.ok else None)
        if not result.ok:
            errors[result.error] += 1

    n = cfg.growth_turns

    def window(first: int, last: int) -> Optional[float]:
        """Median latency of turns first..last (1-based, inclusive)."""
        values = [v for v in latencies[first - 1:last] if v is not None]
        return median(values) if values else None

    early_mid, late_mid = 5, n - 5
    out = {
        "turns": n,
        "completed": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "latencies_ms": [None if v is None else round(v, 2) for v in latencies],
        "first10_ms": window(1, 10),
        "last10_ms": window(n - 9, n),
        "early_turn": early_mid,
        "late_turn": late_mid,
        "early_ms": window(early_mid - 2, early_mid + 2),
        "late_ms": window(late_mid - 2, late_mid + 2),
    }
    out["ratio_10"] = ratio(out["last10_ms"], out["first10_ms"])
    out["ratio"] = ratio(out["late_ms"], out["early_ms"])
    return out


# -- 4. a long message beside a normal conversation -------------------------------------

LONG_MESSAGE_CHARS = 100_000
NEIGHBOUR_TURNS = 40


async def long_neighbour(session: aiohttp.ClientSession, cfg: Config, run_id: str) -> Dict:
    """A normal conversation's turn latency alone, then while another sender sends
    100,000-character messages back to back. Text is cut before any per-character work
    (bot/text.py, the channels), so the neighbour should cost the normal turns nothing."""
    long_text = ("居住证要什么材料" + "麻烦您了，" * LONG_MESSAGE_CHARS)[:LONG_MESSAGE_CHARS]

    async def normal(label: str) -> Tally:
        tally = Tally()
        for n, text in enumerate(conversation(11, NEIGHBOUR_TURNS)):
            tally.add(await send_turn(session, cfg, f"bench-{run_id}-{label}", text))
        return tally

    alone = await normal("alone")
    stop = asyncio.Event()
    long_tally = Tally()

    async def flood() -> None:
        while not stop.is_set():
            long_tally.add(await send_turn(session, cfg, f"bench-{run_id}-long", long_text))

    flooding = asyncio.create_task(flood())
    beside = await normal("beside")
    stop.set()
    await _bounded([flooding], cfg.request_timeout)
    a, b = alone.summary(), beside.summary()
    return {"turns": NEIGHBOUR_TURNS, "alone": a, "beside": b, "long": long_tally.summary(),
            "p50_ratio": ratio(b["latency"]["p50_ms"], a["latency"]["p50_ms"])}
