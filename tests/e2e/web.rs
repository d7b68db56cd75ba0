//! `--web.config.file` (exporter-toolkit format) against a real client:
//! curl and openssl, with certificates made by openssl at test time; the
//! listener limits; systemd socket activation with systemd's own
//! `systemd-socket-activate`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::support::pki::Pki;
use crate::support::*;

/// curl trusting the CA of `pki` and presenting its client certificate
/// `name` (`NAME.crt`, `NAME.key`).
fn curl_as(pki: &Pki, name: &str, url: &str) -> Result<Curl> {
    curl(&[
        "--cacert",
        &pki.path("ca.crt"),
        "--cert",
        &pki.path(&format!("{name}.crt")),
        "--key",
        &pki.path(&format!("{name}.key")),
        url,
    ])
}

/// What curl got: its exit code, the HTTP status (0 without one), the
/// response headers and body.
#[derive(Debug)]
struct Curl {
    exit: i32,
    status: u16,
    head: String,
    body: String,
}

fn curl(args: &[&str]) -> Result<Curl> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-D", "/dev/stderr", "-o", "-"])
        .args(args)
        .output()
        .context("running curl")?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let status = stderr
        .lines()
        .rfind(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Curl {
        exit: out.status.code().unwrap_or(-1),
        status,
        head: stderr,
        body: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

fn secured(dir: &Path, web_config: &str) -> Result<Exporter> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasm_exporter"));
    cmd.args([
        "--web.listen-address",
        "127.0.0.1:0",
        "--web.config.file",
        web_config,
        "--web.enable-lifecycle",
    ]);
    Exporter::start_secured(cmd, dir, &[])
}

fn conformance_dir(test: &str) -> PluginsDir {
    let dir = PluginsDir::new(test);
    dir.add("conformance", "conformance", None);
    dir
}

#[test]
fn tls_without_client_certificates() -> Result<()> {
    let pki = Pki::new("tls")?;
    let config = pki.write_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS12\n",
    )?;
    let plugins = conformance_dir("tls");
    let exporter = secured(&plugins.path, &config)?;
    let url = format!("https://{}/metrics", exporter.addr);

    let ok = curl(&["--cacert", &pki.path("ca.crt"), &url])?;
    ensure!(ok.exit == 0 && ok.status == 200, "{ok:?}");
    ensure!(ok.body.contains("wasm_exporter_build_info"), "{}", ok.body);
    // TLS 1.2 is on as well as 1.3.
    let tls12 = curl(&["--cacert", &pki.path("ca.crt"), "--tls-max", "1.2", &url])?;
    ensure!(tls12.status == 200, "{tls12:?}");

    // The client does not trust the server's CA: the handshake fails.
    let wrong = curl(&["--cacert", &pki.path("other-ca.crt"), &url])?;
    ensure!(wrong.exit == 60 && wrong.status == 0, "{wrong:?}");
    // Plain HTTP on a TLS port gets Go's answer, as exporter-toolkit gives.
    let plain = curl(&[&format!("http://{}/metrics", exporter.addr)])?;
    ensure!(plain.status == 400, "{plain:?}");
    ensure!(
        plain.body == "Client sent an HTTP request to an HTTPS server.\n",
        "{plain:?}"
    );
    // A client offering nothing newer than TLS 1.1 gets a protocol_version
    // alert, as from Go.
    let old = Command::new("openssl")
        .args(["s_client", "-connect", &exporter.addr, "-tls1_1"])
        .args(["-cipher", "DEFAULT:@SECLEVEL=0"])
        .stdin(std::process::Stdio::null())
        .output()?;
    let said =
        String::from_utf8_lossy(&old.stderr).into_owned() + &String::from_utf8_lossy(&old.stdout);
    ensure!(said.contains("alert protocol version"), "{said}");
    // The server still serves afterwards.
    ensure!(curl(&["--cacert", &pki.path("ca.crt"), &url])?.status == 200);
    Ok(())
}

