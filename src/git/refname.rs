//! Which ref a range of revisions is about, so a policy's rule for that ref can judge it:
//! [`tip_of`] picks the revision a range ends at (`A..B`, `A...B`, `B`), [`full_name`] the
//! full ref name that revision names as git would resolve it (`main` → `refs/heads/main`,
//! `v1.0` → `refs/tags/v1.0`, `HEAD` → the branch it is on). An object id, an expression
//! (`main~2`) or a detached HEAD names no ref.

/// The revision the range `specs` ends at: the right side of the last `A..B` or `A...B`
/// (`HEAD` when empty, as git reads `A..`), else the last argument that is not an exclusion
/// (`^A`) nor an option.
pub fn tip_of(specs: &[String]) -> Option<&str> {
    let last = specs
        .iter()
        .rev()
        .find(|s| !s.starts_with('^') && !s.starts_with('-'))?;
    let tip = match last.split_once("...").or_else(|| last.split_once("..")) {
        Some((_, "")) => "HEAD",
        Some((_, right)) => right,
        None => last.as_str(),
    };
    Some(tip)
}

#[derive(Debug, thiserror::Error)]
#[error("looking up the ref '{name}'")]
pub struct RefNameError {
    name: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// The full ref name `rev` names in `repo`, or `None` when it names no ref (an id, an
/// expression, a detached HEAD).
pub fn full_name(repo: &gix::Repository, rev: &str) -> Result<Option<String>, RefNameError> {
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| RefNameError {
        name: rev.to_owned(),
        source: e,
    };
    if rev == "HEAD" || rev == "@" {
        return repo
            .head_name()
            .map(|n| n.map(|n| n.as_bstr().to_string()))
            .map_err(|e| fail(Box::new(e)));
    }
    // Revision expressions name commits, not refs.
    if rev.is_empty() || rev.contains(['~', '^', ':', '@', ' ']) {
        return Ok(None);
    }
    let Ok(partial) = <&gix::refs::PartialNameRef>::try_from(rev) else {
        return Ok(None);
    };
    let found = repo
        .try_find_reference(partial)
        .map_err(|e| fail(Box::new(e)))?;
    Ok(found.map(|r| r.name().as_bstr().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_tip_is_the_right_side_of_the_range() {
        assert_eq!(tip_of(&specs(&["main"])), Some("main"));
        assert_eq!(tip_of(&specs(&["v1.0..main"])), Some("main"));
        assert_eq!(tip_of(&specs(&["v1.0...topic"])), Some("topic"));
        assert_eq!(tip_of(&specs(&["origin/main.."])), Some("HEAD"));
        assert_eq!(tip_of(&specs(&["main", "^v1.0"])), Some("main"));
        assert_eq!(tip_of(&specs(&["^v1.0"])), None);
        assert_eq!(tip_of(&[]), None);
    }

    fn git(dir: &std::path::Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "A")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "A")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .current_dir(dir)
            .args(args)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn names_resolve_as_git_resolves_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        git(d, &["commit", "-q", "--allow-empty", "-m", "one"]);
        git(d, &["tag", "v1.0"]);
        git(d, &["branch", "topic"]);
        let repo = gix::open(d).expect("opens");
        let name = |r: &str| full_name(&repo, r).expect("looks up");
        assert_eq!(name("main").as_deref(), Some("refs/heads/main"));
        assert_eq!(name("v1.0").as_deref(), Some("refs/tags/v1.0"));
        assert_eq!(name("heads/topic").as_deref(), Some("refs/heads/topic"));
        assert_eq!(name("refs/tags/v1.0").as_deref(), Some("refs/tags/v1.0"));
        assert_eq!(
            name("HEAD").as_deref(),
            Some("refs/heads/main"),
            "the branch HEAD is on"
        );
        assert_eq!(name("main~1"), None, "an expression names no ref");
        assert_eq!(name("nosuch"), None);
        git(d, &["checkout", "-q", "--detach"]);
        let repo = gix::open(d).expect("opens");
        assert_eq!(
            full_name(&repo, "HEAD").expect("looks up"),
            None,
            "a detached HEAD names no ref"
        );
    }
}
