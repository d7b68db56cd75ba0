//! `wasm_exporter plugin new NAME --lang rust|python|js|go`: a ready plugin
//! project, anywhere. It holds a collector that reads a JSON API through
//! `fetch` and exports its numbers,
//! `NAME.yml` with `config:`, `grants:` and `limits:` explained, a README, a
//! test, the manifest (`Cargo.toml`, `pyproject.toml`, `package.json` or
//! `go.mod`), a build whose one command writes `NAME.wasm` (`make`, or `npm
//! run build`),
//! and a copy of the language's SDK and of the contract, so that it builds
//! without this repository.

use std::path::{Path, PathBuf};

/// Why a project could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name cannot be a package, file and metric name at once.
    #[error(
        "plugin name {0:?}: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter"
    )]
    Name(String),
    /// The project directory is there already.
    #[error("{0} exists already; choose another name or --dir")]
    Exists(PathBuf),
    /// Writing failed.
    #[error("writing {path}: {error}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// The languages a project can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust, with the wasm-exporter-sdk crate.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
    /// Go, on client_golang: stock Go for wasip1, then `plugin
    /// componentize`.
    Go,
}

impl Lang {
    /// The command that builds `NAME.wasm` in the project.
    pub fn build_command(self) -> &'static str {
        match self {
            Lang::Rust | Lang::Python | Lang::Go => "make",
            Lang::Js => "npm install && npm run build",
        }
    }

    /// The command that tests the project.
    pub fn test_command(self) -> &'static str {
        match self {
            Lang::Rust | Lang::Python | Lang::Go => "make test",
            Lang::Js => "npm test",
        }
    }
}

macro_rules! sdk_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../plugins/sdk/", $path)))),*]
    };
}

/// The SDK as the project gets it: every file its crate publishes.
pub const SDK_FILES: &[(&str, &str)] = sdk_files![
    "Cargo.toml",
    "README.md",
    "wit/plugin.wit",
    "src/lib.rs",
    "src/builders.rs",
    "src/config.rs",
    "src/duration.rs",
    "src/escaping.rs",
    "src/histogram.rs",
    "src/native.rs",
    "src/rules.rs",
    "src/strings.rs",
    "src/summary.rs",
    "src/testing.rs",
];

macro_rules! go_sdk_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../plugins/sdk-go/", $path)))),*]
    };
}

/// The Go SDK as the project gets it (under `wasm-exporter-sdk/`, which
/// its `go.mod` names with a `replace`): every file of its module.
pub const GO_SDK_FILES: &[(&str, &str)] = go_sdk_files![
    "go.mod",
    "go.sum",
    "README.md",
    "convert.go",
    "convert_test.go",
    "families.go",
    "host_other.go",
    "host_wasip1.go",
    "http_other.go",
    "http_wasip1.go",
    "log.go",
    "sdk.go",
    "internal/plugin/plugin.go",
    "wit/export_wasm_exporter_plugin_collector/collector.go",
    "wit/export_wasm_exporter_plugin_prober/prober.go",
    "wit/wasm_exporter_plugin_collector/empty.s",
    "wit/wasm_exporter_plugin_collector/wit_bindings.go",
    "wit/wasm_exporter_plugin_fetch/empty.s",
    "wit/wasm_exporter_plugin_fetch/wit_bindings.go",
    "wit/wasm_exporter_plugin_host/empty.s",
    "wit/wasm_exporter_plugin_host/wit_bindings.go",
    "wit/wasm_exporter_plugin_prober/empty.s",
    "wit/wasm_exporter_plugin_prober/wit_bindings.go",
    "wit/wasm_exporter_plugin_types/empty.s",
    "wit/wasm_exporter_plugin_types/wit_bindings.go",
    "wit/wit_exports/wit_exports.go",
];

const CONTRACT: (&str, &str) = (
    "wit/plugin.wit",
    include_str!("../../plugins/sdk/wit/plugin.wit"),
);
const MANIFEST: (&str, &str) = (
    "{{name}}.yml",
    include_str!("../templates/common/plugin.yml.tmpl"),
);
/// What the template's API answers in `make test`'s `check --respond`.
const STATUS: (&str, &str) = (
    "testdata/status.json",
    include_str!("../templates/common/status.json.tmpl"),
);

