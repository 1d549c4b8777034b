//! The session host's view of each connection.
//!
//! Takes: the timeline (events indexed by host).
//! Produces: one [`ServerView`] per incoming connection. Anchors are RdpCoreTS 131 TCP connections
//! (grouped with the other RdpCoreTS events of the same ActivityID); when the host's RdpCoreTS log
//! was not supplied, RCM 1149, LSM 21/25 and Security 4624/4625 logon type 10 anchor instead.
//! Then the host's other events are attached by client address, port, session id and time:
//! RCM 261/1149, Security 4624/4625/4778/4779/4825, LSM 21–25/36/37/39/40.

use super::Timeline;
use super::gateway::{address_part, strip_port};
use crate::event::Event;
use crate::event::catalog::{LSM_OPERATIONAL, RCM_OPERATIONAL, RDPCORETS_OPERATIONAL};
use chrono::{DateTime, Duration, Utc};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// One connection as the session host logged it.
#[derive(Clone, Debug)]
pub struct ServerView {
    /// The session host.
    pub host: String,
    /// Positions of its events in the timeline, in time order.
    pub events: Vec<usize>,
    /// The client address as the server saw it (the gateway's, when a gateway is in the path).
    pub client_address: Option<String>,
    /// The client's source port (RdpCoreTS 131, Security IpPort).
    pub client_port: Option<u16>,
    /// The user, when logged (1149, LSM, Security).
    pub user: Option<String>,
    /// First event (server clock).
    pub started: DateTime<Utc>,
    /// Last event of the connection (server clock).
    pub ended: Option<DateTime<Utc>>,
    /// A logon reached the session (LSM 21/22/25, 4624 type 10/7).
    pub logged_on: bool,
    /// The first failure event id (140, 139, 97, 4625, 4825, LSM 40 with a denial reason).
    pub failure_event: Option<u32>,
    /// The connection was closed (102/103) or the log continues well past it.
    pub closed: bool,
    /// LSM 40 `Reason`, when one was linked.
    pub lsm_reason: Option<u64>,
}

/// How long after its anchor an event may still belong to a connection.
const ATTACH_WINDOW_SECONDS: i64 = 180;

/// How long after a connection's last event a session event may still belong to it by session id.
const SESSION_GRACE_SECONDS: i64 = 60;

/// LSM 40 reasons that end a session without any failure (ERRINFO code space).
const BENIGN_LSM_REASONS: &[u64] = &[0, 1, 2, 3, 4, 5, 11, 12];

fn channel_is(e: &Event, channel: &str) -> bool {
    e.channel().eq_ignore_ascii_case(channel)
}

fn is_security(e: &Event) -> bool {
    e.channel().eq_ignore_ascii_case("Security")
}

/// Rebuild the server-side connections of every host.
pub fn views(timeline: &Timeline) -> Vec<ServerView> {
    use rayon::prelude::*;
    // Hosts are independent: rebuilt in parallel, gathered in host order.
    let per_host: Vec<Vec<ServerView>> = timeline
        .by_host
        .par_iter()
        .map(|(_, indices)| {
            let indices: Vec<usize> = indices.iter().map(|&i| i as usize).collect();
            host_views(&timeline.events, &indices)
        })
        .collect();
    let mut out: Vec<ServerView> = per_host.into_iter().flatten().collect();
    out.sort_by(|a, b| (a.started, &a.host).cmp(&(b.started, &b.host)));
    out
}

fn host_views(events: &[Event], indices: &[usize]) -> Vec<ServerView> {
    let has_corets = indices
        .iter()
        .any(|&i| channel_is(&events[i], RDPCORETS_OPERATIONAL) && events[i].event_id == 131);
    let mut views = if has_corets {
        corets_anchors(events, indices)
    } else {
        fallback_anchors(events, indices)
    };
    if views.is_empty() {
        return views;
    }
    attach(events, indices, &mut views);
    let log_end = indices.last().map(|&i| events[i].time);
    for v in &mut views {
        finish(events, v, log_end);
    }
    views
}

