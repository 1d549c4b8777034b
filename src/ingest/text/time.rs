//! Times of text exports: local times, locale date orders, and the `--timezone` option.
//!
//! Takes: [`Stamp`]s parsed from a file's lines (see `grammar::stamp`) and the user's
//! [`TimeZoneSpec`], if any.
//! Produces: UTC times, plus the file's time basis and notes for its report. A stamp with an
//! offset (`Z`, `+02:00`) is exact. A stamp without one is local time: converted with
//! `--timezone` when given (an IANA zone is DST-correct; a repeated hour takes its first
//! occurrence, a skipped hour is moved forward by one hour), else taken as UTC and the report says
//! so. Dates whose day and month order is not written in the date (`5/6/2024`) are decided per
//! file: a first number above 12 means day/month, a second number above 12 means month/day, and
//! without either the file is read month/day (the Windows en-US default). Dotted dates
//! (`24.06.2020`) are always day/month, as in every locale that writes them.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// The date part of a [`Stamp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatePart {
    /// Year first: unambiguous.
    Ymd(i32, u32, u32),
    /// Year last: `first/second/year`, order to be decided.
    Pair {
        /// The first number.
        first: u32,
        /// The second number.
        second: u32,
        /// The year (two-digit years are 20xx).
        year: i32,
        /// Written with dots (`24.06.2020`): day first.
        dotted: bool,
    },
}

/// A date and time as written in a text export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The date.
    pub date: DatePart,
    /// Hour, 0–23 (AM/PM already applied).
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
    /// Nanoseconds.
    pub nanos: u32,
    /// Seconds east of UTC, when the text gave an offset.
    pub offset: Option<i32>,
}

impl Stamp {
    /// True when the date's day/month order is not written in the date itself.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self.date, DatePart::Pair { first, second, dotted: false, .. }
            if first <= 12 && second <= 12 && first != second)
    }
}

/// The user's `--timezone`: an IANA zone name or a fixed offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeZoneSpec {
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
    /// An IANA time zone (daylight saving time applied per date).
    Named(chrono_tz::Tz),
}

impl std::str::FromStr for TimeZoneSpec {
    type Err = String;

    /// `Europe/Berlin`, `UTC`, `+02:00`, `-0530`, `+2`, `UTC+01:00`.
    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let upper = t.to_ascii_uppercase();
        let numeric = upper
            .strip_prefix("UTC")
            .or_else(|| upper.strip_prefix("GMT"))
            .unwrap_or(&upper);
        if numeric.is_empty() || numeric == "Z" {
            return Ok(TimeZoneSpec::Fixed(
                FixedOffset::east_opt(0).expect("zero offset"),
            ));
        }
        if let Some(offset) = parse_offset(numeric) {
            return Ok(TimeZoneSpec::Fixed(offset));
        }
        t.parse::<chrono_tz::Tz>().map(TimeZoneSpec::Named).map_err(|_| {
            format!(
                "{text:?} is not a time zone: use an IANA name such as Europe/Berlin or an offset such as +02:00"
            )
        })
    }
}

impl std::fmt::Display for TimeZoneSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeZoneSpec::Fixed(o) => write!(f, "{o}"),
            TimeZoneSpec::Named(tz) => write!(f, "{}", tz.name()),
        }
    }
}

/// `+02:00`, `-0530`, `+2`, `+02`.
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        n => (
            digits[..n - 2].parse::<i32>().ok()?,
            digits[n - 2..].parse::<i32>().ok()?,
        ),
    };
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// How the file's ambiguous dates are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// Nothing seen yet that decides.
    Undecided,
    /// Month first, because of the date at this line (a second number above 12).
    MonthFirst(u64),
    /// Day first, because of the date at this line (a first number above 12).
    DayFirst(u64),
    /// Month first by default (no date decided).
    DefaultMonthFirst,
}

/// The per-file time state: zone, day/month order, and what was done (for the report).
#[derive(Debug)]
pub struct Clock {
    zone: Option<TimeZoneSpec>,
    order: Order,
    saw_pairs: bool,
    contradiction: Option<u64>,
    exact: u64,
    zoned: u64,
    assumed: u64,
}

impl Clock {
    /// A clock for one file.
    pub fn new(zone: Option<TimeZoneSpec>) -> Self {
        Clock {
            zone,
            order: Order::Undecided,
            saw_pairs: false,
            contradiction: None,
            exact: 0,
            zoned: 0,
            assumed: 0,
        }
    }

