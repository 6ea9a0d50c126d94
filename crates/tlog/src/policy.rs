//! C2SP `tlog-policy`: which logs and witnesses a verifier trusts, and the witness quorum.
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <member>...
//! quorum <name>|none
//! ```
//!
//! Log keys are Ed25519 note keys (type `0x01`) whose name is the log's origin; witness
//! keys are `cosignature/v1` keys (type `0x04`). Duplicate keys, names used before they
//! are defined, members listed twice and a missing or repeated quorum line are refused.
//! A k-of-n quorum is `group q <k> w1 ... wn` + `quorum q`.

use std::collections::{HashMap, HashSet};

use thiserror::Error;

use crate::keys::{KeyError, PublicKey, TYPE_COSIGNATURE_V1, TYPE_ED25519};

/// Most logs, witnesses or groups a policy may define.
pub const MAX_POLICY_ITEMS: usize = 256;

/// A policy file that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("policy line {line}: {reason}")]
pub struct PolicyError {
    /// 1-based line number (0 for whole-file problems).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// A trusted log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLog {
    /// Its key (type `0x01`, named after the origin).
    pub key: PublicKey,
    /// Optional URL.
    pub url: Option<String>,
}

/// A trusted witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    /// Policy-local name.
    pub name: String,
    /// Its cosignature key (type `0x04`).
    pub key: PublicKey,
    /// Optional submission prefix URL.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    threshold: usize,
    members: Vec<String>,
}

/// A parsed trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: HashMap<String, Group>,
    /// `None` for `quorum none`.
    quorum: Option<String>,
}

