//! Stage 5: from the rules that fired to one verdict per failed attempt.
//!
//! Takes: an [`Analysis`] (attempts, timeline, input accounting) and a [`RulePack`].
//! Produces: one [`Verdict`] per failed attempt, in attempt order: the best-supported cause with
//! its rendered explanation, evidence lines and fix; the other causes that fired as
//! alternatives; and the logs that were not supplied but would confirm or rule out a cause that
//! applies to the attempt, each with the command that exports it. Attempts are evaluated in
//! parallel (rayon); the result does not depend on scheduling.
//!
//! Ranking of the rules that fired: (1) a specific rule beats a `fallback` rule; (2) higher
//! confidence; (3) more evidence events; (4) rule id in alphabetical order. When no rule fires
//! the cause is [`UNDETERMINED`].

use crate::analysis::Analysis;
use crate::attempt::{Attempt, Outcome};
use crate::event::catalog::HostRole;
use crate::event::{Origin, Place, Provenance};
use crate::report::events::fields_text;
use crate::rules::engine::{self, Applicability, Context, Finding};
use crate::rules::{CompiledRule, Role, RulePack};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The cause reported when no rule fires.
pub const UNDETERMINED: &str = "undetermined";

/// The verdict for one failed attempt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The attempt id.
    pub attempt: String,
    /// The cause id (a rule id, or `undetermined`).
    pub cause: String,
    /// The rule's title.
    pub title: String,
    /// 0–1.
    pub confidence: f64,
    /// The evidence events, in corrected time order (the matches closest to the attempt when a
    /// selector matched many events).
    pub evidence: Vec<Evidence>,
    /// Matching events not listed in `evidence` (a busy host logging the same event many times).
    pub evidence_omitted: usize,
    /// The explanation, placeholders filled in (shared by the verdicts of a run that read the
    /// same: a brute-forced host's thousands of verdicts mostly do, see [`judge`]).
    pub explain: Arc<str>,
    /// The fix, in order (shared like `explain`).
    pub remediation: Arc<[RemediationStep]>,
    /// References of the rule.
    pub references: Vec<String>,
    /// The other causes that fired, best first.
    pub alternatives: Vec<Alternative>,
    /// Logs not supplied that would confirm or rule out a cause that applies to this attempt
    /// (shared: a busy host's attempts mostly have the same list).
    pub missing_evidence: Arc<[MissingLog]>,
}

/// One evidence line. Shared where it can be (a run holds up to twenty per failed attempt): the
/// selector's name with the rule, the machine, channel, provider and file with the event.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    /// The rule's selector that matched it.
    pub selector: Arc<str>,
    /// The role of the machine in this attempt.
    pub role: HostRole,
    /// The machine, channel, provider and file of the event (see [`Evidence::source`]).
    pub origin: Arc<Origin>,
    /// The event id.
    pub event_id: u32,
    /// The time on the reference clock.
    pub time: DateTime<Utc>,
    /// The time as logged by the machine.
    pub logged_time: DateTime<Utc>,
    /// The record or line in the file, and the EventRecordID when known (see
    /// [`Evidence::source`]).
    pub place: Place,
    /// `name=value; …` of the event's fields.
    pub summary: String,
}

impl Evidence {
    /// The source file and record or line.
    pub fn source(&self) -> Provenance {
        self.place.source(&self.origin)
    }
}

/// On the wire: `selector`, `role`, `host`, `channel`, `provider`, `event_id`, `time`,
/// `logged_time`, `record_id`, `source`, `summary` (see `report/json.rs`).
impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Evidence", 11)?;
        out.serialize_field("selector", &*self.selector)?;
        out.serialize_field("role", &self.role)?;
        out.serialize_field("host", &*self.origin.host)?;
        out.serialize_field("channel", &*self.origin.channel)?;
        out.serialize_field("provider", &*self.origin.provider)?;
        out.serialize_field("event_id", &self.event_id)?;
        out.serialize_field("time", &self.time)?;
        out.serialize_field("logged_time", &self.logged_time)?;
        out.serialize_field("record_id", &self.place.record_id())?;
        out.serialize_field("source", &self.source())?;
        out.serialize_field("summary", &self.summary)?;
        out.end()
    }
}

