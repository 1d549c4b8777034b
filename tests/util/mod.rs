//! Helpers for integration tests: run the `rdptriage` binary, write small event files.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A command for the built binary.
pub fn rdptriage() -> Command {
    let mut cmd = Command::cargo_bin("rdptriage").expect("binary built");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One event line in rdptriage's own JSONL shape.
pub fn event_line(
    time: &str,
    host: &str,
    (channel, provider): (&str, &str),
    event_id: u32,
    activity: Option<&str>,
    fields: serde_json::Value,
    record: u64,
) -> String {
    serde_json::json!({
        "time": time, "host": host, "channel": channel, "provider": provider,
        "event_id": event_id, "record_id": record, "activity_id": activity,
        "fields": fields, "source": {"path": format!("{host}.evtx"), "record": record}
    })
    .to_string()
}

/// Write `lines` as a file in `dir`.
pub fn write_lines(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write fixture");
    path
}

/// Parse stdout as JSON.
pub fn json_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A failed client attempt to `srv` (1024 → 1026 with reason 2308) and the server's view of it,
/// the server's clock `skew` seconds ahead.
pub fn client_server_0x904(skew: i64) -> Vec<String> {
    let client = "Microsoft-Windows-TerminalServices-RDPClient/Operational";
    let cp = "Microsoft-Windows-TerminalServices-ClientActiveXCore";
    let core = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";
    let cpv = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS";
    let at = |base: i64| {
        (chrono::DateTime::parse_from_rfc3339("2024-05-14T09:12:03Z").unwrap()
            + chrono::Duration::seconds(base))
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    vec![
        event_line(
            &at(0),
            "WS1",
            (client, cp),
            1024,
            Some("{aaaaaaaa-0000-0000-0000-000000000001}"),
            serde_json::json!({"Name": "Server Name", "Value": "srv.contoso.local"}),
            10,
        ),
        event_line(
            &at(skew),
            "SRV.contoso.local",
            (core, cpv),
            131,
            Some("{bbbbbbbb-0000-0000-0000-000000000001}"),
            serde_json::json!({"ConnType": "TCP", "ClientIP": "10.0.0.7:50000"}),
            20,
        ),
        event_line(
            &at(skew + 1),
            "SRV.contoso.local",
            (core, cpv),
            102,
            Some("{bbbbbbbb-0000-0000-0000-000000000001}"),
            serde_json::json!({}),
            21,
        ),
        event_line(
            &at(2),
            "WS1",
            (client, cp),
            1026,
            Some("{aaaaaaaa-0000-0000-0000-000000000001}"),
            serde_json::json!({"Name": "Disconnect Reason", "Value": 2308}),
            11,
        ),
    ]
}

/// Read `sources` rendering every EVTX record to JSON: the reference the fast routes are held to.
pub fn ingest_rendering_every_record(
    sources: &[rdptriage::source::Source],
) -> Vec<rdptriage::ingest::FileIngest> {
    let options = rdptriage::ingest::IngestOptions {
        render_every_record: true,
        ..rdptriage::ingest::IngestOptions::default()
    };
    rdptriage::ingest::ingest_all(sources, &options, &|_, _| {})
}

/// Assert that two reads of the same sources give each file the same report and events.
pub fn assert_same_reads(
    read: &[rdptriage::ingest::FileIngest],
    reference: &[rdptriage::ingest::FileIngest],
) {
    assert_eq!(read.len(), reference.len());
    for (r, x) in read.iter().zip(reference) {
        assert_eq!(r.report, x.report, "{}", r.report.path);
        assert_eq!(r.events, x.events, "{}", r.report.path);
    }
}

/// Copy the logs under `folder` to `out`, keeping the layout (a sample folder's
/// `expected.json` is not a log and stays behind).
pub fn copy_logs(folder: &Path, out: &Path) {
    for entry in walkdir::WalkDir::new(folder) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() && entry.file_name() != "expected.json" {
            let target = out.join(entry.path().strip_prefix(folder).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
