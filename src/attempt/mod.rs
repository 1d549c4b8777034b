//! Stage 2: rebuild connection attempts across client, gateway and session host.
//!
//! Takes: every relevant [`Event`] of a run, sorted (see [`Timeline`]).
//! Produces: [`Correlation`] — the [`Attempt`]s, each with its linked events from every machine,
//! its outcome and codes, plus one [`HostInfo`] per machine with its role and estimated clock offset.
//!
//! How: each machine's view of a connection is rebuilt on its own ([`client`], [`gateway`],
//! [`server`]); the views are then linked by target name, address and time ([`link`]), after each
//! host's clock offset has been estimated from the candidate pairs ([`clock`]). Offsets are applied
//! to every time shown (`corrected` times) and reported, since a large one is itself evidence.

mod client;
mod clock;
mod gateway;
mod link;
mod order;
mod outcome;
mod repeats;
mod server;

use crate::event::catalog::HostRole;
use crate::event::{Event, Repeats};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use outcome::ReportedError;

/// Options for rebuilding attempts.
#[derive(Clone, Debug, Default)]
pub struct AttemptOptions {
    /// The code pair from the user's error dialog (`--reported-error 0x904/0x7`).
    pub reported_error: Option<ReportedError>,
}

/// The positions of one host's events: all of them, and by event id.
type HostPositions = (Vec<u32>, BTreeMap<u32, Vec<u32>>);

/// All relevant events of a run, sorted by time then provenance, indexable by position.
#[derive(Debug, Default)]
pub struct Timeline {
    /// The events, sorted by [`Event::sort_key`].
    pub events: Vec<Event>,
    /// For each host, the positions of its events in `events`, in time order. Positions are
    /// 32-bit (a run holds far fewer events than that: each takes a hundred bytes): the two
    /// indexes take a position per event each.
    pub by_host: BTreeMap<String, Vec<u32>>,
    /// For each (host, event id), the positions of those events, in time order: lets a rule
    /// look at a busy host's few events of interest without walking all of them.
    /// Shared, so that a rule selector that keeps every event of one id holds the list itself
    /// rather than a copy (see `rules/host_index.rs`).
    pub by_host_event: std::collections::HashMap<(String, u32), Arc<[u32]>>,
    /// Per input path, its events left out as copies of a record kept from another place (the
    /// same log read twice; see `event/copies.rs`).
    pub repeats: Repeats,
}

impl Timeline {
    /// Sort the events and index them by host.
    pub fn new(events: Vec<Event>) -> Self {
        Timeline::from_runs(vec![events])
    }

    /// The timeline of several files' events, one vector per file, each file named by its first
    /// event's source (see [`Timeline::from_inputs`]).
    pub fn from_runs(runs: Vec<Vec<Event>>) -> Self {
        let named = runs
            .into_iter()
            .map(|run| {
                let name = run
                    .first()
                    .map_or_else(|| Arc::from(""), |e| e.path().clone());
                (name, run)
            })
            .collect();
        Timeline::from_inputs(named)
    }

