//! The haproxy plugin's parsing and building, compiled natively, against the
//! same work through the plugin boundary (wasmtime, the host's fetch,
//! lowering, conversion and validation), on a 500x10 HAProxy CSV; and the
//! three encoders (text, OpenMetrics, protobuf) on the families it gives.
//! `built` is the plugin's floor build (`floor` in plugins/haproxy/src/lib.rs,
//! `WASM_EXPORTER_BENCH_FLOOR`): the same fetch, parsing and families in the
//! guest, handed over as one gauge, so that the guest's own work is timed
//! beside the native code without the boundary.
//!
//! Both paths fetch the CSV over HTTP from the same loopback server, so the
//! I/O is the same and the difference is the boundary. The 500x10 CSV is
//! generated in HAProxy 2.6's layout with counters set, as on a HAProxy
//! that serves traffic (the bench's own HAProxy has idle servers: its
//! counters are all zero), or read from `WASM_EXPORTER_BENCH_CSV`.
//!
//! Criterion runs one benchmark after another, and on a shared VM the
//! machine's speed moves between them: `lifted` came out at 1.28x and then
//! 2.04x native in two runs minutes apart. So the four paths are also timed
//! in interleaved rounds, the order turned each round, before criterion
//! starts (`interleaved 500x10 NAME: MS ms` on stderr, medians); `make
//! bench` takes the row and its floor from those.
//!
//! `encode_1x10/text` encodes the plugin's families of a 1x10 CSV: the one
//! `make bench` scraped from its HAProxy (`WASM_EXPORTER_BENCH_CSV_1X10`),
//! or a generated one. It is the least that serving them costs, for the
//! floor of the 1x10 scrape.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use haproxy::exporter::{Config, Exporter};
use wasm_exporter::catalogue::{Catalogue, PluginEntry};
use wasm_exporter::exposition::model::Family;
use wasm_exporter::exposition::{openmetrics, protobuf, text};
use wasm_exporter::runtime::Runtime;
use wasm_exporter::runtime::limits::HostDefaults;
use wasm_exporter_sdk::fetch::{FetchError, Request, Response};

/// Rounds of the interleaved timing, and iterations per path in each.
const ROUNDS: usize = 10;

/// Times each of `paths` in [`ROUNDS`] interleaved rounds of `batch`
/// iterations, the order turned by one each round, and prints each path's
/// median in ms as `interleaved LABEL NAME: MS ms`.
fn interleaved(label: &str, batch: usize, paths: &mut [(&str, &mut dyn FnMut())]) {
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
    for round in 0..ROUNDS {
        for k in 0..paths.len() {
            let i = (k + round) % paths.len();
            let run = &mut paths[i].1;
            for _ in 0..batch {
                let start = Instant::now();
                run();
                times[i].push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    for ((name, _), mut t) in paths.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        eprintln!("interleaved {label} {name}: {:.4} ms", t[t.len() / 2]);
    }
}

/// A minute from now: no collect of the bench comes near it.
fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

/// One collect of `entry`, checked, as the exporter serves it.
fn checked(rt: &tokio::runtime::Runtime, runtime: &Runtime, entry: &PluginEntry) {
    std::hint::black_box(rt.block_on(entry.collect(runtime, deadline())));
}

/// One collect of `entry`, handed over and lifted, nothing checked.
fn lifted(rt: &tokio::runtime::Runtime, runtime: &Runtime, entry: &PluginEntry) {
    let raw = rt.block_on(entry.collect_unchecked(runtime, deadline()));
    std::hint::black_box(raw.expect("plugin collect failed"));
}

/// A CSV in HAProxy 2.6's layout: `backends` x `servers` servers.
fn generated_csv(backends: usize, servers: usize) -> String {
    let header = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_err,h2_detected_strm_protocol_err,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n";
    let columns = header.split(',').count() - 1;
    let row = |px: &str, sv: &str, ty: u32, status: &str, i: usize| {
        let mut f = vec![String::new(); columns];
        f[0] = px.into();
        f[1] = sv.into();
        for (k, v) in f.iter_mut().enumerate().take(17).skip(2) {
            *v = ((i * 7 + k) % 1000).to_string();
        }
        f[17] = status.into();
        f[18] = "1".into();
        f[32] = ty.to_string();
        for v in f.iter_mut().take(62).skip(39) {
            *v = (i % 97).to_string();
        }
        f.join(",") + ",\n"
    };
    let mut csv = String::from(header);
    csv.push_str(&row("stats", "FRONTEND", 0, "OPEN", 0));
    for b in 0..backends {
        for s in 0..servers {
            csv.push_str(&row(
                &format!("b{b}"),
                &format!("s{s}"),
                2,
                "no check",
                b * servers + s,
            ));
        }
        csv.push_str(&row(&format!("b{b}"), "BACKEND", 1, "UP", b));
    }
    csv
}

/// Serves `body` to every HTTP request on a loopback port.
fn serve(body: Arc<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = Arc::clone(&body);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            });
        }
    });
    format!("http://{addr}/stats;csv")
}

