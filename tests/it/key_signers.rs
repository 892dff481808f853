//! Real OpenPGP and SSH signers for the policy tests: keys made here by `gpg` (batch, in a
//! temporary GNUPGHOME) and `ssh-keygen`, and commits signed with them by `git` itself
//! (`gpg.format openpgp` / `ssh`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{output, TestRepo};

/// A GnuPG home and a directory of SSH keys; the GnuPG agent is stopped when dropped.
pub struct Signers {
    gnupg: tempfile::TempDir,
    ssh: tempfile::TempDir,
}

impl Signers {
    /// `None`, having said `skipped:`, when `gpg` or `ssh-keygen` cannot make keys here.
    pub fn new() -> Option<Signers> {
        let gnupg = tempfile::tempdir().expect("gnupg home");
        std::fs::set_permissions(
            gnupg.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("chmod gnupg home");
        let signers = Signers {
            gnupg,
            ssh: tempfile::tempdir().expect("ssh key dir"),
        };
        for (program, arg) in [("gpg", "--version"), ("ssh-keygen", "-?")] {
            if Command::new(program).arg(arg).output().is_err() {
                eprintln!("skipped: {program} is not installed");
                return None;
            }
        }
        Some(signers)
    }

    fn gpg(&self) -> Command {
        let mut c = Command::new("gpg");
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GNUPGHOME", self.gnupg.path())
            .env("LC_ALL", "C")
            .args([
                "--batch",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ]);
        c
    }

    /// A new OpenPGP key for `name@example.com` that signs: its primary fingerprint.
    pub fn openpgp(&self, name: &str) -> String {
        let uid = format!("{name} <{name}@example.com>");
        let (code, _, err) =
            output(
                self.gpg()
                    .args(["--quick-gen-key", &uid, "ed25519", "sign", "never"]),
            );
        assert_eq!(code, 0, "gpg makes {name}'s key: {err}");
        let (_, out, _) = output(self.gpg().args([
            "--with-colons",
            "--list-keys",
            &format!("<{name}@example.com>"),
        ]));
        out.lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .expect("the new key's fingerprint")
            .to_owned()
    }

    /// The armored public key of `fingerprint`, as `gpg --armor --export` writes it.
    pub fn export(&self, fingerprint: &str) -> String {
        let (code, out, err) = output(self.gpg().args(["--armor", "--export", fingerprint]));
        assert_eq!(code, 0, "gpg exports {fingerprint}: {err}");
        out
    }

    /// A new ed25519 SSH key for `name`: the private key's path and the public key line.
    pub fn ssh(&self, name: &str) -> (PathBuf, String) {
        let key = self.ssh.path().join(name);
        let (code, _, err) = output(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
                .arg(&key),
        );
        assert_eq!(code, 0, "ssh-keygen makes {name}'s key: {err}");
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
        (key, public.trim().to_owned())
    }

    /// An empty commit on `repo`'s current branch signed by `git commit -S` in OpenPGP with
    /// the key `fingerprint`: its id.
    pub fn commit_openpgp(&self, repo: &TestRepo, fingerprint: &str, message: &str) -> String {
        self.commit(repo, "openpgp", fingerprint, message)
    }

    /// [`Self::commit_openpgp`] with the SSH private key at `key`.
    pub fn commit_ssh(&self, repo: &TestRepo, key: &Path, message: &str) -> String {
        self.commit(repo, "ssh", key.to_str().expect("utf-8 path"), message)
    }

    fn commit(&self, repo: &TestRepo, format: &str, key: &str, message: &str) -> String {
        let (code, _, err) = output(
            repo.cmd("git")
                .env("GNUPGHOME", self.gnupg.path())
                .args(["-c", &format!("gpg.format={format}")])
                .args(["-c", &format!("user.signingkey={key}")])
                .args(["commit", "-q", "--allow-empty", "-S", "-m", message]),
        );
        assert_eq!(code, 0, "git commit -S ({format}) succeeds: {err}");
        repo.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }
}

impl Drop for Signers {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.gnupg.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}
