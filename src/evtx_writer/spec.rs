//! What one event record holds, as the caller describes it.
//!
//! Takes: nothing (plain data types filled in by callers such as the sample-log generator).
//! Produces: [`RecordSpec`], [`Payload`] and [`Value`], the input of
//! [`EvtxWriter::push`](super::EvtxWriter::push). The field names follow the `System` element of
//! the Windows event schema; the writer turns each into the typed substitution Windows uses.

use chrono::{DateTime, Utc};

/// One event, as it should render: the `System` fields and the payload.
///
/// Text forms that the writer parses: GUIDs as `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (braces
/// optional, any case) and SIDs as `S-1-5-…`. The `EventRecordID` is not part of the spec: the
/// writer assigns it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordSpec {
    /// `Provider/@Name`, e.g. `Microsoft-Windows-TerminalServices-LocalSessionManager`.
    pub provider_name: String,
    /// `Provider/@Guid`; omitted from the record when `None`.
    pub provider_guid: Option<String>,
    /// `Provider/@EventSourceName`, which only classic (event-log API) providers such as
    /// `Service Control Manager` have. When set, the record is laid out like Windows lays out
    /// classic events: provider, channel and computer are literal text in the template.
    pub event_source_name: Option<String>,
    /// `EventID`.
    pub event_id: u16,
    /// `EventID/@Qualifiers` (classic providers); omitted when `None`.
    pub qualifiers: Option<u16>,
    /// `Version`.
    pub version: u8,
    /// `Level` (1 critical, 2 error, 3 warning, 4 information, 0 log always).
    pub level: u8,
    /// `Task`.
    pub task: u16,
    /// `Opcode`.
    pub opcode: u8,
    /// `Keywords`, rendered as `0x…`.
    pub keywords: u64,
    /// `TimeCreated/@SystemTime`, also the record header's written time. Kept to 100 ns.
    pub time: DateTime<Utc>,
    /// `Correlation/@ActivityID`, as `{guid}`; omitted when `None`.
    pub activity_id: Option<String>,
    /// `Correlation/@RelatedActivityID`, as `{guid}`; omitted when `None`.
    pub related_activity_id: Option<String>,
    /// `Execution/@ProcessID`.
    pub process_id: u32,
    /// `Execution/@ThreadID`.
    pub thread_id: u32,
    /// `Channel`, e.g. `Microsoft-Windows-TerminalServices-LocalSessionManager/Operational`.
    pub channel: String,
    /// `Computer`, the logging host's name.
    pub computer: String,
    /// `Security/@UserID`, as `S-1-5-…`; omitted when `None`.
    pub user_sid: Option<String>,
    /// `EventData` or `UserData`.
    pub payload: Payload,
}

impl RecordSpec {
    /// A record with the given identity and everything else zero, empty or absent: level 4
    /// (information), no GUIDs, no SID, no payload. Set the remaining fields directly.
    pub fn new(
        provider_name: impl Into<String>,
        event_id: u16,
        time: DateTime<Utc>,
        channel: impl Into<String>,
        computer: impl Into<String>,
    ) -> Self {
        RecordSpec {
            provider_name: provider_name.into(),
            provider_guid: None,
            event_source_name: None,
            event_id,
            qualifiers: None,
            version: 0,
            level: 4,
            task: 0,
            opcode: 0,
            keywords: 0,
            time,
            activity_id: None,
            related_activity_id: None,
            process_id: 0,
            thread_id: 0,
            channel: channel.into(),
            computer: computer.into(),
            user_sid: None,
            payload: Payload::None,
        }
    }
}

/// The part of an event after `System`, in the layouts real providers use.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// No fields. Written as Windows writes events without fields: an empty
    /// `<EventData></EventData>` (real logs never leave the payload out).
    None,
    /// `<EventData><Data Name="X">value</Data>…</EventData>` (manifest providers). An empty list
    /// writes an empty `<EventData></EventData>`, as Windows does for events without fields.
    EventData(Vec<(String, Value)>),
    /// `<EventData><Data>value</Data>…</EventData>` without names (classic providers such as
    /// `Service Control Manager`).
    UnnamedData(Vec<Value>),
    /// `<UserData><element xmlns="…"><field>value</field>…</element></UserData>`, e.g.
    /// `<EventXML xmlns="Event_NS">` (LocalSessionManager, RemoteConnectionManager) or
    /// `<EventInfo xmlns="aag">` (Gateway). An empty `xmlns` writes no attribute.
    UserData {
        /// The wrapper element's name.
        element: String,
        /// The wrapper element's `xmlns` attribute.
        xmlns: String,
        /// The child elements, in order.
        fields: Vec<(String, Value)>,
    },
}

/// A typed value, written with the BinXML value type of the same name.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// UTF-16 string (type 0x01), written without a terminator. Embedded NULs are not supported
    /// by readers.
    String(String),
    /// Type 0x04.
    UInt8(u8),
    /// Type 0x06.
    UInt16(u16),
    /// Type 0x08.
    UInt32(u32),
    /// Type 0x0a.
    UInt64(u64),
    /// Type 0x07.
    Int32(i32),
    /// Type 0x09.
    Int64(i64),
    /// Type 0x14, rendered `0x…`.
    HexInt32(u32),
    /// Type 0x15, rendered `0x…`.
    HexInt64(u64),
    /// FILETIME (type 0x11), kept to 100 ns; 1601 or later.
    FileTime(DateTime<Utc>),
    /// SYSTEMTIME (type 0x12), kept to milliseconds; years 1601 to 30827.
    SystemTime(DateTime<Utc>),
    /// GUID (type 0x0f) from its text form.
    Guid(String),
    /// SID (type 0x13) from its `S-1-5-…` text form.
    Sid(String),
    /// Boolean (type 0x0d, four bytes as Windows writes it).
    Bool(bool),
    /// Binary (type 0x0e), rendered as hex.
    Binary(Vec<u8>),
    /// Null (type 0x00): no value. Written, as Windows does, behind an optional substitution:
    /// libevtx leaves the field's element out, the `evtx` crate and python-evtx render it empty
    /// (the `evtx` crate drops it from `UserData`).
    Null,
}
