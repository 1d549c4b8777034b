//! XML exports read through the public pipeline (`source::discover` + `ingest::ingest_all`) on the
//! committed fixtures in `tests/fixtures/` (see its README for what each fixture must produce).

use rdptriage::event::{Event, FieldValue};
use rdptriage::ingest::{FileIngest, IngestOptions, ingest_all};
use rdptriage::source::{InputFormat, InputStatus, discover};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Discover and read one fixture folder; every file must be found as XML and read cleanly.
fn read_folder(name: &str) -> Vec<FileIngest> {
    let found = discover(&[fixture(name)]);
    assert!(
        found.problems.is_empty(),
        "discovery problems: {:?}",
        found.problems
    );
    let done = ingest_all(&found.sources, &IngestOptions::default(), &|_, _| {});
    for file in &done {
        let r = &file.report;
        assert_eq!(r.format, InputFormat::Xml, "{}", r.path);
        assert_eq!(r.status, InputStatus::Read, "{}: {:?}", r.path, r.reason);
        assert_eq!(r.failed_records, 0, "{}: {:?}", r.path, r.first_error);
        assert_eq!(r.relevant as usize, file.events.len(), "{}", r.path);
    }
    done
}

/// The file whose path ends with `file_name`.
fn file<'a>(done: &'a [FileIngest], file_name: &str) -> &'a FileIngest {
    done.iter()
        .find(|f| f.report.path.ends_with(file_name))
        .unwrap_or_else(|| panic!("{file_name} not read"))
}

/// (file, records, relevant, host) for every file of a folder, sorted by file.
fn summary(done: &[FileIngest]) -> Vec<(String, u64, u64, String)> {
    let mut rows: Vec<_> = done
        .iter()
        .map(|f| {
            let name = Path::new(&f.report.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let host = f.report.host.clone().unwrap_or_default();
            (name, f.report.records, f.report.relevant, host)
        })
        .collect();
    rows.sort();
    rows
}

fn row(file: &str, records: u64, relevant: u64, host: &str) -> (String, u64, u64, String) {
    (file.to_string(), records, relevant, host.to_string())
}

/// The events with this id, in file order.
fn with_id(file: &FileIngest, id: u32) -> Vec<&Event> {
    file.events.iter().filter(|e| e.event_id == id).collect()
}

fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.to_string())
}

#[test]
fn three_host_fixture_reads_cleanly_with_expected_counts() {
    let done = read_folder("three-host-0x904");
    assert_eq!(
        summary(&done),
        [
            row("client-rdpclient.xml", 12, 12, "WS-ALICE.contoso.local"),
            row("gateway-operational.xml", 14, 14, "RDGW01.contoso.local"),
            row("server-lsm.xml", 8, 8, "RDSH01.contoso.local"),
            row("server-rcm.xml", 4, 4, "RDSH01.contoso.local"),
            row("server-rdpcorets.xml", 9, 9, "RDSH01.contoso.local"),
            // 3 × 4624 type 5 + 2 × type 3 + 1 × type 10; the 4672s are not in the catalog.
            row("server-security.xml", 9, 6, "RDSH01.contoso.local"),
            // 3 × 7036; 7040 and EventLog 6013 are not in the catalog.
            row("server-system.xml", 5, 3, "RDSH01.contoso.local"),
        ]
    );
}

