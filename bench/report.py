"""The plain-text report: one table per section, the comparison lines the README quotes,
and the targets with PASS/FAIL."""
from __future__ import annotations

import unicodedata
from typing import Dict, List, Optional, Sequence

TARGET_CAPACITY_RATIO = 0.5
TARGET_OPEN_P95_MS = 150.0
TARGET_OPEN_FAILED_SHARE = 0.01
TARGET_GROWTH_RATIO = 1.5
TARGET_RASA_RSS_MB = 1200.0  # 1.2 GB, MB = 2**20 bytes as ps/top report it


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title, "-" * _width(title)]
    for n, row in enumerate(cells):
        lines.append("  ".join(_pad(c, widths[i], right=i > 0) for i, c in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ms(value: Optional[float]) -> str:
    return "n/a" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def msu(value: Optional[float]) -> str:
    """Milliseconds with the unit, or n/a."""
    return "n/a" if value is None else f"{ms(value)} ms"


def num(value: Optional[float], digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def times(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def _lat_row(name: str, s: Dict) -> List[object]:
    lat = s.get("latency", s)
    return [name, s.get("ok", lat.get("count")), s.get("errors", ""), ms(lat.get("p50_ms")),
            ms(lat.get("p95_ms")), ms(lat.get("p99_ms")), ms(lat.get("max_ms"))]


LAT_HEADERS = ["", "ok", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"]


# -- sections ---------------------------------------------------------------------------


def capacity_section(c: Dict) -> str:
    t, p = c["turns"], c["parses"]
    rows = [
        ["whole turns (webhook)",
         f"{c.get('rounds', 1)} × {c['users']} users × {c['turns_per_user']} turns",
         t["ok"], t["errors"], f"{t['seconds']:.1f}", num(t["per_second"]),
         ms(t["latency"]["p50_ms"]), ms(t["latency"]["p95_ms"])],
        ["parse only (/model/parse)", f"{c.get('rounds', 1)} × {p['concurrency']} clients",
         p["ok"], p["errors"], f"{p['seconds']:.1f}", num(p["per_second"]),
         ms(p["latency"]["p50_ms"]), ms(p["latency"]["p95_ms"])],
    ]
    out = table("1. Capacity (closed loop, no pauses)",
                ["", "load", "ok", "errors", "seconds", "per s", "p50 ms", "p95 ms"], rows)
    notes = [f"turns/parses ratio: {times(c['ratio'])}"]
    if t["empty_replies"]:
        notes.append(f"turns with no bot message: {t['empty_replies']}")
    for label, part in (("turn", t), ("parse", p)):
        if part["error_kinds"]:
            notes.append(f"{label} errors: {part['error_kinds']}")
        if not part["finished"]:
            notes.append(f"{label} run hit its time limit (rate over the time limit)")
    return out + "\n" + "\n".join("  " + n for n in notes)


def open_section(o: Dict) -> str:
    rows = [
        ["arrivals (Poisson)", o["arrivals"]],
        ["offered rate, msg/s", num(o["offered_per_second"], 2)],
        ["achieved rate, turns/s", num(o["achieved_per_second"], 2)],
        ["queued (all conversations busy)", f"{o['queued']} (max {o['max_queue']} waiting)"],
        ["errors", f"{o['errors']} {o['error_kinds'] or ''}".strip()],
        ["unfinished at the end", o["unfinished"]],
        ["turns with no bot message", o["empty_replies"]],
        ["citizens (10-turn conversations)", o["citizens"]],
    ]
    lat = o["latency"]
    rows += [[f"latency {k}", msu(lat[f"{k}_ms"])] for k in ("p50", "p95", "p99", "max")]
    return table(f"2. Open load: {o['rate']:g} msg/s over {o['conversations']} live "
                 f"conversations for {o['seconds']:g} s (latency from arrival)",
                 ["", "value"], rows)


def growth_section(g: Dict) -> str:
    n = g["turns"]
    rows = [
        ["turns 1–10 (median)", ms(g["first10_ms"]), f"turns {n - 9}–{n} (median)",
         ms(g["last10_ms"]), times(g["ratio_10"])],
        [f"turn {g['early_turn']} (median of 5)", ms(g["early_ms"]),
         f"turn {g['late_turn']} (median of 5)", ms(g["late_ms"]), times(g["ratio"])],
    ]
    out = table(f"3. Growth: one conversation of {n} turns, sequential "
                f"({g['completed']} completed, {g['errors']} errors)",
                ["early", "ms", "late", "ms", "late/early"], rows)
    return out + "\n  (the last 10 turns repeat the first 10 lines, so only history length differs)"


def long_section(g: Dict) -> str:
    rows = [[label, part["ok"], part["errors"], ms(part["latency"]["p50_ms"]),
             ms(part["latency"]["p95_ms"])]
            for label, part in (("normal turns alone", g["alone"]),
                                ("normal turns beside 100 KB messages", g["beside"]),
                                ("the 100 KB messages", g["long"]))]
    out = table(f"4. A long message beside a normal conversation ({g['turns']} turns each)",
                ["", "ok", "errors", "p50 ms", "p95 ms"], rows)
    return out + f"\n  normal p50 beside / alone: {times(g['p50_ratio'])}"


def memory_section(m: Dict) -> str:
    before, after = m.get("before") or {}, m.get("after") or {}
    rows = []
    for name, a in after.items():
        b = before.get(name, {})
        if not a.get("found"):
            rows.append([name, a.get("port"), "not found", "", "", "", ""])
            continue
        rows.append([name, a["port"], a["pid"], num(b.get("total_rss_mb")), num(a["rss_mb"]),
                     f"{a['children']} / {num(a['children_rss_mb'])}", num(a["total_rss_mb"])])
    return table("4. Memory (VmRSS, MB = 2^20 bytes)",
                 ["server", "port", "pid", "after warm-up", "after load", "children / MB",
                  "total"], rows)


def search_section(s: Dict) -> str:
    parts = []
    local = s.get("local")
    if local:
        rows = [_lat_row("index.search (web API call)", {"ok": local["completed"], "errors": 0,
                                                          "latency": local["search"]}),
                _lat_row("index.resolve (actions' call)", {"ok": local["completed"], "errors": 0,
                                                          "latency": local["resolve"]})]
        rows += [_lat_row(f"  search: {k}", {"ok": v["count"], "errors": "", "latency": v})
                 for k, v in local["by_kind"].items()]
        parts.append(table(
            f"5a. Search in process: {local['matters']:,} matters ({local['catalog_matters']} "
            f"catalog + {local['real_name_matters']:,} real names), index built in "
            f"{local['build_seconds']} s, {local['completed']:,} queries", LAT_HEADERS, rows))
        parts[-1] += "\n  examples: " + " | ".join(local["examples"])
    http = s.get("http")
    if http:
        rows = [_lat_row("GET /api/matters/search", http)]
        parts.append(table(
            f"5b. Search over HTTP: {http['requests']} requests, {http['concurrency']} concurrent "
            f"(web app holds {http['web_app_matters']} matters)", LAT_HEADERS, rows))
    return "\n\n".join(parts)


# -- README lines and targets ------------------------------------------------------------


def summary_lines(r: Dict) -> List[str]:
    lines = []
    c = r.get("capacity")
    if c:
        lines.append(f"capacity: {num(c['turns']['per_second'])} turns/s vs "
                     f"{num(c['parses']['per_second'])} parses/s ({times(c['ratio'])})")
    o = r.get("open")
    if o:
        lat = o["latency"]
        lines.append(f"open load {o['rate']:g} msg/s: p50 {msu(lat['p50_ms'])}, "
                     f"p95 {msu(lat['p95_ms'])}, p99 {msu(lat['p99_ms'])} "
                     f"({o['errors']} errors, {o['unfinished']} unfinished of {o['arrivals']})")
    g = r.get("growth")
    if g:
        lines.append(f"growth: turn {g['early_turn']} {msu(g['early_ms'])} → turn "
                     f"{g['late_turn']} {msu(g['late_ms'])} ({times(g['ratio'])})")
    n = r.get("long")
    if n:
        lines.append(f"beside 100 KB messages: normal turns p50 {msu(n['beside']['latency']['p50_ms'])}"
                     f" vs {msu(n['alone']['latency']['p50_ms'])} alone ({times(n['p50_ratio'])})")
    m = (r.get("memory") or {}).get("after")
    if m:
        lines.append("memory: " + ", ".join(
            f"{name} {num(v['total_rss_mb'], 0) if v.get('found') else 'n/a'} MB"
            for name, v in m.items()))
    s = r.get("search") or {}
    local, http = s.get("local"), s.get("http")
    if local or http:
        matters = f"{local['matters']:,}" if local else "n/a"
        in_process = msu(local['search']['p95_ms']) if local else "n/a"
        over_http = msu(http['latency']['p95_ms']) if http else "n/a"
        note = f" (web app holds {http['web_app_matters']} matters)" if http else ""
        lines.append(f"search ({matters} matters): p95 {in_process} in process, "
                     f"{over_http} over HTTP{note}")
    return lines


def targets(r: Dict) -> List[Dict]:
    out = []

    def add(name: str, measured: str, ok: Optional[bool]) -> None:
        out.append({"target": name, "measured": measured,
                    "result": "n/a" if ok is None else ("PASS" if ok else "FAIL")})

    c = r.get("capacity")
    cap = c["ratio"] if c else None
    add(f"capacity ≥ {TARGET_CAPACITY_RATIO}× parse-only", times(cap),
        None if cap is None else cap >= TARGET_CAPACITY_RATIO)
    o = r.get("open")
    if o and o["latency"]["p95_ms"] is not None:
        failed = (o["errors"] + o["unfinished"]) / max(1, o["arrivals"])
        add(f"open load p95 ≤ {TARGET_OPEN_P95_MS:g} ms (and ≤ 1% failed)",
            f"{msu(o['latency']['p95_ms'])}, {failed:.1%} failed",
            o["latency"]["p95_ms"] <= TARGET_OPEN_P95_MS and failed <= TARGET_OPEN_FAILED_SHARE)
    else:
        add(f"open load p95 ≤ {TARGET_OPEN_P95_MS:g} ms (and ≤ 1% failed)", "n/a", None)
    g = r.get("growth")
    gr = g["ratio"] if g else None
    late = g["late_turn"] if g else r["config"]["growth_turns"] - 5
    add(f"growth ≤ {TARGET_GROWTH_RATIO}× (turn {late} vs turn 5)",
        times(gr), None if gr is None else gr <= TARGET_GROWTH_RATIO)
    rasa = ((r.get("memory") or {}).get("after") or {}).get("rasa") or {}
    mb = rasa.get("total_rss_mb") if rasa.get("found") else None
    add("≤ 1.2 GB (1,200 MB) per Rasa server", f"{num(mb, 0)} MB" if mb else "n/a",
        None if mb is None else mb <= TARGET_RASA_RSS_MB)
    return out


def render(r: Dict) -> str:
    blocks = []
    stack = r.get("stack")
    if stack:
        who = "started by the bench" if stack["started_by_bench"] else "already running"
        blocks.append(f"stack: {who}; model {stack.get('model_file')}; health {stack['health']}")
    w = r.get("warmup")
    if w:
        blocks.append(f"warm-up: {w['turns']['ok']} turns, {w['parses']['ok']} parses in "
                      f"{w['seconds']} s (first turn {msu(w['first_turn_ms'])}, "
                      f"{w['turns']['errors'] + w['parses']['errors']} errors)")
    for key, fn in (("capacity", capacity_section), ("open", open_section),
                    ("growth", growth_section), ("long", long_section),
                    ("memory", memory_section),
                    ("search", search_section)):
        if r.get(key):
            blocks.append(fn(r[key]))
    for section, text in (r.get("section_errors") or {}).items():
        blocks.append(f"section {section} FAILED TO RUN:\n{text}")
    for section, text in (r.get("skipped") or {}).items():
        blocks.append(f"section {section} skipped: {text}")
    lines = r.get("summary_lines") or []
    blocks.append("Summary (for the README)\n------------------------\n" + "\n".join(lines))
    rows = [[t["target"], t["measured"], t["result"]] for t in r.get("targets") or []]
    blocks.append(table("Targets (a measurement: the exit status does not depend on these)",
                        ["target", "measured", "result"], rows))
    blocks.append("repeat with:\n  " + r["repeat"])
    return "\n\n".join(blocks)


# -- the cluster (bench/cluster.py) -----------------------------------------------------

CPU_KINDS = ("rasa", "actions", "nginx", "postgres", "redis", "web + backend", "rabbitmq",
             "stats consumer", "deployment", "load generator", "machine")


def _cpu_ms(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value * 1000:.2f}" if value < 0.01 else \
        f"{value * 1000:.1f}"


def signed(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def _pair(a: Optional[float], b: Optional[float], fmt=ms) -> str:
    return f"{fmt(a)} / {fmt(b)}"


def cluster_section(r: Dict) -> str:
    c = r.get("comparison") or {}
    per = c.get("per_instances") or {}
    counts = sorted(per, key=int)
    cfg = r.get("config") or {}
    cores = c.get("cores")
    head = [""] + [f"{n} Rasa" for n in counts] + (["2 / 1"] if len(counts) > 1 else [])

    def row(label: str, key: str, fmt=num, with_ratio: Optional[str] = None) -> List[object]:
        out: List[object] = [label] + [fmt(per[n].get(key)) for n in counts]
        if len(counts) > 1:
            out.append(times(c.get(with_ratio)) if with_ratio else "")
        return out

    def pair_row(label: str, k1: str, k2: str) -> List[object]:
        out: List[object] = [label] + [_pair(per[n].get(k1), per[n].get(k2)) for n in counts]
        return out + ([""] if len(counts) > 1 else [])

    rate = cfg.get("open_rate")
    rows = [
        row("capacity through nginx, turns/s", "capacity_nginx", with_ratio="ratio_nginx"),
        row("capacity direct (client-balanced), turns/s", "capacity_direct",
            with_ratio="ratio_direct"),
        pair_row(f"capacity p50 / p95 ms ({cfg.get('users')} users, nginx)",
                 "capacity_p50_ms", "capacity_p95_ms"),
        pair_row(f"open load {num(rate)} msg/s via nginx: p50 / p95 ms",
                 "open_p50_ms", "open_p95_ms"),
        ["open load failed (errors + unfinished)"] + [
            f"{per[n].get('open_failed')} of {per[n].get('open_arrivals')}" for n in counts]
        + ([""] if len(counts) > 1 else []),
        row("nginx overhead, ms: p50 via nginx − p50 direct (one turn at a time)",
            "overhead_p50_ms", fmt=signed),
        row("  median of the pairs' differences, ms", "overhead_pair_ms", fmt=signed),
        row(f"cores busy in capacity (machine, of {cores})", "cores_busy",
            fmt=lambda v: num(v, 2)),
        row("turns/s per busy core (load generator too)", "turns_per_busy_core"),
    ]
    blocks = [table("Cluster: 1 vs 2 Rasa instances behind nginx ("
                    f"{cfg.get('action_instances')} action servers, PostgreSQL tracker store, "
                    "Redis lock store, "
                    + (f"events to {cfg['event_broker']}" if cfg.get("event_broker")
                       else "no event broker") + ")", head, rows)]
    cpu_rows = []
    for kind in CPU_KINDS:
        cpu_rows.append([kind] + [_cpu_ms((per[n].get("cpu_s_per_turn") or {}).get(kind))
                                  for n in counts])
    cpu_rows.insert(3, ["  nginx when citizens go direct"] + [
        _cpu_ms(per[n].get("nginx_cpu_s_per_turn_direct")) for n in counts])
    cpu_rows.append(["turns/s per core: Rasa alone"] + [
        num(per[n].get("turns_per_core_rasa")) for n in counts])
    cpu_rows.append(["turns/s per core: whole deployment"] + [
        num(per[n].get("turns_per_core_deployment")) for n in counts])
    blocks.append(table("CPU ms per turn by part (capacity runs through nginx; "
                        "deployment = all but the load generator)",
                        ["part"] + [f"{n} Rasa" for n in counts], cpu_rows))
    mem_rows = [
        ["per Rasa instance"] + [
            f"{num(per[n].get('rss_mb_per_rasa'), 0)} ("
            + ", ".join(num(v, 0) for v in per[n].get("rss_mb_rasa") or []) + ")"
            for n in counts],
        ["per action server"] + [num(per[n].get("rss_mb_per_action_server"), 0)
                                 for n in counts],
        ["nginx (master + workers)"] + [num(per[n].get("rss_mb_nginx"), 0) for n in counts],
        ["stats consumer"] + [num(per[n].get("rss_mb_stats"), 0) for n in counts],
        ["RabbitMQ (the machine's)"] + [num(per[n].get("rss_mb_rabbitmq"), 0) for n in counts],
    ]
    blocks.append(table("Memory after the load (VmRSS, MB)", [""] + [f"{n} Rasa"
                                                               for n in counts], mem_rows))
    notes = []
    if c.get("core_ceiling"):
        notes.append(f"1 instance already kept {num(per['1'].get('cores_busy'), 2)} of "
                     f"{cores} cores busy: a second instance can add at most "
                     f"{times(c['core_ceiling'])} here (load generator included)")
    notes.append("direct: citizen i to instance i mod n, Rasa → actions still through nginx; "
                 "nginx overhead: the client → Rasa hop only")
    for n in counts:
        stream = per[n].get("stream")
        if stream:
            notes.append(f"{n} Rasa, event stream when the capacity runs ended: "
                         f"{stream.get('buffered_in_rasa_after_load')} events held by Rasa, "
                         f"{stream.get('backlog_after_load')} in the consumer's queue; "
                         f"{stream.get('buffered_in_rasa_left')} and "
                         f"{stream.get('backlog_left')} left after "
                         f"{num(stream.get('drain_seconds'))} s")
    for n, text in (r.get("errors") or {}).items():
        notes.append(f"{n} instance(s) FAILED: {text}")
    for n in counts:
        run = (r.get("runs") or {}).get(n) or {}
        for target, cap in (run.get("capacity") or {}).items():
            if cap.get("errors"):
                notes.append(f"{n} Rasa, capacity {target}: {cap['errors']} errors "
                             f"{cap['error_kinds']}")
            if not cap.get("finished", True):
                notes.append(f"{n} Rasa, capacity {target}: hit its time limit")
    blocks.append("\n".join("  " + n for n in notes))
    lines = r.get("summary_lines") or []
    blocks.append("Summary (for the README)\n------------------------\n" + "\n".join(lines))
    blocks.append("repeat with:\n  " + r.get("repeat", ""))
    return "\n\n".join(blocks)


def cluster_summary_lines(r: Dict) -> List[str]:
    c = r.get("comparison") or {}
    per = c.get("per_instances") or {}
    one, two = per.get("1") or {}, per.get("2") or {}
    rate = (r.get("config") or {}).get("open_rate")
    lines = []
    if one or two:
        lines.append(
            f"cluster capacity through nginx: 1 Rasa {num(one.get('capacity_nginx'))}, "
            f"2 Rasa {num(two.get('capacity_nginx'))} turns/s ({times(c.get('ratio_nginx'))}; "
            f"direct {times(c.get('ratio_direct'))}) on {c.get('cores')} cores, "
            f"{num(one.get('cores_busy'), 2)} busy with 1 Rasa")
        lines.append(f"open load {num(rate)} msg/s through nginx: p95 "
                     f"{msu(one.get('open_p95_ms'))} (1 Rasa) vs {msu(two.get('open_p95_ms'))} "
                     f"(2 Rasa)")
        cpu1 = one.get("cpu_s_per_turn") or {}
        lines.append(
            "nginx per turn: " + ", ".join(
                f"{signed(p.get('overhead_p50_ms'))} ms p50 ({signed(p.get('overhead_pair_ms'))}"
                f" median of pairs; {n} Rasa)" for n, p in sorted(per.items()))
            + f"; {_cpu_ms(cpu1.get('nginx'))} CPU ms")
        lines.append(
            "CPU ms per turn (1 Rasa): " + ", ".join(
                f"{k} {_cpu_ms(cpu1.get(k))}" for k in ("rasa", "actions", "nginx", "postgres",
                                                         "redis", "rabbitmq", "stats consumer",
                                                         "deployment") if k in cpu1)
            + f"; turns/s per core: Rasa {num(one.get('turns_per_core_rasa'))}, "
              f"deployment {num(one.get('turns_per_core_deployment'))}")
        lines.append(f"RSS per Rasa instance: {num(one.get('rss_mb_per_rasa'), 0)} MB (1 Rasa), "
                     f"{num(two.get('rss_mb_per_rasa'), 0)} MB (2 Rasa)")
    return lines
