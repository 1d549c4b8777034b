//! Rules in words, for `rdptriage explain` and `rdptriage rules list`.
//!
//! Takes: a [`CompiledRule`].
//! Produces: plain strings (the CLI prints them): each selector as a sentence naming the machine,
//! log, event and conditions; the explanation and fix with placeholders shown as `<name>`.

use super::template::Template;
use super::{CompiledRule, Role, Scope, Selector, SelectorKind};
use std::collections::BTreeMap;

/// The machine a role names, in words.
pub fn role_words(role: Role) -> &'static str {
    match role {
        Role::Client => "the client",
        Role::Gateway => "the RD Gateway",
        Role::Server => "the session host",
        Role::Dc => "a domain controller",
        Role::Any => "any machine of the attempt",
    }
}

/// One selector as a sentence.
pub fn selector(s: &Selector) -> String {
    let mut text = match &s.kind {
        SelectorKind::Facts(preds) => {
            let p: Vec<String> = preds.iter().map(|p| p.describe()).collect();
            format!("attempt facts: {}", p.join("; "))
        }
        SelectorKind::Events(e) => {
            let log = match (&e.channel, &e.provider) {
                (Some(c), Some(p)) => format!("{c} log, provider {p}"),
                (Some(c), None) => format!("{c} log"),
                (None, Some(p)) => format!("provider {p}"),
                (None, None) => "any log".into(),
            };
            let ids = match e.event_ids.as_slice() {
                [] => "any event".to_string(),
                [one] => format!("event {one}"),
                many => format!(
                    "events {}",
                    many.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join("/")
                ),
            };
            let mut t = format!("on {}: {log}, {ids}", role_words(e.role));
            if !e.predicates.is_empty() {
                let p: Vec<String> = e.predicates.iter().map(|p| p.describe()).collect();
                t.push_str(&format!(" where {}", p.join(" and ")));
            }
            let scope = match e.scope {
                Scope::Attempt => "linked to the attempt",
                Scope::Host => "anywhere in that machine's log",
            };
            t.push_str(&format!(
                "; {scope}, from {} before the start to {} after the end",
                duration(e.before),
                duration(e.after)
            ));
            t
        }
    };
    if s.min_count > 1 {
        text.push_str(&format!("; at least {} times", s.min_count));
    }
    text
}

fn duration(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    match s {
        0 => "0s".into(),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A template with its placeholders shown as `<name>`.
pub fn template(t: &Template) -> String {
    let values: BTreeMap<String, String> = t
        .fields()
        .map(|f| (f.to_string(), format!("<{f}>")))
        .collect();
    t.render(&values).trim().to_string()
}

/// `0.90, specific` or `0.50, fallback`.
pub fn ranking(r: &CompiledRule) -> String {
    format!(
        "confidence {:.2}, {}",
        r.confidence,
        if r.fallback {
            "fallback (wins only when no specific cause fires)"
        } else {
            "specific"
        }
    )
}
