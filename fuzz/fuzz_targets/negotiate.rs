//! Arbitrary Accept and Accept-Encoding headers: negotiation never panics
//! and always picks a format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_exporter::exposition::negotiate;

fuzz_target!(|data: (&str, &str)| {
    let negotiated = negotiate::negotiate(Some(data.0));
    // A Content-Type header value: never empty, never a line break.
    let content_type = negotiated.content_type();
    assert!(!content_type.is_empty() && !content_type.contains(['\r', '\n']));
    let _ = negotiate::compression(Some(data.1));
});
