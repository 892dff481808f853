//! git's SSH trust files, read as `ssh-keygen -Y find-principals / verify` reads them
//! (ssh-keygen(1) "ALLOWED SIGNERS", OpenSSH `sshsig.c`, `match.c`):
//!
//! - the allowed signers file (`gpg.ssh.allowedSignersFile`): one signer a line,
//!   `principals [options] keytype base64-key [comment]`; principals and `namespaces=` are
//!   comma-separated patterns with `*` and `?` (and `!` negation); options `cert-authority`,
//!   `namespaces="…"`, `valid-after="…"`, `valid-before="…"` (values quoted, as OpenSSH
//!   requires; times `YYYYMMDD[HHMM[SS]]`, `Z` for UTC,
//!   local time otherwise — the caller says how local time maps to Unix time);
//! - the revocation file (`gpg.ssh.revocationFile`): plain public keys, one a line. Binary KRLs
//!   (`ssh-keygen -k`) are refused with [`RevocationError::KrlUnsupported`].
//!
//! `cert-authority` lines are kept but match no signature: signatures made with OpenSSH
//! certificates are not read (see `super::verify`).

use chrono::NaiveDateTime;
use ssh_key::public::KeyData;
use ssh_key::PublicKey;

/// Why an allowed signers file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowedSignersError {
    #[error("line {line}: {what}")]
    Line { line: usize, what: String },
}

/// Why a revocation file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    #[error("binary key revocation lists (KRL) are not supported; list the revoked public keys one a line instead")]
    KrlUnsupported,
    #[error("line {line}: not a public key: {what}")]
    Line { line: usize, what: String },
}

/// One line of the allowed signers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedSigner {
    /// The principals field as written (comma-separated patterns), what git reports.
    pub principals: String,
    pub key: KeyData,
    pub cert_authority: bool,
    /// `namespaces=` patterns; `None`: every namespace.
    pub namespaces: Option<String>,
    pub valid_after: Option<i64>,
    pub valid_before: Option<i64>,
}

/// The parsed allowed signers file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedSigners {
    pub signers: Vec<AllowedSigner>,
}

/// Revoked keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revoked {
    pub keys: Vec<KeyData>,
}

impl AllowedSigners {
    /// Parses the file. `local` maps a local wall-clock time (options without `Z`) to Unix
    /// seconds, as ssh-keygen does with the process's time zone.
    pub fn parse(
        text: &str,
        local: &dyn Fn(NaiveDateTime) -> Option<i64>,
    ) -> Result<AllowedSigners, AllowedSignersError> {
        let mut signers = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |what: String| AllowedSignersError::Line { line: i + 1, what };
            signers.push(parse_line(line, local).map_err(err)?);
        }
        Ok(AllowedSigners { signers })
    }
}

impl Revoked {
    /// Parses a revocation file of plain public keys (blank lines and `#` comments skipped).
    pub fn parse(bytes: &[u8]) -> Result<Revoked, RevocationError> {
        if bytes.starts_with(b"SSHKRL\n\0") {
            return Err(RevocationError::KrlUnsupported);
        }
        let text = String::from_utf8_lossy(bytes);
        let mut keys = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = PublicKey::from_openssh(line).map_err(|e| RevocationError::Line {
                line: i + 1,
                what: e.to_string(),
            })?;
            keys.push(key.key_data().clone());
        }
        Ok(Revoked { keys })
    }

    pub fn contains(&self, key: &KeyData) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

/// Splits off one whitespace-separated token, honouring double quotes as ssh-keygen does
/// for the principals and options fields.
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], &s[i..]),
            _ => {}
        }
    }
    (s, "")
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn looks_like_key_type(t: &str) -> bool {
    t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-")
}

fn parse_line(
    line: &str,
    local: &dyn Fn(NaiveDateTime) -> Option<i64>,
) -> Result<AllowedSigner, String> {
    let (principals, rest) = token(line);
    let principals = unquote(principals).to_owned();
    if principals.is_empty() {
        return Err("no principals".into());
    }
    let (next, after) = token(rest);
    let (options, key_text) = if looks_like_key_type(next) {
        ("", rest)
    } else {
        (next, after)
    };
    let (key_type, rest) = token(key_text);
    let (blob, _comment) = token(rest);
    if key_type.is_empty() || blob.is_empty() {
        return Err("no public key".into());
    }
    let key = PublicKey::from_openssh(&format!("{key_type} {blob}")).map_err(|e| e.to_string())?;
    let mut signer = AllowedSigner {
        principals,
        key: key.key_data().clone(),
        cert_authority: false,
        namespaces: None,
        valid_after: None,
        valid_before: None,
    };
    for option in split_options(options) {
        let (name, value) = match option.split_once('=') {
            // OpenSSH's `opt_dequote`: option values must be quoted.
            Some((n, v)) => match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(v) => (n, Some(v)),
                None => {
                    return Err(format!(
                        "the value of option '{n}' must be in double quotes"
                    ))
                }
            },
            None => (option, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("cert-authority", None) => signer.cert_authority = true,
            ("namespaces", Some(v)) => signer.namespaces = Some(v.to_owned()),
            ("valid-after", Some(v)) => {
                signer.valid_after =
                    Some(parse_time(v, local).ok_or(format!("invalid valid-after time '{v}'"))?)
            }
            ("valid-before", Some(v)) => {
                signer.valid_before =
                    Some(parse_time(v, local).ok_or(format!("invalid valid-before time '{v}'"))?)
            }
            _ => return Err(format!("unknown option '{option}'")),
        }
    }
    Ok(signer)
}

