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
/// every 100 ms, erased when done. It shows done/total, the rate and the time left; the total
/// may be unknown (a range verified as it is walked, counted only when that is cheap), and
/// then the line shows the count and the rate alone.
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

    /// Whether the line will ever be drawn (stderr is a terminal): callers skip the work of
    /// counting a total nobody would see.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn set_total(&mut self, total: Option<usize>) {
        self.total = total;
    }

    pub fn advance(&mut self, n: usize) {
        self.done += n;
        let elapsed = self.started.elapsed();
        if !self.enabled || elapsed < std::time::Duration::from_millis(250) {
            return;
        }
        if self
            .last_draw
            .is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(std::time::Instant::now());
        eprint(&format!("\r\x1b[2K{}", self.line(elapsed)));
    }

    /// `verifying 1,200/5,440 commits, 2,350/s, 2 s left` (or `verifying 1,200 commits, 2,350/s`).
    fn line(&self, elapsed: std::time::Duration) -> String {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        };
        let rate_text = format!("{}/s", thousands(rate.round() as usize));
        match self.total {
            Some(total) => {
                let left = match total.saturating_sub(self.done) {
                    0 => "0 s left".to_owned(),
                    _ if rate <= 0.0 => "time left unknown".to_owned(),
                    n => duration_text(n as f64 / rate) + " left",
                };
                format!(
                    "{} {}/{} commits, {rate_text}, {left}",
                    self.what,
                    thousands(self.done),
                    thousands(total)
                )
            }
            None => format!(
                "{} {} commits, {rate_text}",
                self.what,
                thousands(self.done)
            ),
        }
    }

    pub fn finish(&mut self) {
        if self.last_draw.is_some() {
            eprint("\r\x1b[2K");
        }
    }
}

/// 12345 as `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whole seconds below two minutes, else minutes and seconds (`95 s`, `4 min 05 s`).
fn duration_text(secs: f64) -> String {
    let s = secs.ceil().max(0.0) as u64;
    if s < 120 {
        format!("{s} s")
    } else {
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_shows_done_total_rate_and_time_left() {
        let mut p = Progress::new("verifying", Some(10_000));
        p.done = 2_500;
        assert_eq!(
            p.line(std::time::Duration::from_secs(2)),
            "verifying 2,500/10,000 commits, 1,250/s, 6 s left"
        );
        p.done = 10_000;
        assert_eq!(
            p.line(std::time::Duration::from_secs(8)),
            "verifying 10,000/10,000 commits, 1,250/s, 0 s left"
        );
        p.done = 100;
        p.total = Some(1_000_000);
        assert_eq!(
            p.line(std::time::Duration::from_secs(1)),
            "verifying 100/1,000,000 commits, 100/s, 166 min 39 s left"
        );
        p.total = None;
        assert_eq!(
            p.line(std::time::Duration::from_secs(1)),
            "verifying 100 commits, 100/s",
            "without a total: the count and the rate"
        );
        p.done = 0;
        p.total = Some(5);
        assert_eq!(
            p.line(std::time::Duration::ZERO),
            "verifying 0/5 commits, 0/s, time left unknown"
        );
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
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
