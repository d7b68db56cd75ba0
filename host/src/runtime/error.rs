//! wasmtime errors on one line, for logs and typed plugin errors.

/// Formats a wasmtime error with its causes, on one line.
pub fn error_chain(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = e
        .chain()
        .map(|c| {
            c.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    parts.dedup();
    parts.join(": ")
}
