//! The one golden-file helper of every crate in this repository (the host's
//! encoder tests, the haproxy plugin's scenarios and the end-to-end tests
//! include this file by path). `BLESS=1` rewrites a golden file on purpose;
//! otherwise a difference fails the test with the first lines that differ.
//! Standard library only, so that any crate can include it.

use std::path::Path;

/// Compares `actual` with the golden file at `path`; with `BLESS=1` in the
/// environment, writes `actual` there instead.
///
/// # Panics
/// When the file differs or cannot be read (or, blessing, written): this
/// is a test's assertion.
pub fn check(path: &Path, actual: &str) {
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (run with BLESS=1 to create it)",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let want: Vec<&str> = expected.lines().collect();
    let got: Vec<&str> = actual.lines().collect();
    let diff: Vec<String> = (0..want.len().max(got.len()))
        .filter(|&i| want.get(i) != got.get(i))
        .take(10)
        .map(|i| {
            format!(
                "line {}:\n  want: {}\n  got:  {}",
                i + 1,
                want.get(i).copied().unwrap_or("<end of file>"),
                got.get(i).copied().unwrap_or("<end of output>")
            )
        })
        .collect();
    panic!(
        "{} differs from the output ({} vs {} lines); rerun with BLESS=1 if the change is intended:\n{}",
        path.display(),
        want.len(),
        got.len(),
        diff.join("\n")
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_difference_names_the_first_line_that_differs() {
        let dir = std::env::temp_dir().join(format!("golden-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        std::fs::write(&path, "a\nb\n").unwrap();
        super::check(&path, "a\nb\n");
        let missing = std::panic::catch_unwind(|| super::check(&path, "a\n"))
            .unwrap_err()
            .downcast::<String>()
            .unwrap();
        assert!(
            missing.contains("line 2:\n  want: b\n  got:  <end of output>"),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
