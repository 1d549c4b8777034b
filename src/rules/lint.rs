//! `rdptriage rules lint`: every problem in a rule pack, with file:line:col.
//!
//! Takes: rule sources (from a directory or the embedded pack).
//! Produces: [`Diagnostic`]s. Errors: anything that stops a rule or case from loading (YAML
//! syntax, unknown or duplicate keys, bad regex, unknown selector in the condition, …) and a rule
//! without at least one case that must fire and one that must not. Warnings: channels, event ids
//! or field names rdptriage does not know (probably misspelt), selectors the condition never uses.

use super::RuleSource;
use super::cases::{Expectation, parse_case};
use super::compile::{STANDARD_CHANNELS, compile_rule, normalize_channel, parse_yaml, scalar_code};
use super::condition::parse as parse_condition;
use super::fields::known_fields;
use super::model::{RuleFile, line_col};
use crate::error::Error;
use crate::event::catalog::{CATALOG, Scope, known_channels, lookup};
use serde_saphyr::Location;

/// How serious a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The rule or case cannot be used.
    Error,
    /// Probably a mistake.
    Warning,
}

/// One problem.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {kind}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

fn from_error(e: Error) -> Diagnostic {
    match e {
        Error::Rule {
            path,
            line,
            column,
            message,
        } => Diagnostic {
            path: path.display().to_string(),
            line,
            column,
            severity: Severity::Error,
            message,
        },
        other => Diagnostic {
            path: String::new(),
            line: 0,
            column: 0,
            severity: Severity::Error,
            message: other.to_string(),
        },
    }
}

/// Lint every source and its cases; sorted by file, line, column.
pub fn lint(sources: &[RuleSource]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in sources {
        match compile_rule(&s.id, &s.path, &s.text) {
            Err(errors) => out.extend(errors.into_iter().map(from_error)),
            Ok(_) => {
                if let Ok(file) = parse_yaml::<RuleFile>(&s.path, &s.text) {
                    warnings(&s.path, &file, &mut out);
                }
            }
        }
        lint_cases(s, &mut out);
    }
    out.sort();
    out
}

fn warn(out: &mut Vec<Diagnostic>, path: &str, loc: &Location, message: String) {
    let (line, column) = line_col(loc);
    out.push(Diagnostic {
        path: path.to_string(),
        line: line.max(1),
        column: column.max(1),
        severity: Severity::Warning,
        message,
    });
}

fn is_known_channel(c: &str) -> bool {
    known_channels()
        .into_iter()
        .chain(STANDARD_CHANNELS.iter().copied())
        .any(|k| k == c)
}

/// Is (channel, provider, id) in the catalog? Without a provider, a classic channel (System,
/// Security…) accepts any provider-scoped entry with that id.
fn event_known(channel: &str, provider: Option<&str>, id: u32) -> bool {
    match provider {
        Some(p) => lookup(channel, p, id).is_some(),
        None => CATALOG.iter().any(|e| {
            e.event_id == id
                && match e.scope {
                    Scope::Channel(c) => c.eq_ignore_ascii_case(channel),
                    Scope::Provider(_) => STANDARD_CHANNELS.contains(&channel),
                }
        }),
    }
}

fn warnings(path: &str, file: &RuleFile, out: &mut Vec<Diagnostic>) {
    let names: Vec<String> = file
        .evidence
        .0
        .iter()
        .map(|(n, _)| n.value.clone())
        .collect();
    let mut used = Vec::new();
    if let Ok(expr) = parse_condition(&file.condition.value, &names, &|_| true) {
        expr.selectors(true, &mut used);
    }
    for (i, (name, sel)) in file.evidence.0.iter().enumerate() {
        if !used.iter().any(|(u, _)| *u == i) {
            warn(
                out,
                path,
                &name.referenced,
                format!("selector `{}` is not used in the condition", name.value),
            );
        }
        let channel = sel
            .channel
            .as_ref()
            .map(|c| (normalize_channel(&c.value), &c.referenced));
        if let Some((c, loc)) = &channel
            && !is_known_channel(c)
        {
            warn(
                out,
                path,
                loc,
                format!("unknown channel `{c}` (not in rdptriage's event catalog)"),
            );
        }
        let provider = sel.provider.as_ref().map(|p| p.value.trim().to_string());
        for id in sel.event_id.iter().flat_map(|l| l.0.iter()) {
            let Some(n) = scalar_code(&id.value).and_then(|n| u32::try_from(n).ok()) else {
                continue;
            };
            let ch = channel.as_ref().map_or("", |(c, _)| c.as_str());
            if !event_known(ch, provider.as_deref(), n) {
                warn(
                    out,
                    path,
                    &id.referenced,
                    format!(
                        "unknown event id {n} for this channel/provider (not in rdptriage's event catalog)"
                    ),
                );
                continue;
            }
            let Some(known) = known_fields(
                channel.as_ref().map(|(c, _)| c.as_str()),
                provider.as_deref(),
                n,
            ) else {
                continue;
            };
            for (field, _) in &sel.where_.0 {
                if !known.iter().any(|k| k.eq_ignore_ascii_case(&field.value)) {
                    warn(
                        out,
                        path,
                        &field.referenced,
                        format!(
                            "event {n} has no field `{}` (known: {})",
                            field.value,
                            known.join(", ")
                        ),
                    );
                }
            }
            for (_, field) in &sel.capture.0 {
                if !known.iter().any(|k| k.eq_ignore_ascii_case(&field.value)) {
                    warn(
                        out,
                        path,
                        &field.referenced,
                        format!(
                            "event {n} has no field `{}` to capture (known: {})",
                            field.value,
                            known.join(", ")
                        ),
                    );
                }
            }
        }
    }
    for r in &file.requires {
        let c = normalize_channel(&r.channel.value);
        if !is_known_channel(&c) {
            warn(
                out,
                path,
                &r.channel.referenced,
                format!("unknown channel `{c}` in requires"),
            );
        }
    }
}

fn lint_cases(s: &RuleSource, out: &mut Vec<Diagnostic>) {
    let mut fires = false;
    let mut quiet = false;
    for (path, text) in &s.cases {
        match parse_case(path, text) {
            Ok(case) => match &case.expect {
                Expectation::Cause(c) if *c == s.id => fires = true,
                Expectation::Cause(c) if c == crate::verdict::UNDETERMINED => quiet = true,
                Expectation::NotCause(c) if *c == s.id => quiet = true,
                _ => {}
            },
            Err(e) => out.push(from_error(e)),
        }
    }
    let mut missing = |what: &str| {
        out.push(Diagnostic {
            path: s.path.clone(),
            line: 1,
            column: 1,
            severity: Severity::Error,
            message: format!("rule `{}` needs a case that {what} (in cases/*.yaml)", s.id),
        });
    };
    if !fires {
        missing(&format!("must fire (`expect: {{cause: {}}}`)", s.id));
    }
    if !quiet {
        missing(&format!(
            "must not fire (`expect: {{not_cause: {}}}`)",
            s.id
        ));
    }
}