/// The native side's fetch: the same HTTP request, read to the end.
fn native_fetch(request: &Request) -> Result<Response, FetchError> {
    let rest = request.target.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream =
        std::net::TcpStream::connect(host).map_err(|e| FetchError::Connect(e.to_string()))?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| FetchError::Connect(e.to_string()))?;
    let mut data = Vec::new();
    stream
        .read_to_end(&mut data)
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    let split = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    Ok(Response::new(200, data.split_off(split)))
}

fn plugin_path() -> PathBuf {
    std::env::var_os("WASM_EXPORTER_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../build/plugins")))
        .join("haproxy.wasm")
}

/// A catalogue of `wasm` alone, named `haproxy`, configured for `url`, in
/// a directory of its own under `dir`.
fn load(runtime: &Runtime, dir: &std::path::Path, wasm: &std::path::Path, url: &str) -> Catalogue {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(wasm, dir.join("haproxy.wasm")).expect("run `make plugins` first");
    std::fs::write(
        dir.join("haproxy.yml"),
        format!(
            "config:\n  scrape_uri: \"{url}\"\ngrants:\n  fetch: [\"{url}\"]\nlimits:\n  max_series: 1000000\n  memory: 1GiB\n  timeout: 60s\n"
        ),
    )
    .unwrap();
    Catalogue::load(runtime, dir, &HostDefaults::default()).unwrap()
}

