//! Hand-written parts of the events' JSON wire form, for the per-event path.
//!
//! Takes: a UTC time or a hex number, as an [`super::Event`] holds them.
//! Produces: the same text `chrono`'s and `serde_json`'s own serialization gives — RFC 3339 with
//! `Z` and 0, 3, 6 or 9 fraction digits ([`serialize_time`]); `0x` and lower-case hex digits
//! ([`hex_text`]) — written into a buffer on the stack instead of through the `fmt` machinery or
//! a new `String`. Every relevant event is serialized once by `rdptriage events` (a busy server
//! logs hundreds of thousands), so this is a hot path; the tests hold the text equal to the
//! library forms, and times outside the years 0–9999 are left to `chrono`.
//!
//! Also the [`super::Event`] itself on the wire: its origin's names spelled out as fields of
//! their own (`host`, `channel`, `provider`, and the file as `source.path`), in the order the
//! struct's derive gave before the origin was shared, and read back the same way.

use super::{ActivityId, Event, Fields, Origin, Origins, ProvenanceWire};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::sync::Arc;

/// Longest time [`rfc3339`] writes: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const TIME_LEN: usize = 30;

/// Serialize `time` as `chrono` does (`serde` feature): RFC 3339, `Z`, fraction digits as needed.
pub fn serialize_time<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; TIME_LEN];
    match rfc3339(time, &mut buf) {
        Some(text) => s.serialize_str(text),
        None => time.serialize(s),
    }
}

/// `time` in `chrono`'s RFC 3339 form (`SecondsFormat::AutoSi`, `Z`); `None` for a year outside
/// 0–9999, which `chrono` writes with a sign.
fn rfc3339<'b>(time: &DateTime<Utc>, buf: &'b mut [u8; TIME_LEN]) -> Option<&'b str> {
    let year = u32::try_from(time.year()).ok().filter(|y| *y <= 9999)?;
    let (mut second, mut nano) = (time.second(), time.nanosecond());
    // A leap second is held as 59 s and a nanosecond count past 10^9: chrono writes it as 60 s.
    if nano >= 1_000_000_000 {
        second += 1;
        nano -= 1_000_000_000;
    }
    let mut len = 0;
    let mut put = |digits: u32, value: u32, after: u8| {
        let mut v = value;
        for i in (0..digits as usize).rev() {
            buf[len + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        len += digits as usize;
        buf[len] = after;
        len += 1;
    };
    put(4, year, b'-');
    put(2, time.month(), b'-');
    put(2, time.day(), b'T');
    put(2, time.hour(), b':');
    put(2, time.minute(), b':');
    let (digits, fraction) = if nano == 0 {
        (0, 0)
    } else if nano % 1_000_000 == 0 {
        (3, nano / 1_000_000)
    } else if nano % 1_000 == 0 {
        (6, nano / 1_000)
    } else {
        (9, nano)
    };
    if digits == 0 {
        put(2, second, b'Z');
    } else {
        put(2, second, b'.');
        put(digits, fraction, b'Z');
    }
    std::str::from_utf8(&buf[..len]).ok()
}

/// Longest text [`hex_text`] writes: `0x` and 16 digits.
pub const HEX_LEN: usize = 18;

/// `0x` followed by `value` in lower-case hex without leading zeros (as `format!("0x{value:x}")`).
pub fn hex_text(value: u64, buf: &mut [u8; HEX_LEN]) -> &str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let count = (16 - value.leading_zeros() as usize / 4).max(1);
    buf[0] = b'0';
    buf[1] = b'x';
    for i in 0..count {
        let nibble = (value >> (4 * (count - 1 - i))) & 0xf;
        buf[2 + i] = DIGITS[nibble as usize];
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[..2 + count]).unwrap_or("0x0")
}

/// [`Event`]'s wire form: the origin's names as fields of their own, in the documented order.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Event", 10)?;
        out.serialize_field("time", &Time(&self.time))?;
        out.serialize_field("host", &*self.origin.host)?;
        out.serialize_field("channel", &*self.origin.channel)?;
        out.serialize_field("provider", &*self.origin.provider)?;
        out.serialize_field("event_id", &self.event_id)?;
        if let Some(level) = self.level {
            out.serialize_field("level", &level)?;
        }
        out.serialize_field("record_id", &self.record_id())?;
        out.serialize_field("activity_id", &self.activity_id)?;
        out.serialize_field("fields", &self.fields)?;
        out.serialize_field("source", &Source(self))?;
        out.end()
    }
}

/// An event's file and locator serialized as a [`Provenance`] is.
struct Source<'a>(&'a Event);

impl Serialize for Source<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        super::serialize_source(&self.0.origin.path, self.0.locator(), s)
    }
}

/// A time serialized by [`serialize_time`].
struct Time<'a>(&'a DateTime<Utc>);

impl Serialize for Time<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_time(self.0, s)
    }
}

/// [`Event`] as read from its wire form. Names are borrowed from the text where they need no
/// unescaping ([`event_from_line`] then allocates nothing for an origin it has met).
#[derive(Deserialize)]
struct EventWire<'a> {
    time: DateTime<Utc>,
    #[serde(borrow)]
    host: Cow<'a, str>,
    #[serde(borrow)]
    channel: Cow<'a, str>,
    #[serde(borrow)]
    provider: Cow<'a, str>,
    event_id: u32,
    #[serde(default)]
    level: Option<u8>,
    #[serde(default)]
    record_id: Option<u64>,
    #[serde(default, borrow)]
    activity_id: Option<Cow<'a, str>>,
    #[serde(default)]
    fields: Fields,
    #[serde(borrow)]
    source: ProvenanceWire<'a>,
}