const RUST: &[(&str, &str)] = &[
    MANIFEST,
    STATUS,
    (
        "Cargo.toml",
        include_str!("../templates/rust/Cargo.toml.tmpl"),
    ),
    ("src/lib.rs", include_str!("../templates/rust/lib.rs.tmpl")),
    ("Makefile", include_str!("../templates/rust/Makefile.tmpl")),
    (
        "README.md",
        include_str!("../templates/rust/README.md.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../templates/rust/gitignore.tmpl"),
    ),
];

const PYTHON: &[(&str, &str)] = &[
    MANIFEST,
    STATUS,
    CONTRACT,
    ("app.py", include_str!("../templates/python/app.py.tmpl")),
    (
        "test_plugin.py",
        include_str!("../templates/python/test_plugin.py.tmpl"),
    ),
    (
        "pyproject.toml",
        include_str!("../templates/python/pyproject.toml.tmpl"),
    ),
    (
        "Makefile",
        include_str!("../templates/python/Makefile.tmpl"),
    ),
    (
        "README.md",
        include_str!("../templates/python/README.md.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../templates/python/gitignore.tmpl"),
    ),
    (
        "wasm_exporter_sdk.py",
        include_str!("../../plugins/sdk-python/wasm_exporter_sdk.py"),
    ),
];

const JS: &[(&str, &str)] = &[
    MANIFEST,
    STATUS,
    CONTRACT,
    ("app.js", include_str!("../templates/js/app.js.tmpl")),
    ("test.mjs", include_str!("../templates/js/test.mjs.tmpl")),
    (
        "package.json",
        include_str!("../templates/js/package.json.tmpl"),
    ),
    ("README.md", include_str!("../templates/js/README.md.tmpl")),
    (".gitignore", include_str!("../templates/js/gitignore.tmpl")),
    (
        "wasm_exporter_sdk.js",
        include_str!("../../plugins/sdk-js/wasm_exporter_sdk.js"),
    ),
    (
        "wasm_exporter_sdk.d.ts",
        include_str!("../../plugins/sdk-js/wasm_exporter_sdk.d.ts"),
    ),
    (
        "componentize.mjs",
        include_str!("../../plugins/sdk-js/componentize.mjs"),
    ),
    (
        "testing.mjs",
        include_str!("../../plugins/sdk-js/testing.mjs"),
    ),
    (
        "testing-hooks.mjs",
        include_str!("../../plugins/sdk-js/testing-hooks.mjs"),
    ),
];

const GO: &[(&str, &str)] = &[
    MANIFEST,
    STATUS,
    ("main.go", include_str!("../templates/go/main.go.tmpl")),
    (
        "main_test.go",
        include_str!("../templates/go/main_test.go.tmpl"),
    ),
    ("Makefile", include_str!("../templates/go/Makefile.tmpl")),
    ("README.md", include_str!("../templates/go/README.md.tmpl")),
    (".gitignore", include_str!("../templates/go/gitignore.tmpl")),
];