#[test]
fn tls_1_3_suite_names_in_cipher_suites_start_as_with_the_toolkit() -> Result<()> {
    let pki = Pki::new("tls13-suites")?;
    let config = pki.write_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites:\n    - TLS_AES_128_GCM_SHA256\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n",
    )?;
    let plugins = conformance_dir("tls13-suites");
    let exporter = secured(&plugins.path, &config)?;
    let url = format!("https://{}/metrics", exporter.addr);
    let tls13 = curl(&["--cacert", &pki.path("ca.crt"), "--tlsv1.3", &url])?;
    ensure!(tls13.status == 200, "{tls13:?}");
    let tls12 = curl(&["--cacert", &pki.path("ca.crt"), "--tls-max", "1.2", &url])?;
    ensure!(tls12.status == 200, "{tls12:?}");
    Ok(())
}

#[test]
fn verifying_client_certificates_without_a_ca_file_uses_the_system_roots() -> Result<()> {
    // As Go (and so exporter-toolkit): the file starts, and a client
    // certificate is checked against the system's roots, which do not hold
    // this test's CA.
    let pki = Pki::new("mtls-system")?;
    let config = pki.write_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: VerifyClientCertIfGiven\n",
    )?;
    let plugins = conformance_dir("mtls-system");
    let exporter = secured(&plugins.path, &config)?;
    let url = format!("https://{}/metrics", exporter.addr);
    let ca = pki.path("ca.crt");
    let without = curl(&["--cacert", &ca, &url])?;
    ensure!(without.status == 200, "{without:?}");
    let untrusted = curl_as(&pki, "client", &url)?;
    ensure!(
        untrusted.status == 0 && untrusted.exit != 0,
        "{untrusted:?}"
    );
    Ok(())
}

#[test]
fn a_self_signed_ca_certificate_listed_as_its_own_client_ca_is_taken() -> Result<()> {
    // What `openssl req -x509` makes (CA:TRUE), as Go's verifier takes it.
    let pki = Pki::new("self-signed-client")?;
    pki.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "selfie.key",
        "-out",
        "selfie.crt",
        "-days",
        "2",
        "-subj",
        "/CN=selfie",
    ])?;
    let config = pki.write_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: selfie.crt\n",
    )?;
    let plugins = conformance_dir("self-signed-client");
    let exporter = secured(&plugins.path, &config)?;
    let url = format!("https://{}/metrics", exporter.addr);
    let selfie = curl_as(&pki, "selfie", &url)?;
    ensure!(selfie.status == 200, "{selfie:?}");
    // A certificate of another CA is still refused.
    let other = curl_as(&pki, "client", &url)?;
    ensure!(other.status == 0 && other.exit != 0, "{other:?}");
    Ok(())
}

#[test]
fn tls_requiring_verified_client_certificates() -> Result<()> {
    let pki = Pki::new("mtls")?;
    let config = pki.write_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus.test]\n",
    )?;
    let plugins = conformance_dir("mtls");
    let exporter = secured(&plugins.path, &config)?;
    let url = format!("https://{}/metrics", exporter.addr);
    let ca = pki.path("ca.crt");

    let with_cert = curl_as(&pki, "client", &url)?;
    ensure!(
        with_cert.exit == 0 && with_cert.status == 200,
        "{with_cert:?}"
    );
    ensure!(
        with_cert.body.contains("conformance_"),
        "{}",
        with_cert.body
    );

    let without = curl(&["--cacert", &ca, &url])?;
    ensure!(
        without.status == 0 && without.exit != 0,
        "no client cert: {without:?}"
    );

    // A client certificate from a CA the server does not trust.
    let stranger = curl_as(&pki, "stranger", &url)?;
    ensure!(
        stranger.status == 0 && stranger.exit != 0,
        "untrusted client cert: {stranger:?}"
    );
    Ok(())
}

