//! Linking the client, gateway and server views of one attempt, and estimating clock offsets.
//!
//! Takes: the views rebuilt per machine.
//! Produces: [`Links`] — which views belong together — and [`Offsets`] — how far each host's
//! clock is from the reference clock — and then the assembled [`Attempt`]s.
//!
//! Linking cannot trust the clocks, so it runs in two passes. First every plausible pair (names
//! match, times within [`MAX_SKEW_SECONDS`]) gives a time difference; per pair of hosts the densest
//! cluster of differences is the clock offset between them. Then pairs whose difference is within
//! [`MATCH_TOLERANCE_SECONDS`] of that offset are matched one-to-one, closest first.

use super::client::ClientView;
use super::gateway::GatewayView;
use super::server::ServerView;
use super::{Attempt, AttemptCodes, LinkedEvent, host_key, outcome, shift, short_name};
use crate::event::Event;
use crate::event::catalog::HostRole;
use std::collections::{BTreeMap, BTreeSet};

/// Largest clock difference considered when pairing views across machines.
pub const MAX_SKEW_SECONDS: f64 = 12.0 * 3600.0;
/// How far a pair may be from its hosts' estimated offset and still be linked.
pub const MATCH_TOLERANCE_SECONDS: f64 = 30.0;
/// Half-width of the cluster used to estimate an offset.
const CLUSTER_SECONDS: f64 = 5.0;
/// A clock offset resting on a single linked pair, among other candidate pairs, is accepted only up
/// to this size: one pair far from zero is then more often two unrelated connections than a clock
/// that far off. (A pair with no competitor is accepted whatever its size.)
const SINGLE_PAIR_MAX_SECONDS: f64 = 120.0;
/// Differences below this are network and processing latency, not clock offset.
const LATENCY_SECONDS: f64 = 1.5;

/// Estimated clock offsets: seconds to add to each host's clock to get its reference clock.
#[derive(Clone, Debug, Default)]
pub struct Offsets {
    /// Offset per host key.
    pub values: BTreeMap<String, f64>,
    /// Number of linked pairs behind each estimate.
    pub samples: BTreeMap<String, usize>,
    /// The reference host of each host's group of linked hosts.
    pub reference: BTreeMap<String, String>,
}

/// Which views were linked.
#[derive(Debug, Default)]
pub struct Links {
    /// Client view → gateway view.
    pub client_gateway: BTreeMap<usize, usize>,
    /// Client view → server view.
    pub client_server: BTreeMap<usize, usize>,
    /// Gateway view → server view.
    pub gateway_server: BTreeMap<usize, usize>,
    /// The offsets estimated on the way.
    pub offsets: Offsets,
}

/// A pairwise clock estimate: (left host, right host, offset in seconds, matched pairs).
type Estimate = (String, String, f64, usize);

/// A candidate pair of views: (left, right, right time − left time in seconds).
type Candidate = (usize, usize, f64);

/// Do a typed target and a host name name the same machine?
pub fn names_match(target: &str, host: &str) -> bool {
    let (a, b) = (host_key(target), host_key(host));
    !a.is_empty() && (a == b || short_name(&a) == short_name(&b))
}

fn seconds(a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>) -> f64 {
    (b - a).num_milliseconds() as f64 / 1000.0
}

/// Pair every client view with the views on the other side that could be the same attempt.
fn candidates<L, R>(
    left: &[L],
    right: &[R],
    name_of_left: impl Fn(&L) -> Vec<String>,
    host_of_right: impl Fn(&R) -> &str,
    time_of: impl Fn(&L, &R) -> f64,
) -> Vec<Candidate> {
    let right_hosts: BTreeSet<String> = right.iter().map(|r| host_key(host_of_right(r))).collect();
    let mut out = Vec::new();
    for (i, l) in left.iter().enumerate() {
        let names = name_of_left(l);
        let named = names
            .iter()
            .any(|n| right_hosts.iter().any(|h| names_match(n, h)));
        for (j, r) in right.iter().enumerate() {
            let host = host_of_right(r);
            // A target typed as an address cannot be matched by name; then only a single
            // candidate machine is accepted.
            let ok = if named {
                names.iter().any(|n| names_match(n, host))
            } else {
                right_hosts.len() == 1
            };
            let d = time_of(l, r);
            if ok && d.abs() <= MAX_SKEW_SECONDS {
                out.push((i, j, d));
            }
        }
    }
    out
}

