//! The RD Gateway's view of each connection attempt.
//!
//! Takes: the sorted events of a run.
//! Produces: one [`GatewayView`] per tunnel in the Gateway/Operational log: events grouped by
//! gateway host and client address (without port), split into sequences. A transport connection
//! (312/313) or an authorization step (200/201) starts a new tunnel once the previous one ended
//! (303, or a failure 201/301/304/306) or had already been authorized; 312/313 carry no user, so
//! the user cannot be part of the grouping key.

use crate::event::Event;
use crate::event::catalog::{GATEWAY_ADMIN, GATEWAY_OPERATIONAL};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One tunnel attempt as the gateway logged it.
#[derive(Clone, Debug)]
pub struct GatewayView {
    /// The gateway host.
    pub host: String,
    /// Positions of its events in the timeline.
    pub events: Vec<usize>,
    /// Client address (port stripped).
    pub client_address: Option<String>,
    /// User name as logged (`DOMAIN\user`).
    pub user: Option<String>,
    /// The resource (session host) requested.
    pub resource: Option<String>,
    /// First event (gateway clock).
    pub started: DateTime<Utc>,
    /// 302 seen: the gateway connected the client to the resource.
    pub connected: bool,
    /// The first failure event id (201, 301, 304, 306, 203…), if any.
    pub failure_event: Option<u32>,
    /// The ErrorCode of that failure (or of a 303 that did not end gracefully).
    pub error_code: Option<u64>,
}

/// Gateway events whose ErrorCode means a normal end.
const GRACEFUL: &[u64] = &[0, 1226];

fn is_gateway_event(e: &Event) -> bool {
    e.channel().eq_ignore_ascii_case(GATEWAY_OPERATIONAL)
        || e.channel().eq_ignore_ascii_case(GATEWAY_ADMIN)
}

/// Strip a port from `ip:port` or `[ip]:port`; keep plain addresses.
pub fn strip_port(address: &str) -> String {
    address_part(address).to_string()
}

/// [`strip_port`] as a slice of `address` (trimmed).
pub fn address_part(address: &str) -> &str {
    let a = address.trim();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match a.rsplit_once(':') {
        Some((ip, port)) if !ip.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => ip,
        _ => a,
    }
}

/// Group gateway events into tunnel attempts.
pub fn views(events: &[Event]) -> Vec<GatewayView> {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if !is_gateway_event(e) || matches!(e.event_id, 203 | 700 | 100..=103 | 400) {
            continue; // service-level events belong to no single tunnel
        }
        let address = e
            .field_text("IpAddress")
            .map(|a| strip_port(&a))
            .unwrap_or_default();
        groups
            .entry((super::host_key(e.host()), address))
            .or_default()
            .push(i);
    }
    let mut out: Vec<GatewayView> = groups
        .into_values()
        .flat_map(|g| split_sequences(events, g))
        .map(|g| build(events, g))
        .collect();
    out.sort_by(|a, b| (a.started, &a.host).cmp(&(b.started, &b.host)));
    out
}

fn split_sequences(events: &[Event], group: Vec<usize>) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    let mut closed = false;
    let mut authorized = false;
    for i in group {
        let id = events[i].event_id;
        let transport = matches!(id, 312 | 313);
        let authorization = matches!(id, 200 | 201);
        if (transport || authorization) && (closed || authorized) {
            out.push(Vec::new());
            closed = false;
            authorized = false;
        }
        authorized |= authorization;
        if let Some(last) = out.last_mut() {
            last.push(i);
        }
        if matches!(id, 303 | 201 | 301 | 304 | 306 | 307 | 309 | 202) {
            closed = true;
        }
    }
    out.retain(|g| !g.is_empty());
    out
}

