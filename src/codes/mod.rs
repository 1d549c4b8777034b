//! Error-code tables and decoding: the library side of `rdptriage decode CODE [EXTENDED]`.
//!
//! Takes: a number as people paste it (`0x904`, `2308`, `-2146893018`) and optionally the
//! dialog's extended error code.
//! Produces: every table reading of the number ([`lookup`], [`CodeMatch`]), one-line descriptions
//! for reports ([`describe`]), and a diagnosis of an RDP client code pair ([`decode`], [`Decoded`]:
//! the failing layer, the cause ids the pair rules in and out, and which logs to collect next),
//! with its human rendering ([`render_text`]).
//!
//! All tables are data: JSON files under `src/codes/tables/`, embedded at build time and parsed
//! once. Descriptions are in our own words; numbers and symbolic names are copied from the
//! sources each table names.

mod decode;
mod guidance;
mod render;
mod table;

use serde::Serialize;

pub use decode::{Decoded, LogHint, Role, decode};
pub use render::render_text;
pub use table::TableId;

use table::{Row, Table, table};

/// One reading of a number in one table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeMatch {
    /// The table the reading comes from.
    pub table: TableId,
    /// The number that was looked up (as given, not the row's canonical value).
    pub value: u64,
    /// The symbolic name (`disconnectReasonAtClientWinsockFDCLOSE`, `SEC_E_ILLEGAL_MESSAGE`), if any.
    pub name: Option<String>,
    /// What the number means in this table, in our own words.
    pub description: String,
    /// Where the number comes from (the row's source, else the table's).
    pub source: Option<String>,
}

/// Every table `value` may belong to, in the stable order of [`TableId::ALL`].
///
/// A number often has several readings (2308 is a primary disconnect reason and a 1026 value;
/// 260 is also a licensing extended reason), so all are returned and the caller decides which
/// context applies. Winsock and Win32 errors also match when wrapped as `0x8007xxxx` HRESULTs,
/// RD Gateway codes match by full HRESULT and by decimal low word. A few tables have ranges
/// (extended protocol errors 4097–32766, RD Gateway client codes `0x3000001`–`0x30000FF`); their
/// readings are listed only when no table has an exact reading of the number ([`lookup_in`]
/// always applies its table's ranges).
pub fn lookup(value: u64) -> Vec<CodeMatch> {
    let hits: Vec<(TableId, Hit<'_>)> = TableId::ALL
        .into_iter()
        .filter_map(|id| hit(table(id), value).map(|h| (id, h)))
        .collect();
    // A range reading is only a guess; show ranges only when no table knows the exact number.
    let exact = hits.iter().any(|(_, h)| h.kind != HitKind::Range);
    hits.into_iter()
        .filter(|(_, h)| !exact || h.kind != HitKind::Range)
        .map(|(_, h)| h.to_match(value))
        .collect()
}

/// The reading of `value` in one table, if it has one (exact row, wrapped HRESULT, or range).
pub fn lookup_in(table_id: TableId, value: u64) -> Option<CodeMatch> {
    hit(table(table_id), value).map(|h| h.to_match(value))
}

/// Parse a code in any notation people paste: decimal (`2308`), hex with `0x`/`0X` (`0x904`),
/// or a negative 32-bit value read as its bit pattern (`-2146893018` is `0x80090326`).
/// Surrounding whitespace is ignored.
pub fn parse_code(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty code: give a number such as 0x904 or 2308".to_string());
    }
    crate::event::parse_number(t).ok_or_else(|| {
        format!(
            "{t:?} is not a code: use decimal (2308), hex with 0x (0x904), \
             or a negative 32-bit value (-2146893018)"
        )
    })
}

/// A short line for reports: the number in the table's notation, the symbolic name, and the
/// meaning, e.g. `0x904 disconnectReasonAtClientWinsockFDCLOSE — The TCP socket was closed…`.
/// `None` when the table has no reading for `value`.
pub fn describe(table_id: TableId, value: u64) -> Option<String> {
    let t = table(table_id);
    let h = hit(t, value)?;
    let shown = match h.kind {
        // A gateway low word is shown the way the gateway log shows it: decimal.
        HitKind::Alias => value.to_string(),
        _ => t.display.format(value),
    };
    let m = h.to_match(value);
    Some(match m.name {
        Some(name) => format!("{shown} {name} — {}", m.description),
        None => format!("{shown} — {}", m.description),
    })
}

/// How a number matched a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HitKind {
    /// The row's own value.
    Exact,
    /// One of the row's aliases (an RD Gateway low word).
    Alias,
    /// The low word of a `0x8007xxxx` HRESULT.
    HresultWin32,
    /// A table range, no row.
    Range,
}

/// A table reading before it is turned into a [`CodeMatch`].
struct Hit<'t> {
    table: &'t Table,
    kind: HitKind,
    row: Option<&'t Row>,
    range_text: Option<&'t str>,
}

fn hit(t: &Table, value: u64) -> Option<Hit<'_>> {
    let make = |kind, row| Hit {
        table: t,
        kind,
        row,
        range_text: None,
    };
    if let Some(row) = t.row(value) {
        let kind = if row.value == value {
            HitKind::Exact
        } else {
            HitKind::Alias
        };
        return Some(make(kind, Some(row)));
    }
    if t.match_hresult_from_win32
        && value >> 16 == 0x8007
        && let Some(row) = t.row(value & 0xFFFF)
    {
        return Some(make(HitKind::HresultWin32, Some(row)));
    }
    t.range(value).map(|r| Hit {
        range_text: Some(&r.description),
        ..make(HitKind::Range, None)
    })
}

impl Hit<'_> {
    fn to_match(&self, value: u64) -> CodeMatch {
        let t = self.table;
        let (name, description, source) = match self.row {
            Some(row) => (
                row.name.clone(),
                self.prefix(row) + &row.description,
                row.source.clone().unwrap_or_else(|| t.source.clone()),
            ),
            None => (
                None,
                self.range_text.unwrap_or_default().to_string(),
                t.source.clone(),
            ),
        };
        CodeMatch {
            table: t.id,
            value,
            name,
            description,
            source: Some(source),
        }
    }

    fn prefix(&self, row: &Row) -> String {
        match self.kind {
            HitKind::Alias => format!(
                "Decimal low word of {}, as gateway logs show it. ",
                table::Display::Hex8.format(row.value)
            ),
            HitKind::HresultWin32 => format!(
                "Win32 code {} wrapped as an HRESULT (HRESULT_FROM_WIN32). ",
                row.value
            ),
            HitKind::Exact | HitKind::Range => String::new(),
        }
    }
}

#[cfg(test)]
mod tests;