    /// The timeline of several inputs' events, one vector per input with the input's name (see
    /// [`Timeline::new`]; the same as `new` of all of them one after the other, without sorting
    /// the whole). Copies of one record are left out and counted under the names given.
    pub fn from_inputs(inputs: Vec<(Arc<str>, Vec<Event>)>) -> Self {
        let order::Ordered {
            events,
            spelling_of,
            spellings,
            repeats,
        } = order::order(inputs);
        // A run has few hosts and many events: each spelling's key is worked out once, and
        // events are filed under the key's number, not a copy of its text.
        let mut keys: Vec<String> = Vec::new();
        let mut per_key: Vec<HostPositions> = Vec::new();
        let key_of: Vec<usize> = spellings
            .iter()
            .map(|spelling| {
                let key = host_key(spelling);
                keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                    keys.push(key);
                    per_key.push(Default::default());
                    keys.len() - 1
                })
            })
            .collect();
        for (i, (e, &spelling)) in events.iter().zip(&spelling_of).enumerate() {
            let (all, by_id) = &mut per_key[key_of[spelling as usize]];
            let i = u32::try_from(i).expect("fewer than 2^32 events in memory");
            all.push(i);
            by_id.entry(e.event_id).or_default().push(i);
        }
        let mut by_host = BTreeMap::new();
        let mut by_host_event = std::collections::HashMap::new();
        for (key, (mut all, by_id)) in keys.into_iter().zip(per_key) {
            for (id, list) in by_id {
                by_host_event.insert((key.clone(), id), Arc::from(list));
            }
            all.shrink_to_fit();
            by_host.insert(key, all);
        }
        Timeline {
            events,
            by_host,
            by_host_event,
            repeats,
        }
    }

    /// The events of `host` with id `event_id`, in time order.
    pub fn host_events_with_id(&self, host: &str, event_id: u32) -> &[u32] {
        self.by_host_event
            .get(&(host_key(host), event_id))
            .map_or(&[], |list| list)
    }

    /// [`Timeline::host_events_with_id`], shared (`None` when there are none).
    pub fn shared_host_events_with_id(&self, host: &str, event_id: u32) -> Option<Arc<[u32]>> {
        self.by_host_event.get(&(host_key(host), event_id)).cloned()
    }

    /// The events logged by `host` (any spelling of its name), in time order.
    pub fn host_events(&self, host: &str) -> &[u32] {
        self.by_host
            .get(&host_key(host))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// The key a host is indexed under: its name in lower case (Windows names are case-insensitive).
pub fn host_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// The first label of a host name (`rdsh01.contoso.local` → `rdsh01`), lower case.
pub fn short_name(name: &str) -> String {
    let key = host_key(name);
    if key.parse::<std::net::IpAddr>().is_ok() {
        return key;
    }
    key.split('.').next().unwrap_or("").to_string()
}

/// One machine seen in the inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostInfo {
    /// The `Computer` name as logged.
    pub name: String,
    /// The main role, from what the host logs (client, gateway, server, dc) or `unknown`.
    pub role: HostRole,
    /// Every role the host's events show.
    pub roles: Vec<HostRole>,
    /// Seconds to *add* to this host's clock to get the reference clock (`null` when it could not
    /// be estimated: no linked pair with the reference).
    pub clock_offset_seconds: Option<f64>,
    /// The host whose clock the offset is relative to (the reference of its linked group).
    pub clock_reference: Option<String>,
    /// Number of linked event pairs the offset was estimated from.
    pub clock_samples: usize,
    /// Relevant events logged by the host.
    pub events: usize,
}

/// How a connection attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The connection was established and was not ended by an error.
    Succeeded,
    /// The attempt ended with an error (also after a session had been established).
    Failed,
    /// The logs end before the outcome is known.
    Unknown,
}

/// The codes of an attempt.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AttemptCodes {
    /// The client's primary disconnect reason (1026 `Value`, or the reported dialog code).
    pub primary: Option<u64>,
    /// The extended disconnect reason (reported by the user, or the server's LSM 40 `Reason`).
    pub extended: Option<u64>,
    /// Where the extended code came from: `reported` or `server` (LSM event 40).
    pub extended_source: Option<String>,
    /// True when the primary code came from `--reported-error` rather than the client log.
    pub primary_reported: bool,
}

/// One event linked to an attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedEvent {
    /// Position in [`Timeline::events`].
    pub index: usize,
    /// The role of the logging machine *in this attempt*.
    pub role: HostRole,
    /// The event time on the reference clock (host clock offset applied).
    pub corrected_time: DateTime<Utc>,
}

/// One connection attempt, as seen from every machine whose logs were supplied.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// Stable id within one run (`A0001`…), assigned in time order.
    pub id: String,
    /// The client machine (its name from the client log, or its address as the server saw it).
    pub client: Option<String>,
    /// The client's address as seen by the gateway or server (without port).
    pub client_address: Option<String>,
    /// The target as the user typed it (client 1024) or as requested from the gateway.
    pub target: Option<String>,
    /// The address the client resolved the target to (client 1102).
    pub target_address: Option<String>,
    /// The RD Gateway machine, when one was involved and its logs were supplied.
    pub gateway: Option<String>,
    /// The session host machine, when its logs were supplied.
    pub server: Option<String>,
    /// The user, when any machine logged it.
    pub user: Option<String>,
    /// Start, on the reference clock.
    pub started: DateTime<Utc>,
    /// End, on the reference clock, when seen.
    pub ended: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Outcome,
    /// Disconnect codes.
    pub codes: AttemptCodes,
    /// Which machines' views were linked (`client`, `gateway`, `server`).
    pub seen_by: Vec<HostRole>,
    /// The events, in corrected time order.
    pub events: Vec<LinkedEvent>,
}