/// Splits a comma-separated options field, commas inside quotes kept.
fn split_options(options: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in options.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&options[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < options.len() {
        out.push(&options[start..]);
    }
    out.into_iter().filter(|o| !o.is_empty()).collect()
}

/// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, then optional `Z` (UTC); else local time.
fn parse_time(v: &str, local: &dyn Fn(NaiveDateTime) -> Option<i64>) -> Option<i64> {
    let (digits, utc) = match v.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (v, false),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = match digits.len() {
        8 => format!("{digits}000000"),
        12 => format!("{digits}00"),
        14 => digits.to_owned(),
        _ => return None,
    };
    let t = NaiveDateTime::parse_from_str(&padded, "%Y%m%d%H%M%S").ok()?;
    if utc {
        Some(t.and_utc().timestamp())
    } else {
        local(t)
    }
}

/// OpenSSH `match_pattern_list`: `name` against a comma-separated list of patterns
/// ([`crate::wildcard`], OpenSSH's `match_pattern`), `!` negating (a negated match refuses
/// outright). Case-sensitive, as ssh-keygen calls it.
pub fn match_pattern_list(name: &str, list: &str) -> bool {
    let mut matched = false;
    for pattern in list.split(',') {
        let (negated, p) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if crate::wildcard::matches(p.as_bytes(), name.as_bytes()) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(t: NaiveDateTime) -> Option<i64> {
        Some(t.and_utc().timestamp())
    }

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJSwGuXpi8LJewfX774PbMwL26hL76JyNFkUq9quykUz";

    #[test]
    fn parses_principals_options_and_key() {
        let text = format!(
            "# comment\n\n\"a@x.org,*@y.org\" namespaces=\"git,file\",valid-after=\"20240101Z\",valid-before=\"202501021030Z\" {KEY} laptop\nb@x.org {KEY}\n"
        );
        let s = AllowedSigners::parse(&text, &utc).expect("the file is well-formed");
        assert_eq!(s.signers.len(), 2, "comments and blank lines are skipped");
        let first = &s.signers[0];
        assert_eq!(first.principals, "a@x.org,*@y.org");
        assert_eq!(first.namespaces.as_deref(), Some("git,file"));
        assert_eq!(
            first.valid_after,
            Some(1_704_067_200),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            first.valid_before,
            Some(1_735_813_800),
            "2025-01-02T10:30:00Z"
        );
        assert_eq!(s.signers[1].principals, "b@x.org");
        assert_eq!(s.signers[1].namespaces, None);
    }

    #[test]
    fn refuses_unknown_options_and_bad_times_with_the_line() {
        let bad = format!("a@x.org frobnicate {KEY}\n");
        let err = AllowedSigners::parse(&bad, &utc).expect_err("unknown option");
        assert!(
            err.to_string().starts_with("line 1: unknown option"),
            "{err}"
        );
        let bad = format!("# c\na@x.org valid-after=\"2024\" {KEY}\n");
        let err = AllowedSigners::parse(&bad, &utc).expect_err("short date");
        assert!(
            err.to_string().starts_with("line 2: invalid valid-after"),
            "{err}"
        );
        let bad = format!("a@x.org valid-after=20240101 {KEY}\n");
        let err = AllowedSigners::parse(&bad, &utc).expect_err("unquoted, as ssh-keygen refuses");
        assert!(err.to_string().contains("double quotes"), "{err}");
    }

    #[test]
    fn patterns_match_as_openssh_does() {
        assert!(match_pattern_list("git", "git"));
        assert!(match_pattern_list("a@y.org", "b@x.org,*@y.org"));
        assert!(match_pattern_list("gi", "g?"));
        assert!(!match_pattern_list("gitx", "git"));
        assert!(
            !match_pattern_list("a@y.org", "*@y.org,!a@*"),
            "negation wins"
        );
        assert!(!match_pattern_list("Git", "git"), "case-sensitive");
    }

    #[test]
    fn revocation_file_of_keys_and_krl_refused() {
        let r = Revoked::parse(format!("# revoked\n{KEY} old\n").as_bytes()).expect("keys");
        assert_eq!(r.keys.len(), 1);
        assert_eq!(
            Revoked::parse(b"SSHKRL\n\0\0\0\0\x01"),
            Err(RevocationError::KrlUnsupported)
        );
    }
}
