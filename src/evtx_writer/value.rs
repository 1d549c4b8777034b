//! Typed values to BinXML value bytes.
//!
//! Takes: a [`Value`] (or a GUID, SID or time from a [`RecordSpec`](super::RecordSpec)) and the
//! name of the field it belongs to, for error messages.
//! Produces: [`Encoded`] — the BinXML value type and the little-endian bytes of a template
//! instance value — or an [`EvtxWriteError`] naming the field when the text form is invalid.

use super::EvtxWriteError;
use super::spec::Value;
use chrono::{DateTime, Datelike, Timelike, Utc};

/// BinXML value type codes (MS-EVEN6 2.2.12, libevtx "Value types").
pub(super) mod value_type {
    pub const NULL: u8 = 0x00;
    pub const STRING: u8 = 0x01;
    pub const UINT8: u8 = 0x04;
    pub const UINT16: u8 = 0x06;
    pub const INT32: u8 = 0x07;
    pub const UINT32: u8 = 0x08;
    pub const INT64: u8 = 0x09;
    pub const UINT64: u8 = 0x0a;
    pub const BOOL: u8 = 0x0d;
    pub const BINARY: u8 = 0x0e;
    pub const GUID: u8 = 0x0f;
    pub const FILETIME: u8 = 0x11;
    pub const SYSTEMTIME: u8 = 0x12;
    pub const SID: u8 = 0x13;
    pub const HEX_INT32: u8 = 0x14;
    pub const HEX_INT64: u8 = 0x15;
    pub const BINXML: u8 = 0x21;
}

/// One template instance value: its type and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Encoded {
    /// The type in the value descriptor (0x00 for NULL).
    pub value_type: u8,
    /// The type the template's substitution token declares. Equal to `value_type` except for
    /// NULL, which Windows writes into substitutions declared with their usual type (string here).
    pub declared_type: u8,
    /// The value's bytes.
    pub bytes: Vec<u8>,
}

impl Encoded {
    fn new(value_type: u8, bytes: Vec<u8>) -> Self {
        Encoded {
            value_type,
            declared_type: value_type,
            bytes,
        }
    }

    /// A NULL value in a substitution declared as `declared_type`.
    pub fn null(declared_type: u8) -> Self {
        Encoded {
            value_type: value_type::NULL,
            declared_type,
            bytes: Vec::new(),
        }
    }

    pub fn uint8(v: u8) -> Self {
        Encoded::new(value_type::UINT8, vec![v])
    }

    pub fn uint16(v: u16) -> Self {
        Encoded::new(value_type::UINT16, v.to_le_bytes().to_vec())
    }

    pub fn uint32(v: u32) -> Self {
        Encoded::new(value_type::UINT32, v.to_le_bytes().to_vec())
    }

    pub fn uint64(v: u64) -> Self {
        Encoded::new(value_type::UINT64, v.to_le_bytes().to_vec())
    }

    pub fn hex_int64(v: u64) -> Self {
        Encoded::new(value_type::HEX_INT64, v.to_le_bytes().to_vec())
    }

    pub fn string(s: &str) -> Self {
        Encoded::new(value_type::STRING, utf16_bytes(s))
    }

    /// A GUID from its text form, or NULL when absent.
    pub fn optional_guid(text: Option<&str>, field: &str) -> Result<Self, EvtxWriteError> {
        match text {
            Some(text) => Ok(Encoded::new(
                value_type::GUID,
                parse_guid(text, field)?.to_vec(),
            )),
            None => Ok(Encoded::null(value_type::GUID)),
        }
    }

    /// A SID from its text form, or NULL when absent.
    pub fn optional_sid(text: Option<&str>, field: &str) -> Result<Self, EvtxWriteError> {
        match text {
            Some(text) => Ok(Encoded::new(value_type::SID, parse_sid(text, field)?)),
            None => Ok(Encoded::null(value_type::SID)),
        }
    }

    pub fn filetime(time: &DateTime<Utc>, field: &str) -> Result<Self, EvtxWriteError> {
        let ticks = filetime_ticks(time, field)?;
        Ok(Encoded::new(
            value_type::FILETIME,
            ticks.to_le_bytes().to_vec(),
        ))
    }
}