/// One remediation step, rendered.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct RemediationStep {
    /// What to do.
    pub text: String,
    /// Exact commands.
    pub commands: Vec<String>,
}

/// Another cause that fired.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alternative {
    /// The cause id.
    pub cause: String,
    /// Its title.
    pub title: String,
    /// Its confidence.
    pub confidence: f64,
    /// Whether it is a fallback rule.
    pub fallback: bool,
    /// Its rendered explanation.
    pub explain: String,
}

/// A log that was not supplied.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MissingLog {
    /// The machine role.
    pub role: Role,
    /// The machine, when known.
    pub host: Option<String>,
    /// The channel to export.
    pub channel: String,
    /// The causes it would confirm or rule out.
    pub decides: Vec<String>,
    /// The command that exports it, to run on that machine.
    pub command: String,
}

/// Judge every failed attempt.
pub fn judge(analysis: &Analysis, pack: &RulePack) -> Vec<Verdict> {
    // Host-wide selector filtering is shared by every attempt of the run.
    let cache = engine::SelectorCache::default();
    let memos = Memos::default();
    analysis
        .correlation
        .attempts
        .par_iter()
        .filter(|a| a.outcome == Outcome::Failed)
        .map(|a| {
            judge_in(
                &Context::with_cache(analysis, a, &cache),
                pack,
                Some(&memos),
            )
        })
        .collect()
}

/// What the verdicts of one run share (see [`judge`]).
#[derive(Default)]
struct Memos {
    missing: MissingMemo,
    texts: TextMemo,
}

/// The rendered explanations and fixes of a run's verdicts, each kept once: the verdicts of a
/// run mostly read alike (2,995 verdicts of big800 have 66 distinct explanations and 19
/// distinct fixes, about 1.9 KB per verdict held once each instead).
#[derive(Default)]
struct TextMemo {
    explains: std::sync::Mutex<std::collections::HashSet<Arc<str>>>,
    remediations: std::sync::Mutex<std::collections::HashSet<Arc<[RemediationStep]>>>,
}

/// The copy of `value` kept in `set` (`value` itself, kept, when it is new).
fn kept<T: ?Sized + Eq + std::hash::Hash>(
    set: &std::sync::Mutex<std::collections::HashSet<Arc<T>>>,
    value: Arc<T>,
) -> Arc<T> {
    let mut set = set.lock().unwrap_or_else(|p| p.into_inner());
    match set.get(&value) {
        Some(found) => found.clone(),
        None => {
            set.insert(value.clone());
            value
        }
    }
}

impl TextMemo {
    fn explain(&self, text: String) -> Arc<str> {
        kept(&self.explains, text.into())
    }

    fn remediation(&self, steps: Vec<RemediationStep>) -> Arc<[RemediationStep]> {
        kept(&self.remediations, steps.into())
    }
}

/// What [`missing_evidence`] depends on: the attempt's outcome and codes (which rules apply) and
/// its hosts per role (which logs were supplied).
type MissingKey = (
    Outcome,
    Option<u64>,
    Option<u64>,
    BTreeMap<Role, Vec<String>>,
);

/// [`missing_evidence`] per [`MissingKey`], shared by the attempts of a run: a busy host's
/// attempts mostly share all of it, and working it out means asking every rule about every log.
#[derive(Default)]
struct MissingMemo(std::sync::Mutex<std::collections::HashMap<MissingKey, Arc<[MissingLog]>>>);

impl MissingMemo {
    fn get(&self, ctx: &Context<'_>, pack: &RulePack) -> Arc<[MissingLog]> {
        let codes = &ctx.attempt.codes;
        let key = (
            ctx.attempt.outcome,
            codes.primary,
            codes.extended,
            ctx.hosts.clone(),
        );
        let lock = || self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = lock().get(&key) {
            return found.clone();
        }
        let missing = missing_evidence(ctx, pack).into();
        lock().entry(key).or_insert(missing).clone()
    }
}