impl Attempt {
    /// The host playing `role` in this attempt.
    pub fn host_for(&self, role: HostRole) -> Option<&str> {
        match role {
            HostRole::Client => self.client.as_deref(),
            HostRole::Gateway => self.gateway.as_deref(),
            HostRole::Server => self.server.as_deref(),
            HostRole::Dc | HostRole::Unknown => None,
        }
    }
}

/// The attempts of a run and the hosts they involve.
#[derive(Debug, Default)]
pub struct Correlation {
    /// Attempts sorted by start time, then id.
    pub attempts: Vec<Attempt>,
    /// Hosts sorted by name.
    pub hosts: Vec<HostInfo>,
    /// Clock offset per host key (seconds to add to the host's clock).
    pub offsets: BTreeMap<String, f64>,
}

impl Correlation {
    /// The clock offset of `host` in seconds (0 when unknown).
    pub fn offset_of(&self, host: &str) -> f64 {
        self.offsets.get(&host_key(host)).copied().unwrap_or(0.0)
    }

    /// `event`'s time on the reference clock.
    pub fn corrected_time(&self, event: &Event) -> DateTime<Utc> {
        shift(event.time, self.offset_of(event.host()))
    }
}

/// Shift a time by a number of seconds (fractional allowed).
pub fn shift(time: DateTime<Utc>, seconds: f64) -> DateTime<Utc> {
    time + chrono::Duration::milliseconds((seconds * 1000.0).round() as i64)
}

/// Rebuild every attempt from the timeline.
pub fn correlate(timeline: &Timeline, options: &AttemptOptions) -> Correlation {
    let events = &timeline.events;
    let clients = client::views(events);
    let gateways = gateway::views(events);
    let servers = server::views(timeline);
    let links = link::link_views(&clients, &gateways, &servers);
    let mut attempts = link::assemble(events, &clients, &gateways, &servers, &links);
    outcome::apply_reported_error(&mut attempts, options.reported_error.as_ref());
    let hosts = clock::host_infos(timeline, &links.offsets);
    Correlation {
        attempts,
        hosts,
        offsets: links.offsets.values.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Builders for attempt tests.
    use crate::event::{Event, FieldValue, Fields};
    use std::sync::Arc;

    /// An event on `host` in `channel` (or `channel:provider`), `secs` after a fixed base time.
    pub fn ev(
        host: &str,
        channel: &str,
        id: u32,
        secs: i64,
        activity: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Event {
        let (channel, provider) = match channel.split_once(':') {
            Some((c, p)) => (c.to_string(), p.to_string()),
            None if channel == "Security" => (
                channel.to_string(),
                crate::event::catalog::SECURITY_AUDITING.to_string(),
            ),
            None => (
                channel.to_string(),
                channel.split('/').next().unwrap_or("").to_string(),
            ),
        };
        let base: chrono::DateTime<chrono::Utc> = "2024-05-14T09:00:00Z".parse().unwrap();
        let fields: Fields = fields
            .iter()
            .map(|(k, v)| (k.to_string(), FieldValue::from_text(v)))
            .collect();
        Event {
            time: base + chrono::Duration::seconds(secs),
            origin: crate::event::Origin::new(
                host,
                channel,
                provider,
                Arc::from(format!("{host}.evtx")),
            ),
            event_id: id,
            level: None,
            activity_id: activity.map(crate::event::ActivityId::from),
            fields,
            place: crate::event::Place::new(
                crate::event::Locator::Record(secs.unsigned_abs()),
                Some(secs.unsigned_abs()),
            ),
        }
    }
}
