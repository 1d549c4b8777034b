//! The HTML section of one failed attempt.
//!
//! Takes: the analysis and a failed attempt.
//! Produces: the facts (path, target, user, addresses, decoded codes), the verdict card (cause,
//! confidence, title, explanation, evidence lines with decoded fields and source, fix steps with
//! their commands, references as text), the swimlane timeline ([`super::svg::timeline`]), the
//! other causes that fired, the logs not supplied with their export commands, and a table of all
//! of the attempt's events with the evidence rows highlighted. All log text through [`esc`].

use super::{anchor, esc, esc_breakable, outcome_badge, svg};
use crate::analysis::Analysis;
use crate::attempt::Attempt;
use crate::report::codes::{self as decode, DecodedCode, fields_text};
use crate::report::{evidence_event, evidence_index, short_channel};
use crate::verdict::{Evidence, Verdict};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Write the section of attempt `a`.
pub fn section(analysis: &Analysis, a: &Attempt, h: &mut String) {
    let _ = write!(
        h,
        "<section class=\"attempt\" id=\"{}\">\n<h2>{} Attempt {} <small>started {}</small></h2>\n",
        anchor(a),
        outcome_badge(a.outcome),
        esc(&a.id),
        a.started.format("%Y-%m-%d %H:%M:%S%.3fZ")
    );
    facts(a, h);
    let verdict = analysis.verdict_for(&a.id);
    if let Some(v) = verdict {
        card(analysis, v, h);
    }
    let evidence: BTreeSet<usize> = verdict
        .map(|v| evidence_indices(analysis, v))
        .unwrap_or_default();
    h.push_str("<h3>Timeline</h3>\n<figure>");
    svg::timeline(analysis, a, &evidence, h);
    h.push_str(
        "</figure>\n<p class=\"legend\">Reference clock (host clock offsets applied). \
         <span class=\"dot\" style=\"background:#1f5fae\"></span>event \
         <span class=\"dot\" style=\"background:#d7263d\"></span>evidence for the verdict. \
         Hover a mark for its details; every event is listed below.</p>\n",
    );
    if let Some(v) = verdict {
        alternatives(v, h);
        missing(v, h);
    }
    events_table(analysis, a, &evidence, h);
    h.push_str("</section>\n");
}

/// Positions in the timeline of the verdict's evidence events.
fn evidence_indices(analysis: &Analysis, v: &Verdict) -> BTreeSet<usize> {
    v.evidence
        .iter()
        .filter_map(|e| evidence_index(analysis, e))
        .collect()
}

fn code_html(value: u64, decoded: Option<DecodedCode>, note: &str) -> String {
    match decoded {
        Some(d) => format!(
            "<span class=\"mono\">0x{value:X}</span> <span class=\"code-name\">{}</span> \
             <small>({value}{note}) {}</small>",
            esc(d.name.as_deref().unwrap_or("")),
            esc(&d.description)
        ),
        None => format!(
            "<span class=\"mono\">0x{value:X}</span> <small>({value}{note}; not in the code tables)</small>"
        ),
    }
}

fn facts(a: &Attempt, h: &mut String) {
    h.push_str("<dl class=\"facts\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{v}</dd>");
    };
    row("Connection", esc(&crate::report::terminal::path_of(a)));
    if let Some(t) = &a.target {
        let addr = a
            .target_address
            .as_deref()
            .map(|x| format!(" (resolved to {})", esc(x)))
            .unwrap_or_default();
        row("Target", format!("{}{addr}", esc(t)));
    }
    if let Some(u) = &a.user {
        row("User", esc(u));
    }
    if let Some(c) = &a.client_address {
        row("Client address", esc(c));
    }
    let c = &a.codes;
    if let Some(p) = c.primary {
        let note = if c.primary_reported {
            ", reported by the user"
        } else {
            ""
        };
        row("Error code", code_html(p, decode::primary(c), note));
    }
    if let Some(e) = c.extended {
        let note = match c.extended_source.as_deref() {
            Some("server") => ", from the session host's LSM event 40",
            Some("reported") => ", reported by the user",
            _ => "",
        };
        row("Extended code", code_html(e, decode::extended(c), note));
    }
    if let Some(end) = a.ended {
        row("Ended", end.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string());
    }
    let seen: Vec<&str> = a.seen_by.iter().map(|r| r.as_str()).collect();
    row("Seen by", seen.join(", "));
    h.push_str("</dl>\n");
}

