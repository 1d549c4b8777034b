//! The JSON report: rdptriage's stable, versioned machine-readable output.
//!
//! Takes: an [`Analysis`].
//! Produces: one JSON document (`attempts --format json` and `analyze --format json`).
//!
//! # Wire format (schema_version 1)
//!
//! ```text
//! {
//!   "schema_version": 1,                 // bumped on any incompatible change
//!   "tool": {"name": "rdptriage", "version": "0.1.0"},
//!   "command": "attempts",
//!   "inputs": [ {                        // one per input path, sorted by path
//!       "path", "format" (evtx|xml|jsonl|unknown), "host", "bytes",
//!       "records", "failed_records", "opaque_records" (trace lines that cannot be decoded,
//!       counted, never dropped), "first_error", "relevant", "out_of_window", "channels",
//!       "time_basis" (text forms: utc | timezone <zone> | assumed-utc), "note",
//!       "status" (read|partial|skipped|unreadable), "reason",
//!       "folder_host" (collection folder's host when it differs from "host"),
//!       "repeated" (relevant events left out as copies of a record read from another input
//!       or earlier in this one; omitted when 0), "repeated_kept_in" (the inputs holding the
//!       copies kept) } ],
//!   "hosts": [ {                         // sorted by name
//!       "name", "role" (client|gateway|server|dc|unknown), "roles": [...],
//!       "clock_offset_seconds" (seconds to add to the host's clock; null = not estimable),
//!       "clock_reference" (the lower-case name of the host the offset is relative to),
//!       "clock_samples", "events" } ],
//!   "host_summary": [ {                  // sorted by name; also hosts whose files held no
//!                                        // relevant event
//!       "name", "files", "records" (of the files whose main Computer is the host),
//!       "relevant_events", "attempts" (as client, gateway or session host),
//!       "failed_attempts", "failures_by_cause": {"<cause>": count} ({} before rules),
//!       "collected_as": ["<folder>"…]  // optional: collection folders naming the host otherwise
//!   } ],
//!   "attempts": [ {                      // sorted by start time
//!       "id" ("A0001"…), "client", "client_address", "target", "target_address",
//!       "gateway", "server", "user",
//!       "started", "ended",              // RFC 3339 UTC, on the reference clock
//!       "outcome" (succeeded|failed|unknown),
//!       "codes": {"primary", "primary_hex", "extended", "extended_hex",
//!                 "extended_source" (reported|server|null), "primary_reported",
//!                 "primary_decoded", "extended_decoded"},   // decoded code or null, below
//!       "seen_by": ["client", "gateway", "server"],
//!       "events": [ {"role", "time" (corrected), "logged_time" (host clock), "host",
//!                    "channel", "provider", "event_id", "kind", "record_id", "activity_id",
//!                    "fields", "decoded", "source": {"path", "record" | "line",
//!                    "recovered" (true for a record carved from unallocated space)}} ] } ],
//!   "summary": {"inputs", "records", "failed_records", "relevant_events", "attempts",
//!               "failed_attempts", "succeeded_attempts", "unknown_attempts"}
//! }
//! ```
//!
//! `analyze` (the rules were applied) adds, to every attempt (between `seen_by` and `events`):
//!
//! ```text
//!   "verdict": null | {                  // null for attempts that did not fail
//!       "cause",                         // stable cause id (rule id) or "undetermined"
//!       "title", "confidence" (0–1),
//!       "evidence": [ {"selector" (the rule's selector that matched), "role", "host",
//!                      "channel", "provider", "event_id", "time" (corrected),
//!                      "logged_time" (host clock), "record_id",
//!                      "source": {"path", "record" | "line"},
//!                      "summary" ("Name=value; …" of the event's fields),
//!                      "decoded"} ],
//!       "evidence_omitted",              // matching events not listed: a selector keeps the
//!                                        // 20 closest to the attempt (busy hosts log thousands)
//!       "explain",                       // plain words, placeholders filled in
//!       "remediation": [ {"text", "commands": [...]} ],   // in order
//!       "references": [...] },
//!   "alternatives": [ {"cause", "title", "confidence", "fallback", "explain"} ],
//!                                        // other causes that fired, best first; [] if none
//!   "missing_evidence": [ {"role", "host" (null when the machine is unknown), "channel",
//!                          "decides": [cause ids], "command" ("wevtutil epl …")} ]
//! ```
//!
//! and to `summary`: `"failures_by_cause": {"<cause>": count, …}` (sorted by cause). The verdict
//! ranking (specific before fallback, then confidence, evidence count, id) is documented in
//! [`crate::verdict`]. `attempts` output has none of these keys.
//!
//! A **decoded code** is `{"table", "name" (null when the table has no symbolic names),
//! "description"}`: the reading of a code in rdptriage's code tables ([`crate::codes`]; `table`
//! is a [`crate::codes::TableId`] name such as `disconnect_reason`). `primary_decoded` reads the
//! primary code as a client disconnect reason, `extended_decoded` the extended code as an extended
//! disconnect reason (else a server error-info or LSM 40 reason); either is null when there is no
//! code or no table knows it. `decoded` (on events and evidence lines) maps the name of each field
//! that holds a code (1026 `Value`, LSM 40 `Reason`, 4625 `Status`/`SubStatus`, gateway
//! `ErrorCode`, Schannel `AlertDesc`, …) to its decoded code; `{}` when there is none. These keys
//! were added within schema version 1 (additions only).
//!
//! `analyze --format jsonl` writes one attempt per line: the same object as an element of
//! `attempts[]` above, with `"schema_version"` as its first key (every line carries it, so a line
//! read on its own says which format it is in; no header line to skip). The machine-readable
//! schema of both is `docs/report.schema.json` (JSON Schema draft 2020-12; `$defs/attempt_line`
//! for the JSONL lines).
//!
//! Times are RFC 3339 in UTC. Field values keep their types: numbers are numbers, hex values are
//! `"0x…"` strings. Lists are sorted; the same inputs always give byte-identical output.

