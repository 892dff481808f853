//! Who signed, in the three shapes a policy judges: a Sigstore certificate (identity, issuer,
//! every Fulcio extension — [`crate::x509::fulcio`] — and the proven signing time), an OpenPGP
//! key (its fingerprint) and an SSH key (the key and the principal). The verifiers build these
//! after a signature verified; the policy only decides whether one of a rule's authorities
//! admits them.

use crate::verify::policy::Identity;
use crate::verify::{Anchor, Report};
use crate::x509::Cert;

/// A Sigstore signer: what its verified certificate says, and when it signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigstoreSigner {
    /// Subject alternative names, issuer and every Fulcio extension.
    pub identity: Identity,
    /// The proven signing time (Unix seconds), when one was proven.
    pub signing_time: Option<i64>,
}

impl SigstoreSigner {
    pub fn from_cert(cert: &Cert, signing_time: Option<i64>) -> SigstoreSigner {
        SigstoreSigner {
            identity: Identity::from_cert(cert),
            signing_time,
        }
    }

    /// From what a verification report keeps.
    pub fn from_identity(identity: &Identity, signing_time: Option<i64>) -> SigstoreSigner {
        SigstoreSigner {
            identity: identity.clone(),
            signing_time,
        }
    }

    /// The signer of a verification report, at the time its anchor proves (a log entry's
    /// integration time, a timestamp's time; none for an unanchored report). The CMS
    /// signingTime is the signer's own claim and never bounds anything. `None` without an
    /// identity (nothing verified far enough to read one).
    pub fn from_report(report: &Report) -> Option<SigstoreSigner> {
        let time = match report.anchor.as_ref() {
            Some(Anchor::Tlog {
                integrated_time, ..
            }) => Some(*integrated_time),
            Some(Anchor::Timestamp { time, .. }) => Some(*time),
            Some(Anchor::Unanchored { .. }) | None => None,
        };
        Some(SigstoreSigner::from_identity(
            report.identity.as_ref()?,
            time,
        ))
    }
}

/// A signer whose signature verified, in one of the three shapes a policy knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    Sigstore(SigstoreSigner),
    /// The key that verified: its fingerprint (hex, any case), and the signature's creation time.
    OpenPgp {
        fingerprint: String,
        time: Option<i64>,
    },
    /// The key that verified (its fingerprint, `SHA256:…` as `ssh-keygen -l` prints it), the
    /// principal it verified for, and the signing time.
    Ssh {
        fingerprint: String,
        principal: String,
        time: Option<i64>,
    },
}

impl Signer {
    /// The time the authorities' `valid-after` / `valid-before` bounds are checked against.
    pub fn time(&self) -> Option<i64> {
        match self {
            Signer::Sigstore(s) => s.signing_time,
            Signer::OpenPgp { time, .. } | Signer::Ssh { time, .. } => *time,
        }
    }
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Sigstore(s) => write!(
                f,
                "'{}' (issuer '{}')",
                s.identity.subject(),
                s.identity.issuer.as_deref().unwrap_or("")
            ),
            Signer::OpenPgp { fingerprint, .. } => write!(f, "OpenPGP key {fingerprint}"),
            Signer::Ssh {
                fingerprint,
                principal,
                ..
            } => write!(f, "SSH key {fingerprint} (principal '{principal}')"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::fulcio::{Encoding, FulcioExtension};

    /// A real GitHub Actions certificate: every extension is read as `openssl x509 -text`
    /// shows it (for 57264.1.8 onward openssl prints the DER tag and length bytes first).
    #[test]
    fn a_real_certificate_yields_every_fulcio_claim() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/fulcio/github-actions-leaf.pem"
        );
        let pem = std::fs::read(path).expect("the test certificate");
        let der = crate::pem::decode_one(&pem, "CERTIFICATE").expect("PEM");
        let cert = Cert::parse(&der).expect("the certificate parses");
        let signer = SigstoreSigner::from_cert(&cert, None);
        // Written down from the certificate (see tests/data/README.md).
        let get = |e: FulcioExtension| signer.identity.extensions.get(&e).map(String::as_str);
        assert_eq!(
            get(FulcioExtension::SourceRepositoryUri),
            Some("https://github.com/chainguard-dev/malcontent")
        );
        assert_eq!(
            get(FulcioExtension::RunnerEnvironment),
            Some("github-hosted")
        );
        assert_eq!(
            get(FulcioExtension::GithubWorkflowTrigger),
            Some("schedule")
        );
        assert_eq!(
            get(FulcioExtension::SourceRepositoryVisibility),
            Some("public")
        );
        assert_eq!(
            get(FulcioExtension::DeploymentEnvironment),
            None,
            "1.23 is absent"
        );
        assert_eq!(
            signer.identity.issuer.as_deref(),
            Some("https://token.actions.githubusercontent.com")
        );
        assert_eq!(signer.identity.extensions.len(), 19, "1.2–1.6 and 1.9–1.22");

        // The independent reader.
        let out = match std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in", path])
            .output()
        {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            _ => {
                eprintln!("skipped: openssl is not available to cross-check the extensions");
                return;
            }
        };
        let lines: Vec<&str> = out.lines().map(str::trim).collect();
        let mut seen = 0;
        for e in FulcioExtension::ALL {
            let head = format!("{}:", e.oid());
            let Some(at) = lines.iter().position(|l| *l == head) else {
                assert_eq!(get(*e), None, "openssl shows no {head}");
                continue;
            };
            let shown = lines.get(at + 1).copied().unwrap_or_default();
            // openssl prints unknown extensions' bytes; the two DER header bytes of a
            // UTF8String shorter than 128 bytes appear as two characters.
            let want = if e.encoding() == Encoding::Utf8 {
                shown.get(2..).unwrap_or_default()
            } else {
                shown
            };
            assert_eq!(
                get(*e),
                Some(want),
                "{} ({head}) as openssl shows it",
                e.key()
            );
            seen += 1;
        }
        assert_eq!(seen, 19, "openssl shows the same 19 extensions");
    }
}
