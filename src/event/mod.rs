//! Normalized events: the common shape every input format is turned into.
//!
//! Takes: records from the readers in [`crate::ingest`] (EVTX, XML, JSONL, and later text forms).
//! Produces: [`Event`] — host, channel, provider, event id, UTC time, record id, activity id and the
//! EventData/UserData fields by name with their types kept ([`FieldValue`]), plus provenance
//! ([`Provenance`]: the file and the record number or line it came from). Host, channel,
//! provider and file are one shared [`Origin`] per kind of event (see `origin.rs`); the locator
//! and record id are one [`Place`] (see `place.rs`): a run holds every relevant event, in 64
//! bytes each.
//!
//! The [`catalog`] lists every (channel or provider, event id) rdptriage understands; readers ask
//! it whether a record is relevant *before* building the field map, so irrelevant records stay cheap.

pub mod catalog;
mod copies;
mod fields;
mod origin;
mod place;
mod value;
mod wire;

pub(crate) use value::parse_hex;
pub use value::{FieldValue, parse_number};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub(crate) use copies::may_hold_copies_by;
pub use copies::{Repeated, Repeats, copies_in_group};
pub use fields::{FieldName, FieldSets, Fields};
pub use origin::{ActivityId, Origin, Origins};
pub use place::Place;
pub(crate) use wire::event_from_line;

/// One relevant Windows event, normalized.
///
/// Serialized as one line of `rdptriage events --format jsonl`; that shape is also an input format
/// (the reduce step of bulk runs) and the inline event shape of rule cases. On the wire the
/// origin's host, channel and provider are fields of their own and its file is `source.path`:
/// `time`, `host`, `channel`, `provider`, `event_id`, `level`, `record_id`, `activity_id`,
/// `fields`, `source` (see `wire.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// When the event was logged, in UTC, by the logging host's own clock (not corrected).
    pub time: DateTime<Utc>,
    /// The host, channel, provider and input file (shared: a file's events repeat them; see
    /// [`Origins`]).
    pub origin: Arc<Origin>,
    /// The event id (without qualifiers).
    pub event_id: u32,
    /// The Windows level (1 critical, 2 error, 3 warning, 4 information, 0 log always), when known.
    pub level: Option<u8>,
    /// Where in its file ([`Origin::path`]) the event was read from, and its EventRecordID when
    /// the source has one (see [`Event::locator`], [`Event::record_id`], [`Event::source`]).
    pub place: Place,
    /// `System/Correlation/@ActivityID`, lower case with braces, when present.
    pub activity_id: Option<ActivityId>,
    /// EventData / UserData fields by name (UserData's wrapper element is dropped).
    pub fields: Fields,
}

impl Event {
    /// Where in its file ([`Origin::path`]) the event was read from.
    pub fn locator(&self) -> Locator {
        self.place.locator()
    }

    /// The EventRecordID, when the source has one.
    pub fn record_id(&self) -> Option<u64> {
        self.place.record_id()
    }

    /// The `Computer` field: the machine that logged the event.
    pub fn host(&self) -> &Arc<str> {
        &self.origin.host
    }

    /// The event log channel, e.g. `Microsoft-Windows-TerminalServices-RDPClient/Operational`.
    pub fn channel(&self) -> &Arc<str> {
        &self.origin.channel
    }

    /// The provider name, e.g. `Microsoft-Windows-TerminalServices-ClientActiveXCore`.
    pub fn provider(&self) -> &Arc<str> {
        &self.origin.provider
    }

    /// The input file the event was read from.
    pub fn path(&self) -> &Arc<str> {
        &self.origin.path
    }

    /// Where the event was read from: its file and record or line.
    pub fn source(&self) -> Provenance {
        self.place.source(&self.origin)
    }

    /// Move the event to `source` (another file, record or line).
    pub fn set_source(&mut self, source: Provenance) {
        let o = &self.origin;
        self.origin = Origin::new(
            o.host.clone(),
            o.channel.clone(),
            o.provider.clone(),
            source.path,
        );
        self.place.set_locator(source.locator);
    }

    /// The record number or line, for sorting (see [`Provenance::position`]).
    pub fn position(&self) -> u64 {
        self.locator().position()
    }

    /// The field `name`, if present and not null.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.get(name).filter(|v| !v.is_null())
    }

    /// The field `name` as text (numbers rendered in their usual notation).
    pub fn field_text(&self, name: &str) -> Option<String> {
        self.field(name).map(FieldValue::to_text)
    }

    /// The field `name` as an unsigned number (decimal or hex), if it is one.
    /// [`Event::field_text`] without a copy when the field is text already.
    pub fn field_str(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.field(name).map(FieldValue::as_text)
    }

    pub fn field_u64(&self, name: &str) -> Option<u64> {
        self.field(name).and_then(FieldValue::as_u64)
    }

    /// The catalog entry for this event, if rdptriage knows it.
    pub fn catalog_entry(&self) -> Option<&'static catalog::CatalogEntry> {
        catalog::lookup(self.channel(), self.provider(), self.event_id)
    }

    /// A total order used everywhere output must be deterministic: time, host, file, position.
    pub fn sort_key(&self) -> (DateTime<Utc>, &str, &str, u64) {
        (
            self.time,
            &self.origin.host,
            &self.origin.path,
            self.position(),
        )
    }
}

/// Where an event came from: the input file and the record number or line in it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Provenance {
    /// The input file as given or discovered (shared by all events of that file).
    pub path: Arc<str>,
    /// The record number (EVTX, XML, JSONL) or 1-based line (text forms).
    pub locator: Locator,
}