use super::codes::{self as decode, DecodedCode};
use crate::analysis::Analysis;
use crate::attempt::{Attempt, AttemptCodes, HostInfo, LinkedEvent, Outcome};
use crate::event::{Event, Fields, Provenance};
use crate::host_summary::{HostSummary, host_summaries};
use crate::source::InputReport;
use crate::verdict::{Alternative, Evidence, MissingLog, RemediationStep};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The version of the wire format above.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Serialize)]
pub struct Report<'a> {
    /// See the module docs.
    pub schema_version: u32,
    /// Name and version of the tool.
    pub tool: Tool,
    /// The subcommand that produced it.
    pub command: &'a str,
    /// Input accounting.
    pub inputs: &'a [InputReport],
    /// Hosts.
    pub hosts: &'a [HostInfo],
    /// Per-host totals (see [`crate::host_summary`]).
    pub host_summary: Vec<HostSummary>,
    /// Attempts.
    pub attempts: Vec<AttemptJson<'a>>,
    /// Totals.
    pub summary: Summary,
}

/// Tool identification.
#[derive(Serialize)]
pub struct Tool {
    /// Always `rdptriage`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

/// One attempt on the wire.
#[derive(Serialize)]
pub struct AttemptJson<'a> {
    id: &'a str,
    client: Option<&'a str>,
    client_address: Option<&'a str>,
    target: Option<&'a str>,
    target_address: Option<&'a str>,
    gateway: Option<&'a str>,
    server: Option<&'a str>,
    user: Option<&'a str>,
    started: DateTime<Utc>,
    ended: Option<DateTime<Utc>>,
    outcome: Outcome,
    codes: CodesJson<'a>,
    seen_by: &'a [crate::event::catalog::HostRole],
    #[serde(flatten)]
    triage: Option<TriageJson<'a>>,
    events: LinkedEvents<'a>,
}

/// An attempt's events on the wire, each built as it is written: a long attempt (a brute-forced
/// host links thousands) is never held whole in its wire form.
pub struct LinkedEvents<'a> {
    events: &'a [Event],
    links: &'a [LinkedEvent],
}

impl Serialize for LinkedEvents<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.links
                .iter()
                .map(|l| linked_event(&self.events[l.index], l)),
        )
    }
}

/// The verdict part of an attempt (present when rules were applied).
#[derive(Serialize)]
struct TriageJson<'a> {
    verdict: Option<VerdictJson<'a>>,
    alternatives: &'a [Alternative],
    missing_evidence: &'a [MissingLog],
}

