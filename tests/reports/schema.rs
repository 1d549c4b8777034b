//! Real `analyze` and `attempts` output validated against `docs/report.schema.json` (JSON Schema
//! draft 2020-12, with `format` checks on), with the `jsonschema` crate.

use super::{CLIENT_ONLY, INJECTION, MIXED, SERVER_ONLY, THREE_HOST, analyze};
use crate::util::rdptriage;
use serde_json::{Value, json};

fn schema() -> Value {
    let text = std::fs::read_to_string("docs/report.schema.json").expect("schema file");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// A validator for the whole report, or for one of its `$defs` (the same definitions).
fn validator(def: Option<&str>) -> jsonschema::Validator {
    let mut schema = schema();
    if let Some(def) = def {
        schema = json!({
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "$ref": format!("#/$defs/{def}"),
        });
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the schema:\n{}",
        errors.join("\n")
    );
}

const RUNS: [(&str, &[&str]); 5] = [
    (THREE_HOST, &["--reported-error", "0x904/0x7"]),
    (SERVER_ONLY, &[]),
    (MIXED, &[]),
    (CLIENT_ONLY, &["--reported-error", "0x904/0x7"]),
    (INJECTION, &[]),
];

#[test]
fn the_schema_is_valid_draft_2020_12() {
    let schema = schema();
    let meta = jsonschema::draft202012::meta::validate(&schema);
    assert!(meta.is_ok(), "{meta:?}");
}

#[test]
fn analyze_and_attempts_json_match_the_schema() {
    let report = validator(None);
    for (path, args) in RUNS {
        let analyzed: Value = serde_json::from_str(&analyze(path, "json", args)).unwrap();
        assert_valid(&report, &analyzed, &format!("analyze {path}"));
        let out = rdptriage()
            .args(["attempts", path, "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        let attempts: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_valid(&report, &attempts, &format!("attempts {path}"));
    }
}

#[test]
fn jsonl_lines_match_the_attempt_line_definition() {
    let line_schema = validator(Some("attempt_line"));
    for (path, args) in RUNS {
        for (n, line) in analyze(path, "jsonl", args).lines().enumerate() {
            let value: Value = serde_json::from_str(line).unwrap();
            assert_valid(&line_schema, &value, &format!("{path} line {}", n + 1));
        }
    }
}

#[test]
fn the_schema_rejects_what_it_should() {
    let report = validator(None);
    let good: Value = serde_json::from_str(&analyze(MIXED, "json", &[])).unwrap();
    let mut unknown_key = good.clone();
    unknown_key["attempts"][0]["surprise"] = json!(1);
    assert!(!report.is_valid(&unknown_key), "unknown keys are reported");
    let mut no_verdict = good.clone();
    no_verdict["attempts"][0]
        .as_object_mut()
        .unwrap()
        .remove("verdict");
    assert!(!report.is_valid(&no_verdict), "analyze output has verdicts");
    let mut bad_time = good;
    bad_time["attempts"][0]["started"] = json!("yesterday");
    assert!(!report.is_valid(&bad_time), "times are RFC 3339");
}

#[test]
fn a_kape_style_share_names_the_folders_each_host_was_collected_under() {
    // The collection folders are named after the case, not after the machines' own names.
    let share = tempfile::tempdir().unwrap();
    let sample = crate::util::repo().join("samples/session.stuck-or-limit");
    for role in ["client", "server"] {
        let logs = share
            .path()
            .join(format!("CASE-{role}"))
            .join("C/Windows/System32/winevt/Logs");
        crate::util::copy_logs(&sample.join(role), &logs);
    }
    let path = share.path().to_str().unwrap();
    let report: Value = serde_json::from_str(&analyze(path, "json", &[])).unwrap();
    assert_valid(&validator(None), &report, "analyze of a KAPE-style share");
    let collected: Vec<(&str, &Value)> = report["host_summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), &h["collected_as"]))
        .collect();
    assert_eq!(
        collected,
        [
            ("RDSH02.contoso.local", &json!(["CASE-server"])),
            ("WS-IRIS.contoso.local", &json!(["CASE-client"])),
        ]
    );
    let terminal = analyze(path, "terminal", &["--color", "never"]);
    assert!(
        terminal.contains("collected as CASE-server; clock"),
        "{terminal}"
    );
    let markdown = analyze(path, "markdown", &[]);
    assert!(
        markdown.contains("| WS-IRIS.contoso.local (collected as CASE-client) | client |"),
        "{markdown}"
    );
}
