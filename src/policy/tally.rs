//! How many signatures each authority of a rule accepted over a range, and how many no
//! authority did: the line a range verification ends with, in text and JSON. Every authority
//! of the rule has a row, zero included (an authority that signed nothing is news too).

use super::{Authority, Rule};

/// Accepted signatures per authority of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorityTally {
    /// (authority name, signatures it accepted), in the rule's order.
    pub rows: Vec<(String, usize)>,
    /// Verified signatures that no authority of the rule admits.
    pub admitted_by_none: usize,
}

impl AuthorityTally {
    /// A zero row for each of `rule`'s authorities.
    pub fn for_rule(rule: &Rule) -> AuthorityTally {
        AuthorityTally {
            rows: rule
                .authorities
                .iter()
                .map(|a| (a.name.clone(), 0))
                .collect(),
            admitted_by_none: 0,
        }
    }

    /// Add a zero row for each of `rule`'s authorities without one: under a committed policy
    /// the rule changes along a range, and every authority of each rule met has a row.
    pub fn include_rule(&mut self, rule: &Rule) {
        for a in &rule.authorities {
            if !self.rows.iter().any(|(n, _)| *n == a.name) {
                self.rows.push((a.name.clone(), 0));
            }
        }
    }

    /// Add the counts of `other` (rows by name, new names last).
    pub fn merge(&mut self, other: &AuthorityTally) {
        for (name, n) in &other.rows {
            match self.rows.iter_mut().find(|(m, _)| m == name) {
                Some((_, m)) => *m += n,
                None => self.rows.push((name.clone(), *n)),
            }
        }
        self.admitted_by_none += other.admitted_by_none;
    }

    /// Count a signature `authority` accepted.
    pub fn accepted(&mut self, authority: &Authority) {
        match self.rows.iter_mut().find(|(n, _)| *n == authority.name) {
            Some((_, n)) => *n += 1,
            None => self.rows.push((authority.name.clone(), 1)),
        }
    }

    /// Count a verified signature no authority admits.
    pub fn refused(&mut self) {
        self.admitted_by_none += 1;
    }

    /// One line: `authorities: maintainers 12, laptops 0; admitted by none: 1`.
    pub fn text(&self) -> String {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        format!(
            "authorities: {}; admitted by none: {}",
            rows.join(", "),
            self.admitted_by_none
        )
    }

    /// `{"authorities": [{"name": …, "accepted": n}, …], "admitted_by_none": n}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "authorities": self
                .rows
                .iter()
                .map(|(name, n)| serde_json::json!({"name": name, "accepted": n}))
                .collect::<Vec<_>>(),
            "admitted_by_none": self.admitted_by_none,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{NoFiles, PolicyFile};

    #[test]
    fn every_authority_of_the_rule_has_a_row() {
        let p = PolicyFile::parse(
            "[authority.a]\nsigstore = [{ identity = 'x', issuer = 'y' }]\n[authority.b]\nsigstore = [{ identity = 'z', issuer = 'y' }]\n[[rule]]\nrefs = ['refs/*']\nauthorities = ['b', 'a']\n",
            "p",
            &NoFiles,
        )
        .expect("parses");
        let rule = &p.rules[0];
        let mut t = AuthorityTally::for_rule(rule);
        let a = p.authority("a").expect("a");
        t.accepted(a);
        t.accepted(a);
        t.refused();
        assert_eq!(t.text(), "authorities: b 0, a 2; admitted by none: 1");
        // Another policy's rule (a committed policy changed): its new authority gets a row,
        // and counts merge by name.
        let q = PolicyFile::parse(
            "[authority.a]\nsigstore = [{ identity = 'x', issuer = 'y' }]\n[authority.c]\nsigstore = [{ identity = 'w', issuer = 'y' }]\n[[rule]]\nrefs = ['refs/*']\nauthorities = ['c', 'a']\n",
            "q",
            &NoFiles,
        )
        .expect("parses");
        let mut merged = t.clone();
        merged.include_rule(&q.rules[0]);
        let mut one = AuthorityTally::default();
        one.accepted(q.authority("a").expect("a"));
        merged.merge(&one);
        assert_eq!(
            merged.text(),
            "authorities: b 0, a 3, c 0; admitted by none: 1"
        );
        assert_eq!(
            t.json().to_string(),
            r#"{"admitted_by_none":1,"authorities":[{"accepted":0,"name":"b"},{"accepted":2,"name":"a"}]}"#
        );
    }
}
