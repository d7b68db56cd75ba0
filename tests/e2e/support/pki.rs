//! Test certificates made by openssl at test time, for the TLS tests of
//! the exporter's listener (`web.rs`) and of `fetch` (`credentials.rs`).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, ensure};

/// A folder of test certificates: a CA, a server certificate for
/// 127.0.0.1 signed by it, a client certificate signed by it, and a
/// second, unrelated CA with a client certificate of its own.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn new(test: &str) -> Result<Self> {
        let dir = super::fresh_dir(&format!("pki-{test}"))?;
        let pki = Pki { dir };
        pki.ca("ca")?;
        pki.ca("other-ca")?;
        pki.leaf(
            "server",
            "ca",
            "first",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        )?;
        pki.leaf(
            "client",
            "ca",
            "client",
            "subjectAltName=DNS:prometheus.test\nextendedKeyUsage=clientAuth\n",
        )?;
        pki.leaf(
            "stranger",
            "other-ca",
            "stranger",
            "subjectAltName=DNS:prometheus.test\nextendedKeyUsage=clientAuth\n",
        )?;
        Ok(pki)
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    pub fn openssl(&self, args: &[&str]) -> Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .context("running openssl")?;
        ensure!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    pub fn ca(&self, name: &str) -> Result<()> {
        self.openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ])
    }

    /// A certificate `name.crt`/`name.key` with common name `cn`, signed by
    /// `ca`, with the extensions `ext`.
    pub fn leaf(&self, name: &str, ca: &str, cn: &str, ext: &str) -> Result<()> {
        std::fs::write(self.dir.join(format!("{name}.ext")), ext)?;
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ])?;
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ])
    }

    pub fn write_config(&self, yaml: &str) -> Result<String> {
        let path = self.dir.join("web.yml");
        std::fs::write(&path, yaml)?;
        Ok(path.display().to_string())
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
