//! `expected.json` per sample folder and `samples/README.md`.
//!
//! Takes: each scenario, the world after generation, and its failed attempts.
//! Produces: `expected.json` — the failed attempts (client, target, start on the reference
//! clock, primary code, cause), the reported error to pass, each host's role, address, clock
//! offset and supplied log files — and the README describing every scenario. What the
//! attempts are expected to look like follows rdptriage's own rules for naming them: the
//! client's name when its log is supplied, otherwise the address the gateway or host saw.

use super::flow::Plan;
use super::scenario::{LogKind, Role, Scenario};
use super::world::{World, file_name};
use serde_json::{Value, json};

/// How far an attempt's start may be from the expected one (latency, clock estimates).
pub const START_TOLERANCE_SECONDS: u32 = 10;

/// One failed attempt as rdptriage must rebuild it.
pub struct ExpectedAttempt {
    client: String,
    target: Option<String>,
    start: String,
    primary: Option<u32>,
    cause: String,
    missing: Vec<String>,
    seen_by: Vec<&'static str>,
}

impl ExpectedAttempt {
    /// The expectation for `plan`, from what it left in the supplied logs (`w.trace`).
    pub fn new(s: &Scenario, w: &World, plan: &Plan, cause: &str) -> Self {
        let code = w.trace.client_code;
        let client = &w.hosts[plan.client];
        let client_log = client.logs.contains(&LogKind::Rdpclient);
        let gateway = plan.gateway.map(|g| &w.hosts[g]);
        let gateway_log = gateway.is_some_and(|g| g.logs.contains(&LogKind::Gateway));
        let name = if client_log {
            client.name().to_string()
        } else if gateway_log {
            client.address().to_string()
        } else {
            gateway.unwrap_or(client).address().to_string()
        };
        let target = match plan.server {
            _ if client_log => Some(plan.target.clone()),
            _ if gateway_log && w.trace.gateway_resource => Some(plan.target.clone()),
            Some(srv) if !gateway_log => Some(w.hosts[srv].name().to_string()),
            _ => None,
        };
        let primary = if client_log { code } else { None };
        let reference = w.hosts[w.id(&s.reference)].clock;
        let start = (plan.at + reference).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let missing = [Some(plan.client), plan.gateway, plan.server]
            .into_iter()
            .flatten()
            .filter(|&h| w.hosts[h].logs.is_empty())
            .map(|h| w.hosts[h].name().to_string())
            .collect();
        let seen_by = w.trace.seen_by.iter().map(|r| r.as_str()).collect();
        ExpectedAttempt {
            seen_by,
            client: name,
            target,
            start,
            primary,
            cause: cause.to_string(),
            missing,
        }
    }

    fn json(&self) -> Value {
        json!({
            "client": self.client,
            "target": self.target,
            "start": self.start,
            "primary_code": self.primary,
            "cause": self.cause,
            "seen_by": self.seen_by,
            "machines_without_logs": self.missing,
        })
    }
}

/// The reported code goes where rdptriage puts it: on the attempts whose client logged the same
/// code; when none did, the user's dialog is taken to be the last failed attempt's.
pub fn settle_reported(attempts: &mut [ExpectedAttempt], s: &Scenario) {
    let Some(code) = s.reported_error.as_deref().and_then(reported_primary) else {
        return;
    };
    if attempts.iter().any(|a| a.primary == Some(code)) {
        return;
    }
    if let Some(last) = attempts.last_mut()
        && last.primary.is_none()
    {
        last.primary = Some(code);
    }
}

/// The primary code of a reported pair (`0x904/0x7` → 2308).
fn reported_primary(text: &str) -> Option<u32> {
    let first = text.split(['/', ' ', ',']).next()?.trim();
    match first
        .strip_prefix("0x")
        .or_else(|| first.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => first.parse().ok(),
    }
}

/// One host as the README and `expected.json` describe it.
struct HostLine {
    name: String,
    role: Role,
    address: String,
    offset: f64,
    logs: Vec<String>,
}

/// One sample folder.
pub struct Folder {
    name: String,
    title: String,
    story: String,
    reported: Option<String>,
    reference: String,
    window: (String, String),
    hosts: Vec<HostLine>,
    incidents: Vec<String>,
    notes: Vec<String>,
    attempts: Vec<ExpectedAttempt>,
}

