//! A plugin author outside this repository: `plugin new` in an empty
//! directory, the project's own `make` and `make test` (unit tests and
//! `wasm_exporter check`), then the `.wasm` dropped into a plugins
//! directory and scraped.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::support::*;

fn bin_dir() -> String {
    Path::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .parent()
        .expect("the binary has a directory")
        .display()
        .to_string()
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Result<String> {
    let path = format!(
        "{}:{}",
        bin_dir(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        // Every crate the project needs is one this repository builds
        // with, so it is in the local registry cache already.
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("CARGO_TARGET_DIR")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(out.status.success(), "{program} {args:?} failed:\n{text}");
    Ok(text)
}

#[test]
fn a_rust_plugin_from_plugin_new_to_a_served_metric() -> Result<()> {
    let work = PluginsDir::new("author-rust");
    let said = run(
        &work.path,
        env!("CARGO_BIN_EXE_wasm_exporter"),
        &["plugin", "new", "hello-world", "--lang", "rust"],
    )?;
    assert!(said.contains("hello-world"), "{said}");
    let project = work.path.join("hello-world");
    // The project is on its own: nothing in it points back here.
    let cargo = std::fs::read_to_string(project.join("Cargo.toml"))?;
    assert!(!cargo.contains("/work") && !cargo.contains(".."), "{cargo}");

    run(&project, "make", &[])?;
    assert!(project.join("hello-world.wasm").is_file());
    let tested = run(&project, "make", &["test"])?;
    assert!(tested.contains("2 passed"), "{tested}");
    assert!(tested.contains("verdict: clean (exit 0)"), "{tested}");

    let plugins = PluginsDir::new("author-rust-served");
    std::fs::copy(
        project.join("hello-world.wasm"),
        plugins.path.join("hello-world.wasm"),
    )?;
    std::fs::copy(
        project.join("hello-world.yml"),
        plugins.path.join("hello-world.yml"),
    )?;
    let exporter = Exporter::start(&plugins.path, &[])?;
    let body = exporter.scrape_text()?;
    assert_eq!(
        sample(&body, "hello_world_up{site=\"local\"}"),
        Some(1.0),
        "{body}"
    );
    exporter.terminate()?;
    Ok(())
}

#[test]
fn plugin_new_refuses_a_bad_name_and_an_existing_directory() -> Result<()> {
    let work = PluginsDir::new("author-refusals");
    let new = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_wasm_exporter"))
            .args(["plugin", "new", name, "--dir"])
            .arg(&work.path)
            .output()
    };
    let out = new("Bad Name")?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lowercase letters"));
    std::fs::create_dir(work.path.join("taken"))?;
    let out = new("taken")?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    Ok(())
}
