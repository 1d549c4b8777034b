//! Rule cases: small, self-contained scenarios that say which verdict a rule pack must give.
//!
//! Takes: a case file (`rules/<family>/<name>/cases/*.yaml`): inline events in the
//! `rdptriage events --format jsonl` shape and/or input files relative to the case file, an
//! optional `reported_error`, optional extra supplied `logs`, and an `expect`ation.
//! Produces: a [`CaseResult`] — passed or not, with the verdicts actually given — used by
//! `rdptriage rules test` and by the `#[test]` functions `build.rs` generates for `cargo test`.
//!
//! Expectations: `cause: X` — every failed attempt gets verdict `X` (and there is at least one);
//! `cause: undetermined` — likewise with no rule firing; `not_cause: X` — rule `X` fires for no
//! attempt (neither as the verdict nor as an alternative).

use super::RulePack;
use super::compile::parse_yaml;
use super::model::{OrderedMap, Scalar, line_col};
use crate::analysis::Analysis;
use crate::attempt::{self, AttemptOptions, ReportedError, Timeline};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::event::catalog::SECURITY_AUDITING;
use crate::event::{Event, FieldValue, Provenance};
use crate::source::{InputFormat, InputReport};
use crate::verdict::{self, Verdict};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One case file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// What the scenario is.
    #[serde(default)]
    pub description: Option<String>,
    /// The code pair from the user's dialog, e.g. `0x904/0x7`.
    #[serde(default)]
    pub reported_error: Option<Spanned<Scalar>>,
    /// Inline events.
    #[serde(default)]
    pub events: Vec<CaseEvent>,
    /// Input files, relative to the case file.
    #[serde(default)]
    pub inputs: Vec<Spanned<String>>,
    /// Logs supplied that held no relevant event (so their absence is not a gap).
    #[serde(default)]
    pub logs: Vec<CaseLog>,
    /// What the verdict must be.
    pub expect: Expect,
}

/// An inline event: the JSONL event shape, `provider`, `source` and ids optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseEvent {
    /// RFC 3339 time on the logging host's clock.
    pub time: Spanned<String>,
    /// The logging machine.
    pub host: String,
    /// The channel.
    pub channel: String,
    /// The provider (default: `Microsoft-Windows-Security-Auditing` for Security, else the part
    /// of the channel before `/`).
    #[serde(default)]
    pub provider: Option<String>,
    /// The event id.
    pub event_id: u32,
    /// The level.
    #[serde(default)]
    pub level: Option<u8>,
    /// The record id.
    #[serde(default)]
    pub record_id: Option<u64>,
    /// The ActivityID.
    #[serde(default)]
    pub activity_id: Option<String>,
    /// The fields.
    #[serde(default)]
    pub fields: OrderedMap<String, FieldValue>,
    /// Where the event came from (default: the case file, record = position in the list).
    #[serde(default)]
    pub source: Option<Provenance>,
}

/// A supplied log with no relevant events.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseLog {
    /// The machine.
    pub host: String,
    /// The channel.
    pub channel: String,
}

/// The expectation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Every failed attempt gets this cause (`undetermined` allowed).
    #[serde(default)]
    pub cause: Option<Spanned<String>>,
    /// This cause fires for no attempt.
    #[serde(default)]
    pub not_cause: Option<Spanned<String>>,
}

/// What a case expects, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// Every failed attempt's verdict is this cause.
    Cause(String),
    /// This cause fires for no attempt.
    NotCause(String),
}

impl std::fmt::Display for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expectation::Cause(c) => write!(f, "cause {c}"),
            Expectation::NotCause(c) => write!(f, "not cause {c}"),
        }
    }
}

/// A parsed case.
#[derive(Debug)]
pub struct Case {
    /// The case file as shown.
    pub path: String,
    /// The file, parsed.
    pub file: CaseFile,
    /// The expectation.
    pub expect: Expectation,
    /// The reported error, parsed.
    pub reported: Option<ReportedError>,
}

/// The result of running a case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case file.
    pub path: String,
    /// What was expected.
    pub expect: Expectation,
    /// Whether it held.
    pub passed: bool,
    /// The verdicts given, `A0001 → cause (alternatives: …)`.
    pub actual: Vec<String>,
}

