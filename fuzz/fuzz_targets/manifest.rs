//! Arbitrary NAME.yml text: parsing never panics, and what parses resolves
//! to instances and limits without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_exporter::config::Manifest;
use wasm_exporter::runtime::limits::{HostDefaults, Limits};

fuzz_target!(|text: &str| {
    if let Ok(manifest) = Manifest::parse(text) {
        if let Ok(instances) = manifest.instances("fuzz") {
            for (_, spec) in instances {
                let _ = spec.config_json();
                let _ = Limits::resolve(spec.limits.as_ref(), &HostDefaults::default());
            }
        }
    }
});
