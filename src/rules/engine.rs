//! The correlation engine: does a rule fire for an attempt, and on which evidence?
//!
//! Takes: a [`CompiledRule`] and a [`Context`] (one attempt of an [`Analysis`], with the hosts
//! playing each role resolved and the attempt's facts computed once).
//! Produces: a [`Finding`] when the rule's condition holds: the rule id, its confidence, the
//! evidence events (tagged with the selector that matched them) and the captured values.
//!
//! Semantics (documented for authors in `rules/README.md`):
//! * An event selector with `scope: attempt` sees the events linked to the attempt that were
//!   logged by the machine in `role`; with `scope: host` it sees every event of that machine
//!   (System, Security… events are not linked to connections). Either way only events whose
//!   corrected time lies in `[start − before, end + after]` count (both edges included).
//! * The session host is the attempt's linked server; when none was linked, the host whose name
//!   is the target (full or short name). `dc` is every host that logged domain-controller events.
//!   Evidence on any other machine never counts for the role.
//! * A selector holds when it has at least `min_count` matches; `not x` holds when it does not;
//!   `a then b` holds when some match of `a` is at or before some match of `b`.
//! * Evidence is the matches of selectors that hold in a positive position of the condition,
//!   each event once (under the first selector, in rule order, that matched it).

use super::condition::Expr;
use super::predicate::{self, FieldPredicate};
use super::{CompiledRule, EventSelector, Role, Scope, SelectorKind};
use crate::analysis::Analysis;
use crate::attempt::{Attempt, host_key, short_name};
use crate::event::catalog::{HostRole, provider_matches};
use crate::event::{Event, FieldValue, Fields};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};

pub use super::facts::facts;
pub use super::host_index::SelectorCache;
use super::host_index::filter_host_events;

/// Names of the attempt facts a `facts` selector can test.
pub const FACT_NAMES: &[&str] = &[
    "clock_offset_seconds",
    "connected",
    "seen_by",
    "outcome",
    "primary",
    "extended",
    "extended_source",
    "primary_reported",
    "client",
    "gateway",
    "server",
    "target",
    "user",
];

/// One event that matched a selector.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    /// The selector's name (shared with the rule).
    pub selector: std::sync::Arc<str>,
    /// Position in the timeline.
    pub index: usize,
    /// The role of the machine that logged it.
    pub role: HostRole,
    /// Its time on the reference clock.
    pub corrected_time: DateTime<Utc>,
}

/// A rule that fired for an attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The rule id (= cause id).
    pub rule_id: String,
    /// The rule's confidence.
    pub confidence: f64,
    /// The rule is a fallback.
    pub fallback: bool,
    /// Evidence events, in corrected time order (at most [`MAX_MATCHES_PER_SELECTOR`] per selector).
    pub evidence: Vec<Match>,
    /// Matching events left out of `evidence` because a selector matched more than the cap.
    pub evidence_omitted: usize,
    /// Captured values by name.
    pub captures: BTreeMap<String, String>,
}

/// Whether a rule can explain an attempt at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applicability {
    /// Outcome and codes fit: the rule is evaluated.
    Applies,
    /// The outcome fits but a code the rule lists is unknown for this attempt: the rule cannot
    /// fire, but the logs it requires would still help decide it.
    Possible,
    /// The outcome or a known code rules it out.
    No,
}

/// Does `rule` apply to `attempt`?
pub fn applicability(rule: &CompiledRule, attempt: &Attempt) -> Applicability {
    let a = &rule.applies_to;
    if a.outcome.is_some_and(|o| o != attempt.outcome) {
        return Applicability::No;
    }
    let mut result = Applicability::Applies;
    for (list, code) in [
        (&a.primary, attempt.codes.primary),
        (&a.extended, attempt.codes.extended),
    ] {
        match (list, code) {
            (None, _) => {}
            (Some(_), None) => result = Applicability::Possible,
            (Some(l), Some(c)) if l.contains(&c) => {}
            (Some(_), Some(_)) => return Applicability::No,
        }
    }
    result
}

/// One attempt prepared for evaluation: its hosts per role and its facts.
pub struct Context<'a> {
    /// The whole analysis.
    pub analysis: &'a Analysis,
    /// The attempt.
    pub attempt: &'a Attempt,
    /// Hosts playing each role (as logged), in a fixed order.
    pub hosts: BTreeMap<Role, Vec<String>>,
    /// The attempt facts.
    pub facts: Fields,
    /// Events per host-scope selector and host, shared by every attempt of a run.
    pub cache: Option<&'a SelectorCache>,
}

impl<'a> Context<'a> {
    /// Prepare `attempt`, sharing a run's selector cache.
    pub fn with_cache(
        analysis: &'a Analysis,
        attempt: &'a Attempt,
        cache: &'a SelectorCache,
    ) -> Self {
        Context {
            cache: Some(cache),
            ..Context::new(analysis, attempt)
        }
    }

