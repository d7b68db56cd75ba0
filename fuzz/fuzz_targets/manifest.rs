//! Arbitrary NAME.yml text: parsing never panics, and what parses resolves
//! to instances and limits without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_exporter::config::{HostDefaults, Limits, Manifest};

fuzz_target!(|text: &str| {
    if let Ok(manifest) = Manifest::parse(text) {
        if let Ok(instances) = manifest.instances("fuzz") {
            for (_, spec) in instances {
                let _ = spec.config_json();
                let _ = Limits::resolve(&spec.limits.unwrap_or_default(), &HostDefaults::default());
            }
        }
    }
});