/// One view per RdpCoreTS TCP 131, with the other RdpCoreTS events of its ActivityID.
fn corets_anchors(events: &[Event], indices: &[usize]) -> Vec<ServerView> {
    let mut by_activity: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut views = Vec::new();
    for &i in indices {
        let e = &events[i];
        if !channel_is(e, RDPCORETS_OPERATIONAL) {
            continue;
        }
        if let Some(a) = &e.activity_id {
            by_activity.entry(&**a).or_default().push(i);
        }
    }
    for &i in indices {
        let e = &events[i];
        let tcp = || {
            e.field_str("ConnType")
                .is_none_or(|t| t.eq_ignore_ascii_case("TCP"))
        };
        if !(e.event_id == 131 && channel_is(e, RDPCORETS_OPERATIONAL) && tcp()) {
            continue;
        }
        let (address, port) = split_address(e.field_text("ClientIP").as_deref());
        let mut members = vec![i];
        if let Some(group) = e.activity_id.as_deref().and_then(|a| by_activity.get(a)) {
            members.extend(group.iter().copied().filter(|&j| j != i));
        }
        views.push(new_view(e, members, address, port));
    }
    views
}

/// Without RdpCoreTS: 1149, LSM 21/25 from a remote address, and logon type 10 events anchor.
fn fallback_anchors(events: &[Event], indices: &[usize]) -> Vec<ServerView> {
    let mut views: Vec<ServerView> = Vec::new();
    for &i in indices {
        let e = &events[i];
        let address = match anchor_address(e) {
            Some(a) => a,
            None => continue,
        };
        let near = views.iter_mut().rev().find(|v| {
            v.client_address.as_deref() == Some(address.as_str())
                && e.time - v.started <= Duration::seconds(ATTACH_WINDOW_SECONDS)
                && v.failure_event.is_none()
        });
        match near {
            Some(v) => v.events.push(i),
            None => views.push(new_view(e, vec![i], Some(address), None)),
        }
    }
    views
}

fn anchor_address(e: &Event) -> Option<String> {
    let remote = |a: Option<String>| a.filter(|a| is_remote_address(a)).map(|a| strip_port(&a));
    if channel_is(e, RCM_OPERATIONAL) && e.event_id == 1149 {
        return remote(e.field_text("Param3"));
    }
    if channel_is(e, LSM_OPERATIONAL) && matches!(e.event_id, 21 | 25) {
        return remote(e.field_text("Address"));
    }
    if is_security(e) && matches!(e.event_id, 4624 | 4625) && e.field_u64("LogonType") == Some(10) {
        return remote(e.field_text("IpAddress"));
    }
    None
}

fn is_remote_address(a: &str) -> bool {
    let a = a.trim();
    !(a.is_empty() || a == "-" || a.eq_ignore_ascii_case("LOCAL") || a == "127.0.0.1" || a == "::1")
}

fn split_address(text: Option<&str>) -> (Option<String>, Option<u16>) {
    let Some(text) = text else {
        return (None, None);
    };
    let address = strip_port(text);
    let port = text
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .filter(|_| address != text.trim());
    (Some(address), port)
}

fn new_view(
    e: &Event,
    events: Vec<usize>,
    address: Option<String>,
    port: Option<u16>,
) -> ServerView {
    ServerView {
        host: e.host().to_string(),
        events,
        client_address: address,
        client_port: port,
        user: None,
        started: e.time,
        ended: None,
        logged_on: false,
        failure_event: None,
        closed: false,
        lsm_reason: None,
    }
}

/// The address an event names for its client (without a port), and the port when it has one.
/// Borrowed from the event when the field is text (the usual case; this runs for every event of
/// a busy host).
fn event_address(e: &Event) -> Option<(Cow<'_, str>, Option<u16>)> {
    let field = match (&**e.channel(), e.event_id) {
        _ if channel_is(e, RDPCORETS_OPERATIONAL) => "IPString",
        _ if channel_is(e, RCM_OPERATIONAL) && e.event_id == 1149 => "Param3",
        _ if channel_is(e, LSM_OPERATIONAL) => "Address",
        _ if is_security(e) && matches!(e.event_id, 4624 | 4625) => "IpAddress",
        _ if is_security(e) => "ClientAddress",
        _ => return None,
    };
    let address = e.field_str(field).filter(|a| is_remote_address(a))?;
    let address = match address {
        Cow::Borrowed(text) => Cow::Borrowed(address_part(text)),
        Cow::Owned(text) => Cow::Owned(address_part(&text).to_string()),
    };
    let port = if field == "IpAddress" {
        e.field_u64("IpPort")
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
    } else {
        None
    };
    Some((address, port))
}

