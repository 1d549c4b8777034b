//! The rule case-file parser on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rdptriage::rules::cases::parse_case("fuzz/case.yaml", &text);
});
