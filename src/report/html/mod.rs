//! `analyze --format html`: one self-contained page for people who did not run the tool.
//!
//! Takes: an [`Analysis`] with verdicts.
//! Produces: a single HTML file with no external resources and no script (it opens offline): a
//! summary (totals, a failures-by-cause bar chart as inline SVG, every attempt with its outcome
//! and cause); per failed attempt (module `attempt`) the facts (path, user, decoded codes), the
//! verdict card (cause, confidence, explanation, evidence lines with source file and record, the
//! fix with its commands), a swimlane timeline across client, gateway and host on the reference
//! clock with the evidence events highlighted (module `svg`), the other causes that fired, the
//! logs not supplied with their export commands, and all of the attempt's events; then the hosts
//! (roles, clock offsets) and the inputs with their accounting.
//!
//! Every string from a log is attacker-controlled: it goes through [`esc`] (text and attribute
//! values alike; attributes are always double-quoted), so markup in a user name renders as text.
//! No log text reaches a URL, a `style` or an element name. As a second line of defence the page
//! carries a Content-Security-Policy that allows no script, no external load and no form.

mod attempt;
mod svg;

use super::{causes_by_count, clock_text};
use crate::analysis::Analysis;
use crate::attempt::{Attempt, Outcome};
use crate::source::InputStatus;
use std::fmt::Write as _;
use std::io::{Result, Write};

/// The page's Content-Security-Policy: nothing but inline style and `data:` images.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE: &str = include_str!("style.css");

/// Escape text for HTML text and double-quoted attribute values. Control characters (but tab and
/// newline) and bidirectional overrides are dropped, so log text cannot reorder what is shown.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// [`esc`], then a line-break opportunity after each `.`, `/` and `\\` (host names and paths in
/// narrow columns break there rather than mid-word). Safe: no entity [`esc`] writes has those.
pub fn esc_breakable(text: &str) -> String {
    esc(text)
        .replace('.', ".<wbr>")
        .replace('/', "/<wbr>")
        .replace('\\', "\\<wbr>")
}

/// The anchor of an attempt's section.
fn anchor(a: &Attempt) -> String {
    let safe: String =
        a.id.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
    format!("attempt-{safe}")
}

fn outcome_badge(o: Outcome) -> &'static str {
    match o {
        Outcome::Succeeded => r#"<span class="badge succeeded">SUCCEEDED</span>"#,
        Outcome::Failed => r#"<span class="badge failed">FAILED</span>"#,
        Outcome::Unknown => r#"<span class="badge unknown">UNKNOWN</span>"#,
    }
}

/// Write the page.
///
/// Written a part at a time (the head and summary, each failed attempt, the rest): a run with
/// thousands of failed attempts renders to a hundred megabytes and more, never held at once.
pub fn write(analysis: &Analysis, out: &mut dyn Write) -> Result<()> {
    let attempts = &analysis.correlation.attempts;
    let failed = attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Failed)
        .count();
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>rdptriage: {failed} failed of {total}</title>\n\
         <style>\n{STYLE}</style>\n</head>\n<body>\n",
        csp = esc(CSP),
        total = super::plural(attempts.len(), "Remote Desktop connection attempt"),
    );
    header(analysis, &mut h);
    summary(analysis, &mut h);
    for a in attempts.iter().filter(|a| a.outcome == Outcome::Failed) {
        out.write_all(h.as_bytes())?;
        h.clear();
        attempt::section(analysis, a, &mut h);
    }
    hosts(analysis, &mut h);
    inputs(analysis, &mut h);
    let _ = write!(
        h,
        "<footer>Made by rdptriage {} from exported Windows event logs. Times are UTC on the \
         reference clock (each host's clock offset applied) unless marked as logged.</footer>\n\
         </body>\n</html>\n",
        esc(env!("CARGO_PKG_VERSION"))
    );
    out.write_all(h.as_bytes())
}

fn header(analysis: &Analysis, h: &mut String) {
    let attempts = &analysis.correlation.attempts;
    let range = match (attempts.first(), attempts.last()) {
        (Some(f), Some(l)) => format!(
            ", from {} to {}",
            f.started.format("%Y-%m-%d %H:%M:%SZ"),
            l.started.format("%Y-%m-%d %H:%M:%SZ")
        ),
        _ => String::new(),
    };
    let records: u64 = analysis.inputs.iter().map(|i| i.records).sum();
    let _ = write!(
        h,
        "<header>\n<h1>Remote Desktop connection failures</h1>\n<p class=\"meta\">{}, \
         {}, {}; {}{range}.</p>\n</header>\n",
        super::plural(analysis.inputs.len(), "log file"),
        super::plural(records as usize, "record"),
        super::plural(analysis.correlation.hosts.len(), "host"),
        super::plural(attempts.len(), "connection attempt"),
    );
}

