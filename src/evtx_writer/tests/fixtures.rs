//! Fixture records shaped like the RDP-related logs the tool reads.
//!
//! Takes: nothing.
//! Produces: record lists covering every payload layout (named and unnamed `EventData`,
//! `UserData/EventXML`, `UserData/EventInfo`, none) and every value type, a multi-host list
//! big enough for many chunks, and — when `RDPTRIAGE_WRITE_EVTX_DIR` is set — those files plus
//! `EXPECTED.tsv` (file, record count) in that directory, for `scripts/validate-evtx.sh`.

use super::super::{Payload, RecordSpec, Value};
use super::write;
use chrono::{DateTime, Duration, TimeZone, Utc};

pub(super) const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager";
pub(super) const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
pub(super) const GATEWAY: &str = "Microsoft-Windows-TerminalServices-Gateway";

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 17, 21, 20, 1).unwrap() + Duration::nanoseconds(123_456_700)
}

pub(super) fn base(
    provider: &str,
    event_id: u16,
    seconds: i64,
    channel: &str,
    host: &str,
) -> RecordSpec {
    let mut record = RecordSpec::new(
        provider,
        event_id,
        t0() + Duration::seconds(seconds),
        channel,
        host,
    );
    record.process_id = 1012;
    record.thread_id = 2460;
    record.keywords = 0x1000_0000_0000_0000;
    record
}

fn user_data(element: &str, xmlns: &str, fields: Vec<(&str, Value)>) -> Payload {
    Payload::UserData {
        element: element.into(),
        xmlns: xmlns.into(),
        fields: fields
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
    }
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

/// LocalSessionManager: `UserData/EventXML` with `xmlns="Event_NS"`.
pub(super) fn lsm_records() -> Vec<RecordSpec> {
    let channel = format!("{LSM}/Operational");
    // Logon, disconnect, reconnect.
    [21u16, 24, 25]
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let mut r = base(LSM, id, i as i64, &channel, "RDS01.corp.example");
            r.provider_guid = Some("{5D896912-022D-40AA-A3A8-4FA5515C76D7}".into());
            r.user_sid = Some("S-1-5-18".into());
            r.payload = user_data(
                "EventXML",
                "Event_NS",
                vec![
                    ("User", s("CORP\\alice")),
                    ("SessionID", Value::UInt32(3)),
                    ("Address", s("10.0.0.7")),
                ],
            );
            r
        })
        .collect()
}

/// RemoteConnectionManager 1149 and 261: `UserData/EventXML`, with an activity id.
pub(super) fn rcm_records() -> Vec<RecordSpec> {
    let channel = format!("{RCM}/Operational");
    let mut auth = base(RCM, 1149, 0, &channel, "RDS01.corp.example");
    auth.provider_guid = Some("{C76BAA63-AE81-421C-B425-340B4B24157F}".into());
    auth.activity_id = Some("{F420A1D8-4C7E-4E6E-A1B2-6F1D2C3B4A59}".into());
    auth.user_sid = Some("S-1-5-20".into());
    auth.payload = user_data(
        "EventXML",
        "Event_NS",
        vec![
            ("Param1", s("alice")),
            ("Param2", s("CORP")),
            ("Param3", s("203.0.113.9")),
        ],
    );
    let mut listener = base(RCM, 261, 1, &channel, "RDS01.corp.example");
    listener.payload = user_data("EventXML", "Event_NS", vec![("listenerName", s("RDP-Tcp"))]);
    vec![auth, listener]
}

