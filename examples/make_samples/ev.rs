//! Building blocks for event records: manifest and classic providers, payload layouts.
//!
//! Takes: a provider's identity (name, GUID, classic event source), the event's System values
//! (id, level, task, opcode, keywords) and its fields.
//! Produces: an [`Ev`] whose record has everything but the time, computer, process and thread
//! (filled in when it is pushed onto a host). The per-machine modules (`ev_client`, `ev_host`,
//! `ev_security`, `ev_system`, `ev_gateway`) use these to build each event of KB §2 with its
//! fields in template order and with the types the KB gives.

use super::scenario::LogKind;
use super::world::{Ev, Proc};
use chrono::DateTime;
use rdptriage::evtx_writer::{Payload, RecordSpec, Value};

/// Keywords of events in Operational/Admin channels of manifest providers (`0x4000…`, the
/// channel bit as real RDP logs show it).
pub const KW_OPERATIONAL: u64 = 0x4000_0000_0000_0000;
/// Keywords of LSM and RCM Operational events as real logs show them.
pub const KW_TS: u64 = 0x1000_0000_0000_0000;
/// Keywords of classic events (`Classic`).
pub const KW_CLASSIC: u64 = 0x0080_0000_0000_0000;
/// Keywords of Service Control Manager events.
pub const KW_SCM: u64 = 0x8080_0000_0000_0000;
/// Keywords of events in the System channel of manifest providers.
pub const KW_SYSTEM: u64 = 0x8000_0000_0000_0000;

/// A manifest-provider event.
#[allow(clippy::too_many_arguments)]
pub fn manifest(
    (provider, guid): (&str, &str),
    log: LogKind,
    channel: &str,
    proc: Proc,
    id: u16,
    level: u8,
    (task, opcode): (u16, u8),
    keywords: u64,
) -> Ev {
    let mut spec = RecordSpec::new(provider, id, DateTime::UNIX_EPOCH, channel, "");
    spec.provider_guid = Some(guid.to_string());
    spec.level = level;
    spec.task = task;
    spec.opcode = opcode;
    spec.keywords = keywords;
    Ev { log, proc, spec }
}

/// A classic event in the System log (`EventSourceName`, `Qualifiers`, provider and channel as
/// literal text in the template).
pub fn classic(
    (provider, guid, source): (&str, Option<&str>, &str),
    id: u16,
    qualifiers: u16,
    level: u8,
    keywords: u64,
    proc: Proc,
) -> Ev {
    let mut spec = RecordSpec::new(provider, id, DateTime::UNIX_EPOCH, "System", "");
    spec.provider_guid = guid.map(str::to_string);
    spec.event_source_name = Some(source.to_string());
    spec.qualifiers = Some(qualifiers);
    spec.level = level;
    spec.keywords = keywords;
    Ev {
        log: LogKind::System,
        proc,
        spec,
    }
}

impl Ev {
    /// Set `Correlation/@ActivityID`.
    pub fn activity(mut self, activity: &str) -> Ev {
        self.spec.activity_id = Some(activity.to_string());
        self
    }

    /// Set `Security/@UserID`.
    pub fn user(mut self, sid: &str) -> Ev {
        self.spec.user_sid = Some(sid.to_string());
        self
    }

    /// Set `Version`.
    pub fn version(mut self, version: u8) -> Ev {
        self.spec.version = version;
        self
    }

    /// Named `EventData`.
    pub fn data(mut self, fields: Vec<(&str, Value)>) -> Ev {
        self.spec.payload = Payload::EventData(
            fields
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        );
        self
    }

    /// Unnamed `EventData` (classic providers).
    pub fn unnamed(mut self, values: Vec<Value>) -> Ev {
        self.spec.payload = Payload::UnnamedData(values);
        self
    }

    /// `UserData/<element xmlns="…">`.
    pub fn user_data(mut self, element: &str, xmlns: &str, fields: Vec<(&str, Value)>) -> Ev {
        self.spec.payload = Payload::UserData {
            element: element.to_string(),
            xmlns: xmlns.to_string(),
            fields: fields
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
        };
        self
    }

    /// `UserData/EventXML xmlns="Event_NS"` (LSM, RCM).
    pub fn event_xml(self, fields: Vec<(&str, Value)>) -> Ev {
        self.user_data("EventXML", "Event_NS", fields)
    }
}

/// A string value.
pub fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

/// A UInt32 value.
pub fn u(v: u32) -> Value {
    Value::UInt32(v)
}

/// A HexInt32 value (rendered `0x…`).
pub fn hex(v: u32) -> Value {
    Value::HexInt32(v)
}

/// A HexInt64 value (rendered `0x…`), as Windows writes logon ids and process ids in Security.
pub fn hex64(v: u64) -> Value {
    Value::HexInt64(v)
}

/// A SID value.
pub fn sid(text: &str) -> Value {
    Value::Sid(text.to_string())
}
