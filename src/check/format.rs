//! The one dispatch on signature formats: which verifier a signature goes to, by what git
//! would call its format (its armor, git's `get_format_by_sig`), and what the report says
//! about the format and the signer.
//!
//! Sigstore signatures (CMS in git's x509 armor, or DER) go to [`crate::verify::Verifier`];
//! OpenPGP and SSH signatures are [`Failure::ForeignFormat`] until a verifier for them plugs in
//! here as one match arm each ([`first_pass`]), filling [`Format`] and [`Signer`] in.

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
}

impl Signer {
    /// The Sigstore signer a report names, if its certificate was read.
    pub fn of_report(report: &Report) -> Option<Signer> {
        report.identity.as_ref().map(|i| Signer::Sigstore {
            sans: i.sans.clone(),
            issuer: i.issuer.clone(),
        })
    }

    /// The identity: the first SAN for Sigstore.
    pub fn identity(&self) -> &str {
        match self {
            Signer::Sigstore { sans, .. } => sans.first().map(String::as_str).unwrap_or(""),
        }
    }

    /// Who vouched for the identity: the OIDC issuer for Sigstore.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            Signer::Sigstore { issuer, .. } => issuer.as_deref(),
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
        Format::Openpgp => FirstPass::decided(
            Report::bad(Failure::ForeignFormat(SignatureFormat::Openpgp)),
            format,
        ),
        Format::Ssh => FirstPass::decided(
            Report::bad(Failure::ForeignFormat(SignatureFormat::Ssh)),
            format,
        ),
    }
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
    fn openpgp_and_ssh_signatures_are_foreign_until_their_verifier_plugs_in() {
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
            let first = first_pass(&verifier, b"tree 0\n", sig, &Policy::default(), || None);
            assert_eq!(first.format, format);
            assert_eq!(first.checked.report.outcome.code(), Some("foreign_format"));
            assert!(first.signer.is_none() && first.checked.needs_entry.is_none());
        }
    }
}
