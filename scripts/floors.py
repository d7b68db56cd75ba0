"""The floors under the CPU targets (`make bench`'s `floors` step, or
`python3 scripts/bench.py floors`): what a scrape costs the exporter when
the plugin does less and less of the work, measured beside the full haproxy
plugin and haproxy_exporter on the same HAProxy, in interleaved batches.

- `haproxy`: the shipped plugin, the full scrape;
- `fetch_only`: the foreign-api test plugin, which GETs the same CSV through
  the host's fetch and parses nothing (its POST goes to an ungranted target
  and is refused without a connection): one request in, one fetch, three
  small families out;
- `no_fetch`: the latency simulator, which fetches nothing: one request in,
  a small collect, the body out.

Each is a floor for the one above it: a scrape must at least fetch the
CSV afresh (the custom-collector pattern), so `fetch_only` is what the
exporter costs before it has parsed a single line of it.
"""

import bench as b


def run_exporter(name, files):
    d = b.ours_dir(f"plugins-floor-{name}", files)
    return b.start_ours(d, f"floor-{name}.log", ["--plugins.timeout", "60s"])


def cpu_per_scrape(exporters, scrapes, rounds=4):
    """CPU ms per scrape of each (name, url, proc), interleaved batches."""
    cpu = {name: 0 for name, _, _ in exporters}
    for name, url, _ in exporters:
        for _ in range(4):
            b.get(url)
    batch = max(1, scrapes // rounds)
    for _ in range(rounds):
        for name, url, proc in exporters:
            before = b.cpu_ticks(proc.pid)
            for _ in range(batch):
                b.get(url)
            cpu[name] += b.cpu_ticks(proc.pid) - before
    return {name: cpu[name] * 1000 / b.TICK / (batch * rounds) for name in cpu}


def bench_floors():
    b.log("floors")
    b.warm_cache("haproxy")
    out = {}
    for backends, servers in [(1, 10), (500, 10)]:
        size = f"{backends}x{servers}"
        stats = b.free_port()
        cfg = b.OUT / f"haproxy-floor-{size}.cfg"
        cfg.write_text(b.haproxy_config(backends, servers, stats))
        hap = b.Proc(["haproxy", "-f", str(cfg), "-db"], f"haproxy-floor-{size}.log")
        uri = f"http://127.0.0.1:{stats}/stats;csv"
        b.wait_http(uri, hap.p)
        port = b.free_port()
        procs = [hap]
        try:
            go = b.Proc(["prometheus-haproxy-exporter", f"--haproxy.scrape-uri={uri}",
                         f"--web.listen-address=127.0.0.1:{port}", "--haproxy.timeout=60s"],
                        f"haproxy_exporter-floor-{size}.log")
            procs.append(go)
            go_url = f"http://127.0.0.1:{port}/metrics"
            b.wait_http(go_url, go.p)
            limits = "limits:\n  timeout: 60s\n  max_series: 2000000\n  memory: 1GiB\n"
            full, full_url = run_exporter(f"haproxy-{size}", {
                "haproxy.wasm": b.PLUGINS / "haproxy.wasm",
                "haproxy.yml": f'config:\n  scrape_uri: "{uri}"\n  timeout: 60s\n'
                               f'grants:\n  fetch: ["{uri}"]\n{limits}',
            })
            procs.append(full)
            fetch, fetch_url = run_exporter(f"fetch-{size}", {
                "fetch.wasm": b.PLUGINS / "foreign-api.wasm",
                "fetch.yml": f'config:\n  api: "http://127.0.0.1:9/none"\n  redirect: "{uri}"\n'
                             f'grants:\n  fetch: ["{uri}"]\n{limits}',
            })
            procs.append(fetch)
            bare, bare_url = run_exporter(f"nofetch-{size}", {
                "latency-simulator.wasm": b.PLUGINS / "latency-simulator.wasm",
            })
            procs.append(bare)
            scrapes = b.SCRAPES[backends] // (2 if b.QUICK else 1)
            r = cpu_per_scrape([("haproxy_exporter", go_url, go), ("haproxy", full_url, full),
                                ("fetch_only", fetch_url, fetch), ("no_fetch", bare_url, bare)],
                               scrapes)
        finally:
            for p in procs:
                p.stop()
        b.log(f"  {size}: {r}")
        out[size] = r
    return out


def report(res):
    """The floors table for BENCHMARKS.md."""
    f = res.get("floors")
    if not f:
        return ""
    lines = ["### Floors: the exporter doing less and less of a scrape (CPU ms per scrape)", "",
             "Interleaved batches on one HAProxy; ratios against haproxy_exporter in the same run. "
             "`fetch only`: the CSV fetched through the host and nothing parsed; `no fetch`: "
             "a plugin that fetches nothing (the latency simulator).", "",
             "| size | haproxy_exporter | haproxy plugin | fetch only | no fetch | "
             "plugin/theirs | fetch only/theirs | no fetch/theirs |",
             "|---|---|---|---|---|---|---|---|"]
    for size, r in f.items():
        theirs = r["haproxy_exporter"]
        lines.append(
            f"| {size} | {theirs:.2f} | {r['haproxy']:.2f} | {r['fetch_only']:.2f} | "
            f"{r['no_fetch']:.2f} | {r['haproxy'] / theirs:.2f}× | "
            f"{r['fetch_only'] / theirs:.2f}× | {r['no_fetch'] / theirs:.2f}× |")
    return "\n".join(lines) + "\n"