#[test]
fn client_certificate_outside_the_allowed_sans_is_refused() -> Result<()> {
    let pki = Pki::new("sans")?;
    let config = pki.write_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [other.test]\n",
    )?;
    let plugins = conformance_dir("sans");
    let exporter = secured(&plugins.path, &config)?;
    let r = curl_as(
        &pki,
        "client",
        &format!("https://{}/metrics", exporter.addr),
    )?;
    ensure!(r.status == 0 && r.exit != 0, "{r:?}");
    Ok(())
}

#[test]
fn allowed_sans_match_dns_email_ip_and_uri_exactly_and_require_a_certificate() -> Result<()> {
    let pki = Pki::new("sans-kinds")?;
    pki.leaf(
        "workload",
        "ca",
        "workload",
        "subjectAltName=email:prom@example.test,URI:spiffe://cluster/prometheus,IP:10.1.2.3\nextendedKeyUsage=clientAuth\n",
    )?;
    let plugins = conformance_dir("sans-kinds");
    let client = |exporter: &Exporter, name: &str| -> Result<Curl> {
        curl_as(&pki, name, &format!("https://{}/-/healthy", exporter.addr))
    };
    // A client without a certificate never gets in past the list.
    for (allowed, workload_in, client_in) in [
        ("spiffe://cluster/prometheus", true, false),
        ("prom@example.test", true, false),
        ("10.1.2.3", true, false),
        ("prometheus.test", false, true),
        // Exact strings, no wildcard matching.
        ("\"*.test\"", false, false),
    ] {
        let config = pki.write_config(&format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [{allowed}]\n"
        ))?;
        let exporter = secured(&plugins.path, &config)?;
        let workload = client(&exporter, "workload")?;
        ensure!(
            (workload.status == 200) == workload_in,
            "{allowed}: workload {workload:?}"
        );
        let other = client(&exporter, "client")?;
        ensure!(
            (other.status == 200) == client_in,
            "{allowed}: client {other:?}"
        );
        let none = curl(&[
            "--cacert",
            &pki.path("ca.crt"),
            &format!("https://{}/-/healthy", exporter.addr),
        ])?;
        ensure!(
            none.status == 0 && none.exit != 0,
            "{allowed}: no certificate got in: {none:?}"
        );
    }
    Ok(())
}

#[test]
fn allowed_sans_where_a_client_may_come_without_a_certificate_are_refused_at_start() -> Result<()> {
    let pki = Pki::new("sans-nocert")?;
    let plugins = conformance_dir("sans-nocert");
    for (auth, named) in [
        ("", "NoClientCert"),
        ("NoClientCert", "NoClientCert"),
        ("RequestClientCert", "RequestClientCert"),
        ("VerifyClientCertIfGiven", "VerifyClientCertIfGiven"),
    ] {
        let auth_line = match auth {
            "" => String::new(),
            "VerifyClientCertIfGiven" => {
                format!("  client_auth_type: {auth}\n  client_ca_file: ca.crt\n")
            }
            _ => format!("  client_auth_type: {auth}\n"),
        };
        let config = pki.write_config(&format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{auth_line}  client_allowed_sans: [prometheus.test]\n"
        ))?;
        let stderr = start_refused(&plugins.path, &["--web.config.file", &config])?;
        ensure!(
            stderr.contains("client_allowed_sans") && stderr.contains(named),
            "{auth}: {stderr}"
        );
    }
    Ok(())
}

#[test]
fn rate_limit_from_an_exporter_toolkit_file_answers_429_past_the_burst() -> Result<()> {
    let pki = Pki::new("rate-limit")?;
    // A file as exporter-toolkit documents it, every section used.
    let hash = bcrypt::hash("s3cret", 4)?;
    let config = pki.write_config(&format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  http2: true\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  prometheus: '{hash}'\nrate_limit:\n  interval: 1m\n  burst: 2\n"
    ))?;
    let plugins = conformance_dir("rate-limit");
    let exporter = secured(&plugins.path, &config)?;
    let url = format!("https://{}/-/healthy", exporter.addr);
    let get = || {
        curl(&[
            "--cacert",
            &pki.path("ca.crt"),
            "-u",
            "prometheus:s3cret",
            &url,
        ])
    };
    let statuses: Vec<u16> = (0..3)
        .map(|_| get().map(|r| r.status))
        .collect::<Result<_>>()?;
    ensure!(statuses == [200, 200, 429], "{statuses:?}");
    let r = get()?;
    ensure!(
        r.status == 429 && r.body.contains("Too Many Requests"),
        "{r:?}"
    );
    ensure!(
        r.head
            .to_ascii_lowercase()
            .contains("x-frame-options: deny"),
        "{}",
        r.head
    );
    Ok(())
}

