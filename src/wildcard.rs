//! `*` and `?` patterns over bytes, whole-string: `*` any run (`/` included, as in git
//! refspecs), `?` any one byte, everything else literal. The one matcher for a policy's ref
//! globs and for OpenSSH's `match_pattern` (allowed signers' principals and namespaces), both
//! of which come from files others may write. Pure.
//!
//! In time proportional to the product of the lengths at worst: on a mismatch only the latest
//! `*` takes one more byte, as a `*` that matches further on can stand in for any earlier one.
//! (OpenSSH recurses at every `*`, exponential in their number: a line of many `*` stalls it.)

/// Whether `name` matches `pattern` whole.
pub fn matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // The pattern just after the latest `*`, and the first byte of `name` it has not taken.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, n));
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((after, taken)) => {
                    p = after;
                    n = taken + 1;
                    star = Some((after, n));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition the matcher must agree with: `*` tries every split, recursively.
    fn by_definition(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| by_definition(rest, &s[i..])),
            Some((b'?', rest)) => !s.is_empty() && by_definition(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && by_definition(rest, &s[1..]),
        }
    }

    /// Every word over `alphabet` of length at most `max`.
    fn words(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
        let mut all = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|w: &Vec<u8>| {
                    alphabet.iter().map(move |&c| {
                        let mut n = w.clone();
                        n.push(c);
                        n
                    })
                })
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn the_matcher_agrees_with_the_definition_on_every_short_pattern_and_name() {
        let names = words(b"ab", 5);
        let mut matched = 0;
        for p in words(b"ab*?", 5) {
            for s in &names {
                let want = by_definition(&p, s);
                assert_eq!(
                    matches(&p, s),
                    want,
                    "{:?} against {:?}",
                    String::from_utf8_lossy(s),
                    String::from_utf8_lossy(&p)
                );
                matched += usize::from(want);
            }
        }
        assert!(matched > 10_000, "the cases include matches: {matched}");
    }

    #[test]
    fn many_stars_are_matched_without_backtracking_through_every_split() {
        // By the definition this is about C(80, 30) splits.
        let name = "a".repeat(80);
        let many = format!("{}b", "*a".repeat(30));
        assert!(!matches(many.as_bytes(), name.as_bytes()));
        assert!(matches(many.as_bytes(), format!("{name}b").as_bytes()));
        let stars = format!("{}?", "*".repeat(5_000));
        assert!(matches(stars.as_bytes(), b"git"));
        assert!(!matches(stars.as_bytes(), b""));
        assert!(
            !matches("*?".repeat(5_000).as_bytes(), b"git"),
            "each ? takes a byte"
        );
    }
}
