//! Compiling `rule.yaml` into a [`CompiledRule`].
//!
//! Takes: a rule's id (from its folder), its path as shown in messages, and its text.
//! Produces: the [`CompiledRule`], or every problem found as [`Error::Rule`] values naming
//! file:line:col. YAML problems (syntax, unknown keys, duplicate keys, wrong types) come from
//! serde-saphyr with their location; semantic problems (bad regex, unknown selector in the
//! condition, bad duration, unknown placeholder…) use the span of the value they are about.
//! Nothing here panics on bad input.

use super::condition;
use super::engine::FACT_NAMES;
use super::limits::condition_nesting;
pub use super::limits::{MAX_CONDITION_DEPTH, MAX_YAML_BYTES, parse_yaml};
use super::model::{self, RuleFile, Scalar, SelectorFile, line_col};
use super::predicate::{self, FieldPredicate};
use super::template::{BUILTINS, Template};
pub use super::values::{STANDARD_CHANNELS, normalize_channel, parse_duration, scalar_code};
use super::{
    AppliesTo, CompiledRule, EventSelector, Requirement, Role, Scope, Selector, SelectorKind, Step,
};
use crate::attempt::Outcome;
use crate::error::Error;
use chrono::Duration;
use serde_saphyr::{Location, Spanned};
use std::path::PathBuf;

/// Default `window.before` and `window.after`.
pub const DEFAULT_WINDOW_SECONDS: i64 = 120;

/// Problems found while compiling one file.
pub struct Problems<'a> {
    path: &'a str,
    text: &'a str,
    /// The errors, in the order found.
    pub errors: Vec<Error>,
}

impl<'a> Problems<'a> {
    /// A collector for `path` whose text is `text`.
    pub fn new(path: &'a str, text: &'a str) -> Self {
        Problems {
            path,
            text,
            errors: Vec::new(),
        }
    }

    /// Record a problem at `loc`.
    pub fn at(&mut self, loc: &Location, message: impl Into<String>) {
        let (line, column) = line_col(loc);
        self.push(line, column, message.into());
    }

    fn push(&mut self, line: usize, column: usize, message: String) {
        self.errors.push(Error::Rule {
            path: PathBuf::from(self.path),
            line: line.max(1),
            column: column.max(1),
            message,
        });
    }

    /// Record a problem `offset` characters into the single-line scalar `value` found at `loc`
    /// (multi-line values point at their start).
    pub fn inside(&mut self, loc: &Location, value: &str, offset: usize, message: String) {
        let (line, column) = line_col(loc);
        if value.trim_end().contains('\n') || line == 0 {
            return self.push(line, column, message);
        }
        let source_line = self.text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let at = source_line.chars().nth(column.saturating_sub(1));
        let quote = usize::from(matches!(at, Some('"' | '\'')));
        self.push(line, column + quote + offset, message);
    }
}

/// Compile one rule; `Err` holds every problem found.
pub fn compile_rule(id: &str, path: &str, text: &str) -> Result<CompiledRule, Vec<Error>> {
    let file: RuleFile = parse_yaml(path, text).map_err(|e| vec![e])?;
    let mut p = Problems::new(path, text);
    check_id(id, &mut p);
    let selectors = compile_selectors(&file, &mut p);
    let names: Vec<String> = selectors.iter().map(|s| s.name.to_string()).collect();
    let is_event = |i: usize| {
        matches!(
            selectors.get(i).map(|s| &s.kind),
            Some(SelectorKind::Events(_))
        )
    };
    let cond = &file.condition;
    let nesting = condition_nesting(&cond.value);
    let condition = match nesting.and_then(|()| condition::parse(&cond.value, &names, &is_event)) {
        Ok(e) => Some(e),
        Err(e) => {
            p.inside(&cond.referenced, &cond.value, e.offset, e.message);
            None
        }
    };
    let captures: Vec<String> = selectors
        .iter()
        .flat_map(|s| s.captures.iter().map(|(n, _)| n.clone()))
        .collect();
    let explain = template(&file.explain, &captures, &mut p);
    let remediation = file
        .remediation
        .iter()
        .map(|s| Step {
            text: template(&s.text, &captures, &mut p),
            commands: s
                .commands
                .iter()
                .map(|c| template(c, &captures, &mut p))
                .collect(),
        })
        .collect();
    let confidence = file.confidence.value;
    if !(0.0..=1.0).contains(&confidence) || confidence.is_nan() {
        p.at(
            &file.confidence.referenced,
            format!("confidence must be between 0 and 1, got {confidence}"),
        );
    }
    let applies_to = applies_to(file.applies_to.as_ref(), &mut p);
    let requires = requires(&file, &mut p);
    if file.title.value.trim().is_empty() {
        p.at(&file.title.referenced, "title is empty");
    }
    match condition {
        Some(condition) if p.errors.is_empty() => Ok(CompiledRule {
            id: id.to_string(),
            path: path.to_string(),
            title: file.title.value.trim().to_string(),
            explain,
            remediation,
            references: file.references.clone(),
            applies_to,
            selectors,
            condition,
            condition_text: cond.value.trim().to_string(),
            confidence,
            fallback: file.fallback,
            requires,
        }),
        _ => Err(p.errors),
    }
}

