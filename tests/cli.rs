//! Command-line behaviour: help, usage errors, exit statuses, formats, output files.

use crate::util::{client_server_0x904, json_of, rdptriage, write_lines};
use predicates::prelude::*;

#[test]
fn help_lists_the_commands() {
    rdptriage()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("events").and(predicate::str::contains("attempts")));
}

#[test]
fn no_paths_is_a_usage_error() {
    rdptriage()
        .arg("attempts")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PATH"));
}

#[test]
fn bad_reported_error_is_a_usage_error_naming_the_value() {
    rdptriage()
        .args(["attempts", ".", "--reported-error", "banana"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("banana"));
}

#[test]
fn missing_input_is_reported_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.evtx");
    let out = rdptriage()
        .args(["attempts", "-f", "json"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let report = json_of(&out);
    assert_eq!(report["inputs"][0]["status"], "unreadable");
    assert!(
        report["inputs"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no such file")
    );
}

#[test]
fn unsupported_files_are_skipped_with_a_reason_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    std::fs::write(dir.path().join("logs.zip"), b"PK\x03\x04rest").unwrap();
    std::fs::write(dir.path().join("empty.evtx"), b"").unwrap();
    let out = rdptriage()
        .args(["attempts", "-f", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = json_of(&out);
    let inputs = report["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    for i in inputs {
        assert_eq!(i["status"], "skipped", "{i}");
    }
    let reasons: Vec<&str> = inputs
        .iter()
        .map(|i| i["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("zip")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("empty")), "{reasons:?}");
}

#[test]
fn attempts_link_client_and_server_across_a_clock_offset() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(dir.path(), "events.jsonl", &client_server_0x904(180));
    let out = rdptriage()
        .args(["attempts", "-f", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let report = json_of(&out);
    let attempts = report["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{report:#}");
    let a = &attempts[0];
    assert_eq!(a["outcome"], "failed");
    assert_eq!(a["codes"]["primary"], 2308);
    assert_eq!(a["codes"]["primary_hex"], "0x904");
    assert_eq!(a["server"], "SRV.contoso.local");
    assert_eq!(a["client"], "WS1");
    let server = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "SRV.contoso.local")
        .unwrap();
    assert_eq!(server["clock_offset_seconds"], -180.0);
    assert_eq!(server["role"], "server");
    // The server's 131 is shown on the client's clock: 09:12:03, not 09:15:03.
    let e131 = a["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_id"] == 131)
        .unwrap();
    assert_eq!(e131["time"], "2024-05-14T09:12:03Z");
    assert_eq!(e131["logged_time"], "2024-05-14T09:15:03Z");
}

#[test]
fn reported_error_fills_the_extended_code() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(dir.path(), "events.jsonl", &client_server_0x904(0));
    let out = rdptriage()
        .args(["attempts", "-f", "json", "--reported-error", "0x904/0x7"])
        .arg(dir.path())
        .output()
        .unwrap();
    let report = json_of(&out);
    let codes = &report["attempts"][0]["codes"];
    assert_eq!(codes["extended"], 7);
    assert_eq!(codes["extended_source"], "reported");
    assert_eq!(codes["primary_reported"], false);
}

#[test]
fn events_jsonl_reads_back_to_the_same_attempts() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(dir.path(), "in.jsonl", &client_server_0x904(180));
    let mapped = dir.path().join("mapped");
    std::fs::create_dir(&mapped).unwrap();
    rdptriage()
        .args(["events", "-f", "jsonl", "-o"])
        .arg(mapped.join("events.jsonl"))
        .arg(dir.path().join("in.jsonl"))
        .assert()
        .success();
    let direct = json_of(
        &rdptriage()
            .args(["attempts", "-f", "json"])
            .arg(dir.path().join("in.jsonl"))
            .output()
            .unwrap(),
    );
    let reduced = json_of(
        &rdptriage()
            .args(["attempts", "-f", "json"])
            .arg(&mapped)
            .output()
            .unwrap(),
    );
    assert_eq!(direct["attempts"], reduced["attempts"]);
}

#[test]
fn output_file_is_written_and_no_temporary_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(dir.path(), "in.jsonl", &client_server_0x904(0));
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("report.json");
    rdptriage()
        .args(["attempts", "-f", "json", "-o"])
        .arg(&target)
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains("\"schema_version\": 1"));
    let leftovers: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn events_csv_has_a_header_and_one_row_per_event() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(dir.path(), "in.jsonl", &client_server_0x904(0));
    let out = rdptriage()
        .args(["events", "-f", "csv"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("time,host,channel"));
    assert_eq!(lines.len(), 5);
}

/// `analyze --format json --reported-error 0x904/0x7` of `path`.
fn analyze_0x904_json(path: &std::path::Path) -> serde_json::Value {
    let out = rdptriage()
        .args([
            "analyze",
            "-f",
            "json",
            "-q",
            "--reported-error",
            "0x904/0x7",
        ])
        .arg(path)
        .output()
        .unwrap();
    json_of(&out)
}

/// `events --format jsonl` of `path`: (stdout, stderr).
fn events_jsonl(path: &std::path::Path) -> (Vec<u8>, String) {
    let out = rdptriage()
        .args(["events", "-f", "jsonl", "-q"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The logs of `folder` collected twice: under `first/` and `second/` of a new folder.
fn collected_twice(folder: &std::path::Path) -> tempfile::TempDir {
    let twice = tempfile::tempdir().unwrap();
    for copy in ["first", "second"] {
        crate::util::copy_logs(folder, &twice.path().join(copy));
    }
    twice
}

#[test]
fn map_then_reduce_gives_the_same_verdicts_as_one_run() {
    let fixtures = crate::util::repo().join("tests/fixtures/three-host-0x904");
    let mapped = tempfile::tempdir().unwrap();
    // Map: one events file per input, as a job engine would run it.
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        rdptriage()
            .args(["events", "-f", "jsonl", "-q", "-o"])
            .arg(mapped.path().join(format!("{name}.jsonl")))
            .arg(&path)
            .assert()
            .success();
    }
    let direct = analyze_0x904_json(&fixtures);
    let reduced = analyze_0x904_json(mapped.path());
    assert_eq!(direct["attempts"], reduced["attempts"]);
    assert_eq!(direct["hosts"], reduced["hosts"]);
    assert!(
        direct["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["verdict"]["cause"] == "session.stuck-or-limit")
    );
}

#[test]
fn overlapping_collections_count_once_in_events_and_in_the_reduce_step() {
    let fixtures = crate::util::repo().join("tests/fixtures/three-host-0x904");
    let twice = collected_twice(&fixtures);
    let (once, _) = events_jsonl(&twice.path().join("first"));
    let (both, stderr) = events_jsonl(twice.path());
    // The same events (they name the copy whose path sorts first), each once, and stderr says
    // how many copies were left out.
    assert_eq!(both, once);
    assert!(
        stderr.contains("Copies of records read elsewhere"),
        "{stderr}"
    );
    let count = once.iter().filter(|&&b| b == b'\n').count();
    assert!(
        stderr.contains(&format!(
            "({count} of them copies of records read twice, counted once)"
        )),
        "{stderr}"
    );
    // Reduce over two map outputs that overlap: one of everything, one of the client's log.
    let mapped = tempfile::tempdir().unwrap();
    std::fs::write(mapped.path().join("all.jsonl"), &once).unwrap();
    let (client, _) = events_jsonl(&twice.path().join("second/client-rdpclient.xml"));
    std::fs::write(mapped.path().join("client.jsonl"), client).unwrap();
    let direct = analyze_0x904_json(&twice.path().join("first"));
    let reduced = analyze_0x904_json(mapped.path());
    // The Markdown report's inputs table names the copies too.
    let markdown = rdptriage()
        .args(["analyze", "-f", "markdown", "-q"])
        .arg(mapped.path())
        .output()
        .unwrap();
    let markdown = String::from_utf8_lossy(&markdown.stdout);
    assert!(
        markdown.contains("of its relevant events repeat records also read from"),
        "{markdown}"
    );
    assert_eq!(
        reduced["attempts"].as_array().unwrap().len(),
        direct["attempts"].as_array().unwrap().len()
    );
    assert_eq!(
        direct["summary"]["failures_by_cause"],
        reduced["summary"]["failures_by_cause"]
    );
    let client_input = reduced["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("client.jsonl"))
        .unwrap();
    assert!(client_input["repeated"].as_u64().unwrap() > 0);
    assert_eq!(client_input["repeated"], client_input["relevant"]);
    // The events of two JSONL files name the same sources: copies are still counted under the
    // input they were read from (regression: they were looked up by the source they name).
    let (merged, stderr) = events_jsonl(mapped.path());
    assert_eq!(merged, once);
    let copies = format!("({} of them copies", client_input["repeated"]);
    assert!(stderr.contains(&copies), "{stderr}");
}

#[test]
fn the_terminal_report_names_the_first_inputs_holding_copies_and_counts_the_rest() {
    // A ticket's eleven logs collected twice: eleven inputs hold copies.
    let twice = collected_twice(&crate::util::repo().join("samples/ticket-mixed"));
    let out = rdptriage()
        .args(["analyze", "-q"])
        .arg(twice.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("\n  copies     ").count(), 8, "{text}");
    assert!(
        text.contains("and 3 more inputs (inputs[].repeated in the JSON report)"),
        "{text}"
    );
    assert!(text.contains("(182 of them copies of records read twice, counted once), 7 attempts."));
}

/// `events` run on the samples with `args` added: (stdout, stderr).
fn events_of_samples(args: &[&str], tmpdir: Option<&std::path::Path>) -> (Vec<u8>, String) {
    let mut command = rdptriage();
    command
        .args(["events", "-q"])
        .args(args)
        .arg(crate::util::repo().join("samples"));
    if let Some(dir) = tmpdir {
        command.env("TMPDIR", dir);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.stdout, String::from_utf8(out.stderr).unwrap())
}

#[test]
fn events_sorted_through_temporary_files_are_the_events_sorted_in_memory() {
    // 1 MiB: the samples' ~600 KiB of JSON lines pass the quarter and half marks, so files' parts and
    // the finished files' text go to run files; 1024 MiB keeps everything in memory.
    for format in ["jsonl", "csv", "terminal"] {
        let (spilled, _) = events_of_samples(&["-f", format, "--sort-memory", "1"], None);
        let (held, _) = events_of_samples(&["-f", format, "--sort-memory", "1024"], None);
        assert!(spilled.len() > 100_000, "{format}: {} bytes", spilled.len());
        assert!(
            spilled == held,
            "{format}: output differs with --sort-memory 1"
        );
    }
}

#[test]
fn events_without_a_usable_temporary_folder_warn_and_still_write_everything() {
    let missing = std::path::Path::new("/nonexistent/rdptriage-tmp");
    let (held, _) = events_of_samples(&["-f", "jsonl"], None);
    let (fallback, stderr) =
        events_of_samples(&["-f", "jsonl", "--sort-memory", "1"], Some(missing));
    assert!(
        fallback == held,
        "output differs when nothing can be spilled"
    );
    assert!(
        stderr.contains("warning: cannot write temporary files in /nonexistent/rdptriage-tmp"),
        "{stderr}"
    );
}

#[test]
fn sort_memory_must_be_at_least_one_mib() {
    rdptriage()
        .args(["events", "--sort-memory", "0", "samples"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--sort-memory"));
}

#[test]
fn logs_without_a_relevant_event_give_an_empty_accounted_run() {
    // Regression: the timeline merge panicked when no input held a relevant event.
    let dir = tempfile::tempdir().unwrap();
    for (name, host) in [("app1.jsonl", "ws1"), ("app2.jsonl", "ws2")] {
        let line = crate::util::event_line(
            "2024-05-14T09:00:00Z",
            host,
            ("Application", "Application Error"),
            1000,
            None,
            serde_json::json!({}),
            1,
        );
        write_lines(dir.path(), name, &[line]);
    }
    let path = dir.path().to_str().unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&crate::reports::analyze(path, "json", &[])).unwrap();
    assert_eq!(report["attempts"], serde_json::json!([]));
    let inputs = report["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    for input in inputs {
        assert_eq!(input["status"], "read", "{input}");
        assert_eq!(
            (input["records"].as_u64(), input["relevant"].as_u64()),
            (Some(1), Some(0))
        );
    }
}
