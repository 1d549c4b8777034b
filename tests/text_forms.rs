//! Text exports end to end: one scenario (two failed attempts from WS1 to RDSH01: a wrong
//! password under NLA, then 0x904 with the server's LSM 40 reason 7) written as `.evtx`-equivalent
//! JSONL (`tests/fixtures/text/scenario.jsonl`) and in every text form under
//! `tests/fixtures/text/<form>/`, must rebuild the same attempts through
//! `rdptriage::analysis::analyze`. Local times in the fixtures are Europe/Berlin (UTC+2 in May),
//! so the runs pass `--timezone Europe/Berlin`; the forms that name no computer (Format-List's
//! default view, trace text, tracerpt) are read with the server's log beside them.
//!
//! Verdict equality should be added here once the verdict engine lands; attempts are compared now.

use crate::util::repo;
use rdptriage::analysis::{Analysis, NoProgress, analyze};
use rdptriage::attempt::Attempt;
use rdptriage::config::Config;
use rdptriage::source::{InputFormat, InputStatus};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/text")
}

fn run(paths: Vec<PathBuf>, zone: Option<&str>) -> Analysis {
    let mut config = Config {
        paths,
        threads: Some(2),
        ..Config::default()
    };
    config.ingest.timezone = zone.map(|z| z.parse().expect("zone"));
    let mut analysis = analyze(&config, &NoProgress).expect("analysis runs");
    let pack = rdptriage::rules::RulePack::embedded().expect("built-in rules load");
    analysis.apply_rules(&pack);
    analysis
}

/// What must be equal between the forms (times to the second: Event Viewer prints whole seconds).
#[derive(Debug, PartialEq)]
struct Summary {
    outcome: String,
    primary: Option<u64>,
    extended: Option<u64>,
    extended_source: Option<String>,
    target: Option<String>,
    target_address: Option<String>,
    client: Option<String>,
    client_address: Option<String>,
    server: Option<String>,
    user: Option<String>,
    seen_by: String,
    started: i64,
    /// The verdict's cause (failed attempts), so every form must reach the same verdict.
    cause: Option<String>,
}

fn summary(analysis: &Analysis, a: &Attempt) -> Summary {
    Summary {
        cause: analysis.verdict_for(&a.id).map(|v| v.cause.clone()),
        outcome: format!("{:?}", a.outcome),
        primary: a.codes.primary,
        extended: a.codes.extended,
        extended_source: a.codes.extended_source.clone(),
        target: a.target.clone(),
        target_address: a.target_address.clone(),
        client: a.client.clone().filter(|c| !c.is_empty()),
        client_address: a.client_address.clone(),
        server: a.server.clone(),
        user: a.user.clone(),
        seen_by: format!("{:?}", a.seen_by),
        started: a.started.timestamp(),
    }
}

fn summaries(analysis: &Analysis) -> Vec<Summary> {
    analysis
        .correlation
        .attempts
        .iter()
        .map(|a| summary(analysis, a))
        .collect()
}

/// The attempts from the `.evtx`-equivalent events.
fn expected() -> Vec<Summary> {
    let got = summaries(&run(vec![fixtures().join("scenario.jsonl")], None));
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].primary, Some(2055));
    assert_eq!(got[1].primary, Some(2308));
    assert_eq!(
        got[0].cause.as_deref(),
        Some("auth.bad-credentials"),
        "{got:#?}"
    );
    assert!(got[1].cause.is_some(), "{got:#?}");
    assert_eq!(got[1].extended, Some(7));
    got
}

/// Every input was read cleanly, in the expected format.
fn assert_clean(analysis: &Analysis, format: InputFormat) {
    for input in &analysis.inputs {
        if input.format == InputFormat::Jsonl {
            continue;
        }
        assert_eq!(input.format, format, "{input:?}");
        assert_eq!(input.status, InputStatus::Read, "{input:?}");
        assert_eq!(input.failed_records, 0, "{input:?}");
        assert!(input.relevant > 0, "{input:?}");
    }
}

#[test]
fn every_text_form_rebuilds_the_attempts_of_the_evtx_events() {
    let expected = expected();
    for (form, format) in [
        ("wevtutil", InputFormat::WevtutilText),
        ("eventviewer-xml", InputFormat::EventviewerText),
        ("eventviewer-plain", InputFormat::EventviewerText),
        ("powershell-all", InputFormat::PowershellList),
        ("evtxecmd", InputFormat::EvtxecmdCsv),
    ] {
        let analysis = run(vec![fixtures().join(form)], Some("Europe/Berlin"));
        assert_clean(&analysis, format);
        assert_eq!(summaries(&analysis), expected, "form {form}");
    }
}

/// The server-side events of the scenario alone, as JSONL in `dir`.
fn server_jsonl(dir: &Path) -> PathBuf {
    let all = std::fs::read_to_string(fixtures().join("scenario.jsonl")).unwrap();
    let server: Vec<&str> = all
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["host"] == "RDSH01.contoso.local"
        })
        .collect();
    let path = dir.join("server.jsonl");
    std::fs::write(&path, server.join("\n") + "\n").unwrap();
    path
}

