//! Compiler tests: rule errors name file:line:col, bad ids and scopes are rejected, list items
//! and case files keep their locations.

use super::rule;
use crate::rules::compile::compile_rule;

/// A compile error's message, as displayed.
fn error(yaml: &str) -> String {
    match compile_rule("t.bad", "rules/t/bad/rule.yaml", yaml) {
        Ok(_) => panic!("should not compile:\n{yaml}"),
        Err(errors) => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

const GOOD: &str = "title: t\nexplain: x\nevidence:\n  e:\n    role: server\n    channel: System\n    event_id: 1\ncondition: e\nconfidence: 0.5\n";

#[test]
fn good_rule_compiles() {
    rule("t.good", GOOD);
}

#[test]
fn broken_rules_name_file_line_col() {
    let cases: &[(&str, &str)] = &[
        ("title: [t\n", "rules/t/bad/rule.yaml:1:"),
        (
            &GOOD.replace("confidence: 0.5", "confidence: 0.5\nseverity: high"),
            "rules/t/bad/rule.yaml:10:1: unknown field `severity`",
        ),
        (
            &GOOD.replace("    event_id: 1\n", "    event_id: 1\n    event_id: 2\n"),
            "rules/t/bad/rule.yaml:8:5: duplicate mapping key: event_id",
        ),
        (
            &GOOD.replace(
                "    event_id: 1\n",
                "    event_id: 1\n    where: {F: {regex: '(open'}}\n",
            ),
            "rules/t/bad/rule.yaml:8:16: bad regex for `F`",
        ),
        (
            &GOOD.replace("condition: e", "condition: e or missing"),
            "rules/t/bad/rule.yaml:8:17: unknown selector `missing`",
        ),
        (
            &GOOD.replace("condition: e", "condition: \"e and zz\""),
            "rules/t/bad/rule.yaml:8:19: unknown selector `zz`",
        ),
        (
            &GOOD.replace("explain: x", "explain: 'on {nowhere}'"),
            "rules/t/bad/rule.yaml:2:10: unknown placeholder `{nowhere}`",
        ),
        (
            &GOOD.replace(
                "    event_id: 1\n",
                "    event_id: 1\n    window: {before: 5 minutes}\n",
            ),
            "rules/t/bad/rule.yaml:8:22: `5 minutes` is not a duration",
        ),
        (
            &GOOD.replace("role: server", "role: router"),
            "rules/t/bad/rule.yaml:5:11: unknown role `router`",
        ),
        (
            &GOOD.replace("confidence: 0.5", "confidence: 1.5"),
            "rules/t/bad/rule.yaml:9:13: confidence must be between 0 and 1",
        ),
        (
            &GOOD.replace(
                "    event_id: 1\n",
                "    event_id: 1\n    scope: everywhere\n",
            ),
            "rules/t/bad/rule.yaml:8:12: unknown scope",
        ),
        ("", "rules/t/bad/rule.yaml:"),
    ];
    for (yaml, want) in cases {
        let got = error(yaml);
        assert!(got.contains(want), "want {want:?} in:\n{got}\nfor:\n{yaml}");
    }
}

#[test]
fn bad_ids_and_dc_scope_are_rejected() {
    let e = compile_rule("Bad.ID", "r.yaml", GOOD).err().unwrap();
    assert!(e[0].to_string().contains("must be <family>.<name>"));
    let dc = GOOD.replace("role: server", "role: dc");
    assert!(error(&dc).contains("role `dc` needs `scope: host`"));
    let then_facts = "title: t\nexplain: x\nevidence:\n  e:\n    role: server\n    channel: System\n  f:\n    facts: {connected: false}\ncondition: e then f\nconfidence: 0.5\n";
    assert!(error(then_facts).contains("facts selector"));
}

#[test]
fn list_items_and_case_files_keep_their_locations() {
    let bad_id = GOOD.replace("event_id: 1", "event_id: [1, nope]");
    assert!(
        error(&bad_id).contains("rules/t/bad/rule.yaml:7:19: event_id `nope` is not a number"),
        "{}",
        error(&bad_id)
    );
    let case = |text: &str| {
        crate::rules::cases::parse_case("c.yaml", text)
            .unwrap_err()
            .to_string()
    };
    assert!(
        case("expect: {cause: x}\nevents: []\nbogus: 1\n")
            .starts_with("c.yaml:3:1: unknown field `bogus`")
    );
    assert!(case("expect: {cause: x}\nevents:\n  - {time: yesterday, host: h, channel: System, event_id: 1}\n").starts_with("c.yaml:3:12: `yesterday` is not an RFC 3339 time"));
    assert!(
        case("expect: {cause: x}\nreported_error: banana\nevents: []\n")
            .starts_with("c.yaml:2:17:")
    );
    assert!(case("expect: {}\nevents: []\n").contains("`expect` needs"));
}
