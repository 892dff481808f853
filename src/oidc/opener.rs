//! The command that opens a login URL (`gitsign.urlOpener` / `GITSIGN_URL_OPENER`), read as
//! Go gitsign reads it (internal/fulcio/tokengetter.go): split into words like a shell
//! (whitespace separates, `'…'` and `"…"` group, a quote of one kind is literal inside the
//! other, backslashes are literal so Windows paths work, an unterminated quote is an error),
//! except that a `{{ … }}` action is one piece of its word whatever spaces it holds (Go
//! splits `{{ .URL }}` into three words and refuses it; here it works unquoted), then each
//! word rendered as a Go template where `{{.URL}}` (any spacing, `{{- .URL -}}`
//! too) is the URL. The command must name the URL and is never run through a shell. Without
//! one, the platform's opener (`xdg-open`, `open`, `rundll32`) gets the URL.
//!
//! Unlike Go gitsign, which waits for a login however the opener fared, the caller learns
//! whether the opener failed ([`Launched::failure`]), so a login nobody can complete ends
//! at once instead of hanging until the login timeout.

use std::process::{Child, Command, Stdio};

/// A parsed `gitsign.urlOpener`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opener {
    /// Each word: literal text and URL placeholders.
    words: Vec<Vec<Piece>>,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Url,
}

impl Opener {
    /// Parse and check a command, with Go gitsign's rules and errors.
    pub fn parse(command: &str) -> Result<Opener, String> {
        if command.contains(['\n', '\r']) {
            return Err(
                "the command must not contain newline or carriage return characters".into(),
            );
        }
        let words = split(command)?;
        if words.is_empty() {
            return Err("the command is empty".into());
        }
        let words: Vec<Vec<Piece>> = words
            .iter()
            .map(|w| template(w))
            .collect::<Result<_, _>>()?;
        if !words.iter().flatten().any(|p| *p == Piece::Url) {
            return Err("the command does not reference the {{.URL}} template argument".into());
        }
        Ok(Opener {
            words,
            source: command.to_owned(),
        })
    }

    /// The argv for `url`.
    pub fn argv(&self, url: &str) -> Vec<String> {
        self.words
            .iter()
            .map(|w| {
                w.iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.as_str(),
                        Piece::Url => url,
                    })
                    .collect()
            })
            .collect()
    }

    /// The command as configured.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Shell-like word splitting as Go gitsign's `splitCommand`, template actions kept whole.
fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if quote.is_none() && c == '{' && chars.peek() == Some(&'{') {
            // An action: copied up to its `}}` (an unclosed one is reported by `template`).
            cur.push_str("{{");
            chars.next();
            in_word = true;
            let mut prev = '\0';
            for a in chars.by_ref() {
                cur.push(a);
                if prev == '}' && a == '}' {
                    break;
                }
                prev = a;
            }
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if matches!(c, ' ' | '\t' | '\n' | '\r') => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("unterminated {q} quote"));
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// One word as a Go template over `struct { URL string }`: `{{.URL}}` actions, with Go's
/// optional spaces and trim markers; any other action is refused (Go would fail to render
/// it too, or render something else than a URL).
fn template(word: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = word;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            return Err(format!("unclosed action in '{word}'"));
        };
        let action = &rest[start + 2..start + len];
        let mut inner = action;
        let trim_left = inner.starts_with("- ");
        if trim_left {
            inner = &inner[2..];
        }
        let trim_right = inner.ends_with(" -");
        if trim_right {
            inner = &inner[..inner.len() - 2];
        }
        let inner = inner.trim();
        if inner != ".URL" {
            return Err(format!(
                "unsupported template action '{{{{{action}}}}}' in '{word}' (only {{{{.URL}}}} is known)"
            ));
        }
        let mut text = rest[..start].to_owned();
        if trim_left {
            text.truncate(text.trim_end().len());
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        pieces.push(Piece::Url);
        rest = &rest[start + len + 2..];
        if trim_right {
            rest = rest.trim_start();
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}

/// An opener started for one URL.
pub struct Launched {
    /// What was run, for messages.
    pub program: String,
    state: State,
}

enum State {
    Running(Child),
    Failed(String),
    Done,
}

/// Start the configured opener, or the platform's, for `url`. Its output is discarded:
/// gitsign's stdout carries only the signature.
pub fn launch(opener: Option<&Opener>, url: &str) -> Launched {
    let argv = match opener {
        Some(o) => o.argv(url),
        None if cfg!(target_os = "macos") => vec!["open".into(), url.into()],
        None if cfg!(windows) => vec![
            "rundll32".into(),
            "url.dll,FileProtocolHandler".into(),
            url.into(),
        ],
        None => vec!["xdg-open".into(), url.into()],
    };
    let Some((program, args)) = argv.split_first() else {
        return Launched {
            program: String::new(),
            state: State::Failed("is empty".into()),
        };
    };
    let state = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => State::Running(child),
        Err(e) => State::Failed(format!("could not be started: {e}")),
    };
    Launched {
        program: program.clone(),
        state,
    }
}