/// The best-supported cluster of candidate differences: the one linking the most distinct views
/// on both sides (a view counts once, however many partners it has in the cluster); among equally
/// supported clusters, the one closest to zero, since clocks are more often right than wrong.
/// Returns (smallest difference in the cluster, support).
fn densest(cands: &[Candidate]) -> Option<(f64, usize)> {
    let mut sorted: Vec<&Candidate> = cands.iter().collect();
    sorted.sort_by(|a, b| a.2.total_cmp(&b.2));
    let mut best: Option<(f64, usize)> = None;
    let mut lo = 0;
    for hi in 0..sorted.len() {
        while sorted[hi].2 - sorted[lo].2 > 2.0 * CLUSTER_SECONDS {
            lo += 1;
        }
        let window = &sorted[lo..=hi];
        let lefts: BTreeSet<usize> = window.iter().map(|c| c.0).collect();
        let rights: BTreeSet<usize> = window.iter().map(|c| c.1).collect();
        let support = lefts.len().min(rights.len());
        // Every difference is the clock offset plus a non-negative delay (the far side logs
        // after the near side acted), so the smallest one in the cluster is the tightest estimate.
        let centre = window[0].2;
        let better = match best {
            None => true,
            Some((c, n)) => support > n || (support == n && centre.abs() < c.abs()),
        };
        if better {
            best = Some((centre, support));
        }
    }
    best
}

/// Candidates grouped by (left host, right host).
type ByPair = BTreeMap<(String, String), Vec<Candidate>>;

fn group_by_pair(
    cands: Vec<Candidate>,
    left_host: impl Fn(usize) -> String,
    right_host: impl Fn(usize) -> String,
) -> ByPair {
    let mut by_pair = ByPair::new();
    for c in cands {
        by_pair
            .entry((host_key(&left_host(c.0)), host_key(&right_host(c.1))))
            .or_default()
            .push(c);
    }
    by_pair
}

/// The pairwise clock estimates of a relation.
fn estimates(by_pair: &ByPair) -> Vec<Estimate> {
    by_pair
        .iter()
        .filter_map(|((lh, rh), list)| {
            let (offset, n) = densest(list)?;
            // A lone pair is trusted when nothing competes with it, or when it is near zero.
            let trusted = n > 1 || list.len() == 1 || offset.abs() <= SINGLE_PAIR_MAX_SECONDS;
            trusted.then(|| (lh.clone(), rh.clone(), offset, n))
        })
        .collect()
}

/// The difference expected between two hosts: from the solved offsets when both belong to the
/// same reference group, else from the pair's own estimate.
fn expected_delta(offsets: &Offsets, pair: &(String, String), own: Option<f64>) -> Option<f64> {
    let (l, r) = pair;
    match (offsets.values.get(l), offsets.values.get(r)) {
        (Some(a), Some(b)) if offsets.reference.get(l) == offsets.reference.get(r) => Some(a - b),
        _ => own,
    }
}

