//! The collector: what a reader hands its records to.
//!
//! Takes: records from one file's reader — counted, checked against the catalog and the time
//! window, relevant ones as [`Event`]s (live, or recovered from chunk slack).
//! Produces: the file's [`FileIngest`] — its accounting ([`InputReport`]: records, failures,
//! relevant, recovered, host, channels, status) and its events, held or in the run's spool.

use super::evtx_checks::BadChunks;
use super::watchdog::Limits;
use super::{FileIngest, IngestOptions};
use crate::event::{Event, FieldSets, catalog};
use crate::source::{InputReport, InputStatus, Source};
use crate::spool::FileSpool;
use std::collections::HashMap;

/// Receives records from a reader: checks relevance and the time window, counts everything.
pub struct Collector {
    /// The accounting being filled in.
    pub report: InputReport,
    events: Vec<Event>,
    options: IngestOptions,
    hosts: HashMap<String, u64>,
    channels: std::collections::BTreeSet<String>,
    limits: Limits,
    stopped: Option<String>,
    recovered_events: Vec<Event>,
    spool: Option<FileSpool>,
    /// The file's field maps seen so far: events with equal fields share one.
    field_sets: FieldSets,
    /// The origins and activity ids of the events kept, so that they share one of each.
    origins: crate::event::Origins,
    /// EVTX: the chunks whose checksums do not match, noted when the file is finished (a file
    /// read in parts adds up its parts' first).
    pub(super) bad_chunks: BadChunks,
}

impl Collector {
    /// A collector for `source`.
    pub fn new(source: &Source, options: &IngestOptions) -> Self {
        Collector::for_part(source, options, 0)
    }

    /// A collector for part `part` (from 0) of `source`, read on its own and then joined to the
    /// parts before it with [`Collector::absorb`].
    pub(crate) fn for_part(source: &Source, options: &IngestOptions, part: usize) -> Self {
        let report = InputReport::new(source);
        Collector {
            spool: options
                .spool
                .as_ref()
                .map(|s| s.file_part(&report.path, part)),
            report,
            events: Vec::new(),
            options: options.clone(),
            hosts: HashMap::new(),
            channels: std::collections::BTreeSet::new(),
            limits: Limits::start(options),
            stopped: None,
            recovered_events: Vec::new(),
            field_sets: FieldSets::default(),
            origins: crate::event::Origins::default(),
            bad_chunks: BadChunks::default(),
        }
    }

    /// Join the collector of the next part of the same file (see [`Collector::for_part`]): its
    /// counts, notes, events and spooled text come after this one's, as if one reader had read
    /// both parts.
    pub(crate) fn absorb(&mut self, later: Collector) {
        if self.stopped.is_none() {
            self.stopped = later.stopped;
        }
        let (report, more) = (&mut self.report, later.report);
        report.records += more.records;
        report.failed_records += more.failed_records;
        report.opaque_records += more.opaque_records;
        report.relevant += more.relevant;
        report.out_of_window += more.out_of_window;
        report.recovered += more.recovered;
        report.recovered_relevant += more.recovered_relevant;
        if report.first_error.is_none() {
            report.first_error = more.first_error;
        }
        for note in more.note.iter().flat_map(|notes| notes.split("; ")) {
            self.note(note.to_string());
        }
        self.events.extend(later.events);
        self.recovered_events.extend(later.recovered_events);
        for (host, count) in later.hosts {
            *self.hosts.entry(host).or_default() += count;
        }
        self.channels.extend(later.channels);
        self.bad_chunks.absorb(later.bad_chunks);
        if let (Some(spool), Some(more)) = (&mut self.spool, later.spool) {
            spool.absorb(more);
        }
    }

    /// Call between records: `Err` with the reason once the file's deadline or memory budget is
    /// exceeded; the reader must then stop and return that `Err` (see [`watchdog`](super::watchdog)).
    pub fn check(&mut self) -> Result<(), String> {
        if let Some(reason) = &self.stopped {
            return Err(reason.clone());
        }
        self.limits.check().inspect_err(|reason| {
            self.stopped = Some(reason.clone());
        })
    }