/// The rules that fire for `attempt`, best first (see the module docs for the order).
pub fn findings(ctx: &Context<'_>, pack: &RulePack) -> Vec<Finding> {
    let mut out: Vec<Finding> = pack
        .rules()
        .iter()
        .filter(|r| engine::applicability(r, ctx.attempt) == Applicability::Applies)
        .filter_map(|r| engine::evaluate(r, ctx))
        .collect();
    out.sort_by(|a, b| {
        a.fallback
            .cmp(&b.fallback)
            .then(b.confidence.total_cmp(&a.confidence))
            .then(b.evidence.len().cmp(&a.evidence.len()))
            .then(a.rule_id.cmp(&b.rule_id))
    });
    out
}

/// Judge one attempt.
pub fn judge_attempt(analysis: &Analysis, pack: &RulePack, attempt: &Attempt) -> Verdict {
    judge_in(&Context::new(analysis, attempt), pack, None)
}

/// The verdict for the attempt of a prepared context.
fn judge_in(ctx: &Context<'_>, pack: &RulePack, memos: Option<&Memos>) -> Verdict {
    let (analysis, attempt) = (ctx.analysis, ctx.attempt);
    let found = findings(ctx, pack);
    let missing = match memos {
        Some(memos) => memos.missing.get(ctx, pack),
        None => missing_evidence(ctx, pack).into(),
    };
    let Some((best, rest)) = found.split_first() else {
        return undetermined(attempt, pack, missing, memos);
    };
    let Some(rule) = pack.get(&best.rule_id) else {
        return undetermined(attempt, pack, missing, memos);
    };
    let values = placeholder_values(ctx, best);
    let explain = rule.explain.render(&values).trim().to_string();
    let remediation: Vec<RemediationStep> = rule
        .remediation
        .iter()
        .map(|s| RemediationStep {
            text: s.text.render(&values).trim().to_string(),
            commands: s.commands.iter().map(|c| c.render(&values)).collect(),
        })
        .collect();
    let (explain, remediation) = shared_texts(memos, explain, remediation);
    Verdict {
        attempt: attempt.id.clone(),
        cause: rule.id.clone(),
        title: rule.title.clone(),
        confidence: rule.confidence,
        evidence: best
            .evidence
            .iter()
            .map(|m| evidence(analysis, m))
            .collect(),
        evidence_omitted: best.evidence_omitted,
        explain,
        remediation,
        references: rule.references.clone(),
        alternatives: rest
            .iter()
            .filter_map(|f| {
                let r = pack.get(&f.rule_id)?;
                Some(Alternative {
                    cause: r.id.clone(),
                    title: r.title.clone(),
                    confidence: r.confidence,
                    fallback: r.fallback,
                    explain: r
                        .explain
                        .render(&placeholder_values(ctx, f))
                        .trim()
                        .to_string(),
                })
            })
            .collect(),
        missing_evidence: missing,
    }
}

/// `explain` and `remediation` as the run's memo keeps them, when there is one.
fn shared_texts(
    memos: Option<&Memos>,
    explain: String,
    remediation: Vec<RemediationStep>,
) -> (Arc<str>, Arc<[RemediationStep]>) {
    match memos {
        Some(memos) => (
            memos.texts.explain(explain),
            memos.texts.remediation(remediation),
        ),
        None => (explain.into(), remediation.into()),
    }
}

fn undetermined(
    attempt: &Attempt,
    pack: &RulePack,
    missing: Arc<[MissingLog]>,
    memos: Option<&Memos>,
) -> Verdict {
    let applicable = pack
        .rules()
        .iter()
        .filter(|r| engine::applicability(r, attempt) != Applicability::No)
        .count();
    let explain = format!(
        "None of the {applicable} rules that could explain this attempt found its evidence in the logs supplied. \
         The logs listed as missing evidence would confirm or rule out those causes."
    );
    let commands: Vec<String> = missing.iter().map(|m| m.command.clone()).collect();
    let remediation = if commands.is_empty() {
        Vec::new()
    } else {
        vec![RemediationStep {
            text: "Export the missing logs on the machines named (as administrator), then run `rdptriage analyze` again with all logs.".into(),
            commands,
        }]
    };
    let (explain, remediation) = shared_texts(memos, explain, remediation);
    Verdict {
        attempt: attempt.id.clone(),
        cause: UNDETERMINED.into(),
        title: "The logs supplied do not show why this attempt failed".into(),
        confidence: 0.0,
        evidence: Vec::new(),
        evidence_omitted: 0,
        explain,
        remediation,
        references: Vec::new(),
        alternatives: Vec::new(),
        missing_evidence: missing,
    }
}

