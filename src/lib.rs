//! gitsign: keyless signing and verification of git commits and tags with Sigstore.
//!
//! The modules follow the pipeline, from git's argv to a verdict:
//!
//! - [`cli`]: argv (clap, and git's gpg-style invocation), exit codes, error rendering.
//! - [`config`]: one typed key table — default < git config < `SIGSTORE_*` < `GITSIGN_*` < flag;
//!   [`config::git`] reads git's configuration as git does and finds the repository once.
//! - [`docs`]: what each setting means; the README table and man pages are generated from it.
//! - [`git`]: raw commit/tag bytes, the signed payload / signature split, revision ranges.
//! - [`pem`], [`cms`]: the PEM `SIGNED MESSAGE` armor and CMS SignedData (RFC 5652): reader
//!   (`cms::decode`), encoder (`cms::encode`), attached signatures.
//! - [`openpgp`], [`ssh`]: OpenPGP and SSH (SSHSIG) signatures of commits and tags, verified
//!   natively against configured keys (an OpenPGP key ring; git's allowed signers and
//!   revocation files).
//! - [`trust`]: the Sigstore trusted root (Fulcio CAs, Rekor and CT log keys, TSAs).
//! - [`tuf`]: the trusted root and signing config kept current through TUF (`gitsign initialize`).
//! - [`crypto`]: public keys and signature checks; [`key`]: the ephemeral signing key.
//! - [`x509`]: the certificate model (fields decoded once, Fulcio extensions) and the one path
//!   validator for Fulcio and timestamp authority chains (`x509::chain`, rules per use).
//! - [`memo`]: facts proven once per process (signature checks keyed on full inputs).
//! - [`der`], [`oid`], [`encoding`]: the DER reader and writer, every OID once, the one hex and
//!   RFC 3339 codec.
//! - [`verify`]: the [`verify::Verifier`] (trust root and waivers): chain at the anchored time,
//!   SCT, transparency log ([`verify::tlog`]: entry and SET, embedded codec, Merkle,
//!   checkpoint; [`verify::tlog_v2`]: Rekor v2 entries), timestamps, identity policy.
//! - [`http`], [`oidc`], [`fulcio`], [`rekor`], [`tsa`]: the network edges of signing (identity
//!   token, certificate, transparency log, timestamp), each verifying what it receives against
//!   the trust root.
//! - [`proofs`]: online-mode Rekor lookups and the proofs they find, kept in a cache and git notes.
//! - [`facts`]: what verifying an object proved, kept per repository (one append-only store)
//!   so verifying it again under the same trust costs no cryptography.
//! - [`check`]: the verification driver every verifying command calls: the first pass per
//!   signature format, the online proofs and the merge, once, streamed per chunk of a range;
//!   [`check::VerifySetup`], the verification settings built once (loaded by `cli::setup`);
//!   [`check::KeyFiles`], a policy's OpenPGP and SSH key files as the formats read them.
//! - [`sign`]: the signing pipeline (`sign::flow`) and the gpg algorithm ids git is told.
//! - [`policy`]: the policy language — authorities (Sigstore identities bound to issuers,
//!   OpenPGP key files, SSH allowed-signers files) and rules giving refs to them — its parser
//!   (key files read through a [`policy::FileSource`]) and its judge ([`policy::Rule::admit`]);
//!   a committed policy's evolution from its anchor ([`policy::history`]).
//! - [`hook`]: the push decision of `gitsign hook`: policy file, per-ref plan, verdict
//!   (`hook::decide`), and the verified facts kept in the receiving repository.
//! - [`attest`]: in-toto attestations about commits and trees (DSSE), stored as Go gitsign
//!   stores them under `refs/attestations/`, and the SLSA verification summary (VSA) of a
//!   `gitsign verify` run.
//! - [`cache`]: the credential cache (daemon, client, keyring store) so one login serves
//!   many signatures.
//! - [`gpg_status`]: `[GNUPG:]` status lines for git.
//! - [`hardening`]: no core dumps while secrets are in memory.
//! - [`fsutil`]: the one way to read (no-follow, regular, capped) and write (atomic, private
//!   when asked) the files gitsign keeps.
//! - [`platform`]: what differs between operating systems in where a user's files are (home).
//! - [`text`]: the escaper for untrusted text (certificates, bundles, servers, git) before it is shown.
//! - [`wildcard`]: the one `*`/`?` matcher (a policy's ref globs, allowed signers' patterns).
//! - [`ui`]: human output on stderr.
//!
//! Layers (a module imports only from its own layer's left or from layers below; no cycles):
//!
//! 1. base: `encoding`, `oid`, `der`, `memo`, `text`, `wildcard`, `pem`, `http`, `hardening`, `fsutil`, `platform`, `config`;
//! 2. `crypto`, `key`, `x509`, then `cms`, `openpgp`, `ssh`, `trust`, `git`, `tuf`, `oidc`, `gpg_status`, `ui`, `docs`;
//! 3. `verify`;
//! 4. the network edges `fulcio`, `rekor`, `tsa` (they check answers with `verify`'s chain,
//!    SCT, log entry and timestamp checks);
//! 5. `facts`, `policy`, `proofs`, `check`, `hook`, `attest`, `sign`, then `cache` (it signs
//!    with `sign::flow`);
//! 6. `cli`.
//!
//! Pure cores (`git::object`, `cms`, `verify`) take bytes and return values; only `cli`
//! touches the environment, files and stdio.
//!
//! Where to look (one function each):
//!
//! | question | answer |
//! |---|---|
//! | what is checked, in which order | [`verify::Verifier::check_object`] (steps in `verify_into`) |
//! | where the SCT is checked | [`verify::sct::verify_sct`] |
//! | how a certificate path is validated (Fulcio and TSA) | [`x509::chain::path_to`] |
//! | where the Rekor body is rebuilt | [`verify::rekor_body::body_for`] (the signer's upload: [`verify::rekor_body::hashedrekord_body`]) |
//! | how a Rekor v2 entry is told, rebuilt and checked | [`verify::tlog_v2::verify_embedded`] (the upload: [`rekor::v2::upload_entry`]) |
//! | how an online-mode signature is proven | [`proofs::Prover::prove`] |
//! | where check → prove → merge is composed for every verifying command | [`check::Checker::check_where`] (ranges: [`check::Checker::check_range`]) |
//! | which verifier a signature format goes to | [`check::format::first_pass`] |
//! | where the verification settings are chosen | [`cli::setup::verify_setup`] |
//! | what unusable Rekor lookup settings mean | [`proofs::Rekor::from_config`] |
//! | what a push is checked for, per ref | [`hook::plan::plan`] |
//! | what a push is checked for under a committed policy | [`hook::anchored::Anchored::plan`] |
//! | where the hook decides a push | [`hook::decide`] |
//! | which authority admits a signer | [`policy::Rule::admit`] |
//! | whether a policy's key file holds an OpenPGP or SSH signer's key | [`check::KeyFiles`] (`policy::KeyFormats`) |
//! | which committed policy is in force at a commit | [`policy::history::Evolution`] |
//! | how a signer is written as a policy entry | [`policy::init::entry`] (shown after signing and by a flagless verify: [`cli::signers`]) |
//! | whether git's `%G?` is G or U | [`cli::gpg_trust::trust`] |
//! | which exit code an error gets | [`cli::Exit::code`] |
//! | how an OpenPGP or SSH signature is judged | [`openpgp::verify`], [`ssh::verify`] |
//! | how untrusted text is shown | [`text::escape`] |

pub mod attest;
pub mod cache;
pub mod check;
pub mod cli;
pub mod cms;
pub mod config;
pub mod crypto;
pub mod der;
pub mod docs;
pub mod encoding;
pub mod facts;
pub mod fsutil;
pub mod fulcio;
pub mod git;
pub mod gpg_status;
pub mod hardening;
pub mod hook;
pub mod http;
pub mod key;
pub mod memo;
pub mod oid;
pub mod oidc;
pub mod openpgp;
pub mod pem;
pub mod platform;
pub mod policy;
pub mod proofs;
pub mod rekor;
pub mod sign;
pub mod ssh;
pub mod text;
pub mod trust;
pub mod tsa;
pub mod tuf;
pub mod ui;
pub mod verify;
pub mod wildcard;
pub mod x509;

#[cfg(test)]
mod test_env;
