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
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Largest clock difference considered when pairing views across machines.
pub const MAX_SKEW_SECONDS: f64 = 12.0 * 3600.0;
/// How far a pair may be from its hosts' estimated offset and still be linked.
pub const MATCH_TOLERANCE_SECONDS: f64 = 30.0;
/// Half-width of the cluster used to estimate an offset.
const CLUSTER_SECONDS: f64 = 5.0;
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

/// The centre of the densest cluster of differences.
fn densest(deltas: &mut [f64]) -> Option<(f64, usize)> {
    deltas.sort_by(f64::total_cmp);
    let mut best: Option<(f64, usize)> = None;
    let mut lo = 0;
    for hi in 0..deltas.len() {
        while deltas[hi] - deltas[lo] > 2.0 * CLUSTER_SECONDS {
            lo += 1;
        }
        let n = hi - lo + 1;
        if best.is_none_or(|(_, m)| n > m) {
            let median = deltas[(lo + hi) / 2];
            best = Some((median, n));
        }
    }
    best
}

/// Estimate per host pair, then match one-to-one closest first. Returns the links and the
/// (left host, right host, offset, samples) estimates.
fn match_pairs(
    cands: Vec<Candidate>,
    left_host: impl Fn(usize) -> String,
    right_host: impl Fn(usize) -> String,
) -> (BTreeMap<usize, usize>, Vec<Estimate>) {
    let mut by_pair: BTreeMap<(String, String), Vec<Candidate>> = BTreeMap::new();
    for c in cands {
        by_pair
            .entry((host_key(&left_host(c.0)), host_key(&right_host(c.1))))
            .or_default()
            .push(c);
    }
    let mut links = BTreeMap::new();
    let mut used_right = BTreeSet::new();
    let mut estimates = Vec::new();
    for ((lh, rh), mut list) in by_pair {
        let mut deltas: Vec<f64> = list.iter().map(|c| c.2).collect();
        let Some((offset, _)) = densest(&mut deltas) else {
            continue;
        };
        list.retain(|c| (c.2 - offset).abs() <= MATCH_TOLERANCE_SECONDS);
        list.sort_by(|a, b| (a.2 - offset).abs().total_cmp(&(b.2 - offset).abs()));
        let mut matched = 0;
        for (l, r, _) in list {
            if links.contains_key(&l) || used_right.contains(&r) {
                continue;
            }
            links.insert(l, r);
            used_right.insert(r);
            matched += 1;
        }
        if matched > 0 {
            estimates.push((lh, rh, offset, matched));
        }
    }
    (links, estimates)
}

/// Link views across machines and estimate every host's clock offset.
pub fn link_views(
    clients: &[ClientView],
    gateways: &[GatewayView],
    servers: &[ServerView],
) -> Links {
    let client_names = |c: &ClientView| c.target.iter().chain(&c.target_address).cloned().collect();
    let cg = candidates(
        clients,
        gateways,
        |c| client_names(c),
        |g| g.resource.as_deref().unwrap_or(""),
        |c, g| seconds(c.started, g.started),
    );
    // Gateways are matched on the resource name, not the gateway's own host name.
    let cg: Vec<Candidate> = cg
        .into_iter()
        .filter(|(i, j, _)| {
            let resource = gateways[*j].resource.as_deref().unwrap_or("");
            client_names(&clients[*i])
                .iter()
                .any(|n| names_match(n, resource))
        })
        .collect();
    let cs = candidates(
        clients,
        servers,
        |c| client_names(c),
        |s| &s.host,
        |c, s| seconds(c.started, s.started),
    );
    let gs = candidates(
        gateways,
        servers,
        |g| g.resource.iter().cloned().collect(),
        |s| &s.host,
        |g, s| seconds(g.started, s.started),
    );
    let (client_gateway, mut est) = match_pairs(
        cg,
        |i| clients[i].host.clone(),
        |j| gateways[j].host.clone(),
    );
    let (client_server, est2) =
        match_pairs(cs, |i| clients[i].host.clone(), |j| servers[j].host.clone());
    let (gateway_server, est3) = match_pairs(
        gs,
        |i| gateways[i].host.clone(),
        |j| servers[j].host.clone(),
    );
    est.extend(est2);
    est.extend(est3);
    let reference_order = reference_candidates(clients, gateways, servers);
    Links {
        client_gateway,
        client_server,
        gateway_server,
        offsets: solve_offsets(&est, &reference_order),
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

/// Turn pairwise estimates into per-host offsets, breadth-first from each group's reference.
fn solve_offsets(estimates: &[Estimate], order: &[String]) -> Offsets {
    let mut offsets = Offsets::default();
    for root in order {
        if offsets.values.contains_key(root) {
            continue;
        }
        offsets.values.insert(root.clone(), 0.0);
        offsets.reference.insert(root.clone(), root.clone());
        let mut queue = VecDeque::from([root.clone()]);
        while let Some(host) = queue.pop_front() {
            let base = offsets.values[&host];
            for (a, b, delta, n) in estimates {
                // delta = (b's clock) − (a's clock) for the same moment, plus latency.
                let delta = if delta.abs() < LATENCY_SECONDS {
                    0.0
                } else {
                    *delta
                };
                let (next, value) = if *a == host {
                    (b, base - delta)
                } else if *b == host {
                    (a, base + delta)
                } else {
                    continue;
                };
                if !offsets.values.contains_key(next) {
                    offsets
                        .values
                        .insert(next.clone(), (value * 10.0).round() / 10.0);
                    offsets.samples.insert(next.clone(), *n);
                    offsets.reference.insert(next.clone(), root.clone());
                    queue.push_back(next.clone());
                }
            }
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

fn first_source<'e>(events: &'e [Event], a: &Attempt) -> Option<&'e crate::event::Provenance> {
    a.events.first().map(|l| &events[l.index].source)
}

fn build_attempt(events: &[Event], parts: &outcome::Parts<'_>, offsets: &Offsets) -> Attempt {
    let offset = |host: &str| offsets.values.get(&host_key(host)).copied().unwrap_or(0.0);
    let mut linked = Vec::new();
    let mut push = |indices: &[usize], role: HostRole| {
        for &i in indices {
            let e = &events[i];
            linked.push(LinkedEvent {
                index: i,
                role,
                corrected_time: shift(e.time, offset(&e.host)),
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
mod tests {
    use super::*;

    #[test]
    fn names_match_full_or_short() {
        assert!(names_match("rdsh01.contoso.local", "RDSH01.contoso.local"));
        assert!(names_match("rdsh01", "RDSH01.contoso.local"));
        assert!(!names_match("rdsh02", "RDSH01.contoso.local"));
        assert!(!names_match("", "x"));
        assert!(!names_match("10.0.0.1", "10.0.0.2"));
    }

    #[test]
    fn densest_cluster_ignores_outliers() {
        let mut d = vec![180.2, 181.0, 179.8, -3000.0, 900.0];
        let (centre, n) = densest(&mut d).unwrap();
        assert_eq!(n, 3);
        assert!((centre - 180.2).abs() < 0.5);
    }

    #[test]
    fn offsets_propagate_through_the_graph() {
        let est = vec![
            ("client".to_string(), "server".to_string(), 180.0, 2),
            ("client".to_string(), "gw".to_string(), -40.0, 1),
        ];
        let o = solve_offsets(&est, &["client".into(), "gw".into(), "server".into()]);
        assert_eq!(o.values["client"], 0.0);
        assert_eq!(o.values["server"], -180.0);
        assert_eq!(o.values["gw"], 40.0);
        assert_eq!(o.reference["server"], "client");
    }
}