#[test]
fn forms_without_a_computer_link_to_the_server_log() {
    let mut expected = expected();
    for (form, file, format) in [
        (
            "powershell-default",
            "client.txt",
            InputFormat::PowershellList,
        ),
        ("trace", "client.txt", InputFormat::TraceText),
        ("tracerpt", "client.csv", InputFormat::TracerptCsv),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let server = server_jsonl(dir.path());
        let client = fixtures().join(form).join(file);
        let analysis = run(vec![client, server], Some("Europe/Berlin"));
        assert_clean(&analysis, format);
        for e in &mut expected {
            // Nothing in these forms names the client machine: its events are kept together
            // under a name that says so.
            e.client = Some(format!("unknown host ({file})"));
        }
        let text = analysis.inputs.iter().find(|i| i.format == format).unwrap();
        assert_eq!(text.host, None, "{form}");
        assert!(
            text.note.as_deref().unwrap().contains("names no computer"),
            "{form}: {:?}",
            text.note
        );
        assert_eq!(summaries(&analysis), expected, "form {form}");
    }
}

#[test]
fn trace_accounting_counts_opaque_wpp_lines() {
    let analysis = run(vec![fixtures().join("trace")], Some("Europe/Berlin"));
    let input = &analysis.inputs[0];
    assert_eq!(input.format, InputFormat::TraceText);
    assert_eq!(input.records, 8, "7 events and the MSNT_SystemTrace header");
    assert_eq!(input.opaque_records, 5);
    assert_eq!(input.relevant, 7);
    assert_eq!(input.time_basis.as_deref(), Some("timezone Europe/Berlin"));
    let report = serde_json::to_value(input).unwrap();
    assert_eq!(report["opaque_records"], 5);
}

#[test]
fn local_times_without_timezone_are_taken_as_utc_and_said_so() {
    let analysis = run(vec![fixtures().join("eventviewer-plain")], None);
    for input in &analysis.inputs {
        assert_eq!(
            input.time_basis.as_deref(),
            Some("assumed-utc"),
            "{input:?}"
        );
        assert!(input.note.as_deref().unwrap().contains("taken as UTC"));
    }
    let server = analysis
        .inputs
        .iter()
        .find(|i| i.path.ends_with("server.txt"))
        .unwrap();
    assert!(
        server.note.as_deref().unwrap().contains("day/month"),
        "{:?}",
        server.note
    );
    // Berlin local time read as UTC: two hours late.
    let first = &analysis.correlation.attempts[0];
    assert_eq!(first.started.to_rfc3339(), "2024-05-14T11:12:03+00:00");
}

#[test]
fn a_mixed_folder_is_read_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(fixtures().join(from), dir.path().join(to)).unwrap();
    };
    copy("wevtutil/client.txt", "client-wevtutil.txt");
    copy("evtxecmd/server.csv", "server.csv");
    // An XML export from another machine (read by the XML reader, whatever its state): detected
    // by content, and without effect on the scenario's attempts.
    let xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
        <Provider Name='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID>\
        <TimeCreated SystemTime='2024-05-14T09:00:00.0000000Z'/><Channel>System</Channel>\
        <Computer>OTHER01</Computer></System><EventData><Data Name='param1'>Windows Update</Data>\
        <Data Name='param2'>running</Data></EventData></Event>";
    std::fs::write(dir.path().join("one-event.log"), xml).unwrap();
    // A binary trace: recognised, skipped with the commands that convert it.
    let mut etl = vec![0u8; 0x200];
    etl[0..4].copy_from_slice(&0x10000u32.to_le_bytes());
    etl[0x48..0x4C].copy_from_slice(&[0x02, 0x00, 0x02, 0xC0]);
    etl[0x68..0x6C].copy_from_slice(&0x10000u32.to_le_bytes());
    std::fs::write(dir.path().join("capture.bin"), etl).unwrap();
    // A real .evtx from the corpus, when the corpus is available.
    let corpus = std::env::var_os("RDPTRIAGE_CORPUS").map(PathBuf::from);
    let evtx = corpus.map(|c| {
        c.join("AndrewRathbun+DFIRArtifactMuseum/Windows/EventLogs/Win2012R2/StolenSzechuan/StolenSzechuanEventLogs/Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx")
    });
    if let Some(evtx) = evtx.as_ref().filter(|p| p.exists()) {
        std::fs::copy(evtx, dir.path().join("rdpclient.evtx")).unwrap();
    }
    let analysis = run(vec![dir.path().to_path_buf()], Some("Europe/Berlin"));
    let by_name = |name: &str| {
        analysis
            .inputs
            .iter()
            .find(|i| i.path.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not reported"))
    };
    assert_eq!(
        by_name("client-wevtutil.txt").format,
        InputFormat::WevtutilText
    );
    assert_eq!(by_name("server.csv").format, InputFormat::EvtxecmdCsv);
    assert_eq!(by_name("one-event.log").format, InputFormat::Xml);
    let etl = by_name("capture.bin");
    assert_eq!(etl.format, InputFormat::Etl);
    assert_eq!(etl.status, InputStatus::Skipped);
    let why = etl.reason.as_deref().unwrap();
    assert!(
        why.contains("netsh trace convert input=FILE.etl output=FILE.txt"),
        "{why}"
    );
    assert!(
        why.contains("tracerpt FILE.etl -o FILE.csv -of CSV"),
        "{why}"
    );
    if evtx.is_some_and(|p| p.exists()) {
        let e = by_name("rdpclient.evtx");
        assert_eq!(e.format, InputFormat::Evtx);
        assert!(e.records > 0);
    }
    let ours: Vec<Summary> = analysis
        .correlation
        .attempts
        .iter()
        .filter(|a| a.server.as_deref() == Some("RDSH01.contoso.local"))
        .map(|a| summary(&analysis, a))
        .collect();
    assert_eq!(ours, expected());
}
