//! The nom grammar shared by the text readers: one small parser per line shape.
//!
//! Takes: single lines (or one CSV record) of a text export, already decoded.
//! Produces: their parts — `Event[N]` headers, `Key: value` lines in the three label styles
//! (wevtutil's indented, Event Viewer's padded, PowerShell's ` : `), tracefmt lines and WPP
//! `Unknown(…)` lines, CSV fields, GUIDs, FILETIMEs and every date/time style the KB lists
//! (ISO with or without offset, `M/D/YYYY h:mm:ss AM`, `D.M.YYYY`, `YYYY/MM/DD-hh:mm:ss.f`, …).
//! Every parser is total: it returns `None` rather than panicking, whatever the input.

use super::time::{DatePart, Stamp};
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_till, take_until, take_while, take_while_m_n};
use nom::character::complete::{char, digit1, hex_digit1, one_of, space0, space1};
use nom::combinator::{all_consuming, eof, map_res, opt, rest, verify};
use nom::sequence::preceded;
use nom::{IResult, Parser};

type Res<'a, T> = IResult<&'a str, T>;

/// Run `parser` over the whole of `input`.
fn whole<'a, O>(
    parser: impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>>,
    input: &'a str,
) -> Option<O> {
    all_consuming(parser).parse(input).ok().map(|(_, o)| o)
}

/// Run `parser` over the start of `input`; the rest and the output.
fn prefix<'a, O>(
    mut parser: impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>>,
    input: &'a str,
) -> Option<(&'a str, O)> {
    parser.parse(input).ok()
}

fn number<T: std::str::FromStr>(input: &str) -> Res<'_, T> {
    map_res(digit1, str::parse::<T>).parse(input)
}

/// `Event[12]:` (or `Event[12]` without the colon, as some wevtutil versions print it).
pub fn event_header(line: &str) -> Option<u64> {
    let parser = (
        space0,
        tag("Event["),
        number::<u64>,
        char(']'),
        opt(char(':')),
        space0,
    );
    whole(parser, line).map(|(_, _, n, _, _, _)| n)
}

/// A label: letters (any script), digits, spaces and a little punctuation, starting with a letter.
fn label(input: &str) -> Res<'_, &str> {
    verify(take_till(|c| c == ':' || c == '\t'), |l: &str| {
        l.chars().next().is_some_and(char::is_alphabetic)
            && l.chars().count() <= 48
            && l.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '(' | ')' | '.'))
    })
    .parse(input)
}

/// wevtutil's `  Key: value` (indented; the value may be empty, with or without trailing space).
pub fn indented_label(line: &str) -> Option<(&str, &str)> {
    let parser = (space1, label, char(':'), opt(char(' ')), rest);
    whole(parser, line).map(|(_, l, _, _, v)| (l.trim_end(), v.trim_end()))
}

/// Event Viewer's `Label:      value` (at the start of the line, value padded to a column).
pub fn padded_label(line: &str) -> Option<(&str, &str)> {
    let value = alt((preceded(space1, rest), eof));
    let parser = (label, char(':'), value);
    whole(parser, line).map(|(l, _, v)| (l.trim_end(), v.trim_end()))
}

/// PowerShell Format-List's `Name    : value` (name without spaces, ` : ` separator).
/// Returns the name, the value (untrimmed: a long value wrapped at the console width may end in
/// a space that belongs to it) and the column the value starts at (for continuation lines).
pub fn ps_property(line: &str) -> Option<(&str, &str, usize)> {
    let name = verify(
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
        |n: &str| n.chars().next().is_some_and(|c| c.is_ascii_alphabetic()),
    );
    let value = alt((preceded(char(' '), rest), eof));
    let parser = (name, space1, char(':'), value);
    let (n, _, _, v) = whole(parser, line)?;
    let column = line.len() - v.len();
    Some((n, v, column))
}

/// One tracefmt / `netsh trace convert` line: `[CPU]PID.TID::time [Provider]message`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceLine<'a> {
    /// Process id (hex in the line).
    pub pid: u32,
    /// Thread id (hex in the line).
    pub tid: u32,
    /// The time as printed (local time of the converting machine, no offset).
    pub stamp: Stamp,
    /// The provider in brackets (anything after a `/` inside the brackets is dropped).
    pub provider: &'a str,
    /// The rendered message.
    pub message: &'a str,
}

fn hex_u32(input: &str) -> Res<'_, u32> {
    map_res(hex_digit1, |h: &str| u32::from_str_radix(h, 16)).parse(input)
}