#[test]
fn three_host_client_side_of_the_failed_attempt() {
    let done = read_folder("three-host-0x904");
    let client = file(&done, "client-rdpclient.xml");
    let last = client.events.last().unwrap();
    assert_eq!(last.event_id, 1026);
    assert_eq!(last.field("Value"), Some(&FieldValue::UInt(2308)));
    assert_eq!(last.field("Name"), Some(&text("Disconnect Reason")));
    assert_eq!(last.record_id(), Some(4112));
    assert_eq!(last.level, Some(4));
    assert_eq!(
        &**last.provider(),
        "Microsoft-Windows-TerminalServices-ClientActiveXCore"
    );
    assert_eq!(
        &**last.channel(),
        "Microsoft-Windows-TerminalServices-RDPClient/Operational"
    );
    assert_eq!(last.time.to_rfc3339(), "2024-05-14T09:12:05.330500+00:00");
    // Event Viewer layout: declaration on line 1, <Events> on line 2, one event per line.
    assert_eq!(last.source().position(), 14);
    assert!(
        !last.fields.contains_key("Message"),
        "RenderingInfo is not a field"
    );

    // Both attempts: one ActivityID each, shared by all of that attempt's events.
    let good = Some("{b6e7c4a1-3f52-4c1e-9d2b-7a81e4f30000}");
    let failed = Some("{6a1f3c2e-9b4d-4e7a-8c15-2f0b9d4e0000}");
    let ids = |activity| {
        client
            .events
            .iter()
            .filter(|e| e.activity_id.as_deref() == activity)
            .map(|e| e.event_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(good), [1024, 1028, 1029, 1102, 1025, 1027, 1026]);
    assert_eq!(ids(failed), [1024, 1028, 1029, 1102, 1026]);

    let starts = with_id(client, 1024);
    assert_eq!(
        starts[1].field("Value"),
        Some(&text("rdsh01.contoso.local"))
    );
    assert_eq!(
        starts[1].time.to_rfc3339(),
        "2024-05-14T09:12:03.012400+00:00"
    );
    let udp = with_id(client, 1102);
    assert_eq!(udp[1].field("Value"), Some(&text("10.20.0.15")));
    let logged_on = with_id(client, 1027);
    assert_eq!(logged_on[0].field("SessionId"), Some(&FieldValue::UInt(3)));
    assert_eq!(
        with_id(client, 1026)[0].field("Value"),
        Some(&FieldValue::UInt(1))
    );
}

#[test]
fn three_host_gateway_and_session_host_sides() {
    let done = read_folder("three-host-0x904");
    let client_start = with_id(file(&done, "client-rdpclient.xml"), 1024)[1].time;

    // Gateway (clock 40 s behind the client): user data wrapper dropped, types from text.
    let gateway = file(&done, "gateway-operational.xml");
    let pending = with_id(gateway, 312);
    let failed_312 = pending.last().unwrap();
    assert_eq!(
        failed_312.field("IpAddress"),
        Some(&text("10.10.5.23:51877"))
    );
    assert_eq!(failed_312.fields.get("Username"), Some(&FieldValue::Null));
    assert_eq!(failed_312.level, Some(0));
    let offset = (failed_312.time - client_start).num_milliseconds();
    assert!(
        (-40_000..-39_000).contains(&offset),
        "gateway offset {offset} ms"
    );
    let connected = with_id(gateway, 302);
    let failed_302 = connected.last().unwrap();
    assert_eq!(
        failed_302.field("Resource"),
        Some(&text("rdsh01.contoso.local"))
    );
    assert_eq!(failed_302.field("Username"), Some(&text("CONTOSO\\alice")));
    assert_eq!(failed_302.activity_id, failed_312.activity_id);
    let closed = with_id(gateway, 303);
    let failed_303 = closed.last().unwrap();
    assert_eq!(failed_303.field("ErrorCode"), Some(&FieldValue::UInt(1226)));
    assert_eq!(
        failed_303.field("SessionDuration"),
        Some(&FieldValue::UInt(1))
    );
    assert!(!failed_303.fields.contains_key("EventInfo"));

    // Session host (clock 3 min ahead of the client).
    let core = file(&done, "server-rdpcorets.xml");
    let accepted = with_id(core, 131);
    let failed_131 = accepted[1];
    assert_eq!(failed_131.field("ClientIP"), Some(&text("10.20.0.5:50388")));
    assert_eq!(failed_131.field("ConnType"), Some(&text("TCP")));
    assert_eq!(
        accepted[0].field("ClientIP"),
        Some(&text("10.20.0.5:50123"))
    );
    let offset = (failed_131.time - client_start).num_milliseconds();
    assert!(
        (180_000..182_000).contains(&offset),
        "host offset {offset} ms"
    );
    let connection: Vec<u32> = core
        .events
        .iter()
        .filter(|e| e.activity_id == failed_131.activity_id)
        .map(|e| e.event_id)
        .collect();
    assert_eq!(connection, [131, 65, 102, 103]);
    assert_eq!(
        failed_131.activity_id.as_deref(),
        Some("{0b7d3e91-24c6-4f8a-b15e-9c3a6d2e0002}")
    );

    let lsm = file(&done, "server-lsm.xml");
    let reasons: Vec<(Option<u64>, Option<u64>)> = with_id(lsm, 40)
        .iter()
        .map(|e| (e.field_u64("Session"), e.field_u64("Reason")))
        .collect();
    assert_eq!(reasons, [(Some(3), Some(0)), (Some(4), Some(7))]);
    let state_error = with_id(lsm, 36)[0];
    assert_eq!(state_error.level, Some(2));
    assert_eq!(
        state_error.field("ErrorCode"),
        Some(&FieldValue::Hex(0x8007139F))
    );
    assert_eq!(state_error.field("SessionId"), Some(&FieldValue::UInt(3)));
    assert!(
        with_id(lsm, 21).len() == 1 && with_id(lsm, 25).is_empty(),
        "no logon after the failed attempt's 1149"
    );
    assert_eq!(
        with_id(lsm, 21)[0].field("User"),
        Some(&text("CONTOSO\\alice"))
    );

    let rcm = file(&done, "server-rcm.xml");
    let auth = with_id(rcm, 1149);
    assert_eq!(auth.len(), 2);
    assert_eq!(auth[1].field("Param1"), Some(&text("alice")));
    assert_eq!(auth[1].field("Param3"), Some(&text("10.20.0.5")));
    assert_eq!(
        with_id(rcm, 261)[1].field("listenerName"),
        Some(&text("RDP-Tcp"))
    );

    let security = file(&done, "server-security.xml");
    let logon_types: Vec<Option<u64>> = with_id(security, 4624)
        .iter()
        .map(|e| e.field_u64("LogonType"))
        .collect();
    assert_eq!(
        logon_types,
        [Some(5), Some(3), Some(10), Some(5), Some(3), Some(5)]
    );
    let nla = with_id(security, 4624)[4];
    assert_eq!(nla.field("IpAddress"), Some(&text("10.20.0.5")));
    assert_eq!(nla.field("IpPort"), Some(&FieldValue::UInt(50388)));
    assert_eq!(
        nla.field("TargetLogonId"),
        Some(&FieldValue::Hex(0x1b02d47))
    );
    let service = with_id(security, 4624)[0];
    assert_eq!(
        service.field("LogonProcessName"),
        Some(&text("Advapi  ")),
        "trailing spaces are part of the value"
    );

    // PowerShell's UTF-16 output of classic System events.
    let system = file(&done, "server-system.xml");
    let started = with_id(system, 7036);
    assert_eq!(started.len(), 3);
    assert_eq!(&**started[2].provider(), "Service Control Manager");
    assert_eq!(
        started[2].field("param1"),
        Some(&text("Windows Modules Installer"))
    );
    assert_eq!(started[2].field("param2"), Some(&text("running")));
    assert!(matches!(
        started[2].field("Binary"),
        Some(FieldValue::Text(_))
    ));
    assert_eq!(started[2].source().position(), 5);
}

#[test]
fn server_only_fixture_reads_cleanly_with_expected_counts() {
    let done = read_folder("server-only-failed");
    assert_eq!(
        summary(&done),
        [
            row("server-lsm.xml", 2, 2, "RDSH02.contoso.local"),
            row("server-rcm.xml", 3, 3, "RDSH02.contoso.local"),
            row("server-rdpcorets.xml", 8, 8, "RDSH02.contoso.local"),
            row("server-security.xml", 4, 4, "RDSH02.contoso.local"),
        ]
    );
}

#[test]
fn server_only_failed_logon_has_typed_fields() {
    let done = read_folder("server-only-failed");
    let security = file(&done, "server-security.xml");
    let failed = with_id(security, 4625);
    assert_eq!(failed.len(), 1);
    let f = failed[0];
    assert_eq!(f.field("Status"), Some(&FieldValue::Hex(0xC000006D)));
    assert_eq!(f.field("SubStatus"), Some(&FieldValue::Hex(0xC000006A)));
    assert_eq!(f.field("LogonType"), Some(&FieldValue::UInt(3)));
    assert_eq!(f.field("LogonProcessName"), Some(&text("NtLmSsp ")));
    assert_eq!(f.field("TargetUserName"), Some(&text("bob")));
    assert_eq!(f.field("IpAddress"), Some(&text("192.0.2.44")));
    assert_eq!(f.field("IpPort"), Some(&FieldValue::UInt(61234)));
    assert_eq!(f.field("FailureReason"), Some(&text("%%2313")));
    assert_eq!(f.level, Some(0));
    assert_eq!(f.record_id(), Some(30994));
    // The indented export: provenance is the line of the `<Event` start tag.
    assert_eq!(f.source().position(), 144);

    let core = file(&done, "server-rdpcorets.xml");
    let bad_password = with_id(core, 140);
    assert_eq!(bad_password.len(), 1);
    assert_eq!(bad_password[0].field("IPString"), Some(&text("192.0.2.44")));
    assert_eq!(bad_password[0].level, Some(3));
    let accepted = with_id(core, 131);
    assert_eq!(
        accepted[1].field("ClientIP"),
        Some(&text("192.0.2.44:61234"))
    );
    assert_eq!(
        accepted[0].field("ClientIP"),
        Some(&text("192.0.2.17:55012"))
    );
    let connection: Vec<u32> = core
        .events
        .iter()
        .filter(|e| e.activity_id == accepted[1].activity_id)
        .map(|e| e.event_id)
        .collect();
    assert_eq!(connection, [131, 65, 140, 102, 103]);
    assert!(
        with_id(file(&done, "server-rcm.xml"), 1149)
            .iter()
            .all(|e| e.field_text("Param1").as_deref() == Some("carol")),
        "no 1149 for the failed client"
    );
}
