"""Resident memory of each server, found by the port it listens on (Linux /proc only).

A listening socket's inode comes from /proc/net/tcp and /proc/net/tcp6; the processes
holding that socket are those with a /proc/<pid>/fd link to "socket:[inode]". A server's
memory is the VmRSS of the topmost such process plus that of all its descendants.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Set

PROC = Path("/proc")
LISTEN = "0A"


def listening_inodes(port: int) -> Set[str]:
    inodes: Set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10 or parts[3] != LISTEN:
                continue
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[9] != "0":
                inodes.add(parts[9])
    return inodes


def _pids() -> List[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]


def holders(inodes: Set[str]) -> Set[int]:
    wanted = {f"socket:[{i}]" for i in inodes}
    found: Set[int] = set()
    if not wanted:
        return found
    for pid in _pids():
        fd_dir = PROC / str(pid) / "fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(fd_dir / fd) in wanted:
                        found.add(pid)
                        break
                except OSError:
                    continue
        except OSError:  # gone, or another user's process
            continue
    return found


def parents() -> Dict[int, int]:
    out: Dict[int, int] = {}
    for pid in _pids():
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        out[pid] = int(fields[1])
    return out


def rss_kib(pid: int) -> Optional[int]:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return 0  # kernel threads and zombies have no VmRSS line


def cmdline(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def descendants(pid: int, tree: Dict[int, int]) -> List[int]:
    children: Dict[int, List[int]] = {}
    for child, parent in tree.items():
        children.setdefault(parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def server_memory(port: int) -> Dict:
    """RSS of the server listening on port: its own and with all descendants."""
    pids = holders(listening_inodes(port))
    if not pids:
        return {"port": port, "found": False}
    tree = parents()
    roots = sorted(p for p in pids if tree.get(p) not in pids)
    pid = roots[0]
    own = rss_kib(pid) or 0
    kids = descendants(pid, tree)
    kids_kib = sum(rss_kib(k) or 0 for k in kids)
    return {
        "port": port,
        "found": True,
        "pid": pid,
        "command": cmdline(pid)[:160],
        "rss_mb": round(own / 1024, 1),
        "children": len(kids),
        "children_rss_mb": round(kids_kib / 1024, 1),
        "total_rss_mb": round((own + kids_kib) / 1024, 1),
        "other_root_pids": roots[1:],
    }


def measure(ports: Dict[str, int]) -> Dict[str, Dict]:
    return {name: server_memory(port) for name, port in ports.items()}
