//! The facts of an attempt that `facts:` selectors test.
//!
//! Takes: the analysis and one attempt.
//! Produces: [`facts`] — a field map of attempt properties (largest clock offset between its
//! machines, whether it reached a session, who saw it, outcome, codes and names), so rules can
//! test them with the same predicates as event fields.

use crate::analysis::Analysis;
use crate::attempt::{Attempt, Outcome, host_key};
use crate::event::{FieldValue, Fields};

/// The facts of an attempt, as fields a `facts` selector can test.
pub fn facts(analysis: &Analysis, attempt: &Attempt) -> Fields {
    let text = |v: &Option<String>| v.clone().map_or(FieldValue::Null, FieldValue::Text);
    let code = |v: Option<u64>| v.map_or(FieldValue::Null, FieldValue::Hex);
    let mut f = Fields::new();
    f.insert(
        "clock_offset_seconds",
        FieldValue::Float(clock_spread(analysis, attempt)),
    );
    f.insert("connected", FieldValue::Bool(connected(analysis, attempt)));
    f.insert(
        "seen_by",
        FieldValue::List(
            attempt
                .seen_by
                .iter()
                .map(|r| FieldValue::Text(r.as_str().into()))
                .collect(),
        ),
    );
    let outcome = match attempt.outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::Unknown => "unknown",
    };
    f.insert("outcome", FieldValue::Text(outcome.into()));
    f.insert("primary", code(attempt.codes.primary));
    f.insert("extended", code(attempt.codes.extended));
    f.insert("extended_source", text(&attempt.codes.extended_source));
    f.insert(
        "primary_reported",
        FieldValue::Bool(attempt.codes.primary_reported),
    );
    f.insert("client", text(&attempt.client));
    f.insert("gateway", text(&attempt.gateway));
    f.insert("server", text(&attempt.server));
    f.insert("target", text(&attempt.target));
    f.insert("user", text(&attempt.user));
    f
}

/// The largest clock difference, in seconds, between the attempt's machines whose offsets are
/// known (against the reference clock when only one is known), rounded to 0.1 s.
fn clock_spread(analysis: &Analysis, attempt: &Attempt) -> f64 {
    let offsets = &analysis.correlation.offsets;
    let known: Vec<f64> = [&attempt.client, &attempt.gateway, &attempt.server]
        .into_iter()
        .flatten()
        .filter_map(|h| offsets.get(&host_key(h)).copied())
        .collect();
    let spread = match known.as_slice() {
        [] => 0.0,
        [one] => one.abs(),
        many => {
            let max = many.iter().copied().fold(f64::MIN, f64::max);
            let min = many.iter().copied().fold(f64::MAX, f64::min);
            max - min
        }
    };
    (spread * 10.0).round() / 10.0
}

/// The attempt reached a session: client 1025/1027, LSM 21/22/25, or a type 10/7 logon.
fn connected(analysis: &Analysis, attempt: &Attempt) -> bool {
    attempt.events.iter().any(|l| {
        let e = &analysis.timeline.events[l.index];
        match e.catalog_entry().map(|c| c.kind) {
            Some("client.connected" | "client.logged_on") => true,
            Some(
                "server.session_logon" | "server.shell_started" | "server.session_reconnected",
            ) => true,
            Some("security.logon") => matches!(e.field_u64("LogonType"), Some(7 | 10)),
            _ => false,
        }
    })
}