    /// The file's limits, for a reader that checks them in its stream
    /// ([`watchdog::CheckedRead`](super::watchdog::CheckedRead)).
    pub fn limits(&self) -> Limits {
        self.limits.clone()
    }

    /// Stop for a limit found outside [`Collector::check`] (see [`watchdog::CheckedRead`](super::watchdog::CheckedRead)).
    pub fn stop(&mut self, reason: String) {
        self.stopped.get_or_insert(reason);
    }

    /// Count a recovered record whose relevance the reader decided itself.
    pub fn count_recovered(&mut self) {
        self.report.recovered += 1;
    }

    /// Keep a relevant recovered event (time window applies; duplicates of live records of the
    /// same file are dropped when the file is finished).
    pub fn push_recovered(&mut self, event: Event) {
        let before = self.options.since.is_some_and(|s| event.time < s);
        let after = self.options.until.is_some_and(|u| event.time > u);
        if !(before || after) {
            let mut event = event;
            event
                .place
                .set_locator(crate::event::Locator::Recovered(event.position()));
            self.share(&mut event);
            self.recovered_events.push(event);
        }
    }

    /// Add a note about the file (dirty header, checksum mismatches, …) to `report.note`, once.
    pub fn note(&mut self, note: String) {
        match &mut self.report.note {
            Some(notes) if notes.split("; ").any(|n| n == note) => {}
            Some(notes) => {
                notes.push_str("; ");
                notes.push_str(&note);
            }
            None => self.report.note = Some(note),
        }
    }

    /// Count a record that was read; true when the caller should build its fields and call
    /// [`Collector::push`]. Call once per successfully read record, relevant or not.
    pub fn wants(&mut self, channel: &str, provider: &str, event_id: u32, host: &str) -> bool {
        self.count(channel, host);
        catalog::is_relevant(channel, provider, event_id)
    }

    /// Count a record that was read, when the reader decided its relevance itself (the EVTX
    /// reader does, from the template values, before rendering).
    pub fn count(&mut self, channel: &str, host: &str) {
        self.count_many(channel, host, 1);
    }

    /// Count `n` records of the same channel and host (see [`Collector::count`]).
    pub fn count_many(&mut self, channel: &str, host: &str, n: u64) {
        self.report.records += n;
        if !channel.is_empty() && !self.channels.contains(channel) {
            self.channels.insert(channel.to_string());
        }
        if !host.is_empty() {
            match self.hosts.get_mut(host) {
                Some(count) => *count += n,
                None => {
                    self.hosts.insert(host.to_string(), n);
                }
            }
        }
    }

    /// Keep a relevant event (applies the time window).
    pub fn push(&mut self, mut event: Event) {
        if event.host().trim().is_empty() {
            // Some text forms name no computer: keep the events of this file together under a
            // name that says so, rather than an empty host shared by every such file.
            let host = format!("unknown host ({})", file_name(&self.report.path));
            event.origin = std::sync::Arc::new(crate::event::Origin {
                host: host.into(),
                ..(*event.origin).clone()
            });
        }
        let before = self.options.since.is_some_and(|s| event.time < s);
        let after = self.options.until.is_some_and(|u| event.time > u);
        if before || after {
            self.report.out_of_window += 1;
        } else {
            self.keep(event);
        }
    }

    /// Keep an event of the time window: in the spool when there is one, else in memory. False
    /// when it could not be kept (counted as a failed record).
    fn keep(&mut self, mut event: Event) -> bool {
        match &mut self.spool {
            Some(spool) => {
                if let Err(error) = spool.push(&event) {
                    let record = event.source().to_string();
                    self.fail(|| format!("{record}: cannot write the event as JSON: {error}"));
                    return false;
                }
            }
            None => {
                self.share(&mut event);
                self.events.push(event);
            }
        }
        self.report.relevant += 1;
        true
    }

