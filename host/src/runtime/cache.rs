//! The precompiled component cache (`--plugins.cache-dir`): compiling a
//! plugin with Cranelift takes 100+ ms, loading its compiled form a few.
//!
//! An entry is named by the SHA-256 of the `.wasm` and the engine's
//! `precompile_compatibility_hash()` (wasmtime version, settings and CPU
//! features), so a new plugin, a new exporter or another machine never
//! looks up an old entry. Each file starts with a magic and the SHA-256 of
//! what follows; an entry that is truncated, corrupt or not ours fails that
//! check, is logged, and is compiled afresh and rewritten. Entries are
//! written to a temporary name and renamed, so a crash never leaves half a
//! file under a real name.
//!
//! The checksum guards against accidents, not against someone who can write
//! the directory: like wasmtime's own cache, an entry that checks out is
//! loaded as compiled code. Entries are therefore only kept where the
//! exporter alone can write: the directory given when it is so (no group or
//! world write, as ssh asks of its keys), else a private subdirectory of our
//! own in it ([`private_dir`], used by [`ComponentCache::open`]).

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"WXCACHE1";
const HEADER: usize = MAGIC.len() + 32;

/// Why the cache directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The directory could not be created or inspected.
    #[error("cache directory {path}: {error}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Our private subdirectory is not ours alone: others could write
    /// compiled code for us to run.
    #[error("cache directory {0} is not a directory owned by the exporter's user with mode 0700")]
    Unsafe(PathBuf),
}

/// What a lookup found, for the load log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// No cache configured.
    Off,
    /// Loaded from the cache.
    Hit,
    /// Not there (or not usable): compiled, and written for next time.
    Miss,
}

impl Lookup {
    /// For log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Off => "off",
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
        }
    }
}

/// A directory of compiled components.
#[derive(Debug)]
pub struct ComponentCache {
    dir: PathBuf,
    /// Hex of the engine's compatibility hash.
    engine_key: String,
}

/// Feeds `Hash` into SHA-256, for the engine's compatibility hash.
struct Sha256Hasher(ring::digest::Context);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finish();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_ref()[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Where compiled code may be kept: `dir` when group and others cannot
/// write it; otherwise (a Kubernetes `emptyDir` is 0777, `umask 002` makes
/// 0775) `dir/wasm_exporter-UID`, created with mode 0700 and checked to be
/// a real directory of ours that only we can use, so that nobody else can
/// put code there for us to run.
pub fn private_dir(dir: &Path) -> Result<PathBuf, CacheError> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| CacheError::Io { path, error }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if std::fs::metadata(dir).map_err(io(dir))?.mode() & 0o022 == 0 {
        return Ok(dir.to_owned());
    }
    let uid = rustix::process::getuid().as_raw();
    let own = dir.join(format!("wasm_exporter-{uid}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&own) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(&own)(e)),
    }
    let meta = std::fs::symlink_metadata(&own).map_err(io(&own))?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(CacheError::Unsafe(own));
    }
    Ok(own)
}

impl ComponentCache {
    /// Uses (and creates) `dir` for `engine`'s compiled components: `dir`
    /// itself when only its owner can write it, else a subdirectory of our
    /// own in it (see [`private_dir`]).
    pub fn open(dir: &Path, engine: &Engine) -> Result<Self, CacheError> {
        let dir = &private_dir(dir)?;
        let mut hasher = Sha256Hasher(ring::digest::Context::new(&ring::digest::SHA256));
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex(&hasher.0.finish().as_ref()[..12]);
        Ok(ComponentCache {
            dir: dir.to_owned(),
            engine_key,
        })
    }

    /// The directory entries are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry for these plugin bytes.
    pub fn entry_path(&self, wasm: &[u8]) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", hex(&sha256(wasm)), self.engine_key))
    }

    /// The compiled component for `wasm`: from the cache when a sound entry
    /// is there, else compiled by `compile` and stored.
    pub fn get_or_compile<E>(
        &self,
        engine: &Engine,
        wasm: &[u8],
        compile: impl FnOnce() -> Result<Component, E>,
    ) -> Result<(Component, Lookup), E> {
        let path = self.entry_path(wasm);
        if let Some(component) = self.load(engine, &path) {
            return Ok((component, Lookup::Hit));
        }
        let component = compile()?;
        self.store(&path, &component);
        Ok((component, Lookup::Miss))
    }

    fn load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(file = %path.display(), "cannot read cache entry, compiling: {e}");
                return None;
            }
        };
        let sound = bytes.len() > HEADER
            && &bytes[..MAGIC.len()] == MAGIC
            && bytes[MAGIC.len()..HEADER] == sha256(&bytes[HEADER..]);
        if !sound {
            tracing::warn!(file = %path.display(), "cache entry is corrupt or not ours; compiling afresh");
            return None;
        }
        // SAFETY: wasmtime requires the bytes to come from its own
        // `serialize` with a compatible engine. They do: the checksum above
        // proves the file is what `store` wrote (the directory is ours
        // alone, checked in `open`), and the file name carries this engine's
        // compatibility hash; wasmtime also checks its version and settings
        // itself and errors on a mismatch.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, &bytes[HEADER..]) };
        match component {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(file = %path.display(), "cache entry not loadable, compiling afresh: {}", super::error::error_chain(&e));
                None
            }
        }
    }

    fn store(&self, path: &Path, component: &Component) {
        let payload = match component.serialize() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("cannot serialize component for the cache: {e}");
                return;
            }
        };
        let mut bytes = Vec::with_capacity(HEADER + payload.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&sha256(&payload));
        bytes.extend_from_slice(&payload);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(file = %path.display(), "cannot write cache entry: {e}");
        }
    }
}
