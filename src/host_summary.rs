//! Per-host totals of a run: what was read from each machine and what happened to its attempts.
//!
//! Takes: an [`Analysis`] (with or without verdicts).
//! Produces: one [`HostSummary`] per host, sorted by name — the files and records read from it
//! (by the files' main `Computer` name), its relevant events, the attempts it took part in (as
//! client, gateway or session host), how many of them failed, and, once the rules ran, the
//! failures by cause, and the collection folders its files came from when they name it otherwise
//! (a KAPE-style `HOST/C/Windows/System32/winevt/Logs` whose `HOST` is not the `Computer` the
//! events name). Only machines whose logs were supplied are listed (an attempt also names peers
//! known only by address); those whose files held no relevant event are listed too: on a share
//! of hundreds of machines that is how a silent one shows.

use crate::analysis::Analysis;
use crate::attempt::{Outcome, host_key};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Totals of one host.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HostSummary {
    /// The host name (as logged; the first spelling seen).
    pub name: String,
    /// Input files whose main `Computer` is this host.
    pub files: usize,
    /// Records read from those files.
    pub records: u64,
    /// Relevant events the host logged.
    pub relevant_events: u64,
    /// Attempts the host took part in.
    pub attempts: usize,
    /// Of those, the failed ones.
    pub failed_attempts: usize,
    /// Failed attempts by verdict cause (empty until the rules ran).
    pub failures_by_cause: BTreeMap<String, usize>,
    /// The collection folders the host's files sat in, where the folder names another machine
    /// than the events do (sorted; omitted when none).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub collected_as: BTreeSet<String>,
}

/// The per-host totals of `analysis`, sorted by host name (case-insensitive).
pub fn host_summaries(analysis: &Analysis) -> Vec<HostSummary> {
    let mut hosts: BTreeMap<String, HostSummary> = BTreeMap::new();
    for input in &analysis.inputs {
        if let Some(host) = input.host.as_deref().filter(|h| !h.trim().is_empty()) {
            let h = entry(&mut hosts, host);
            h.files += 1;
            h.records += input.records;
            h.collected_as.extend(input.folder_host.iter().cloned());
        }
    }
    for info in &analysis.correlation.hosts {
        entry(&mut hosts, &info.name).relevant_events += info.events as u64;
    }
    let causes: BTreeMap<&str, &str> = analysis
        .verdicts
        .iter()
        .flatten()
        .map(|v| (v.attempt.as_str(), v.cause.as_str()))
        .collect();
    for attempt in &analysis.correlation.attempts {
        let mut involved: Vec<String> = [&attempt.client, &attempt.gateway, &attempt.server]
            .into_iter()
            .flatten()
            .filter(|h| !h.trim().is_empty())
            .cloned()
            .collect();
        involved.sort_by_key(|h| host_key(h));
        involved.dedup_by_key(|h| host_key(h));
        // Only machines whose logs were supplied: an attempt names its peers by address too.
        for host in involved {
            let Some(h) = hosts.get_mut(&host_key(&host)) else {
                continue;
            };
            h.attempts += 1;
            if attempt.outcome == Outcome::Failed {
                h.failed_attempts += 1;
                if let Some(cause) = causes.get(attempt.id.as_str()) {
                    *h.failures_by_cause.entry((*cause).to_string()).or_default() += 1;
                }
            }
        }
    }
    hosts.into_values().collect()
}

/// The summary of `name` (by host key), created on first use.
fn entry<'m>(hosts: &'m mut BTreeMap<String, HostSummary>, name: &str) -> &'m mut HostSummary {
    hosts.entry(host_key(name)).or_insert_with(|| HostSummary {
        name: name.trim().to_string(),
        ..HostSummary::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::{self, AttemptOptions, Timeline};
    use crate::source::{InputFormat, InputReport};

    fn input(path: &str, host: &str, folder: Option<&str>) -> InputReport {
        let mut input = InputReport::synthetic(path.into(), InputFormat::Evtx, host, Vec::new());
        input.folder_host = folder.map(str::to_string);
        input
    }

    #[test]
    fn the_folders_a_host_was_collected_under_are_listed_once_each_when_they_name_it_otherwise() {
        let timeline = Timeline::new(Vec::new());
        let analysis = Analysis {
            inputs: vec![
                input(
                    "HOST-B/C/Windows/System32/winevt/Logs/System.evtx",
                    "rdsh02.contoso.local",
                    Some("HOST-B"),
                ),
                input(
                    "HOST-A/C/Windows/System32/winevt/Logs/System.evtx",
                    "RDSH02.contoso.local",
                    Some("HOST-A"),
                ),
                input(
                    "HOST-A/C/Windows/System32/winevt/Logs/Security.evtx",
                    "RDSH02.contoso.local",
                    Some("HOST-A"),
                ),
                input(
                    "WS-IRIS/C/Windows/System32/winevt/Logs/System.evtx",
                    "WS-IRIS.contoso.local",
                    None,
                ),
            ],
            correlation: attempt::correlate(&timeline, &AttemptOptions::default()),
            timeline,
            verdicts: None,
        };
        let summaries = host_summaries(&analysis);
        let found: Vec<(&str, usize, Vec<&str>)> = summaries
            .iter()
            .map(|h| {
                let folders = h.collected_as.iter().map(String::as_str).collect();
                (h.name.as_str(), h.files, folders)
            })
            .collect();
        assert_eq!(
            found,
            [
                ("rdsh02.contoso.local", 3, vec!["HOST-A", "HOST-B"]),
                ("WS-IRIS.contoso.local", 1, vec![]),
            ]
        );
        let json = serde_json::to_value(&summaries).unwrap();
        assert_eq!(
            json[0]["collected_as"],
            serde_json::json!(["HOST-A", "HOST-B"])
        );
        assert!(json[1].get("collected_as").is_none(), "omitted when none");
    }
}