/// Match candidates one-to-one, closest to the expected difference first.
fn match_pairs(by_pair: ByPair, offsets: &Offsets, own: &[Estimate]) -> BTreeMap<usize, usize> {
    let mut links = BTreeMap::new();
    let mut used_right = BTreeSet::new();
    for (pair, mut list) in by_pair {
        let estimate = own
            .iter()
            .find(|e| e.0 == pair.0 && e.1 == pair.1)
            .map(|e| e.2);
        let Some(expected) = expected_delta(offsets, &pair, estimate) else {
            continue;
        };
        // Estimates within the latency band were treated as "in sync"; match around the raw one.
        let expected = if expected == 0.0 {
            estimate.unwrap_or(0.0)
        } else {
            expected
        };
        list.retain(|c| (c.2 - expected).abs() <= MATCH_TOLERANCE_SECONDS);
        list.sort_by(|a, b| (a.2 - expected).abs().total_cmp(&(b.2 - expected).abs()));
        for (l, r, _) in list {
            if links.contains_key(&l) || used_right.contains(&r) {
                continue;
            }
            links.insert(l, r);
            used_right.insert(r);
        }
    }
    links
}

/// True unless both users are known and differ (compared without the domain, case-insensitively).
fn same_user(a: &Option<String>, b: &Option<String>) -> bool {
    let bare = |u: &str| {
        u.rsplit('\\')
            .next()
            .unwrap_or(u)
            .split('@')
            .next()
            .unwrap_or(u)
            .to_ascii_lowercase()
    };
    match (a, b) {
        (Some(a), Some(b)) => bare(a) == bare(b),
        _ => true,
    }
}

/// Client ↔ gateway candidates: the gateway's resource must name the client's target; a gateway
/// refusal logged before the resource was known (201, 203, 306 carry none) pairs by time alone.
fn client_gateway_candidates(clients: &[ClientView], gateways: &[GatewayView]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let names: Vec<&String> = c.target.iter().chain(&c.target_address).collect();
        for (j, g) in gateways.iter().enumerate() {
            let ok = match &g.resource {
                Some(r) => names.iter().any(|n| names_match(n, r)),
                None => g.failure_event.is_some(),
            };
            let d = seconds(c.started, g.started);
            if ok && d.abs() <= MAX_SKEW_SECONDS {
                out.push((i, j, d));
            }
        }
    }
    out
}

/// Link views across machines and estimate every host's clock offset.
pub fn link_views(
    clients: &[ClientView],
    gateways: &[GatewayView],
    servers: &[ServerView],
) -> Links {
    let client_names = |c: &ClientView| c.target.iter().chain(&c.target_address).cloned().collect();
    let cg = client_gateway_candidates(clients, gateways);
    let cs = candidates(
        clients,
        servers,
        client_names,
        |s| &s.host,
        |c, s| seconds(c.started, s.started),
    );
    // A tunnel the gateway refused (CAP, RAP, limit, tunnel failure, host unreachable) never
    // reached a session host, and a gateway and host that both name the user must agree on it.
    let reached = |g: &GatewayView| g.connected || g.failure_event.is_none();
    let gs: Vec<Candidate> = candidates(
        gateways,
        servers,
        |g| g.resource.iter().cloned().collect(),
        |s| &s.host,
        |g, s| seconds(g.started, s.started),
    )
    .into_iter()
    .filter(|(g, s, _)| reached(&gateways[*g]) && same_user(&gateways[*g].user, &servers[*s].user))
    .collect();
    let cg = group_by_pair(
        cg,
        |i| clients[i].host.clone(),
        |j| gateways[j].host.clone(),
    );
    let cs = group_by_pair(cs, |i| clients[i].host.clone(), |j| servers[j].host.clone());
    let gs = group_by_pair(
        gs,
        |i| gateways[i].host.clone(),
        |j| servers[j].host.clone(),
    );
    let (e_cg, e_cs, e_gs) = (estimates(&cg), estimates(&cs), estimates(&gs));
    let all: Vec<Estimate> = e_cg.iter().chain(&e_cs).chain(&e_gs).cloned().collect();
    let offsets = solve_offsets(&all, &reference_candidates(clients, gateways, servers));
    Links {
        client_gateway: match_pairs(cg, &offsets, &e_cg),
        client_server: match_pairs(cs, &offsets, &e_cs),
        gateway_server: match_pairs(gs, &offsets, &e_gs),
        offsets,
    }
}