/// Gateway 302/303/304: `UserData/EventInfo` with `xmlns="aag"` and typed children.
pub(super) fn gateway_records() -> Vec<RecordSpec> {
    let channel = format!("{GATEWAY}/Operational");
    [302u16, 303, 304]
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let mut r = base(GATEWAY, id, i as i64, &channel, "GW01.corp.example");
            r.provider_guid = Some("{4D5AE6A1-C7C8-4E6D-B840-4D8080B42E1B}".into());
            r.activity_id = Some(format!("{{00000000-0000-0000-0000-00000000000{i}}}"));
            r.related_activity_id =
                (id == 304).then(|| "{11111111-2222-3333-4444-555555555555}".into());
            r.payload = user_data(
                "EventInfo",
                "aag",
                vec![
                    ("Username", s("CORP\\bob")),
                    ("IpAddress", s("198.51.100.4")),
                    ("Resource", s("rds01.corp.example")),
                    ("ErrorCode", Value::UInt32(if id == 304 { 1226 } else { 0 })),
                    ("ConnectionProtocol", s("HTTP")),
                ],
            );
            r
        })
        .collect()
}

/// Service Control Manager (classic): `EventSourceName`, `Qualifiers`, unnamed `<Data>`.
pub(super) fn scm_records() -> Vec<RecordSpec> {
    [
        "Remote Desktop Services",
        "Remote Desktop Services UserMode Port Redirector",
    ]
    .iter()
    .enumerate()
    .map(|(i, service)| {
        let mut r = base(
            "Service Control Manager",
            7036,
            i as i64,
            "System",
            "RDS01.corp.example",
        );
        r.provider_guid = Some("{555908d1-a6d7-4695-8e1e-26931d2012f4}".into());
        r.event_source_name = Some("Service Control Manager".into());
        r.qualifiers = Some(16384);
        r.keywords = 0x8080_0000_0000_0000;
        r.payload = Payload::UnnamedData(vec![
            s(service),
            s("running"),
            Value::Binary(vec![0x54, 0, 0x65, 0]),
        ]);
        r
    })
    .collect()
}

/// Security-Auditing 4625: named `EventData` with SIDs, hex and GUID values.
pub(super) fn security_records() -> Vec<RecordSpec> {
    let mut r = base(
        "Microsoft-Windows-Security-Auditing",
        4625,
        0,
        "Security",
        "DC01.corp.example",
    );
    r.provider_guid = Some("{54849625-5478-4994-A5BA-3E3B0328C30D}".into());
    r.keywords = 0x8010_0000_0000_0000;
    r.task = 12544;
    r.level = 0;
    r.version = 1;
    r.payload = Payload::EventData(vec![
        ("SubjectUserSid".into(), Value::Sid("S-1-0-0".into())),
        ("TargetUserName".into(), s("administrator")),
        ("Status".into(), Value::HexInt32(0xc000_006d)),
        ("SubStatus".into(), Value::HexInt32(0xc000_0064)),
        ("LogonType".into(), Value::UInt32(10)),
        ("SubjectLogonId".into(), Value::HexInt64(0x3e7)),
        (
            "LogonGuid".into(),
            Value::Guid("{00000000-0000-0000-0000-000000000000}".into()),
        ),
        ("IpAddress".into(), s("203.0.113.50")),
        ("IpPort".into(), s("51234")),
    ]);
    vec![r]
}

/// One field of every value type, `Null` included.
pub(super) fn all_value_types() -> Vec<(String, Value)> {
    let when =
        Utc.with_ymd_and_hms(2023, 12, 31, 23, 59, 58).unwrap() + Duration::milliseconds(250);
    vec![
        ("AString".into(), s("Grüße, 世界 🚀 <&>\"'")),
        ("AUInt8".into(), Value::UInt8(255)),
        ("AUInt16".into(), Value::UInt16(65535)),
        ("AUInt32".into(), Value::UInt32(4_000_000_000)),
        ("AUInt64".into(), Value::UInt64(u64::MAX)),
        ("AInt32".into(), Value::Int32(-2_000_000_000)),
        ("AInt64".into(), Value::Int64(i64::MIN)),
        ("AHexInt32".into(), Value::HexInt32(0x904)),
        ("AHexInt64".into(), Value::HexInt64(0x8000_0000_0000_0001)),
        ("AFileTime".into(), Value::FileTime(t0())),
        ("ASystemTime".into(), Value::SystemTime(when)),
        (
            "AGuid".into(),
            Value::Guid("{12345678-9ABC-DEF0-1234-56789ABCDEF0}".into()),
        ),
        (
            "ASid".into(),
            Value::Sid("S-1-5-21-397955417-626881126-188441444-2967838".into()),
        ),
        ("ABoolTrue".into(), Value::Bool(true)),
        ("ABoolFalse".into(), Value::Bool(false)),
        (
            "ABinary".into(),
            Value::Binary(vec![0xde, 0xad, 0xbe, 0xef]),
        ),
        ("ANull".into(), Value::Null),
    ]
}

