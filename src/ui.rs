//! Human output: error rendering (`gitsign: error:` / `Caused by:` / `Hint:`), TTY detection.

use std::io::{IsTerminal, Write};

/// Render an error chain with an optional hint, in the house format.
pub fn render_error(err: &anyhow::Error, hint: Option<&str>) -> String {
    let mut out = format!("gitsign: error: {err}\n");
    let causes: Vec<String> = err.chain().skip(1).map(|c| c.to_string()).collect();
    if !causes.is_empty() {
        out.push_str("Caused by:\n");
        for (i, c) in causes.iter().enumerate() {
            out.push_str(&format!("  {}: {c}\n", i + 1));
        }
    }
    if let Some(h) = hint {
        out.push_str(&format!("Hint: {h}\n"));
    }
    out
}

pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// Write to stderr, ignoring failures (a closed stderr must not turn into a panic).
pub fn eprint(s: &str) {
    let _ = std::io::stderr().write_all(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_chain_and_hint() {
        let err = anyhow::anyhow!("root cause").context("reading the trust root");
        assert_eq!(
            render_error(&err, Some("pass --trusted-root")),
            "gitsign: error: reading the trust root\nCaused by:\n  1: root cause\nHint: pass --trusted-root\n"
        );
    }
}