/// Parse a trace line; `None` when the line is not one.
pub fn trace_line(line: &str) -> Option<TraceLine<'_>> {
    let head = (
        char('['),
        digit1,
        char(']'),
        space0,
        hex_u32,
        char('.'),
        hex_u32,
        tag("::"),
    );
    let (after, (_, _, _, _, pid, _, tid, _)) = prefix(head, line)?;
    let (after, time_text) = prefix(take_until(" ["), after)?;
    let stamp = stamp(time_text.trim())?;
    let bracketed = (space1, char('['), take_till(|c| c == ']'), char(']'));
    let (message, (_, _, provider, _)) = prefix(bracketed, after)?;
    let provider = provider.split('/').next().unwrap_or(provider).trim();
    Some(TraceLine {
        pid,
        tid,
        stamp,
        provider,
        message: message.trim_end(),
    })
}

/// A WPP event that tracefmt could not decode: `Unknown( 76): GUID=… (No Format Information found).`
pub fn is_wpp_unknown(text: &str) -> bool {
    let parser = (
        space0,
        tag("Unknown("),
        space0,
        digit1,
        char(')'),
        char(':'),
        space0,
        tag_no_case("GUID="),
    );
    prefix(parser, text).is_some()
}

/// One quoted CSV field: `"…"` with `""` for a quote.
fn quoted(input: &str) -> Res<'_, String> {
    let (mut input, _) = char('"').parse(input)?;
    let mut out = String::new();
    loop {
        let (after, chunk) = take_till(|c| c == '"').parse(input)?;
        out.push_str(chunk);
        let (after, _) = char('"').parse(after)?;
        match char::<_, nom::error::Error<&str>>('"').parse(after) {
            Ok((after, _)) => {
                out.push('"');
                input = after;
            }
            Err(_) => return Ok((after, out)),
        }
    }
}

fn csv_field(input: &str) -> Res<'_, String> {
    let quoted_field = (space0, quoted, space0);
    alt((
        quoted_field.map(|(_, q, _)| q),
        verify(take_till(|c| c == ','), |s: &str| {
            !s.trim_start().starts_with('"')
        })
        .map(|s: &str| s.trim().to_string()),
    ))
    .parse(input)
}

/// Split one CSV record (which may span lines inside quotes) into trimmed fields.
pub fn csv_record(record: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let (mut input, first) = csv_field(record).ok()?;
    fields.push(first);
    while !input.is_empty() {
        let (after, field) = preceded(char(','), csv_field).parse(input).ok()?;
        fields.push(field);
        input = after;
    }
    Some(fields)
}

/// True when `text` leaves a quoted CSV field open (the record continues on the next line).
pub fn csv_open_quote(text: &str) -> bool {
    text.bytes().filter(|b| *b == b'"').count() % 2 == 1
}

/// A GUID with or without braces, normalized to lower case with braces.
pub fn guid(text: &str) -> Option<String> {
    let hex = |n: usize| take_while_m_n(n, n, |c: char| c.is_ascii_hexdigit());
    let body = (
        hex(8),
        char('-'),
        hex(4),
        char('-'),
        hex(4),
        char('-'),
        hex(4),
        char('-'),
        hex(12),
    );
    let parser = (space0, opt(char('{')), body, opt(char('}')), space0);
    let (_, _, (a, _, b, _, c, _, d, _, e), _, _) = whole(parser, text)?;
    Some(format!("{{{a}-{b}-{c}-{d}-{e}}}").to_ascii_lowercase())
}

/// A FILETIME (100 ns ticks since 1601-01-01 UTC), as tracerpt prints `Clock-Time`.
pub fn filetime(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let ticks: i64 = whole(number::<i64>, text.trim())?;
    // 1601-01-01 to 1970-01-01 in 100 ns ticks.
    let unix = ticks.checked_sub(116_444_736_000_000_000)?;
    let secs = unix.div_euclid(10_000_000);
    let nanos = (unix.rem_euclid(10_000_000) * 100) as u32;
    chrono::DateTime::from_timestamp(secs, nanos)
}

// ---- dates and times -------------------------------------------------------------------------

fn digits(min: usize, max: usize) -> impl FnMut(&str) -> Res<'_, u32> {
    move |input| {
        map_res(
            take_while_m_n(min, max, |c: char| c.is_ascii_digit()),
            str::parse::<u32>,
        )
        .parse(input)
    }
}

/// `2025-11-11`, `2022/03/23`, `2023.04.19` (year first).
fn year_first(input: &str) -> Res<'_, DatePart> {
    let (input, (y, sep, m)) = (digits(4, 4), one_of("-/."), digits(1, 2)).parse(input)?;
    let (input, (_, d)) = (char(sep), digits(1, 2)).parse(input)?;
    Ok((input, DatePart::Ymd(y as i32, m, d)))
}