/// The position of an event inside its source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locator {
    /// EventRecordID (EVTX) or the 1-based record ordinal in an export without record ids.
    Record(u64),
    /// 1-based line number where the event starts (text forms and JSONL).
    Line(u64),
    /// EVTX: the EventRecordID of a stale record carved from a chunk's unallocated space (a
    /// cleared or overwritten record, possibly of another log whose space the file reused).
    Recovered(u64),
}

impl Locator {
    /// The record number or line, for sorting.
    pub fn position(&self) -> u64 {
        match *self {
            Locator::Record(n) | Locator::Line(n) | Locator::Recovered(n) => n,
        }
    }
}

impl Provenance {
    /// Provenance pointing at a record.
    pub fn record(path: Arc<str>, record: u64) -> Self {
        Provenance {
            path,
            locator: Locator::Record(record),
        }
    }

    /// Provenance pointing at a line.
    pub fn line(path: Arc<str>, line: u64) -> Self {
        Provenance {
            path,
            locator: Locator::Line(line),
        }
    }

    /// The record number or line, for sorting.
    pub fn position(&self) -> u64 {
        self.locator.position()
    }

    /// True for a record carved from unallocated space ([`Locator::Recovered`]).
    pub fn is_recovered(&self) -> bool {
        matches!(self.locator, Locator::Recovered(_))
    }
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.locator {
            Locator::Record(n) => write!(f, "{} record {n}", self.path),
            Locator::Line(n) => write!(f, "{}:{n}", self.path),
            Locator::Recovered(n) => write!(f, "{} record {n} (recovered)", self.path),
        }
    }
}

/// Wire shape of [`Provenance`]: `{"path": "...", "record": 12}` or `{"path": "...", "line": 7}`,
/// and `{"path": "...", "record": 12, "recovered": true}` for a record carved from slack. `P` is
/// The path is borrowed when writing (no copy per event) and, when reading, from the text where
/// it needs no unescaping (an event's origin is then found without a copy: see `wire.rs`).
#[derive(Serialize, Deserialize)]
struct ProvenanceWire<'a> {
    #[serde(borrow)]
    path: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    recovered: bool,
}

impl Serialize for Provenance {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_source(&self.path, self.locator, s)
    }
}

/// A [`Provenance`]'s wire form from its parts (an event holds them apart).
fn serialize_source<S: serde::Serializer>(
    path: &str,
    locator: Locator,
    s: S,
) -> Result<S::Ok, S::Error> {
    let (record, line) = match locator {
        Locator::Record(n) | Locator::Recovered(n) => (Some(n), None),
        Locator::Line(n) => (None, Some(n)),
    };
    ProvenanceWire {
        path: std::borrow::Cow::Borrowed(path),
        record,
        line,
        recovered: matches!(locator, Locator::Recovered(_)),
    }
    .serialize(s)
}

impl<'de> Deserialize<'de> for Provenance {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = ProvenanceWire::deserialize(d)?;
        Ok(Provenance {
            locator: wire.locator(),
            path: Arc::from(wire.path),
        })
    }
}

impl ProvenanceWire<'_> {
    /// The locator the wire form names: a record, a line, or a record recovered from slack.
    fn locator(&self) -> Locator {
        match (self.record, self.line) {
            (Some(n), _) if self.recovered => Locator::Recovered(n),
            (Some(n), _) => Locator::Record(n),
            (None, Some(n)) => Locator::Line(n),
            (None, None) => Locator::Record(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        let mut fields = Fields::new();
        fields.insert("Value", FieldValue::UInt(2308));
        fields.insert("ErrorCode", FieldValue::Hex(0x8009030d));
        fields.insert("Name", FieldValue::Text("Disconnect Reason".into()));
        Event {
            time: "2024-03-01T10:00:02Z".parse().unwrap(),
            origin: crate::event::Origin::new(
                "client01",
                "Microsoft-Windows-TerminalServices-RDPClient/Operational",
                "Microsoft-Windows-TerminalServices-ClientActiveXCore",
                Arc::from("c.evtx"),
            ),
            event_id: 1026,
            level: Some(4),
            activity_id: Some("{76abef77-4bf3-4110-ac89-7cfe101b0000}".into()),
            fields,
            place: crate::event::Place::new(crate::event::Locator::Record(7), Some(7)),
        }
    }

    #[test]
    fn an_event_stays_small() {
        // A run holds every relevant event (hundreds of thousands for a busy server): each byte
        // here is a byte per event. 168 before the origin was shared, 104 before the field map
        // and the activity id were one pointer each, 80 before the locator and record id were
        // packed into a `Place`.
        assert!(
            std::mem::size_of::<Event>() <= 64,
            "{}",
            std::mem::size_of::<Event>()
        );
    }

    #[test]
    fn event_round_trips_through_json_with_types_kept() {
        let event = sample();
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.contains(r#""Value":2308"#), "{json}");
        assert!(json.contains(r#""ErrorCode":"0x8009030d""#), "{json}");
        assert!(
            json.contains(r#""source":{"path":"c.evtx","record":7}"#),
            "{json}"
        );
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn line_provenance_serializes_as_line() {
        let p = Provenance::line(Arc::from("t.txt"), 12);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"path":"t.txt","line":12}"#
        );
        assert_eq!(p.to_string(), "t.txt:12");
    }

    #[test]
    fn recovered_provenance_says_so_and_reads_back() {
        let p = Provenance {
            path: Arc::from("s.evtx"),
            locator: Locator::Recovered(9),
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"path":"s.evtx","record":9,"recovered":true}"#);
        let back: Provenance = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        assert!(back.is_recovered());
        assert_eq!(back.position(), 9);
        assert_eq!(p.to_string(), "s.evtx record 9 (recovered)");
    }
}
