//! Sigstore's signing config (`signing_config.v0.2.json`, media type
//! `application/vnd.dev.sigstore.signingconfig.v0.2+json`, protobuf-specs
//! `dev.sigstore.trustroot.v1.SigningConfig`): which Fulcio, OIDC issuer, Rekor logs and
//! timestamp authorities a client should use, and when.
//!
//! Pure: [`parse`] takes bytes, [`select_service`] and [`select_services`] take the services,
//! the API versions the caller speaks and the current time. The selection follows the
//! specification and sigstore-go (`pkg/root/signing_config.go`): keep the services of a
//! supported major API version that are valid now (start and end inclusive, either open),
//! prefer the highest version, then the newest start; with several operators, one service
//! per operator; then the selector: `ALL` every one, `ANY` one, `EXACT` `count` of them.
//! Where sigstore-go picks at random (`ANY`, `EXACT`), we take the first ones in that order,
//! so a selection is reproducible (any choice satisfies the specification).

use serde::Deserialize;

pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// One service endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub url: String,
    pub major_api_version: u32,
    /// Unix seconds; `None` is open.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub operator: String,
}

impl Service {
    /// Valid at `now`: not before the start, not after the end (both inclusive).
    pub fn valid_at(&self, now: i64) -> bool {
        self.start.is_none_or(|s| now >= s) && self.end.is_none_or(|e| now <= e)
    }
}

/// How many of the selected services a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    All,
    Any,
    Exact(u32),
}

/// A parsed signing config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningConfig {
    pub ca: Vec<Service>,
    pub oidc: Vec<Service>,
    pub rekor: Vec<Service>,
    pub tsa: Vec<Service>,
    /// `None` when the config has no `rekorTlogConfig`.
    pub rekor_selector: Option<Selector>,
    pub tsa_selector: Option<Selector>,
}

