//! Writes the wasm_exporter(1) man page to stdout (`make man`).

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    match wasm_exporter::cli::man_page().and_then(|page| std::io::stdout().write_all(&page)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasm_exporter-man: {e}");
            ExitCode::FAILURE
        }
    }
}
