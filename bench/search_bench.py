"""Matter search at the scale of a real city catalog.

In process: the index over the real catalog plus the 1,1xx real matter names of the shared
sample (bot/catalog/factory.scale_entries), queried the way citizens type: real names,
colloquial questions around aliases, one-character typos and Traditional characters.
Over HTTP: GET /api/matters/search of the running web app (which holds the catalog it
imported, so its matter count is reported next to the figure).
"""
from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import aiohttp

from bench import ROOT
from bench.config import Config
from bench.stats import latency_summary

PREFIXES = ("", "", "请问", "我想", "我要办", "办", "想问下")
QUESTIONS = ("要什么材料", "需要带什么", "要多久", "多少钱", "要钱吗", "在哪里办",
             "去哪办", "能网上办吗", "怎么办理", "流程是什么", "有什么条件", "", "？")
# Characters citizens mistype for each other (same pinyin or similar shape).
CONFUSIONS = {
    "住": "往", "证": "正", "保": "宝", "照": "招", "营": "赢", "执": "直", "许": "评",
    "登": "灯", "记": "纪", "户": "护", "籍": "藉", "卡": "咔", "医": "意", "险": "脸",
    "驾": "架", "驶": "使", "护": "户", "业": "页", "申": "伸", "领": "令", "补": "不",
    "换": "唤", "房": "方", "公": "工", "积": "级", "金": "今", "提": "题", "取": "娶",
    "社": "设", "会": "汇", "障": "章", "核": "合", "发": "法", "备": "被", "案": "按",
}
KINDS = (("name", 0.30), ("colloquial", 0.30), ("name_question", 0.10), ("typo", 0.15),
         ("traditional", 0.15))


def _ensure_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def scale_documents(catalog_dir: Path | None = None) -> Tuple[List[Dict], List[Dict]]:
    """(the catalog's documents, one minimal entry per further real matter name)."""
    _ensure_path()
    from bot.catalog.loader import read_catalog
    from bot.catalog.factory import scale_entries

    entries, problems = read_catalog(catalog_dir or ROOT / "data" / "catalog")
    if problems:
        raise RuntimeError("catalog problems:\n" + "\n".join(map(str, problems[:10])))
    documents = [e.data for e in entries]
    return documents, scale_entries({d["name"] for d in documents})


def build_scale_index(catalog_dir: Path | None = None):
    """(index, catalog documents, added real-name entries, seconds to build)."""
    start = time.perf_counter()
    documents, extra = scale_documents(catalog_dir)
    from bot.catalog.search import build_index

    index = build_index(documents + extra, ROOT / "data" / "reference")
    return index, documents, extra, time.perf_counter() - start


def _typo(word: str, rng: random.Random) -> str:
    positions = [i for i, ch in enumerate(word) if ch in CONFUSIONS]
    if positions:
        i = rng.choice(positions)
        return word[:i] + CONFUSIONS[word[i]] + word[i + 1:]
    i = rng.randrange(len(word))
    return word[:i] + rng.choice("的一是在了有和人这中大为上个国我以要他") + word[i + 1:]


def make_queries(documents: List[Dict], extra: List[Dict], count: int,
                 seed: int) -> List[Tuple[str, str]]:
    """(kind, query) pairs in the proportions of KINDS."""
    import opencc

    to_traditional = opencc.OpenCC("s2t")
    rng = random.Random(seed)
    names = [d["name"] for d in documents] + [d["name"] for d in extra]
    aliases = [a for d in documents for a in d.get("aliases") or []] or names
    colloquial_words = aliases + [d["name"] for d in documents]

    def colloquial() -> str:
        return rng.choice(PREFIXES) + rng.choice(colloquial_words) + rng.choice(QUESTIONS)

    makers = {
        "name": lambda: rng.choice(names),
        "colloquial": colloquial,
        "name_question": lambda: rng.choice(PREFIXES) + rng.choice(names) + rng.choice(QUESTIONS),
        "typo": lambda: _typo(rng.choice(colloquial_words + names), rng) + rng.choice(QUESTIONS),
        "traditional": lambda: to_traditional.convert(
            colloquial() if rng.random() < 0.6 else rng.choice(names)),
    }
    out: List[Tuple[str, str]] = []
    for kind, share in KINDS:
        out.extend((kind, makers[kind]()) for _ in range(round(count * share)))
    while len(out) < count:
        out.append(("colloquial", colloquial()))
    rng.shuffle(out)
    return out[:count]


