//! Config values taken from files: `config_files:` in `NAME.yml` maps a key
//! of the plugin's `config:` to a file whose content becomes its value, so
//! that a credential (a HAProxy stats password in `scrape_uri`) can come from
//! a Kubernetes Secret mounted as a file or a systemd credential instead of
//! sitting in the manifest. Plugins read no files: the host reads them at
//! load and on every reload. A value is never logged and never shown.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::config::InstanceSpec;

/// Why a value could not be taken from its file. The message names the key
/// and the file, never the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config_files.{key} ({}): {why}", path.display())]
pub struct SecretError {
    /// The config key.
    pub key: String,
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub why: String,
}

/// `path` as named in `NAME.yml`: relative to the manifest's directory.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

/// Every file `spec` takes a value from.
pub fn files(spec: &InstanceSpec, base: &Path) -> Vec<PathBuf> {
    spec.config_files
        .values()
        .map(|p| resolve(base, p))
        .collect()
}

/// The config `init` receives, as JSON, with the values of `config_files`
/// read in. A file must exist and be readable by its owner and group only
/// (a value others can read is no secret); one trailing newline is dropped.
pub fn config_json(spec: &InstanceSpec, base: &Path) -> Result<String, SecretError> {
    if spec.config_files.is_empty() {
        return Ok(spec.config_json());
    }
    let mut config = match &spec.config {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(map)) => map.clone(),
        Some(_) => {
            let (key, path) = spec.config_files.iter().next().map_or_else(
                || (String::new(), PathBuf::new()),
                |(k, p)| (k.clone(), p.clone()),
            );
            return Err(SecretError {
                key,
                path,
                why: "config: must be a mapping to take values from files".into(),
            });
        }
    };
    for (key, path) in &spec.config_files {
        let path = resolve(base, path);
        let err = |why: String| SecretError {
            key: key.clone(),
            path: path.clone(),
            why,
        };
        if config.contains_key(key) {
            return Err(err("also set in config:; give it in one place".into()));
        }
        let meta = std::fs::metadata(&path).map_err(|e| err(e.to_string()))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
        }
        if meta.mode() & 0o007 != 0 {
            return Err(err(format!(
                "readable by others (mode {:o}); make it 0600 or 0640",
                meta.mode() & 0o777
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        let value = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text);
        config.insert(key.clone(), serde_json::Value::String(value.to_owned()));
    }
    Ok(serde_json::Value::Object(config).to_string())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::config::Manifest;

    fn dir(test: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "wasm_exporter-secrets-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn secret(dir: &Path, name: &str, text: &str, mode: u32) {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn spec(yml: &str) -> InstanceSpec {
        let m = Manifest::parse(yml).unwrap();
        m.instances("x").unwrap().remove(0).1
    }

    #[test]
    fn values_come_from_files_beside_the_manifest() {
        let d = dir("ok");
        secret(
            &d,
            "uri",
            "http://admin:s3cret@127.0.0.1:8404/;csv\n",
            0o600,
        );
        let s = spec("config:\n  timeout: 5s\nconfig_files:\n  scrape_uri: uri\n");
        let json: serde_json::Value = serde_json::from_str(&config_json(&s, &d).unwrap()).unwrap();
        assert_eq!(
            json["scrape_uri"],
            "http://admin:s3cret@127.0.0.1:8404/;csv"
        );
        assert_eq!(json["timeout"], "5s");
        assert_eq!(files(&s, &d), [d.join("uri")]);
    }

    #[test]
    fn refusals_name_the_key_and_file_never_the_value() {
        let d = dir("bad");
        secret(&d, "open", "s3cret", 0o644);
        secret(&d, "fine", "s3cret", 0o640);
        let cases = [
            (
                "config_files:\n  pw: open\n",
                "readable by others (mode 644)",
            ),
            ("config_files:\n  pw: missing\n", "No such file"),
            (
                "config:\n  pw: x\nconfig_files:\n  pw: fine\n",
                "also set in config",
            ),
            (
                "config: [1]\nconfig_files:\n  pw: fine\n",
                "must be a mapping",
            ),
        ];
        for (yml, want) in cases {
            let e = config_json(&spec(yml), &d).unwrap_err().to_string();
            assert!(e.starts_with("config_files.pw ("), "{yml}: {e}");
            assert!(e.contains(want), "{yml}: {e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
    }
}
