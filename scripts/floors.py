"""The floors under the CPU targets (`make bench`'s `floors` step, or
`python3 scripts/bench.py floors`): what a scrape costs the exporter when
the plugin does less and less of the work, measured beside the full haproxy
plugin and haproxy_exporter on the same HAProxy, in interleaved batches.

- `haproxy`: the shipped plugin, the full scrape;
- `built`: the same plugin's floor build (`floor` in
  plugins/haproxy/src/lib.rs, `build/bench/haproxy-floor.wasm`): the same
  fetch, parsing and families, handed over as one gauge; what it costs
  beyond `fetch_only` is the guest's own work, before the boundary carried,
  or the host checked, merged or encoded, one of its families;
- `fetch_only`: the foreign-api test plugin, which GETs the same CSV through
  the host's fetch and parses nothing (its POST goes to an ungranted target
  and is refused without a connection): one request in, one fetch, three
  small families out;
- `no_fetch`: the latency simulator, which fetches nothing: one request in,
  a small collect, the body out.

Each is a floor for the one above it: a scrape must at least fetch the
CSV afresh (the custom-collector pattern), so `fetch_only` is what the
exporter costs before it has parsed a single line of it, and `built` what
it costs before it has served a single one of the plugin's samples.
"""

import re

import bench as b

# Built by `make bench` (the Makefile's `bench-floor`), into bench.OUT.
FLOOR_PLUGIN = "haproxy-floor.wasm"


def run_exporter(name, files):
    d = b.ours_dir(f"plugins-floor-{name}", files)
    return b.start_ours(d, f"floor-{name}.log", ["--plugins.timeout", "60s"])


def plugin_cpu_ms(url, plugin):
    """The plugin's `wasm_exporter_plugin_cpu_seconds_total`, in ms, read
    with one scrape (whose own collect it includes)."""
    body = b.get(url).decode()
    m = re.search(r'^wasm_exporter_plugin_cpu_seconds_total\{plugin="%s"\} (\S+)$'
                  % re.escape(plugin), body, re.M)
    return float(m.group(1)) * 1000 if m else float("nan")


