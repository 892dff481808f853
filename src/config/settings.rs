//! The service URLs signing uses, each with where it came from: set explicitly (a git config
//! key, a `SIGSTORE_*` or `GITSIGN_*` variable, a flag), else Sigstore's signing config from
//! the TUF cache after `gitsign initialize`, else the key table's default.
//!
//! What the signing config provides follows what gitsign needs from it: the Fulcio (`caUrls`)
//! and the Rekor log with its API version (`rekorTlogUrls`, `rekorTlogConfig`). Go gitsign
//! v0.17.1 reads no signing config at all: it always uses the public-good defaults. We take
//! the timestamp authority and the OIDC issuer from explicit settings or the table only, as Go
//! does — a signing config's `tsaUrls` would otherwise add a TSA round trip to every
//! signature of a user who never asked for one, and its `oidcUrls` would change the issuer
//! the browser login goes to.
//!
//! Pure: the caller loads the signing config (see [`crate::tuf::load`]) and passes the time.

use crate::config::{Config, ConfigError, Key, RekorVersion, Source};
use crate::tuf::signing_config::{self, Kind, SigningConfig, SigningConfigError};

/// The Rekor API versions picked from a signing config when `gitsign.rekorVersion` is not
/// set explicitly. Go gitsign v0.17.1 signs with v1 unless `rekorVersion` is set (its
/// `internal/config` defaults the unset value to 1, and it reads no signing config), so we
/// do too: the public-good signing config lists a v2 log, and preferring it would change
/// where every signature goes. Once v2 signing is the default, `&[1, 2]` prefers v2 here
/// (sigstore-go's selection takes the highest version first).
pub const REKOR_VERSIONS_UNSET: &[u32] = &[1];
/// The Fulcio API version we speak.
pub const FULCIO_VERSIONS: &[u32] = &[1];
/// The timestamp authority API version we speak (RFC 3161 over HTTP).
pub const TSA_VERSIONS: &[u32] = &[1];

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A git config key, an environment variable or a flag.
    Explicit(Source),
    /// The signing config of this TUF mirror.
    SigningConfig { mirror: String },
    /// The key table's default.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Explicit(s) => write!(f, "{s}"),
            Origin::SigningConfig { mirror } => write!(f, "signing config (TUF {mirror})"),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A value and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// The signing config of a TUF mirror, as cached by `gitsign initialize`.
#[derive(Debug, Clone, Copy)]
pub struct FromTuf<'a> {
    pub config: &'a SigningConfig,
    pub mirror: &'a str,
}

/// Every service signing talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    pub fulcio: Sourced<String>,
    pub rekor: Sourced<String>,
    pub rekor_version: Sourced<RekorVersion>,
    /// `None`: no timestamp authority.
    pub timestamp: Option<Sourced<String>>,
    pub issuer: Sourced<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot use the signing config of the TUF mirror '{mirror}'")]
    SigningConfig {
        mirror: String,
        #[source]
        source: SigningConfigError,
    },
}

/// The value of `key` when set explicitly (and not to nothing), with its source.
fn explicit(config: &Config, key: Key) -> Option<Sourced<String>> {
    let value = config.get(key)?;
    match config.source(key) {
        None | Some(Source::Default) => None,
        Some(s) => Some(Sourced {
            value: value.to_owned(),
            origin: Origin::Explicit(s.clone()),
        }),
    }
}

fn default(config: &Config, key: Key) -> Sourced<String> {
    Sourced {
        value: config.text(key).to_owned(),
        origin: Origin::Default,
    }
}

fn version_number(v: RekorVersion) -> u32 {
    match v {
        RekorVersion::V1 => 1,
        RekorVersion::V2 => 2,
    }
}

