//! Readers for the text forms admins paste instead of `.evtx` files (issue #6).
//!
//! Takes: a [`Source`] detected ([`detect()`]) as one of `wevtutil-text` ([`wevtutil`]),
//! `eventviewer-text` ([`eventviewer`]), `powershell-list` ([`powershell`]), `trace-text`
//! ([`trace`]), `tracerpt-csv` ([`tracerpt`]) or `evtxecmd-csv` ([`evtxecmd`]), and the
//! [`IngestOptions`] (`--timezone` for times without an offset).
//! Produces: the same normalized [`Event`]s as the EVTX path — so the same attempts and verdicts —
//! through the [`Collector`], with `line` provenance (the 1-based line where the record starts).
//!
//! Every reader streams its file line by line ([`lines`]) with the nom grammar of [`grammar`] and
//! hands each record to the [`Emitter`], which does what all formats share: it derives the channel
//! from the provider where the text names only the provider, finds the event id from the message
//! where the text names none (trace lines), builds fields only for relevant records (named fields,
//! message patterns or positional values, see [`messages`]), converts times ([`time`]) and does the
//! accounting: `records`, `failed_records` with the first unparsed line, `opaque_records`, the time
//! basis and notes. Relevant events whose date order (`5/6/2024`) is not decided yet are held until
//! a date of the file decides it or the file ends; everything else goes straight through.

mod detect;
mod event_xml;
mod eventviewer;
mod evtxecmd;
mod grammar;
mod lines;
mod messages;
mod powershell;
#[cfg(test)]
mod proptests;
mod time;
mod trace;
mod tracerpt;
mod wevtutil;

pub use detect::detect;
pub use time::TimeZoneSpec;

use super::{Collector, IngestOptions};
use crate::event::{Event, Fields, catalog};
use crate::source::{InputFormat, Source};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use time::{Clock, Stamp};

/// Longest excerpt of a line quoted in an error.
const EXCERPT: usize = 160;

/// A record's payload, as the format gives it.
#[derive(Debug)]
pub(crate) enum Payload {
    /// Named fields (XML block, EvtxECmd JSON).
    Fields(Fields),
    /// The rendered message only.
    Message(String),
    /// Values in template order (tracerpt User Data, insertion strings).
    Values(Vec<String>),
    /// Nothing.
    Empty,
}

/// A record's time, as the format gives it.
#[derive(Debug)]
pub(crate) enum When {
    /// Exact (FILETIME, `SystemTime` with `Z`).
    Utc(DateTime<Utc>),
    /// As written, with the text it was parsed from.
    Stamp(Stamp, String),
    /// Unreadable or absent; the text, if any.
    Missing(String),
}

/// One record read from a text export.
#[derive(Debug)]
pub(crate) struct TextRecord {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Channel (empty when the text names none).
    pub channel: String,
    /// Provider (empty when the text names none).
    pub provider: String,
    /// Event id, or `None` to find it from the message.
    pub event_id: Option<u32>,
    /// Level, when known.
    pub level: Option<u8>,
    /// Computer (empty when the format names none).
    pub host: String,
    /// Time.
    pub when: When,
    /// EventRecordID.
    pub record_id: Option<u64>,
    /// ActivityID, normalized.
    pub activity_id: Option<String>,
    /// Fields, message or values.
    pub payload: Payload,
}

impl TextRecord {
    /// An empty record starting at `line`.
    pub fn new(line: u64) -> Self {
        TextRecord {
            line,
            channel: String::new(),
            provider: String::new(),
            event_id: None,
            level: None,
            host: String::new(),
            when: When::Missing(String::new()),
            record_id: None,
            activity_id: None,
            payload: Payload::Empty,
        }
    }
}

/// Read a time as written: a [`Stamp`] when it parses, else `Missing` with the text.
pub(crate) fn when_of(text: &str) -> When {
    match grammar::stamp(text) {
        Some(stamp) => When::Stamp(stamp, text.trim().to_string()),
        None => When::Missing(text.trim().to_string()),
    }
}

/// Shared record handling and accounting for one file (see the module docs).
pub(crate) struct Emitter<'a> {
    path: Arc<str>,
    collector: &'a mut Collector,
    clock: Clock,
    held: Vec<(Event, Stamp)>,
    opaque: u64,
    saw_host: bool,
    notes: Vec<String>,
}

impl<'a> Emitter<'a> {
    fn new(source: &Source, collector: &'a mut Collector, options: &IngestOptions) -> Self {
        Emitter {
            path: source.display.clone(),
            collector,
            clock: Clock::new(options.timezone),
            held: Vec::new(),
            opaque: 0,
            saw_host: false,
            notes: Vec::new(),
        }
    }

    /// Add a note for the report (once per distinct text).
    pub fn note(&mut self, text: &str) {
        if !self.notes.iter().any(|n| n == text) {
            self.notes.push(text.to_string());
        }
    }