/// Parse a case file; errors name file:line:col.
pub fn parse_case(path: &str, text: &str) -> Result<Case> {
    let file: CaseFile = parse_yaml(path, text)?;
    let err = |loc: &serde_saphyr::Location, message: String| {
        let (line, column) = line_col(loc);
        Error::Rule {
            path: PathBuf::from(path),
            line: line.max(1),
            column: column.max(1),
            message,
        }
    };
    let expect = match (&file.expect.cause, &file.expect.not_cause) {
        (Some(c), None) => Expectation::Cause(c.value.trim().to_string()),
        (None, Some(c)) => Expectation::NotCause(c.value.trim().to_string()),
        (Some(c), Some(_)) => {
            return Err(err(
                &c.referenced,
                "`expect` takes `cause` or `not_cause`, not both".into(),
            ));
        }
        (None, None) => {
            return Err(Error::Rule {
                path: PathBuf::from(path),
                line: 1,
                column: 1,
                message: "`expect` needs `cause: <id>` (or `undetermined`) or `not_cause: <id>`"
                    .into(),
            });
        }
    };
    let reported = match &file.reported_error {
        None => None,
        Some(r) => Some(
            r.value
                .to_text()
                .parse::<ReportedError>()
                .map_err(|e| err(&r.referenced, e.to_string()))?,
        ),
    };
    for e in &file.events {
        if chrono::DateTime::parse_from_rfc3339(e.time.value.trim()).is_err() {
            return Err(err(
                &e.time.referenced,
                format!(
                    "`{}` is not an RFC 3339 time (e.g. 2024-05-14T09:00:00Z)",
                    e.time.value
                ),
            ));
        }
    }
    if file.events.is_empty() && file.inputs.is_empty() {
        return Err(Error::Rule {
            path: PathBuf::from(path),
            line: 1,
            column: 1,
            message: "a case needs `events` or `inputs`".into(),
        });
    }
    Ok(Case {
        path: path.to_string(),
        file,
        expect,
        reported,
    })
}

/// Run `case` against `pack`; `base` is the folder input paths are relative to.
pub fn run_case(pack: &RulePack, case: &Case, base: Option<&Path>) -> Result<CaseResult> {
    let analysis = case_analysis(case, base, pack)?;
    let verdicts = analysis.verdicts.as_deref().unwrap_or(&[]);
    let passed = match &case.expect {
        Expectation::Cause(c) => !verdicts.is_empty() && verdicts.iter().all(|v| v.cause == *c),
        Expectation::NotCause(c) => verdicts
            .iter()
            .all(|v| v.cause != *c && v.alternatives.iter().all(|a| a.cause != *c)),
    };
    Ok(CaseResult {
        path: case.path.clone(),
        expect: case.expect.clone(),
        passed,
        actual: verdicts.iter().map(describe).collect(),
    })
}

fn describe(v: &Verdict) -> String {
    let alts: Vec<&str> = v.alternatives.iter().map(|a| a.cause.as_str()).collect();
    if alts.is_empty() {
        format!("{} → {}", v.attempt, v.cause)
    } else {
        format!(
            "{} → {} (also fired: {})",
            v.attempt,
            v.cause,
            alts.join(", ")
        )
    }
}

/// The analysis of a case: its input files read as `rdptriage analyze` would, plus the inline
/// events, correlated, with verdicts from `pack`.
pub fn case_analysis(case: &Case, base: Option<&Path>, pack: &RulePack) -> Result<Analysis> {
    let mut inputs = Vec::new();
    let mut events = Vec::new();
    if !case.file.inputs.is_empty() {
        let base = base.ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{}: input files need the case on disk (run `rules test DIR`)",
                case.path
            ))
        })?;
        let config = Config {
            paths: case
                .file
                .inputs
                .iter()
                .map(|p| base.join(&p.value))
                .collect(),
            threads: Some(1),
            ..Config::default()
        };
        let read = crate::analysis::analyze(&config, &crate::analysis::NoProgress)?;
        inputs = read.inputs;
        events = read.timeline.events;
    }
    let file: Arc<str> = Arc::from(case.path.as_str());
    let mut channels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, e) in case.file.events.iter().enumerate() {
        let event = inline_event(e, &file, i as u64 + 1);
        channels
            .entry(event.host().to_string())
            .or_default()
            .push(event.channel().to_string());
        events.push(event);
    }
    for l in &case.file.logs {
        channels
            .entry(l.host.clone())
            .or_default()
            .push(l.channel.clone());
    }
    for (host, mut chans) in channels {
        chans.sort();
        chans.dedup();
        inputs.push(InputReport::synthetic(
            format!("{} ({host})", case.path),
            InputFormat::Jsonl,
            &host,
            chans,
        ));
    }
    let timeline = Timeline::new(events);
    let options = AttemptOptions {
        reported_error: case.reported,
    };
    let correlation = attempt::correlate(&timeline, &options);
    let mut analysis = Analysis {
        inputs,
        timeline,
        correlation,
        verdicts: None,
    };
    analysis.verdicts = Some(verdict::judge(&analysis, pack));
    Ok(analysis)
}

fn inline_event(e: &CaseEvent, file: &Arc<str>, n: u64) -> Event {
    let provider = e.provider.clone().unwrap_or_else(|| {
        if e.channel.eq_ignore_ascii_case("Security") {
            SECURITY_AUDITING.to_string()
        } else {
            e.channel.split('/').next().unwrap_or("").to_string()
        }
    });
    let time = chrono::DateTime::parse_from_rfc3339(e.time.value.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    let source = e
        .source
        .clone()
        .unwrap_or_else(|| Provenance::record(file.clone(), n));
    Event {
        time,
        origin: crate::event::Origin::new(
            e.host.as_str(),
            e.channel.as_str(),
            provider,
            source.path,
        ),
        event_id: e.event_id,
        level: e.level,
        activity_id: e.activity_id.as_deref().map(Into::into),
        fields: e.fields.0.iter().cloned().collect(),
        place: crate::event::Place::new(source.locator, e.record_id.or(Some(n))),
    }
}
