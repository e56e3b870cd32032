"""CPU time of the servers, by kind of process, over a load phase (Linux /proc only).

A kind ("rasa", "nginx", …) is the processes listening on its ports plus all their
descendants (bench/memory.py finds them). A snapshot reads utime + stime of each of those
processes (/proc/<pid>/stat, all threads included), the bench's own process (the load
generator) and the machine's busy time (/proc/stat). The difference of two snapshots,
divided by the turns answered in between, is the CPU a turn costs in each part.

Processes found only in the later snapshot (a PostgreSQL backend opened during the phase)
count with all their time; processes that ended during the phase are lost (their time is
not in any live process's stat), which the bench avoids by keeping the stack's processes
alive throughout a phase.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, Mapping, Optional, Set

from bench import memory

PROC = memory.PROC
#: Kernel clock ticks per second (the unit of /proc/<pid>/stat and /proc/stat).
HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: Not a part of the deployment: the bench's HTTP clients, on the same cores.
LOAD_GENERATOR = "load generator"
MACHINE = "machine"


def stat_ticks(stat: str) -> int:
    """utime + stime (fields 14 and 15) of a /proc/<pid>/stat line."""
    fields = stat[stat.rfind(")") + 2:].split()  # fields[0] is field 3 (state)
    return int(fields[11]) + int(fields[12])


def machine_ticks(proc_stat: str) -> Dict[str, int]:
    """Busy and total ticks of all CPUs from /proc/stat's first line (`cpu  user nice
    system idle iowait irq softirq steal …`; guest time is already in user)."""
    line = next(l for l in proc_stat.splitlines() if l.startswith("cpu "))
    values = [int(v) for v in line.split()[1:]]
    values += [0] * (8 - len(values))
    user, nice, system, idle, iowait, irq, softirq, steal = values[:8]
    busy = user + nice + system + irq + softirq + steal
    return {"busy": busy, "total": busy + idle + iowait}


def pid_ticks(pid: int) -> Optional[int]:
    try:
        return stat_ticks((PROC / str(pid) / "stat").read_text())
    except (OSError, IndexError, ValueError):
        return None


def processes(ports: Iterable[int], tree: Optional[Dict[int, int]] = None) -> Set[int]:
    """The processes listening on any of the ports, and all their descendants."""
    tree = memory.parents() if tree is None else tree
    found: Set[int] = set()
    for port in ports:
        for pid in memory.holders(memory.listening_inodes(port)):
            found.add(pid)
            found.update(memory.descendants(pid, tree))
    return found


@dataclass
class Snapshot:
    at: float
    pids: Dict[str, Dict[int, int]] = field(default_factory=dict)  # kind -> pid -> ticks
    machine: Dict[str, int] = field(default_factory=dict)


def snapshot(kinds: Mapping[str, Iterable[int]]) -> Snapshot:
    """Finds the processes of each kind (by their ports), then reads their CPU ticks, the
    load generator's and the machine's as close together as possible."""
    tree = memory.parents()
    found = {kind: processes(ports, tree) for kind, ports in kinds.items()}
    found[LOAD_GENERATOR] = {os.getpid()}
    snap = Snapshot(at=time.monotonic())
    for kind, pids in found.items():
        ticks = {pid: pid_ticks(pid) for pid in pids}
        snap.pids[kind] = {pid: t for pid, t in ticks.items() if t is not None}
    try:
        snap.machine = machine_ticks((PROC / "stat").read_text())
    except (OSError, StopIteration, ValueError):
        snap.machine = {}
    return snap


def ticks_between(before: Mapping[int, int], after: Mapping[int, int]) -> int:
    """CPU ticks spent between two snapshots of one kind: per process, what it gained
    (a process new in `after` counts with all its ticks)."""
    return sum(max(0, t - before.get(pid, 0)) for pid, t in after.items())


def phase(before: Snapshot, after: Snapshot, turns: int, hz: float = HZ) -> Dict:
    """CPU of each kind over a phase: seconds, seconds per turn, cores busy on average;
    the deployment's total (every kind except the load generator) and the machine's."""
    wall = after.at - before.at
    seconds = {kind: ticks_between(before.pids.get(kind, {}), pids) / hz
               for kind, pids in after.pids.items()}
    parts = [k for k in seconds if k != LOAD_GENERATOR]
    seconds["deployment"] = sum(seconds[k] for k in parts)
    if before.machine and after.machine:
        seconds[MACHINE] = (after.machine["busy"] - before.machine["busy"]) / hz
    return {
        **rates(seconds, turns, wall),
        "processes": {k: len(v) for k, v in after.pids.items()},
    }


def rates(seconds: Mapping[str, float], turns: int, wall: float) -> Dict:
    """CPU seconds of each kind over `wall` seconds and `turns` turns: per turn, and as
    cores busy on average."""
    return {
        "turns": turns,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": {k: round(v, 3) for k, v in seconds.items()},
        "cpu_s_per_turn": {k: (v / turns if turns else None) for k, v in seconds.items()},
        "cores_busy": {k: (v / wall if wall > 0 else None) for k, v in seconds.items()},
    }


def turns_per_core(cpu_s_per_turn: Optional[float]) -> Optional[float]:
    """Turns a second that one core fully busy with this work would serve."""
    return 1.0 / cpu_s_per_turn if cpu_s_per_turn else None