    /// Let an event kept share its field map, origin and activity id with the file's events that
    /// have equal ones.
    fn share(&mut self, event: &mut Event) {
        event.fields = self.field_sets.share(std::mem::take(&mut event.fields));
        event.origin = self.origins.share(event.origin.clone());
        event.activity_id = self.origins.share_activity(event.activity_id.take());
    }

    /// Count a record that could not be parsed.
    pub fn fail(&mut self, message: impl FnOnce() -> String) {
        self.report.record_failure(message);
    }

    /// Finish: pick the file's host, derive the status.
    pub fn finish(mut self, fatal: Option<String>) -> FileIngest {
        if let Some(reason) = self.stopped.take() {
            return self.stopped_by_limit(reason);
        }
        if let Some(note) = std::mem::take(&mut self.bad_chunks).note() {
            self.note(note);
        }
        self.merge_recovered();
        if let Some(reason) = fatal {
            if self.report.records == 0 {
                self.report.status = InputStatus::Unreadable;
            } else {
                self.report.status = InputStatus::Partial;
            }
            self.report.reason = Some(reason);
        }
        self.report.channels = std::mem::take(&mut self.channels).into_iter().collect();
        self.report.host = self
            .hosts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(h, _)| h);
        if let Some(folder) = crate::source::collection_folder_host(&self.report.path) {
            let same = self.report.host.as_deref().is_some_and(|h| {
                crate::attempt::short_name(h) == crate::attempt::short_name(&folder)
            });
            if !same {
                self.report.folder_host = Some(folder);
            }
        }
        if !(self.report.status == InputStatus::Partial && self.report.reason.is_some()) {
            self.report.finish();
        }
        FileIngest {
            report: self.report,
            events: self.events,
            spooled: self.spool,
            part: None,
        }
    }

    /// A reader stopped by a limit: `unreadable`, its events dropped, the counts kept.
    fn stopped_by_limit(mut self, reason: String) -> FileIngest {
        let read = self.report.records + self.report.failed_records;
        self.report.status = InputStatus::Unreadable;
        self.report.reason = Some(format!("stopped after {read} records: {reason}"));
        self.report.relevant = 0;
        self.report.channels = std::mem::take(&mut self.channels).into_iter().collect();
        FileIngest::new(self.report, Vec::new())
    }

    /// Keep the recovered events that are not copies of live records of the same file.
    fn merge_recovered(&mut self) {
        if self.recovered_events.is_empty() {
            return;
        }
        let recovered = std::mem::take(&mut self.recovered_events);
        // Only the live records that a recovered one repeats are looked for: a set of every
        // live record would hold a busy log's whole index at once.
        let wanted: std::collections::HashSet<_> =
            recovered.iter().map(crate::spool::record_time).collect();
        let live = match &mut self.spool {
            None => self
                .events
                .iter()
                .map(crate::spool::record_time)
                .filter(|live| wanted.contains(live))
                .collect(),
            Some(spool) => {
                match spool.present(&wanted) {
                    Ok(live) => live,
                    Err(error) => {
                        // Keep every recovered event rather than lose one: some may repeat a
                        // live record.
                        self.note(format!("recovered records not checked for copies: {error}"));
                        Default::default()
                    }
                }
            }
        };
        for event in recovered {
            if !live.contains(&crate::spool::record_time(&event)) && self.keep(event) {
                self.report.recovered_relevant += 1;
            }
        }
    }
}

