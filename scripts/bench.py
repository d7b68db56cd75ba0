#!/usr/bin/env python3
"""`make bench`: wasm_exporter side by side with its peers, in one run.

- HAProxy at 1x10, 50x10 and 500x10 backends x servers, scraped in turn by
  Debian's haproxy_exporter and by wasm_exporter serving only the haproxy
  plugin (defaults for the server fields): CPU ms per scrape from
  /proc/PID/stat over a fixed number of sequential scrapes, wrk requests/s
  and p50/p99 for a fixed time, peak RSS (VmHWM), response bytes;
- the latency simulator against the seed's Go program (client_golang's
  examples/random), built offline at run time from the seed document and
  Debian's Go packages, never kept in the repository;
- startup to the first successful scrape with two plugins, cold (empty
  cache) and warm (--plugins.cache-dir filled);
- cost per scrape as one plugin's series grow to 1M;
- the top of a `perf` profile of wasm_exporter at 500x10.

Every figure is reported with the ratio ours/theirs measured in the same
run. The tables replace the part of BENCHMARKS.md between the bench markers.
Nothing here asserts a time; it measures and writes down.
"""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import ckms
import floors

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench"
EXPORTER = ROOT / "target" / "release" / "wasm_exporter"
PLUGINS = ROOT / "build" / "plugins"
SEED = ROOT.parent / "shared" / "seed" / "000_0ecd979a5ca0c658.txt"
TICK = os.sysconf("SC_CLK_TCK")