/// RDP client events: one with every value type, one with an empty `EventData`, one without a
/// payload, then one per value type.
pub(super) fn typed_records() -> Vec<RecordSpec> {
    let channel = "Microsoft-Windows-TerminalServices-RDPClient/Operational";
    let client = "Microsoft-Windows-TerminalServices-ClientActiveXCore";
    let mut all = base(client, 1026, 0, channel, "WS042.corp.example");
    all.payload = Payload::EventData(all_value_types());
    let mut empty = base(client, 1027, 1, channel, "WS042.corp.example");
    empty.payload = Payload::EventData(Vec::new());
    let mut none = base(client, 1028, 2, channel, "WS042.corp.example");
    none.payload = Payload::None;
    let mut records = vec![all, empty, none];
    for (i, (name, value)) in all_value_types().into_iter().enumerate() {
        let mut one = base(
            client,
            1100 + i as u16,
            3 + i as i64,
            channel,
            "WS042.corp.example",
        );
        one.payload = Payload::EventData(vec![(name, value)]);
        records.push(one);
    }
    records
}

/// `count` records from three hosts and every payload kind, in time order, plus one record
/// with a 40 KiB payload in the middle.
pub(super) fn many_records(count: usize) -> Vec<RecordSpec> {
    let pools = [
        lsm_records(),
        rcm_records(),
        gateway_records(),
        scm_records(),
        security_records(),
        typed_records(),
    ];
    let pool: Vec<RecordSpec> = pools.into_iter().flatten().collect();
    let hosts = [
        "RDS01.corp.example",
        "RDS02.corp.example",
        "GW01.corp.example",
    ];
    let mut records: Vec<RecordSpec> = (0..count)
        .map(|i| {
            let mut r = pool[i % pool.len()].clone();
            r.time = t0() + Duration::milliseconds(i as i64 * 1500);
            r.computer = hosts[i % hosts.len()].to_string();
            r
        })
        .collect();
    if let Some(middle) = records.get_mut(count / 2) {
        middle.payload = Payload::EventData(vec![
            (
                "Blob".into(),
                Value::Binary((0..20_000).map(|i| (i % 251) as u8).collect()),
            ),
            ("Text".into(), Value::String("x".repeat(10_000))),
        ]);
    }
    records
}

/// The fixture files: name and records.
pub(super) fn fixture_files() -> Vec<(&'static str, Vec<RecordSpec>)> {
    vec![
        ("lsm-userdata-eventxml.evtx", lsm_records()),
        ("rcm-userdata-eventxml.evtx", rcm_records()),
        ("gateway-userdata-eventinfo.evtx", gateway_records()),
        ("system-scm-unnamed-data.evtx", scm_records()),
        ("security-named-eventdata.evtx", security_records()),
        ("rdpclient-all-value-types.evtx", typed_records()),
        ("multi-host-3000-records.evtx", many_records(3000)),
    ]
}

/// Writes the fixture files and `EXPECTED.tsv` (file, record count) into
/// `RDPTRIAGE_WRITE_EVTX_DIR` when it is set, for `scripts/validate-evtx.sh`.
#[test]
fn writes_fixture_files_when_asked() {
    let Some(dir) = std::env::var_os("RDPTRIAGE_WRITE_EVTX_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut expected = String::new();
    for (name, records) in fixture_files() {
        std::fs::write(dir.join(name), write(&records)).unwrap();
        expected.push_str(&format!("{name}\t{}\n", records.len()));
    }
    std::fs::write(dir.join("EXPECTED.tsv"), expected).unwrap();
}