def run_local(cfg: Config) -> Tuple[Dict, List[Tuple[str, str]]]:
    """Builds the scale index and times index.search for each query (the web API's
    call) and index.resolve (the actions' call)."""
    index, documents, extra, build_seconds = build_scale_index()
    queries = make_queries(documents, extra, cfg.search_queries, cfg.seed)
    search_s: List[float] = []
    resolve_s: List[float] = []
    by_kind: Dict[str, List[float]] = {}
    resolved = 0
    deadline = time.perf_counter() + cfg.search_limit
    for kind, query in queries:
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        index.search(query, limit=10)
        t1 = time.perf_counter()
        resolution = index.resolve(query)
        t2 = time.perf_counter()
        search_s.append(t1 - t0)
        resolve_s.append(t2 - t1)
        by_kind.setdefault(kind, []).append(t1 - t0)
        resolved += resolution.kind == "unique"
    return {
        "matters": len(index.matters),
        "catalog_matters": len(documents),
        "real_name_matters": len(extra),
        "build_seconds": round(build_seconds, 2),
        "queries": len(queries),
        "completed": len(search_s),
        "search": latency_summary(search_s),
        "resolve": latency_summary(resolve_s),
        "by_kind": {k: latency_summary(v) for k, v in by_kind.items()},
        "resolved_unique_share": resolved / len(search_s) if search_s else None,
        "examples": [q for _, q in queries[:8]],
    }, queries


async def run_http(session: aiohttp.ClientSession, cfg: Config,
                   queries: List[Tuple[str, str]]) -> Dict:
    """GET /api/matters/search over HTTP: N requests from C concurrent clients."""
    from bench.stack import get

    _, health = await get(session, f"{cfg.web_url}/healthz")
    texts = [q[:200] for _, q in queries][: cfg.http_search_requests] or ["居住证"]
    while len(texts) < cfg.http_search_requests:
        texts = texts + texts
    texts = texts[: cfg.http_search_requests]
    latencies: List[float] = []
    errors: Dict[str, int] = {}
    hits = [0]
    position = iter(range(len(texts)))
    url = f"{cfg.web_url}/api/matters/search"

    async def client() -> None:
        for i in position:
            t0 = time.perf_counter()
            try:
                async with session.get(url, params={"q": texts[i]}) as resp:
                    body = await resp.json(content_type=None)
                    elapsed = time.perf_counter() - t0
                    if resp.status == 200 and isinstance(body, dict):
                        latencies.append(elapsed)
                        hits[0] += bool(body.get("results"))
                    else:
                        errors[f"HTTP {resp.status}"] = errors.get(f"HTTP {resp.status}", 0) + 1
            except Exception as exc:  # noqa: BLE001
                name = "timeout" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
                errors[name] = errors.get(name, 0) + 1

    start = time.perf_counter()
    tasks = [asyncio.create_task(client()) for _ in range(cfg.http_search_concurrency)]
    _, pending = await asyncio.wait(tasks, timeout=cfg.http_search_limit)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    wall = time.perf_counter() - start
    return {
        "requests": len(texts),
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "concurrency": cfg.http_search_concurrency,
        "finished": not pending,
        "per_second": len(latencies) / wall if wall > 0 else None,
        "with_results_share": hits[0] / len(latencies) if latencies else None,
        "web_app_matters": health.get("matters") if isinstance(health, dict) else None,
        "latency": latency_summary(latencies),
    }