/// The last component of a path as shown in reports.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse_system_time;
    use crate::source::InputFormat;
    use crate::spool::Spool;

    /// A collector for a JSONL file `path`.
    fn collector(path: &str, options: &IngestOptions) -> Collector {
        let source = Source {
            path: path.into(),
            display: path.into(),
            size: 0,
            format: InputFormat::Jsonl,
        };
        Collector::new(&source, options)
    }

    /// A spooling collector for a JSONL file `path`, and its run's spool.
    fn spooling_collector(path: &str) -> (Collector, std::sync::Arc<Spool>) {
        let spool = std::sync::Arc::new(Spool::new(crate::spool::SpoolOptions::default()));
        let options = IngestOptions {
            spool: Some(spool.clone()),
            ..IngestOptions::default()
        };
        (collector(path, &options), spool)
    }

    /// A failed logon logged by `host`, record `record` of `dir/a.jsonl`.
    fn event(host: &str, record: u64, fields: crate::event::Fields) -> Event {
        Event {
            time: parse_system_time("2024-05-14T09:00:00Z").unwrap(),
            origin: crate::event::Origin::new(
                host,
                "Security",
                "Microsoft-Windows-Security-Auditing",
                "dir/a.jsonl",
            ),
            event_id: 4625,
            level: None,
            activity_id: None,
            fields,
            place: crate::event::Place::new(crate::event::Locator::Record(record), Some(record)),
        }
    }

    fn spooled_text(spool: &Spool) -> String {
        let mut text = Vec::new();
        let sorted = spool.finish().unwrap();
        sorted
            .for_each_line(|line| {
                text.extend_from_slice(line);
                Ok(())
            })
            .unwrap();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn a_spooling_collector_keeps_events_as_lines_with_the_host_renamed_where_empty() {
        let (mut collector, spool) = spooling_collector("dir/a.jsonl");
        collector.push(event("DC01", 1, Default::default()));
        collector.push(event(" ", 2, Default::default()));
        let done = collector.finish(None);
        assert_eq!(done.report.relevant, 2);
        assert!(done.events.is_empty());
        spool.commit(done.spooled.expect("a spooling collector spools"));
        let text = spooled_text(&spool);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains(r#""host":"DC01""#), "{}", lines[0]);
        assert!(
            lines[1].contains(r#""host":"unknown host (a.jsonl)""#),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn recovered_events_that_repeat_a_live_record_are_left_out_in_memory_and_in_the_spool() {
        let recovered = |record: u64| {
            let mut e = event("DC01", record, Default::default());
            e.place
                .set_locator(crate::event::Locator::Recovered(record));
            e
        };
        let feed = |collector: &mut Collector| {
            for record in [1, 2, 3] {
                collector.push(event("DC01", record, Default::default()));
            }
            collector.push_recovered(recovered(2));
            collector.push_recovered(recovered(9));
        };
        let mut in_memory = collector("dir/a.jsonl", &IngestOptions::default());
        feed(&mut in_memory);
        let done = in_memory.finish(None);
        assert_eq!(done.report.recovered_relevant, 1);
        let kept: Vec<_> = done.events.iter().map(|e| e.locator()).collect();
        assert_eq!(kept.len(), 4);
        assert_eq!(kept[3], crate::event::Locator::Recovered(9));
        let (mut spooling, spool) = spooling_collector("dir/a.jsonl");
        feed(&mut spooling);
        let done = spooling.finish(None);
        assert_eq!(done.report.recovered_relevant, 1);
        spool.commit(done.spooled.expect("a spooling collector spools"));
        assert_eq!(
            spooled_text(&spool).matches(r#""recovered":true"#).count(),
            1
        );
    }

    #[test]
    fn events_kept_in_memory_with_equal_fields_share_them() {
        let mut collector = collector("dir/a.jsonl", &IngestOptions::default());
        let with_alert = |record: u64, alert: u64| {
            let mut fields = crate::event::Fields::new();
            fields.insert("AlertDesc", crate::event::FieldValue::UInt(alert));
            event("DC01", record, fields)
        };
        collector.push(with_alert(1, 40));
        collector.push(with_alert(2, 40));
        collector.push(with_alert(3, 46));
        let events = collector.finish(None).events;
        assert_eq!(events.len(), 3);
        assert!(events[1].fields.shares_storage_with(&events[0].fields));
        assert!(!events[2].fields.shares_storage_with(&events[0].fields));
        assert_eq!(
            events[2].fields.get("AlertDesc"),
            Some(&crate::event::FieldValue::UInt(46))
        );
    }
}