impl EventWire<'_> {
    fn into_event(self, origin: Arc<Origin>) -> Event {
        Event {
            time: self.time,
            origin,
            event_id: self.event_id,
            level: self.level,
            activity_id: self.activity_id.map(|a| ActivityId::from(&*a)),
            fields: self.fields,
            place: crate::event::Place::new(self.source.locator(), self.record_id),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = EventWire::deserialize(d)?;
        let origin = Origin::new(&*w.host, &*w.channel, &*w.provider, &*w.source.path);
        Ok(w.into_event(origin))
    }
}

/// One line of `events --format jsonl` read back, its origin shared through `origins` (the
/// reduce step reads hundreds of thousands of lines with a handful of origins among them).
pub(crate) fn event_from_line(line: &str, origins: &mut Origins) -> serde_json::Result<Event> {
    let w: EventWire<'_> = serde_json::from_str(line)?;
    let origin = origins.get_text([&w.host, &w.channel, &w.provider], &w.source.path);
    Ok(w.into_event(origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn lines_read_back_share_their_origin_and_equal_the_owned_reading() {
        let line = |host: &str, record: u64| {
            format!(
                r#"{{"time":"2024-05-14T09:00:0{record}Z","host":"{host}","channel":"Security","provider":"P","event_id":4625,"record_id":{record},"activity_id":"{{a}}","fields":{{"User":"x"}},"source":{{"path":"c:\\logs\\s.evtx","record":{record},"recovered":true}}}}"#
            )
        };
        let mut origins = Origins::default();
        // An escaped name cannot be borrowed from the line: it is read the same all the same.
        for (host, read) in [("DC01", "DC01"), (r#"D\u00e9C\"01"#, "D\u{e9}C\"01")] {
            let first = event_from_line(&line(host, 1), &mut origins).unwrap();
            let second = event_from_line(&line(host, 2), &mut origins).unwrap();
            assert!(Arc::ptr_eq(&first.origin, &second.origin), "{host}");
            assert_eq!(&*second.origin.host, read);
            let owned: Event = serde_json::from_str(&line(host, 2)).unwrap();
            assert_eq!(second, owned, "{host}");
            assert_eq!(&*second.origin.path, r"c:\logs\s.evtx");
            assert_eq!(second.locator(), super::super::Locator::Recovered(2));
            assert_eq!(second.activity_id.as_deref(), Some("{a}"));
        }
        let plain = event_from_line(&line("DC01", 3), &mut origins).unwrap();
        let escaped = event_from_line(&line(r#"D\u00e9C\"01"#, 3), &mut origins).unwrap();
        assert!(!Arc::ptr_eq(&plain.origin, &escaped.origin));
    }

    fn chrono_json(time: &DateTime<Utc>) -> String {
        serde_json::to_string(time).unwrap()
    }

    fn our_json(time: &DateTime<Utc>) -> String {
        let mut out = Vec::new();
        serialize_time(time, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn times_are_written_as_chrono_writes_them_for_each_fraction_length() {
        let base = Utc.with_ymd_and_hms(2024, 5, 14, 9, 2, 3).unwrap();
        for nanos in [0, 500_000_000, 123_000, 626_427_100, 1, 999_999_999] {
            let time = base + chrono::Duration::nanoseconds(nanos);
            assert_eq!(our_json(&time), chrono_json(&time), "{nanos} ns");
        }
        assert_eq!(our_json(&base), "\"2024-05-14T09:02:03Z\"");
    }

    #[test]
    fn a_leap_second_and_years_at_the_edges_match_chrono() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        assert_eq!(our_json(&leap), chrono_json(&leap));
        assert!(our_json(&leap).contains(":60.5"), "{}", our_json(&leap));
        for year in [0, 1, 999, 1601, 9999, -1, 10000] {
            let time = Utc.with_ymd_and_hms(year, 1, 2, 3, 4, 5).unwrap();
            assert_eq!(our_json(&time), chrono_json(&time), "year {year}");
        }
    }

    #[test]
    fn hex_text_matches_the_format_macro() {
        let mut buf = [0u8; HEX_LEN];
        for value in [0, 1, 0xf, 0x10, 0x8009_030d, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(hex_text(value, &mut buf), format!("0x{value:x}"));
        }
    }

    proptest! {
        #[test]
        fn any_time_is_written_as_chrono_writes_it(
            secs in -70_000_000_000i64..260_000_000_000i64,
            nanos in 0u32..1_000_000_000,
            round in 0usize..4,
        ) {
            // Round the fraction now and then, so every length of it is met.
            let nanos = nanos - nanos % [1, 1_000, 1_000_000, 1_000_000_000][round];
            let time = Utc.timestamp_opt(secs, nanos).unwrap();
            prop_assert_eq!(our_json(&time), chrono_json(&time));
        }

        #[test]
        fn any_hex_value_matches_the_format_macro(value: u64) {
            let mut buf = [0u8; HEX_LEN];
            prop_assert_eq!(hex_text(value, &mut buf), format!("0x{value:x}"));
        }
    }
}