/// Which list of services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ca,
    Oidc,
    Rekor,
    Tsa,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Ca => "caUrls",
            Kind::Oidc => "oidcUrls",
            Kind::Rekor => "rekorTlogUrls",
            Kind::Tsa => "tsaUrls",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningConfigError {
    #[error("the signing config is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error("the signing config has media type '{0}', expected '{MEDIA_TYPE}'")]
    MediaType(String),
    #[error("{kind} has a service with an invalid URL '{url}' (expected http:// or https://)")]
    Url { kind: Kind, url: String },
    #[error("{kind} has a service with an invalid time '{time}' (expected RFC 3339)")]
    Time { kind: Kind, time: String },
    #[error("{kind} has a service whose validity ends before it starts ('{url}')")]
    Window { kind: Kind, url: String },
    #[error("{0} has an unknown selector '{1}' (expected ALL, ANY or EXACT)")]
    Selector(&'static str, String),
    #[error("{0} selects EXACT with count 0")]
    ZeroCount(&'static str),
    #[error("{kind} has no service for API version(s) {versions:?} valid at {}", crate::encoding::rfc3339(*.now))]
    NoService {
        kind: Kind,
        versions: Vec<u32>,
        now: i64,
    },
    #[error("{kind} has no selector ({kind} config missing)")]
    NoSelector { kind: Kind },
    #[error("{kind} selects EXACT {count} but only {available} service(s) qualify")]
    TooFew {
        kind: Kind,
        count: u32,
        available: usize,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    media_type: String,
    #[serde(default, alias = "ca_urls")]
    ca_urls: Vec<RawService>,
    #[serde(default, alias = "oidc_urls")]
    oidc_urls: Vec<RawService>,
    #[serde(default, alias = "rekor_tlog_urls")]
    rekor_tlog_urls: Vec<RawService>,
    #[serde(default, alias = "tsa_urls")]
    tsa_urls: Vec<RawService>,
    #[serde(default, alias = "rekor_tlog_config")]
    rekor_tlog_config: Option<RawConfig>,
    #[serde(default, alias = "tsa_config")]
    tsa_config: Option<RawConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawService {
    url: String,
    #[serde(default, alias = "major_api_version")]
    major_api_version: u32,
    #[serde(default, alias = "valid_for")]
    valid_for: Option<RawWindow>,
    #[serde(default)]
    operator: String,
}

#[derive(Deserialize)]
struct RawWindow {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    selector: Option<serde_json::Value>,
    #[serde(default)]
    count: Option<serde_json::Value>,
}

/// Parse and check a signing config: media type v0.2, http(s) URLs, RFC 3339 windows that
/// do not end before they start, known selectors, `EXACT` with a positive count.
pub fn parse(bytes: &[u8]) -> Result<SigningConfig, SigningConfigError> {
    let raw: Raw =
        serde_json::from_slice(bytes).map_err(|e| SigningConfigError::Json(e.to_string()))?;
    if raw.media_type != MEDIA_TYPE {
        return Err(SigningConfigError::MediaType(raw.media_type));
    }
    Ok(SigningConfig {
        ca: services(Kind::Ca, raw.ca_urls)?,
        oidc: services(Kind::Oidc, raw.oidc_urls)?,
        rekor: services(Kind::Rekor, raw.rekor_tlog_urls)?,
        tsa: services(Kind::Tsa, raw.tsa_urls)?,
        rekor_selector: raw
            .rekor_tlog_config
            .map(|c| selector("rekorTlogConfig", c))
            .transpose()?
            .flatten(),
        tsa_selector: raw
            .tsa_config
            .map(|c| selector("tsaConfig", c))
            .transpose()?
            .flatten(),
    })
}

fn services(kind: Kind, raw: Vec<RawService>) -> Result<Vec<Service>, SigningConfigError> {
    raw.into_iter()
        .map(|s| {
            let lower = s.url.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            if rest.is_none_or(str::is_empty) {
                return Err(SigningConfigError::Url { kind, url: s.url });
            }
            let time = |t: Option<String>| {
                t.map(|t| {
                    crate::encoding::parse_rfc3339(&t)
                        .ok_or(SigningConfigError::Time { kind, time: t })
                })
                .transpose()
            };
            let (start, end) = match s.valid_for {
                Some(w) => (time(w.start)?, time(w.end)?),
                None => (None, None),
            };
            if let (Some(a), Some(b)) = (start, end) {
                if b < a {
                    return Err(SigningConfigError::Window { kind, url: s.url });
                }
            }
            Ok(Service {
                url: s.url,
                major_api_version: s.major_api_version,
                start,
                end,
                operator: s.operator,
            })
        })
        .collect()
}

/// A selector in protobuf JSON: the enum name or its number; `None` when unset.
fn selector(field: &'static str, raw: RawConfig) -> Result<Option<Selector>, SigningConfigError> {
    let bad = |v: &serde_json::Value| SigningConfigError::Selector(field, v.to_string());
    let name = match &raw.selector {
        None => return Ok(None),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(0) => "SERVICE_SELECTOR_UNDEFINED".to_owned(),
            Some(1) => "ALL".to_owned(),
            Some(2) => "ANY".to_owned(),
            Some(3) => "EXACT".to_owned(),
            _ => {
                return Err(bad(raw
                    .selector
                    .as_ref()
                    .unwrap_or(&serde_json::Value::Null)))
            }
        },
        Some(v) => return Err(bad(v)),
    };
    let count = match &raw.count {
        None => Some(0),
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        Some(_) => None,
    }
    .and_then(|n| u32::try_from(n).ok())
    .ok_or_else(|| {
        SigningConfigError::Selector(
            field,
            format!("count {}", raw.count.clone().unwrap_or_default()),
        )
    })?;
    match name.as_str() {
        "SERVICE_SELECTOR_UNDEFINED" => Ok(None),
        "ALL" => Ok(Some(Selector::All)),
        "ANY" => Ok(Some(Selector::Any)),
        "EXACT" if count == 0 => Err(SigningConfigError::ZeroCount(field)),
        "EXACT" => Ok(Some(Selector::Exact(count))),
        _ => Err(SigningConfigError::Selector(field, name)),
    }
}

/// The candidates in preference order: for the highest supported version that has any
/// service valid at `now`, those services, newest start first (an open start is oldest).
fn candidates<'a>(services: &'a [Service], versions: &[u32], now: i64) -> Vec<&'a Service> {
    let mut versions = versions.to_vec();
    versions.sort_unstable_by_key(|&v| std::cmp::Reverse(v));
    versions.dedup();
    let mut sorted: Vec<&Service> = services.iter().collect();
    // Stable: services with the same start keep their order in the file.
    sorted.sort_by_key(|s| std::cmp::Reverse(s.start));
    for v in versions {
        let found: Vec<&Service> = sorted
            .iter()
            .copied()
            .filter(|s| s.major_api_version == v && s.valid_at(now))
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// The one service to use (Fulcio, OIDC): the first candidate.
pub fn select_service<'a>(
    kind: Kind,
    services: &'a [Service],
    versions: &[u32],
    now: i64,
) -> Result<&'a Service, SigningConfigError> {
    candidates(services, versions, now)
        .into_iter()
        .next()
        .ok_or_else(|| SigningConfigError::NoService {
            kind,
            versions: versions.to_vec(),
            now,
        })
}

/// The services to use (Rekor, TSA): one per operator among the candidates, then the
/// selector.
pub fn select_services<'a>(
    kind: Kind,
    services: &'a [Service],
    selector: Option<Selector>,
    versions: &[u32],
    now: i64,
) -> Result<Vec<&'a Service>, SigningConfigError> {
    let mut seen = std::collections::BTreeSet::new();
    let picked: Vec<&Service> = candidates(services, versions, now)
        .into_iter()
        .filter(|s| seen.insert(s.operator.as_str()))
        .collect();
    if picked.is_empty() {
        return Err(SigningConfigError::NoService {
            kind,
            versions: versions.to_vec(),
            now,
        });
    }
    match selector {
        None => Err(SigningConfigError::NoSelector { kind }),
        Some(Selector::All) => Ok(picked),
        Some(Selector::Any) => Ok(picked.into_iter().take(1).collect()),
        Some(Selector::Exact(n)) if n as usize > picked.len() => Err(SigningConfigError::TooFew {
            kind,
            count: n,
            available: picked.len(),
        }),
        Some(Selector::Exact(n)) => Ok(picked.into_iter().take(n as usize).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2025-01-01T00:00:00Z and friends, written out by hand.
    const JAN_2025: i64 = 1_735_689_600;
    const JUL_2025: i64 = 1_751_328_000;
    const JAN_2026: i64 = 1_767_225_600;

    fn config(rekor: &str, extra: &str) -> Vec<u8> {
        format!(
            r#"{{"mediaType":"{MEDIA_TYPE}",
              "caUrls":[{{"url":"https://fulcio.example","majorApiVersion":1,"validFor":{{"start":"2025-01-01T00:00:00Z"}},"operator":"a"}}],
              "rekorTlogUrls":[{rekor}]{extra}}}"#
        )
        .into_bytes()
    }

    fn svc(url: &str, v: u32, start: Option<i64>, end: Option<i64>, op: &str) -> Service {
        Service {
            url: url.to_owned(),
            major_api_version: v,
            start,
            end,
            operator: op.to_owned(),
        }
    }

    fn urls(s: &[&Service]) -> Vec<String> {
        s.iter().map(|s| s.url.clone()).collect()
    }

    #[test]
    fn parses_the_v0_2_shape() {
        let c = parse(&config(
            r#"{"url":"https://rekor.example","majorApiVersion":1,"validFor":{"start":"2025-01-01T00:00:00Z","end":"2026-01-01T00:00:00Z"},"operator":"a"}"#,
            r#","rekorTlogConfig":{"selector":"EXACT","count":2},"tsaConfig":{"selector":"ANY"}"#,
        ))
        .expect("a well-formed config parses");
        assert_eq!(
            c.rekor,
            vec![svc(
                "https://rekor.example",
                1,
                Some(JAN_2025),
                Some(JAN_2026),
                "a"
            )]
        );
        assert_eq!(c.ca[0].url, "https://fulcio.example");
        assert_eq!(c.rekor_selector, Some(Selector::Exact(2)));
        assert_eq!(c.tsa_selector, Some(Selector::Any));
        assert!(c.oidc.is_empty() && c.tsa.is_empty());
    }

    #[test]
    fn selectors_by_number_and_undefined() {
        let c = parse(&config("", r#","rekorTlogConfig":{"selector":1},"tsaConfig":{"selector":"SERVICE_SELECTOR_UNDEFINED"}"#)).expect("parses");
        assert_eq!(c.rekor_selector, Some(Selector::All));
        assert_eq!(c.tsa_selector, None);
    }

    #[test]
    fn malformed_configs_are_refused() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"{not json".to_vec(), "not valid JSON"),
            (
                br#"{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.1+json"}"#.to_vec(),
                "media type",
            ),
            (
                config(r#"{"url":"ftp://rekor.example","majorApiVersion":1}"#, ""),
                "invalid URL",
            ),
            (
                config(r#"{"url":"https://","majorApiVersion":1}"#, ""),
                "invalid URL",
            ),
            (
                config(
                    r#"{"url":"https://r","majorApiVersion":1,"validFor":{"start":"yesterday"}}"#,
                    "",
                ),
                "invalid time",
            ),
            (
                config(
                    r#"{"url":"https://r","majorApiVersion":1,"validFor":{"start":"2026-01-01T00:00:00Z","end":"2025-01-01T00:00:00Z"}}"#,
                    "",
                ),
                "ends before",
            ),
            (
                config("", r#","rekorTlogConfig":{"selector":"SOME"}"#),
                "unknown selector",
            ),
            (
                config("", r#","rekorTlogConfig":{"selector":"EXACT"}"#),
                "count 0",
            ),
            (config(r#"{"majorApiVersion":1}"#, ""), "not valid JSON"),
        ];
        for (bytes, want) in cases {
            let err = parse(&bytes).expect_err("malformed").to_string();
            assert!(err.contains(want), "{err:?} should say {want:?}");
        }
    }

    #[test]
    fn validity_is_inclusive_at_both_ends_and_open_when_missing() {
        let s = svc("u", 1, Some(JAN_2025), Some(JAN_2026), "a");
        assert!(!s.valid_at(JAN_2025 - 1));
        assert!(s.valid_at(JAN_2025));
        assert!(s.valid_at(JAN_2026));
        assert!(!s.valid_at(JAN_2026 + 1));
        assert!(svc("u", 1, None, None, "a").valid_at(0));
    }

    #[test]
    fn highest_supported_version_wins_then_newest_start() {
        let s = vec![
            svc("v1-old", 1, Some(JAN_2025), None, "a"),
            svc("v1-new", 1, Some(JUL_2025), None, "a"),
            svc("v2", 2, Some(JAN_2025), None, "a"),
            svc("v3", 3, Some(JAN_2025), None, "a"),
        ];
        let now = JAN_2026;
        assert_eq!(
            select_service(Kind::Rekor, &s, &[1, 2], now).map(|s| s.url.as_str()),
            Ok("v2")
        );
        assert_eq!(
            select_service(Kind::Rekor, &s, &[1], now).map(|s| s.url.as_str()),
            Ok("v1-new")
        );
        // Before the newer v1 started, the older one is the only valid v1.
        assert_eq!(
            select_service(Kind::Rekor, &s, &[1], JAN_2025).map(|s| s.url.as_str()),
            Ok("v1-old")
        );
        assert!(matches!(
            select_service(Kind::Rekor, &s, &[4], now),
            Err(SigningConfigError::NoService { .. })
        ));
        assert!(select_service(Kind::Rekor, &s, &[], now).is_err());
    }

    #[test]
    fn expired_or_future_services_are_skipped() {
        let s = vec![
            svc("v2-expired", 2, Some(JAN_2025), Some(JUL_2025), "a"),
            svc("v2-future", 2, Some(JAN_2026 + 1), None, "a"),
            svc("v1", 1, Some(JAN_2025), None, "a"),
        ];
        assert_eq!(
            select_service(Kind::Rekor, &s, &[1, 2], JAN_2026).map(|s| s.url.as_str()),
            Ok("v1")
        );
        let only_bad = &s[..2];
        assert!(matches!(
            select_services(
                Kind::Rekor,
                only_bad,
                Some(Selector::Any),
                &[1, 2],
                JAN_2026
            ),
            Err(SigningConfigError::NoService {
                kind: Kind::Rekor,
                ..
            })
        ));
    }

    #[test]
    fn one_service_per_operator_then_the_selector() {
        let s = vec![
            svc("a-old", 1, Some(JAN_2025), None, "a"),
            svc("a-new", 1, Some(JUL_2025), None, "a"),
            svc("b", 1, Some(JAN_2025), None, "b"),
            svc("c", 1, Some(JAN_2025 + 60), None, "c"),
        ];
        let now = JAN_2026;
        let all = select_services(Kind::Tsa, &s, Some(Selector::All), &[1], now).expect("ALL");
        assert_eq!(urls(&all), ["a-new", "c", "b"]);
        let any = select_services(Kind::Tsa, &s, Some(Selector::Any), &[1], now).expect("ANY");
        assert_eq!(urls(&any), ["a-new"]);
        let two =
            select_services(Kind::Tsa, &s, Some(Selector::Exact(2)), &[1], now).expect("EXACT");
        assert_eq!(two.len(), 2);
        assert_ne!(two[0].operator, two[1].operator);
        assert!(matches!(
            select_services(Kind::Tsa, &s, Some(Selector::Exact(4)), &[1], now),
            Err(SigningConfigError::TooFew {
                count: 4,
                available: 3,
                ..
            })
        ));
        assert!(matches!(
            select_services(Kind::Tsa, &s, None, &[1], now),
            Err(SigningConfigError::NoSelector { .. })
        ));
    }

    #[test]
    fn operators_come_from_the_highest_version_only() {
        // A v1 log of another operator is not added to the v2 selection.
        let s = vec![
            svc("v2-a", 2, Some(JAN_2025), None, "a"),
            svc("v1-b", 1, Some(JAN_2025), None, "b"),
        ];
        let all =
            select_services(Kind::Rekor, &s, Some(Selector::All), &[1, 2], JAN_2026).expect("ALL");
        assert_eq!(urls(&all), ["v2-a"]);
    }
}
