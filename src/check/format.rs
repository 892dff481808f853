//! The one dispatch on signature formats: which verifier a signature goes to, by what git
//! would call its format (its armor, git's `get_format_by_sig`), and what the report says
//! about the format and the signer.
//!
//! Sigstore signatures (CMS in git's x509 armor, or DER) go to [`crate::verify::Verifier`];
//! OpenPGP signatures to [`crate::openpgp::verify`] and SSH signatures to
//! [`crate::ssh::verify`], against the configured [`Keys`], one match arm each
//! ([`first_pass`]), filling [`Format`] and [`Signer`] in.

use super::Keys;
use crate::facts;
use crate::git::object::{self, SignatureFormat};
use crate::git::object_id::ObjectIds;
use crate::verify::{self, policy::Policy, Failure, Report};

/// A signature's format, the `format` of a report: `sigstore`, `openpgp`, `ssh`, or `none`
/// (unsigned, or an armor no format claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Sigstore,
    Openpgp,
    Ssh,
    None,
}

impl Format {
    /// The format of `signature` as stored in a git object (PEM armor, or DER for Sigstore).
    pub fn of(signature: &[u8]) -> Format {
        let trimmed = signature.trim_ascii_start();
        if !trimmed.starts_with(b"-----BEGIN") {
            // Not armored: only a DER CMS signature (what `gitsign` writes without -a) can be ours.
            return Format::Sigstore;
        }
        match object::signature_format(trimmed) {
            SignatureFormat::X509 => Format::Sigstore,
            SignatureFormat::Openpgp => Format::Openpgp,
            SignatureFormat::Ssh => Format::Ssh,
            SignatureFormat::Unknown => Format::None,
        }
    }

    /// The name in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Format::Sigstore => "sigstore",
            Format::Openpgp => "openpgp",
            Format::Ssh => "ssh",
            Format::None => "none",
        }
    }
}

/// Who made a signature, as its format names them (untrusted text: escape before display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A Fulcio certificate's identity: its subject alternative names and OIDC issuer.
    Sigstore {
        sans: Vec<String>,
        issuer: Option<String>,
    },
    /// An OpenPGP certificate: its primary key's fingerprint, the (sub)key that signed, and
    /// its primary user id.
    Openpgp {
        fingerprint: String,
        key: String,
        user_id: Option<String>,
    },
    /// An SSH key named in the allowed signers file: the principal git reports, the key's
    /// `SHA256:` fingerprint, and the time the file's validity bounds were judged at (the
    /// committer's or tagger's, as git passes it to `ssh-keygen -Overify-time`).
    Ssh {
        principal: String,
        key: String,
        at: i64,
    },
}

impl Signer {
    /// The Sigstore signer a report names, if its certificate was read.
    pub fn of_report(report: &Report) -> Option<Signer> {
        report.identity.as_ref().map(|i| Signer::Sigstore {
            sans: i.sans.clone(),
            issuer: i.issuer.clone(),
        })
    }

    /// The signer as a kept fact holds it: an OpenPGP or SSH key's ([`facts::KeyedSigner`]).
    pub fn keyed(&self) -> Option<facts::KeyedSigner> {
        match self.clone() {
            Signer::Sigstore { .. } => None,
            Signer::Openpgp {
                fingerprint,
                key,
                user_id,
            } => Some(facts::KeyedSigner::Openpgp {
                fingerprint,
                key,
                user_id,
            }),
            Signer::Ssh { principal, key, at } => {
                Some(facts::KeyedSigner::Ssh { principal, key, at })
            }
        }
    }

    /// The signer a kept fact names, and its format.
    pub fn of_keyed(kept: facts::KeyedSigner) -> (Signer, Format) {
        match kept {
            facts::KeyedSigner::Openpgp {
                fingerprint,
                key,
                user_id,
            } => (
                Signer::Openpgp {
                    fingerprint,
                    key,
                    user_id,
                },
                Format::Openpgp,
            ),
            facts::KeyedSigner::Ssh { principal, key, at } => {
                (Signer::Ssh { principal, key, at }, Format::Ssh)
            }
        }
    }

    /// The identity: the first SAN for Sigstore, the primary key's fingerprint for OpenPGP,
    /// the principal for SSH.
    pub fn identity(&self) -> &str {
        match self {
            Signer::Sigstore { sans, .. } => sans.first().map(String::as_str).unwrap_or(""),
            Signer::Openpgp { fingerprint, .. } => fingerprint,
            Signer::Ssh { principal, .. } => principal,
        }
    }

    /// Who vouched for the identity: the OIDC issuer for Sigstore; none for a key the user
    /// configured.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            Signer::Sigstore { issuer, .. } => issuer.as_deref(),
            Signer::Openpgp { .. } | Signer::Ssh { .. } => None,
        }
    }

    /// The signer as a policy judges it, with `report` the verdict on its signature: the
    /// OpenPGP (sub)key that verified at the signature's creation time (the signer's claim:
    /// nothing else dates an OpenPGP signature), the SSH key and principal at the committer's
    /// time, the Sigstore certificate at the time its anchor proves.
    pub fn judged(&self, report: &Report) -> Option<crate::policy::Signer> {
        use crate::policy::{Signer as Judged, SigstoreSigner};
        match self {
            Signer::Sigstore { .. } => SigstoreSigner::from_report(report).map(Judged::Sigstore),
            Signer::Openpgp { key, .. } => Some(Judged::OpenPgp {
                fingerprint: key.clone(),
                time: report.signing_time,
            }),
            Signer::Ssh { principal, key, at } => Some(Judged::Ssh {
                fingerprint: key.clone(),
                principal: principal.clone(),
                time: Some(*at),
            }),
        }
    }

    /// The key that signed (OpenPGP (sub)key fingerprint, SSH `SHA256:` fingerprint).
    pub fn key(&self) -> Option<&str> {
        match self {
            Signer::Sigstore { .. } => None,
            Signer::Openpgp { key, .. } | Signer::Ssh { key, .. } => Some(key),
        }
    }
}

