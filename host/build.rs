//! Records the rustc version for `wasm_exporter_build_info`.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=WASM_EXPORTER_RUSTC={version}");
    println!("cargo:rerun-if-env-changed=WASM_EXPORTER_REVISION");
    println!("cargo:rerun-if-changed=build.rs");
}
