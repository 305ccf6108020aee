"""Checks a wsp-load --json file against the schema the README documents, then prints a few
figures as "name value" lines for the test to assert on. Exit status 1 with the first problem
when a field is missing or has the wrong type."""
import json
import sys

NUMBER = (int, float)
HISTOGRAM = {"count": int, "min": NUMBER, "mean": NUMBER, "p50": NUMBER, "p90": NUMBER,
             "p99": NUMBER, "p99_9": NUMBER, "p99_99": NUMBER, "max": NUMBER, "buckets": list}
ERRORS = {k: int for k in ("connect", "handshake", "mismatch", "closed", "protocol", "lost")}
SCHEMA = {
    "tool": str, "schema": int,
    "config": {"urls": list, "scenario": str, "mode": str, "pipeline": int, "fanout_pace": str,
               "rate": NUMBER, "batch": int, "batch_wait_us": int,
               "threads": int, "connections": int, "connect_rate": NUMBER, "duration_s": NUMBER,
               "warmup_s": NUMBER, "size": str, "text": bool, "payload": str, "payload_seed": int,
               "max_errors": int},
    "phases_s": {"load_start": NUMBER, "window_start": NUMBER, "window_end": NUMBER,
                 "end": NUMBER, "window": NUMBER, "interrupted": bool},
    "connections": {"requested": int, "opened": int},
    "messages": {"sent": int, "received": int, "received_in_window": int, "per_second": NUMBER,
                 "payload_bytes_per_second": NUMBER, "foreign": int},
    "deflate": {"offered": str, "negotiated_connections": int, "messages_compressed": int,
                "bytes_before_compression": int, "bytes_after_compression": int,
                "messages_inflated": int, "bytes_before_inflation": int,
                "bytes_after_inflation": int},
    "latency_us": HISTOGRAM, "connect_time_us": HISTOGRAM, "handshake_time_us": HISTOGRAM,
    "fanout": {"pace_timeouts": int},
    "errors": ERRORS, "errors_total": int, "first_errors": dict,
    "cpu": {"user_s": NUMBER, "system_s": NUMBER, "percent_of_core": NUMBER,
            "us_per_message": (int, float, type(None)),
            "server_percent_of_core": (int, float, type(None))},
    "series": list, "threads": list, "slo": list, "passed": bool, "exit_status": int,
}
THREAD = {"thread": int, "opened": int, "sent": int, "received": int, "received_in_window": int,
          "errors": int, "latency_count": int, "p50_us": NUMBER, "p99_us": NUMBER, "max_us": NUMBER}
SERIES = {"second": int, "length_s": NUMBER, "sent": int, "received": int, "open": int, "in_window": bool,
          "errors": ERRORS, "latency_count": int, "p50_us": NUMBER, "p99_us": NUMBER,
          "max_us": NUMBER}


def check(value, schema, where):
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: not an object")
        for key, sub in schema.items():
            if key not in value:
                raise ValueError(f"{where}.{key}: missing")
            check(value[key], sub, f"{where}.{key}")
    elif schema is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{where}: not an integer: {value!r}")
    elif not isinstance(value, schema) or (isinstance(value, bool) and schema is not bool):
        raise ValueError(f"{where}: wrong type: {value!r}")


def main():
    with open(sys.argv[1]) as f:
        report = json.load(f)
    try:
        check(report, SCHEMA, "$")
        if not report["series"]:
            raise ValueError("$.series: empty")
        for i, point in enumerate(report["series"]):
            check(point, SERIES, f"$.series[{i}]")
        if report["config"]["fanout_pace"] not in ("all", "sender"):
            raise ValueError("$.config.fanout_pace: not all or sender")
        if len(report["threads"]) != report["config"]["threads"]:
            raise ValueError("$.threads: not one per thread")
        for i, thread in enumerate(report["threads"]):
            check(thread, THREAD, f"$.threads[{i}]")
        if sum(t["received"] for t in report["threads"]) != report["messages"]["received"]:
            raise ValueError("$.threads: received does not add up")
        for b in report["latency_us"]["buckets"]:
            if len(b) != 3 or not b[0] <= b[1]:
                raise ValueError(f"$.latency_us.buckets: bad bucket {b!r}")
        if sum(b[2] for b in report["latency_us"]["buckets"]) != report["latency_us"]["count"]:
            raise ValueError("$.latency_us.buckets: counts do not add up to count")
    except ValueError as problem:
        print(f"schema: {problem}")
        sys.exit(1)
    print("schema ok")
    print("p99_us", report["latency_us"]["p99"])
    print("latency_count", report["latency_us"]["count"])
    print("sent", report["messages"]["sent"])
    print("received", report["messages"]["received"])
    print("opened", report["connections"]["opened"])
    print("payload", report["config"]["payload"])
    print("fanout_pace", report["config"]["fanout_pace"])
    print("pace_timeouts", report["fanout"]["pace_timeouts"])
    for key, value in report["deflate"].items():
        print("deflate." + key, value)
    for kind, count in report["errors"].items():
        print("errors." + kind, count)
    print("exit_status", report["exit_status"])


main()