fn evidence(analysis: &Analysis, m: &engine::Match) -> Evidence {
    let e = &analysis.timeline.events[m.index];
    Evidence {
        selector: m.selector.clone(),
        role: m.role,
        origin: e.origin.clone(),
        event_id: e.event_id,
        time: m.corrected_time,
        logged_time: e.time,
        place: e.place,
        summary: fields_text(e),
    }
}

/// A code as `0x904 (2308)`.
pub fn code_text(code: u64) -> String {
    format!("0x{code:X} ({code})")
}

/// Built-in placeholders from the attempt, overridden by the finding's captures.
fn placeholder_values(ctx: &Context<'_>, f: &Finding) -> BTreeMap<String, String> {
    let a = ctx.attempt;
    let mut v = BTreeMap::new();
    let mut put = |k: &str, val: Option<String>| {
        if let Some(val) = val {
            v.insert(k.to_string(), val);
        }
    };
    put("client", a.client.clone());
    put("gateway", a.gateway.clone());
    put(
        "server",
        ctx.hosts_for(Role::Server)
            .first()
            .cloned()
            .or_else(|| a.target.clone()),
    );
    put("target", a.target.clone());
    put("user", a.user.clone());
    put("primary", a.codes.primary.map(code_text));
    put("extended", a.codes.extended.map(code_text));
    for (k, val) in &f.captures {
        v.insert(k.clone(), val.clone());
    }
    v
}

/// The logs that would decide a cause applicable to the attempt but were not supplied.
pub fn missing_evidence(ctx: &Context<'_>, pack: &RulePack) -> Vec<MissingLog> {
    let mut by_log: BTreeMap<(Role, Option<String>, String), Vec<String>> = BTreeMap::new();
    for rule in pack.rules() {
        if engine::applicability(rule, ctx.attempt) == Applicability::No {
            continue;
        }
        for (role, host, channel) in rule_gaps(ctx, rule) {
            by_log
                .entry((role, host, channel))
                .or_default()
                .push(rule.id.clone());
        }
    }
    by_log
        .into_iter()
        .map(|((role, host, channel), mut decides)| {
            decides.sort();
            decides.dedup();
            let command = export_command(&channel, host.as_deref().unwrap_or(role.as_str()));
            MissingLog {
                role,
                host,
                channel,
                decides,
                command,
            }
        })
        .collect()
}

fn rule_gaps(ctx: &Context<'_>, rule: &CompiledRule) -> Vec<(Role, Option<String>, String)> {
    let mut out = Vec::new();
    for req in &rule.requires {
        let hosts = ctx.hosts_for(req.role);
        if hosts.is_empty() {
            out.push((req.role, None, req.channel.clone()));
        }
        for h in hosts {
            let supplied = match ctx.cache {
                Some(cache) => cache.log_supplied(ctx.analysis, h, &req.channel),
                None => ctx.analysis.log_supplied(h, &req.channel),
            };
            if !supplied {
                out.push((req.role, Some(h.clone()), req.channel.clone()));
            }
        }
    }
    out
}

/// `wevtutil epl "<channel>" <machine>-<channel>.evtx`.
pub fn export_command(channel: &str, machine: &str) -> String {
    let short = channel
        .strip_prefix("Microsoft-Windows-")
        .unwrap_or(channel)
        .replace(['/', ' ', '\\'], "-");
    let machine: String = machine
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("wevtutil epl \"{channel}\" {machine}-{short}.evtx")
}
