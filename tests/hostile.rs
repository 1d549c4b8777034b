//! Hostile and broken input (issue #9): nothing crashes, hangs or loses data.
//!
//! Each submodule covers one promise of `docs/robustness.md`: every input accounted for with a
//! status and a reason (a folder of deliberately broken files generated at test time, the shared
//! corpus), the watchdog (a reader stuck in `open`, a memory budget, a deadline), EVTX damage and
//! record recovery, bad rules, output safety, property tests of the parsers, and one regression
//! test per crash the fuzzers found.

/// A folder of broken files, races between discovery and reading, the watchdog, the corpus.
mod inputs;

/// EVTX damage: truncation, dirty headers, checksum mismatches, stale records in chunk slack.
mod evtx_damage;

/// Malformed, oversized and adversarial rule files.
mod rules;

/// Output files written atomically, write errors, terminal escapes in file names.
mod output;

/// Property tests: JSONL lines, mutated EVTX bytes, mutated rule files.
mod props;

/// Inputs the fuzzers found, kept as regression tests.
mod regressions;

use chrono::{Duration, TimeZone, Utc};
use rdptriage::evtx_writer::{EvtxWriter, Payload, RecordSpec, Value};

/// An EVTX file of `n` RDP client events (1024 and 1026, all relevant), one second apart.
pub fn client_evtx(n: usize) -> Vec<u8> {
    let mut writer = EvtxWriter::new();
    for spec in client_records(n) {
        writer.push(&spec).expect("record fits");
    }
    writer.finish()
}

/// The records of [`client_evtx`].
pub fn client_records(n: usize) -> Vec<RecordSpec> {
    let start = Utc.with_ymd_and_hms(2024, 5, 14, 9, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let event_id = if i % 2 == 0 { 1024 } else { 1026 };
            let mut r = RecordSpec::new(
                "Microsoft-Windows-TerminalServices-ClientActiveXCore",
                event_id,
                start + Duration::seconds(i as i64),
                "Microsoft-Windows-TerminalServices-RDPClient/Operational",
                "WS1.contoso.local",
            );
            r.payload = Payload::EventData(vec![
                ("Name".into(), Value::String("Server Name".into())),
                (
                    "Value".into(),
                    Value::String(format!("srv{i}.contoso.local")),
                ),
            ]);
            r
        })
        .collect()
}

/// A small deterministic pseudo-random generator (tests must not depend on a seed file).
pub struct Lcg(pub u64);

impl Lcg {
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// True when this process can read a file whose mode is 000 (root, or a capability).
pub fn reads_despite_permissions(path: &std::path::Path) -> bool {
    std::fs::File::open(path).is_ok()
}

/// Check one `inputs[]` entry against `docs/report.schema.json` (`$defs/input`).
pub fn assert_input_matches_schema(input: &serde_json::Value) {
    let text = std::fs::read_to_string("docs/report.schema.json").expect("schema file");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    let one = serde_json::json!({
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/input",
    });
    let validator = jsonschema::draft202012::new(&one).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(input)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{input} does not match the schema: {errors:?}"
    );
}
