//! Who signed, in the three shapes a policy judges: a Sigstore certificate (identity, issuer,
//! every Fulcio extension, the proven signing time), an OpenPGP key (its fingerprint) and an
//! SSH key (the key and the principal). The verifiers build these after a signature verified;
//! the policy only decides whether one of a rule's authorities admits them.
//!
//! [`FulcioExtension`] is the one table of the Fulcio certificate extensions a policy can
//! constrain (Fulcio `docs/oid-info.md`): 57264.1.2–1.6 hold raw strings (the deprecated
//! GitHub workflow claims), 57264.1.9–1.23 DER UTF8Strings (the provider-generic claims). The
//! issuer (1.1 / 1.8) is the `issuer` of an entry, not an extension constraint.

use std::collections::BTreeMap;

use const_oid::ObjectIdentifier;

use crate::oid;
use crate::verify::policy::Identity;
use crate::x509::Cert;

/// How an extension's value is encoded in the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// The value bytes are the string (57264.1.1–1.6).
    Raw,
    /// The value is a DER UTF8String (57264.1.8 onward).
    Utf8,
}

macro_rules! extensions {
    ($($variant:ident => $key:literal, $oid:path, $enc:ident;)*) => {
        /// A Fulcio certificate extension a policy entry can require a value of.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FulcioExtension {
            $($variant,)*
        }

        impl FulcioExtension {
            /// Every extension, in OID order.
            pub const ALL: &'static [FulcioExtension] = &[$(FulcioExtension::$variant,)*];

            /// The policy key that constrains it (kebab-case of Fulcio's name).
            pub fn key(self) -> &'static str {
                match self {
                    $(FulcioExtension::$variant => $key,)*
                }
            }

            pub fn oid(self) -> ObjectIdentifier {
                match self {
                    $(FulcioExtension::$variant => $oid,)*
                }
            }

            fn encoding(self) -> Encoding {
                match self {
                    $(FulcioExtension::$variant => Encoding::$enc,)*
                }
            }
        }
    };
}

extensions! {
    GithubWorkflowTrigger => "github-workflow-trigger", oid::FULCIO_GITHUB_WORKFLOW_TRIGGER, Raw;
    GithubWorkflowSha => "github-workflow-sha", oid::FULCIO_GITHUB_WORKFLOW_SHA, Raw;
    GithubWorkflowName => "github-workflow-name", oid::FULCIO_GITHUB_WORKFLOW_NAME, Raw;
    GithubWorkflowRepository => "github-workflow-repository", oid::FULCIO_GITHUB_WORKFLOW_REPOSITORY, Raw;
    GithubWorkflowRef => "github-workflow-ref", oid::FULCIO_GITHUB_WORKFLOW_REF, Raw;
    BuildSignerUri => "build-signer-uri", oid::FULCIO_BUILD_SIGNER_URI, Utf8;
    BuildSignerDigest => "build-signer-digest", oid::FULCIO_BUILD_SIGNER_DIGEST, Utf8;
    RunnerEnvironment => "runner-environment", oid::FULCIO_RUNNER_ENVIRONMENT, Utf8;
    SourceRepositoryUri => "source-repository-uri", oid::FULCIO_SOURCE_REPOSITORY_URI, Utf8;
    SourceRepositoryDigest => "source-repository-digest", oid::FULCIO_SOURCE_REPOSITORY_DIGEST, Utf8;
    SourceRepositoryRef => "source-repository-ref", oid::FULCIO_SOURCE_REPOSITORY_REF, Utf8;
    SourceRepositoryIdentifier => "source-repository-identifier", oid::FULCIO_SOURCE_REPOSITORY_IDENTIFIER, Utf8;
    SourceRepositoryOwnerUri => "source-repository-owner-uri", oid::FULCIO_SOURCE_REPOSITORY_OWNER_URI, Utf8;
    SourceRepositoryOwnerIdentifier => "source-repository-owner-identifier", oid::FULCIO_SOURCE_REPOSITORY_OWNER_IDENTIFIER, Utf8;
    BuildConfigUri => "build-config-uri", oid::FULCIO_BUILD_CONFIG_URI, Utf8;
    BuildConfigDigest => "build-config-digest", oid::FULCIO_BUILD_CONFIG_DIGEST, Utf8;
    BuildTrigger => "build-trigger", oid::FULCIO_BUILD_TRIGGER, Utf8;
    RunInvocationUri => "run-invocation-uri", oid::FULCIO_RUN_INVOCATION_URI, Utf8;
    SourceRepositoryVisibility => "source-repository-visibility-at-signing", oid::FULCIO_SOURCE_REPOSITORY_VISIBILITY, Utf8;
    DeploymentEnvironment => "deployment-environment", oid::FULCIO_DEPLOYMENT_ENVIRONMENT, Utf8;
}

