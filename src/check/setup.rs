//! What signatures are verified against, built once per command into one value: the trust
//! root, the checks waived, and whether (and how) Rekor may be asked for online-mode proofs.
//! Plain data: the loaders that read files, git config and the environment to build it sit at
//! the edge (`cli::setup`).

use crate::openpgp::Keyring;
use crate::proofs::Rekor;
use crate::ssh::{AllowedSigners, Revoked};
use crate::trust::TrustedRoot;
use crate::verify::{sct::DetachedSct, Verifier, Waivers};

/// The verification settings of one command.
pub struct VerifySetup {
    /// The trusted root: Fulcio CAs, Rekor and CT log keys, timestamp authorities.
    pub root: TrustedRoot,
    /// What kept facts depend on of the trust root ([`crate::facts::Depends`]): a digest of
    /// what it was built from (`cli::setup::TrustInputs::digest`), known before it is parsed.
    pub root_digest: [u8; 32],
    /// The checks the user waived (`--insecure-ignore-tlog`, `--insecure-ignore-sct`).
    pub waivers: Waivers,
    /// Whether online-mode signatures may be looked up ([`Rekor::from_config`]).
    pub rekor: Rekor,
    /// The SCT for leaf certificates that embed none (`--sct FILE`).
    pub detached_sct: Option<DetachedSct>,
    /// The keys OpenPGP and SSH signatures are checked against.
    pub keys: Keys,
}

/// The keys OpenPGP and SSH signatures are checked against, parsed once per command and
/// shared by the first pass on every core. Empty by default: every such signature is then by
/// an unknown key.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// `--openpgp-keys FILE`… (never GnuPG's keyring).
    pub openpgp: Keyring,
    /// git's allowed signers (`--ssh-allowed-signers`, `gpg.ssh.allowedSignersFile`).
    pub ssh_allowed: AllowedSigners,
    /// git's revoked SSH keys (`gpg.ssh.revocationFile`).
    pub ssh_revoked: Revoked,
}

impl VerifySetup {
    /// The verifier of these settings.
    pub fn verifier(&self) -> Verifier<'_> {
        Verifier::new(&self.root, self.waivers).with_detached_sct(self.detached_sct.as_ref())
    }
}