/// The subject of the certificate the server presents, per openssl.
fn served_subject(addr: &str) -> Result<String> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", addr, "-servername", "localhost"])
        .stdin(Stdio::null())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("subject="))
        .map(str::to_owned)
        .context("no subject in openssl s_client output")
}

#[test]
fn renewed_certificate_is_served_without_restart() -> Result<()> {
    let pki = Pki::new("renew")?;
    let config =
        pki.write_config("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")?;
    let plugins = conformance_dir("renew");
    let exporter = secured(&plugins.path, &config)?;
    ensure!(served_subject(&exporter.addr)?.contains("first"));

    // A half-written renewal (no key yet) is refused; the old pair serves.
    std::fs::write(pki.dir.join("server.key"), "-----BEGIN PRIVATE KEY-----\n")?;
    ensure!(served_subject(&exporter.addr)?.contains("first"));
    exporter.wait_for_log(&["web config change not loaded"]);

    // Then the renewal lands, as certbot or cert-manager would write it.
    pki.leaf("server", "ca", "second", "subjectAltName=IP:127.0.0.1\n")?;
    let subject = eventually(Duration::from_secs(10), || {
        let s = served_subject(&exporter.addr)?;
        Ok(s.contains("second").then_some(s))
    })?;
    ensure!(subject.contains("second"));
    let r = curl(&[
        "--cacert",
        &pki.path("ca.crt"),
        &format!("https://{}/metrics", exporter.addr),
    ])?;
    ensure!(r.status == 200, "{r:?}");
    Ok(())
}

/// Sends one keep-alive GET of `path` on `stream` with basic auth for
/// `user`, and returns the status (reading exactly the answer, so the
/// connection can carry the next request).
fn keep_alive_get(stream: &mut TcpStream, path: &str, user: &str) -> Result<u16> {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(user);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    let head = String::from_utf8(head)?;
    let status = head.split_whitespace().nth(1).context("status")?.parse()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .context("content-length")?;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body)?;
    Ok(status)
}