    /// Count a record that could not be parsed: `line N: <the line> (why)`.
    pub fn fail(&mut self, line: u64, text: &str, why: &str) {
        self.collector
            .fail(|| format!("line {line}: {} ({why})", excerpt(text)));
    }

    /// Count a record that is recognised but opaque (WPP without format information).
    pub fn opaque(&mut self) {
        self.opaque += 1;
    }

    /// Handle one record.
    pub fn record(&mut self, mut rec: TextRecord) {
        let id = rec.event_id.unwrap_or_else(|| match &rec.payload {
            Payload::Message(m) => messages::identify(&rec.provider, m).unwrap_or(0),
            _ => 0,
        });
        if rec.channel.is_empty() {
            rec.channel = messages::channel_for(&rec.provider, id).unwrap_or_default();
        }
        if rec.provider.is_empty()
            && let Some(p) = messages::provider_for(&rec.channel)
        {
            rec.provider = p;
        }
        if let When::Stamp(stamp, _) = &rec.when {
            self.clock.observe(stamp, rec.line);
        }
        self.release_held();
        let relevant = catalog::is_relevant(&rec.channel, &rec.provider, id);
        let time = if relevant {
            match self.time(&rec.when) {
                Ok(t) => t,
                Err(why) => {
                    let text = match &rec.when {
                        When::Stamp(_, t) | When::Missing(t) => t.clone(),
                        When::Utc(t) => t.to_rfc3339(),
                    };
                    return self.fail(rec.line, &text, &why);
                }
            }
        } else {
            None
        };
        self.saw_host |= !rec.host.is_empty();
        if !self
            .collector
            .wants(&rec.channel, &rec.provider, id, &rec.host)
        {
            return;
        }
        let fields = match std::mem::replace(&mut rec.payload, Payload::Empty) {
            Payload::Fields(f) => f,
            Payload::Message(m) => {
                messages::fields_from_message(&rec.provider, &rec.channel, id, &m)
            }
            Payload::Values(v) => messages::fields_from_values(&rec.provider, &rec.channel, id, &v),
            Payload::Empty => Fields::new(),
        };
        let event = Event {
            time: time.unwrap_or_default(),
            origin: crate::event::Origin::new(
                rec.host,
                rec.channel,
                rec.provider,
                self.path.clone(),
            ),
            event_id: id,
            level: rec.level,
            activity_id: rec.activity_id.map(Into::into),
            fields,
            place: crate::event::Place::new(crate::event::Locator::Line(rec.line), rec.record_id),
        };
        match (time, rec.when) {
            (None, When::Stamp(stamp, _)) => self.held.push((event, stamp)),
            _ => self.collector.push(event),
        }
    }

    /// The UTC time of a relevant record; `Ok(None)` while its date order is undecided.
    fn time(&mut self, when: &When) -> Result<Option<DateTime<Utc>>, String> {
        match when {
            When::Utc(t) => {
                self.clock.count_exact();
                Ok(Some(*t))
            }
            When::Stamp(stamp, _) if self.clock.must_wait(stamp) => Ok(None),
            When::Stamp(stamp, _) => self.clock.convert(stamp).map(Some),
            When::Missing(t) if t.is_empty() => Err("the record has no date".into()),
            When::Missing(_) => Err("not a date this reader knows".into()),
        }
    }

    /// Push the held events once the date order is decided.
    fn release_held(&mut self) {
        if self.held.is_empty() || self.clock.must_wait(&self.held[0].1) {
            return;
        }
        for (mut event, stamp) in std::mem::take(&mut self.held) {
            match self.clock.convert(&stamp) {
                Ok(t) => {
                    event.time = t;
                    self.collector.push(event);
                }
                Err(why) => {
                    let line = event.position();
                    self.collector
                        .fail(|| format!("line {line}: the date of this record ({why})"));
                }
            }
        }
    }

    /// End of file: decide the date order if still open, release, write the report notes.
    fn finish(mut self) {
        self.clock.decide_default();
        self.release_held();
        let report = &mut self.collector.report;
        report.opaque_records = self.opaque;
        report.time_basis = self.clock.basis();
        let mut notes = self.clock.notes();
        notes.append(&mut self.notes);
        if self.opaque > 0 {
            notes.push(format!(
                "{} WPP trace lines have no format information (TMF) and were counted as opaque",
                self.opaque
            ));
        }
        if report.records > 0 && !self.saw_host {
            notes.push(
                "this format names no computer: its events have no host, so they are linked \
                 to other machines' events only by address, target and time"
                    .into(),
            );
        }
        if !notes.is_empty() {
            report.note = Some(notes.join("; "));
        }
    }
}