    /// Learn from a stamp (at `line`) whether the file writes day or month first.
    pub fn observe(&mut self, stamp: &Stamp, line: u64) {
        let DatePart::Pair {
            first,
            second,
            dotted: false,
            ..
        } = stamp.date
        else {
            return;
        };
        self.saw_pairs = true;
        let seen = if first > 12 {
            Order::DayFirst(line)
        } else if second > 12 {
            Order::MonthFirst(line)
        } else {
            return;
        };
        match (self.order, seen) {
            (Order::Undecided, _) => self.order = seen,
            (Order::DayFirst(_), Order::MonthFirst(at))
            | (Order::MonthFirst(_), Order::DayFirst(at)) => {
                self.contradiction.get_or_insert(at);
            }
            _ => {}
        }
    }

    /// True while `stamp` cannot be converted because the file's order is not decided yet.
    pub fn must_wait(&self, stamp: &Stamp) -> bool {
        self.order == Order::Undecided && stamp.is_ambiguous()
    }

    /// No more lines: undecided files are read month first.
    pub fn decide_default(&mut self) {
        if self.order == Order::Undecided {
            self.order = Order::DefaultMonthFirst;
        }
    }

    /// Convert a stamp to UTC (call [`Clock::observe`] first).
    pub fn convert(&mut self, stamp: &Stamp) -> Result<DateTime<Utc>, String> {
        let date = self.date(stamp)?;
        let naive = date
            .and_hms_nano_opt(stamp.hour, stamp.minute, stamp.second, stamp.nanos)
            .ok_or("time out of range")?;
        if let Some(offset) = stamp.offset {
            self.exact += 1;
            let offset = FixedOffset::east_opt(offset).ok_or("offset out of range")?;
            return local_to_utc(&offset, naive);
        }
        match self.zone {
            Some(TimeZoneSpec::Fixed(offset)) => {
                self.zoned += 1;
                local_to_utc(&offset, naive)
            }
            Some(TimeZoneSpec::Named(tz)) => {
                self.zoned += 1;
                local_to_utc(&tz, naive)
            }
            None => {
                self.assumed += 1;
                Ok(naive.and_utc())
            }
        }
    }

    /// Count a time that was UTC by construction (FILETIME, an XML `SystemTime`).
    pub fn count_exact(&mut self) {
        self.exact += 1;
    }

    fn date(&self, stamp: &Stamp) -> Result<NaiveDate, String> {
        let (y, m, d) = match stamp.date {
            DatePart::Ymd(y, m, d) => (y, m, d),
            DatePart::Pair {
                first,
                second,
                year,
                dotted,
            } => {
                let day_first = dotted || matches!(self.order, Order::DayFirst(_));
                if day_first {
                    (year, second, first)
                } else {
                    (year, first, second)
                }
            }
        };
        NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| {
            let order = if matches!(self.order, Order::DayFirst(_)) {
                "day/month"
            } else {
                "month/day"
            };
            format!("no such date (the file is read {order})")
        })
    }

    /// `utc`, `timezone <zone>` or `assumed-utc`, when any time was read.
    pub fn basis(&self) -> Option<String> {
        if self.assumed > 0 {
            Some("assumed-utc".into())
        } else if self.zoned > 0 {
            self.zone.map(|z| format!("timezone {z}"))
        } else if self.exact > 0 {
            Some("utc".into())
        } else {
            None
        }
    }

    /// Human notes on what was assumed or decided.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.assumed > 0 {
            out.push(format!(
                "{} times carry no UTC offset and no --timezone was given: they were taken as UTC",
                self.assumed
            ));
        }
        if self.zoned > 0
            && let Some(zone) = self.zone
        {
            out.push(format!(
                "{} local times converted to UTC with --timezone {zone}",
                self.zoned
            ));
        }
        if self.saw_pairs {
            out.push(match self.order {
                Order::DayFirst(line) => {
                    format!("dates read as day/month (line {line} has a first number above 12)")
                }
                Order::MonthFirst(line) => {
                    format!("dates read as month/day (line {line} has a second number above 12)")
                }
                Order::DefaultMonthFirst | Order::Undecided => {
                    "dates read as month/day (the default: no date in the file decides the order)"
                        .into()
                }
            });
        }
        if let Some(line) = self.contradiction {
            out.push(format!(
                "the dates disagree on day/month order (line {line}); dates impossible in the chosen order failed"
            ));
        }
        out
    }
}

