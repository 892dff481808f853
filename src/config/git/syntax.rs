//! Git's configuration syntax: one file's entries (gix-config events, in git's order and
//! with git's line numbers), canonical keys, `GIT_CONFIG_PARAMETERS` (`git -c`) and the
//! value parsers (`git_config_bool`, `git_parse_int`, `GIT_CONFIG_COUNT`). Pure.

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};

/// The entries of one file, without following includes. `Err` carries git's line number.
pub fn parse_file(bytes: &[u8]) -> Result<Vec<(BString, Option<BString>)>, usize> {
    use gix::config::parse::{EventRef, Events};
    let events = Events::from_bytes(bytes, None).map_err(|e| e.line_number())?;
    let mut out = Vec::new();
    let mut line = 1;
    let mut prefix = BString::default();
    let mut name: Option<&BStr> = None;
    let mut has_value = false;
    let mut continued = BString::default();
    // The line of a key without `=`, which must end there (git's `get_value`); gix also
    // accepts `key junk` and `key # comment`.
    let mut bare_key: Option<usize> = None;
    let all = events
        .frontmatter()
        .chain(events.sections().flat_map(|s| s.iter()));
    for event in all {
        if let Some(at) = bare_key.take() {
            match event {
                EventRef::Newline(_) => {}
                EventRef::Whitespace(_) => bare_key = Some(at),
                _ => return Err(at),
            }
        }
        let raw = match event {
            EventRef::Newline(n) => {
                line += n.find_iter(b"\n").count();
                continue;
            }
            EventRef::SectionHeader {
                name: section,
                separator,
                subsection_name,
            } => {
                prefix = section.to_ascii_lowercase().into();
                if let Some(sub) = subsection_name {
                    prefix.push(b'.');
                    // `[section.Sub]` (deprecated) is lowercased whole; `[section "Sub"]` keeps case.
                    if separator.is_some_and(|s| s == ".") {
                        prefix.push_str(sub.to_ascii_lowercase());
                    } else {
                        prefix.push_str(sub);
                    }
                }
                prefix.push(b'.');
                continue;
            }
            EventRef::SectionValueName(n) => {
                name = Some(n);
                has_value = false;
                continued.clear();
                continue;
            }
            EventRef::KeyValueSeparator => {
                has_value = true;
                continue;
            }
            EventRef::ValueNotDone(v) => {
                continued.push_str(v);
                continue;
            }
            EventRef::ValueDone(v) => {
                continued.push_str(v);
                std::mem::take(&mut continued)
            }
            EventRef::Value(v) => v.to_owned(),
            _ => continue,
        };
        if let Some(n) = name.take() {
            let mut key = prefix.clone();
            key.push_str(n.to_ascii_lowercase());
            // Quotes and escapes resolved as git's `parse_value` does.
            let value = has_value.then(|| gix::config::value::normalize(&raw).into_owned());
            if value.is_none() {
                bare_key = Some(line);
            }
            out.push((key, value));
        }
    }
    Ok(out)
}