fn bench(c: &mut Criterion) {
    // The exporter's allocator settings, for both paths: with glibc's
    // defaults the native code spent a third of its time faulting in
    // fresh pages.
    wasm_exporter::runtime::malloc::tune();
    let csv = |var: &str, backends| match std::env::var_os(var) {
        Some(path) => std::fs::read(path).unwrap(),
        None => generated_csv(backends, 10).into_bytes(),
    };
    let url = serve(Arc::new(csv("WASM_EXPORTER_BENCH_CSV", 500)));
    let small_url = serve(Arc::new(csv("WASM_EXPORTER_BENCH_CSV_1X10", 1)));

    let mut native = Exporter::new(Config {
        scrape_uri: url.clone(),
        ..Config::default()
    })
    .unwrap();

    let dir = std::env::temp_dir().join(format!("wasm_exporter-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = Runtime::new().unwrap();
    let catalogue = load(&runtime, &dir.join("plugin"), &plugin_path(), &url);
    let floor = std::env::var_os("WASM_EXPORTER_BENCH_FLOOR").map(PathBuf::from);
    let built = floor
        .as_ref()
        .map(|wasm| load(&runtime, &dir.join("built"), wasm, &url));
    let small = load(&runtime, &dir.join("small"), &plugin_path(), &small_url);
    let small_built = floor
        .as_ref()
        .map(|wasm| load(&runtime, &dir.join("small-built"), wasm, &small_url));
    let entry = Arc::clone(&catalogue.plugins[0]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // The two paths agree on what they produce.
    let native_series: usize = native
        .scrape(native_fetch)
        .iter()
        .map(|f| f.series.len())
        .sum();
    let collected = rt.block_on(entry.collect(&runtime, deadline()));
    let families = collected.result.as_ref().expect("plugin collect failed");
    let plugin_series: usize = families.iter().map(|f| f.series.len()).sum();
    assert_eq!(native_series, plugin_series, "native and plugin disagree");
    eprintln!("500x10: {native_series} series per collect");
    let built = built.map(|catalogue| Arc::clone(&catalogue.plugins[0]));
    if let Some(built) = &built {
        let counted = rt.block_on(built.collect(&runtime, deadline()));
        let counted = &counted.result.as_ref().expect("floor collect failed")[0];
        let value = &counted.series[0].value;
        assert_eq!(
            value,
            &wasm_exporter::exposition::model::Value::Gauge(native_series as f64),
            "the floor build built other series"
        );
    }

    // The paths in interleaved rounds first (see the top of the file).
    let small_entry = Arc::clone(&small.plugins[0]);
    let small_built = small_built.map(|catalogue| Arc::clone(&catalogue.plugins[0]));
    {
        let mut native_run = || {
            std::hint::black_box(native.scrape(native_fetch));
        };
        let mut plugin_run = || checked(&rt, &runtime, &entry);
        let mut lifted_run = || lifted(&rt, &runtime, &entry);
        let mut small_plugin = || checked(&rt, &runtime, &small_entry);
        let mut small_lifted = || lifted(&rt, &runtime, &small_entry);
        if let (Some(built), Some(small_built)) = (&built, &small_built) {
            let mut built_run = || checked(&rt, &runtime, built);
            let mut small_built_run = || checked(&rt, &runtime, small_built);
            interleaved(
                "500x10",
                5,
                &mut [
                    ("native", &mut native_run),
                    ("plugin", &mut plugin_run),
                    ("lifted", &mut lifted_run),
                    ("built", &mut built_run),
                ],
            );
            interleaved(
                "1x10",
                200,
                &mut [
                    ("plugin", &mut small_plugin),
                    ("lifted", &mut small_lifted),
                    ("built", &mut small_built_run),
                ],
            );
        }
    }

    let mut group = c.benchmark_group("haproxy_500x10");
    group.sample_size(30);
    group.bench_function("native", |b| {
        b.iter(|| {
            let families = native.scrape(native_fetch);
            std::hint::black_box(families);
        })
    });
    group.bench_function("plugin", |b| b.iter(|| checked(&rt, &runtime, &entry)));
    // The plugin's families handed over and lifted, nothing checked: the
    // floor of the plugin path under this contract.
    group.bench_function("lifted", |b| b.iter(|| lifted(&rt, &runtime, &entry)));
    if let Some(built) = &built {
        group.bench_function("built", |b| b.iter(|| checked(&rt, &runtime, built)));
    }
    group.finish();

    // The same three at 1x10: what handing the families over costs
    // (`lifted` less `built`), for the floor of the 1x10 scrape.
    let mut group = c.benchmark_group("haproxy_1x10");
    group.bench_function("plugin", |b| {
        b.iter(|| checked(&rt, &runtime, &small_entry))
    });
    group.bench_function("lifted", |b| b.iter(|| lifted(&rt, &runtime, &small_entry)));
    if let Some(small_built) = &small_built {
        group.bench_function("built", |b| b.iter(|| checked(&rt, &runtime, small_built)));
    }
    group.finish();

    // The three encoders on the same validated 500x10 families: protobuf
    // must cost no more than text.
    let mut encode = c.benchmark_group("encode_500x10");
    encode.sample_size(30);
    let mut buf = Vec::with_capacity(16 << 20);
    type Encoder = fn(&[Family], &mut Vec<u8>);
    let encoders: [(&str, Encoder); 3] = [
        ("text", text::encode),
        ("openmetrics", openmetrics::encode),
        ("protobuf", protobuf::encode),
    ];
    for (name, encoder) in encoders {
        buf.clear();
        encoder(families, &mut buf);
        eprintln!("500x10 {name}: {} bytes", buf.len());
        encode.bench_function(name, |b| {
            b.iter(|| {
                buf.clear();
                encoder(families, &mut buf);
                std::hint::black_box(buf.len());
            })
        });
    }
    encode.finish();

    let collected = rt.block_on(small.plugins[0].collect(&runtime, deadline()));
    let families = collected.result.as_ref().expect("plugin collect failed");
    buf.clear();
    text::encode(families, &mut buf);
    eprintln!("1x10 text: {} bytes", buf.len());
    let mut encode = c.benchmark_group("encode_1x10");
    encode.bench_function("text", |b| {
        b.iter(|| {
            buf.clear();
            text::encode(families, &mut buf);
            std::hint::black_box(buf.len());
        })
    });
    encode.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
