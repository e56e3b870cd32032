"""Benchmark harness: capacity, latency, growth, memory and search against the running
assistant (`make bench` runs `python -m bench`; `python -m bench --help` lists options).

It is a measurement, not a test: targets are printed with PASS/FAIL but the exit status is
0 unless the stack could not be reached or started (2) or a section itself crashed (3).
All traffic goes to loopback ports only.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