impl Folder {
    /// Describe the folder `name` generated from `s`.
    pub fn new(name: &str, s: &Scenario, w: &World, attempts: Vec<ExpectedAttempt>) -> Folder {
        let reference = w.hosts[w.id(&s.reference)].clock;
        let hosts = w
            .hosts
            .iter()
            .map(|h| HostLine {
                name: h.name().to_string(),
                role: h.spec.role,
                address: h.address().to_string(),
                offset: (reference - h.clock).num_milliseconds() as f64 / 1000.0,
                logs: h
                    .logs
                    .iter()
                    .map(|l| format!("{}/{}", h.folder, file_name(*l)))
                    .collect(),
            })
            .collect();
        let (start, end) = s.window();
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
        Folder {
            name: name.to_string(),
            title: s.title.clone(),
            story: s.story.trim().to_string(),
            reported: s.reported_error.clone(),
            reference: s.reference.clone(),
            window: (fmt(start), fmt(end)),
            hosts,
            incidents: s
                .incidents
                .iter()
                .map(|i| format!("{} {} on {}", i.at, i.kind, i.host))
                .collect(),
            notes: s.notes.clone(),
            attempts,
        }
    }
}

/// The `expected.json` of a folder.
pub fn expected_json(f: &Folder) -> String {
    let hosts: Vec<Value> = f
        .hosts
        .iter()
        .map(|h| {
            json!({
                "name": h.name,
                "role": h.role.as_str(),
                "address": h.address,
                "clock_offset_seconds": h.offset,
                "logs": h.logs,
            })
        })
        .collect();
    let doc = json!({
        "folder": f.name,
        "title": f.title,
        "reported_error": f.reported,
        "reference_host": f.reference,
        "start_tolerance_seconds": START_TOLERANCE_SECONDS,
        "hosts": hosts,
        "failed_attempts": f.attempts.iter().map(ExpectedAttempt::json).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

const README_HEAD: &str = include_str!("readme_head.md");

/// `samples/README.md`: the fixed introduction, an index, then one section per folder.
pub fn readme(folders: &[Folder]) -> String {
    let mut out = README_HEAD.to_string();
    out.push_str("\n## Index\n\n| folder | what happened | failed attempts | logs missing |\n|---|---|---|---|\n");
    for f in folders {
        let mut missing: Vec<&str> = f
            .attempts
            .iter()
            .flat_map(|a| a.missing.iter())
            .map(|h| h.split('.').next().unwrap_or(""))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        let missing = if missing.is_empty() {
            "—".to_string()
        } else {
            missing.join(", ")
        };
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} | {} |\n",
            f.name,
            f.name.replace('.', ""),
            f.title,
            f.attempts.len(),
            missing
        ));
    }
    for f in folders {
        section(&mut out, f);
    }
    out
}

fn section(out: &mut String, f: &Folder) {
    out.push_str(&format!(
        "\n## {}\n\n**{}**\n\n{}\n\n",
        f.name, f.title, f.story
    ));
    out.push_str(&format!(
        "Window {} – {} UTC (true time). Times below are on the clock of `{}`.\n\n",
        f.window.0, f.window.1, f.reference
    ));
    out.push_str("| host | role | address | clock offset (s, add to get the reference) | logs supplied |\n|---|---|---|---|---|\n");
    for h in &f.hosts {
        let logs = if h.logs.is_empty() {
            "not collected".to_string()
        } else {
            h.logs
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            h.name,
            h.role.as_str(),
            h.address,
            h.offset,
            logs
        ));
    }
    if !f.incidents.is_empty() {
        out.push_str(&format!("\nIncidents: {}.\n", f.incidents.join("; ")));
    }
    if f.attempts.is_empty() {
        out.push_str("\nNo failed attempt: every attempt must be rebuilt as succeeded.\n");
    } else {
        out.push_str("\n| failed attempt (start) | client | target | primary code | verdict must be |\n|---|---|---|---|---|\n");
        for a in &f.attempts {
            let code = a
                .primary
                .map(|c| format!("{c} (0x{c:X})"))
                .unwrap_or_else(|| "unknown".into());
            let target = a.target.as_deref().unwrap_or("unknown");
            out.push_str(&format!(
                "| {} | {} | {} | {} | `{}` |\n",
                a.start, a.client, target, code, a.cause
            ));
        }
    }
    match &f.reported {
        Some(r) => out.push_str(&format!(
            "\nReported error: run `rdptriage attempts --reported-error {r} samples/{}`.\n",
            f.name
        )),
        None => out.push_str(&format!("\nRun `rdptriage attempts samples/{}`.\n", f.name)),
    }
    for n in &f.notes {
        out.push_str(&format!("\n> Note: {n}\n"));
    }
}