#[test]
fn a_user_removed_from_the_web_config_loses_an_open_connection_too() -> Result<()> {
    let pki = Pki::new("auth-per-request")?;
    let hash = bcrypt::hash("s3cret", 4)?;
    let config = pki.write_config(&format!("basic_auth_users:\n  prometheus: '{hash}'\n"))?;
    let plugins = conformance_dir("auth-per-request");
    let exporter = secured(&plugins.path, &config)?;
    let mut stream = TcpStream::connect(&exporter.addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    assert_eq!(
        keep_alive_get(&mut stream, "/-/healthy", "prometheus:s3cret")?,
        200
    );
    // The same connection, once the user is gone from the file.
    pki.write_config(&format!("basic_auth_users:\n  someone_else: '{hash}'\n"))?;
    assert_eq!(
        keep_alive_get(&mut stream, "/-/healthy", "prometheus:s3cret")?,
        401
    );
    assert_eq!(
        keep_alive_get(&mut stream, "/-/healthy", "someone_else:s3cret")?,
        200
    );
    Ok(())
}

#[test]
fn basic_auth_right_and_wrong() -> Result<()> {
    let pki = Pki::new("auth")?;
    let hash = bcrypt::hash("s3cret", 10)?;
    let config = pki.write_config(&format!(
        "basic_auth_users:\n  prometheus: '{hash}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n"
    ))?;
    let plugins = conformance_dir("auth");
    let exporter = secured(&plugins.path, &config)?;
    let url = format!("http://{}/metrics", exporter.addr);

    let right = curl(&["-u", "prometheus:s3cret", &url])?;
    ensure!(
        right.status == 200 && right.body.contains("conformance_"),
        "{right:?}"
    );
    ensure!(
        right
            .head
            .to_ascii_lowercase()
            .contains("x-frame-options: deny"),
        "{}",
        right.head
    );

    for (what, args) in [
        ("wrong password", vec!["-u", "prometheus:guess"]),
        ("unknown user", vec!["-u", "root:s3cret"]),
        ("no credentials", vec![]),
    ] {
        let mut args = args.clone();
        args.push(&url);
        let r = curl(&args)?;
        ensure!(r.status == 401, "{what}: {r:?}");
        let head = r.head.to_ascii_lowercase();
        ensure!(
            head.contains("www-authenticate: basic"),
            "{what}: {}",
            r.head
        );
        ensure!(
            head.contains("x-content-type-options: nosniff"),
            "{what}: {}",
            r.head
        );
        ensure!(!r.body.contains("conformance_"), "{what} got data");
    }
    // Every path is behind the login, as with the exporter-toolkit, the
    // lifecycle endpoint included.
    ensure!(curl(&[&format!("http://{}/", exporter.addr)])?.status == 401);
    let reload = format!("http://{}/-/reload", exporter.addr);
    ensure!(curl(&["-X", "POST", &reload])?.status == 401);
    let r = curl(&["-X", "POST", "-u", "prometheus:s3cret", &reload])?;
    ensure!(r.status == 200, "{r:?}");
    // The right password again (now from the cache) still works.
    ensure!(curl(&["-u", "prometheus:s3cret", &url])?.status == 200);
    Ok(())
}

#[test]
fn bad_web_config_stops_the_start_with_the_reason() -> Result<()> {
    let pki = Pki::new("badweb")?;
    let config =
        pki.write_config("tls_server_config:\n  cert_file: server.crt\n  min_version: TLS10\n")?;
    let plugins = conformance_dir("badweb");
    let stderr = start_refused(&plugins.path, &["--web.config.file", &config])?;
    ensure!(stderr.contains("missing key_file"), "{stderr}");
    Ok(())
}

#[test]
fn slow_headers_and_large_bodies_are_cut_off() -> Result<()> {
    let plugins = conformance_dir("slowloris");
    let exporter = Exporter::start(&plugins.path, &[])?;

    // Half a request line, then silence: the server hangs up after its
    // header read timeout (10 s) instead of holding the connection.
    let mut slow = TcpStream::connect(&exporter.addr)?;
    slow.set_read_timeout(Some(Duration::from_secs(60)))?;
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")?;
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    ensure!(
        started.elapsed() < Duration::from_secs(50),
        "connection held for {:?}",
        started.elapsed()
    );

    // A body larger than any endpoint takes is refused before it is read.
    let big = send_raw(
        &exporter.addr,
        b"POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n",
    )?;
    ensure!(big.status == 413, "{}", big.status);
    // And the server is fine.
    ensure!(exporter.get("/metrics", &[])?.status == 200);
    Ok(())
}

#[test]
fn systemd_socket_activation() -> Result<()> {
    let plugins = conformance_dir("systemd");
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.args([
        "-l",
        &addr,
        "--",
        env!("CARGO_BIN_EXE_wasm_exporter"),
        "--web.systemd-socket",
    ]);
    // systemd-socket-activate execs the exporter on the first connection.
    let knock = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if TcpStream::connect(&addr).is_ok() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        })
    };
    let exporter = Exporter::start_secured(cmd, &plugins.path, &[])?;
    if !knock.join().unwrap_or(false) {
        bail!("could not connect to {addr}");
    }
    // The exporter serves on the socket it was handed, not on a port of
    // its own.
    ensure!(exporter.addr == addr, "{} != {addr}", exporter.addr);
    let r = exporter.get("/metrics", &[])?;
    ensure!(r.status == 200 && r.text()?.contains("conformance_"));
    Ok(())
}