/// The verdict of a failed attempt on the wire.
#[derive(Serialize)]
struct VerdictJson<'a> {
    cause: &'a str,
    title: &'a str,
    confidence: f64,
    evidence: Vec<EvidenceJson<'a>>,
    evidence_omitted: usize,
    explain: &'a str,
    remediation: &'a [RemediationStep],
    references: &'a [String],
}

/// One evidence line on the wire: the verdict's evidence plus its decoded code fields.
#[derive(Serialize)]
struct EvidenceJson<'a> {
    #[serde(flatten)]
    evidence: &'a Evidence,
    decoded: BTreeMap<String, DecodedCode>,
}

fn evidence_json<'a>(analysis: &'a Analysis, e: &'a Evidence) -> EvidenceJson<'a> {
    EvidenceJson {
        evidence: e,
        decoded: super::evidence_event(analysis, e)
            .map(decode::event_codes)
            .unwrap_or_default(),
    }
}

fn triage<'a>(analysis: &'a Analysis, a: &Attempt) -> Option<TriageJson<'a>> {
    analysis.verdicts.as_ref()?;
    let Some(v) = analysis.verdict_for(&a.id) else {
        return Some(TriageJson {
            verdict: None,
            alternatives: &[],
            missing_evidence: &[],
        });
    };
    Some(TriageJson {
        verdict: Some(VerdictJson {
            cause: &v.cause,
            title: &v.title,
            confidence: v.confidence,
            evidence: v
                .evidence
                .iter()
                .map(|e| evidence_json(analysis, e))
                .collect(),
            evidence_omitted: v.evidence_omitted,
            explain: &v.explain,
            remediation: &v.remediation,
            references: &v.references,
        }),
        alternatives: &v.alternatives,
        missing_evidence: &v.missing_evidence,
    })
}

#[derive(Serialize)]
struct CodesJson<'a> {
    primary: Option<u64>,
    primary_hex: Option<String>,
    extended: Option<u64>,
    extended_hex: Option<String>,
    extended_source: Option<&'a str>,
    primary_reported: bool,
    primary_decoded: Option<DecodedCode>,
    extended_decoded: Option<DecodedCode>,
}

/// One event of an attempt on the wire.
#[derive(Serialize)]
pub struct LinkedEventJson<'a> {
    role: crate::event::catalog::HostRole,
    time: DateTime<Utc>,
    logged_time: DateTime<Utc>,
    host: &'a str,
    channel: &'a str,
    provider: &'a str,
    event_id: u32,
    kind: Option<&'static str>,
    record_id: Option<u64>,
    activity_id: Option<&'a str>,
    fields: &'a Fields,
    decoded: BTreeMap<String, DecodedCode>,
    source: Provenance,
}

/// Totals over the run.
#[derive(Serialize)]
pub struct Summary {
    inputs: usize,
    records: u64,
    failed_records: u64,
    relevant_events: usize,
    attempts: usize,
    failed_attempts: usize,
    succeeded_attempts: usize,
    unknown_attempts: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    failures_by_cause: Option<BTreeMap<String, usize>>,
}

/// Failed attempts per verdict cause, when rules were applied.
pub fn failures_by_cause(analysis: &Analysis) -> Option<BTreeMap<String, usize>> {
    let verdicts = analysis.verdicts.as_ref()?;
    let mut out = BTreeMap::new();
    for v in verdicts {
        *out.entry(v.cause.clone()).or_insert(0) += 1;
    }
    Some(out)
}

fn hex(n: Option<u64>) -> Option<String> {
    n.map(|n| format!("0x{n:X}"))
}

fn codes(c: &AttemptCodes) -> CodesJson<'_> {
    CodesJson {
        primary: c.primary,
        primary_hex: hex(c.primary),
        extended: c.extended,
        extended_hex: hex(c.extended),
        extended_source: c.extended_source.as_deref(),
        primary_reported: c.primary_reported,
        primary_decoded: decode::primary(c),
        extended_decoded: decode::extended(c),
    }
}

/// One linked event on the wire.
pub fn linked_event<'a>(event: &'a Event, link: &LinkedEvent) -> LinkedEventJson<'a> {
    LinkedEventJson {
        role: link.role,
        time: link.corrected_time,
        logged_time: event.time,
        host: event.host(),
        channel: event.channel(),
        provider: event.provider(),
        event_id: event.event_id,
        kind: event.catalog_entry().map(|e| e.kind),
        record_id: event.record_id(),
        activity_id: event.activity_id.as_deref(),
        fields: &event.fields,
        decoded: decode::event_codes(event),
        source: event.source(),
    }
}