    /// Prepare `attempt`.
    pub fn new(analysis: &'a Analysis, attempt: &'a Attempt) -> Self {
        let mut hosts = BTreeMap::new();
        for role in [Role::Client, Role::Gateway, Role::Server, Role::Dc] {
            hosts.insert(role, resolve_hosts(analysis, attempt, role));
        }
        let mut any: Vec<String> = hosts.values().flatten().cloned().collect();
        any.sort_by_key(|h| host_key(h));
        any.dedup_by_key(|h| host_key(h));
        hosts.insert(Role::Any, any);
        let facts = facts(analysis, attempt);
        Context {
            analysis,
            attempt,
            hosts,
            facts,
            cache: None,
        }
    }

    /// The hosts playing `role` (empty when unknown).
    pub fn hosts_for(&self, role: Role) -> &[String] {
        self.hosts.get(&role).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The machines playing `role` in `attempt`, by the names they log under.
pub fn resolve_hosts(analysis: &Analysis, attempt: &Attempt, role: Role) -> Vec<String> {
    let known = |h: &str| !analysis.timeline.host_events(h).is_empty();
    match role {
        Role::Client => attempt
            .client
            .iter()
            .filter(|h| known(h))
            .cloned()
            .collect(),
        Role::Gateway => attempt.gateway.iter().cloned().collect(),
        Role::Server => match (&attempt.server, &attempt.target) {
            (Some(s), _) => vec![s.clone()],
            (None, Some(t)) => server_by_target(analysis, attempt, t).into_iter().collect(),
            (None, None) => Vec::new(),
        },
        Role::Dc => analysis
            .correlation
            .hosts
            .iter()
            .filter(|h| h.roles.contains(&HostRole::Dc))
            .map(|h| h.name.clone())
            .collect(),
        Role::Any => Vec::new(),
    }
}

/// The host whose name is the attempt's target (full or short name), other than the client.
fn server_by_target(analysis: &Analysis, attempt: &Attempt, target: &str) -> Option<String> {
    let client = attempt.client.as_deref().map(host_key);
    let t_key = host_key(target);
    let t_short = short_name(target);
    analysis
        .timeline
        .by_host
        .iter()
        .filter(|(k, _)| Some(*k) != client.as_ref())
        .find(|(k, _)| **k == t_key || short_name(k) == t_short)
        .and_then(|(_, idx)| idx.first())
        .map(|&i| analysis.timeline.events[i as usize].host().to_string())
}

/// Evaluate `rule` for the prepared attempt (the caller checks [`applicability`] first).
pub fn evaluate(rule: &CompiledRule, ctx: &Context<'_>) -> Option<Finding> {
    let results: Vec<SelResult> = rule
        .selectors
        .iter()
        .map(|s| {
            let (matches, total) = match &s.kind {
                SelectorKind::Events(es) => event_matches(&s.name, es, ctx),
                SelectorKind::Facts(preds) => {
                    return SelResult {
                        holds: preds.iter().all(|p| p.matches(&ctx.facts)),
                        matches: Vec::new(),
                        total: 0,
                    };
                }
            };
            SelResult {
                holds: total >= s.min_count,
                matches,
                total,
            }
        })
        .collect();
    if !eval(&rule.condition, &results) {
        return None;
    }
    let mut positive = BTreeSet::new();
    collect(&rule.condition, true, &results, &mut positive);
    let mut evidence: Vec<Match> = positive
        .iter()
        .flat_map(|&i| results[i].matches.iter().cloned())
        .collect();
    // One line per event: an event matched by several selectors is listed once, under the first
    // of them in the rule's order (the sort is stable and `positive` is in selector order).
    evidence.sort_by_key(|m| (m.corrected_time, m.index));
    evidence.dedup_by_key(|m| m.index);
    let evidence_omitted = positive
        .iter()
        .map(|&i| results[i].total - results[i].matches.len())
        .sum();
    Some(Finding {
        rule_id: rule.id.clone(),
        confidence: rule.confidence,
        fallback: rule.fallback,
        evidence,
        evidence_omitted,
        captures: captures(rule, ctx, &results, &positive),
    })
}

struct SelResult {
    holds: bool,
    /// The matches kept (see [`MAX_MATCHES_PER_SELECTOR`]).
    matches: Vec<Match>,
    /// How many events matched in all.
    total: usize,
}

fn eval(e: &Expr, r: &[SelResult]) -> bool {
    match e {
        Expr::Sel(i) => r[*i].holds,
        Expr::Not(inner) => !eval(inner, r),
        Expr::And(items) => items.iter().all(|x| eval(x, r)),
        Expr::Or(items) => items.iter().any(|x| eval(x, r)),
        Expr::Then(ids) => {
            let mut after: Option<DateTime<Utc>> = None;
            for &i in ids {
                if !r[i].holds {
                    return false;
                }
                let next = r[i]
                    .matches
                    .iter()
                    .map(|m| m.corrected_time)
                    .filter(|t| after.is_none_or(|a| *t >= a))
                    .min();
                match next {
                    Some(t) => after = Some(t),
                    None => return false,
                }
            }
            true
        }
    }
}

/// Selectors that hold in a positive position of a true part of the condition.
fn collect(e: &Expr, positive: bool, r: &[SelResult], out: &mut BTreeSet<usize>) {
    match e {
        Expr::Sel(i) if positive && r[*i].holds => {
            out.insert(*i);
        }
        Expr::Sel(_) => {}
        Expr::Not(inner) => collect(inner, !positive, r, out),
        Expr::And(items) | Expr::Or(items) => {
            for x in items {
                if !positive || eval(x, r) {
                    collect(x, positive, r, out);
                }
            }
        }
        Expr::Then(ids) if positive => out.extend(ids.iter().copied()),
        Expr::Then(_) => {}
    }
}

fn captures(
    rule: &CompiledRule,
    ctx: &Context<'_>,
    results: &[SelResult],
    positive: &BTreeSet<usize>,
) -> BTreeMap<String, String> {
    let events = &ctx.analysis.timeline.events;
    let mut out = BTreeMap::new();
    for (i, s) in rule.selectors.iter().enumerate() {
        if !positive.contains(&i) {
            continue;
        }
        for (name, field) in &s.captures {
            if out.contains_key(name) {
                continue;
            }
            let value = match &s.kind {
                SelectorKind::Facts(_) => {
                    predicate::lookup(&ctx.facts, field).map(FieldValue::to_text)
                }
                SelectorKind::Events(_) => results[i]
                    .matches
                    .iter()
                    .find_map(|m| predicate::lookup(&events[m.index].fields, field))
                    .map(FieldValue::to_text),
            };
            if let Some(v) = value {
                out.insert(name.clone(), v);
            }
        }
    }
    out
}

/// The window `[start − before, end + after]` of a selector for the attempt.
fn window(sel: &EventSelector, attempt: &Attempt) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = attempt
        .ended
        .unwrap_or(attempt.started)
        .max(attempt.started);
    (attempt.started - sel.before, end + sel.after)
}

/// Matches kept per selector. Every match is counted (for `min_count`), but a busy host can log
/// tens of thousands of the same event in a window (a brute-forced DC's Schannel errors): only the
/// ones closest to the attempt are kept as evidence, and the rest are reported as omitted.
pub const MAX_MATCHES_PER_SELECTOR: usize = 20;

/// A matching event before it is kept as evidence.
struct Hit {
    index: usize,
    role: HostRole,
    corrected_time: DateTime<Utc>,
}

/// The selector's matches (at most [`MAX_MATCHES_PER_SELECTOR`], closest to the attempt, in time
/// order) and how many events matched in all.
fn event_matches(
    name: &std::sync::Arc<str>,
    sel: &EventSelector,
    ctx: &Context<'_>,
) -> (Vec<Match>, usize) {
    let (lo, hi) = window(sel, ctx.attempt);
    let events = &ctx.analysis.timeline.events;
    let mut hits = Vec::new();
    let mut host_total = None;
    match sel.scope {
        Scope::Attempt => {
            for l in &ctx.attempt.events {
                if role_fits(sel.role, l.role)
                    && l.corrected_time >= lo
                    && l.corrected_time <= hi
                    && event_fits(sel, &events[l.index])
                {
                    hits.push(Hit {
                        index: l.index,
                        role: l.role,
                        corrected_time: l.corrected_time,
                    });
                }
            }
        }
        Scope::Host => {
            let mut counted = 0;
            for role in host_roles(sel.role) {
                for host in ctx.hosts_for(role) {
                    counted += host_matches(sel, ctx, host, role, (lo, hi), &mut hits);
                }
            }
            // One host and one event id give hits already in time order.
            if !hits.is_sorted_by_key(|h| (h.corrected_time, h.index)) {
                hits.sort_by_key(|h| (h.corrected_time, h.index));
            }
            let before = hits.len();
            hits.dedup_by_key(|h| h.index);
            host_total = Some(counted - (before - hits.len()));
        }
    }
    let total = host_total.unwrap_or(hits.len()).max(hits.len());
    if total > MAX_MATCHES_PER_SELECTOR {
        hits = closest(hits, ctx.attempt.started, MAX_MATCHES_PER_SELECTOR);
    }
    let matches = hits
        .into_iter()
        .map(|h| Match {
            selector: name.clone(),
            index: h.index,
            role: h.role,
            corrected_time: h.corrected_time,
        })
        .collect();
    (matches, total)
}

/// The `k` hits closest in time to `start`, in time order (`hits` is in time order).
fn closest(hits: Vec<Hit>, start: DateTime<Utc>, k: usize) -> Vec<Hit> {
    let range = closest_range(hits.len(), k, start, |j| hits[j].corrected_time);
    hits.into_iter()
        .skip(range.start)
        .take(range.len())
        .collect()
}

/// The range of the `k` items closest in time to `start` among `len` items in time order,
/// where `time_of(j)` is item `j`'s time.
fn closest_range(
    len: usize,
    k: usize,
    start: DateTime<Utc>,
    time_of: impl Fn(usize) -> DateTime<Utc>,
) -> std::ops::Range<usize> {
    // Binary search for the first item at or after `start`.
    let (mut a, mut b) = (0, len);
    while a < b {
        let m = a + (b - a) / 2;
        if time_of(m) < start {
            a = m + 1;
        } else {
            b = m;
        }
    }
    let (mut lo, mut hi) = (a, a); // the kept range is lo..hi
    while hi - lo < k {
        let take_left = match (lo.checked_sub(1), (hi < len).then_some(hi)) {
            (Some(l), Some(r)) => start - time_of(l) <= time_of(r) - start,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_left {
            lo -= 1;
        } else {
            hi += 1;
        }
    }
    lo..hi
}

fn host_roles(role: Role) -> Vec<Role> {
    match role {
        Role::Any => vec![Role::Client, Role::Gateway, Role::Server, Role::Dc],
        r => vec![r],
    }
}

fn host_role(role: Role) -> HostRole {
    match role {
        Role::Client => HostRole::Client,
        Role::Gateway => HostRole::Gateway,
        Role::Server => HostRole::Server,
        Role::Dc => HostRole::Dc,
        Role::Any => HostRole::Unknown,
    }
}

/// Add `host`'s matches in the window to `out`; returns how many events matched. With the run's
/// cache only the closest [`MAX_MATCHES_PER_SELECTOR`] are added (the rest are only counted).
fn host_matches(
    sel: &EventSelector,
    ctx: &Context<'_>,
    host: &str,
    role: Role,
    (lo, hi): (DateTime<Utc>, DateTime<Utc>),
    out: &mut Vec<Hit>,
) -> usize {
    let corr = &ctx.analysis.correlation;
    let timeline = &ctx.analysis.timeline;
    let events = &timeline.events;
    // Host events are in host-clock order: search the window in host time.
    let offset = Duration::milliseconds((corr.offset_of(host) * 1000.0).round() as i64);
    let (from, to) = (lo - offset, hi - offset);
    let hit = |i: usize| Hit {
        index: i,
        role: host_role(role),
        corrected_time: events[i].time + offset,
    };
    if let Some(cache) = ctx.cache {
        let list = cache.events(sel, timeline, host);
        let time = |i: u32| events[i as usize].time;
        let first = list.partition_point(|&i| time(i) < from);
        let last = list.partition_point(|&i| time(i) <= to);
        // Pick the closest in host time (the offset is the same for all), then build only those.
        let window = &list[first..last];
        let start = ctx.attempt.started - offset;
        let kept = closest_range(window.len(), MAX_MATCHES_PER_SELECTOR, start, |j| {
            time(window[j])
        });
        out.extend(window[kept].iter().map(|&i| hit(i as usize)));
        return window.len();
    }
    let mut count = 0;
    for &i in &filter_host_events(sel, timeline, host) {
        let i = i as usize;
        let t = events[i].time;
        if t >= from && t <= to {
            out.push(hit(i));
            count += 1;
        }
    }
    count
}

fn role_fits(want: Role, have: HostRole) -> bool {
    want == Role::Any || host_role(want) == have
}

/// Channel, provider, event id and field predicates.
pub fn event_fits(sel: &EventSelector, e: &Event) -> bool {
    if !sel.event_ids.is_empty() && !sel.event_ids.contains(&e.event_id) {
        return false;
    }
    names_fit(sel, e) && fields_fit(sel, e)
}

/// Channel and provider.
pub(super) fn names_fit(sel: &EventSelector, e: &Event) -> bool {
    sel.channel
        .as_ref()
        .is_none_or(|c| c.eq_ignore_ascii_case(e.channel()))
        && sel
            .provider
            .as_ref()
            .is_none_or(|p| provider_matches(p, e.provider()))
}

/// Field predicates.
pub(super) fn fields_fit(sel: &EventSelector, e: &Event) -> bool {
    sel.predicates
        .iter()
        .all(|p: &FieldPredicate| p.matches(&e.fields))
}