/// The bytes and type of `value`, the payload field `field`.
pub(super) fn encode(value: &Value, field: &str) -> Result<Encoded, EvtxWriteError> {
    use value_type as t;
    let encoded = match value {
        Value::String(s) => Encoded::string(s),
        Value::UInt8(v) => Encoded::uint8(*v),
        Value::UInt16(v) => Encoded::uint16(*v),
        Value::UInt32(v) => Encoded::uint32(*v),
        Value::UInt64(v) => Encoded::uint64(*v),
        Value::Int32(v) => Encoded::new(t::INT32, v.to_le_bytes().to_vec()),
        Value::Int64(v) => Encoded::new(t::INT64, v.to_le_bytes().to_vec()),
        Value::HexInt32(v) => Encoded::new(t::HEX_INT32, v.to_le_bytes().to_vec()),
        Value::HexInt64(v) => Encoded::hex_int64(*v),
        Value::FileTime(time) => Encoded::filetime(time, field)?,
        Value::SystemTime(time) => Encoded::new(t::SYSTEMTIME, systemtime_bytes(time, field)?),
        Value::Guid(text) => Encoded::new(t::GUID, parse_guid(text, field)?.to_vec()),
        Value::Sid(text) => Encoded::new(t::SID, parse_sid(text, field)?),
        Value::Bool(b) => Encoded::new(t::BOOL, u32::from(*b).to_le_bytes().to_vec()),
        Value::Binary(bytes) => Encoded::new(t::BINARY, bytes.clone()),
        Value::Null => Encoded::null(t::STRING),
    };
    if encoded.bytes.len() > usize::from(u16::MAX) {
        return Err(EvtxWriteError::ValueTooLarge {
            field: field.to_string(),
            bytes: encoded.bytes.len(),
        });
    }
    Ok(encoded)
}

/// `s` as UTF-16LE without a terminator.
pub(super) fn utf16_bytes(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Seconds from 1601-01-01 (the FILETIME epoch) to 1970-01-01.
const FILETIME_EPOCH_OFFSET_SECS: i64 = 11_644_473_600;

/// `time` as a FILETIME: 100 ns ticks since 1601-01-01 UTC (sub-tick nanoseconds dropped).
pub(super) fn filetime_ticks(time: &DateTime<Utc>, field: &str) -> Result<u64, EvtxWriteError> {
    let seconds = time.timestamp().checked_add(FILETIME_EPOCH_OFFSET_SECS);
    let ticks = seconds
        .and_then(|s| u64::try_from(s).ok())
        .and_then(|s| s.checked_mul(10_000_000))
        .and_then(|t| t.checked_add(u64::from(time.timestamp_subsec_nanos() / 100)));
    ticks.ok_or_else(|| EvtxWriteError::TimeOutOfRange {
        field: field.to_string(),
        time: *time,
    })
}

/// `time` as a SYSTEMTIME: year, month, day of week (0 = Sunday), day, hour, minute, second,
/// milliseconds, each a little-endian u16.
fn systemtime_bytes(time: &DateTime<Utc>, field: &str) -> Result<Vec<u8>, EvtxWriteError> {
    let year = u16::try_from(time.year())
        .ok()
        .filter(|y| (1601..=30827).contains(y));
    let Some(year) = year else {
        return Err(EvtxWriteError::TimeOutOfRange {
            field: field.to_string(),
            time: *time,
        });
    };
    // A leap second shows as nanoseconds past 1e9; keep it within the second.
    let millis = (time.nanosecond() / 1_000_000).min(999);
    let parts = [
        u32::from(year),
        time.month(),
        time.weekday().num_days_from_sunday(),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        millis,
    ];
    // Every part is at most 30827, so the narrowing keeps its value.
    Ok(parts
        .iter()
        .flat_map(|&p| (p as u16).to_le_bytes())
        .collect())
}

/// A GUID's 16 bytes (Data1, Data2, Data3 little-endian; Data4 as is) from
/// `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`, braces optional, any case.
pub(super) fn parse_guid(text: &str, field: &str) -> Result<[u8; 16], EvtxWriteError> {
    let invalid = || EvtxWriteError::InvalidGuid {
        field: field.to_string(),
        text: text.to_string(),
    };
    let inner = match text.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}').ok_or_else(invalid)?,
        None => text,
    };
    let groups: Vec<&str> = inner.split('-').collect();
    let lengths_ok = groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if !lengths_ok {
        return Err(invalid());
    }
    let hex: String = groups.concat();
    let mut raw = [0u8; 16];
    for (i, byte) in raw.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
    }
    // Data1, Data2 and Data3 are stored little-endian.
    raw[0..4].reverse();
    raw[4..6].reverse();
    raw[6..8].reverse();
    Ok(raw)
}

/// A GUID's canonical text form, `{lowercase}`, from its 16 bytes.
pub(super) fn format_guid(raw: &[u8; 16]) -> String {
    let data1 = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let data2 = u16::from_le_bytes([raw[4], raw[5]]);
    let data3 = u16::from_le_bytes([raw[6], raw[7]]);
    let tail: String = raw[8..].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{{{data1:08x}-{data2:04x}-{data3:04x}-{}-{}}}",
        &tail[..4],
        &tail[4..]
    )
}