/// Hosts in the order they are preferred as a clock reference: clients with most attempts first.
fn reference_candidates(
    clients: &[ClientView],
    gateways: &[GatewayView],
    servers: &[ServerView],
) -> Vec<String> {
    let mut counts: BTreeMap<(u8, String), usize> = BTreeMap::new();
    for c in clients {
        *counts.entry((0, host_key(&c.host))).or_default() += 1;
    }
    for g in gateways {
        *counts.entry((1, host_key(&g.host))).or_default() += 1;
    }
    for s in servers {
        *counts.entry((2, host_key(&s.host))).or_default() += 1;
    }
    let mut list: Vec<((u8, String), usize)> = counts.into_iter().collect();
    list.sort_by(|a, b| {
        a.0.0
            .cmp(&b.0.0)
            .then(b.1.cmp(&a.1))
            .then(a.0.1.cmp(&b.0.1))
    });
    list.into_iter().map(|((_, h), _)| h).collect()
}

/// Turn pairwise estimates into per-host offsets. From each group's reference host, the group
/// grows along the best-supported estimate first (a maximum spanning tree by number of linked
/// pairs), so a host is placed by its strongest evidence, not by whichever edge is met first.
fn solve_offsets(estimates: &[Estimate], order: &[String]) -> Offsets {
    let mut offsets = Offsets::default();
    for root in order {
        if offsets.values.contains_key(root) {
            continue;
        }
        offsets.values.insert(root.clone(), 0.0);
        offsets.reference.insert(root.clone(), root.clone());
        // Hops from the root: on equal support the shorter chain wins, since every hop adds its
        // own network latency to the estimate.
        let mut depth: BTreeMap<String, usize> = BTreeMap::from([(root.clone(), 0)]);
        loop {
            // The strongest estimate from a placed host of this group to an unplaced host.
            let next = estimates
                .iter()
                .filter_map(|(a, b, delta, n)| {
                    // delta = (b's clock) − (a's clock) for the same moment, plus latency.
                    let delta = if delta.abs() < LATENCY_SECONDS {
                        0.0
                    } else {
                        *delta
                    };
                    let placed = |h: &String| offsets.values.contains_key(h);
                    if depth.contains_key(a) && !placed(b) {
                        Some((b, offsets.values[a] - delta, *n, depth[a] + 1))
                    } else if depth.contains_key(b) && !placed(a) {
                        Some((a, offsets.values[b] + delta, *n, depth[b] + 1))
                    } else {
                        None
                    }
                })
                .max_by(|x, y| {
                    x.2.cmp(&y.2)
                        .then_with(|| y.3.cmp(&x.3))
                        .then_with(|| y.0.cmp(x.0))
                });
            let Some((host, value, n, hops)) = next else {
                break;
            };
            let host = host.clone();
            offsets
                .values
                .insert(host.clone(), (value * 10.0).round() / 10.0);
            offsets.samples.insert(host.clone(), n);
            offsets.reference.insert(host.clone(), root.clone());
            depth.insert(host, hops);
        }
    }
    offsets
}

