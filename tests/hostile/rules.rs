//! Bad rule files: every one is refused with file:line:col and a clear message, quickly, never a
//! panic, a stack overflow or runaway memory; the binary exits non-zero.

use crate::util::rdptriage;
use rdptriage::Error;
use rdptriage::rules::compile::compile_rule;
use std::time::{Duration, Instant};

const GOOD: &str = r#"title: The server refused the user
explain: "Refused {target}."
evidence:
  refused:
    role: server
    channel: Security
    event_id: 4625
    where:
      Status: { regex: "^0xC000006D$" }
condition: refused
confidence: 0.8
"#;

/// Compile `text`; return the first error as `(line, column, message)`, within a time bound.
fn refused(text: &str) -> (usize, usize, String) {
    let started = Instant::now();
    let result = compile_rule("test.rule", "rules/test/rule/rule.yaml", text);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let errors = result.expect_err("the rule is refused");
    match &errors[0] {
        Error::Rule {
            path,
            line,
            column,
            message,
        } => {
            assert_eq!(path.to_str(), Some("rules/test/rule/rule.yaml"));
            assert!(*line >= 1 && *column >= 1);
            (*line, *column, message.clone())
        }
        other => panic!("not a rule error: {other}"),
    }
}

#[test]
fn the_good_rule_compiles() {
    compile_rule("test.rule", "rules/test/rule/rule.yaml", GOOD).expect("compiles");
}

#[test]
fn malformed_yaml_unknown_fields_and_duplicate_keys_name_the_place() {
    let (line, _, m) = refused(&GOOD.replace("condition: refused", "condition: [refused"));
    assert_eq!(line, 10, "{m}");
    let (line, col, m) = refused(&GOOD.replace("confidence: 0.8", "confidence: 0.8\ncolour: red"));
    assert_eq!((line, col), (12, 1), "{m}");
    assert!(m.contains("colour"), "{m}");
    let (line, _, m) = refused(&GOOD.replace("confidence: 0.8", "confidence: 0.8\ntitle: again"));
    assert_eq!(line, 12, "{m}");
    assert!(m.to_lowercase().contains("duplicate"), "{m}");
}

#[test]
fn bad_and_huge_regexes_are_refused_at_their_value() {
    let (line, _, m) = refused(&GOOD.replace("^0xC000006D$", "(unclosed"));
    assert_eq!(line, 9, "{m}");
    let (line, _, m) = refused(&GOOD.replace("^0xC000006D$", r"(\\w{100}){100}(\\w{100}){100}"));
    assert_eq!(line, 9, "{m}");
    assert!(m.contains("size limit") || m.contains("too big"), "{m}");
}

#[test]
fn an_alias_bomb_is_stopped_by_the_budget() {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
    let mut prev = "a";
    for n in names {
        bomb.push_str(&format!(
            "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = n;
    }
    let text = format!("{GOOD}references: *i\n{bomb}");
    let (line, _, m) = refused(&text);
    assert!(line >= 1, "{m}");
}

#[test]
fn a_self_referencing_alias_is_an_error() {
    let (_, _, m) = refused(&format!("{GOOD}references: &loop [*loop]\n"));
    assert!(!m.is_empty());
}

#[test]
fn an_unknown_selector_in_the_condition_is_named() {
    let (line, col, m) =
        refused(&GOOD.replace("condition: refused", "condition: refused and ghost"));
    assert_eq!((line, col), (10, 24), "{m}");
    assert!(m.contains("ghost"), "{m}");
}

#[test]
fn deeply_nested_conditions_are_refused_without_exhausting_the_stack() {
    for (open, close) in [("(", ")"), ("not ", "")] {
        let deep = format!("{}refused{}", open.repeat(50_000), close.repeat(50_000));
        let text = GOOD.replace("condition: refused", &format!("condition: \"{deep}\""));
        let (line, _, m) = refused(&text);
        assert_eq!(line, 10, "{m}");
        assert!(m.contains("nested too deeply"), "{m}");
    }
    // Thirty levels are fine.
    let ok = format!("{}refused{}", "(".repeat(30), ")".repeat(30));
    let text = GOOD.replace("condition: refused", &format!("condition: \"{ok}\""));
    compile_rule("test.rule", "r.yaml", &text).expect("30 levels compile");
}

#[test]
fn deeply_nested_yaml_and_huge_files_are_refused() {
    let deep = format!(
        "{GOOD}references: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (line, _, m) = refused(&deep);
    assert_eq!(line, 12, "{m}");
    let huge = format!("{GOOD}# {}\n", "x".repeat(2 << 20));
    let (line, col, m) = refused(&huge);
    assert_eq!((line, col), (1, 1));
    assert!(m.contains("limited to 1024 KiB"), "{m}");
    let many_docs = format!("{GOOD}---\n{GOOD}");
    refused(&many_docs);
}

#[test]
fn the_binary_reports_bad_rules_with_file_line_col_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("test/bad");
    std::fs::create_dir_all(&rule).unwrap();
    let deep = format!("{}refused{}", "(".repeat(5000), ")".repeat(5000));
    let text = GOOD.replace("condition: refused", &format!("condition: \"{deep}\""));
    std::fs::write(rule.join("rule.yaml"), text).unwrap();
    let out = rdptriage()
        .args(["rules", "list"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rule.yaml:10:"), "{stderr}");
    assert!(stderr.contains("nested too deeply"), "{stderr}");
    let out = rdptriage()
        .args(["rules", "lint"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A file over the size limit is refused before it is read in full.
    std::fs::write(rule.join("rule.yaml"), vec![b'#'; 3 << 20]).unwrap();
    let out = rdptriage()
        .args(["rules", "list"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rule.yaml:1:1"), "{stderr}");
    // Not UTF-8: the place of the first bad byte.
    std::fs::write(rule.join("rule.yaml"), b"title: x\nexplain: \xff\n").unwrap();
    let out = rdptriage()
        .args(["rules", "list"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rule.yaml:2:10"), "{stderr}");
}
