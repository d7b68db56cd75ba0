//! The man pages (`make man`): `wasm_exporter(1)` and one page per command
//! (`wasm_exporter-check(1)`, `wasm_exporter-plugin(1)`,
//! `wasm_exporter-plugin-new(1)`, `wasm_exporter-plugin-componentize(1)`),
//! from the same clap definitions as
//! `--help`, with the sections `--help` has no room for: the plugins
//! directory and `NAME.yml`, the endpoints, the signals and exit statuses.

use clap::CommandFactory as _;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Flags;

/// One man page: its file name (`wasm_exporter-check.1`) and its roff.
#[derive(Debug, Clone)]
pub struct Page {
    /// The file name, section included.
    pub file: String,
    /// The page, in roff.
    pub roff: Vec<u8>,
}

/// Every page: the top-level one first, then one per command, depth first.
/// Every page another one names (SUBCOMMANDS, SEE ALSO) is among them.
pub fn pages() -> std::io::Result<Vec<Page>> {
    // `help` is clap's, not a command of ours: no page names it.
    let mut top = Flags::command().disable_help_subcommand(true);
    top.build();
    let mut commands = Vec::new();
    let mut stack = vec![top];
    while let Some(cmd) = stack.pop() {
        let mut subcommands: Vec<_> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .cloned()
            .collect();
        subcommands.reverse();
        commands.push(cmd);
        stack.extend(subcommands);
    }
    // Each page's SEE ALSO: the other pages, from the same tree.
    let names: Vec<String> = commands.iter().map(page_name).collect();
    commands.into_iter().map(|cmd| page(cmd, &names)).collect()
}

/// A command's page name: `wasm_exporter-plugin-new`.
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned()
}

/// One page: clap's sections, then ours, then the version; `pages` are the
/// names of every page, for SEE ALSO.
fn page(cmd: clap::Command, pages: &[String]) -> std::io::Result<Page> {
    let name = page_name(&cmd);
    // The commands carry the binary's version too (the page's footer).
    let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    let man = Man::new(cmd.clone()).source(concat!("wasm_exporter ", env!("CARGO_PKG_VERSION")));
    let mut roff = Vec::new();
    man.render_title(&mut roff)?;
    man.render_name_section(&mut roff)?;
    man.render_synopsis_section(&mut roff)?;
    man.render_description_section(&mut roff)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut roff)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut roff)?;
    }
    let mut ours = Roff::new();
    match name.as_str() {
        "wasm_exporter" => top_sections(&mut ours),
        "wasm_exporter-check" => check_sections(&mut ours),
        _ => {}
    }
    see_also(&mut ours, &name, pages);
    ours.to_writer(&mut roff)?;
    man.render_version_section(&mut roff)?;
    Ok(Page {
        file: man.get_filename(),
        roff,
    })
}

/// A `.TP` entry: a bold term and its paragraph.
fn entry(roff: &mut Roff, term: &str, text: &str) {
    roff.control("TP", [])
        .text([bold(term)])
        .text([roman(text)]);
}

fn top_sections(roff: &mut Roff) {
    roff.control("SH", ["PLUGINS DIRECTORY"]).text([roman(
        "Every NAME.wasm in --plugins.dir is a plugin: a WASI 0.2 component that \
         implements the wasm-exporter:plugin world (contract 0.1.0, 0.2.0 or 0.3.0). \
         Beside it, an optional NAME.yml configures it. A file that is not a \
         component, or a NAME.yml that does not parse, leaves that plugin down \
         with its error (landing page, logs, wasm_exporter_plugin_up 0); the \
         other plugins serve.",
    )]);
    roff.control("SH", ["NAME.YML"]).text([roman(
        "Every key has a default; an unknown key is an error naming it.",
    )]);
    for (key, text) in [
        ("config", "Handed to the plugin's init as JSON."),
        (
            "config_files",
            "Config keys whose values are read from files (a mounted Secret, a \
             systemd credential), readable by owner and group only; never logged.",
        ),
        (
            "grants.fetch",
            "URL patterns (http, https, tcp://, unix:) the plugin may reach through \
             the host's fetch, and the /probe targets it may be given. Nothing by default.",
        ),
        (
            "grants.dirs",
            "Host directories mounted read-only at the same path. None by default.",
        ),
        (
            "labels",
            "Constant labels added to every series of the plugin.",
        ),
        (
            "limits",
            "memory, timeout (at most --plugins.timeout), max_series, max_families, \
             max_label_value_length, max_label_name_length, max_stderr_bytes, \
             max_response_bytes, max_log_bytes, max_open_files, probe_concurrency.",
        ),
        (
            "enabled",
            "false keeps the plugin loaded but never collected on the metrics path \
             (as --plugins.disable); /probe still serves it.",
        ),
        (
            "instances",
            "Several instances of the same .wasm, each with its own config, grants, \
             labels and limits; each key is an instance name.",
        ),
    ] {
        entry(roff, key, text);
    }

    roff.control("SH", ["ENDPOINTS"]);
    for (path, text) in [
        (
            "/metrics",
            "(--web.telemetry-path) Every enabled plugin's collect, merged with the \
             exporter's own metrics. Text 0.0.4 and 1.0.0, OpenMetrics 1.0 and \
             protobuf by the Accept header, escaping= as Prometheus 3 asks; gzip or \
             zstd by Accept-Encoding. collect[]=NAME limits a scrape to some plugins.",
        ),
        (
            "/probe?module=NAME&target=T",
            "One plugin's probe against one target, the target checked against the \
             plugin's grants.fetch; the answer carries probe_success and \
             probe_duration_seconds.",
        ),
        (
            "/",
            "The landing page: each plugin, up or down, with its last error or \
             warning.",
        ),
        ("/-/healthy", "200 while the process serves."),
        (
            "/-/ready",
            "200 once the plugins directory has been loaded, 503 before.",
        ),
        (
            "/-/reload",
            "POST, with --web.enable-lifecycle: reload the plugins directory; 200 \
             when every plugin loaded, 500 naming each one that failed.",
        ),
    ] {
        entry(roff, path, text);
    }
    roff.text([roman(
        "Every path is behind the TLS and basic auth of --web.config.file.",
    )]);

    roff.control("SH", ["SIGNALS"]);
    entry(
        roff,
        "SIGHUP",
        "Reload the plugins directory, as POST /-/reload does: new and changed \
         plugins are loaded before they replace the old ones, which keep serving \
         if the new ones fail.",
    );
    entry(
        roff,
        "SIGTERM, SIGINT",
        "Stop accepting connections, let the requests in flight finish (for a \
         few seconds at most) and exit 0.",
    );

    roff.control("SH", ["EXIT STATUS"]).text([roman(
        "0 after SIGTERM or SIGINT; 1 when the flags, the web config or a \
         listening address cannot be used at start (the error says which).",
    )]);
}

