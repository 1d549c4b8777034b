//! Limits on rule and case files, so that a malformed, huge or adversarial file is refused with
//! file:line:col instead of exhausting memory, time or the stack.
//!
//! Takes: the text of a rule or case file, or a condition.
//! Produces: the parsed YAML or an [`Error::Rule`]: files over [`MAX_YAML_BYTES`], YAML over the
//! serde-saphyr budgets set here (nodes, depth, aliases and alias replay — the billion-laughs
//! bomb —, anchors, documents, scalar bytes), and conditions nested deeper than
//! [`MAX_CONDITION_DEPTH`] (checked before the recursive condition parser runs). Regexes have
//! their own size limit ([`super::predicate::REGEX_SIZE_LIMIT`]).

use super::condition;
use super::model::line_col;
use crate::error::Error;
use std::path::PathBuf;

/// Largest rule or case file read, in bytes.
pub const MAX_YAML_BYTES: usize = 1 << 20;

/// Deepest nesting of parentheses and `not`s in a condition.
pub const MAX_CONDITION_DEPTH: usize = 32;

/// The YAML limits: rule and case files are small and shallow, so every budget is far below
/// serde-saphyr's defaults; alias bombs, deep nesting and multi-document streams fail fast with
/// the line and column where the limit was crossed.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 400_000,
            max_nodes: 100_000,
            max_depth: 32,
            flow_nesting_limit: 32,
            max_documents: 1,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_merge_keys: 100,
            max_total_scalar_bytes: 4 << 20,
            max_recorded_anchor_events: 100_000,
            max_recorded_anchor_bytes: 4 << 20,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1_000,
        },
    }
}

/// Parse YAML text into `T`, with errors naming `path:line:col`. Files over [`MAX_YAML_BYTES`]
/// and YAML over the budgets of `yaml_options` are errors, never runaway memory or time.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(path: &str, text: &str) -> Result<T, Error> {
    if text.len() > MAX_YAML_BYTES {
        return Err(Error::Rule {
            path: PathBuf::from(path),
            line: 1,
            column: 1,
            message: format!(
                "file is {} KiB; rule and case files are limited to {} KiB",
                text.len() >> 10,
                MAX_YAML_BYTES >> 10
            ),
        });
    }
    serde_saphyr::from_str_with_options::<T>(text, yaml_options()).map_err(|e| yaml_error(path, &e))
}

fn yaml_error(path: &str, e: &serde_saphyr::Error) -> Error {
    let (line, column) = e.location().map(|l| line_col(&l)).unwrap_or((1, 1));
    let (line, column) = (line.max(1), column.max(1));
    let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let mut message = e.render_with_options(opts);
    let suffix = format!(" at line {line}, column {column}");
    if let Some(stripped) = message.strip_suffix(&suffix) {
        message = stripped.to_string();
    }
    message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    Error::Rule {
        path: PathBuf::from(path),
        line,
        column,
        message,
    }
}

/// Refuse conditions nested deeper than [`MAX_CONDITION_DEPTH`] before the recursive parser sees
/// them (a deeply nested condition would otherwise exhaust the stack).
pub(crate) fn condition_nesting(text: &str) -> Result<(), condition::ConditionError> {
    let mut parens = 0usize;
    let mut nots = 0usize;
    let mut word = String::new();
    for (offset, c) in text.chars().chain([' ']).enumerate() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            word.push(c);
            continue;
        }
        match std::mem::take(&mut word).as_str() {
            "" => {}
            "not" => nots += 1,
            _ => nots = 0,
        }
        match c {
            '(' => parens += 1,
            ')' => parens = parens.saturating_sub(1),
            _ => {}
        }
        if parens + nots > MAX_CONDITION_DEPTH {
            return Err(condition::ConditionError {
                offset,
                message: format!(
                    "condition nested too deeply (more than {MAX_CONDITION_DEPTH} levels of parentheses and `not`)"
                ),
            });
        }
    }
    Ok(())
}