impl FulcioExtension {
    /// The extension a policy key names.
    pub fn from_key(key: &str) -> Option<FulcioExtension> {
        Self::ALL.iter().copied().find(|e| e.key() == key)
    }

    /// Its value in `cert`, decoded as Fulcio encodes it.
    pub fn value_in(self, cert: &Cert) -> Option<String> {
        match self.encoding() {
            Encoding::Raw => cert.raw_string_extension(&self.oid()),
            Encoding::Utf8 => cert.utf8_extension(&self.oid()),
        }
    }
}

/// A Sigstore signer: what its verified certificate says, and when it signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigstoreSigner {
    /// Subject alternative names and issuer (and the v1 workflow claims, also in `extensions`).
    pub identity: Identity,
    /// Every Fulcio extension the certificate carries.
    pub extensions: BTreeMap<FulcioExtension, String>,
    /// The proven signing time (Unix seconds), when one was proven.
    pub signing_time: Option<i64>,
}

impl SigstoreSigner {
    pub fn from_cert(cert: &Cert, signing_time: Option<i64>) -> SigstoreSigner {
        SigstoreSigner {
            identity: Identity::from_cert(cert),
            extensions: FulcioExtension::ALL
                .iter()
                .filter_map(|&e| Some((e, e.value_in(cert)?)))
                .collect(),
            signing_time,
        }
    }

    /// From what a verification report keeps (SANs, issuer and the v1 workflow claims).
    pub fn from_identity(identity: &Identity, signing_time: Option<i64>) -> SigstoreSigner {
        use FulcioExtension as E;
        let v1 = [
            (E::GithubWorkflowTrigger, &identity.github_workflow_trigger),
            (E::GithubWorkflowSha, &identity.github_workflow_sha),
            (E::GithubWorkflowName, &identity.github_workflow_name),
            (
                E::GithubWorkflowRepository,
                &identity.github_workflow_repository,
            ),
            (E::GithubWorkflowRef, &identity.github_workflow_ref),
        ];
        SigstoreSigner {
            identity: identity.clone(),
            extensions: v1
                .into_iter()
                .filter_map(|(e, v)| Some((e, v.clone()?)))
                .collect(),
            signing_time,
        }
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
    /// The key that verified (OpenSSH public key text, `ssh-ed25519 AAAA…`), the principal
    /// it verified for, and the signing time.
    Ssh {
        key: String,
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
            Signer::Ssh { key, principal, .. } => {
                // Type and the start of the key: enough to tell keys apart in a message.
                let short: String = key.chars().take(40).collect();
                let ellipsis = if key.chars().count() > 40 { "…" } else { "" };
                write!(f, "SSH key {short}{ellipsis} (principal '{principal}')")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_table_names_each_fulcio_claim_once() {
        let mut keys: Vec<&str> = FulcioExtension::ALL.iter().map(|e| e.key()).collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "keys are unique");
        assert_eq!(n, 20, "1.2–1.6 and 1.9–1.23");
        for e in FulcioExtension::ALL {
            assert_eq!(FulcioExtension::from_key(e.key()), Some(*e));
            let arc = e.oid().to_string();
            let last: u32 = arc
                .rsplit('.')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("a numeric last arc");
            assert!(
                arc.starts_with("1.3.6.1.4.1.57264.1."),
                "{arc} is a Fulcio OID"
            );
            assert_eq!(
                e.encoding() == Encoding::Raw,
                last <= 6,
                "{arc}: 1.1–1.6 are raw strings, 1.8 on DER UTF8Strings (oid-info.md)"
            );
        }
        assert_eq!(
            FulcioExtension::SourceRepositoryVisibility
                .oid()
                .to_string(),
            "1.3.6.1.4.1.57264.1.22"
        );
        assert_eq!(
            FulcioExtension::from_key("issuer"),
            None,
            "the issuer is not an extension constraint"
        );
    }

    #[test]
    fn a_report_identity_carries_its_v1_claims() {
        let id = Identity {
            sans: vec!["https://github.com/acme/app/.github/workflows/r.yml@refs/tags/v1".into()],
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            github_workflow_repository: Some("acme/app".into()),
            ..Identity::default()
        };
        let s = SigstoreSigner::from_identity(&id, Some(5));
        assert_eq!(
            s.extensions.get(&FulcioExtension::GithubWorkflowRepository),
            Some(&"acme/app".to_string())
        );
        assert_eq!(s.extensions.len(), 1, "absent claims stay absent");
        assert_eq!(Signer::Sigstore(s).time(), Some(5));
    }

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
        let get = |e: FulcioExtension| signer.extensions.get(&e).map(String::as_str);
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
        assert_eq!(signer.extensions.len(), 19, "1.2–1.6 and 1.9–1.22");

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
