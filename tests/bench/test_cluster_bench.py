"""The arithmetic of `make bench CLUSTER=1` (bench/cluster.py, bench/cpu.py): CPU per
turn from /proc snapshots, the alternating order, merged runs, nginx's overhead, the 2/1
ratio, and that the report renders and the results file keeps its other sections."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import cluster, cpu, report

# /proc/<pid>/stat of a process whose name has a space and a parenthesis in it:
# utime (field 14) = 250, stime (field 15) = 50.
STAT = ("4242 (rasa (main) x) S 1 4242 4242 0 -1 4194560 9000 0 0 0 250 50 0 0 20 0 "
        "12 0 1000 2000000000 300000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0")


def test_stat_ticks_reads_utime_and_stime_after_the_name():
    assert cpu.stat_ticks(STAT) == 300


def test_machine_ticks_counts_busy_time_but_not_idle_or_iowait():
    text = "cpu  100 5 40 1000 30 2 3 4 0 0\ncpu0 50 2 20 500 15 1 1 2 0 0\n"
    assert cpu.machine_ticks(text) == {"busy": 154, "total": 1184}


def test_ticks_between_counts_what_each_process_gained_and_new_ones_whole():
    before = {1: 100, 2: 50}
    after = {1: 130, 2: 50, 3: 7}  # 3 started during the phase
    assert cpu.ticks_between(before, after) == 30 + 0 + 7


def _snap(at, machine_busy, **kinds):
    return cpu.Snapshot(at=at, pids={k.replace("_", " "): v for k, v in kinds.items()},
                        machine={"busy": machine_busy, "total": 0})


def test_phase_gives_cpu_seconds_per_turn_per_kind_and_the_deployment_total():
    before = _snap(0.0, 0, rasa={10: 0}, nginx={20: 0}, load_generator={30: 0})
    after = _snap(10.0, 1500, rasa={10: 800}, nginx={20: 100, 21: 100},
                  load_generator={30: 300})
    p = cpu.phase(before, after, turns=200, hz=100)
    assert p["cpu_seconds"] == {"rasa": 8.0, "nginx": 2.0, "load generator": 3.0,
                                "deployment": 10.0, "machine": 15.0}
    assert p["cpu_s_per_turn"]["rasa"] == pytest.approx(0.04)
    assert p["cpu_s_per_turn"]["deployment"] == pytest.approx(0.05)  # not the load generator
    assert p["cores_busy"]["machine"] == pytest.approx(1.5)
    assert cpu.turns_per_core(p["cpu_s_per_turn"]["rasa"]) == pytest.approx(25.0)
    assert cpu.turns_per_core(None) is None
    assert cpu.phase(before, after, turns=0)["cpu_s_per_turn"]["rasa"] is None


def test_combine_cpu_adds_runs_before_dividing():
    a = {"turns": 100, "wall_seconds": 5.0, "cpu_seconds": {"rasa": 4.0, "machine": 9.0}}
    b = {"turns": 300, "wall_seconds": 15.0, "cpu_seconds": {"rasa": 8.0, "machine": 27.0,
                                                             "nginx": 1.0}}
    c = cluster.combine_cpu([a, b])
    assert c["turns"] == 400 and c["wall_seconds"] == 20.0
    assert c["cpu_s_per_turn"]["rasa"] == pytest.approx(12.0 / 400)
    assert c["cpu_s_per_turn"]["nginx"] == pytest.approx(1.0 / 400)
    assert c["cores_busy"]["machine"] == pytest.approx(1.8)
    assert cluster.combine_cpu([]) is None


def test_snapshot_of_this_process_reads_the_load_generator_and_the_machine():
    snap = cpu.snapshot({"nothing": []})
    assert snap.pids["nothing"] == {}
    assert list(snap.pids[cpu.LOAD_GENERATOR]) == [os.getpid()]
    assert snap.machine["total"] >= snap.machine["busy"] > 0


def test_targets_alternate_so_that_a_drift_falls_on_both():
    assert cluster.alternating(2) == ["nginx", "direct"]
    assert cluster.alternating(4) == ["nginx", "direct", "direct", "nginx"]
    assert cluster.alternating(6)[4:] == ["nginx", "direct"]


def _cap(ok, seconds, p50, p95, errors=0, finished=True):
    return {"turns": {"ok": ok, "seconds": seconds, "errors": errors,
                      "error_kinds": {"timeout": errors} if errors else {},
                      "empty_replies": 0, "finished": finished, "per_second": ok / seconds,
                      "latency": {"p50_ms": p50, "p95_ms": p95}}}


def test_merged_capacity_is_turns_over_the_time_they_took():
    merged = cluster.merge_capacity([_cap(500, 20.0, 100.0, 300.0),
                                     _cap(480, 30.0, 140.0, 500.0, errors=20, finished=False)])
    assert merged["per_second"] == pytest.approx(980 / 50.0)  # not the mean of 25 and 16
    assert merged["p50_ms"] == pytest.approx(120.0) and merged["p95_ms"] == pytest.approx(400.0)
    assert merged["errors"] == 20 and merged["error_kinds"] == {"timeout": 20}
    assert merged["finished"] is False and merged["runs"] == 2


def test_overhead_is_p50_through_nginx_minus_p50_direct_and_the_median_pair_difference():
    pairs = [(0.041, 0.040), (0.030, 0.029), (0.052, 0.050), (None, 0.045), (0.060, None)]
    o = cluster.overhead(pairs)
    # through nginx 30, 41, 52, 60 ms → p50 46.5; direct 29, 40, 45, 50 → p50 42.5
    assert o["nginx_p50_ms"] == pytest.approx(46.5) and o["direct_p50_ms"] == pytest.approx(42.5)
    assert o["overhead_p50_ms"] == pytest.approx(4.0)
    assert o["median_pair_difference_ms"] == pytest.approx(1.0)  # 1, 1, 2 ms: complete pairs
    assert o["pairs"] == 5 and o["failed"] == 2
    assert cluster.overhead([])["overhead_p50_ms"] is None


def _run(n, through, direct, busy, rasa_cpu, rss):
    return {
        "capacity": {"nginx": {"per_second": through, "p50_ms": 900.0, "p95_ms": 1500.0},
                     "direct": {"per_second": direct}},
        "cpu": {"capacity_nginx": {
            "cpu_s_per_turn": {"rasa": rasa_cpu, "nginx": 0.001, "deployment": rasa_cpu + 0.01},
            "cores_busy": {"machine": busy}}},
        "open": {"rate": 14.0, "arrivals": 560, "errors": 1, "unfinished": 2,
                 "latency": {"p50_ms": 60.0 * n, "p95_ms": 200.0}},
        "overhead": {"overhead_p50_ms": 0.8, "median_pair_difference_ms": 0.5},
        "memory": {"rasa": [{"found": True, "total_rss_mb": rss}] * n,
                   "actions": [{"found": True, "total_rss_mb": 140.0}] * 2,
                   "nginx": {"found": True, "total_rss_mb": 12.0}},
    }


def test_compare_gives_the_ratio_the_core_ceiling_and_the_sizing_numbers():
    runs = {"1": _run(1, 20.0, 21.0, 1.6, 0.04, 1100.0),
            "2": _run(2, 23.0, 24.0, 1.95, 0.05, 1000.0)}
    c = cluster.compare(runs, cores=2)
    assert c["ratio_nginx"] == pytest.approx(1.15)
    assert c["ratio_direct"] == pytest.approx(24.0 / 21.0)
    assert c["core_ceiling"] == pytest.approx(1.25)
    one = c["per_instances"]["1"]
    assert one["turns_per_busy_core"] == pytest.approx(12.5)
    assert one["turns_per_core_rasa"] == pytest.approx(25.0)
    assert one["turns_per_core_deployment"] == pytest.approx(20.0)
    assert one["open_failed"] == 3 and one["rss_mb_nginx"] == 12.0
    assert c["per_instances"]["2"]["rss_mb_per_rasa"] == pytest.approx(1000.0)
    # a failed second start leaves no ratio, not an error
    assert cluster.compare({"1": runs["1"]}, cores=2)["ratio_nginx"] is None


def test_the_report_renders_both_instance_counts_and_the_readme_lines():
    r = {"config": {"open_rate": 14.0, "users": 50, "action_instances": 2},
         "runs": {}, "errors": {}, "repeat": "python -m bench --cluster"}
    r["comparison"] = cluster.compare({"1": _run(1, 20.0, 21.0, 1.6, 0.04, 1100.0),
                                       "2": _run(2, 23.0, 24.0, 1.95, 0.05, 1000.0)}, cores=2)
    r["summary_lines"] = report.cluster_summary_lines(r)
    text = report.cluster_section(r)
    assert "1.15×" in text and "at most 1.25×" in text and "+0.80" in text and "+0.50" in text
    assert "40.0" in text  # Rasa CPU ms per turn
    assert any("1.15×" in line for line in r["summary_lines"])
    # an empty run (the stack never started) still renders
    empty = {"config": {}, "comparison": cluster.compare({}, 2),
             "errors": {"1": "no model"}}
    assert "no model" in report.cluster_section(empty)


def test_results_keep_the_other_sections(tmp_path: Path):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"capacity": {"ratio": 0.6}}), encoding="utf-8")
    cluster.write(out, {"runs": {}})
    assert json.loads(out.read_text()) == {"capacity": {"ratio": 0.6}, "cluster": {"runs": {}}}


def test_each_instance_count_gets_its_own_ports_database_and_no_event_broker(tmp_path):
    svc = cluster.services()
    assert svc["DATABASE_URL"].endswith("/govbot_bench") and svc["REDIS_URL"].endswith("/6")
    two = cluster.Topology(2)
    assert two.rasa_ports == [25005, 25006] and two.action_ports == [25055, 25056]
    env = two.env(svc, tmp_path)
    assert env["RASA_INSTANCES"] == "2" and env["EDGE_PORT"] == "28080"
    assert env["RABBITMQ_URL"] is None and env["RASA_URL"] is None  # removed, not inherited
    assert set(two.kinds(svc)["nginx"]) == {28080, 25004, 25054}
    assert "rabbitmq" not in two.kinds(svc) and 28790 not in two.all_ports()


def test_with_the_stream_rasa_publishes_to_a_stream_of_the_bench_and_its_parts_are_measured(
        tmp_path):
    svc = cluster.services()
    topo = cluster.Topology(2, stream=True)
    env = topo.env(svc, tmp_path)
    assert env["RABBITMQ_URL"] == svc["RABBITMQ_URL"] and env["EVENT_STREAM"] == "govbot-bench"
    assert env["STATS_PORT"] == "28790" and 28790 in topo.all_ports()
    kinds = topo.kinds(svc)
    assert kinds["rabbitmq"] == [5672] and kinds["stats consumer"] == [28790]


def test_the_report_says_how_far_the_stats_consumer_fell_behind():
    run = _run(1, 20.0, 21.0, 1.6, 0.04, 1100.0)
    run["stream"] = {"buffered_in_rasa_after_load": 3000, "backlog_after_load": 120,
                     "buffered_in_rasa_left": 0, "backlog_left": 0, "drain_seconds": 1.5}
    run["memory"]["stats consumer"] = {"found": True, "total_rss_mb": 95.0}
    r = {"config": {"open_rate": 14.0, "users": 50, "action_instances": 2,
                    "event_broker": "RabbitMQ, stream govbot-bench"},
         "runs": {}, "errors": {}, "repeat": "python -m bench --cluster"}
    r["comparison"] = cluster.compare({"1": run}, cores=2)
    text = report.cluster_section(r)
    assert "events to RabbitMQ" in text and "no event broker" not in text
    assert "3000 events held by Rasa, 120 in the consumer's queue" in text
    assert "0 and 0 left after 1.5 s" in text
    assert any(line.startswith("stats consumer") and line.split()[-1] == "95"
               for line in text.splitlines())  # its memory


def test_a_gauge_is_read_from_prometheus_text():
    text = ("# HELP govbot_event_stream_buffered Events waiting\n"
            "# TYPE govbot_event_stream_buffered gauge\n"
            "govbot_event_stream_buffered 42.0\ngovbot_event_stream_buffered_x 1\n")
    assert cluster.gauge_value(text, "govbot_event_stream_buffered") == 42.0
    assert cluster.gauge_value("", "govbot_event_stream_buffered") is None