/// One attempt on the wire.
pub fn attempt<'a>(analysis: &'a Analysis, a: &'a Attempt) -> AttemptJson<'a> {
    let events = &analysis.timeline.events;
    AttemptJson {
        id: &a.id,
        client: a.client.as_deref(),
        client_address: a.client_address.as_deref(),
        target: a.target.as_deref(),
        target_address: a.target_address.as_deref(),
        gateway: a.gateway.as_deref(),
        server: a.server.as_deref(),
        user: a.user.as_deref(),
        started: a.started,
        ended: a.ended,
        outcome: a.outcome,
        codes: codes(&a.codes),
        seen_by: &a.seen_by,
        triage: triage(analysis, a),
        events: LinkedEvents {
            events,
            links: &a.events,
        },
    }
}

/// Build the report for `command`.
pub fn report<'a>(analysis: &'a Analysis, command: &'a str) -> Report<'a> {
    let attempts = &analysis.correlation.attempts;
    Report {
        attempts: attempts.iter().map(|a| attempt(analysis, a)).collect(),
        ..report_without_attempts(analysis, command)
    }
}

/// The report with an empty `attempts`: [`write`] renders those one batch at a time.
fn report_without_attempts<'a>(analysis: &'a Analysis, command: &'a str) -> Report<'a> {
    let attempts = &analysis.correlation.attempts;
    let count = |o: Outcome| attempts.iter().filter(|a| a.outcome == o).count();
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "rdptriage",
            version: env!("CARGO_PKG_VERSION"),
        },
        command,
        inputs: &analysis.inputs,
        hosts: &analysis.correlation.hosts,
        host_summary: host_summaries(analysis),
        attempts: Vec::new(),
        summary: Summary {
            inputs: analysis.inputs.len(),
            records: analysis.inputs.iter().map(|i| i.records).sum(),
            failed_records: analysis.inputs.iter().map(|i| i.failed_records).sum(),
            relevant_events: analysis.timeline.events.len(),
            attempts: attempts.len(),
            failed_attempts: count(Outcome::Failed),
            succeeded_attempts: count(Outcome::Succeeded),
            unknown_attempts: count(Outcome::Unknown),
            failures_by_cause: failures_by_cause(analysis),
        },
    }
}

/// One line of `analyze --format jsonl`: `schema_version`, then the attempt's keys.
#[derive(Serialize)]
struct AttemptLine<'a> {
    schema_version: u32,
    #[serde(flatten)]
    attempt: AttemptJson<'a>,
}

/// Write one attempt per line (see the module docs), in attempt order.
pub fn write_jsonl(analysis: &Analysis, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for a in &analysis.correlation.attempts {
        let line = AttemptLine {
            schema_version: SCHEMA_VERSION,
            attempt: attempt(analysis, a),
        };
        serde_json::to_writer(&mut *out, &line)?;
        writeln!(out)?;
    }
    Ok(())
}

/// An attempt with more events than this is written straight out rather than rendered in
/// memory with its batch (its text runs to megabytes: a brute-forced host's attempt).
const STREAMED_ATTEMPT_EVENTS: usize = 512;

/// Write the report as pretty JSON followed by a newline: the bytes of
/// `serde_json::to_writer_pretty(report(..))`, with the attempts (most of a big report) built and
/// rendered in parallel batches ([`super::pretty`]), never all held at once.
pub fn write(
    analysis: &Analysis,
    command: &str,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    // Destructured so that a new member cannot be forgotten here; the order is the struct's.
    let Report {
        schema_version,
        tool,
        command,
        inputs,
        hosts,
        host_summary,
        attempts: _,
        summary,
    } = report_without_attempts(analysis, command);
    let mut object = super::pretty::PrettyObject::start(out)?;
    object.member("schema_version", &schema_version)?;
    object.member("tool", &tool)?;
    object.member("command", command)?;
    object.member("inputs", inputs)?;
    object.member("hosts", hosts)?;
    object.member("host_summary", &host_summary)?;
    object.array_member_with(
        "attempts",
        &analysis.correlation.attempts,
        |a| attempt(analysis, a),
        |a| a.events.len() > STREAMED_ATTEMPT_EVENTS,
    )?;
    object.member("summary", &summary)?;
    object.finish()?;
    writeln!(out)
}
