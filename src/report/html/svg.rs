//! Inline SVG charts of the HTML report: the swimlane timeline of an attempt and the
//! failures-by-cause bar chart.
//!
//! Takes: an attempt with its linked events (times already on the reference clock) and the
//! positions of the verdict's evidence events; or the failure counts per cause.
//! Produces: `<svg>` elements (no script, no external reference). The timeline has one lane per
//! role (client, gateway, server, then others) labelled with the hosts and the clock offset that
//! was applied, a time axis on the reference clock, one mark per event with a `<title>` tooltip
//! (time, host, event, fields), and the evidence events drawn larger in red. Event-id labels are
//! placed in up to three rows per lane and left out where they would overlap (evidence first).

use super::esc;
use crate::analysis::Analysis;
use crate::attempt::{Attempt, host_key};
use crate::event::catalog::HostRole;
use crate::report::codes::fields_text;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeSet;
use std::fmt::Write as _;

const WIDTH: f64 = 1200.0;
const LABEL_W: f64 = 240.0;
const RIGHT_PAD: f64 = 40.0;
const TOP: f64 = 34.0;
const LANE_H: f64 = 78.0;
/// Label rows relative to a lane's centre line: above, below, further above.
const LABEL_ROWS: [f64; 3] = [-12.0, 22.0, -25.0];
const BLUE: &str = "#1f5fae";
const RED: &str = "#d7263d";

const ROLE_ORDER: [HostRole; 5] = [
    HostRole::Client,
    HostRole::Gateway,
    HostRole::Server,
    HostRole::Dc,
    HostRole::Unknown,
];

/// One mark to draw.
struct Mark {
    x: f64,
    lane: usize,
    evidence: bool,
    label: String,
    tip: String,
}

/// Map corrected times to x positions.
struct Scale {
    t0: i64,
    span: i64,
}

impl Scale {
    fn new(times: &[i64]) -> Scale {
        let lo = times.iter().copied().min().unwrap_or(0);
        let hi = times.iter().copied().max().unwrap_or(0);
        let span = (hi - lo).max(1000);
        let pad = span / 20;
        Scale {
            t0: lo - pad,
            span: span + 2 * pad,
        }
    }

    fn x(&self, ms: i64) -> f64 {
        let inner = WIDTH - LABEL_W - RIGHT_PAD;
        LABEL_W + (ms - self.t0) as f64 / self.span as f64 * inner
    }
}

/// Draw the swimlane timeline of `a`.
pub fn timeline(analysis: &Analysis, a: &Attempt, evidence: &BTreeSet<usize>, h: &mut String) {
    let roles: Vec<HostRole> = ROLE_ORDER
        .into_iter()
        .filter(|r| a.events.iter().any(|l| l.role == *r))
        .collect();
    let times: Vec<i64> = a
        .events
        .iter()
        .map(|l| l.corrected_time.timestamp_millis())
        .collect();
    let scale = Scale::new(&times);
    let height = TOP + LANE_H * roles.len().max(1) as f64 + 8.0;
    let _ = writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">\
         <title>Timeline of attempt {} across {} machines</title>",
        esc(&a.id),
        roles.len()
    );
    for (i, role) in roles.iter().enumerate() {
        lane(analysis, a, *role, i, height, h);
    }
    axis(&scale, height, h);
    let marks: Vec<Mark> = a
        .events
        .iter()
        .filter_map(|l| {
            let e = &analysis.timeline.events[l.index];
            let lane = roles.iter().position(|r| *r == l.role)?;
            let kind = e.catalog_entry().map_or("", |c| c.kind);
            let mut fields = fields_text(e);
            if fields.chars().count() > 400 {
                fields = fields.chars().take(400).collect::<String>() + "…";
            }
            Some(Mark {
                x: scale.x(l.corrected_time.timestamp_millis()),
                lane,
                evidence: evidence.contains(&l.index),
                label: e.event_id.to_string(),
                tip: format!(
                    "{} {} {}\nevent {} {}\n{}\n{}",
                    l.corrected_time.format("%H:%M:%S%.3f"),
                    l.role.as_str(),
                    e.host(),
                    e.event_id,
                    kind,
                    fields,
                    e.source()
                ),
            })
        })
        .collect();
    draw_marks(&marks, h);
    h.push_str("</svg>");
}

fn lane_center(i: usize) -> f64 {
    TOP + LANE_H * i as f64 + LANE_H / 2.0
}

fn lane(analysis: &Analysis, a: &Attempt, role: HostRole, i: usize, _height: f64, h: &mut String) {
    let top = TOP + LANE_H * i as f64;
    let cy = lane_center(i);
    let fill = if i.is_multiple_of(2) {
        "#f6f8fa"
    } else {
        "#ffffff"
    };
    let mut hosts: Vec<&str> = a
        .events
        .iter()
        .filter(|l| l.role == role)
        .map(|l| analysis.timeline.events[l.index].host().as_ref())
        .collect();
    hosts.sort_by_key(|x| host_key(x));
    hosts.dedup_by_key(|x| host_key(x));
    let name = hosts.join(", ");
    let short: String = if name.chars().count() > 32 {
        name.chars().take(31).collect::<String>() + "…"
    } else {
        name.clone()
    };
    let offset = hosts
        .first()
        .map(|x| analysis.correlation.offset_of(x))
        .unwrap_or(0.0);
    let clock = if offset == 0.0 {
        "no clock offset applied".to_string()
    } else {
        format!("clock offset {offset:+.1} s applied")
    };
    let _ = writeln!(
        h,
        "<rect x=\"0\" y=\"{top}\" width=\"{WIDTH}\" height=\"{LANE_H}\" fill=\"{fill}\"/>\
         <line x1=\"{LABEL_W}\" y1=\"{cy}\" x2=\"{}\" y2=\"{cy}\" stroke=\"#c9d1d9\"/>\
         <text x=\"10\" y=\"{}\" font-weight=\"700\" font-size=\"13\">{}</text>\
         <text x=\"10\" y=\"{}\"><title>{}</title>{}</text>\
         <text x=\"10\" y=\"{}\" fill=\"#5b6672\" font-size=\"11\">{clock}</text>",
        WIDTH - RIGHT_PAD / 2.0,
        cy - 10.0,
        role.as_str(),
        cy + 6.0,
        esc(&name),
        esc(&short),
        cy + 21.0,
    );
}

