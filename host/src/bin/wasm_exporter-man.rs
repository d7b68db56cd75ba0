//! Writes the man pages, `wasm_exporter.1` and one per command, into the
//! directory given (`make man`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: wasm_exporter-man DIR");
        return ExitCode::from(2);
    };
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        for page in wasm_exporter::manpage::pages()? {
            std::fs::write(dir.join(&page.file), &page.roff)?;
            println!("{}", dir.join(&page.file).display());
        }
        Ok(())
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasm_exporter-man: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