fn check_id(id: &str, p: &mut Problems<'_>) {
    let ok_part = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let valid = id
        .split_once('.')
        .is_some_and(|(f, n)| ok_part(f) && ok_part(n));
    if !valid {
        p.push(
            1,
            1,
            format!("rule id `{id}` (from the folder path) must be <family>.<name> in lower case letters, digits and `-`"),
        );
    }
}

fn template(s: &Spanned<String>, captures: &[String], p: &mut Problems<'_>) -> Template {
    match Template::parse(&s.value) {
        Ok(t) => {
            for f in t.fields() {
                if !BUILTINS.contains(&f) && !captures.iter().any(|c| c == f) {
                    p.at(
                        &s.referenced,
                        format!(
                            "unknown placeholder `{{{f}}}`: not a capture of this rule nor one of {}",
                            BUILTINS.join(", ")
                        ),
                    );
                }
            }
            t
        }
        Err(e) => {
            p.inside(&s.referenced, &s.value, e.offset, e.message);
            Template::default()
        }
    }
}

fn compile_selectors(file: &RuleFile, p: &mut Problems<'_>) -> Vec<Selector> {
    if file.evidence.0.is_empty() {
        p.push(1, 1, "`evidence` has no selectors".into());
    }
    let mut out = Vec::new();
    for (name, sel) in &file.evidence.0 {
        let valid_name = name
            .value
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name
                .value
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
            && !matches!(name.value.as_str(), "and" | "or" | "not" | "then");
        if !valid_name {
            p.at(&name.referenced, format!("selector name `{}` must be a word (letters, digits, `_`, `-`) and not and/or/not/then", name.value));
        }
        let kind = match &sel.facts {
            Some(facts) => facts_selector(sel, facts, p),
            None => event_selector(name, sel, p),
        };
        let captures = captures(sel, &kind, p);
        let min_count = match &sel.min_count {
            Some(m) if m.value == 0 => {
                p.at(
                    &m.referenced,
                    "min_count must be at least 1 (use `not` in the condition for absence)",
                );
                1
            }
            Some(m) => m.value as usize,
            None => 1,
        };
        out.push(Selector {
            name: name.value.as_str().into(),
            kind,
            min_count,
            captures,
        });
    }
    out
}

fn facts_selector(
    sel: &SelectorFile,
    facts: &model::OrderedMap<Spanned<String>, Spanned<model::PredicateFile>>,
    p: &mut Problems<'_>,
) -> SelectorKind {
    let stray = [
        sel.role.as_ref().map(|s| (&s.referenced, "role")),
        sel.channel.as_ref().map(|s| (&s.referenced, "channel")),
        sel.provider.as_ref().map(|s| (&s.referenced, "provider")),
        sel.scope.as_ref().map(|s| (&s.referenced, "scope")),
        sel.min_count.as_ref().map(|s| (&s.referenced, "min_count")),
        sel.where_.0.first().map(|(k, _)| (&k.referenced, "where")),
    ];
    for (loc, key) in stray.into_iter().flatten() {
        p.at(loc, format!("`{key}` does not apply to a `facts` selector"));
    }
    if facts.0.is_empty() {
        p.push(
            1,
            1,
            "a `facts` selector needs at least one predicate".into(),
        );
    }
    let mut preds = Vec::new();
    for (name, pred) in &facts.0 {
        if !FACT_NAMES.contains(&name.value.as_str()) {
            p.at(
                &name.referenced,
                format!(
                    "unknown fact `{}` (facts: {})",
                    name.value,
                    FACT_NAMES.join(", ")
                ),
            );
            continue;
        }
        if let Some(fp) = predicate_at(&name.value, pred, p) {
            preds.push(fp);
        }
    }
    SelectorKind::Facts(preds)
}

fn predicate_at(
    field: &str,
    pred: &Spanned<model::PredicateFile>,
    p: &mut Problems<'_>,
) -> Option<FieldPredicate> {
    match predicate::compile(field, &pred.value) {
        Ok(fp) => Some(fp),
        Err(message) => {
            p.at(&pred.referenced, message);
            None
        }
    }
}

fn event_selector(
    name: &Spanned<String>,
    sel: &SelectorFile,
    p: &mut Problems<'_>,
) -> SelectorKind {
    let (role, scope) = role_and_scope(name, sel, p);
    if sel.channel.is_none() && sel.provider.is_none() {
        let message = format!(
            "selector `{}` needs a `channel` or a `provider`",
            name.value
        );
        p.at(&name.referenced, message);
    }
    let mut event_ids = Vec::new();
    for id in sel.event_id.iter().flat_map(|l| l.0.iter()) {
        match scalar_code(&id.value).and_then(|n| u32::try_from(n).ok()) {
            Some(n) => event_ids.push(n),
            None => p.at(
                &id.referenced,
                format!("event_id `{}` is not a number", id.value.to_text()),
            ),
        }
    }
    let predicates = sel
        .where_
        .0
        .iter()
        .filter_map(|(field, pred)| predicate_at(&field.value, pred, p))
        .collect();
    let w = sel.window.as_ref();
    let before = window(w.and_then(|w| w.before.as_ref()), p);
    let after = window(w.and_then(|w| w.after.as_ref()), p);
    SelectorKind::Events(EventSelector {
        role,
        channel: sel.channel.as_ref().map(|c| normalize_channel(&c.value)),
        provider: sel.provider.as_ref().map(|c| c.value.trim().to_string()),
        event_ids,
        predicates,
        before,
        after,
        scope,
    })
}