/// A SID's binary form (revision, sub-authority count, 48-bit big-endian authority, then
/// little-endian sub-authorities) from `S-R-A-S1-…-Sn`; the authority may be `0x…` hex.
pub(super) fn parse_sid(text: &str, field: &str) -> Result<Vec<u8>, EvtxWriteError> {
    let invalid = || EvtxWriteError::InvalidSid {
        field: field.to_string(),
        text: text.to_string(),
    };
    let mut parts = text.split('-');
    if !parts.next().is_some_and(|s| s.eq_ignore_ascii_case("S")) {
        return Err(invalid());
    }
    let revision: u8 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(invalid)?;
    let authority_text = parts.next().ok_or_else(invalid)?;
    let authority = match authority_text
        .strip_prefix("0x")
        .or_else(|| authority_text.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => authority_text.parse::<u64>().ok(),
    }
    .filter(|a| *a < 1 << 48)
    .ok_or_else(invalid)?;
    let sub_authorities: Vec<u32> = parts
        .map(|p| p.parse::<u32>().map_err(|_| invalid()))
        .collect::<Result<_, _>>()?;
    if sub_authorities.len() > 15 {
        return Err(invalid());
    }
    let mut bytes = vec![revision, sub_authorities.len() as u8];
    bytes.extend_from_slice(&authority.to_be_bytes()[2..]);
    for sub in sub_authorities {
        bytes.extend_from_slice(&sub.to_le_bytes());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn guid_bytes_follow_the_windows_layout() {
        let raw = parse_guid("{5D896912-022D-40AA-A3A8-4FA5515C76D7}", "g").unwrap();
        assert_eq!(
            raw,
            [
                0x12, 0x69, 0x89, 0x5d, 0x2d, 0x02, 0xaa, 0x40, 0xa3, 0xa8, 0x4f, 0xa5, 0x51, 0x5c,
                0x76, 0xd7
            ]
        );
        assert_eq!(format_guid(&raw), "{5d896912-022d-40aa-a3a8-4fa5515c76d7}");
        assert_eq!(
            parse_guid("5d896912-022d-40aa-a3a8-4fa5515c76d7", "g").unwrap(),
            raw
        );
    }

    #[test]
    fn malformed_guids_are_rejected_with_the_field() {
        for bad in [
            "",
            "{}",
            "{5d896912-022d-40aa-a3a8-4fa5515c76d}",
            "{5d896912022d40aaa3a84fa5515c76d7}",
            "{5d896912-022d-40aa-a3a8-4fa5515c76dz}",
            "{5d896912-022d-40aa-a3a8-4fa5515c76d7",
        ] {
            let err = parse_guid(bad, "Correlation/@ActivityID").unwrap_err();
            assert!(err.to_string().contains("Correlation/@ActivityID"), "{err}");
        }
    }

    #[test]
    fn sid_bytes_match_a_real_record() {
        // S-1-5-18 as Windows wrote it in a LocalSessionManager record.
        assert_eq!(
            parse_sid("S-1-5-18", "s").unwrap(),
            [1, 1, 0, 0, 0, 0, 0, 5, 0x12, 0, 0, 0]
        );
        let long = parse_sid("S-1-5-21-397955417-626881126-188441444-2967838", "s").unwrap();
        assert_eq!(long.len(), 8 + 4 * 5);
        assert_eq!(
            parse_sid("S-1-0x10-1", "s").unwrap()[2..8],
            [0, 0, 0, 0, 0, 0x10]
        );
        for bad in [
            "",
            "S-1",
            "X-1-5",
            "S-1-5-x",
            "S-1-281474976710656",
            "S-256-5",
        ] {
            assert!(parse_sid(bad, "s").is_err(), "{bad}");
        }
    }

    #[test]
    fn filetime_counts_100ns_ticks_from_1601() {
        let time = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(filetime_ticks(&time, "t").unwrap(), 116_444_736_000_000_000);
        let before = Utc.with_ymd_and_hms(1600, 12, 31, 23, 59, 59).unwrap();
        assert!(filetime_ticks(&before, "t").is_err());
    }

    #[test]
    fn systemtime_has_eight_fields() {
        let time = Utc.with_ymd_and_hms(2024, 1, 17, 21, 20, 1).unwrap()
            + chrono::Duration::milliseconds(123);
        let bytes = systemtime_bytes(&time, "t").unwrap();
        let fields: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        // 2024-01-17 was a Wednesday.
        assert_eq!(fields, [2024, 1, 3, 17, 21, 20, 1, 123]);
    }

    #[test]
    fn oversized_values_are_rejected() {
        let big = Value::Binary(vec![0; 70_000]);
        assert!(matches!(
            encode(&big, "EventData/Blob"),
            Err(EvtxWriteError::ValueTooLarge { .. })
        ));
        assert_eq!(encode(&Value::Bool(true), "b").unwrap().bytes, [1, 0, 0, 0]);
        let null = encode(&Value::Null, "n").unwrap();
        assert_eq!((null.value_type, null.declared_type), (0x00, 0x01));
    }
}
