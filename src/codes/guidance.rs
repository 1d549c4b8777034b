//! Per-code diagnosis data for RDP client codes.
//!
//! Takes: `src/codes/tables/client_guidance.json` (embedded, parsed once).
//! Produces: [`Guidance`]: the coarse layer read from a primary code's low byte, named log
//! sources, and [`Entry`]s that say, for a primary code and/or an extended code, which layer
//! failed, which cause ids (from the stable list in `shared/knowledge/causes.md`) the code rules
//! in and out and why, and which logs to collect next. [`Guidance::applicable`] picks the entries
//! for a code pair, most specific first.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::decode::Role;
use super::table::Code;

/// A set of codes: single values and inclusive ranges.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeSet {
    #[serde(default)]
    values: Vec<Code>,
    #[serde(default)]
    ranges: Vec<[Code; 2]>,
}

impl CodeSet {
    /// Whether `code` is in the set.
    pub(crate) fn contains(&self, code: u64) -> bool {
        self.values.iter().any(|v| v.0 == code)
            || self.ranges.iter().any(|[a, b]| (a.0..=b.0).contains(&code))
    }

    /// How many codes the set covers (narrower sets are more specific).
    fn size(&self) -> u64 {
        let ranges: u64 = self
            .ranges
            .iter()
            .map(|[a, b]| b.0.saturating_sub(a.0) + 1)
            .sum();
        self.values.len() as u64 + ranges
    }
}

/// Cause ids ruled out for one shared reason.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleOut {
    /// Cause ids.
    pub causes: Vec<String>,
    /// Why the code pair excludes them.
    pub why: String,
}

/// A log to collect, by reference to [`Guidance::logs`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogRef {
    /// Key in [`Guidance::logs`].
    pub log: String,
    /// What to look for in it.
    pub why: String,
}

/// A machine role and an event log channel.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogSource {
    /// Which machine.
    pub role: Role,
    /// The channel as `wevtutil` names it.
    pub channel: String,
}

/// The layer a primary code's low byte points at (an observed grouping, not a documented rule).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LowByteLayer {
    /// The low byte, e.g. `"0x04"`.
    low_byte: Code,
    /// The layer text.
    pub layer: String,
}

/// Diagnosis data for a primary code, an extended code, or a pair.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    /// A stable name for the entry (read by the data tests and when debugging the data).
    #[cfg_attr(not(test), allow(dead_code))]
    pub id: String,
    /// Primary codes this entry is about; absent means any primary code.
    pub primary: Option<CodeSet>,
    /// Extended codes this entry is about; absent means whatever the extended code is.
    pub extended: Option<CodeSet>,
    /// The entry applies only when no extended code was given.
    #[serde(default)]
    pub extended_absent: bool,
    /// Which layer failed.
    pub layer: Option<String>,
    /// What the code (pair) means, in a few sentences.
    pub summary: String,
    /// Cause ids the code (pair) points at.
    #[serde(default)]
    pub rules_in: Vec<String>,
    /// Cause ids the code (pair) excludes, with the reason.
    #[serde(default)]
    pub rules_out: Vec<RuleOut>,
    /// Logs to collect next.
    #[serde(default)]
    pub next_logs: Vec<LogRef>,
}

impl Entry {
    /// Whether the entry applies to this code pair.
    pub(crate) fn applies(&self, primary: u64, extended: Option<u64>) -> bool {
        let primary_ok = self.primary.as_ref().is_none_or(|s| s.contains(primary));
        let extended_ok = match (extended, &self.extended) {
            (Some(_), _) if self.extended_absent => false,
            (None, Some(_)) => false,
            (Some(x), Some(set)) => set.contains(x),
            (_, None) => true,
        };
        primary_ok && extended_ok
    }

    /// Sort key: entries about both codes first, then extended-only (the server's own reason),
    /// then primary-only; within a rank, narrower code sets first.
    fn rank(&self) -> (u8, u64) {
        let ext = self.extended.is_some() || self.extended_absent;
        let rank = match (self.primary.is_some(), ext) {
            (true, true) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (false, false) => 3,
        };
        let size = self.primary.as_ref().map_or(u64::MAX / 2, CodeSet::size)
            + self.extended.as_ref().map_or(0, CodeSet::size);
        (rank, size)
    }
}

/// The whole guidance file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Guidance {
    /// Layer by low byte of a primary disconnect reason.
    low_byte_layers: Vec<LowByteLayer>,
    /// Named log sources that entries refer to.
    pub logs: HashMap<String, LogSource>,
    /// The entries, in file order.
    pub entries: Vec<Entry>,
}

