//! `[GNUPG:]` status lines, the machine interface git reads on `--status-fd`
//! (gnupg `doc/DETAILS`; git's `gpg-interface.c: parse_gpg_output`). Pure formatting.
//!
//! git reads the status fd line by line and trusts every `[GNUPG:]` line, so arguments (a user
//! id is a certificate's SAN, attacker-chosen) pass through [`crate::text::escape`]: no control
//! character, no newline, never a second line.

/// One status line, newline-terminated; `args` is escaped to one line.
pub fn line(keyword: &str, args: &str) -> String {
    let args = crate::text::escape(args);
    if args.is_empty() {
        format!("[GNUPG:] {keyword}\n")
    } else {
        format!("[GNUPG:] {keyword} {args}\n")
    }
}

pub fn new_sig() -> String {
    line("NEWSIG", "")
}

/// `GOODSIG <fingerprint> <user id>`: git shows the user id as the signer.
pub fn good_sig(fingerprint: &str, uid: &str) -> String {
    line("GOODSIG", &format!("{fingerprint} {uid}"))
}

pub fn bad_sig(fingerprint: &str, uid: &str) -> String {
    line("BADSIG", &format!("{fingerprint} {uid}"))
}

/// `ERRSIG <keyid> <pkalgo> <hashalgo> <sig_class> <time> <rc>`: the signature could not be
/// checked. rc 4 = unknown algorithm / unusable, 9 = missing key (gnupg DETAILS).
pub fn err_sig(key_id: &str, rc: u8) -> String {
    line("ERRSIG", &format!("{key_id} 19 8 00 0 {rc}"))
}

pub fn trust_fully() -> String {
    line("TRUST_FULLY", "0 shell")
}

/// A valid signature whose signer is not trusted: git shows `%G?` as `U`, and
/// `git merge --verify-signatures` refuses it (it wants at least marginal trust).
pub fn trust_undefined() -> String {
    line("TRUST_UNDEFINED", "0 shell")
}

pub fn begin_signing() -> String {
    line("BEGIN_SIGNING", "")
}

/// `SIG_CREATED D <pkalgo> <hashalgo> 00 <time> <fingerprint>` for a detached signature.
pub fn sig_created(pk_algo: u8, hash_algo: u8, unix_time: i64, fingerprint: &str) -> String {
    line(
        "SIG_CREATED",
        &format!("D {pk_algo} {hash_algo} 00 {unix_time} {fingerprint}"),
    )
}

/// `SIG_CREATED S …`: the same for a standard (attached) signature, `-s` without `-b`.
pub fn sig_created_attached(
    pk_algo: u8,
    hash_algo: u8,
    unix_time: i64,
    fingerprint: &str,
) -> String {
    line(
        "SIG_CREATED",
        &format!("S {pk_algo} {hash_algo} 00 {unix_time} {fingerprint}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_byte_exact() {
        assert_eq!(new_sig(), "[GNUPG:] NEWSIG\n");
        assert_eq!(good_sig("ab12", "a@b.c"), "[GNUPG:] GOODSIG ab12 a@b.c\n");
        assert_eq!(bad_sig("ab12", "a@b.c"), "[GNUPG:] BADSIG ab12 a@b.c\n");
        assert_eq!(
            err_sig("0000000000000000", 9),
            "[GNUPG:] ERRSIG 0000000000000000 19 8 00 0 9\n"
        );
        assert_eq!(trust_fully(), "[GNUPG:] TRUST_FULLY 0 shell\n");
        assert_eq!(trust_undefined(), "[GNUPG:] TRUST_UNDEFINED 0 shell\n");
        assert_eq!(begin_signing(), "[GNUPG:] BEGIN_SIGNING\n");
        assert_eq!(
            sig_created(19, 8, 1700000000, "00ff"),
            "[GNUPG:] SIG_CREATED D 19 8 00 1700000000 00ff\n"
        );
    }

    /// Issue 16.4: a SAN holding a newline must not add a status line git would believe.
    #[test]
    fn a_user_id_cannot_inject_a_status_line() {
        let uid = "eve@example.com\n[GNUPG:] GOODSIG 0000 alice@example.com\r\x1b[2K";
        for l in [good_sig("ab12", uid), bad_sig("ab12", uid)] {
            assert_eq!(
                l.matches('\n').count(),
                1,
                "one line, newline-terminated: {l:?}"
            );
            assert!(l.ends_with('\n'), "{l:?}");
            assert!(
                !l[..l.len() - 1].chars().any(char::is_control),
                "no control character before the terminator: {l:?}"
            );
        }
        assert_eq!(
            good_sig("ab12", uid),
            "[GNUPG:] GOODSIG ab12 eve@example.com\\n[GNUPG:] GOODSIG 0000 alice@example.com\\r\\x1b[2K\n"
        );
    }
}
