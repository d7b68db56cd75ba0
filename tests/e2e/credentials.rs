//! Contract 0.3's fetch with credentials the plugin never sees: three
//! foreign plugins, written against the WIT alone in Rust, Python and
//! JavaScript, POST to a local JSON API that wants a bearer token; the
//! token is on the grant, in a file. The API gets it; the plugins' answers,
//! the exposition and the logs never hold it, although the API echoes it in
//! its body and headers; a redirect to an ungranted listener never reaches
//! it.

use anyhow::Result;

use crate::support::api::{JsonApi, Trap};
use crate::support::pki::Pki;
use crate::support::*;

const TOKEN: &str = "s3cr3t-token-0123456789abcdef";
const LANGS: [(&str, &str); 3] = [
    ("foreign-api", "rust"),
    ("foreign-api-py", "python"),
    ("foreign-api-js", "javascript"),
];

#[test]
fn foreign_plugins_reach_an_api_with_a_token_they_never_see() -> Result<()> {
    let trap = Trap::start();
    let api = JsonApi::start(TOKEN, &format!("http://{}/steal", trap.addr));
    let dir = PluginsDir::new("credentials");
    let secrets = dir.path.join("secrets");
    std::fs::create_dir_all(&secrets)?;
    let token_file = secrets.join("api-token");
    std::fs::write(&token_file, format!("{TOKEN}\n"))?;
    for (plugin, _) in LANGS {
        let yml = format!(
            "config:\n  api: \"http://{a}/api\"\n  redirect: \"http://{a}/redirect\"\n\
             grants:\n  fetch:\n    - target: \"http://{a}/*\"\n      authorization:\n        credentials_file: {t}\n\
             limits:\n  timeout: 20s\n",
            a = api.addr,
            t = token_file.display()
        );
        dir.add(plugin, plugin, Some(&yml));
    }
    let exporter = Exporter::start(&dir.path, &["--plugins.timeout", "20s"])?;
    let text = exporter.scrape_text()?;

    for (plugin, lang) in LANGS {
        assert_eq!(plugin_up(&text, plugin), Some(1.0), "{plugin}:\n{text}");
        let series = |s: &str| sample(&text, s);
        assert_eq!(
            series(&format!(
                "foreign_api_status{{lang=\"{lang}\",call=\"api\"}}"
            )),
            Some(200.0),
            "{lang}: the API took the grant's token\n{text}"
        );
        assert_eq!(
            series(&format!("foreign_api_value{{lang=\"{lang}\"}}")),
            Some(42.0)
        );
        // What the API echoed came back scrubbed; its `Authorization`
        // header not at all.
        assert_eq!(
            series(&format!(
                "foreign_api_seen{{lang=\"{lang}\",echo=\"<secret>\",header=\"<secret>\",authorization=\"\"}}"
            )),
            Some(1.0),
            "{lang}\n{text}"
        );
        // The redirect to an ungranted listener came back as it is.
        assert_eq!(
            series(&format!(
                "foreign_api_status{{lang=\"{lang}\",call=\"redirect\"}}"
            )),
            Some(302.0),
            "{lang}\n{text}"
        );
    }
    assert!(!text.contains(TOKEN), "the token is in the exposition");
    let logs = exporter.logs().join("\n");
    assert!(
        logs.contains("api answered 200"),
        "the plugins logged the answer:\n{logs}"
    );
    assert!(!logs.contains(TOKEN), "the token is in the logs:\n{logs}");

    // The API saw each plugin's POST, with its headers and body, and the
    // token the host added (the Rust plugin's own `Authorization` replaced).
    let seen = api.seen();
    for (_, lang) in LANGS {
        let post = seen
            .iter()
            .find(|s| s.path == "/api" && s.body.contains(&format!("\"from\":\"{lang}\"")))
            .unwrap_or_else(|| panic!("no POST from {lang}: {seen:?}"));
        assert_eq!(post.method, "POST");
        assert_eq!(post.headers["accept"], "application/json");
        assert_eq!(post.headers["content-type"], "application/json");
        assert_eq!(post.headers["authorization"], format!("Bearer {TOKEN}"));
    }
    assert_eq!(
        trap.reached(),
        0,
        "the redirect reached the ungranted listener"
    );
    exporter.terminate()?;
    Ok(())
}

/// TLS per grant: the target (an exporter behind `--web.config.file`)
/// has a certificate for `api.internal` from a private CA and requires a
/// client certificate from it. A grant with that CA, the client certificate
/// and the server name reaches it; the same grant without the client
/// certificate, or without the server name, does not.
#[test]
fn a_grant_brings_its_ca_server_name_and_client_certificate() -> Result<()> {
    let pki = Pki::new("fetch-tls")?;
    pki.leaf(
        "api",
        "ca",
        "api",
        "subjectAltName=DNS:api.internal\nextendedKeyUsage=serverAuth\n",
    )?;
    let web = pki.write_config(
        "tls_server_config:\n  cert_file: api.crt\n  key_file: api.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    )?;
    let target_plugins = PluginsDir::new("fetch-tls-target");
    target_plugins.add("conformance", "conformance", None);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_wasm_exporter"));
    cmd.args([
        "--web.listen-address",
        "127.0.0.1:0",
        "--web.config.file",
        &web,
    ]);
    let target = Exporter::start_secured(cmd, &target_plugins.path, &[])?;
    let url = format!("https://{}/metrics", target.addr);

    let dir = PluginsDir::new("fetch-tls");
    let tls = |case: &str, extra: &str| {
        format!(
            "config:\n  api: \"{url}\"\n  redirect: \"{url}\"\n\
             grants:\n  fetch:\n    - target: \"{url}\"\n      tls_config:\n        ca_file: {ca}\n{extra}\
             labels:\n  case: {case}\n",
            ca = pki.path("ca.crt"),
        )
    };
    let client = format!(
        "        cert_file: {}\n        key_file: {}\n",
        pki.path("client.crt"),
        pki.path("client.key")
    );
    let name = "        server_name: api.internal\n";
    dir.add(
        "mtls",
        "foreign-api",
        Some(&tls("mtls", &format!("{client}{name}"))),
    );
    dir.add("nocert", "foreign-api", Some(&tls("nocert", name)));
    dir.add("noname", "foreign-api", Some(&tls("noname", &client)));
    let exporter = Exporter::start(&dir.path, &[])?;
    let text = exporter.scrape_text()?;
    let status = |case: &str| {
        sample(
            &text,
            &format!("foreign_api_status{{case=\"{case}\",lang=\"rust\",call=\"redirect\"}}"),
        )
    };
    // Any HTTP status means the handshake passed (the target answers a
    // GET of /metrics with 200, the POST with 405).
    assert_eq!(status("mtls"), Some(200.0), "{text}");
    assert_eq!(status("nocert"), Some(-1.0), "{text}");
    assert_eq!(status("noname"), Some(-1.0), "{text}");
    let logs = exporter.logs().join("\n");
    assert!(logs.contains("TLS handshake"), "{logs}");
    exporter.terminate()?;
    Ok(())
}