fn card(analysis: &Analysis, v: &Verdict, h: &mut String) {
    let class = if v.cause == crate::verdict::UNDETERMINED {
        "card undetermined"
    } else {
        "card"
    };
    let pct = (v.confidence.clamp(0.0, 1.0) * 100.0).round();
    let _ = write!(
        h,
        "<div class=\"{class}\">\n<div class=\"cause\"><span class=\"id\">{}</span>\
         <span>confidence {:.2} <span class=\"conf\"><span style=\"width:{pct}%\"></span></span></span></div>\n\
         <h3>{}</h3>\n<p>{}</p>\n",
        esc(&v.cause),
        v.confidence,
        esc(&v.title),
        esc(&v.explain)
    );
    if !v.evidence.is_empty() {
        h.push_str("<h4>Evidence</h4>\n<ol class=\"evidence\">\n");
        for e in &v.evidence {
            evidence_line(analysis, e, h);
        }
        h.push_str("</ol>\n");
    }
    if !v.remediation.is_empty() {
        h.push_str("<h4>Fix</h4>\n<ol class=\"fix\">\n");
        for step in v.remediation.iter() {
            let _ = write!(h, "<li>{}", esc(&step.text));
            if !step.commands.is_empty() {
                let cmds: Vec<String> = step.commands.iter().map(|c| esc(c)).collect();
                let _ = write!(h, "<pre><code>{}</code></pre>", cmds.join("\n"));
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ol>\n");
    }
    if !v.references.is_empty() {
        let refs: Vec<String> = v.references.iter().map(|r| esc(r)).collect();
        let _ = writeln!(h, "<p class=\"src\">References: {}</p>", refs.join(" · "));
    }
    h.push_str("</div>\n");
}

fn evidence_line(analysis: &Analysis, e: &Evidence, h: &mut String) {
    let fields = evidence_event(analysis, e).map_or_else(|| e.summary.clone(), fields_text);
    let _ = writeln!(
        h,
        "<li><span class=\"mono\">{}</span> <b>{}</b> {} · {} · event {}<br>\
         <span class=\"fields mono\">{}</span><br><span class=\"src\">{}</span></li>",
        e.time.format("%H:%M:%S%.3f"),
        e.role.as_str(),
        esc(&e.origin.host),
        esc(short_channel(&e.origin.channel)),
        e.event_id,
        esc(&fields),
        esc(&e.source().to_string())
    );
}

fn alternatives(v: &Verdict, h: &mut String) {
    if v.alternatives.is_empty() {
        return;
    }
    h.push_str(
        "<h3>Other causes that fired</h3>\n<table>\n<tr><th>Cause</th><th>Title</th>\
         <th class=\"num\">Confidence</th><th>Why</th></tr>\n",
    );
    for alt in &v.alternatives {
        let _ = writeln!(
            h,
            "<tr><td class=\"mono nowrap\">{}{}</td><td>{}</td><td class=\"num\">{:.2}</td><td>{}</td></tr>",
            esc(&alt.cause),
            if alt.fallback {
                " <small>(fallback)</small>"
            } else {
                ""
            },
            esc(&alt.title),
            alt.confidence,
            esc(&alt.explain)
        );
    }
    h.push_str("</table>\n");
}

fn missing(v: &Verdict, h: &mut String) {
    if v.missing_evidence.is_empty() {
        return;
    }
    h.push_str(
        "<h3>Logs not supplied that would decide more</h3>\n<table>\n<tr><th>Machine</th>\
         <th>Log</th><th>Would confirm or rule out</th><th>Export it there (as administrator)</th></tr>\n",
    );
    for m in v.missing_evidence.iter() {
        let machine = m.host.as_deref().map_or_else(
            || format!("the {} <small>(not identified)</small>", m.role.as_str()),
            |x| format!("{} {}", m.role.as_str(), esc(x)),
        );
        let _ = writeln!(
            h,
            "<tr><td>{machine}</td><td class=\"wrap\">{}</td><td class=\"mono\">{}</td>\
             <td><pre><code>{}</code></pre></td></tr>",
            esc(&m.channel),
            esc(&m.decides.join(", ")),
            esc(&m.command)
        );
    }
    h.push_str("</table>\n");
}

fn events_table(analysis: &Analysis, a: &Attempt, evidence: &BTreeSet<usize>, h: &mut String) {
    let _ = write!(
        h,
        "<details open>\n<summary>All {} events of this attempt</summary>\n<table class=\"events\">\n\
         <colgroup><col style=\"width:10%\"><col style=\"width:10%\"><col style=\"width:7%\">\
         <col style=\"width:14%\"><col style=\"width:16%\"><col style=\"width:29%\">\
         <col style=\"width:14%\"></colgroup>\n\
         <tr><th>Time (reference)</th><th>Logged (host clock)</th><th>Role</th><th>Host</th>\
         <th>Event</th><th>Fields</th><th>Source</th></tr>\n",
        a.events.len()
    );
    for l in &a.events {
        let e = &analysis.timeline.events[l.index];
        let kind = e.catalog_entry().map_or("", |c| c.kind);
        let class = if evidence.contains(&l.index) {
            " class=\"evidence\""
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr{class}><td class=\"mono nowrap\">{}</td><td class=\"mono nowrap\">{}</td><td>{}</td>\
             <td class=\"host\">{}</td><td>{} {}<br><small>{}</small></td>\
             <td class=\"fields mono\">{}</td><td class=\"src\">{}</td></tr>",
            l.corrected_time.format("%H:%M:%S%.3f"),
            e.time.format("%H:%M:%S%.3f"),
            l.role.as_str(),
            esc_breakable(e.host()),
            e.event_id,
            esc(kind),
            esc_breakable(short_channel(e.channel())),
            esc(&fields_text(e)),
            esc_breakable(&e.source().to_string())
        );
    }
    h.push_str("</table>\n</details>\n");
}