impl Policy {
    /// Parses a policy file.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let mut logs: Vec<PolicyLog> = Vec::new();
        let mut witnesses: Vec<PolicyWitness> = Vec::new();
        let mut groups: HashMap<String, Group> = HashMap::new();
        let mut quorum: Option<Option<String>> = None;
        let mut keys_seen = HashSet::new();
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            let err = |reason: &str| PolicyError {
                line,
                reason: reason.to_owned(),
            };
            if raw.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
                return Err(err("control characters other than tab are not allowed"));
            }
            let words: Vec<&str> = raw.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            let Some(&keyword) = words.first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            let key_err = |e: KeyError| err(&format!("bad vkey: {e}"));
            let defined = |name: &str, w: &Vec<PolicyWitness>, g: &HashMap<String, Group>| {
                w.iter().any(|x| x.name == name) || g.contains_key(name)
            };
            match keyword {
                "log" => {
                    if !(2..=3).contains(&words.len()) {
                        return Err(err("expected: log <vkey> [<url>]"));
                    }
                    let key = PublicKey::from_vkey(words[1]).map_err(key_err)?;
                    if key.signature_type() != TYPE_ED25519 {
                        return Err(err("a log key must be an Ed25519 note key (type 0x01)"));
                    }
                    if !keys_seen.insert(*key.verifying_key().as_bytes()) {
                        return Err(err("duplicate key"));
                    }
                    logs.push(PolicyLog {
                        key,
                        url: words.get(2).map(|s| (*s).to_owned()),
                    });
                }
                "witness" => {
                    if !(3..=4).contains(&words.len()) {
                        return Err(err("expected: witness <name> <vkey> [<url>]"));
                    }
                    let name = words[1];
                    if name == "none" || defined(name, &witnesses, &groups) {
                        return Err(err("witness name already defined (or reserved)"));
                    }
                    let key = PublicKey::from_vkey(words[2]).map_err(key_err)?;
                    if key.signature_type() != TYPE_COSIGNATURE_V1 {
                        return Err(err(
                            "a witness key must be a cosignature/v1 key (type 0x04)",
                        ));
                    }
                    if !keys_seen.insert(*key.verifying_key().as_bytes()) {
                        return Err(err("duplicate key"));
                    }
                    witnesses.push(PolicyWitness {
                        name: name.to_owned(),
                        key,
                        url: words.get(3).map(|s| (*s).to_owned()),
                    });
                }
                "group" => {
                    if words.len() < 4 {
                        return Err(err("expected: group <name> all|any|<k> <member>..."));
                    }
                    let name = words[1];
                    if name == "none" || defined(name, &witnesses, &groups) {
                        return Err(err("group name already defined (or reserved)"));
                    }
                    let members: Vec<String> = words[3..].iter().map(|s| (*s).to_owned()).collect();
                    let mut unique = HashSet::new();
                    for m in &members {
                        if !defined(m, &witnesses, &groups) {
                            return Err(err(&format!(
                                "member {m:?} is not defined on a preceding line"
                            )));
                        }
                        if !unique.insert(m) {
                            return Err(err(&format!("member {m:?} listed twice")));
                        }
                    }
                    let n = members.len();
                    let threshold = match words[2] {
                        "all" => n,
                        "any" => 1,
                        k => crate::checkpoint::parse_decimal(k)
                            .filter(|&k| k >= 1 && k as usize <= n)
                            .ok_or_else(|| {
                                err("threshold must be all, any or a decimal k with 1 <= k <= n")
                            })? as usize,
                    };
                    groups.insert(name.to_owned(), Group { threshold, members });
                }
                "quorum" => {
                    if words.len() != 2 {
                        return Err(err("expected: quorum <name>"));
                    }
                    if quorum.is_some() {
                        return Err(err("more than one quorum line"));
                    }
                    if words[1] == "none" {
                        quorum = Some(None);
                    } else if defined(words[1], &witnesses, &groups) {
                        quorum = Some(Some(words[1].to_owned()));
                    } else {
                        return Err(err(
                            "quorum names a witness or group not defined on a preceding line",
                        ));
                    }
                }
                _ => return Err(err(&format!("unknown keyword {keyword:?}"))),
            }
            if logs.len().max(witnesses.len()).max(groups.len()) > MAX_POLICY_ITEMS {
                return Err(err("too many logs, witnesses or groups"));
            }
        }
        let quorum = quorum.ok_or(PolicyError {
            line: 0,
            reason: "missing quorum line".into(),
        })?;
        Ok(Policy {
            logs,
            witnesses,
            groups,
            quorum,
        })
    }

    /// A policy with one log and a plain k-of-n quorum over `witnesses` (`k = 0`: none).
    pub fn k_of_n(
        log: PublicKey,
        witnesses: Vec<PublicKey>,
        k: usize,
    ) -> Result<Policy, PolicyError> {
        let mut text = format!("log {}\n", log.to_vkey());
        for (i, w) in witnesses.iter().enumerate() {
            text.push_str(&format!("witness w{i} {}\n", w.to_vkey()));
        }
        if k == 0 {
            text.push_str("quorum none\n");
        } else {
            let names: Vec<String> = (0..witnesses.len()).map(|i| format!("w{i}")).collect();
            text.push_str(&format!(
                "group quorum {k} {}\nquorum quorum\n",
                names.join(" ")
            ));
        }
        Policy::parse(&text)
    }

    /// The trusted logs.
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The trusted witnesses.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// True when the named witnesses (by policy name) satisfy the quorum.
    pub fn quorum_met(&self, cosigned: &HashSet<&str>) -> bool {
        match &self.quorum {
            None => true,
            Some(name) => self.witnessed(name, cosigned),
        }
    }

    fn witnessed(&self, name: &str, cosigned: &HashSet<&str>) -> bool {
        match self.groups.get(name) {
            Some(group) => {
                group
                    .members
                    .iter()
                    .filter(|m| self.witnessed(m, cosigned))
                    .count()
                    >= group.threshold
            }
            None => cosigned.contains(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyName, SecretKey};

    fn wkey(i: u8) -> String {
        SecretKey::from_seed(KeyName::new(&format!("w{i}.example")).unwrap(), &[i; 32])
            .public_key(TYPE_COSIGNATURE_V1)
            .to_vkey()
    }

    fn log_vkey() -> String {
        SecretKey::from_seed(KeyName::new("log.example").unwrap(), &[100; 32])
            .public_key(TYPE_ED25519)
            .to_vkey()
    }

    #[test]
    fn nested_groups_follow_the_spec_example() {
        let text = format!(
            "# example\nlog {}\n  witness X1 {}\nwitness X2 {}\nwitness X3 {}\ngroup X 2 X1 X2 X3\nwitness Y1 {}\t\nwitness Y2 {}\ngroup Y any Y1 Y2\ngroup XY all X Y\nquorum XY\n",
            log_vkey(),
            wkey(1),
            wkey(2),
            wkey(3),
            wkey(4),
            wkey(5)
        );
        let p = Policy::parse(&text).unwrap();
        let set = |names: &[&'static str]| names.iter().copied().collect::<HashSet<&str>>();
        assert!(p.quorum_met(&set(&["X1", "X3", "Y2"])));
        assert!(!p.quorum_met(&set(&["X1", "Y2"])));
        assert!(!p.quorum_met(&set(&["X1", "X2", "X3"])));
    }

    #[test]
    fn invalid_policies_are_refused() {
        let l = log_vkey();
        let (w1, w2) = (wkey(1), wkey(2));
        for bad in [
            format!("log {l}\n"),
            format!("log {l}\nquorum none\nquorum none\n"),
            format!("log {l}\nquorum A\n"),
            format!("log {l}\nwitness A {w1}\nwitness B {w1}\nquorum A\n"),
            format!("log {l}\nwitness A {w1}\nwitness A {w2}\nquorum A\n"),
            format!("log {l}\nwitness A {w1}\ngroup G 2 A\nquorum G\n"),
            format!("log {l}\nwitness A {w1}\ngroup G 0 A\nquorum G\n"),
            format!("log {l}\nwitness A {w1}\ngroup G any A A\nquorum G\n"),
            format!("log {l}\ngroup G any A\nwitness A {w1}\nquorum G\n"),
            format!("log {w1}\nquorum none\n"),
            format!("log {l}\nwitness A {l}\nquorum A\n"),
            format!("log {l}\nwitnes A {w1}\nquorum none\n"),
            format!("log {l}\r\nquorum none\n"),
            format!("log {l}\nwitness none {w1}\nquorum none\n"),
        ] {
            assert!(Policy::parse(&bad).is_err(), "{bad}");
        }
    }
}
