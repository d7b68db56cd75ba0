"""The conformance plugin in Python: the same families as the Rust one
(tests/plugins/conformance), so that the three languages' SDKs can be
compared byte for byte through the exporter."""

import math

from wasm_exporter_sdk import (
    InvalidConfig, Timestamp, counter, exemplar, export, gauge, gauge_histogram,
    histogram, info, native_histogram, stateset, summary, unknown,
)

CREATED = Timestamp(seconds=1_700_000_000, nanoseconds=250_000_000)


def families(prefix, collects):
    def p(name):
        return f"{prefix}_{name}"

    out = []
    calls = counter(p("collects_total"), "Calls of collect since init.")
    calls.add_counter([], collects)
    out.append(calls)

    requests = counter(
        p("requests_total"),
        "Requests with \"quotes\", a backslash \\ and a\nnewline in the help.",
        labels=["method", "path"],
    )
    requests.add_counter(
        ["GET", "/a\"quoted\"/b\\c\nd"], 1027,
        exemplar=exemplar([("trace_id", "4bf92f3577b34da6")], 0.67,
                          Timestamp(seconds=1_700_000_100, nanoseconds=500_000_000)),
    ).with_created(CREATED)
    requests.add_counter(["POST", "/ünïcödé/日本語"], 3).with_created(CREATED)
    requests.add_counter(["PUT", ""], 0)
    out.append(requests)

    temperature = gauge(p("temperature_celsius"), "Temperature by sensor.",
                        unit="celsius", labels=["sensor"])
    temperature.add_gauge(["ambient"], 21.5)
    temperature.add_gauge(["cold"], -40.0)
    temperature.add_gauge(["tiny"], 1e-05)
    temperature.add_gauge(["huge"], 1.5e21)
    temperature.add_gauge(["broken"], math.nan)
    temperature.add_gauge(["hot"], math.inf)
    temperature.add_gauge(["frozen"], -math.inf)
    temperature.add_gauge(["stamped"], 19.25).with_timestamp(
        Timestamp(seconds=1_700_000_200, nanoseconds=123_000_000))
    out.append(temperature)

    mystery = unknown(p("mystery"), "A value of unknown type.")
    mystery.add_unknown([], 42.0)
    out.append(mystery)

    latency = histogram(p("request_duration_seconds"), "Request latency.",
                        unit="seconds", labels=["handler"])
    latency.add_histogram(
        ["/api"],
        [(0.005, 1), (0.01, 3), (0.1, 7), (1.0, 9), (math.inf, 10)], 4.2, 10,
        exemplars={
            2: exemplar([("trace_id", "a1b2"), ("span_id", "c3")], 0.07, CREATED),
            4: exemplar([("trace_id", "ff")], 2.5),
        },
    ).with_created(CREATED)
    latency.add_histogram(["/empty"], [(math.inf, 0)], 0.0, 0)
    out.append(latency)

    queue = gauge_histogram(p("queue_wait_seconds"), "Age of queued jobs.", unit="seconds")
    queue.add_gauge_histogram([], [(1.0, 2), (10.0, 5), (math.inf, 6)], 31.5, 6)
    out.append(queue)

    rpc = summary(p("rpc_duration_seconds"), "RPC latency.", unit="seconds",
                  labels=["service"])
    rpc.add_summary(["idle"], [(0.5, math.nan), (0.99, math.nan)], 0.0, 0).with_created(CREATED)
    rpc.add_summary(["busy"], [(0.5, 0.0001), (0.9, 0.002), (0.99, 0.03)], 12.5, 1042)
    out.append(rpc)

    build = info(p("build_info"), "Build information.", labels=["version", "revision"])
    build.add_info(["1.2.3", "abc\"def"])
    out.append(build)

    mode = stateset(p("mode"), "Operating mode.", labels=["unit"])
    mode.add_stateset(["a"], [("active", True), ("standby", False), ("failed", False)])
    out.append(mode)

    native = histogram(p("native_duration_seconds"), "Latency in native buckets.",
                       unit="seconds", labels=["handler"])
    native.add_native_histogram(["/both"], native_histogram(
        schema=0, zero_threshold=0.001, zero_count=2,
        negative=[(-1, 1)], positive=[(0, 3), (1, 1), (5, 2)],
        count=9, sum=40.5,
        exemplars=[exemplar([("trace_id", "n1")], 24.0, CREATED)],
        classic=[(1.0, 6), (math.inf, 9)],
    )).with_created(CREATED)
    native.add_native_histogram(["/native_only"], native_histogram(
        schema=3, zero_threshold=2.0 ** -128, positive=[(8, 1), (9, 1), (11, 1)],
        count=3, sum=5.5,
    ))
    native.add_native_histogram(["/unused"], native_histogram(schema=3, count=0, sum=0.0))
    out.append(native)

    utf8 = gauge(f"{prefix}.utf8.temperature",
                 "A name with dots, and label names a legacy scraper cannot read.",
                 labels=["room.name", 'sensor "id"', "plain"])
    utf8.add_gauge(["kitchen", "t-1", "x"], 21.0)
    utf8.add_gauge(["küche", "t-2", "y"], 19.5)
    out.append(utf8)
    return out


class Conformance:
    def __init__(self, config):
        unknown_keys = set(config) - {"prefix", "fail_in_collect"}
        if unknown_keys:
            raise InvalidConfig(f"unknown field {sorted(unknown_keys)[0]!r}")
        self.prefix = config.get("prefix", "conformance")
        if not self.prefix:
            raise InvalidConfig("prefix must not be empty")
        self.collects = 0
        # For the test of error reports: collect raises from a helper.
        self.fail = bool(config.get("fail_in_collect", False))

    def collect(self):
        self.collects += 1
        if self.fail:
            return broken_helper()
        return families(self.prefix, self.collects)


def broken_helper():
    return {}["missing key"]


Collector = export(Conformance, name="conformance", version="0.1.0",
                   description="Every metric kind, in Python")
