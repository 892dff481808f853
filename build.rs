//! Records the commit gitsign is built from for `gitsign version` (GITSIGN_BUILD_COMMIT, else
//! `git rev-parse HEAD` when building from a checkout, else nothing).

fn main() {
    println!("cargo:rerun-if-env-changed=GITSIGN_BUILD_COMMIT");
    let commit = std::env::var("GITSIGN_BUILD_COMMIT").ok().or_else(|| {
        let out = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()?;
        let sha = String::from_utf8(out.stdout).ok()?;
        let sha = sha.trim();
        (out.status.success() && sha.len() >= 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| sha.to_owned())
    });
    if let Some(c) = commit {
        println!("cargo:rustc-env=GITSIGN_BUILD_COMMIT={c}");
    }
}
