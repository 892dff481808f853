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

/// A progress line on stderr for long work: only on a TTY, only after 250 ms, redrawn at most
/// every 100 ms, erased when done. The total may be unknown while the work is still being
/// found (a range verified as it is walked).
pub struct Progress {
    what: &'static str,
    total: Option<usize>,
    done: usize,
    started: std::time::Instant,
    last_draw: Option<std::time::Instant>,
    enabled: bool,
}

impl Progress {
    pub fn new(what: &'static str, total: Option<usize>) -> Progress {
        Progress {
            what,
            total,
            done: 0,
            started: std::time::Instant::now(),
            last_draw: None,
            enabled: stderr_is_tty(),
        }
    }

    pub fn advance(&mut self, n: usize) {
        self.done += n;
        if !self.enabled || self.started.elapsed() < std::time::Duration::from_millis(250) {
            return;
        }
        if self
            .last_draw
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(std::time::Instant::now());
        eprint(&format!("\r{}", self.line()));
    }

    fn line(&self) -> String {
        match self.total {
            Some(total) => format!("{} {}/{} commits", self.what, self.done, total),
            None => format!("{} {} commits...", self.what, self.done),
        }
    }

    pub fn finish(&mut self) {
        if self.last_draw.is_some() {
            eprint("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_names_the_total_when_known() {
        let mut p = Progress::new("verifying", Some(10));
        p.done = 4;
        assert_eq!(p.line(), "verifying 4/10 commits");
        p.total = None;
        assert_eq!(p.line(), "verifying 4 commits...");
    }

    #[test]
    fn renders_chain_and_hint() {
        let err = anyhow::anyhow!("root cause").context("reading the trust root");
        assert_eq!(
            render_error(&err, Some("pass --trusted-root")),
            "gitsign: error: reading the trust root\nCaused by:\n  1: root cause\nHint: pass --trusted-root\n"
        );
    }
}