fn local_to_utc<Z: TimeZone>(zone: &Z, naive: NaiveDateTime) -> Result<DateTime<Utc>, String> {
    let pick = |r: LocalResult<DateTime<Z>>| match r {
        LocalResult::Single(t) => Some(t),
        LocalResult::Ambiguous(first, _) => Some(first),
        LocalResult::None => None,
    };
    pick(zone.from_local_datetime(&naive))
        .or_else(|| pick(zone.from_local_datetime(&(naive + chrono::Duration::hours(1)))))
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| "local time does not exist in the time zone".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(first: u32, second: u32) -> Stamp {
        Stamp {
            date: DatePart::Pair {
                first,
                second,
                year: 2024,
                dotted: false,
            },
            hour: 10,
            minute: 0,
            second: 0,
            nanos: 0,
            offset: None,
        }
    }

    #[test]
    fn zone_specs() {
        let berlin: TimeZoneSpec = "Europe/Berlin".parse().unwrap();
        assert_eq!(berlin.to_string(), "Europe/Berlin");
        assert_eq!(
            "+02:00".parse::<TimeZoneSpec>().unwrap().to_string(),
            "+02:00"
        );
        assert_eq!(
            "-0530".parse::<TimeZoneSpec>().unwrap().to_string(),
            "-05:30"
        );
        assert_eq!(
            "UTC+1".parse::<TimeZoneSpec>().unwrap().to_string(),
            "+01:00"
        );
        assert_eq!("utc".parse::<TimeZoneSpec>().unwrap().to_string(), "+00:00");
        assert!("Mars/Olympus".parse::<TimeZoneSpec>().is_err());
        assert!("+25:00".parse::<TimeZoneSpec>().is_err());
    }

    #[test]
    fn named_zone_applies_daylight_saving() {
        let mut clock = Clock::new(Some("Europe/Berlin".parse().unwrap()));
        let summer = Stamp {
            date: DatePart::Ymd(2024, 5, 14),
            ..pair(1, 1)
        };
        let winter = Stamp {
            date: DatePart::Ymd(2024, 1, 14),
            ..pair(1, 1)
        };
        assert_eq!(
            clock.convert(&summer).unwrap().to_rfc3339(),
            "2024-05-14T08:00:00+00:00"
        );
        assert_eq!(
            clock.convert(&winter).unwrap().to_rfc3339(),
            "2024-01-14T09:00:00+00:00"
        );
        assert_eq!(clock.basis().as_deref(), Some("timezone Europe/Berlin"));
        // 02:30 on the spring-forward day does not exist: moved an hour on.
        let gap = Stamp {
            date: DatePart::Ymd(2024, 3, 31),
            hour: 2,
            minute: 30,
            ..pair(1, 1)
        };
        assert_eq!(
            clock.convert(&gap).unwrap().to_rfc3339(),
            "2024-03-31T01:30:00+00:00"
        );
    }

    #[test]
    fn offsets_win_over_the_zone() {
        let mut clock = Clock::new(Some("+05:00".parse().unwrap()));
        let s = Stamp {
            offset: Some(0),
            date: DatePart::Ymd(2024, 5, 14),
            ..pair(1, 1)
        };
        assert_eq!(
            clock.convert(&s).unwrap().to_rfc3339(),
            "2024-05-14T10:00:00+00:00"
        );
        assert_eq!(clock.basis().as_deref(), Some("utc"));
    }

    #[test]
    fn day_month_order_is_decided_per_file() {
        let mut clock = Clock::new(None);
        clock.observe(&pair(5, 6), 1);
        assert!(clock.must_wait(&pair(5, 6)));
        clock.observe(&pair(24, 6), 9);
        assert!(!clock.must_wait(&pair(5, 6)));
        assert_eq!(
            clock.convert(&pair(5, 6)).unwrap().to_rfc3339(),
            "2024-06-05T10:00:00+00:00"
        );
        assert!(
            clock
                .notes()
                .iter()
                .any(|n| n.contains("day/month (line 9"))
        );
        assert_eq!(clock.basis().as_deref(), Some("assumed-utc"));
        clock.observe(&pair(6, 24), 12);
        assert!(clock.convert(&pair(6, 24)).is_err());
        assert!(clock.notes().iter().any(|n| n.contains("disagree")));
    }

    #[test]
    fn undecided_files_default_to_month_first() {
        let mut clock = Clock::new(None);
        clock.observe(&pair(5, 6), 1);
        clock.decide_default();
        assert_eq!(
            clock.convert(&pair(5, 6)).unwrap().to_rfc3339(),
            "2024-05-06T10:00:00+00:00"
        );
        assert!(clock.notes().iter().any(|n| n.contains("the default")));
    }
}
