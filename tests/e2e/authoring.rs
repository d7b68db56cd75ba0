//! A plugin author outside this repository, in Rust, Python and
//! JavaScript: `plugin new` in an empty directory, the project's own build
//! and tests (which run `wasm_exporter check`), then the `.wasm` dropped
//! into a plugins directory and scraped.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::support::api::JsonApi;
use crate::support::*;

fn bin_dir() -> String {
    Path::new(env!("CARGO_BIN_EXE_wasm_exporter"))
        .parent()
        .expect("the binary has a directory")
        .display()
        .to_string()
}

/// Where `make test` put componentize-py (build/venv) and componentize-js
/// and TypeScript (build/npm).
fn tools() -> (String, PathBuf) {
    let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("../build");
    let python = Path::new(&python())
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    (python, build.join("npm"))
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Result<String> {
    let path = format!(
        "{}:{}:{}",
        bin_dir(),
        tools().0,
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
    assert!(tested.contains("3 passed"), "{tested}");
    assert!(tested.contains("verdict: clean (exit 0)"), "{tested}");

    served(&project, "hello-world")
}

/// Copies the project's `NAME.wasm` and `NAME.yml` into a plugins
/// directory, its API (config and grant) moved to a local one, and scrapes
/// what it read there.
fn served(project: &Path, name: &str) -> Result<()> {
    let api = JsonApi::start("unused-token", "http://127.0.0.1:9/");
    let plugins = PluginsDir::new(&format!("author-{name}-served"));
    std::fs::copy(
        project.join(format!("{name}.wasm")),
        plugins.path.join(format!("{name}.wasm")),
    )?;
    let yml = std::fs::read_to_string(project.join(format!("{name}.yml")))?;
    let moved = yml.replace("127.0.0.1:8080", &api.addr);
    assert_ne!(yml, moved, "the template's API address moved");
    plugins.write(&format!("{name}.yml"), moved.as_bytes());
    let exporter = Exporter::start(&plugins.path, &[])?;
    let body = exporter.scrape_text()?;
    let metric = name.replace('-', "_");
    assert_eq!(
        sample(&body, &format!("{metric}_up{{site=\"local\"}}")),
        Some(1.0),
        "{body}"
    );
    // client_golang orders labels by name; the other SDKs as declared.
    let value = sample(
        &body,
        &format!("{metric}_value{{site=\"local\",field=\"requests\"}}"),
    )
    .or_else(|| {
        sample(
            &body,
            &format!("{metric}_value{{field=\"requests\",site=\"local\"}}"),
        )
    });
    assert_eq!(value, Some(7.0), "{body}");
    assert_eq!(api.seen()[0].headers["accept"], "application/json");
    exporter.terminate()?;
    Ok(())
}

#[test]
fn a_python_plugin_from_plugin_new_to_a_served_metric() -> Result<()> {
    let work = PluginsDir::new("author-python");
    let bin = env!("CARGO_BIN_EXE_wasm_exporter");
    run(
        &work.path,
        bin,
        &["plugin", "new", "hello-py", "--lang", "python"],
    )?;
    let project = work.path.join("hello-py");
    run(&project, "make", &[])?;
    let tested = run(&project, "make", &["test"])?;
    assert!(
        tested.contains("Ran 4 tests") && tested.contains("OK"),
        "{tested}"
    );
    served(&project, "hello-py")
}

#[test]
fn a_javascript_plugin_from_plugin_new_to_a_served_metric() -> Result<()> {
    let work = PluginsDir::new("author-js");
    let bin = env!("CARGO_BIN_EXE_wasm_exporter");
    run(
        &work.path,
        bin,
        &["plugin", "new", "hello-js", "--lang", "js"],
    )?;
    let project = work.path.join("hello-js");
    // `npm install` would fetch componentize-js again; the copy make test
    // installed is the same version, so link it in.
    let npm = tools().1;
    std::os::unix::fs::symlink(npm.join("node_modules"), project.join("node_modules"))?;
    run(&project, "npm", &["run", "build"])?;
    let tested = run(&project, "npm", &["test"])?;
    assert!(
        tested.contains("# pass 4") && tested.contains("# fail 0"),
        "{tested}"
    );
    // The SDK's types fit the template, and catch a mistake.
    let tsc = npm.join("node_modules/.bin/tsc").display().to_string();
    let check_types = [
        "--noEmit",
        "--allowJs",
        "--checkJs",
        "--strict",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "app.js",
    ];
    run(&project, &tsc, &check_types)?;
    let app = std::fs::read_to_string(project.join("app.js"))?;
    let broken = app.replace(
        "up.addGauge([this.site], 1);",
        "up.addGauge([this.site], 'one');",
    );
    assert_ne!(app, broken, "the template changed: break it another way");
    std::fs::write(project.join("app.js"), broken)?;
    assert!(
        run(&project, &tsc, &check_types).is_err(),
        "tsc let a string value through"
    );
    std::fs::write(project.join("app.js"), app)?;
    served(&project, "hello-js")
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

#[test]
fn a_go_plugin_from_plugin_new_to_a_served_metric() -> Result<()> {
    let work = PluginsDir::new("author-go");
    let bin = env!("CARGO_BIN_EXE_wasm_exporter");
    run(
        &work.path,
        bin,
        &["plugin", "new", "hello-go", "--lang", "go"],
    )?;
    let project = work.path.join("hello-go");
    // Nothing but Go and wasm_exporter: stock Go for wasip1, then
    // `plugin componentize`.
    run(&project, "make", &[])?;
    assert!(project.join("hello-go.wasm").is_file());
    let tested = run(&project, "make", &["test"])?;
    assert!(tested.contains("ok  \thello-go"), "{tested}");
    assert!(tested.contains("verdict: clean (exit 0)"), "{tested}");
    assert!(
        tested.contains("hello_go_value{field=\"requests\",site=\"local\"} 12"),
        "{tested}"
    );
    served(&project, "hello-go")
}