/// Git's `git_config_parse_key`: check a `section[.subsection].name` key given on the
/// command line or in `GIT_CONFIG_KEY_<n>` and lowercase its section and name.
pub fn canonical_key(key: &[u8]) -> Result<BString, String> {
    let shown = key.to_str_lossy();
    if key.is_empty() {
        return Err("empty config key".into());
    }
    let Some(last_dot) = key.rfind_byte(b'.').filter(|&i| i > 0) else {
        return Err(format!("key does not contain a section: {shown}"));
    };
    if last_dot + 1 == key.len() {
        return Err(format!("key does not contain variable name: {shown}"));
    }
    let first_dot = key.find_byte(b'.').unwrap_or(last_dot);
    let is_key_char = |c: u8| c.is_ascii_alphanumeric() || c == b'-';
    let mut out = BString::from(Vec::with_capacity(key.len()));
    for (i, &c) in key.iter().enumerate() {
        if i < first_dot || i > last_dot {
            if !is_key_char(c) || (i == last_dot + 1 && !c.is_ascii_alphabetic()) {
                return Err(format!("invalid key: {shown}"));
            }
            out.push(c.to_ascii_lowercase());
        } else if c == b'\n' {
            return Err(format!("invalid key (newline): {shown}"));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Split `GIT_CONFIG_PARAMETERS` into (key, value) as git's `parse_config_env_list` does.
///
/// git writes `'key'='value'` (value `None` for `'key'=`, from `git -c key`), separated by
/// spaces, each part single-quoted with `'\''` for `'` and `'\!'` for `!`. Older gits wrote
/// `'key=value'`, split at the first `=`, which is still read. Keys are checked and
/// lowercased like [`canonical_key`].
pub fn parse_parameters(env: &[u8]) -> Result<Vec<(BString, Option<BString>)>, String> {
    const BOGUS: &str = "bogus format";
    let mut out = Vec::new();
    let mut rest = env;
    while !rest.is_empty() {
        let (key, after) = sq_dequote_step(rest).ok_or(BOGUS)?;
        match after {
            Some([b'=', value @ ..]) => {
                // New style: 'key'='value' or 'key'= (implicit true).
                let (value, after) = match value {
                    [b'\'', ..] => {
                        let (v, after) = sq_dequote_step(value).ok_or(BOGUS)?;
                        if after.is_some_and(|a| !a.first().is_some_and(u8::is_ascii_whitespace)) {
                            return Err(BOGUS.into());
                        }
                        (Some(v), after)
                    }
                    [] => (None, None),
                    [c, ..] if c.is_ascii_whitespace() => (None, Some(value)),
                    _ => return Err(BOGUS.into()),
                };
                out.push((canonical_key(&key)?, value));
                rest = after.unwrap_or_default();
            }
            Some([c, ..]) if !c.is_ascii_whitespace() => return Err(BOGUS.into()),
            after => {
                // Old style: 'key=value', the key trimmed, no '=' meaning implicit true.
                let (k, v) = match key.find_byte(b'=') {
                    Some(i) => (&key[..i], Some(BString::from(&key[i + 1..]))),
                    None => (&key[..], None),
                };
                let k = k.trim();
                if k.is_empty() {
                    return Err(format!("bogus config parameter: {}", key.to_str_lossy()));
                }
                out.push((canonical_key(k)?, v));
                rest = after.unwrap_or_default();
            }
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// Git's `sq_dequote_step`: one single-quoted word at the start of `s`, and what follows it
/// (`None` at the end of the string). Outside quotes only `\'` and `\!` are allowed, and only
/// when the quoted part resumes right after.
fn sq_dequote_step(s: &[u8]) -> Option<(BString, Option<&[u8]>)> {
    let mut rest = s.strip_prefix(b"'")?;
    let mut out = BString::default();
    loop {
        let end = rest.find_byte(b'\'')?;
        out.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest {
            [] => return Some((out, None)),
            [b'\\', c @ (b'\'' | b'!'), b'\'', tail @ ..] => {
                out.push(*c);
                rest = tail;
            }
            _ => return Some((out, Some(rest))),
        }
    }
}

/// Git's boolean spellings (`git_parse_maybe_bool`): `None` if `value` is none of them.
/// A key without value is true, an empty value false.
pub fn parse_bool(value: Option<&[u8]>) -> Option<bool> {
    let Some(v) = value else { return Some(true) };
    match v.to_ascii_lowercase().as_slice() {
        b"" | b"false" | b"no" | b"off" => Some(false),
        b"true" | b"yes" | b"on" => Some(true),
        _ => parse_int(v).map(|n| n != 0),
    }
}

/// Git's `git_parse_int`: C `strtoimax` in base 0 (decimal, `0x` hex, `0` octal) with an
/// optional `k`/`m`/`g` unit, within an `int`.
pub(super) fn parse_int(v: &[u8]) -> Option<i64> {
    let s = v.trim_start();
    let (negative, s) = match s {
        [b'-', r @ ..] => (true, r),
        [b'+', r @ ..] => (false, r),
        _ => (false, s),
    };
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', r @ ..] if r.first().is_some_and(u8::is_ascii_hexdigit) => (16, r),
        [b'0', r @ ..] if !r.is_empty() => (8, r),
        _ => (10, s),
    };
    let len = digits
        .iter()
        .take_while(|c| (**c as char).is_digit(radix))
        .count();
    if len == 0 && radix == 10 {
        return None;
    }
    let number = if len == 0 {
        0 // "0" followed by a unit, or octal "0"
    } else {
        i64::from_str_radix(std::str::from_utf8(&digits[..len]).ok()?, radix).ok()?
    };
    let factor: i64 = match digits[len..].to_ascii_lowercase().as_slice() {
        b"" => 1,
        b"k" => 1 << 10,
        b"m" => 1 << 20,
        b"g" => 1 << 30,
        _ => return None,
    };
    let n = number.checked_mul(factor)?;
    let n = if negative { -n } else { n };
    i32::try_from(n).ok().map(i64::from)
}

/// `GIT_CONFIG_COUNT` as C's `strtoul` reads it, all of it digits.
pub(super) fn parse_count(v: &[u8]) -> Result<usize, String> {
    let s = v.trim_start();
    let (negative, digits) = match s {
        [b'-', r @ ..] => (true, r),
        [b'+', r @ ..] => (false, r),
        _ => (false, s),
    };
    if v.is_empty() {
        return Ok(0);
    }
    let n: u64 = std::str::from_utf8(digits)
        .ok()
        .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("bogus count '{}'", v.to_str_lossy()))?;
    if (negative && n != 0) || n > i32::MAX as u64 {
        return Err(format!("too many entries ({})", v.to_str_lossy()));
    }
    usize::try_from(n).map_err(|_| format!("too many entries ({})", v.to_str_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, Option<&str>)]) -> Vec<(BString, Option<BString>)> {
        v.iter()
            .map(|(k, v)| (BString::from(*k), v.map(BString::from)))
            .collect()
    }

    #[test]
    fn parameters_in_the_format_git_c_writes() {
        // What `git -c gitsign.fulcio=X -c 'gitsign.rekor=a b' -c "gitsign.q=it's!" -c gitsign.flag
        // -c gitsign.empty= -c GitSign.Sub.KEY=v=w` exports (captured from git 2.47).
        let env = br"'gitsign.fulcio'='X' 'gitsign.rekor'='a b' 'gitsign.q'='it'\''s'\!'' 'gitsign.flag'= 'gitsign.empty'='' 'GitSign.Sub.KEY'='v=w'";
        assert_eq!(
            parse_parameters(env),
            Ok(pairs(&[
                ("gitsign.fulcio", Some("X")),
                ("gitsign.rekor", Some("a b")),
                ("gitsign.q", Some("it's!")),
                ("gitsign.flag", None),
                ("gitsign.empty", Some("")),
                ("gitsign.Sub.key", Some("v=w")),
            ])),
            "new-style pairs, escapes, implicit true, empty value and a subsection keeping its case"
        );
    }

    #[test]
    fn parameters_in_the_old_format_and_mixed_separators() {
        assert_eq!(
            parse_parameters(b"'gitsign.x=1'\t'GitSign.Y' ' gitsign.z =a=b'"),
            Ok(pairs(&[
                ("gitsign.x", Some("1")),
                ("gitsign.y", None),
                ("gitsign.z", Some("a=b")),
            ])),
            "old style splits at the first '=' and trims the key; tabs separate too"
        );
        assert_eq!(parse_parameters(b""), Ok(vec![]), "empty is nothing");
        assert_eq!(
            parse_parameters(b"'gitsign.x'='1'   'gitsign.y'='2'  "),
            Ok(pairs(&[("gitsign.x", Some("1")), ("gitsign.y", Some("2"))])),
            "runs of spaces between and after entries"
        );
    }

    #[test]
    fn parameters_git_refuses_are_errors() {
        for (env, why) in [
            (&b"  'gitsign.x'='1'"[..], "leading space"),
            (b"'gitsign.x'='1''gitsign.y'", "no separator"),
            (b"'gitsign.x'=1", "unquoted value"),
            (
                b"'gitsign.x'='a'\\x'b'",
                "a backslash escape other than ' and !",
            ),
            (
                b"'gitsign.x'='a'\\'",
                "an escape that does not resume quoting",
            ),
            (b"'gitsign.x=1'x", "junk after old style"),
            (b"'gitsign.x=1", "unterminated quote"),
            (b"'gitsign'='1'", "no section"),
            (b"'gitsign.1x'='1'", "name starting with a digit"),
            (b"'gitsign.x '='1'", "new style keys are not trimmed"),
            (b"'=x'", "empty old-style key"),
            (b"'gitsign.'='x'", "no variable name"),
        ] {
            assert!(
                parse_parameters(env).is_err(),
                "{why}: {} must be refused as git refuses it",
                env.to_str_lossy()
            );
        }
    }

    #[test]
    fn canonical_keys_lowercase_section_and_name_only() {
        let key = |k: &[u8]| canonical_key(k).map(|k| k.to_string());
        assert_eq!(key(b"GitSign.Fulcio").as_deref(), Ok("gitsign.fulcio"));
        assert_eq!(
            key(b"Remote.My.Origin.URL").as_deref(),
            Ok("remote.My.Origin.url"),
            "everything between the first and last dot is the subsection"
        );
        assert_eq!(key(b"a.Sub Sect.k").as_deref(), Ok("a.Sub Sect.k"));
        assert!(
            canonical_key(b"a.sub\nx.k").is_err(),
            "no newline in a subsection"
        );
        assert!(
            canonical_key(b"a_b.k").is_err(),
            "section names are alphanumeric and '-'"
        );
        assert!(canonical_key(b".k").is_err(), "no section");
    }

    #[test]
    fn files_parse_into_git_keys_and_values() {
        let file = b"\xef\xbb\xbf# comment\n[GitSign]\n\tFulcio = a  ; trailing comment\n\tflag\n\tempty =\n\
            \tquoted = \" x \"y\\t\\\"z\\\\ \n\tcont = a\\\n  b\n[gitsign \"Sub\\\"X\"]\n\tKey = v\n[gitsign.Legacy]\n\tKey = w\n";
        assert_eq!(
            parse_file(file),
            Ok(pairs(&[
                ("gitsign.fulcio", Some("a")),
                ("gitsign.flag", None),
                ("gitsign.empty", Some("")),
                ("gitsign.quoted", Some(" x y\t\"z\\")),
                ("gitsign.cont", Some("a  b")),
                ("gitsign.Sub\"X.key", Some("v")),
                ("gitsign.legacy.key", Some("w")),
            ]))
        );
    }

    #[test]
    fn malformed_files_report_gits_line() {
        assert_eq!(
            parse_file(b"[gitsign]\n\tx = 1\n\ty = \"unterminated\n"),
            Err(3)
        );
        assert_eq!(
            parse_file(b"[gitsign]\n\tx = a\\qb\n"),
            Err(2),
            "unknown escape"
        );
        assert_eq!(parse_file(b"[gitsign\n"), Err(1), "unterminated header");
        assert_eq!(
            parse_file(b"[gitsign]\n\n\tx y = 1\n"),
            Err(3),
            "a key without '=' must end its line (gix alone reads two keys)"
        );
        assert_eq!(parse_file(b"[gitsign]\n\tx ; comment\n"), Err(2));
        assert_eq!(
            parse_file(b"[gitsign]\n\tx\t\n\ty\n[other]"),
            Ok(pairs(&[("gitsign.x", None), ("gitsign.y", None)]))
        );
    }

    #[test]
    fn booleans_and_counts_as_git_reads_them() {
        for (v, want) in [
            (None, Some(true)),
            (Some(&b""[..]), Some(false)),
            (Some(b"Yes"), Some(true)),
            (Some(b"off"), Some(false)),
            (Some(b"2"), Some(true)),
            (Some(b"0x0"), Some(false)),
            (Some(b"1k"), Some(true)),
            (Some(b"maybe"), None),
        ] {
            assert_eq!(parse_bool(v), want, "{v:?}");
        }
        assert_eq!(parse_count(b""), Ok(0), "empty means none");
        assert_eq!(parse_count(b" 2"), Ok(2), "strtoul skips leading space");
        assert!(parse_count(b"x").is_err());
        assert!(parse_count(b"-1").is_err(), "wraps to a huge count in C");
        assert!(parse_count(b"2 ").is_err(), "trailing junk");
    }
}
