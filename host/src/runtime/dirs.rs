//! Read-only directory grants: `grants.dirs` of a plugin's `NAME.yml`.
//!
//! Each granted directory is opened when an instance is created and handed
//! to it as a WASI preopen at the same path, read-only: the plugin may list,
//! stat and read what is inside, and may not create, write, rename or delete
//! anything. Nothing else of the host's filesystem exists for it. Paths are
//! resolved inside the opened directory by wasmtime's capability-based
//! filesystem, so `..` and symlinks that lead out of it (absolute or
//! relative) are refused.
//!
//! A granted directory that cannot be opened (missing, not a directory, not
//! readable) is logged and left out; the plugin then sees no such path, as
//! node_exporter's textfile collector sees a missing directory. The
//! instance is started anew as soon as the directory appears.

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// The directories one plugin instance may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirGrants {
    dirs: Vec<String>,
}

impl DirGrants {
    /// Checks the `grants.dirs` list of a manifest: absolute paths without
    /// `.` or `..`, not `/` itself, each once.
    pub fn parse(specs: &[String]) -> Result<Self, String> {
        let mut dirs: Vec<String> = Vec::with_capacity(specs.len());
        for spec in specs {
            let trimmed = spec.trim_end_matches('/');
            if trimmed.is_empty() && !spec.is_empty() {
                return Err(format!(
                    "grants.dirs: {spec:?} would grant the whole filesystem; grant the directory the plugin reads"
                ));
            }
            // Checked on the text: `Path::components` would quietly drop
            // a `.` or an empty component, and the plugin names the
            // directory by this very string.
            let normal = trimmed.starts_with('/')
                && trimmed
                    .split('/')
                    .skip(1)
                    .all(|part| !matches!(part, "" | "." | ".."));
            if !normal {
                return Err(format!(
                    "grants.dirs: {spec:?} must be an absolute path without . or .. (or //)"
                ));
            }
            if dirs.iter().any(|d| d == trimmed) {
                return Err(format!("grants.dirs: {spec:?} is listed twice"));
            }
            dirs.push(trimmed.to_owned());
        }
        Ok(DirGrants { dirs })
    }

    /// The granted paths, as configured.
    pub fn paths(&self) -> &[String] {
        &self.dirs
    }

    /// Mounts every granted directory read-only at its own path. Returns the
    /// ones that could not be opened, after logging why.
    pub fn mount(&self, builder: &mut WasiCtxBuilder, plugin: &str) -> Vec<String> {
        let mut unmounted = Vec::new();
        for dir in &self.dirs {
            if let Err(e) = builder.preopened_dir(dir, dir, FsPerms::ReadOnly) {
                tracing::warn!(
                    plugin = %plugin,
                    dir = %dir,
                    "granted directory not mounted: {e:#}; the plugin sees no such directory until it appears"
                );
                unmounted.push(dir.clone());
            }
        }
        unmounted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(specs: &[&str]) -> Result<DirGrants, String> {
        DirGrants::parse(&specs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn absolute_clean_paths_are_granted_once() {
        let grants = parse(&["/var/lib/textfile/", "/srv/a"]).unwrap();
        assert_eq!(grants.paths(), ["/var/lib/textfile", "/srv/a"]);
        for bad in ["relative/dir", "/a/../etc", "/a/./b", "/a//b", "/.", "//"] {
            let err = parse(&[bad]).unwrap_err();
            assert!(err.starts_with("grants.dirs: "), "{bad}: {err}");
        }
        assert!(parse(&["/"]).unwrap_err().contains("whole filesystem"));
        assert!(parse(&["/a", "/a/"]).unwrap_err().contains("twice"));
    }

    #[test]
    fn a_missing_directory_is_reported_not_mounted() {
        let dir = std::env::temp_dir().join(format!("wasm-exporter-dirs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let there = dir.to_str().unwrap().to_owned();
        let missing = format!("{there}/missing");
        let grants = parse(&[&there, &missing]).unwrap();
        let mut builder = WasiCtxBuilder::new();
        assert_eq!(grants.mount(&mut builder, "t"), [missing]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