/// The first pass over one signature: the verifier's answer (with what an online-mode
/// signature needs to be finished), the format and the signer.
pub struct FirstPass {
    pub checked: verify::Checked,
    pub format: Format,
    pub signer: Option<Signer>,
}

impl FirstPass {
    /// A report decided without a verifier (unsigned, unreadable).
    pub fn decided(report: Report, format: Format) -> FirstPass {
        FirstPass {
            checked: verify::Checked {
                report,
                needs_entry: None,
            },
            format,
            signer: None,
        }
    }
}

/// Check `signature` over `payload` with the verifier of its format. `ids` gives the ids a
/// Rekor entry may log the object under (asked for only by an online-mode Sigstore signature).
pub fn first_pass(
    verifier: &verify::Verifier<'_>,
    keys: &Keys,
    payload: &[u8],
    signature: &[u8],
    policy: &Policy,
    ids: impl FnOnce() -> Option<ObjectIds>,
) -> FirstPass {
    let format = Format::of(signature);
    match format {
        Format::Sigstore | Format::None => {
            let checked = verifier.check_detached(payload, signature, policy, ids);
            let signer = Signer::of_report(&checked.report);
            FirstPass {
                checked,
                format,
                signer,
            }
        }
        Format::Openpgp => match crate::openpgp::verify(payload, signature, &keys.openpgp) {
            Ok(s) => FirstPass {
                signer: Some(Signer::Openpgp {
                    fingerprint: s.primary_fingerprint,
                    key: s.key_fingerprint,
                    user_id: s.user_id,
                }),
                ..FirstPass::decided(Report::good_by_key(Some(s.created)), format)
            },
            Err(e) => FirstPass::decided(Report::bad(Failure::Openpgp(e)), format),
        },
        Format::Ssh => {
            let at = signer_time(payload);
            match crate::ssh::verify(payload, signature, &keys.ssh_allowed, &keys.ssh_revoked, at) {
                Ok(s) => FirstPass {
                    signer: Some(Signer::Ssh {
                        principal: s.principal,
                        key: s.key_fingerprint,
                        at,
                    }),
                    ..FirstPass::decided(Report::good_by_key(None), format)
                },
                Err(e) => FirstPass::decided(Report::bad(Failure::Ssh(e)), format),
            }
        }
    }
}

/// Whether a verdict on a signature of `format` over `payload` depends on the signed bytes
/// and the settings alone, not on when it was reached: all but an SSH signature over a payload
/// that states no signer time (judged at now, [`signer_time`]). Only such verdicts are kept
/// as facts.
pub fn timeless(format: Format, payload: &[u8]) -> bool {
    format != Format::Ssh || payload_time(payload).is_some()
}

/// The committer's (a tag's tagger's) time from the payload.
fn payload_time(payload: &[u8]) -> Option<i64> {
    object::header_value(payload, "committer")
        .or_else(|| object::header_value(payload, "tagger"))
        .and_then(|v| {
            let v = std::str::from_utf8(v).ok()?;
            let mut fields = v.rsplit(' ');
            fields.next()?; // time zone
            fields.next()?.parse().ok()
        })
}

/// The time SSH allowed signers' `valid-after`/`valid-before` are judged at, as git passes it
/// to `ssh-keygen -Overify-time`: the committer's (a tag's tagger's) time from the payload;
/// without one, ssh-keygen's default, now.
fn signer_time(payload: &[u8]) -> i64 {
    payload_time(payload).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_armor_and_der_is_sigstore() {
        let cases: [(&[u8], Format); 6] = [
            (b"-----BEGIN SIGNED MESSAGE-----\nMII=\n", Format::Sigstore),
            (b"  -----BEGIN PGP SIGNATURE-----\n", Format::Openpgp),
            (b"-----BEGIN PGP MESSAGE-----\n", Format::Openpgp),
            (b"-----BEGIN SSH SIGNATURE-----\n", Format::Ssh),
            (b"-----BEGIN SOMETHING ELSE-----\n", Format::None),
            (&[0x30, 0x82, 0x01, 0x00], Format::Sigstore),
        ];
        for (sig, want) in cases {
            assert_eq!(Format::of(sig), want, "{}", String::from_utf8_lossy(sig));
        }
        assert_eq!(Format::Openpgp.name(), "openpgp");
    }

    #[test]
    fn openpgp_and_ssh_signatures_go_to_their_verifiers() {
        let root = crate::trust::TrustedRoot::public_good();
        let verifier = verify::Verifier::new(&root, verify::Waivers::default());
        for (sig, format) in [
            (
                &b"-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n"[..],
                Format::Openpgp,
            ),
            (
                b"-----BEGIN SSH SIGNATURE-----\nx\n-----END SSH SIGNATURE-----\n",
                Format::Ssh,
            ),
        ] {
            let keys = Keys::default();
            let first = first_pass(
                &verifier,
                &keys,
                b"tree 0\n",
                sig,
                &Policy::default(),
                || None,
            );
            assert_eq!(first.format, format);
            assert_eq!(
                first.checked.report.outcome.code(),
                Some("signature_malformed"),
                "read by the format's verifier, not called foreign"
            );
            assert!(first.signer.is_none() && first.checked.needs_entry.is_none());
        }
    }
}
