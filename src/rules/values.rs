//! Values written in rules: codes in any notation, durations, channel names.
//!
//! Takes: scalars from `rule.yaml`.
//! Produces: numbers, [`Duration`]s and canonical channel names, or a message saying what is
//! wrong (the caller adds file:line:col).

use super::model::Scalar;
use crate::event::catalog::known_channels;
use crate::event::parse_number;
use chrono::Duration;

/// Longest window accepted (7 days).
pub const MAX_WINDOW_SECONDS: i64 = 7 * 24 * 3600;

/// A code in any notation: `2308`, `0x904`, `"0x904"`, a negative HRESULT.
pub fn scalar_code(s: &Scalar) -> Option<u64> {
    match s {
        Scalar::UInt(u) => Some(*u),
        Scalar::Int(i) => parse_number(&i.to_string()),
        Scalar::Text(t) => parse_number(t),
        Scalar::Float(_) | Scalar::Bool(_) => None,
    }
}

/// A duration: `90s`, `5m`, `1h`, `1d`, combinations such as `1m30s`, or a number of seconds.
pub fn parse_duration(s: &Scalar) -> Result<Duration, String> {
    let bad = || {
        format!(
            "`{}` is not a duration: use e.g. 90s, 5m, 1h (at most 7 days)",
            s.to_text()
        )
    };
    let seconds = match s {
        Scalar::UInt(u) => i64::try_from(*u).map_err(|_| bad())?,
        Scalar::Text(t) => {
            let t = t.trim();
            let mut total: i64 = 0;
            let mut digits = String::new();
            for c in t.chars() {
                if c.is_ascii_digit() {
                    digits.push(c);
                    continue;
                }
                let unit = match c {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86400,
                    _ => return Err(bad()),
                };
                let n: i64 = digits.parse().map_err(|_| bad())?;
                total = total.saturating_add(n.saturating_mul(unit));
                digits.clear();
            }
            if !digits.is_empty() || t.is_empty() {
                return Err(bad());
            }
            total
        }
        _ => return Err(bad()),
    };
    if seconds > MAX_WINDOW_SECONDS {
        return Err(bad());
    }
    Ok(Duration::seconds(seconds))
}

/// A channel name in its canonical spelling: trimmed, `%4` (the file-name form) read as `/`,
/// and the catalog's capitalisation when the channel is known.
pub fn normalize_channel(c: &str) -> String {
    let c = c.trim().replace("%4", "/");
    known_channels()
        .into_iter()
        .chain(STANDARD_CHANNELS.iter().copied())
        .find(|k| k.eq_ignore_ascii_case(&c))
        .map_or(c, str::to_string)
}

/// Classic logs that every Windows machine has.
pub const STANDARD_CHANNELS: &[&str] = &["System", "Security", "Application"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |t: &str| parse_duration(&Scalar::Text(t.into()));
        assert_eq!(d("90s").unwrap(), Duration::seconds(90));
        assert_eq!(d("5m").unwrap(), Duration::seconds(300));
        assert_eq!(d("1h").unwrap(), Duration::seconds(3600));
        assert_eq!(d("1m30s").unwrap(), Duration::seconds(90));
        assert_eq!(
            parse_duration(&Scalar::UInt(30)).unwrap(),
            Duration::seconds(30)
        );
        assert!(d("5").is_err());
        assert!(d("5x").is_err());
        assert!(d("").is_err());
        assert!(d("8d").is_err());
        assert!(parse_duration(&Scalar::Int(-5)).is_err());
    }

    #[test]
    fn channels_are_normalized() {
        assert_eq!(
            normalize_channel(" microsoft-windows-terminalservices-rdpclient%4operational "),
            "Microsoft-Windows-TerminalServices-RDPClient/Operational"
        );
        assert_eq!(normalize_channel("system"), "System");
        assert_eq!(normalize_channel("Custom/Log"), "Custom/Log");
    }
}