fn summary(analysis: &Analysis, h: &mut String) {
    let attempts = &analysis.correlation.attempts;
    let count = |o: Outcome| attempts.iter().filter(|a| a.outcome == o).count();
    let problems = analysis
        .inputs
        .iter()
        .filter(|i| i.status != InputStatus::Read)
        .count();
    let _ = write!(
        h,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"tiles\">\
         <div class=\"tile failed\"><b>{}</b>failed attempts</div>\
         <div class=\"tile ok\"><b>{}</b>succeeded</div>\
         <div class=\"tile\"><b>{}</b>outcome unknown</div>\
         <div class=\"tile\"><b>{}</b>hosts</div>\
         <div class=\"tile\"><b>{}</b>inputs not read cleanly</div></div>\n",
        count(Outcome::Failed),
        count(Outcome::Succeeded),
        count(Outcome::Unknown),
        analysis.correlation.hosts.len(),
        problems
    );
    let causes = causes_by_count(analysis);
    if !causes.is_empty() {
        h.push_str("<h3>Failures by cause</h3>\n<figure>");
        svg::cause_chart(&causes, h);
        h.push_str("</figure>\n");
    }
    attempts_table(analysis, h);
    h.push_str("</section>\n");
}

fn attempts_table(analysis: &Analysis, h: &mut String) {
    let attempts = &analysis.correlation.attempts;
    if attempts.is_empty() {
        h.push_str("<p>No connection attempts were found in the logs.</p>\n");
        return;
    }
    h.push_str(
        "<h3>All attempts</h3>\n<table>\n<tr><th>Attempt</th><th>Started (UTC)</th>\
         <th>Outcome</th><th>Connection</th><th>User</th><th>Cause</th></tr>\n",
    );
    for a in attempts {
        let id = match a.outcome {
            Outcome::Failed => format!("<a href=\"#{}\">{}</a>", anchor(a), esc(&a.id)),
            _ => esc(&a.id),
        };
        let cause = analysis
            .verdict_for(&a.id)
            .map(|v| format!("<span class=\"mono\">{}</span>", esc(&v.cause)))
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<tr><td>{id}</td><td>{}</td><td>{}</td><td class=\"wrap\">{}</td>\
             <td class=\"wrap\">{}</td><td>{cause}</td></tr>",
            a.started.format("%Y-%m-%d %H:%M:%S"),
            outcome_badge(a.outcome),
            esc(&super::terminal::path_of(a)),
            esc(a.user.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</table>\n");
}

fn hosts(analysis: &Analysis, h: &mut String) {
    let hosts = &analysis.correlation.hosts;
    h.push_str("<section id=\"hosts\">\n<h2>Hosts</h2>\n");
    if hosts.is_empty() {
        h.push_str("<p>No host logged a relevant event.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<table>\n<tr><th>Host</th><th>Role</th><th>Roles seen</th><th class=\"num\">Events</th>\
         <th>Clock</th><th class=\"num\">Offset applied (s)</th><th class=\"num\">Linked pairs</th></tr>\n",
    );
    let collected_as: std::collections::BTreeMap<String, _> =
        crate::host_summary::host_summaries(analysis)
            .into_iter()
            .map(|s| (crate::attempt::host_key(&s.name), s.collected_as))
            .collect();
    for host in hosts {
        let roles: Vec<&str> = host.roles.iter().map(|r| r.as_str()).collect();
        let name = match collected_as.get(&crate::attempt::host_key(&host.name)) {
            Some(folders) => super::host_with_folders(&host.name, folders),
            None => host.name.clone(),
        };
        let offset = host
            .clock_offset_seconds
            .map_or_else(|| "?".to_string(), |o| format!("{o:+.1}"));
        let _ = writeln!(
            h,
            "<tr><td class=\"wrap\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"wrap\">{}</td><td class=\"num\">{offset}</td><td class=\"num\">{}</td></tr>",
            esc(&name),
            host.role.as_str(),
            roles.join(", "),
            host.events,
            esc(&clock_text(host, hosts)),
            host.clock_samples
        );
    }
    h.push_str(
        "</table>\n<p class=\"muted\">The offset is what was added to the host's own clock to \
         put its events on the reference clock.</p>\n</section>\n",
    );
}

fn inputs(analysis: &Analysis, h: &mut String) {
    h.push_str(
        "<section id=\"inputs\">\n<h2>Inputs</h2>\n<table>\n<tr><th>File</th><th>Format</th>\
         <th>Host</th><th>Status</th><th class=\"num\">Records</th><th class=\"num\">Relevant</th>\
         <th class=\"num\">Failed</th><th>First error, reason or copies</th></tr>\n",
    );
    for i in &analysis.inputs {
        let note = i.remark();
        let status = format!("{:?}", i.status).to_lowercase();
        let _ = writeln!(
            h,
            "<tr><td class=\"wrap mono\">{}</td><td>{}</td><td class=\"wrap\">{}</td><td>{status}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"wrap\">{}</td></tr>",
            esc(&i.path),
            i.format.as_str(),
            esc(i.host.as_deref().unwrap_or("")),
            i.records,
            i.relevant,
            i.failed_records,
            esc(&note)
        );
    }
    h.push_str("</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(
            esc("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            esc("<script>a&b</script>'"),
            "&lt;script&gt;a&amp;b&lt;/script&gt;&#39;"
        );
        assert_eq!(esc("a\u{1b}[31mb\u{202e}c\u{0}"), "a[31mbc");
    }

    #[test]
    fn breakable_text_is_escaped_first() {
        assert_eq!(esc_breakable("<a>.b/c"), "&lt;a&gt;.<wbr>b/<wbr>c");
    }
}