/// `6/24/2020`, `24/06/2020`, `24.06.2020`, `08/28/17` (year last; order decided later).
fn year_last(input: &str) -> Res<'_, DatePart> {
    let (input, (a, sep, b)) = (digits(1, 2), one_of("/."), digits(1, 2)).parse(input)?;
    let (input, (_, y)) = (
        char(sep),
        alt((digits(4, 4), digits(2, 2).map(|y| 2000 + y))),
    )
        .parse(input)?;
    Ok((
        input,
        DatePart::Pair {
            first: a,
            second: b,
            year: y as i32,
            dotted: sep == '.',
        },
    ))
}

/// Fractional seconds, up to nanoseconds (extra digits are ignored).
fn fraction(input: &str) -> Res<'_, u32> {
    let (input, (_, frac)) = (one_of(".,"), digit1).parse(input)?;
    let mut nanos: u32 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += c.to_digit(10).unwrap_or(0) * 10u32.pow(8 - i as u32);
    }
    Ok((input, nanos))
}

fn am_pm(input: &str) -> Res<'_, bool> {
    let am = alt((tag_no_case("a.m."), tag_no_case("am"))).map(|_| false);
    let pm = alt((tag_no_case("p.m."), tag_no_case("pm"))).map(|_| true);
    preceded(space0, alt((am, pm))).parse(input)
}

/// `Z`, `+02:00`, `-0530`, `+02`, optionally after a space; seconds east of UTC.
fn offset(input: &str) -> Res<'_, i32> {
    let zulu = alt((tag("Z"), tag("UTC"), tag("GMT"))).map(|_| 0);
    let numeric = (
        one_of("+-"),
        digits(2, 2),
        opt(char(':')),
        opt(digits(2, 2)),
    )
        .map(|(sign, h, _, m): (char, u32, Option<char>, Option<u32>)| {
            let secs = (h * 3600 + m.unwrap_or(0) * 60) as i32;
            if sign == '-' { -secs } else { secs }
        });
    preceded(space0, alt((zulu, numeric))).parse(input)
}

fn clock(input: &str) -> Res<'_, (u32, u32, u32, u32)> {
    let (input, (h, _, m)) = (digits(1, 2), char(':'), digits(2, 2)).parse(input)?;
    let (input, s) = opt(preceded(char(':'), digits(2, 2))).parse(input)?;
    let (input, nanos) = opt(fraction).parse(input)?;
    Ok((input, (h, m, s.unwrap_or(0), nanos.unwrap_or(0))))
}