def cpu_per_scrape(exporters, scrapes, rounds=4):
    """CPU ms per scrape of each (name, url, proc, plugin), interleaved
    batches; for ours (`plugin` set), also the ms per scrape spent in that
    plugin's calls (`NAME_calls`): guest code, the canonical ABI both ways
    and the host calls it makes (its fetch), as the exporter counts them."""
    cpu = {name: 0 for name, _, _, _ in exporters}
    calls = {name: 0.0 for name, _, _, plugin in exporters if plugin}
    for name, url, _, _ in exporters:
        for _ in range(4):
            b.get(url)
    batch = max(1, scrapes // rounds)
    for _ in range(rounds):
        for name, url, proc, plugin in exporters:
            first = plugin_cpu_ms(url, plugin) if plugin else 0.0
            before = b.cpu_ticks(proc.pid)
            for _ in range(batch):
                b.get(url)
            cpu[name] += b.cpu_ticks(proc.pid) - before
            if plugin:
                # The batch's collects and the reading scrape's own.
                calls[name] += (plugin_cpu_ms(url, plugin) - first) * batch / (batch + 1)
    out = {name: cpu[name] * 1000 / b.TICK / (batch * rounds) for name in cpu}
    out.update({f"{name}_calls": ms / (batch * rounds) for name, ms in calls.items()})
    return out


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
            built, built_url = run_exporter(f"built-{size}", {
                "haproxy.wasm": b.OUT / FLOOR_PLUGIN,
                "haproxy.yml": f'config:\n  scrape_uri: "{uri}"\n  timeout: 60s\n'
                               f'grants:\n  fetch: ["{uri}"]\n{limits}',
            })
            procs.append(built)
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
            r = cpu_per_scrape([("haproxy_exporter", go_url, go, None),
                                ("haproxy", full_url, full, "haproxy"),
                                ("built", built_url, built, "haproxy"),
                                ("fetch_only", fetch_url, fetch, "fetch"),
                                ("no_fetch", bare_url, bare, None)],
                               scrapes)
        finally:
            for p in procs:
                p.stop()
        b.log(f"  {size}: {r}")
        out[size] = r
    return out


def paths(c, size):
    """The medians (ms) of the plugin paths at `size` ("500x10", "1x10"):
    timed in interleaved rounds when the run has them, else criterion's
    own. `lifted` is never more than the whole path's, which does all it
    does and more (one noisy run put it above)."""
    suffix = "" if size == "500x10" else "_" + size
    got = dict(c.get("interleaved", {}).get(size, {}))
    if not got:
        got = {name: c[name + suffix]["median_ms"] for name in ("native", "plugin", "lifted", "built")
               if name + suffix in c}
    if "lifted" in got and "plugin" in got:
        got["lifted"] = min(got["lifted"], got["plugin"])
    return got


def plugin_vs_native(c):
    """The plugin path against native, from [`paths`]."""
    p = paths(c, "500x10")
    return b.ratio(p["plugin"], p["native"])


def handover_1x10(c):
    """What handing the 1x10 families over costs (`lifted` less `built`,
    ms), or None without both."""
    p = paths(c, "1x10")
    if "lifted" not in p or "built" not in p:
        return None
    return max(0.0, p["lifted"] - p["built"])


def floor_1x10(res):
    """The floor of the 1x10 scrape, in ms and against haproxy_exporter:
    the exporter serving `built` (floors step), the families' handing over
    and lifting (criterion) and their text encoding (criterion): the least
    a scrape must do before checking or merging a family; None before the
    steps have run."""
    c = res.get("criterion", {})
    enc = c.get("encode_1x10_text")
    small = res.get("floors", {}).get("1x10", {})
    handover = handover_1x10(c)
    if not enc or "built" not in small or handover is None:
        return None
    ms = small["built"] + handover + enc["median_ms"]
    return ms, ms / small["haproxy_exporter"]


def floor_plugin_path(c):
    """The floor of the plugin path against native: the plugin's families
    handed over and lifted, nothing checked; None without it."""
    p = paths(c, "500x10")
    if "lifted" not in p:
        return None
    return b.ratio(p["lifted"], p["native"])


def report(res):
    """The floors table for BENCHMARKS.md."""
    f = res.get("floors")
    if not f:
        return ""
    nan = float("nan")
    lines = ["### Floors: the exporter doing less and less of a scrape (CPU ms per scrape)", "",
             "Interleaved batches on one HAProxy; ratios against haproxy_exporter in the same run. "
             "`built`: the haproxy plugin's floor build, the same fetch, parsing and families in the "
             "guest, handed over as one gauge; `fetch only`: the CSV fetched through the host and "
             "nothing parsed; `no fetch`: a plugin that fetches nothing (the latency simulator). "
             "`calls`: of it, the CPU in the plugin's calls (`wasm_exporter_plugin_cpu_seconds_total`: "
             "guest code, the canonical ABI both ways, the fetch).", "",
             "| size | haproxy_exporter | haproxy plugin (calls) | built (calls) | fetch only (calls) | "
             "no fetch | plugin/theirs | built/theirs | fetch only/theirs | no fetch/theirs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for size, r in f.items():
        theirs = r["haproxy_exporter"]
        built = r.get("built", nan)
        lines.append(
            f"| {size} | {theirs:.2f} | {r['haproxy']:.3f} ({r.get('haproxy_calls', nan):.3f}) | "
            f"{built:.3f} ({r.get('built_calls', nan):.3f}) | "
            f"{r['fetch_only']:.3f} ({r.get('fetch_only_calls', nan):.3f}) | "
            f"{r['no_fetch']:.2f} | {r['haproxy'] / theirs:.2f}× | **{built / theirs:.2f}×** | "
            f"{r['fetch_only'] / theirs:.2f}× | {r['no_fetch'] / theirs:.2f}× |")
    floor = floor_1x10(res)
    if floor:
        c = res["criterion"]
        lines += ["", f"Floor of the 1x10 scrape: built ({f['1x10']['built']:.3f} ms), the families handed "
                      "over and lifted (`lifted` less `built`, timed in interleaved rounds: "
                      f"{handover_1x10(c):.3f} ms) and their text encoding (criterion `encode_1x10/text`, "
                      f"{c['encode_1x10_text']['median_ms']:.3f} ms): "
                      f"{floor[0]:.3f} ms, **{floor[1]:.2f}×** haproxy_exporter. "
                      "Checking and merging them, and the host's own families, come on top."]
    return "\n".join(lines) + "\n"
