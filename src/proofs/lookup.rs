//! The concurrent Rekor lookup of online-mode objects: per object a
//! `POST /api/v1/index/retrieve` by the SHA-256 of its hex id (falling back to Go gitsign's
//! query by certificate), then the entries of all objects fetched [`rekor::RETRIEVE_BATCH`] at a
//! time with `POST /api/v1/log/entries/retrieve`; `concurrency` requests in flight over one
//! keep-alive agent, each bounded by the client's timeout and retried once, all bounded by a
//! deadline. `scripts/bench-online` measures it against Go gitsign (numbers in the README).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{Config, ConfigError, Key};
use crate::git::object_id::ObjectIds;
use crate::http::Http;
use crate::rekor::{self, Fetched, RekorError};

/// Rekor lookup settings: where, how long per request, how many in flight, overall deadline.
pub struct Lookups {
    http: Http,
    url: String,
    concurrency: usize,
    deadline_secs: u64,
    deadline: Instant,
}

impl Lookups {
    /// `gitsign.rekor`, `gitsign.timeout`, `gitsign.rekorConcurrency`, `gitsign.rekorDeadline`
    /// (and their environment variables); the deadline starts now.
    pub fn from_config(config: &Config) -> Result<Lookups, ConfigError> {
        let timeout = config.seconds(Key::Timeout)?;
        let concurrency = config.count(Key::RekorConcurrency)?.min(256) as usize;
        let deadline_secs = config.count(Key::RekorDeadline)?;
        Ok(Lookups {
            http: Http::new(timeout),
            url: config.text(Key::Rekor).to_owned(),
            concurrency,
            deadline_secs,
            deadline: Instant::now() + Duration::from_secs(deadline_secs),
        })
    }

    /// The Rekor base URL lookups go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Look `wanted` up: one result per object, in order.
    pub fn fetch(&self, wanted: &[Wanted]) -> Vec<Result<Vec<Fetched>, LookupError>> {
        lookup(
            &self.http,
            &self.url,
            wanted,
            self.concurrency,
            self.deadline,
            self.deadline_secs,
        )
    }
}

/// Why a lookup found nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Rekor(#[from] RekorError),
    #[error("the Rekor lookups ran past their overall deadline of {0} s (gitsign.rekorDeadline)")]
    Deadline(u64),
}

/// One object to look up: its ids and its signing certificate (PEM).
#[derive(Debug, Clone)]
pub struct Wanted {
    pub ids: ObjectIds,
    pub cert_pem: String,
}

/// Run `tasks` on `concurrency` threads, each result in its task's slot.
fn run_pool<T: Sync, R: Send>(
    tasks: &[T],
    concurrency: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..tasks.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..concurrency.clamp(1, tasks.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(task) = tasks.get(i) else { break };
                let r = f(task);
                if let Ok(mut slots) = slots.lock() {
                    slots[i] = Some(r);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.expect("every slot is filled because every index below len is taken once"))
        .collect()
}

/// The last 64 characters of a Rekor entry id (an 80-digit id is tree id + UUID), lowercased.
/// Rekor's answer is untrusted: counted in characters, so no text can split one.
fn short_uuid(u: &str) -> String {
    let n = u.chars().count();
    u.chars()
        .skip(n.saturating_sub(64))
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Look every object up in Rekor: per object, the entries that may log it (unverified; the
/// caller verifies), or why none could be fetched.
pub fn lookup(
    http: &Http,
    rekor_url: &str,
    wanted: &[Wanted],
    concurrency: usize,
    deadline: Instant,
    deadline_secs: u64,
) -> Vec<Result<Vec<Fetched>, LookupError>> {
    let past = || Instant::now() >= deadline;
    // 1. Index searches, one object per task.
    let searched: Vec<Result<Vec<String>, LookupError>> = run_pool(wanted, concurrency, |w| {
        let mut uuids = Vec::new();
        for id in w.ids.all() {
            if past() {
                return Err(LookupError::Deadline(deadline_secs));
            }
            let digest = crate::encoding::hex(&crate::crypto::sha256(id.as_bytes()));
            uuids.extend(rekor::search_hash(http, rekor_url, &digest)?);
        }
        if uuids.is_empty() {
            if past() {
                return Err(LookupError::Deadline(deadline_secs));
            }
            uuids = rekor::search_public_key(http, rekor_url, &w.cert_pem)?;
        }
        uuids.sort();
        uuids.dedup();
        Ok(uuids)
    });
    // 2. Batched retrieval of every UUID found.
    let mut all: Vec<String> = searched.iter().flatten().flatten().cloned().collect();
    all.sort_by_key(|u| short_uuid(u));
    all.dedup_by_key(|u| short_uuid(u));
    let batches: Vec<&[String]> = all.chunks(rekor::RETRIEVE_BATCH).collect();
    let fetched = run_pool(&batches, concurrency, |batch| {
        if past() {
            return Err(LookupError::Deadline(deadline_secs));
        }
        rekor::retrieve(http, rekor_url, batch).map_err(LookupError::from)
    });
    let mut by_uuid: HashMap<String, Fetched> = HashMap::new();
    let mut failed: HashMap<String, String> = HashMap::new();
    for (batch, result) in batches.iter().zip(fetched) {
        match result {
            Ok(entries) => {
                for f in entries {
                    by_uuid.insert(short_uuid(&f.uuid), f);
                }
            }
            Err(e) => {
                for u in batch.iter() {
                    failed.insert(short_uuid(u), e.to_string());
                }
            }
        }
    }
    searched
        .into_iter()
        .map(|r| {
            let uuids = r?;
            let mut out = Vec::new();
            for u in &uuids {
                let key = short_uuid(u);
                if let Some(f) = by_uuid.get(&key) {
                    out.push(f.clone());
                } else if let Some(why) = failed.get(&key) {
                    if out.is_empty() {
                        return Err(LookupError::Rekor(RekorError::Malformed(format!(
                            "fetching entry {u} failed: {why}"
                        ))));
                    }
                }
            }
            Ok(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_task_order_and_runs_everything() {
        let tasks: Vec<u32> = (0..100).collect();
        let out = run_pool(&tasks, 7, |t| t * 2);
        assert_eq!(
            out,
            tasks.iter().map(|t| t * 2).collect::<Vec<_>>(),
            "results come back in task order"
        );
        assert!(
            run_pool(&Vec::<u32>::new(), 16, |t| *t).is_empty(),
            "no tasks, no results"
        );
    }

    #[test]
    fn short_uuids_are_the_last_64_characters_whatever_the_text() {
        assert_eq!(short_uuid("0123"), "0123", "short ids are kept whole");
        let long = format!("{}{}", "f".repeat(16), "AB".repeat(32));
        assert_eq!(
            short_uuid(&long),
            "ab".repeat(32),
            "tree id dropped, lowercased"
        );
        // Issue 16.5: a Rekor answer keyed by non-ASCII text used to panic at a char boundary.
        let hostile = format!("{}é{}", "a".repeat(10), "b".repeat(63));
        assert_eq!(short_uuid(&hostile).chars().count(), 64);
        assert_eq!(short_uuid(&"é".repeat(100)), "é".repeat(64));
    }
}
