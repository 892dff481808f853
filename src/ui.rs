//! Human output: error rendering (`gitsign: error:` / `Caused by:` / `Hint:`), TTY detection,
//! colour and progress.
//!
//! Colour is applied here, at the edge, to the house format's line prefixes (`gitsign: error:`,
//! `Hint:`, `WARNING:`, `gitsign: Good/Bad signature`), so every subcommand's messages are
//! coloured alike and the text itself stays plain for logs and tests. It is on when stderr is
//! a terminal, following <https://no-color.org> and the CLICOLOR convention in the order
//! anstream (clap's own help colouring) uses: `--color` > `NO_COLOR` > `CLICOLOR_FORCE` >
//! `CLICOLOR=0` > `TERM=dumb` > is stderr a terminal.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// `--color`: when to colour stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it on)
    #[default]
    Auto,
    /// Always, even into a pipe or file
    Always,
    /// Never
    Never,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Record the command line's `--color` (once, before any output).
pub fn set_color_choice(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

/// Whether to colour a stream: pure over the choice, terminal-ness and the environment.
pub fn should_colour(
    choice: ColorChoice,
    is_terminal: bool,
    env: impl Fn(&str) -> Option<String>,
) -> bool {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto
            if set("CLICOLOR_FORCE") && env("CLICOLOR_FORCE").as_deref() != Some("0") =>
        {
            true
        }
        ColorChoice::Auto if env("CLICOLOR").as_deref() == Some("0") => false,
        ColorChoice::Auto if env("TERM").as_deref() == Some("dumb") => false,
        ColorChoice::Auto => is_terminal,
    }
}

fn stderr_colour() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        should_colour(
            CHOICE.get().copied().unwrap_or_default(),
            stderr_is_tty(),
            |k| std::env::var(k).ok(),
        )
    })
}

const RESET: &str = "\x1b[0m";

/// The house format's line prefixes and their SGR styles.
const STYLED_PREFIXES: &[(&str, &str)] = &[
    ("gitsign: error:", "\x1b[1;31m"),
    ("gitsign-credential-cache: error:", "\x1b[1;31m"),
    ("gitsign: Bad signature", "\x1b[1;31m"),
    ("gitsign: Good signature", "\x1b[1;32m"),
    ("gitsign: Unverified signature", "\x1b[1;33m"),
    ("WARNING:", "\x1b[1;33m"),
    ("warning:", "\x1b[1;33m"),
    ("Hint:", "\x1b[1;36m"),
    ("Caused by:", "\x1b[1m"),
];

/// Colour the known prefixes of each line of `text`.
pub fn colourize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        match STYLED_PREFIXES.iter().find(|(p, _)| line.starts_with(p)) {
            Some((prefix, style)) => {
                out.push_str(style);
                out.push_str(prefix);
                out.push_str(RESET);
                out.push_str(&line[prefix.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Render an error chain with an optional hint, in the house format.
pub fn render_error(err: &anyhow::Error, hint: Option<&str>) -> String {
    // Causes carry server answers and certificate fields: each is escaped to one line.
    let mut out = format!(
        "gitsign: error: {}\n",
        crate::text::escape(&err.to_string())
    );
    let causes: Vec<String> = err
        .chain()
        .skip(1)
        .map(|c| crate::text::escape(&c.to_string()).into_owned())
        .collect();
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

/// Write to stderr, coloured when [`should_colour`] says so, ignoring failures (a closed
/// stderr must not turn into a panic).
pub fn eprint(s: &str) {
    let _ = if stderr_colour() {
        std::io::stderr().write_all(colourize(s).as_bytes())
    } else {
        std::io::stderr().write_all(s.as_bytes())
    };
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
    use crate::test_env::env;

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
    fn colour_follows_the_terminal_no_color_and_clicolor_force() {
        use ColorChoice::*;
        assert!(
            should_colour(Auto, true, env(&[])),
            "a terminal gets colour"
        );
        assert!(!should_colour(Auto, false, env(&[])), "a pipe does not");
        assert!(
            !should_colour(Auto, true, env(&[("NO_COLOR", "1")])),
            "NO_COLOR turns it off"
        );
        assert!(
            should_colour(Auto, true, env(&[("NO_COLOR", "")])),
            "an empty NO_COLOR does not count"
        );
        assert!(
            should_colour(Auto, false, env(&[("CLICOLOR_FORCE", "1")])),
            "CLICOLOR_FORCE forces it"
        );
        assert!(
            !should_colour(Auto, false, env(&[("CLICOLOR_FORCE", "0")])),
            "CLICOLOR_FORCE=0 does not"
        );
        assert!(
            !should_colour(
                Auto,
                true,
                env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])
            ),
            "NO_COLOR beats CLICOLOR_FORCE, as in anstream"
        );
        assert!(
            !should_colour(Auto, true, env(&[("TERM", "dumb")])),
            "a dumb terminal gets none"
        );
        assert!(
            !should_colour(Auto, true, env(&[("CLICOLOR", "0")])),
            "CLICOLOR=0 turns it off"
        );
        assert!(
            should_colour(Always, false, env(&[("NO_COLOR", "1")])),
            "--color always wins"
        );
        assert!(
            !should_colour(Never, true, env(&[("CLICOLOR_FORCE", "1")])),
            "--color never wins"
        );
    }

    #[test]
    fn colourize_styles_only_the_house_prefixes() {
        let text = "gitsign: error: no such revision 'x'\nCaused by:\n  1: gitsign: error: inside\nHint: run git log\n";
        assert_eq!(
            colourize(text),
            "\x1b[1;31mgitsign: error:\x1b[0m no such revision 'x'\n\x1b[1mCaused by:\x1b[0m\n  1: gitsign: error: inside\n\x1b[1;36mHint:\x1b[0m run git log\n",
            "prefixes at a line start are styled, text and other lines are untouched"
        );
        assert_eq!(
            colourize("\rverifying 3/10 commits"),
            "\rverifying 3/10 commits",
            "progress is left alone"
        );
    }

    #[test]
    fn renders_chain_and_hint() {
        let err = anyhow::anyhow!("root cause").context("reading the trust root");
        assert_eq!(
            render_error(&err, Some("pass --trusted-root")),
            "gitsign: error: reading the trust root\nCaused by:\n  1: root cause\nHint: pass --trusted-root\n"
        );
    }

    /// Issue 16.4: a server's error text cannot repaint the terminal or add lines.
    #[test]
    fn server_text_in_a_cause_is_escaped_to_one_line() {
        let err = anyhow::anyhow!("\x1b[2K\rgitsign: Good signature\nfrom [alice]")
            .context("Fulcio refused the certificate request: 400");
        assert_eq!(
            render_error(&err, None),
            "gitsign: error: Fulcio refused the certificate request: 400\nCaused by:\n  1: \\x1b[2K\\rgitsign: Good signature\\nfrom [alice]\n"
        );
    }
}
