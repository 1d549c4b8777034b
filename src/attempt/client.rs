//! The client's view of each connection attempt.
//!
//! Takes: the sorted events of a run.
//! Produces: one [`ClientView`] per attempt in the RDPClient/Operational log: events grouped by
//! host and ActivityID (1024 target as typed, 1102 resolved address, 1025/1027 success markers,
//! 226 errors, 1026 end with the disconnect reason). Events without an ActivityID (text exports)
//! are grouped by sequence: a 1024 starts a new attempt on that host.

use crate::event::Event;
use crate::event::catalog::RDPCLIENT_OPERATIONAL;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One attempt as the client logged it.
#[derive(Clone, Debug)]
pub struct ClientView {
    /// The client host.
    pub host: String,
    /// Positions of its events in the timeline, in time order.
    pub events: Vec<usize>,
    /// Target as typed (1024 `Value`).
    pub target: Option<String>,
    /// Resolved server address (1102 `Value`).
    pub target_address: Option<String>,
    /// First event time (client clock).
    pub started: DateTime<Utc>,
    /// The 1026 time, if the attempt ended in the log.
    pub ended: Option<DateTime<Utc>>,
    /// 1025 or 1027 seen: the connection was established.
    pub connected: bool,
    /// The 1026 disconnect reason.
    pub disconnect_reason: Option<u64>,
    /// 1027 session id.
    pub session_id: Option<u64>,
    /// 1027 domain.
    pub domain: Option<String>,
}

fn is_client_event(e: &Event) -> bool {
    e.channel().eq_ignore_ascii_case(RDPCLIENT_OPERATIONAL)
}

/// Group the client events into attempts.
pub fn views(events: &[Event]) -> Vec<ClientView> {
    // Key: (host, activity) for events with an ActivityID; (host, sequence number) otherwise.
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let mut sequence: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if !is_client_event(e) {
            continue;
        }
        let host = super::host_key(e.host());
        let key = match &e.activity_id {
            Some(a) if !is_null_guid(a) => a.to_string(),
            _ => {
                let n = sequence.entry(host.clone()).or_insert(0);
                if e.event_id == 1024 {
                    *n += 1;
                }
                format!("#seq{:08}", *n)
            }
        };
        groups.entry((host, key)).or_default().push(i);
    }
    let mut out: Vec<ClientView> = groups
        .into_values()
        .flat_map(|group| split_reused_activity(events, group))
        .filter_map(|group| build(events, group))
        .collect();
    out.sort_by(|a, b| (a.started, &a.host).cmp(&(b.started, &b.host)));
    out
}

/// A client sometimes reuses an ActivityID for a reconnect: a new 1024 after a 1026 starts a new
/// attempt even within one ActivityID.
fn split_reused_activity(events: &[Event], group: Vec<usize>) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    let mut ended = false;
    for i in group {
        let id = events[i].event_id;
        if id == 1024 && ended {
            out.push(Vec::new());
            ended = false;
        }
        if id == 1026 {
            ended = true;
        }
        if let Some(last) = out.last_mut() {
            last.push(i);
        }
    }
    out.retain(|g| !g.is_empty());
    out
}

fn is_null_guid(a: &str) -> bool {
    a.trim_matches(|c| c == '{' || c == '}')
        .chars()
        .all(|c| c == '0' || c == '-')
}

fn build(events: &[Event], group: Vec<usize>) -> Option<ClientView> {
    let first = events.get(*group.first()?)?;
    let mut view = ClientView {
        host: first.host().to_string(),
        events: Vec::new(),
        target: None,
        target_address: None,
        started: first.time,
        ended: None,
        connected: false,
        disconnect_reason: None,
        session_id: None,
        domain: None,
    };
    for &i in &group {
        let e = &events[i];
        match e.event_id {
            1024 => view.target = view.target.take().or_else(|| e.field_text("Value")),
            1102 => view.target_address = e.field_text("Value"),
            1025 => view.connected = true,
            1027 => {
                view.connected = true;
                view.session_id = e.field_u64("SessionId").or(e.field_u64("SessionID"));
                view.domain = e.field_text("DomainName");
            }
            1026 => {
                view.ended = Some(e.time);
                view.disconnect_reason = e.field_u64("Value");
            }
            _ => {}
        }
    }
    view.events = group;
    Some(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::tests_support::ev;

    #[test]
    fn groups_by_activity_and_reads_markers() {
        let events = vec![
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1024,
                0,
                Some("{a}"),
                &[("Value", "srv")],
            ),
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1024,
                5,
                Some("{b}"),
                &[("Value", "other")],
            ),
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1102,
                1,
                Some("{a}"),
                &[("Value", "10.0.0.1")],
            ),
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1026,
                2,
                Some("{a}"),
                &[("Value", "2308")],
            ),
        ];
        let v = views(&events);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].target.as_deref(), Some("srv"));
        assert_eq!(v[0].target_address.as_deref(), Some("10.0.0.1"));
        assert_eq!(v[0].disconnect_reason, Some(2308));
        assert!(!v[0].connected);
        assert_eq!(v[1].target.as_deref(), Some("other"));
    }

    #[test]
    fn events_without_activity_are_grouped_by_sequence() {
        let events = vec![
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1024,
                0,
                None,
                &[("Value", "a")],
            ),
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1026,
                1,
                None,
                &[("Value", "516")],
            ),
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1024,
                9,
                None,
                &[("Value", "b")],
            ),
            ev("c1", RDPCLIENT_OPERATIONAL, 1025, 10, None, &[]),
        ];
        let v = views(&events);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].disconnect_reason, Some(516));
        assert!(v[1].connected);
    }

    #[test]
    fn reused_activity_is_split_at_new_start() {
        let events = vec![
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1024,
                0,
                Some("{a}"),
                &[("Value", "s")],
            ),
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1026,
                1,
                Some("{a}"),
                &[("Value", "2308")],
            ),
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1024,
                30,
                Some("{a}"),
                &[("Value", "s")],
            ),
            ev(
                "c1",
                RDPCLIENT_OPERATIONAL,
                1027,
                31,
                Some("{a}"),
                &[("SessionId", "3")],
            ),
        ];
        let v = views(&events);
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].session_id, Some(3));
    }
}
