//! Test-only: a made-up process environment for the functions that take their variables as
//! a lookup, so unit tests never call `set_var` on the test process.

use std::ffi::OsString;

/// A variable lookup that knows `pairs` and nothing else.
pub(crate) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// [`env`], answering `OsString`s as `std::env::var_os` does.
pub(crate) fn env_os(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let env = env(pairs);
    move |k| env(k).map(OsString::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_answers_only_the_given_pairs() {
        let e = env(&[("A", "1"), ("B", "")]);
        assert_eq!(e("A").as_deref(), Some("1"), "a given variable");
        assert_eq!(e("B").as_deref(), Some(""), "set but empty is still set");
        assert_eq!(e("C"), None, "anything else is unset");
        assert_eq!(env_os(&[("A", "1")])("A"), Some(OsString::from("1")));
    }
}
