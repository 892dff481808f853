//! What signatures are verified against, built once per command into one value: the trust
//! root, the checks waived, and whether (and how) Rekor may be asked for online-mode proofs.
//! Plain data: the loaders that read files, git config and the environment to build it sit at
//! the edge (`cli::setup`).

use crate::proofs::Rekor;
use crate::trust::TrustedRoot;
use crate::verify::{sct::DetachedSct, Verifier, Waivers};

/// The verification settings of one command.
pub struct VerifySetup {
    /// The trusted root: Fulcio CAs, Rekor and CT log keys, timestamp authorities.
    pub root: TrustedRoot,
    /// The checks the user waived (`--insecure-ignore-tlog`, `--insecure-ignore-sct`).
    pub waivers: Waivers,
    /// Whether online-mode signatures may be looked up ([`Rekor::from_config`]).
    pub rekor: Rekor,
    /// The SCT for leaf certificates that embed none (`--sct FILE`).
    pub detached_sct: Option<DetachedSct>,
}

impl VerifySetup {
    /// The verifier of these settings.
    pub fn verifier(&self) -> Verifier<'_> {
        Verifier::new(&self.root, self.waivers).with_detached_sct(self.detached_sct.as_ref())
    }
}