/// Any date-time style of the text exports; `None` when `text` is not one of them.
pub fn stamp(text: &str) -> Option<Stamp> {
    let date = alt((year_first, year_last));
    let separator = alt((tag("T"), tag("-"), tag(", "), space1));
    let parser = (
        space0,
        date,
        separator,
        space0,
        clock,
        opt(am_pm),
        opt(offset),
        space0,
    );
    let (_, date, _, _, (mut hour, minute, second, nanos), pm, offset, _) = whole(parser, text)?;
    if let Some(pm) = pm {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = match (pm, hour) {
            (false, 12) => 0,
            (true, 12) => 12,
            (true, h) => h + 12,
            (false, h) => h,
        };
    }
    (hour < 24 && minute < 60 && second < 61).then_some(Stamp {
        date,
        hour,
        minute,
        second: second.min(59),
        nanos,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_labels() {
        assert_eq!(event_header("Event[0]:"), Some(0));
        assert_eq!(event_header("Event[12]"), Some(12));
        assert_eq!(event_header("Event[x]:"), None);
        assert_eq!(
            indented_label("  Log Name: Security"),
            Some(("Log Name", "Security"))
        );
        assert_eq!(indented_label("  Description: "), Some(("Description", "")));
        assert_eq!(
            indented_label("  Date: 2025-11-11T11:44:42.9510000Z"),
            Some(("Date", "2025-11-11T11:44:42.9510000Z"))
        );
        assert_eq!(
            indented_label("Log Name: x"),
            None,
            "wevtutil labels are indented"
        );
        assert_eq!(
            padded_label("Event ID:      1026"),
            Some(("Event ID", "1026"))
        );
        assert_eq!(padded_label("Keywords:      "), Some(("Keywords", "")));
        assert_eq!(
            padded_label("Task Category: Connection Sequence")
                .unwrap()
                .1,
            "Connection Sequence"
        );
        assert_eq!(padded_label("http://x"), None);
    }

    #[test]
    fn powershell_properties() {
        assert_eq!(
            ps_property("TimeCreated  : 4/19/2023 10:11:07 AM"),
            Some(("TimeCreated", "4/19/2023 10:11:07 AM", 15))
        );
        assert_eq!(ps_property("Qualifiers   :"), Some(("Qualifiers", "", 14)));
        assert_eq!(ps_property("Keywords     : "), Some(("Keywords", "", 15)));
        assert_eq!(ps_property("               continuation : no"), None);
        assert_eq!(ps_property("Status:\t0xC000006D"), None);
    }

    #[test]
    fn trace_lines() {
        let line = "[2]1A2C.0F10::05/10/2023-14:22:31.1234567 [Microsoft-Windows-TerminalServices-ClientActiveXCore]RDP ClientActiveX has been disconnected (Reason= 2308)";
        let t = trace_line(line).unwrap();
        assert_eq!((t.pid, t.tid), (0x1A2C, 0x0F10));
        assert_eq!(
            t.provider,
            "Microsoft-Windows-TerminalServices-ClientActiveXCore"
        );
        assert_eq!(
            t.message,
            "RDP ClientActiveX has been disconnected (Reason= 2308)"
        );
        assert_eq!(t.stamp.nanos, 123_456_700);
        let spaced = "[1] 0C34.275C::2025-03-27 16:10:34.934020500 [Microsoft-Windows-RemoteDesktopServices-RdpCoreTS]The server has terminated main RDP connection with the client.";
        assert_eq!(trace_line(spaced).unwrap().stamp.hour, 16);
        let slashed = "[0]0000.0000::2022/03/23-20:27:14.275850900 [MSNT_SystemTrace]EventsLost: 0 BuffersLost: 0";
        assert_eq!(trace_line(slashed).unwrap().provider, "MSNT_SystemTrace");
        assert!(trace_line("[0]0000.0000::08/28/17-13:24:28.960 [x]y").is_some());
        assert!(trace_line("Unknown( 76): GUID=ac5ec775-ccdb-3c2c-6150-28b4eacacbc4 (No Format Information found).").is_none());
        assert!(is_wpp_unknown(
            "Unknown( 76): GUID=ac5ec775-ccdb-3c2c-6150-28b4eacacbc4 (No Format Information found)."
        ));
        assert!(!is_wpp_unknown("Unknown error"));
    }

    #[test]
    fn csv_records() {
        assert_eq!(
            csv_record(r#"a, "b, c" ,"say ""hi""",, 12 "#).unwrap(),
            vec!["a", "b, c", r#"say "hi""#, "", "12"]
        );
        assert_eq!(csv_record("").unwrap(), vec![""]);
        assert!(csv_record(r#""open"#).is_none());
        assert!(csv_open_quote(r#"1,"a"#));
        assert!(!csv_open_quote(r#"1,"a""b""#));
    }

    #[test]
    fn guids_and_filetimes() {
        assert_eq!(
            guid("{76ABEF77-4BF3-4110-AC89-7CFE101B0000}").as_deref(),
            Some("{76abef77-4bf3-4110-ac89-7cfe101b0000}")
        );
        assert_eq!(
            guid("76abef77-4bf3-4110-ac89-7cfe101b0000").as_deref(),
            Some("{76abef77-4bf3-4110-ac89-7cfe101b0000}")
        );
        assert_eq!(guid("not-a-guid"), None);
        let t = filetime("133282021511234567").unwrap();
        assert_eq!(t.to_rfc3339(), "2023-05-10T14:22:31.123456700+00:00");
        assert!(filetime("x").is_none());
    }

    #[test]
    fn date_styles() {
        let s = stamp("6/24/2020 7:26:58 PM").unwrap();
        assert_eq!(
            s.date,
            DatePart::Pair {
                first: 6,
                second: 24,
                year: 2020,
                dotted: false
            }
        );
        assert_eq!((s.hour, s.minute, s.second), (19, 26, 58));
        assert_eq!(stamp("4/19/2023 12:11:07 AM").unwrap().hour, 0);
        assert_eq!(stamp("4/19/2023 12:11:07 p.m.").unwrap().hour, 12);
        let iso = stamp("2025-11-11T11:44:42.9510000Z").unwrap();
        assert_eq!(iso.date, DatePart::Ymd(2025, 11, 11));
        assert_eq!((iso.nanos, iso.offset), (951_000_000, Some(0)));
        assert_eq!(stamp("2019-05-26T10:21:11.251").unwrap().offset, None);
        assert_eq!(
            stamp("2024-05-14 09:12:03 +02:00").unwrap().offset,
            Some(7200)
        );
        assert_eq!(
            stamp("2024-05-14T09:12:03-0530").unwrap().offset,
            Some(-19800)
        );
        assert!(matches!(
            stamp("24.06.2020 19:26:58").unwrap().date,
            DatePart::Pair { dotted: true, .. }
        ));
        assert!(stamp("2023/4/19 10:11:07").is_some());
        assert!(stamp("13:00 PM 1/1/2020").is_none());
        assert!(stamp("1/1/2020 13:00:00 PM").is_none());
        assert!(stamp("1/1/2020 25:00:00").is_none());
        assert!(stamp("yesterday").is_none());
    }
}
