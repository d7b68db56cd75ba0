//! Arbitrary Accept and Accept-Encoding headers: negotiation never panics
//! and always picks a format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_exporter::exposition::negotiate;

fuzz_target!(|data: (&str, &str)| {
    let format = negotiate::negotiate(Some(data.0));
    assert!(!format.content_type().is_empty());
    let _ = negotiate::accepts_gzip(Some(data.1));
});