QUICK = os.environ.get("BENCH_QUICK") == "1"
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "4" if QUICK else "10"))
SIZES = [(1, 10), (50, 10), (500, 10)]
# Sequential scrapes per size, so that each exporter runs for seconds. At
# 1x10 a scrape is a fraction of a clock tick (10 ms): 400 scrapes were
# some 20 ticks of ours, and the ratio moved by a tenth between runs.
SCRAPES = {1: 2000, 50: 100, 500: 40}
SERIES_STEPS = [1_000, 10_000, 100_000, 300_000, 1_000_000]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None, timeout=120):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def wait_http(url, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            get(url, timeout=5)
            return
        except Exception:
            time.sleep(0.02)
    raise RuntimeError(f"{url} not up in {timeout}s")


def cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def status_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_kib(pid):
    return status_kib(pid, "VmHWM")


class Proc:
    """A background process, stopped by PID."""

    def __init__(self, args, log_name, env=None, cwd=None):
        self.log = open(OUT / log_name, "w")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        self.pid = self.p.pid

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()


def wrk(url):
    out = subprocess.run(
        ["wrk", "-t2", "-c4", f"-d{WRK_SECONDS}s", "--timeout", "30s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout

    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def idle_ticks_per_second(proc, seconds=2.0):
    """CPU ticks per second `proc` spends doing nothing asked of it."""
    before = cpu_ticks(proc.pid)
    time.sleep(seconds)
    return (cpu_ticks(proc.pid) - before) / seconds


def measure(exporters, scrapes, rounds=4, haproxy=None):
    """CPU per scrape, body bytes, wrk figures and peak RSS of each of
    `exporters` ((name, url, proc) tuples, all running). The sequential
    scrapes are taken in `rounds` interleaved batches, so that the machine's
    drift over a minute falls on both sides of a ratio alike. With
    `haproxy`, its CPU during each exporter's batches (minus its idle rate)
    is taken too: what producing the CSV, or promex's own output, costs."""
    bodies, cpu, wall, hap = {}, {}, {}, {}
    for name, url, _ in exporters:
        for _ in range(4):  # warm-up: buffers sized, plugins instantiated
            bodies[name] = get(url)
        cpu[name], wall[name], hap[name] = 0, 0.0, 0.0
    idle = idle_ticks_per_second(haproxy) if haproxy else 0.0
    batch = max(1, scrapes // rounds)
    for _ in range(rounds):
        for name, url, proc in exporters:
            before = cpu_ticks(proc.pid)
            hap_before = cpu_ticks(haproxy.pid) if haproxy else 0
            t0 = time.monotonic()
            for _ in range(batch):
                bodies[name] = get(url)
            spent = time.monotonic() - t0
            wall[name] += spent
            cpu[name] += cpu_ticks(proc.pid) - before
            if haproxy:
                hap[name] += max(0.0, cpu_ticks(haproxy.pid) - hap_before - idle * spent)
    out = {}
    for name, url, proc in exporters:
        body = bodies[name]
        n = batch * rounds
        samples = sum(1 for l in body.split(b"\n") if l and not l.startswith(b"#"))
        out[name] = {
            "cpu_ms": cpu[name] * 1000 / TICK / n,
            "wall_ms": wall[name] * 1000 / n,
            "bytes": len(body),
            "samples": samples,
            **wrk(url),
        }
        if haproxy:
            hap_ms = hap[name] * 1000 / TICK / n
            out[name]["haproxy_cpu_ms"] = hap_ms
            # promex is HAProxy itself: its CPU is counted once.
            total = hap_ms if proc is haproxy else out[name]["cpu_ms"] + hap_ms
            out[name]["cpu_us_per_sample"] = total * 1000 / samples if samples else float("nan")
    for name, _, proc in exporters:
        out[name]["peak_rss_mib"] = peak_rss_kib(proc.pid) / 1024
        log(f"  {name}: {json.dumps(out[name])}")
    return out


# ---------------------------------------------------------------- HAProxy


def haproxy_config(backends, servers, stats_port):
    lines = [
        "global",
        "  maxconn 4096",
        "defaults",
        "  mode http",
        "  timeout connect 1s",
        "  timeout client 60s",
        "  timeout server 60s",
        "frontend stats",
        f"  bind 127.0.0.1:{stats_port}",
        # HAProxy's own exporter (promex), the native ceiling, beside the CSV.
        "  http-request use-service prometheus-exporter if { path /metrics }",
        "  stats enable",
        "  stats uri /stats",
    ]
    for b in range(backends):
        lines.append(f"backend b{b}")
        for s in range(servers):
            lines.append(f"  server s{s} 127.0.0.{1 + s}:{10000 + b}")
    return "\n".join(lines) + "\n"


def ours_dir(name, files):
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for fname, content in files.items():
        if isinstance(content, Path):
            shutil.copy(content, d / fname)
        else:
            (d / fname).write_text(content)
    return d


def start_ours(plugins_dir, log_name, extra=()):
    port = free_port()
    cache = OUT / "cache"
    cache.mkdir(mode=0o700, exist_ok=True)
    p = Proc(
        [str(EXPORTER), "--plugins.dir", str(plugins_dir), "--plugins.watch=false",
         "--plugins.cache-dir", str(cache), "--web.listen-address", f"127.0.0.1:{port}",
         "--web.max-requests", "64", "--log.level", "warn", *extra],
        log_name,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    wait_http(f"http://127.0.0.1:{port}/-/ready", p.p)
    return p, url


def warm_cache(plugin):
    """Compile `plugin` into the cache once, so that every measured start
    loads it as a restarted exporter would (cold starts are measured apart,
    in bench_startup)."""
    d = ours_dir("plugins-warm", {f"{plugin}.wasm": PLUGINS / f"{plugin}.wasm"})
    p, _ = start_ours(d, "warm-cache.log")
    p.stop()


def bench_haproxy():
    results = {}
    warm_cache("haproxy")
    for backends, servers in SIZES:
        size = f"{backends}x{servers}"
        log(f"HAProxy {size}")
        stats = free_port()
        cfg = OUT / f"haproxy-{size}.cfg"
        cfg.write_text(haproxy_config(backends, servers, stats))
        hap = Proc(["haproxy", "-f", str(cfg), "-db"], f"haproxy-{size}.log")
        uri = f"http://127.0.0.1:{stats}/stats;csv"
        wait_http(uri, hap.p)
        if backends == 1:
            # The criterion bench's 1x10 CSV (`bench_criterion`).
            (OUT / f"haproxy-{size}.csv").write_bytes(get(uri))
        scrapes = SCRAPES[backends]
        row = {}
        port = free_port()
        go = Proc(["prometheus-haproxy-exporter", f"--haproxy.scrape-uri={uri}",
                   f"--web.listen-address=127.0.0.1:{port}", "--haproxy.timeout=60s"],
                  f"haproxy_exporter-{size}.log")
        ours = None
        try:
            go_url = f"http://127.0.0.1:{port}/metrics"
            wait_http(go_url, go.p)
            d = ours_dir(f"plugins-haproxy-{size}", {
                "haproxy.wasm": PLUGINS / "haproxy.wasm",
                "haproxy.yml": f'config:\n  scrape_uri: "{uri}"\n  timeout: 60s\n'
                               f'grants:\n  fetch: ["{uri}"]\nlimits:\n  timeout: 60s\n'
                               f'  max_series: 2000000\n  memory: 1GiB\n',
            })
            ours, url = start_ours(d, f"wasm_exporter-{size}.log", ["--plugins.timeout", "60s"])
            promex_url = f"http://127.0.0.1:{stats}/metrics"
            m = measure([("haproxy_exporter", go_url, go), ("wasm_exporter", url, ours),
                         ("promex", promex_url, hap)], scrapes, haproxy=hap)
            row["theirs"], row["ours"], row["promex"] = m["haproxy_exporter"], m["wasm_exporter"], m["promex"]
            if backends == 500 and shutil.which("perf"):
                row["profile"] = profile(ours, url)
        finally:
            go.stop()
            if ours:
                ours.stop()
            hap.stop()
        results[size] = row
    return results


def profile(proc, url):
    """Top self-time symbols of wasm_exporter over 15 scrapes (perf, cpu-clock)."""
    data = OUT / "perf.data"
    rec = subprocess.Popen(
        ["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(proc.pid), "-o", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    for _ in range(15):
        get(url)
    rec.send_signal(signal.SIGINT)
    rec.wait(60)
    rep = subprocess.run(
        ["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", "symbol",
         "-g", "none", "--percent-limit", "1.5"],
        capture_output=True, text=True,
    ).stdout
    (OUT / "perf-report.txt").write_text(rep)
    by_dso = subprocess.run(
        ["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", "dso", "-g", "none"],
        capture_output=True, text=True,
    ).stdout
    dsos = []
    for line in by_dso.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(.*?)\s*$", line)
        if m and float(m.group(1)) >= 1:
            name = "guest code (JIT)" if m.group(2).startswith("[JIT]") else m.group(2)
            dsos.append((float(m.group(1)), name))
    top = []
    for line in rep.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+\[\.\]\s+(.*)$", line) or re.match(r"^\s+([\d.]+)%\s+\[k\]\s+(.*)$", line)
        if m:
            top.append((float(m.group(1)), m.group(2).strip()[:90]))
    return {"dso": dsos, "symbols": top[:12]}


# ------------------------------------------------------ latency simulator


def build_go_random():
    """The seed's first code block, built offline against Debian's
    client_golang; lives in build/bench only."""
    text = SEED.read_text()
    block = text.split("```", 2)[1]
    block = block.split("\n", 1)[1] if not block.startswith("\n") else block[1:]
    gopath = OUT / "gopath"
    src = gopath / "src" / "randomexample"
    src.mkdir(parents=True, exist_ok=True)
    (src / "main.go").write_text(block)
    env = dict(os.environ, GO111MODULE="off", GOPATH=f"{gopath}:/usr/share/gocode",
               GOCACHE=str(OUT / "gocache"), GOFLAGS="-mod=mod" if False else "")
    binary = OUT / "go-random"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=src, env=env, check=True)
    return binary


def bench_simulator():
    log("latency simulator")
    binary = build_go_random()
    port = free_port()
    go = Proc([str(binary), f"-listen-address=127.0.0.1:{port}"], "go-random.log")
    row = {}
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        wait_http(url, go.p)
        time.sleep(2)  # some observations in, as for ours below
        row["theirs"] = measure([("go random", url, go)], 400)["go random"]
    finally:
        go.stop()
    warm_cache("latency-simulator")
    d = ours_dir("plugins-simulator", {
        "latency-simulator.wasm": PLUGINS / "latency-simulator.wasm",
        "latency-simulator.yml": (ROOT / "plugins" / "latency-simulator" / "latency-simulator.yml").read_text(),
    })
    ours, url = start_ours(d, "wasm_exporter-simulator.log")
    try:
        time.sleep(2)
        row["ours"] = measure([("wasm_exporter", url, ours)], 400)["wasm_exporter"]
    finally:
        ours.stop()
    return row


# ----------------------------------------------------------------- startup


def time_to_first_scrape(plugins_dir, cache, runs):
    times = []
    for _ in range(runs):
        if cache == "cold":
            shutil.rmtree(OUT / "cache-startup", ignore_errors=True)
        (OUT / "cache-startup").mkdir(mode=0o700, exist_ok=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}/metrics"
        t0 = time.monotonic()
        p = Proc([str(EXPORTER), "--plugins.dir", str(plugins_dir), "--plugins.watch=false",
                  "--plugins.cache-dir", str(OUT / "cache-startup"),
                  "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"], "startup.log")
        try:
            while True:
                try:
                    body = get(url, timeout=5)
                    if b'wasm_exporter_plugin_up{plugin="latency-simulator"} 1' in body:
                        break
                except Exception:
                    pass
                if time.monotonic() - t0 > 60:
                    raise RuntimeError("no first scrape in 60 s")
                time.sleep(0.001)
            times.append((time.monotonic() - t0) * 1000)
        finally:
            p.stop()
    return times


def bench_startup():
    log("startup")
    stats = free_port()
    cfg = OUT / "haproxy-startup.cfg"
    cfg.write_text(haproxy_config(1, 10, stats))
    hap = Proc(["haproxy", "-f", str(cfg), "-db"], "haproxy-startup.log")
    uri = f"http://127.0.0.1:{stats}/stats;csv"
    try:
        wait_http(uri, hap.p)
        d = ours_dir("plugins-startup", {
            "haproxy.wasm": PLUGINS / "haproxy.wasm",
            "haproxy.yml": f'config:\n  scrape_uri: "{uri}"\ngrants:\n  fetch: ["{uri}"]\n',
            "latency-simulator.wasm": PLUGINS / "latency-simulator.wasm",
        })
        runs = 3 if QUICK else 7
        cold = time_to_first_scrape(d, "cold", runs)
        warm = time_to_first_scrape(d, "warm", runs)
    finally:
        hap.stop()
    r = {"cold_ms": statistics.median(cold), "warm_ms": statistics.median(warm),
         "cold_all": cold, "warm_all": warm}
    log(f"  {json.dumps(r)}")
    return r


# ----------------------------------------------------------- series growth


def bench_series(rounds=3):
    """CPU per scrape of one plugin's families as its series grow: one
    exporter per size, all running, scraped in `rounds` interleaved rounds
    so that the machine's drift falls on every size alike. Measured one
    size after the other, the 300k and 1M points (a few scrapes each)
    moved by ±20 % between runs."""
    log("series growth")
    out = {}
    running = []
    try:
        for n in SERIES_STEPS[:4] if QUICK else SERIES_STEPS:
            d = ours_dir(f"plugins-bulk-{n}", {
                "bulk.wasm": PLUGINS / "conformance.wasm",
                "bulk.yml": f"config:\n  prefix: bulk\n  bulk_series: {n}\n"
                            "limits:\n  max_series: 2000000\n  memory: 2GiB\n  timeout: 120s\n",
            })
            p, url = start_ours(d, f"bulk-{n}.log", ["--plugins.timeout", "120s", "--plugins.memory-limit", "2GiB"])
            running.append((n, p, url))
            get(url)
        totals = {n: {"cpu": 0, "wall": 0.0, "scrapes": 0} for n, _, _ in running}
        for _ in range(rounds):
            for n, p, url in running:
                scrapes = max(1, min(200, 2_000_000 // n) // rounds)
                before = cpu_ticks(p.pid)
                t0 = time.monotonic()
                for _ in range(scrapes):
                    body = get(url)
                t = totals[n]
                t["wall"] += time.monotonic() - t0
                t["cpu"] += cpu_ticks(p.pid) - before
                t["scrapes"] += scrapes
                t["bytes"] = len(body)
        for n, p, _ in running:
            t = totals[n]
            cpu = t["cpu"] * 1000 / TICK / t["scrapes"]
            r = {"cpu_ms": cpu, "wall_ms": t["wall"] * 1000 / t["scrapes"], "bytes": t["bytes"],
                 "peak_rss_mib": peak_rss_kib(p.pid) / 1024, "cpu_us_per_series": cpu * 1000 / n,
                 "scrapes": t["scrapes"]}
            log(f"  {n}: {json.dumps(r)}")
            out[n] = r
    finally:
        for _, p, _ in running:
            p.stop()
    return out


# ---------------------------------------------------------------- memory


def bench_memory():
    """The host's memory in two cases: RSS once the Python and JavaScript
    conformance plugins are loaded and scraped, without a cache directory
    (so both are compiled on the spot); and the peak while a plugin returns
    200,000 one-series families under default limits (refused: over
    max_families)."""
    log("memory")
    out = {}
    guests = {f: PLUGINS / f for f in ("conformance-py.wasm", "conformance-js.wasm")}
    if all(p.exists() for p in guests.values()):
        # Two names for the same families otherwise: the second clashes.
        d = ours_dir("plugins-guests", {**guests, "conformance-js.yml": "config:\n  prefix: js\n"})
        port = free_port()
        p = Proc([str(EXPORTER), "--plugins.dir", str(d), "--plugins.watch=false",
                  "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"], "guests.log")
        try:
            wait_http(f"http://127.0.0.1:{port}/-/ready", p.p, timeout=300)
            get(f"http://127.0.0.1:{port}/metrics")
            time.sleep(1)
            out["guests"] = {"rss_mib": status_kib(p.pid, "VmRSS") / 1024,
                             "peak_rss_mib": peak_rss_kib(p.pid) / 1024}
        finally:
            p.stop()
    d = ours_dir("plugins-families", {
        "faulty.wasm": PLUGINS / "faulty.wasm",
        "faulty.yml": "config:\n  fault: too_many_families\n  families: 200000\n",
    })
    p, url = start_ours(d, "families.log")
    try:
        for _ in range(3):
            get(url)
        out["families"] = {"peak_rss_mib": peak_rss_kib(p.pid) / 1024,
                           "rss_mib": status_kib(p.pid, "VmRSS") / 1024}
    finally:
        p.stop()
    log(f"  {json.dumps(out)}")
    return out


# ------------------------------------------------------------- criterion


def bench_criterion():
    log("plugin path vs native (criterion)")
    env = dict(os.environ, WASM_EXPORTER_PLUGINS=str(PLUGINS))
    # The timed run also gets the plugin's floor build, and the 1x10
    # families the floors step serves: the CSV of the haproxy step's
    # HAProxy, when it has run.
    timed = dict(env, WASM_EXPORTER_BENCH_FLOOR=str(OUT / floors.FLOOR_PLUGIN))
    if (OUT / "haproxy-1x10.csv").exists():
        timed["WASM_EXPORTER_BENCH_CSV_1X10"] = str(OUT / "haproxy-1x10.csv")
    args = ["cargo", "bench", "--bench", "plugin_vs_native", "--"]
    if QUICK:
        args += ["--warm-up-time", "1", "--measurement-time", "3"]
    out = subprocess.run(args, cwd=ROOT / "bench", env=timed, capture_output=True, text=True)
    (OUT / "criterion.txt").write_text(out.stdout + out.stderr)
    if out.returncode != 0:
        raise RuntimeError("cargo bench failed:\n" + out.stderr[-4000:])
    r = {}
    for group, name, key in (("haproxy_500x10", "native", "native"), ("haproxy_500x10", "plugin", "plugin"),
                             ("haproxy_500x10", "lifted", "lifted"), ("haproxy_500x10", "built", "built"),
                             ("haproxy_1x10", "plugin", "plugin_1x10"), ("haproxy_1x10", "lifted", "lifted_1x10"),
                             ("haproxy_1x10", "built", "built_1x10"), ("encode_500x10", "text", "encode_text"),
                             ("encode_500x10", "openmetrics", "encode_openmetrics"),
                             ("encode_500x10", "protobuf", "encode_protobuf"),
                             ("encode_1x10", "text", "encode_1x10_text")):
        est = ROOT / "bench" / "target" / "criterion" / group / name / "new" / "estimates.json"
        e = json.loads(est.read_text())
        r[key] = {"median_ms": e["median"]["point_estimate"] / 1e6,
                  "lo_ms": e["median"]["confidence_interval"]["lower_bound"] / 1e6,
                  "hi_ms": e["median"]["confidence_interval"]["upper_bound"] / 1e6}
    # The same paths timed in interleaved rounds before criterion's
    # benchmarks (see the bench's header): the row and its floor.
    r["interleaved"] = {}
    for size, name, ms in re.findall(r"^interleaved (\w+) (\w+): ([\d.]+) ms$", out.stderr, re.M):
        r["interleaved"].setdefault(size, {})[name] = float(ms)
    sizes = re.findall(r"500x10 (\w+): (\d+) bytes", out.stderr)
    for name, size in sizes:
        r[f"encode_{name}"]["bytes"] = int(size)
    exe = re.search(r"\((target/release/deps/plugin_vs_native-[0-9a-f]+)\)", out.stdout + out.stderr)
    if exe:
        r["guest_share"], r["lift_share"] = shares(ROOT / "bench" / exe.group(1), env)
        r["lift_ms"] = r["lift_share"] * r["plugin"]["median_ms"]
    log(f"  {json.dumps(r)}")
    return r


def shares(exe, env):
    """Two parts of the plugin path, from `perf` over the criterion plugin
    benchmark alone: the guest's own code (samples in the JIT's code, named
    through wasmtime's perf map; its lowering included) and the host's
    lifting of what it returned (`lift_list` and wasmtime's `linear_lift`
    functions, their own samples only, not the allocations they make). The
    compiling of the plugin at the start is in the samples too, so both
    come out a little low."""
    data = OUT / "perf-plugin-path.data"
    env = dict(env, WASM_EXPORTER_PERF_MAP="1")
    subprocess.run(["perf", "record", "-F", "1999", "-o", str(data), str(exe), "--bench",
                    "haproxy_500x10/plugin", "--profile-time", "10"],
                   cwd=ROOT / "bench", env=env, capture_output=True, check=True)
    rep = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", "dso,sym", "--stdio"],
                         capture_output=True, text=True, check=True).stdout
    rows = re.findall(r"^\s*([\d.]+)%\s+(\S.*)$", rep, re.M)
    jit = sum(float(p) for p, rest in rows if rest.startswith("[JIT]"))
    lift = sum(float(p) for p, rest in rows
               if not rest.startswith("[JIT]") and re.search(r"\blift_list\b|linear_lift", rest))
    return jit / 100, lift / 100


# ----------------------------------------------------------------- report


def ratio(ours, theirs):
    return ours / theirs if theirs else float("nan")


def targets(res):
    """The issue's targets against this run: measured ratio and verdict."""
    h = res["haproxy"]

    def r(size, key):
        return ratio(h[size]["ours"][key], h[size]["theirs"][key])

    sim = res["simulator"]
    c = res["criterion"]
    per_series = [v["cpu_us_per_series"] for k, v in res["series"].items() if int(k) >= 10_000]
    rows = []
    promex = h.get("500x10", {}).get("promex")
    if promex and "cpu_us_per_sample" in promex:
        rows.append(("CPU per sample at 500x10 against HAProxy's promex, CSV production included", "≤ 2×",
                     ratio(h["500x10"]["ours"]["cpu_us_per_sample"], promex["cpu_us_per_sample"]),
                     lambda x: x <= 2, "{:.2f}×"))
    rows += [
        ("CPU per scrape at 500x10", "≤ 0.12×", r("500x10", "cpu_ms"), lambda x: x <= 0.12, "{:.3f}×"),
        ("CPU per scrape at 50x10", "≤ 0.25×", r("50x10", "cpu_ms"), lambda x: x <= 0.25, "{:.2f}×"),
        ("CPU per scrape at 1x10", "≤ 0.3×", r("1x10", "cpu_ms"), lambda x: x <= 0.3, "{:.2f}×"),
        ("peak RSS at 500x10", "≤ 0.25×", r("500x10", "peak_rss_mib"), lambda x: x <= 0.25, "{:.2f}×"),
        ("requests/s, latency simulator", "≥ 1×", ratio(sim["ours"]["rps"], sim["theirs"]["rps"]), lambda x: x >= 1, "{:.2f}×"),
        ("plugin path vs native", "≤ 1.5×", floors.plugin_vs_native(c), lambda x: x <= 1.5, "{:.2f}×"),
        ("warm start to first scrape", "< 50 ms", res["startup"]["warm_ms"], lambda x: x < 50, "{:.0f} ms"),
    ]
    if "encode_protobuf" in c:
        rows.append(("protobuf encoding vs text at 500x10", "≤ 1×",
                     ratio(c["encode_protobuf"]["median_ms"], c["encode_text"]["median_ms"]),
                     lambda x: x <= 1, "{:.2f}×"))
    mem = res.get("memory", {})
    if "families" in mem:
        rows.append(("host peak RSS, a plugin returning 200,000 one-series families, default limits", "≤ 256 MiB",
                     mem["families"]["peak_rss_mib"], lambda x: x <= 256, "{:.0f} MiB"))
    if "guests" in mem:
        rows.append(("host RSS after loading the Python and JavaScript conformance plugins, no cache dir",
                     "≤ 150 MiB", mem["guests"]["rss_mib"], lambda x: x <= 150, "{:.0f} MiB"))
    # The floor under a row, measured in the same run: the plugin's own
    # code with its families handed over and lifted, nothing checked
    # (criterion `lifted`); at 1x10, the exporter serving the floor build
    # (`built`, floors step), what handing the families over adds
    # (criterion, `lifted` less `built`) and their text encoding. A row
    # whose floor misses its target cannot be met by making the rest of
    # the path cheaper.
    floor = {}
    if small := floors.floor_1x10(res):
        floor["CPU per scrape at 1x10"] = small[1]
    if (path := floors.floor_plugin_path(c)) is not None:
        floor["plugin path vs native"] = path
    lines = ["| measure | target | this run | |", "|---|---|---|---|"]
    for name, target, value, ok, fmt in rows:
        if ok(value):
            verdict = "met"
        elif name in floor and not ok(floor[name]):
            verdict = f"**out of reach**: its floor is {fmt.format(floor[name])} (below)"
        else:
            verdict = "**gap**"
        lines.append(f"| {name} | {target} | {fmt.format(value)} | {verdict} |")
    mean = statistics.mean(per_series)
    spread = max(abs(x - mean) / mean for x in per_series)
    lines.append(
        f"| CPU per series from 10k to 1M series | flat within ±25 % | {min(per_series):.2f}–"
        f"{max(per_series):.2f} µs, ±{spread * 100:.0f} % around the mean (curve below) | "
        f"{'met' if spread <= 0.25 else '**gap**'} |")
    return lines


def report(res):
    machine = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "?")
    lines = [
        # How the results were taken, not how this report is written
        # (`bench.py report` rewrites the tables of the last run).
        f"Run: {res.get('run_at', '?')}, `make bench`"
        + (" (BENCH_QUICK=1)" if res.get("quick", QUICK) else "")
        + f", on {os.cpu_count()} cores ({cpu}), {machine}.",
        f"wrk: 2 threads, 4 connections, {res.get('wrk_seconds', WRK_SECONDS)} s per exporter. "
        "CPU per scrape: utime+stime of the "
        "exporter process over N sequential scrapes (N: "
        + ", ".join(f"{b}x10 {n}" for b, n in SCRAPES.items())
        + "), taken in four batches "
        "alternating between haproxy_exporter, wasm_exporter and HAProxy's promex, all running on one HAProxy. "
        "Ratios are ours/theirs.",
        "",
        "### Targets",
        "",
        *targets(res),
        "",
        "### HAProxy: wasm_exporter (haproxy plugin) vs haproxy_exporter 0.14 (Debian)",
        "",
        "| size | CPU/scrape ours/theirs | peak RSS ours/theirs | req/s ours/theirs | p50 ours/theirs | p99 ours/theirs | bytes ours/theirs |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, row in res["haproxy"].items():
        o, t = row["ours"], row["theirs"]
        lines.append(
            f"| {size} | **{ratio(o['cpu_ms'], t['cpu_ms']):.2f}×** | **{ratio(o['peak_rss_mib'], t['peak_rss_mib']):.2f}×** "
            f"| {ratio(o['rps'], t['rps']):.2f}× | {ratio(o['p50_ms'], t['p50_ms']):.2f}× | {ratio(o['p99_ms'], t['p99_ms']):.2f}× "
            f"| {ratio(o['bytes'], t['bytes']):.2f}× |")
    if all("promex" in row for row in res["haproxy"].values()):
        lines += [
            "", "### Against HAProxy's own exporter (promex), CPU per sample served", "",
            "CPU per sample: for wasm_exporter and haproxy_exporter, the exporter's CPU plus HAProxy's CPU to "
            "produce the CSV during its scrapes; for promex, HAProxy's CPU during its scrapes. HAProxy's idle "
            "rate is subtracted. Samples as each exposition counts them (promex exports more of them).", "",
            "| size | promex µs/sample | ours µs/sample | haproxy_exporter µs/sample | **ours/promex** | "
            "theirs/promex | HAProxy ms/scrape: promex, CSV for ours, CSV for theirs | samples promex, ours, theirs |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for size, row in res["haproxy"].items():
            p, o, t = row["promex"], row["ours"], row["theirs"]
            lines.append(
                f"| {size} | {p['cpu_us_per_sample']:.2f} | {o['cpu_us_per_sample']:.2f} | {t['cpu_us_per_sample']:.2f} "
                f"| **{ratio(o['cpu_us_per_sample'], p['cpu_us_per_sample']):.2f}×** "
                f"| {ratio(t['cpu_us_per_sample'], p['cpu_us_per_sample']):.2f}× "
                f"| {p['haproxy_cpu_ms']:.2f}, {o['haproxy_cpu_ms']:.2f}, {t['haproxy_cpu_ms']:.2f} "
                f"| {p['samples']:,}, {o['samples']:,}, {t['samples']:,} |")
    lines += ["", "| size | exporter | CPU ms/scrape | wall ms/scrape | peak RSS MiB | req/s | p50 ms | p99 ms | body bytes | samples |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for size, row in res["haproxy"].items():
        for who, label in (("theirs", "haproxy_exporter"), ("ours", "wasm_exporter"),
                           ("promex", "promex (HAProxy)")):
            if who not in row:
                continue
            r = row[who]
            lines.append(f"| {size} | {label} | {r['cpu_ms']:.2f} | {r['wall_ms']:.2f} | {r['peak_rss_mib']:.1f} | "
                         f"{r['rps']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['bytes']:,} | {r['samples']:,} |")
    s = res["simulator"]
    o, t = s["ours"], s["theirs"]
    lines += [
        "", "### Latency simulator vs the seed's Go program (client_golang examples/random)", "",
        "| figure | Go random | wasm_exporter | ours/theirs |", "|---|---|---|---|",
    ]
    for label, key, fmt in (("requests/s (wrk)", "rps", "{:.0f}"), ("p50 ms", "p50_ms", "{:.3f}"),
                            ("p99 ms", "p99_ms", "{:.3f}"), ("CPU ms/scrape", "cpu_ms", "{:.3f}"),
                            ("peak RSS MiB", "peak_rss_mib", "{:.1f}"), ("body bytes", "bytes", "{:,}")):
        r = f"{ratio(o[key], t[key]):.2f}×"
        lines.append(f"| {label} | {fmt.format(t[key])} | {fmt.format(o[key])} | "
                     f"{f'**{r}**' if key == 'rps' else r} |")
    c = res["criterion"]
    lines += [
        "", "### Plugin path vs native (criterion, 500x10 CSV)", "",
        "| path | median ms | 95% CI |", "|---|---|---|",
        f"| native: haproxy crate's parse + build, compiled for the host (allocator as the exporter's: `runtime::malloc`) | {c['native']['median_ms']:.2f} | {c['native']['lo_ms']:.2f}–{c['native']['hi_ms']:.2f} |",
        f"| plugin: the same through wasmtime, host fetch, lowering, conversion and validation | {c['plugin']['median_ms']:.2f} | {c['plugin']['lo_ms']:.2f}–{c['plugin']['hi_ms']:.2f} |",
        f"| **plugin/native** | **{ratio(c['plugin']['median_ms'], c['native']['median_ms']):.2f}×** | |",
    ]
    if "built" in c:
        b = c["built"]
        lines += [
            f"| built: the plugin's floor build through the same path: the same fetch, parsing and families in "
            f"the guest, handed over as one gauge | {b['median_ms']:.2f} | {b['lo_ms']:.2f}–{b['hi_ms']:.2f} |",
            f"| **built/native**: the guest's own work | **{ratio(b['median_ms'], c['native']['median_ms']):.2f}×** | |",
        ]
    if "lift_ms" in c:
        lines += [
            f"| lifting within the plugin path (perf: {c['lift_share'] * 100:.1f} % of its samples in `lift_list` "
            f"and wasmtime's `linear_lift`; the guest's code {c['guest_share'] * 100:.0f} %) | {c['lift_ms']:.2f} | |",
        ]
    if "lifted" in c:
        lf = c["lifted"]
        lines += [
            f"| lifted: the plugin path up to the lift (the guest's work, its lowering of every series, the host's "
            f"lift), nothing converted or checked | {lf['median_ms']:.2f} | {lf['lo_ms']:.2f}–{lf['hi_ms']:.2f} |",
            f"| lifted/native | {ratio(lf['median_ms'], c['native']['median_ms']):.2f}× | |",
        ]
    if i := c.get("interleaved", {}).get("500x10"):
        lines += ["", f"The same paths timed in ten interleaved rounds before criterion's (medians; criterion runs "
                      "one benchmark after another, and the machine's speed moves between them): "
                      + ", ".join(f"{name} {i[name]:.2f} ms" for name in ("native", "plugin", "lifted", "built")
                                  if name in i)
                      + f". **plugin/native {floors.plugin_vs_native(c):.2f}×**; the floor, lifted/native, "
                      f"**{floors.floor_plugin_path(c):.2f}×**; built/native {ratio(i['built'], i['native']):.2f}×. "
                      "The Targets row and its floor are these."]
    if "plugin_1x10" in c:
        lines += ["", "At 1x10 (criterion, the haproxy step's CSV): "
                      + ", ".join(f"{name} {c[key]['median_ms']:.3f} ms"
                                  for name, key in (("plugin", "plugin_1x10"), ("lifted", "lifted_1x10"),
                                                    ("built", "built_1x10")) if key in c) + "."]
    if "encode_protobuf" in c:
        text = c["encode_text"]
        lines += [
            "", "### Encoding the 500x10 families (criterion): text, OpenMetrics, protobuf", "",
            "| format | median ms | 95% CI | body bytes | vs text |", "|---|---|---|---|---|",
        ]
        for name, label in (("text", "text 0.0.4"), ("openmetrics", "OpenMetrics 1.0.0"),
                            ("protobuf", "protobuf (delimited)")):
            e = c[f"encode_{name}"]
            lines.append(f"| {label} | {e['median_ms']:.2f} | {e['lo_ms']:.2f}–{e['hi_ms']:.2f} | "
                         f"{e.get('bytes', 0):,} | **{ratio(e['median_ms'], text['median_ms']):.2f}×** |")
    st = res["startup"]
    lines += [
        "", "### Startup: process start to first successful scrape (haproxy + latency simulator)", "",
        "| cache | median ms | all runs ms |", "|---|---|---|",
        f"| cold (empty --plugins.cache-dir) | {st['cold_ms']:.0f} | {', '.join(f'{x:.0f}' for x in st['cold_all'])} |",
        f"| warm | **{st['warm_ms']:.0f}** | {', '.join(f'{x:.0f}' for x in st['warm_all'])} |",
    ]
    lines += ["", "### Cost as series grow (one plugin, gauge series with two labels)", "",
              "| series | CPU ms/scrape | µs CPU per series | wall ms/scrape | body bytes | peak RSS MiB |",
              "|---|---|---|---|---|---|"]
    for n, r in res["series"].items():
        lines.append(f"| {int(n):,} | {r['cpu_ms']:.1f} | {r['cpu_us_per_series']:.2f} | {r['wall_ms']:.1f} | {r['bytes']:,} | {r['peak_rss_mib']:.0f} |")
    for extra in (floors.report(res), ckms.report(res)):
        if extra:
            lines += ["", extra.rstrip()]
    prof = res["haproxy"].get("500x10", {}).get("profile")
    if prof:
        lines += ["", "### perf: where wasm_exporter spends a 500x10 scrape (cpu-clock, self time)", "",
                  "By object: " + ", ".join(f"{name} {pct:.0f} %" for pct, name in prof["dso"]) + ".", "",
                  "| % | symbol (host side; guest code has no symbols) |", "|---|---|"]
        for pct, sym in prof["symbols"]:
            sym = re.sub(r"(\s+-)*\s*$", "", sym)
            lines.append(f"| {pct:.1f} | `{sym.replace('|', '/')}` |")
    return "\n".join(lines) + "\n"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    only = set(sys.argv[1:])
    res = {}
    prev = OUT / "results.json"
    if only and prev.exists():
        res = json.loads(prev.read_text())
    steps = [("haproxy", bench_haproxy), ("simulator", bench_simulator), ("criterion", bench_criterion),
             ("startup", bench_startup), ("series", bench_series), ("memory", bench_memory),
             ("floors", floors.bench_floors), ("ckms", ckms.bench_ckms)]
    for name, fn in steps:
        if only == {"report"}:
            break
        if not only or name in only:
            res[name] = fn()
            res["run_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            res["quick"], res["wrk_seconds"] = QUICK, WRK_SECONDS
            prev.write_text(json.dumps(res, indent=1))
    text = report(res)
    (OUT / "report.md").write_text(text)
    bm = ROOT / "BENCHMARKS.md"
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    doc = bm.read_text() if bm.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        _, tail = rest.split(end, 1)
        bm.write_text(f"{head}{begin}\n{text}{end}{tail}")
    print(text)


if __name__ == "__main__":
    main()