/// One side of the window, or the default.
fn window(v: Option<&Spanned<Scalar>>, p: &mut Problems<'_>) -> Duration {
    let default = Duration::seconds(DEFAULT_WINDOW_SECONDS);
    match v {
        None => default,
        Some(s) => parse_duration(&s.value).unwrap_or_else(|m| {
            p.at(&s.referenced, m);
            default
        }),
    }
}

fn role_and_scope(
    name: &Spanned<String>,
    sel: &SelectorFile,
    p: &mut Problems<'_>,
) -> (Role, Scope) {
    let role = match &sel.role {
        Some(r) => Role::parse(&r.value).unwrap_or_else(|| {
            let message = format!(
                "unknown role `{}` (client, gateway, server, dc, any)",
                r.value
            );
            p.at(&r.referenced, message);
            Role::Any
        }),
        None => {
            let message = format!(
                "selector `{}` needs a `role` (client, gateway, server, dc, any) or `facts`",
                name.value
            );
            p.at(&name.referenced, message);
            Role::Any
        }
    };
    let scope = match &sel.scope {
        None => Scope::Attempt,
        Some(s) => match s.value.trim().to_ascii_lowercase().as_str() {
            "attempt" => Scope::Attempt,
            "host" => Scope::Host,
            _ => {
                p.at(
                    &s.referenced,
                    format!("unknown scope `{}` (attempt, host)", s.value),
                );
                Scope::Attempt
            }
        },
    };
    if role == Role::Dc && scope == Scope::Attempt {
        let loc = sel
            .role
            .as_ref()
            .map_or(&name.referenced, |r| &r.referenced);
        p.at(loc, "role `dc` needs `scope: host` (domain controller events are never linked to an attempt)");
    }
    (role, scope)
}

fn captures(
    sel: &SelectorFile,
    kind: &SelectorKind,
    p: &mut Problems<'_>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, field) in &sel.capture.0 {
        if BUILTINS.contains(&name.value.as_str()) && name.value != "user" {
            p.at(
                &name.referenced,
                format!(
                    "capture `{}` would hide the built-in placeholder of that name",
                    name.value
                ),
            );
        }
        if matches!(kind, SelectorKind::Facts(_)) && !FACT_NAMES.contains(&field.value.as_str()) {
            p.at(
                &field.referenced,
                format!(
                    "unknown fact `{}` (facts: {})",
                    field.value,
                    FACT_NAMES.join(", ")
                ),
            );
        }
        out.push((name.value.clone(), field.value.clone()));
    }
    out
}

fn applies_to(a: Option<&model::AppliesToFile>, p: &mut Problems<'_>) -> AppliesTo {
    let Some(a) = a else {
        return AppliesTo {
            outcome: Some(Outcome::Failed),
            ..AppliesTo::default()
        };
    };
    let outcome = match &a.outcome {
        None => Some(Outcome::Failed),
        Some(o) => match o.value.trim().to_ascii_lowercase().as_str() {
            "failed" => Some(Outcome::Failed),
            "succeeded" => Some(Outcome::Succeeded),
            "unknown" => Some(Outcome::Unknown),
            "any" => None,
            _ => {
                p.at(
                    &o.referenced,
                    format!(
                        "unknown outcome `{}` (failed, succeeded, unknown, any)",
                        o.value
                    ),
                );
                Some(Outcome::Failed)
            }
        },
    };
    let codes = |list: &Option<model::OneOrMany<Spanned<Scalar>>>, p: &mut Problems<'_>| {
        list.as_ref().map(|l| {
            l.0.iter()
                .filter_map(|c| {
                    let n = scalar_code(&c.value);
                    if n.is_none() {
                        p.at(
                            &c.referenced,
                            format!("code `{}` is not a number", c.value.to_text()),
                        );
                    }
                    n
                })
                .collect()
        })
    };
    AppliesTo {
        outcome,
        primary: codes(&a.primary, p),
        extended: codes(&a.extended, p),
    }
}

fn requires(file: &RuleFile, p: &mut Problems<'_>) -> Vec<Requirement> {
    let mut out = Vec::new();
    for r in &file.requires {
        let role = match Role::parse(&r.role.value) {
            Some(Role::Any) | None => {
                p.at(
                    &r.role.referenced,
                    format!(
                        "`requires` needs a machine role (client, gateway, server, dc), got `{}`",
                        r.role.value
                    ),
                );
                continue;
            }
            Some(role) => role,
        };
        out.push(Requirement {
            role,
            channel: normalize_channel(&r.channel.value),
        });
    }
    out.sort();
    out.dedup();
    out
}