/// Attach the host's other events to the best connection.
fn attach(events: &[Event], indices: &[usize], views: &mut [ServerView]) {
    // The anchors' events, sorted: `indices` is walked in the same (timeline) order, so one
    // cursor tells whether an event is taken. Events attached below are never visited again.
    let mut owned: Vec<usize> = views
        .iter()
        .flat_map(|v| v.events.iter().copied())
        .collect();
    owned.sort_unstable();
    let mut owned = owned.into_iter().peekable();
    // Anchors are taken in timeline order, so views are in start order ([`best_by_time`] relies
    // on it).
    debug_assert!(views.is_sorted_by_key(|v| v.started));
    let mut attached: Vec<Attached> = views.iter().map(|v| Attached::new(events, v)).collect();
    let by_address = views_by_address(views);
    for &i in indices {
        while owned.next_if(|&o| o < i).is_some() {}
        if owned.next_if_eq(&i).is_some() {
            continue;
        }
        let e = &events[i];
        let target = if let Some((address, port)) = event_address(e) {
            let candidates = by_address
                .get(address.as_ref())
                .map_or(&[][..], Vec::as_slice);
            best_by_address(views, candidates, e.time, port)
        } else if (channel_is(e, RCM_OPERATIONAL) && e.event_id == 261)
            || channel_is(e, LSM_OPERATIONAL)
        {
            best_by_time(views, &attached, e)
        } else if channel_is(e, RDPCORETS_OPERATIONAL) && e.activity_id.is_none() {
            // Text exports carry no ActivityID: the connection is the latest one opened before.
            latest_before(views, e.time)
        } else {
            None
        };
        if let Some(v) = target {
            views[v].events.push(i);
            attached[v].add(e);
        }
    }
    // Positions in the timeline are in timeline order.
    for v in views.iter_mut() {
        v.events.sort_unstable();
    }
}

/// What [`best_by_time`] asks of a view's events, kept up to date as events are attached (asking
/// the events themselves, for every session event, was quadratic on busy hosts).
struct Attached {
    /// The latest time among the view's events (its start when it has none).
    latest: DateTime<Utc>,
    /// The time of the event added last, if any.
    last_added: Option<DateTime<Utc>>,
    /// The session ids its events name ([`session_of`]).
    sessions: Vec<u64>,
}

impl Attached {
    /// From the view's events so far, as if each had been added in turn.
    fn new(events: &[Event], view: &ServerView) -> Self {
        let mut attached = Attached {
            latest: view.started,
            last_added: None,
            sessions: Vec::new(),
        };
        for &j in &view.events {
            attached.add(&events[j]);
        }
        attached
    }

    /// Note an event attached to the view.
    fn add(&mut self, e: &Event) {
        self.latest = if self.last_added.is_some() {
            self.latest.max(e.time)
        } else {
            e.time
        };
        self.last_added = Some(e.time);
        if let Some(s) = session_of(e)
            && !self.sessions.contains(&s)
        {
            self.sessions.push(s);
        }
    }
}

/// The views of each client address, in view order.
fn views_by_address(views: &[ServerView]) -> std::collections::HashMap<String, Vec<usize>> {
    let mut by_address: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, v) in views.iter().enumerate() {
        if let Some(address) = &v.client_address {
            by_address.entry(address.clone()).or_default().push(i);
        }
    }
    by_address
}

/// The most recent connection that started at or before `time`, within the attach window.
fn latest_before(views: &[ServerView], time: DateTime<Utc>) -> Option<usize> {
    views
        .iter()
        .enumerate()
        .filter(|(_, v)| {
            v.started <= time && time - v.started <= Duration::seconds(ATTACH_WINDOW_SECONDS)
        })
        .max_by_key(|(_, v)| v.started)
        .map(|(i, _)| i)
}

/// Among `candidates` (the views of the event's client address, in view order): the one with the
/// same client port, else the one that started closest to `time` within the attach window.
fn best_by_address(
    views: &[ServerView],
    candidates: &[usize],
    time: DateTime<Utc>,
    port: Option<u16>,
) -> Option<usize> {
    if let Some(port) = port {
        let exact = candidates
            .iter()
            .copied()
            .find(|&v| views[v].client_port == Some(port));
        if exact.is_some() {
            return exact;
        }
    }
    candidates
        .iter()
        .copied()
        .filter(|&v| {
            let d = time - views[v].started;
            d >= Duration::seconds(-5) && d <= Duration::seconds(ATTACH_WINDOW_SECONDS)
        })
        .min_by_key(|&v| (time - views[v].started).num_milliseconds().abs())
}