/// Tick step in milliseconds: the smallest "round" step giving at most 8 ticks.
fn tick_step(span_ms: i64) -> i64 {
    const STEPS: [i64; 16] = [
        100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
        600_000, 900_000, 1_800_000, 3_600_000,
    ];
    STEPS
        .into_iter()
        .find(|s| span_ms / s <= 8)
        .unwrap_or(span_ms / 8 + 1)
}

fn axis(scale: &Scale, height: f64, h: &mut String) {
    let step = tick_step(scale.span);
    let mut t = (scale.t0.div_euclid(step) + 1) * step;
    let end = scale.t0 + scale.span;
    while t < end {
        let x = scale.x(t);
        let time: DateTime<Utc> = Utc.timestamp_millis_opt(t).single().unwrap_or_default();
        let label = if step < 1000 {
            time.format("%H:%M:%S%.3f").to_string()
        } else {
            time.format("%H:%M:%S").to_string()
        };
        let _ = writeln!(
            h,
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#d8dee4\" stroke-dasharray=\"3 3\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#5b6672\" font-size=\"11\">{label}</text>",
            TOP - 4.0,
            height - 8.0,
            TOP - 10.0,
        );
        t += step;
    }
}

fn draw_marks(marks: &[Mark], h: &mut String) {
    // Non-evidence marks first so evidence is drawn on top.
    for m in marks.iter().filter(|m| !m.evidence) {
        let _ = writeln!(
            h,
            "<circle cx=\"{:.1}\" cy=\"{}\" r=\"5\" fill=\"{BLUE}\" fill-opacity=\"0.85\"><title>{}</title></circle>",
            m.x,
            lane_center(m.lane),
            esc(&m.tip)
        );
    }
    for m in marks.iter().filter(|m| m.evidence) {
        let _ = writeln!(
            h,
            "<circle cx=\"{:.1}\" cy=\"{}\" r=\"8\" fill=\"{RED}\" stroke=\"#7a0010\" stroke-width=\"2\"><title>{}</title></circle>",
            m.x,
            lane_center(m.lane),
            esc(&m.tip)
        );
    }
    labels(marks, h);
}

/// Place event-id labels without overlaps: evidence first, then in time order.
fn labels(marks: &[Mark], h: &mut String) {
    let mut order: Vec<&Mark> = marks.iter().collect();
    order.sort_by(|a, b| b.evidence.cmp(&a.evidence).then(a.x.total_cmp(&b.x)));
    let mut taken: Vec<(usize, usize, f64, f64)> = Vec::new(); // lane, row, x0, x1
    for m in order {
        let w = 7.0 * m.label.chars().count() as f64 + 6.0;
        let (x0, x1) = (m.x - w / 2.0, m.x + w / 2.0);
        let free = |row: usize| {
            !taken
                .iter()
                .any(|&(l, r, a, b)| l == m.lane && r == row && x0 < b && a < x1)
        };
        let row = (0..LABEL_ROWS.len()).find(|&r| free(r));
        let row = match (row, m.evidence) {
            (Some(r), _) => r,
            (None, true) => 0,
            (None, false) => continue,
        };
        taken.push((m.lane, row, x0, x1));
        let y = lane_center(m.lane) + LABEL_ROWS[row];
        let (weight, fill) = if m.evidence {
            ("700", RED)
        } else {
            ("400", "#1d232a")
        };
        let _ = writeln!(
            h,
            "<text x=\"{:.1}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"{weight}\" fill=\"{fill}\">{}</text>",
            m.x,
            esc(&m.label)
        );
    }
}

/// Horizontal bars: failed attempts per cause, most frequent first.
pub fn cause_chart(causes: &[(String, usize)], h: &mut String) {
    const ROW: f64 = 28.0;
    const LABEL: f64 = 300.0;
    const BAR: f64 = 520.0;
    let max = causes.iter().map(|c| c.1).max().unwrap_or(1).max(1) as f64;
    let height = ROW * causes.len() as f64 + 8.0;
    let _ = writeln!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {height}\" role=\"img\" \
         font-family=\"system-ui, sans-serif\" font-size=\"13\" style=\"max-width:900px\">\
         <title>Failed attempts by cause</title>",
        LABEL + BAR + 60.0
    );
    for (i, (cause, n)) in causes.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let w = (*n as f64 / max * BAR).max(2.0);
        let fill = if cause == crate::verdict::UNDETERMINED {
            "#b26a00"
        } else {
            RED
        };
        let _ = writeln!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-family=\"ui-monospace, monospace\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\" rx=\"3\" fill=\"{fill}\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-weight=\"700\">{n}</text>",
            LABEL - 10.0,
            y + 18.0,
            esc(cause),
            y + 4.0,
            ROW - 8.0,
            LABEL + w + 8.0,
            y + 18.0,
        );
    }
    h.push_str("</svg>");
}