/// Build one attempt per linked group of views.
pub fn assemble(
    events: &[Event],
    clients: &[ClientView],
    gateways: &[GatewayView],
    servers: &[ServerView],
    links: &Links,
) -> Vec<Attempt> {
    let mut used_gateways = BTreeSet::new();
    let mut used_servers = BTreeSet::new();
    let mut groups: Vec<(Option<usize>, Option<usize>, Option<usize>)> = Vec::new();
    for c in 0..clients.len() {
        let g = links.client_gateway.get(&c).copied();
        let via_gateway = g.and_then(|g| links.gateway_server.get(&g).copied());
        let s = via_gateway
            .or_else(|| links.client_server.get(&c).copied())
            .filter(|s| !used_servers.contains(s));
        g.map(|g| used_gateways.insert(g));
        s.map(|s| used_servers.insert(s));
        groups.push((Some(c), g, s));
    }
    for g in (0..gateways.len()).filter(|g| !used_gateways.contains(g)) {
        let s = links
            .gateway_server
            .get(&g)
            .copied()
            .filter(|s| !used_servers.contains(s));
        s.map(|s| used_servers.insert(s));
        groups.push((None, Some(g), s));
    }
    for s in (0..servers.len()).filter(|s| !used_servers.contains(s)) {
        groups.push((None, None, Some(s)));
    }
    let mut attempts: Vec<Attempt> = groups
        .into_iter()
        .map(|(c, g, s)| {
            let parts = outcome::Parts {
                client: c.map(|i| &clients[i]),
                gateway: g.map(|i| &gateways[i]),
                server: s.map(|i| &servers[i]),
            };
            build_attempt(events, &parts, &links.offsets)
        })
        .collect();
    attempts.sort_by(|a, b| {
        (a.started, &a.client, &a.target, first_source(events, a)).cmp(&(
            b.started,
            &b.client,
            &b.target,
            first_source(events, b),
        ))
    });
    for (n, a) in attempts.iter_mut().enumerate() {
        a.id = format!("A{:04}", n + 1);
    }
    attempts
}

/// The file and place of an attempt's first event (ordered as its [`crate::event::Provenance`]).
fn first_source<'e>(events: &'e [Event], a: &Attempt) -> Option<(&'e str, crate::event::Locator)> {
    a.events.first().map(|l| {
        let e = &events[l.index];
        (&**e.path(), e.locator())
    })
}

fn build_attempt(events: &[Event], parts: &outcome::Parts<'_>, offsets: &Offsets) -> Attempt {
    let offset = |host: &str| offsets.values.get(&host_key(host)).copied().unwrap_or(0.0);
    // Exactly as many as will be pushed: a run holds every attempt's links until it ends.
    let views = [
        parts.client.map(|c| c.events.len()),
        parts.gateway.map(|g| g.events.len()),
        parts.server.map(|s| s.events.len()),
    ];
    let mut linked = Vec::with_capacity(views.iter().flatten().sum());
    let mut push = |indices: &[usize], role: HostRole| {
        for &i in indices {
            let e = &events[i];
            linked.push(LinkedEvent {
                index: i,
                role,
                corrected_time: shift(e.time, offset(e.host())),
            });
        }
    };
    let mut seen_by = Vec::new();
    if let Some(c) = parts.client {
        push(&c.events, HostRole::Client);
        seen_by.push(HostRole::Client);
    }
    if let Some(g) = parts.gateway {
        push(&g.events, HostRole::Gateway);
        seen_by.push(HostRole::Gateway);
    }
    if let Some(s) = parts.server {
        push(&s.events, HostRole::Server);
        seen_by.push(HostRole::Server);
    }
    linked.sort_by_key(|l| (l.corrected_time, l.index));
    let started = linked.first().map(|l| l.corrected_time).unwrap_or_default();
    let ended = linked
        .last()
        .map(|l| l.corrected_time)
        .filter(|t| *t > started);
    let (outcome, codes) = outcome::decide(parts);
    Attempt {
        id: String::new(),
        client: parts.client_name(),
        client_address: parts
            .gateway
            .and_then(|g| g.client_address.clone())
            .or_else(|| {
                parts
                    .server
                    .and_then(|s| s.client_address.clone())
                    .filter(|_| parts.gateway.is_none())
            }),
        target: parts.target(),
        target_address: parts.client.and_then(|c| c.target_address.clone()),
        gateway: parts.gateway.map(|g| g.host.clone()),
        server: parts.server.map(|s| s.host.clone()),
        user: parts.user(),
        started,
        ended,
        outcome,
        codes: AttemptCodes { ..codes },
        seen_by,
        events: linked,
    }
}

#[cfg(test)]
mod tests;