/// RCM 261 just before a 131; LSM session events by session id or, failing that, by time.
fn best_by_time(views: &[ServerView], attached: &[Attached], e: &Event) -> Option<usize> {
    if let Some(session) = e
        .field_u64("SessionID")
        .or_else(|| e.field_u64("Session"))
        .or_else(|| e.field_u64("SessionId"))
        .or_else(|| e.field_u64("TargetSession"))
    {
        // A session id is reused across connections: it only ties the event to a connection
        // that was still going on at the time.
        let by_session = views.iter().zip(attached).rposition(|(v, a)| {
            v.started <= e.time
                && e.time <= a.latest + Duration::seconds(SESSION_GRACE_SECONDS)
                && a.sessions.contains(&session)
        });
        if by_session.is_some() {
            return by_session;
        }
    }
    let max_before = if e.event_id == 261 { 3 } else { 5 };
    // Views are in start order: only those starting by `e.time + max_before` can qualify.
    let end = views.partition_point(|v| v.started - e.time <= Duration::seconds(max_before));
    if e.event_id == 261 {
        // A 261 goes to a view starting within `max_before` after it: the first such view is
        // the closest (and the first in view order among equally close ones).
        let first = views[..end].partition_point(|v| v.started < e.time);
        return (first < end).then_some(first);
    }
    views[..end]
        .iter()
        .zip(attached)
        .enumerate()
        .filter(|(_, (v, a))| {
            let d = v.started - e.time;
            let window_end = a.last_added.unwrap_or(v.started);
            (d >= Duration::zero() && d <= Duration::seconds(max_before))
                || (e.time >= v.started && e.time <= window_end + Duration::seconds(5))
        })
        .min_by_key(|(_, (v, _))| (v.started - e.time).num_milliseconds().abs())
        .map(|(i, _)| i)
}

fn session_of(e: &Event) -> Option<u64> {
    if channel_is(e, LSM_OPERATIONAL) || (channel_is(e, RDPCORETS_OPERATIONAL) && e.event_id == 66)
    {
        return e.field_u64("SessionID").or_else(|| e.field_u64("Session"));
    }
    None
}

/// Derive user, logon, failure and end from the attached events.
fn finish(events: &[Event], v: &mut ServerView, log_end: Option<DateTime<Utc>>) {
    for &i in &v.events {
        let e = &events[i];
        let id = e.event_id;
        if v.user.is_none() {
            v.user = user_of(e);
        }
        let logon = (channel_is(e, LSM_OPERATIONAL) && matches!(id, 21 | 22 | 25))
            || (is_security(e)
                && matches!(id, 4624)
                && matches!(e.field_u64("LogonType"), Some(10 | 7)))
            || (is_security(e) && id == 4778);
        v.logged_on |= logon;
        let failure = (channel_is(e, RDPCORETS_OPERATIONAL) && matches!(id, 140 | 139 | 97))
            || (is_security(e) && matches!(id, 4625 | 4825));
        if channel_is(e, LSM_OPERATIONAL) && id == 40 {
            v.lsm_reason = e.field_u64("Reason");
        }
        let denied = v
            .lsm_reason
            .is_some_and(|r| !BENIGN_LSM_REASONS.contains(&r))
            && id == 40;
        if (failure || denied) && v.failure_event.is_none() {
            v.failure_event = Some(id);
        }
        v.closed |= channel_is(e, RDPCORETS_OPERATIONAL) && matches!(id, 102 | 103);
    }
    let last = v.events.iter().map(|&i| events[i].time).max();
    v.ended = last.filter(|t| *t > v.started);
    if let (Some(end), Some(last)) = (log_end, last) {
        v.closed |= end - last > Duration::seconds(ATTACH_WINDOW_SECONDS);
    }
}

fn user_of(e: &Event) -> Option<String> {
    let pick = |name: &str| e.field_text(name).filter(|u| !u.is_empty() && u != "-");
    if channel_is(e, RCM_OPERATIONAL) && e.event_id == 1149 {
        let user = pick("Param1")?;
        return Some(match pick("Param2") {
            Some(domain) => format!("{domain}\\{user}"),
            None => user,
        });
    }
    if channel_is(e, LSM_OPERATIONAL) {
        return pick("User");
    }
    if is_security(e) && matches!(e.event_id, 4624 | 4625) {
        let user = pick("TargetUserName")?;
        return Some(match pick("TargetDomainName") {
            Some(domain) => format!("{domain}\\{user}"),
            None => user,
        });
    }
    if is_security(e) && matches!(e.event_id, 4825 | 4778 | 4779) {
        return pick("AccountName");
    }
    None
}

#[cfg(test)]
mod tests;
