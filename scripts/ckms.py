"""How faithful the Rust latency simulator is (`make bench`'s `ckms` step,
or `python3 scripts/bench.py ckms`): one run of three programs side by side.

- the Rust port (`latency-simulator`, seed 42) and the same simulation on
  client_golang's own Summary and Histogram (`tests/go/simulator`, built as
  a Go plugin: the Rust port's random stream and time model, seed 42),
  served by one exporter and told apart by an `impl` label: both see the
  same observations at the same moments, so their quantiles differ only by
  what the Rust port's CKMS summary does differently from client_golang's;
- the seed program (client_golang's `examples/random`), its own random
  stream and real sleeps: its rates and quantiles are the reference for the
  model, not for the arithmetic.

Every few seconds the exporter is scraped; at the end the seed program too.
"""

import re
import time

import bench as b

SERIES = re.compile(rb'^(rpc_durations_seconds(?:_count|_sum)?)\{([^}]*)\} (\S+)', re.M)


def parse(body):
    """{(impl, service, what): value}; what is a quantile, "count" or "sum"."""
    out = {}
    for name, labels, value in SERIES.findall(body):
        ls = dict(re.findall(r'(\w+)="([^"]*)"', labels.decode()))
        what = {b"rpc_durations_seconds_count": "count",
                b"rpc_durations_seconds_sum": "sum"}.get(name, ls.get("quantile"))
        out[(ls.get("impl", "seed"), ls["service"], what)] = float(value)
    return out


def bench_ckms():
    b.log("latency simulator: Rust port, Go plugin on client_golang, seed program")
    seconds = 30 if b.QUICK else 120
    go_plugin = b.PLUGINS / "latency-simulator-go.wasm"
    b.warm_cache("latency-simulator")
    d = b.ours_dir("plugins-ckms", {
        "latency-simulator.wasm": b.PLUGINS / "latency-simulator.wasm",
        "latency-simulator.yml": "config:\n  seed: 42\nlabels:\n  impl: rust\n",
        "latency-simulator-go.wasm": go_plugin,
        "latency-simulator-go.yml": "config:\n  seed: 42\nlabels:\n  impl: go\n",
    })
    binary = b.build_go_random()
    port = b.free_port()
    seed_url = f"http://127.0.0.1:{port}/metrics"
    procs = []
    try:
        ours, url = b.start_ours(d, "ckms.log")
        procs.append(ours)
        ours_since = time.monotonic()
        seed = b.Proc([str(binary), f"-listen-address=127.0.0.1:{port}"], "ckms-go-random.log")
        procs.append(seed)
        b.wait_http(seed_url, seed.p)
        t0 = seed_since = time.monotonic()
        worst = {}
        while time.monotonic() - t0 < seconds:
            time.sleep(5)
            m = parse(b.get(url))
            for (impl, service, what), v in m.items():
                if impl != "rust" or what in ("count", "sum"):
                    continue
                g = m.get(("go", service, what))
                if g is not None and m[("rust", service, "count")] == m[("go", service, "count")]:
                    rel = abs(v - g) / abs(g) if g else abs(v)
                    worst[(service, what)] = max(worst.get((service, what), 0.0), rel)
        final = parse(b.get(url))
        final.update(parse(b.get(seed_url)))
        end = time.monotonic()
    finally:
        for p in procs:
            p.stop()
    out = {"seconds": round(end - t0), "services": {},
           "alive": {"rust": end - ours_since, "go": end - ours_since, "seed": end - seed_since}}
    for service in ("exponential", "normal", "uniform"):
        row = {}
        for impl in ("rust", "go", "seed"):
            row[impl] = {w: final.get((impl, service, w)) for w in ("0.5", "0.9", "0.99", "count", "sum")}
        row["worst_rust_vs_go"] = {w: worst.get((service, w)) for w in ("0.5", "0.9", "0.99")}
        out["services"][service] = row
    b.log(f"  {out}")
    return out


def report(res):
    c = res.get("ckms")
    if not c:
        return ""
    lines = [f"### Latency simulator: the Rust port against client_golang ({c['seconds']} s, one run)", "",
             "Rust port and Go plugin: the same seed and time model in one exporter, so the same observations; "
             "the seed program draws its own. Quantiles as each served them at the end; \"worst\" is the largest "
             "relative difference between the Rust port's and client_golang's quantile over every scrape of the "
             "run in which both had the same count.", "",
             "| service | quantile | Rust port | Go plugin (client_golang) | worst Rust/Go difference | seed program |",
             "|---|---|---|---|---|---|"]
    for service, row in c["services"].items():
        for q in ("0.5", "0.9", "0.99"):
            w = row["worst_rust_vs_go"][q]
            lines.append(f"| {service} | {q} | {row['rust'][q]:.4g} | {row['go'][q]:.4g} | "
                         f"{'—' if w is None else f'{w:.1e}'} | {row['seed'][q]:.4g} |")
    lines += ["", "| service | observations/s: Rust port | Go plugin | seed program |", "|---|---|---|---|"]
    for service, row in c["services"].items():
        def rate(impl):
            n = row[impl]["count"]
            return n / c["alive"][impl] if n else float("nan")
        lines.append(f"| {service} | {rate('rust'):.2f} | {rate('go'):.2f} | {rate('seed'):.2f} |")
    return "\n".join(lines) + "\n"