/// The project's `go.mod`: the SDK (from its copy, by `replace`) and every
/// module the SDK requires, at the SDK's versions, so that `go build`
/// needs no `go mod tidy`; `go.sum` is the SDK's.
fn go_mod(name: &str) -> String {
    let sdk = GO_SDK_FILES[0].1;
    let (go, requires) = sdk
        .split_once("\ngo ")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .unwrap_or(("1.25", ""));
    format!(
        "module {name}\n\ngo {go}\n\nrequire wasm_exporter/sdk v0.3.0\n{requires}\nreplace wasm_exporter/sdk => ./wasm-exporter-sdk\n"
    )
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn fill(template: &str, name: &str) -> String {
    let underscored = name.replace('-', "_");
    template
        .replace("{{name}}", name)
        .replace("{{crate}}", &underscored)
        .replace("{{metric}}", &underscored)
}

fn write(path: &Path, content: &str) -> Result<(), ScaffoldError> {
    let err = |error| ScaffoldError::Write {
        path: path.to_owned(),
        error,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, content).map_err(err)
}

/// Writes the project `parent/name` and returns its path.
pub fn new_plugin(name: &str, lang: Lang, parent: &Path) -> Result<PathBuf, ScaffoldError> {
    if !valid_name(name) {
        return Err(ScaffoldError::Name(name.to_owned()));
    }
    let root = parent.join(name);
    if root.exists() {
        return Err(ScaffoldError::Exists(root));
    }
    let files = match lang {
        Lang::Rust => RUST,
        Lang::Python => PYTHON,
        Lang::Js => JS,
        Lang::Go => GO,
    };
    for (path, template) in files {
        write(&root.join(fill(path, name)), &fill(template, name))?;
    }
    let sdk = match lang {
        Lang::Rust => SDK_FILES,
        Lang::Go => GO_SDK_FILES,
        Lang::Python | Lang::Js => &[],
    };
    for (path, content) in sdk {
        write(&root.join("wasm-exporter-sdk").join(path), content)?;
    }
    if lang == Lang::Go {
        write(&root.join("go.mod"), &go_mod(name))?;
        write(&root.join("go.sum"), GO_SDK_FILES[1].1)?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_gets_every_file_of_the_sdk() {
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk/src");
        let mut on_disk: Vec<String> = std::fs::read_dir(sdk)
            .unwrap()
            .map(|e| format!("src/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        on_disk.sort();
        let mut shipped: Vec<&str> = SDK_FILES
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| p.starts_with("src/"))
            .collect();
        shipped.sort_unstable();
        assert_eq!(on_disk, shipped, "add the new SDK file to SDK_FILES");
    }

    #[test]
    fn the_go_project_gets_every_file_of_the_go_sdk() {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    let rel = path
                        .strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    out.push(rel);
                }
            }
        }
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk-go");
        let mut on_disk = Vec::new();
        walk(&base, &base, &mut on_disk);
        on_disk.sort();
        let mut shipped: Vec<String> = GO_SDK_FILES.iter().map(|(p, _)| (*p).to_owned()).collect();
        shipped.sort();
        assert_eq!(on_disk, shipped, "add the new Go SDK file to GO_SDK_FILES");
        let go_mod = go_mod("hello-go");
        assert!(go_mod.starts_with("module hello-go\n\ngo 1."), "{go_mod}");
        assert!(
            go_mod.contains("github.com/prometheus/client_golang v"),
            "{go_mod}"
        );
        assert!(
            go_mod.ends_with("replace wasm_exporter/sdk => ./wasm-exporter-sdk\n"),
            "{go_mod}"
        );
    }

    #[test]
    fn names_fit_a_package_a_file_and_a_metric() {
        for good in ["hello", "my-plugin", "disk_io2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Hello", "2fast", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(
            fill("{{name}} {{crate}} {{metric}}_up", "my-plugin"),
            "my-plugin my_plugin my_plugin_up"
        );
    }

    #[test]
    fn an_existing_directory_is_left_alone() {
        let parent = std::env::temp_dir().join(format!("scaffold-{}", std::process::id()));
        std::fs::create_dir_all(parent.join("taken")).unwrap();
        assert!(matches!(
            new_plugin("taken", Lang::Rust, &parent),
            Err(ScaffoldError::Exists(_))
        ));
        let root = new_plugin("fresh", Lang::Rust, &parent).unwrap();
        assert!(root.join("fresh.yml").is_file());
        assert!(root.join("wasm-exporter-sdk/wit/plugin.wit").is_file());
        let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"fresh\""), "{cargo}");
        for (lang, name, manifest) in [
            (Lang::Python, "fresh-py", "pyproject.toml"),
            (Lang::Js, "fresh-js", "package.json"),
        ] {
            let root = new_plugin(name, lang, &parent).unwrap();
            assert!(root.join(manifest).is_file(), "{lang:?}");
            assert!(root.join("wit/plugin.wit").is_file(), "{lang:?}");
            assert!(root.join(format!("{name}.yml")).is_file(), "{lang:?}");
        }
        std::fs::remove_dir_all(&parent).unwrap();
    }
}
