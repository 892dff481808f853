//! The Fulcio certificate extensions a policy can constrain, in one table (Fulcio
//! `docs/oid-info.md`): 57264.1.2–1.6 hold raw strings (the deprecated GitHub workflow
//! claims), 57264.1.9–1.23 DER UTF8Strings (the provider-generic build and source claims).
//! The issuer (1.1 / 1.8) is [`super::Cert::oidc_issuer`], not in this table.

use const_oid::ObjectIdentifier;

use super::Cert;
use crate::oid;

/// How an extension's value is encoded in the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
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

            pub(crate) fn encoding(self) -> Encoding {
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

impl Cert {
    /// Every Fulcio extension in the table that the certificate carries, decoded.
    pub fn fulcio_extensions(&self) -> std::collections::BTreeMap<FulcioExtension, String> {
        FulcioExtension::ALL
            .iter()
            .filter_map(|&e| Some((e, e.value_in(self)?)))
            .collect()
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
}
