//! What a rule makes of a verification report (`gitsign verify --policy`): the signature
//! must verify, and its signer must be admitted by one of the rule's authorities. Pure.
//!
//! The report comes from a verification with an empty identity policy (one verification
//! serves any rule). A good report whose signer no authority admits becomes bad, with the
//! refusal as its failure (code `identity_mismatch`, as `--certificate-identity` gives); a
//! good report an authority admits stays good and names that authority; bad and undecided
//! reports are left as they are (a rule cannot make a bad signature good).

use super::judge::KeyFormats;
use super::{AuthorityTally, Rule, Signer, SigstoreSigner};
use crate::verify::{Failure, Outcome, Report};

impl Rule {
    /// Judge `report` under the rule; `signer` is who the verifier says signed (`None`: the
    /// report's Sigstore certificate, at the time its anchor proves). Returns the name of the
    /// authority that admitted a good signer, and counts the verdict in `tally`.
    pub fn judge_report(
        &self,
        report: &mut Report,
        signer: Option<Signer>,
        keys: &dyn KeyFormats,
        tally: &mut AuthorityTally,
    ) -> Option<String> {
        if report.outcome != Outcome::Good {
            return None;
        }
        let signer = signer.or_else(|| SigstoreSigner::from_report(report).map(Signer::Sigstore));
        let Some(signer) = signer else {
            // Good, yet no signer: nothing an authority could admit.
            report.outcome = Outcome::Bad(Failure::Policy(
                crate::verify::policy::PolicyError::IdentityMismatch {
                    got: "no identity".into(),
                    want: "a signer one of the rule's authorities admits".into(),
                },
            ));
            tally.refused();
            return None;
        };
        match self.admit(&signer, keys) {
            Ok(authority) => {
                tally.accepted(authority);
                Some(authority.name.clone())
            }
            Err(refusal) => {
                report.outcome = Outcome::Bad(Failure::Policy(refusal));
                tally.refused();
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::judge::NoKeyFormats;
    use crate::policy::{NoFiles, PolicyFile};
    use crate::verify::policy::Identity;
    use crate::verify::{Anchor, EntrySource};

    fn report(outcome: Outcome, who: &str, issuer: &str, time: i64) -> Report {
        Report {
            outcome,
            identity: Some(Identity {
                sans: vec![who.into()],
                issuer: Some(issuer.into()),
                ..Identity::default()
            }),
            cert: None,
            anchor: Some(Anchor::Tlog {
                log_index: 1,
                integrated_time: time,
                log_url: String::new(),
                source: EntrySource::Embedded,
            }),
            // The signer's own claim: never what validity bounds are checked against.
            signing_time: Some(0),
        }
    }

    #[test]
    fn good_reports_are_kept_only_when_an_authority_admits_the_signer() {
        let p = PolicyFile::parse(
            "[authority.people]\nsigstore = [{ identity = 'alice@example.com', issuer = 'https://accounts.google.com', valid-after = 2020-01-01T00:00:00Z }]\n[[rule]]\nrefs = ['refs/heads/main']\nauthorities = ['people']\n",
            "p",
            &NoFiles,
        )
        .expect("parses");
        let rule = p.rule_for("refs/heads/main").expect("rule");
        let mut tally = AuthorityTally::for_rule(rule);
        let google = "https://accounts.google.com";

        let mut good = report(Outcome::Good, "alice@example.com", google, 1_700_000_000);
        assert_eq!(
            rule.judge_report(&mut good, None, &NoKeyFormats, &mut tally),
            Some("people".into())
        );
        assert_eq!(good.outcome, Outcome::Good);

        let mut early = report(Outcome::Good, "alice@example.com", google, 1_500_000_000);
        assert_eq!(
            rule.judge_report(&mut early, None, &NoKeyFormats, &mut tally),
            None
        );
        assert_eq!(
            early.outcome.code(),
            Some("identity_mismatch"),
            "the proven time is before valid-after"
        );

        let mut wrong = report(Outcome::Good, "mallory@example.com", google, 1_700_000_000);
        rule.judge_report(&mut wrong, None, &NoKeyFormats, &mut tally);
        match &wrong.outcome {
            Outcome::Bad(f) => assert_eq!(
                f.to_string(),
                "identity mismatch: certificate names 'mallory@example.com', policy wants 'alice@example.com'"
            ),
            other => panic!("a signer no authority admits is bad: {other:?}"),
        }

        let mut bad = report(
            Outcome::Bad(Failure::Unsigned),
            "alice@example.com",
            google,
            1_700_000_000,
        );
        assert_eq!(
            rule.judge_report(&mut bad, None, &NoKeyFormats, &mut tally),
            None
        );
        assert_eq!(
            bad.outcome,
            Outcome::Bad(Failure::Unsigned),
            "a bad report stays as it was"
        );
        assert_eq!(tally.text(), "authorities: people 1; admitted by none: 2");
    }
}