/// Resolve the services at Unix time `now`.
pub fn services(
    config: &Config,
    tuf: Option<FromTuf<'_>>,
    now: i64,
) -> Result<Services, ServicesError> {
    let from_tuf = |mirror: &str| Origin::SigningConfig {
        mirror: mirror.to_owned(),
    };
    let bad = |mirror: &str, source| ServicesError::SigningConfig {
        mirror: mirror.to_owned(),
        source,
    };
    let fulcio = match (explicit(config, Key::Fulcio), tuf) {
        (Some(e), _) => e,
        (None, Some(t)) => {
            let s = signing_config::select_service(Kind::Ca, &t.config.ca, FULCIO_VERSIONS, now)
                .map_err(|e| bad(t.mirror, e))?;
            Sourced {
                value: s.url.clone(),
                origin: from_tuf(t.mirror),
            }
        }
        (None, None) => default(config, Key::Fulcio),
    };
    let version = config.rekor_version()?;
    let explicit_version = explicit(config, Key::RekorVersion).map(|e| Sourced {
        value: version,
        origin: e.origin,
    });
    let (rekor, rekor_version) = match (explicit(config, Key::Rekor), tuf) {
        (Some(e), _) => (
            e,
            explicit_version.unwrap_or(Sourced {
                value: version,
                origin: Origin::Default,
            }),
        ),
        (None, Some(t)) => {
            let wanted = match &explicit_version {
                Some(v) => vec![version_number(v.value)],
                None => REKOR_VERSIONS_UNSET.to_vec(),
            };
            let picked = signing_config::select_services(
                Kind::Rekor,
                &t.config.rekor,
                t.config.rekor_selector,
                &wanted,
                now,
            )
            .map_err(|e| bad(t.mirror, e))?;
            // We log to one Rekor: with ALL or EXACT n, the first (preferred) one.
            let s = picked.first().ok_or_else(|| {
                bad(
                    t.mirror,
                    signing_config::SigningConfigError::NoService {
                        kind: Kind::Rekor,
                        versions: wanted.clone(),
                        now,
                    },
                )
            })?;
            let v = if s.major_api_version == 2 {
                RekorVersion::V2
            } else {
                RekorVersion::V1
            };
            (
                Sourced {
                    value: s.url.clone(),
                    origin: from_tuf(t.mirror),
                },
                explicit_version.unwrap_or(Sourced {
                    value: v,
                    origin: from_tuf(t.mirror),
                }),
            )
        }
        (None, None) => (
            default(config, Key::Rekor),
            explicit_version.unwrap_or(Sourced {
                value: version,
                origin: Origin::Default,
            }),
        ),
    };
    // A Rekor v2 entry carries no signed time, so its signature needs an RFC 3161 timestamp:
    // with Rekor v2 and no timestamp URL set, the signing config's TSA provides it (as
    // sigstore-go's signer takes it from there). With Rekor v1 none is added unless asked, as
    // in Go gitsign.
    let timestamp = match (explicit(config, Key::TimestampServerUrl), tuf) {
        (Some(e), _) => Some(e),
        (None, Some(t)) if rekor_version.value == RekorVersion::V2 && !t.config.tsa.is_empty() => {
            let picked = signing_config::select_services(
                Kind::Tsa,
                &t.config.tsa,
                t.config.tsa_selector,
                TSA_VERSIONS,
                now,
            )
            .map_err(|e| bad(t.mirror, e))?;
            picked.first().map(|s| Sourced {
                value: s.url.clone(),
                origin: from_tuf(t.mirror),
            })
        }
        _ => None,
    };
    Ok(Services {
        fulcio,
        rekor,
        rekor_version,
        timestamp,
        issuer: explicit(config, Key::Issuer).unwrap_or_else(|| default(config, Key::Issuer)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn signing(rekor: &str) -> SigningConfig {
        signing_config::parse(
            format!(
                r#"{{"mediaType":"{}",
                  "caUrls":[{{"url":"https://fulcio.tuf.example","majorApiVersion":1,"validFor":{{"start":"2025-01-01T00:00:00Z"}},"operator":"x"}}],
                  "oidcUrls":[{{"url":"https://oidc.tuf.example","majorApiVersion":1,"validFor":{{"start":"2025-01-01T00:00:00Z"}},"operator":"x"}}],
                  "tsaUrls":[{{"url":"https://tsa.tuf.example","majorApiVersion":1,"validFor":{{"start":"2025-01-01T00:00:00Z"}},"operator":"x"}}],
                  "rekorTlogUrls":[{rekor}],
                  "rekorTlogConfig":{{"selector":"ANY"}},"tsaConfig":{{"selector":"ANY"}}}}"#,
                signing_config::MEDIA_TYPE
            )
            .as_bytes(),
        )
        .expect("the test config parses")
    }

    const V1: &str = r#"{"url":"https://rekor.tuf.example","majorApiVersion":1,"validFor":{"start":"2025-01-01T00:00:00Z"},"operator":"x"}"#;
    const V2: &str = r#"{"url":"https://log2025.tuf.example","majorApiVersion":2,"validFor":{"start":"2025-06-01T00:00:00Z"},"operator":"x"}"#;
    const V2_EXPIRED: &str = r#"{"url":"https://log2024.tuf.example","majorApiVersion":2,"validFor":{"start":"2025-07-01T00:00:00Z","end":"2025-12-01T00:00:00Z"},"operator":"x"}"#;

    fn cfg(git: &[(&str, &str)], env: &[(&str, &str)]) -> Config {
        let git: Vec<(String, String)> = git
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::resolve(&git, |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    fn tuf(c: &SigningConfig) -> Option<FromTuf<'_>> {
        Some(FromTuf {
            config: c,
            mirror: "http://127.0.0.1:1/tuf",
        })
    }

    #[test]
    fn without_tuf_the_table_defaults_apply() {
        let s = services(&cfg(&[], &[]), None, NOW).expect("resolves");
        assert_eq!(s.fulcio.value, "https://fulcio.sigstore.dev");
        assert_eq!(s.rekor.value, "https://rekor.sigstore.dev");
        assert_eq!(s.rekor_version.value, RekorVersion::V1);
        assert_eq!(s.fulcio.origin, Origin::Default);
        assert_eq!(s.rekor.origin.to_string(), "default");
        assert_eq!(s.issuer.value, "https://oauth2.sigstore.dev/auth");
        assert_eq!(s.timestamp, None);
    }

    #[test]
    fn the_signing_config_fills_what_is_not_explicit() {
        let sc = signing(V1);
        let s = services(&cfg(&[], &[]), tuf(&sc), NOW).expect("resolves");
        assert_eq!(s.fulcio.value, "https://fulcio.tuf.example");
        assert_eq!(s.rekor.value, "https://rekor.tuf.example");
        assert_eq!(s.rekor_version.value, RekorVersion::V1);
        assert_eq!(
            s.fulcio.origin.to_string(),
            "signing config (TUF http://127.0.0.1:1/tuf)"
        );
        // As Go gitsign: with Rekor v1 no TSA, and no issuer, from the signing config.
        assert_eq!(s.timestamp, None);
        assert_eq!(s.issuer.value, "https://oauth2.sigstore.dev/auth");
        assert_eq!(s.issuer.origin, Origin::Default);
    }

    #[test]
    fn explicit_settings_win_over_the_signing_config() {
        let sc = signing(V1);
        let c = cfg(
            &[("gitsign.fulcio", "https://fulcio.git.example")],
            &[("SIGSTORE_REKOR_URL", "https://rekor.env.example")],
        );
        let s = services(&c, tuf(&sc), NOW).expect("resolves");
        assert_eq!(s.fulcio.value, "https://fulcio.git.example");
        assert_eq!(s.fulcio.origin.to_string(), "git config gitsign.fulcio");
        assert_eq!(s.rekor.value, "https://rekor.env.example");
        assert_eq!(s.rekor.origin.to_string(), "SIGSTORE_REKOR_URL");
        assert_eq!(s.rekor_version.value, RekorVersion::V1);
    }

    #[test]
    fn set_to_nothing_is_not_explicit() {
        let sc = signing(V1);
        let s = services(&cfg(&[("gitsign.fulcio", "")], &[]), tuf(&sc), NOW).expect("resolves");
        assert_eq!(s.fulcio.value, "https://fulcio.tuf.example");
    }

    #[test]
    fn rekor_v1_unless_v2_is_asked_for_as_go_gitsign() {
        let sc = signing(&format!("{V1},{V2}"));
        let s = services(&cfg(&[], &[]), tuf(&sc), NOW).expect("resolves");
        assert_eq!(s.rekor.value, "https://rekor.tuf.example");
        assert_eq!(s.rekor_version.value, RekorVersion::V1);
        assert!(matches!(
            s.rekor_version.origin,
            Origin::SigningConfig { .. }
        ));

        let c = cfg(&[("gitsign.rekorVersion", "2")], &[]);
        let s = services(&c, tuf(&sc), NOW).expect("resolves");
        assert_eq!(s.rekor.value, "https://log2025.tuf.example");
        assert_eq!(s.rekor_version.value, RekorVersion::V2);
        assert_eq!(
            s.rekor_version.origin.to_string(),
            "git config gitsign.rekorVersion"
        );
        let tsa = s
            .timestamp
            .expect("Rekor v2 takes the signing config's TSA");
        assert_eq!(tsa.value, "https://tsa.tuf.example");
        assert!(matches!(tsa.origin, Origin::SigningConfig { .. }));

        let c = cfg(
            &[
                ("gitsign.rekorVersion", "2"),
                ("gitsign.timestampServerURL", "https://tsa.git.example"),
            ],
            &[],
        );
        let s = services(&c, tuf(&sc), NOW).expect("resolves");
        assert_eq!(
            s.timestamp.map(|t| t.value).as_deref(),
            Some("https://tsa.git.example"),
            "an explicit TSA wins"
        );
    }

    #[test]
    fn an_expired_log_is_skipped_and_none_left_is_an_error() {
        let v2 = cfg(&[("gitsign.rekorVersion", "2")], &[]);
        let sc = signing(&format!("{V2_EXPIRED},{V2},{V1}"));
        let s = services(&v2, tuf(&sc), NOW).expect("resolves");
        assert_eq!(s.rekor.value, "https://log2025.tuf.example");

        let sc = signing(&format!("{V2_EXPIRED},{V1}"));
        let err = services(&v2, tuf(&sc), NOW).expect_err("no valid v2 log");
        assert!(matches!(
            err,
            ServicesError::SigningConfig {
                source: SigningConfigError::NoService {
                    kind: Kind::Rekor,
                    ..
                },
                ..
            }
        ));
        // An explicit Rekor does not need the signing config's.
        let c = cfg(&[("gitsign.rekor", "https://rekor.git.example")], &[]);
        assert!(services(&c, tuf(&sc), NOW).is_ok());
    }
}