fn check_sections(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    entry(
        roff,
        "0",
        "The plugin loaded, ran and returned a clean exposition.",
    );
    entry(
        roff,
        "1",
        "The exporter would drop something: each family, the rule it breaks and \
         the fix are on stderr.",
    );
    entry(
        roff,
        "2",
        "The plugin failed to load, to init or to collect.",
    );
}

fn see_also(roff: &mut Roff, name: &str, pages: &[String]) {
    let mut refs: Vec<&str> = pages
        .iter()
        .map(String::as_str)
        .filter(|r| *r != name)
        .collect();
    refs.push("prometheus");
    roff.control("SH", ["SEE ALSO"]);
    let mut line = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(*r));
        line.push(roman("(1)"));
    }
    roff.text(line);
    roff.control("PP", []).text([
        roman("The "),
        italic("README.md"),
        roman(" of the source tree: plugins, deployment and writing a plugin."),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: &Page) -> String {
        String::from_utf8(p.roff.clone()).unwrap()
    }

    #[test]
    fn every_page_a_page_names_exists() {
        let pages = pages().unwrap();
        let files: Vec<&str> = pages.iter().map(|p| p.file.as_str()).collect();
        assert_eq!(
            files,
            [
                "wasm_exporter.1",
                "wasm_exporter-check.1",
                "wasm_exporter-plugin.1",
                "wasm_exporter-plugin-new.1",
                "wasm_exporter-plugin-componentize.1"
            ]
        );
        for p in &pages {
            let body = text(p);
            // roff writes `\-` for `-` and `\fB...\fR` for bold.
            let plain = body
                .replace("\\-", "-")
                .replace("\\fB", "")
                .replace("\\fR", "");
            for (i, _) in plain.match_indices("wasm_exporter-") {
                let rest = &plain[i..];
                let Some(end) = rest.find("(1)") else {
                    continue;
                };
                let named = &rest[..end];
                if named.contains(char::is_whitespace) {
                    continue;
                }
                assert!(
                    files.contains(&format!("{named}.1").as_str()),
                    "{} names {named}(1), which is not generated",
                    p.file
                );
            }
        }
    }

    #[test]
    fn each_page_lists_every_flag_of_its_command() {
        let mut top = Flags::command().disable_help_subcommand(true);
        top.build();
        let check = top.find_subcommand("check").unwrap().clone();
        let pages = pages().unwrap();
        for (cmd, page) in [(&top, &pages[0]), (&check, &pages[1])] {
            let body = text(page);
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    // roff escapes '-' as '\-'.
                    let escaped = long.replace('-', "\\-");
                    assert!(
                        body.contains(&escaped),
                        "--{long} missing from {}",
                        page.file
                    );
                }
            }
        }
    }

    #[test]
    fn the_top_page_has_the_sections_help_has_no_room_for() {
        let pages = pages().unwrap();
        let top = text(&pages[0]);
        for section in [
            "NAME",
            "SYNOPSIS",
            "OPTIONS",
            "SUBCOMMANDS",
            "PLUGINS DIRECTORY",
            "NAME.YML",
            "ENDPOINTS",
            "SIGNALS",
            "EXIT STATUS",
            "SEE ALSO",
        ] {
            let heading = if section.contains(' ') {
                format!(".SH \"{section}\"\n")
            } else {
                format!(".SH {section}\n")
            };
            assert!(top.contains(&heading), "{section}");
        }
        assert!(!top.contains("wasm_exporter\\-help"), "{top}");
    }
}