fn build(events: &[Event], group: Vec<usize>) -> GatewayView {
    let first = &events[group[0]];
    let mut view = GatewayView {
        host: first.host().to_string(),
        events: Vec::new(),
        client_address: None,
        user: None,
        resource: None,
        started: first.time,
        connected: false,
        failure_event: None,
        error_code: None,
    };
    for &i in &group {
        let e = &events[i];
        view.client_address = view
            .client_address
            .take()
            .or_else(|| e.field_text("IpAddress").map(|a| strip_port(&a)));
        view.user = view.user.take().or_else(|| e.field_text("Username"));
        view.resource = view.resource.take().or_else(|| e.field_text("Resource"));
        let code = e.field_u64("ErrorCode");
        match e.event_id {
            302 => view.connected = true,
            201 | 301 | 304 | 306 | 309 if view.failure_event.is_none() => {
                view.failure_event = Some(e.event_id);
                view.error_code = code;
            }
            303 if code.is_some_and(|c| !GRACEFUL.contains(&c)) && view.failure_event.is_none() => {
                view.failure_event = Some(303);
                view.error_code = code;
            }
            _ => {}
        }
    }
    view.events = group;
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::tests_support::ev;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("10.0.0.5:50123"), "10.0.0.5");
        assert_eq!(strip_port("[fe80::1]:3389"), "fe80::1");
        assert_eq!(strip_port("fe80::1"), "fe80::1");
        assert_eq!(strip_port("10.0.0.5"), "10.0.0.5");
    }

    #[test]
    fn tunnels_are_split_and_failures_found() {
        let f = |ip: &'static str| [("IpAddress", ip), ("Username", "C\\a"), ("Resource", "srv")];
        let events = vec![
            ev("gw", GATEWAY_OPERATIONAL, 312, 0, None, &f("10.0.0.9:1")),
            ev("gw", GATEWAY_OPERATIONAL, 302, 1, None, &f("10.0.0.9")),
            ev(
                "gw",
                GATEWAY_OPERATIONAL,
                303,
                50,
                None,
                &[
                    ("IpAddress", "10.0.0.9"),
                    ("Username", "C\\a"),
                    ("ErrorCode", "1226"),
                ],
            ),
            ev("gw", GATEWAY_OPERATIONAL, 312, 60, None, &f("10.0.0.9:2")),
            ev(
                "gw",
                GATEWAY_OPERATIONAL,
                301,
                61,
                None,
                &[
                    ("IpAddress", "10.0.0.9"),
                    ("Username", "C\\a"),
                    ("ErrorCode", "23002"),
                ],
            ),
        ];
        let v = views(&events);
        assert_eq!(v.len(), 2);
        assert!(v[0].connected && v[0].failure_event.is_none());
        assert_eq!(v[1].failure_event, Some(301));
        assert_eq!(v[1].error_code, Some(23002));
        assert_eq!(v[1].resource.as_deref(), Some("srv"));
    }

    /// Regression: 312 carries no user, and formed a tunnel of its own.
    #[test]
    fn transport_event_without_user_joins_its_tunnel() {
        let events = vec![
            ev(
                "gw",
                GATEWAY_OPERATIONAL,
                312,
                0,
                None,
                &[("IpAddress", "10.0.0.9:5000")],
            ),
            ev(
                "gw",
                GATEWAY_OPERATIONAL,
                200,
                1,
                None,
                &[("IpAddress", "10.0.0.9"), ("Username", "C\\a")],
            ),
            ev(
                "gw",
                GATEWAY_OPERATIONAL,
                302,
                2,
                None,
                &[
                    ("IpAddress", "10.0.0.9"),
                    ("Username", "C\\a"),
                    ("Resource", "srv"),
                ],
            ),
            ev(
                "gw",
                GATEWAY_OPERATIONAL,
                312,
                30,
                None,
                &[("IpAddress", "10.0.0.9:5001")],
            ),
            ev(
                "gw",
                GATEWAY_OPERATIONAL,
                200,
                31,
                None,
                &[("IpAddress", "10.0.0.9"), ("Username", "C\\a")],
            ),
        ];
        let v = views(&events);
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].events.len(), 3);
        assert_eq!(v[1].events.len(), 2);
    }
}
