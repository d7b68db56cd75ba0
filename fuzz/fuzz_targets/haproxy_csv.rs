//! Arbitrary HAProxy answers (CSV and show info, over http or a socket):
//! the plugin's parser never panics and always reports haproxy_up.
#![no_main]

use haproxy::exporter::{Config, Exporter};
use libfuzzer_sys::fuzz_target;
use wasm_exporter_sdk::fetch::Response;

fuzz_target!(|data: (bool, u16, &[u8], &[u8])| {
    let (socket, status, info, stat) = data;
    let uri = if socket { "unix:/fuzz.sock" } else { "http://fuzz/;csv" };
    let Ok(mut exporter) = Exporter::new(Config { scrape_uri: uri.into(), ..Config::default() }) else {
        return;
    };
    let families = exporter.scrape(|req| {
        let body = if req.body.as_deref() == Some(&b"show info\n"[..]) { info } else { stat };
        Ok(Response { status, headers: Vec::new(), body: body.to_vec(), truncated: false })
    });
    assert!(families.iter().any(|f| f.name == "haproxy_up"));
});
