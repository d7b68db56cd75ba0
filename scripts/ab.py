#!/usr/bin/env python3
"""Before and after a change, in one run: this checkout's wasm_exporter and
a baseline build (another checkout's `target/release/wasm_exporter` with its
own `build/plugins/haproxy.wasm`) serve the same HAProxy, scraped in
interleaved batches so that the machine's drift falls on both alike.

    python3 scripts/ab.py /path/to/baseline/checkout [BACKENDS [SERVERS]]

Prints CPU ms per scrape and peak RSS of each, and their ratios. Uses the
helpers of bench.py (run `make bench` once first so that its peers are
installed). Measures only; asserts nothing.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def start(exporter, plugin, uri, name):
    d = bench.ours_dir(f"ab-{name}", {
        "haproxy.wasm": plugin,
        "haproxy.yml": f'config:\n  scrape_uri: "{uri}"\n  timeout: 60s\n'
                       f'grants:\n  fetch: ["{uri}"]\nlimits:\n  timeout: 60s\n'
                       f'  max_series: 2000000\n  memory: 1GiB\n',
    })
    port = bench.free_port()
    p = bench.Proc(
        [str(exporter), "--plugins.dir", str(d), "--plugins.watch=false",
         "--web.listen-address", f"127.0.0.1:{port}", "--plugins.timeout", "60s",
         "--log.level", "warn"],
        f"ab-{name}.log",
    )
    bench.wait_http(f"http://127.0.0.1:{port}/-/ready", p.p)
    return p, f"http://127.0.0.1:{port}/metrics"


def main():
    baseline = Path(sys.argv[1]).resolve()
    backends = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    servers = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    bench.OUT.mkdir(parents=True, exist_ok=True)
    stats = bench.free_port()
    cfg = bench.OUT / "ab-haproxy.cfg"
    cfg.write_text(bench.haproxy_config(backends, servers, stats))
    hap = bench.Proc(["haproxy", "-f", str(cfg), "-db"], "ab-haproxy.log")
    uri = f"http://127.0.0.1:{stats}/stats;csv"
    procs = []
    try:
        bench.wait_http(uri, hap.p)
        after = start(bench.EXPORTER, bench.PLUGINS / "haproxy.wasm", uri, "after")
        procs.append(after[0])
        before = start(baseline / "target/release/wasm_exporter",
                       baseline / "build/plugins/haproxy.wasm", uri, "before")
        procs.append(before[0])
        scrapes = bench.SCRAPES.get(backends, 40) * 2
        # Half the rounds with each first, so that neither always follows the other.
        pair = [("before", before[1], before[0]), ("after", after[1], after[0])]
        first = bench.measure(pair, scrapes // 2, rounds=4)
        second = bench.measure(pair[::-1], scrapes // 2, rounds=4)
        m = {name: {"cpu_ms": (first[name]["cpu_ms"] + second[name]["cpu_ms"]) / 2,
                    "peak_rss_mib": second[name]["peak_rss_mib"],
                    "samples": second[name]["samples"]} for name in ("before", "after")}
    finally:
        for p in procs:
            p.stop()
        hap.stop()
    b, a = m["before"], m["after"]
    print(f"{backends}x{servers}, {scrapes} scrapes each in 8 interleaved batches, each first in half")
    print(f"CPU ms/scrape: before {b['cpu_ms']:.3f}, after {a['cpu_ms']:.3f} ({a['cpu_ms'] / b['cpu_ms']:.2f}x)")
    print(f"peak RSS MiB:  before {b['peak_rss_mib']:.0f}, after {a['peak_rss_mib']:.0f} "
          f"({a['peak_rss_mib'] / b['peak_rss_mib']:.2f}x)")
    print(f"samples:       before {b['samples']}, after {a['samples']}")


if __name__ == "__main__":
    main()