impl Launched {
    /// Why the opener failed, once it has: it could not be started, or it exited unsuccessfully
    /// (`exited with status 127`, `was killed by signal 9`). `None` while it runs (a browser
    /// may stay open) or after it succeeded.
    pub fn failure(&mut self) -> Option<String> {
        if let State::Running(child) = &mut self.state {
            match child.try_wait() {
                Ok(None) => return None,
                Ok(Some(status)) if status.success() => self.state = State::Done,
                Ok(Some(status)) => self.state = State::Failed(describe(status)),
                Err(e) => self.state = State::Failed(format!("could not be waited for: {e}")),
            }
        }
        match &self.state {
            State::Failed(why) => Some(why.clone()),
            _ => None,
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(sig) = status.signal() {
            return format!("was killed by signal {sig}");
        }
    }
    "failed".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://issuer/auth?a=1&b=2";

    #[test]
    fn commands_split_like_go_gitsign_and_render_the_url() {
        let cases: &[(&str, &[&str])] = &[
            ("curl -sfL {{.URL}}", &["curl", "-sfL", URL]),
            ("curl -sfL {{ .URL }}", &["curl", "-sfL", URL]),
            ("curl -sfL '{{ .URL }}'", &["curl", "-sfL", URL]),
            ("x --u={{  .URL  }}/y", &["x", &format!("--u={URL}/y")]),
            (
                "firefox --new-tab {{- .URL -}}",
                &["firefox", "--new-tab", URL],
            ),
            (
                "'/opt/My Browser/bin' \"--arg=x y\" --u={{.URL}}",
                &["/opt/My Browser/bin", "--arg=x y", &format!("--u={URL}")],
            ),
            (
                r#"open "it's" '"q"' {{.URL}}"#,
                &["open", "it's", "\"q\"", URL],
            ),
            (r"C:\Tools\open.exe {{.URL}}", &[r"C:\Tools\open.exe", URL]),
            ("a '' {{.URL}}", &["a", "", URL]),
            ("  echo\t{{.URL}}  ", &["echo", URL]),
        ];
        for (command, want) in cases {
            let o = Opener::parse(command).unwrap_or_else(|e| panic!("{command}: {e}"));
            assert_eq!(o.argv(URL), *want, "{command} splits as Go's splitCommand");
        }
    }

    #[test]
    fn commands_go_gitsign_refuses_are_refused() {
        for (command, why) in [
            ("", "empty"),
            ("   ", "empty"),
            ("curl -sfL", "does not reference the {{.URL}}"),
            ("curl '{{.URL}}", "unterminated ' quote"),
            ("curl {{.URL}}\n", "newline"),
            ("curl {{.Url}}", "unsupported template action"),
            ("curl {{.URL", "unclosed action"),
        ] {
            let err = Opener::parse(command).expect_err(command);
            assert!(err.contains(why), "{command:?}: {err}");
        }
    }

    #[test]
    fn a_failing_or_absent_opener_is_reported_with_its_status() {
        let mut l = launch(Some(&Opener::parse("false {{.URL}}").expect("parses")), URL);
        let started = std::time::Instant::now();
        let why = loop {
            if let Some(why) = l.failure() {
                break why;
            }
            assert!(started.elapsed().as_secs() < 5, "`false` exits at once");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        assert_eq!(why, "exited with status 1", "the exit status is named");
        assert_eq!(l.program, "false");
        let mut l = launch(
            Some(&Opener::parse("/nonexistent/opener {{.URL}}").expect("parses")),
            URL,
        );
        assert!(
            l.failure()
                .is_some_and(|w| w.starts_with("could not be started")),
            "an absent program fails at once"
        );
        let mut l = launch(Some(&Opener::parse("true {{.URL}}").expect("parses")), URL);
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(l.failure(), None, "a successful opener is no failure");
    }
}
