//! `rdptriage analyze`, `rules list|lint|test` and `explain`, run as a user would.
//!
//! Fixtures (`tests/fixtures/analyze/`) are small JSONL event files in rdptriage's own events
//! shape: `mixed/` has a client and a session host with four attempts (wrong password, stuck
//! session, success, blocked connection); `client-only/` has one 0x904 failure seen by the client.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const MIXED: &str = "tests/fixtures/analyze/mixed";
const CLIENT_ONLY: &str = "tests/fixtures/analyze/client-only";

fn rdptriage() -> Command {
    Command::cargo_bin("rdptriage").expect("binary builds")
}

fn json(args: &[&str]) -> Value {
    let out = rdptriage()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn stdout(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn causes(report: &Value) -> Vec<String> {
    report["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["verdict"]["cause"].as_str().unwrap_or("-").to_string())
        .collect()
}

#[test]
fn analyze_mixed_json_snapshot() {
    let report = json(&["analyze", MIXED]);
    assert_eq!(
        causes(&report),
        [
            "auth.bad-credentials",
            "session.stuck-or-limit",
            "-",
            "network.blocked-before-server"
        ]
    );
    insta::assert_json_snapshot!("analyze_mixed", report);
}

#[test]
fn analyze_mixed_terminal_shows_verdicts_evidence_and_fix() {
    let (code, text) = stdout(rdptriage().args(["analyze", MIXED]));
    assert_eq!(code, 0);
    for want in [
        "verdict:  auth.bad-credentials  (confidence 0.90)",
        "verdict:  session.stuck-or-limit  (confidence 0.70)",
        "verdict:  network.blocked-before-server  (confidence 0.75)",
        "[rdsh01.evtx record 2]",
        "$ cmdkey /delete:TERMSRV/rdsh01",
        "$ Test-NetConnection rdsh01 -Port 3389",
        "Summary: 4 attempts, 3 failed.",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(
        !text.contains("A0003"),
        "succeeded attempts are not listed:\n{text}"
    );
}

#[test]
fn reported_0x904_0x7_without_server_logs_is_server_denied() {
    let report = json(&["analyze", CLIENT_ONLY, "--reported-error", "0x904/0x7"]);
    let a = &report["attempts"][0];
    assert_eq!(a["verdict"]["cause"], "server.denied-connection");
    let explain = a["verdict"]["explain"].as_str().unwrap();
    assert!(
        explain.contains("0x904 (2308) with extended code 0x7 (7)"),
        "{explain}"
    );
    assert!(explain.contains("does not apply"), "{explain}");
    let missing = a["missing_evidence"].as_array().unwrap();
    let server_logs: Vec<&Value> = missing.iter().filter(|m| m["role"] == "server").collect();
    assert!(server_logs.len() >= 5, "{missing:#?}");
    assert!(
        server_logs.iter().all(|m| m["host"].is_null()),
        "the host was never identified"
    );
    assert!(server_logs.iter().any(|m| m["command"]
        == "wevtutil epl \"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational\" server-TerminalServices-LocalSessionManager-Operational.evtx"));
    assert_eq!(
        report["summary"]["failures_by_cause"]["server.denied-connection"],
        1
    );
}

#[test]
fn no_rule_firing_is_undetermined_with_logs_to_collect() {
    let report = json(&["analyze", CLIENT_ONLY]);
    let a = &report["attempts"][0];
    assert_eq!(a["verdict"]["cause"], "undetermined");
    assert_eq!(a["verdict"]["confidence"], 0.0);
    assert!(!a["missing_evidence"].as_array().unwrap().is_empty());
    assert!(
        !a["verdict"]["remediation"][0]["commands"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn attempts_report_has_no_verdict_keys() {
    let report = json(&["attempts", MIXED]);
    assert!(report["attempts"][0].get("verdict").is_none());
    assert!(report["summary"].get("failures_by_cause").is_none());
}

#[test]
fn output_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    rdptriage()
        .args(["analyze", MIXED, "--format", "json", "-o"])
        .arg(&file)
        .assert()
        .success();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(report["command"], "analyze");
}

#[test]
fn rules_list_and_builtin_cases_pass() {
    let (code, list) = stdout(rdptriage().args(["rules", "list"]));
    assert_eq!(code, 0);
    for id in [
        "auth.bad-credentials",
        "auth.clock-skew",
        "cert.private-key-inaccessible",
        "network.blocked-before-server",
        "server.denied-connection",
        "session.stuck-or-limit",
    ] {
        assert!(list.contains(id), "{list}");
    }
    let (code, out) = stdout(rdptriage().args(["rules", "test"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(", 0 failed"), "{out}");
    let (code, out) = stdout(rdptriage().args(["rules", "lint"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 errors, 0 warnings"), "{out}");
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn lint_reports_file_line_col_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("demo/broken/rule.yaml");
    write(
        &rule,
        "title: t\nexplain: x\nevidence:\n  e:\n    role: server\n    channel: System\n    colour: red\ncondition: e\nconfidence: 0.5\n",
    );
    write(
        &dir.path().join("demo/nocases/rule.yaml"),
        "title: t\nexplain: x\nevidence:\n  e:\n    role: server\n    channel: Sytem\n    event_id: 1\n    where: {Bogus: 1}\ncondition: e\nconfidence: 0.5\n",
    );
    let (code, out) = stdout(rdptriage().args(["rules", "lint"]).arg(dir.path()));
    assert_eq!(code, 1, "{out}");
    let shown = rule.display().to_string();
    assert!(
        out.contains(&format!("{shown}:7:5: error: unknown field `colour`")),
        "{out}"
    );
    assert!(out.contains("needs a case that must fire"), "{out}");
    assert!(out.contains("warning: unknown channel `Sytem`"), "{out}");
}

const OVERRIDE: &str = "title: Overridden denial\nexplain: custom {primary}\nevidence:\n  c:\n    facts: {primary: 0x904, extended: 7}\ncondition: c\nconfidence: 0.5\nfallback: true\n";

#[test]
fn rules_dir_overrides_builtin_rule_and_failing_case_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("server/denied-connection/rule.yaml"),
        OVERRIDE,
    );
    let report = json(&[
        "analyze",
        CLIENT_ONLY,
        "--reported-error",
        "0x904/0x7",
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(
        report["attempts"][0]["verdict"]["title"],
        "Overridden denial"
    );
    assert_eq!(
        report["attempts"][0]["verdict"]["explain"],
        "custom 0x904 (2308)"
    );
    let case = dir.path().join("server/denied-connection/cases/wrong.yaml");
    let inputs = std::fs::canonicalize(CLIENT_ONLY)
        .unwrap()
        .join("laptop7.jsonl");
    write(
        &case,
        &format!(
            "expect: {{cause: auth.bad-credentials}}\nreported_error: 0x904/0x7\ninputs: [{:?}]\n",
            inputs.display().to_string()
        ),
    );
    let (code, out) = stdout(rdptriage().args(["rules", "test"]).arg(dir.path()));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL")
            && out.contains(
                "expected cause auth.bad-credentials, got: A0001 → server.denied-connection"
            ),
        "{out}"
    );
}

#[test]
fn explain_renders_a_rule_for_people() {
    let (code, out) = stdout(rdptriage().args(["explain", "auth.bad-credentials"]));
    assert_eq!(code, 0);
    for want in [
        "auth.bad-credentials — The user name or password was rejected",
        "Evidence it looks for:",
        "on the session host: Security log, event 4625 where SubStatus is one of 0xC000006A, 0xC0000064",
        "$ cmdkey /delete:TERMSRV/<target>",
        "Fires when: (nla_rejected or logon_failed or client_login_failed or logon_status",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let out = rdptriage()
        .args(["explain", "no.such-cause"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known causes"));
}