/// Level names as Windows prints them (`Level`, `LevelDisplayName`, EvtxECmd's `Level`), in the
/// languages whose Event Viewer names we know (en, de, fr, es, it, pt, ru, zh, ja), or a number.
const LEVELS: &[(u8, &[&str])] = &[
    (0, &["LogAlways", "Log Always"]),
    (
        1,
        &[
            "Critical",
            "Kritisch",
            "Critique",
            "Crítico",
            "Critico",
            "Критический",
            "关键",
            "重大",
        ],
    ),
    (
        2,
        &[
            "Error",
            "Fehler",
            "Erreur",
            "Errore",
            "Erro",
            "Ошибка",
            "错误",
            "エラー",
        ],
    ),
    (
        3,
        &[
            "Warning",
            "Warnung",
            "Avertissement",
            "Advertencia",
            "Avviso",
            "Aviso",
            "Предупреждение",
            "警告",
        ],
    ),
    (
        4,
        &[
            "Information",
            "Informational",
            "Info",
            "Informationen",
            "Información",
            "Informazioni",
            "Informações",
            "Сведения",
            "信息",
            "情報",
        ],
    ),
    (
        5,
        &[
            "Verbose",
            "Ausführlich",
            "Commentaires",
            "Detallado",
            "Dettagliato",
            "Detalhado",
            "Подробности",
            "详细",
            "詳細",
        ],
    ),
];

/// A level from its number or its (possibly localized) name.
pub(crate) fn level_of(text: &str) -> Option<u8> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u8>() {
        return Some(n);
    }
    LEVELS
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.to_lowercase() == t.to_lowercase()))
        .map(|(level, _)| *level)
}

/// At most [`EXCERPT`] characters of a line.
fn excerpt(text: &str) -> String {
    let text = text.trim_end();
    match text.char_indices().nth(EXCERPT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Read a text export. `Err` means the file could not be opened or read to its end.
pub fn read(
    source: &Source,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Result<(), String> {
    let file = std::fs::File::open(&source.path).map_err(|e| e.to_string())?;
    read_from(source, file, collector, options)
}

/// Read a text export from any stream (the file, or a test's bytes).
pub(crate) fn read_from<R: std::io::Read>(
    source: &Source,
    input: R,
    collector: &mut Collector,
    options: &IngestOptions,
) -> Result<(), String> {
    // The watchdog's limits are checked on every read of the stream.
    let mut input = super::watchdog::CheckedRead::new(input, collector.limits());
    let mut lines = lines::Lines::new(&mut input);
    let mut out = Emitter::new(source, collector, options);
    let result = match source.format {
        InputFormat::WevtutilText => wevtutil::read(&mut lines, &mut out),
        InputFormat::EventviewerText => eventviewer::read(&mut lines, &mut out),
        InputFormat::PowershellList => powershell::read(&mut lines, &mut out),
        InputFormat::TraceText => trace::read(&mut lines, &mut out),
        InputFormat::TracerptCsv => tracerpt::read(&mut lines, &mut out),
        InputFormat::EvtxecmdCsv => evtxecmd::read(&mut lines, &mut out),
        other => Err(format!("{} is not a text format", other.as_str())),
    };
    out.finish();
    if let Some(reason) = input.tripped() {
        collector.stop(reason.to_string());
        return Err(reason.to_string());
    }
    result
}

/// The line-reading error of a reader, naming the line it happened after.
pub(crate) fn read_error(after: u64, err: &std::io::Error) -> String {
    format!(
        "line {}: the file could not be read further: {err}",
        after + 1
    )
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Run a reader over text in memory.
    use super::*;
    use crate::source::InputReport;

    /// Read `text` as `format` (file name `t.txt`), with an optional `--timezone`.
    pub fn run(format: InputFormat, text: &str, zone: Option<&str>) -> (Vec<Event>, InputReport) {
        run_bytes(format, text.as_bytes(), zone)
    }

    /// Read raw bytes as `format`.
    pub fn run_bytes(
        format: InputFormat,
        bytes: &[u8],
        zone: Option<&str>,
    ) -> (Vec<Event>, InputReport) {
        let source = Source {
            path: "t.txt".into(),
            display: Arc::from("t.txt"),
            size: bytes.len() as u64,
            format,
        };
        let options = IngestOptions {
            timezone: zone.map(|z| z.parse().expect("zone")),
            ..IngestOptions::default()
        };
        let mut collector = Collector::new(&source, &options);
        let fatal = read_from(&source, bytes, &mut collector, &options).err();
        let done = collector.finish(fatal);
        (done.events, done.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_by_number_or_localized_name() {
        assert_eq!(level_of("4"), Some(4));
        assert_eq!(level_of("Information"), Some(4));
        assert_eq!(level_of("信息"), Some(4));
        assert_eq!(level_of("warnung"), Some(3));
        assert_eq!(level_of("Info"), Some(4));
        assert_eq!(level_of("???"), None);
    }

    #[test]
    fn excerpts_are_cut_on_characters() {
        let long = "é".repeat(300);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT + 1);
        assert_eq!(excerpt("short  "), "short");
    }
}