impl Guidance {
    /// The entries that apply to the pair, most specific first (stable for equal rank).
    pub(crate) fn applicable(&self, primary: u64, extended: Option<u64>) -> Vec<&Entry> {
        let mut hits: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.applies(primary, extended))
            .collect();
        hits.sort_by_key(|e| e.rank());
        hits
    }

    /// The layer the low byte of a primary disconnect reason points at.
    pub(crate) fn low_byte_layer(&self, primary: u64) -> Option<&str> {
        self.low_byte_layers
            .iter()
            .find(|l| l.low_byte.0 == primary & 0xFF)
            .map(|l| l.layer.as_str())
    }
}

static GUIDANCE: LazyLock<Guidance> = LazyLock::new(|| {
    serde_json::from_str(include_str!("tables/client_guidance.json"))
        .unwrap_or_else(|e| panic!("client_guidance.json: invalid: {e}"))
});

/// The loaded guidance data.
pub(crate) fn guidance() -> &'static Guidance {
    &GUIDANCE
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The 25 stable cause ids of `shared/knowledge/causes.md` (a public contract).
    const CAUSE_IDS: [&str; 25] = [
        "cert.self-signed-renewal-failed",
        "cert.private-key-inaccessible",
        "tls.protocol-or-cipher-mismatch",
        "tls.handshake-interference",
        "auth.bad-credentials",
        "auth.account-restricted",
        "auth.logon-right-missing",
        "auth.credssp-oracle-mismatch",
        "auth.nla-unsupported",
        "auth.clock-skew",
        "auth.domain-unreachable",
        "network.name-resolution",
        "network.blocked-before-server",
        "network.connection-lost",
        "network.port-exhaustion",
        "network.local-stack-fault",
        "gateway.capacity-exhausted",
        "gateway.policy-denied",
        "gateway.target-unreachable",
        "gateway.certificate-problem",
        "session.stuck-or-limit",
        "session.licensing",
        "server.protocol-error",
        "server.service-unhealthy",
        "server.denied-connection",
    ];

    #[test]
    fn guidance_loads_and_entry_ids_are_unique() {
        let g = guidance();
        assert!(!g.entries.is_empty());
        let mut ids = HashSet::new();
        for e in &g.entries {
            assert!(ids.insert(e.id.as_str()), "duplicate entry id {}", e.id);
            assert!(!e.summary.trim().is_empty(), "{} has no summary", e.id);
            assert!(
                !(e.extended_absent && e.extended.is_some()),
                "{}: extended_absent together with extended codes",
                e.id
            );
        }
    }

    #[test]
    fn every_cause_id_in_guidance_is_a_stable_id() {
        let known: HashSet<&str> = CAUSE_IDS.into_iter().collect();
        assert_eq!(known.len(), 25);
        for e in &guidance().entries {
            let out = e.rules_out.iter().flat_map(|r| r.causes.iter());
            for cause in e.rules_in.iter().chain(out) {
                assert!(
                    known.contains(cause.as_str()),
                    "{}: unknown cause {cause}",
                    e.id
                );
            }
            for r in &e.rules_out {
                assert!(
                    !r.why.trim().is_empty(),
                    "{}: rule-out without a reason",
                    e.id
                );
            }
        }
    }

    #[test]
    fn no_entry_rules_a_cause_both_in_and_out() {
        for e in &guidance().entries {
            for r in &e.rules_out {
                for c in &r.causes {
                    assert!(!e.rules_in.contains(c), "{}: {c} both in and out", e.id);
                }
            }
        }
    }

    #[test]
    fn every_log_reference_resolves() {
        let g = guidance();
        for e in &g.entries {
            for l in &e.next_logs {
                assert!(
                    g.logs.contains_key(&l.log),
                    "{}: unknown log {}",
                    e.id,
                    l.log
                );
            }
        }
    }

    #[test]
    fn extended_conditions_select_entries() {
        let g = guidance();
        let ids =
            |p, x| -> Vec<&str> { g.applicable(p, x).iter().map(|e| e.id.as_str()).collect() };
        let bare = ids(0x904, None);
        assert!(bare.contains(&"fdclose-no-extended"), "{bare:?}");
        let ext0 = ids(0x904, Some(0));
        assert!(ext0.contains(&"fdclose-ext-0") && !ext0.contains(&"fdclose-no-extended"));
        let ext7 = ids(0x904, Some(7));
        assert_eq!(ext7.first(), Some(&"ext-7-server-denied"), "{ext7:?}");
        assert!(!ext7.contains(&"fdclose-ext-0"));
    }

    #[test]
    fn low_byte_layers() {
        let g = guidance();
        assert!(
            g.low_byte_layer(0x904)
                .is_some_and(|l| l.contains("network"))
        );
        assert!(g.low_byte_layer(0x1B07).is_some_and(|l| l.contains("NLA")));
        assert_eq!(g.low_byte_layer(0xB09), None);
    }
}
