//! The rule compiler (YAML through serde-saphyr with budgets, regexes, conditions, templates) on
//! arbitrary text: every outcome is a rule or errors naming file:line:col, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match rdptriage::rules::compile::compile_rule("fuzz.rule", "fuzz/rule/rule.yaml", &text) {
        Ok(_) => {}
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                if let rdptriage::Error::Rule { line, column, .. } = e {
                    assert!(line >= 1 && column >= 1, "{line}:{column}");
                }
            }
        }
    }
});
