//! The code tables, as data.
//!
//! Takes: the JSON files under `src/codes/tables/` (one per table, embedded with `include_str!`).
//! Produces: [`TableId`] and the immutable parsed [`Table`]s, loaded once on first use behind a
//! `LazyLock`. Each row holds a number (plus optional aliases such as the decimal low word of an RD
//! Gateway HRESULT), the symbolic name where one exists, a description in our own words and its
//! source. Malformed table data is a build defect: loading panics with the table's name, and the
//! tests load every table.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// One code table. The order of [`TableId::ALL`] is the stable order of [`super::lookup`] results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableId {
    /// RDP client primary disconnect reasons (`discReason`, the dialog's "Error code").
    DisconnectReason,
    /// Texts the RDP client shows for an RDPClient/Operational event 1026 `Value`.
    Rdpclient1026Value,
    /// RDP client extended disconnect reasons (the dialog's "Extended error code").
    ExtendedDisconnectReason,
    /// Server-sent MS-RDPBCGR Set Error Info PDU codes (`ERRINFO_*`).
    Errinfo,
    /// LocalSessionManager/Operational event 40 `Reason` values.
    Lsm40Reason,
    /// SSPI, Schannel and CryptoAPI status codes (`SEC_E_*`, `SEC_I_*`, `NTE_*`).
    Sspi,
    /// NTSTATUS logon codes (Security 4625 `Status`/`SubStatus`, 4776 `Status`).
    Ntstatus,
    /// Kerberos result codes (Security 4768/4769 result code, 4771 failure code).
    Kerberos,
    /// TLS alert numbers (Schannel 36887/36888 `AlertDesc`).
    TlsAlert,
    /// Winsock errors (also matched when wrapped as `0x8007xxxx` HRESULTs).
    Winsock,
    /// Win32 errors seen in RDP and RD Gateway logs (also matched when wrapped as HRESULTs).
    Win32,
    /// RD Gateway `E_PROXY_*` codes (full HRESULT and the decimal low word).
    RdgEProxy,
}

impl TableId {
    /// Every table, in the stable lookup order.
    pub const ALL: [TableId; 12] = [
        TableId::DisconnectReason,
        TableId::Rdpclient1026Value,
        TableId::ExtendedDisconnectReason,
        TableId::Errinfo,
        TableId::Lsm40Reason,
        TableId::Sspi,
        TableId::Ntstatus,
        TableId::Kerberos,
        TableId::TlsAlert,
        TableId::Winsock,
        TableId::Win32,
        TableId::RdgEProxy,
    ];

    /// The stable snake_case name used in JSON output and in the table files.
    pub fn as_str(self) -> &'static str {
        match self {
            TableId::DisconnectReason => "disconnect_reason",
            TableId::Rdpclient1026Value => "rdpclient_1026_value",
            TableId::ExtendedDisconnectReason => "extended_disconnect_reason",
            TableId::Errinfo => "errinfo",
            TableId::Lsm40Reason => "lsm40_reason",
            TableId::Sspi => "sspi",
            TableId::Ntstatus => "ntstatus",
            TableId::Kerberos => "kerberos",
            TableId::TlsAlert => "tls_alert",
            TableId::Winsock => "winsock",
            TableId::Win32 => "win32",
            TableId::RdgEProxy => "rdg_e_proxy",
        }
    }

    /// The table with this [`TableId::as_str`] name.
    pub fn from_name(name: &str) -> Option<TableId> {
        TableId::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// A one-line title for the table (from its data file).
    pub fn title(self) -> &'static str {
        &table(self).title
    }

    /// A caveat about the table as a whole, when its data file has one.
    pub fn note(self) -> Option<&'static str> {
        table(self).note.as_deref()
    }

    fn json(self) -> &'static str {
        match self {
            TableId::DisconnectReason => include_str!("tables/disconnect_reason.json"),
            TableId::Rdpclient1026Value => include_str!("tables/rdpclient_1026_value.json"),
            TableId::ExtendedDisconnectReason => {
                include_str!("tables/extended_disconnect_reason.json")
            }
            TableId::Errinfo => include_str!("tables/errinfo.json"),
            TableId::Lsm40Reason => include_str!("tables/lsm40_reason.json"),
            TableId::Sspi => include_str!("tables/sspi.json"),
            TableId::Ntstatus => include_str!("tables/ntstatus.json"),
            TableId::Kerberos => include_str!("tables/kerberos.json"),
            TableId::TlsAlert => include_str!("tables/tls_alert.json"),
            TableId::Winsock => include_str!("tables/winsock.json"),
            TableId::Win32 => include_str!("tables/win32.json"),
            TableId::RdgEProxy => include_str!("tables/rdg_e_proxy.json"),
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TableId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How a table's numbers are written in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Display {
    /// `0x904`
    Hex,
    /// `0x80090326`, zero-padded to 8 digits
    Hex8,
    /// `40`
    Dec,
    /// `10060 (0x274C)`
    DecHex,
}

impl Display {
    /// Format `value` in this notation.
    pub(crate) fn format(self, value: u64) -> String {
        match self {
            Display::Hex => format!("0x{value:X}"),
            Display::Hex8 => format!("0x{value:08X}"),
            Display::Dec => value.to_string(),
            // HRESULT-sized values read better in hex alone.
            Display::DecHex if value >= 0x8000_0000 => format!("0x{value:08X}"),
            Display::DecHex => format!("{value} (0x{value:X})"),
        }
    }
}

/// A number in a data file: a JSON number, or a string in any notation [`super::parse_code`]
/// reads (`"0x80090326"`). Bad strings fail the parse with the file position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Code(pub u64);

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Code(n)),
            Raw::Text(t) => super::parse_code(&t)
                .map(Code)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    value: Code,
    name: Option<String>,
    description: String,
    #[serde(default)]
    aliases: Vec<Code>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    from: Code,
    to: Code,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    id: String,
    title: String,
    display: Display,
    source: String,
    note: Option<String>,
    #[serde(default)]
    match_hresult_from_win32: bool,
    #[serde(default)]
    ranges: Vec<RawRange>,
    rows: Vec<RawRow>,
}

/// One row of a table.
#[derive(Debug)]
pub(crate) struct Row {
    /// The number, as defined.
    pub value: u64,
    /// Other numbers that mean this row (for example the decimal low word of an HRESULT).
    pub aliases: Vec<u64>,
    /// The symbolic name, where one exists.
    pub name: Option<String>,
    /// What it means, in our own words.
    pub description: String,
    /// Where the number (and the meaning we rephrased) comes from, when the row names it.
    pub source: Option<String>,
}

/// A range of numbers with a shared meaning, used when no row has the exact number.
#[derive(Debug)]
pub(crate) struct Range {
    /// First number of the range.
    pub from: u64,
    /// Last number of the range (inclusive).
    pub to: u64,
    /// What a number in the range means.
    pub description: String,
}

/// One loaded table.
#[derive(Debug)]
pub(crate) struct Table {
    /// Which table.
    pub id: TableId,
    /// One-line title.
    pub title: String,
    /// Notation for reports.
    pub display: Display,
    /// The table's source (used for rows that name none).
    pub source: String,
    /// A caveat about the table as a whole.
    pub note: Option<String>,
    /// Whether `0x8007xxxx` (HRESULT_FROM_WIN32) values are also looked up by their low word.
    pub match_hresult_from_win32: bool,
    /// Fallback ranges.
    pub ranges: Vec<Range>,
    /// The rows, in file order.
    pub rows: Vec<Row>,
    /// Number (value or alias) to row index; the first row wins on a duplicate.
    index: HashMap<u64, usize>,
}

impl Table {
    /// The row whose value or alias is `value`.
    pub(crate) fn row(&self, value: u64) -> Option<&Row> {
        self.index.get(&value).map(|&i| &self.rows[i])
    }

    /// The first range that contains `value`.
    pub(crate) fn range(&self, value: u64) -> Option<&Range> {
        self.ranges
            .iter()
            .find(|r| (r.from..=r.to).contains(&value))
    }
}

fn load(id: TableId) -> Table {
    let name = id.as_str();
    let raw: RawTable = serde_json::from_str(id.json())
        .unwrap_or_else(|e| panic!("codes table {name}: invalid JSON: {e}"));
    assert_eq!(
        raw.id, name,
        "codes table {name}: file declares id {:?}",
        raw.id
    );
    let rows: Vec<Row> = raw
        .rows
        .into_iter()
        .map(|r| Row {
            value: r.value.0,
            aliases: r.aliases.iter().map(|a| a.0).collect(),
            name: r.name,
            description: r.description,
            source: r.source,
        })
        .collect();
    let mut index = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        for v in std::iter::once(row.value).chain(row.aliases.iter().copied()) {
            index.entry(v).or_insert(i);
        }
    }
    let ranges = raw
        .ranges
        .into_iter()
        .map(|r| Range {
            from: r.from.0,
            to: r.to.0,
            description: r.description,
        })
        .collect();
    Table {
        id,
        title: raw.title,
        display: raw.display,
        source: raw.source,
        note: raw.note,
        match_hresult_from_win32: raw.match_hresult_from_win32,
        ranges,
        rows,
        index,
    }
}

static TABLES: LazyLock<Vec<Table>> = LazyLock::new(|| TableId::ALL.map(load).into());

/// The loaded table `id`.
pub(crate) fn table(id: TableId) -> &'static Table {
    // `ALL` lists the variants in declaration order, so the discriminant is the index.
    &TABLES[id as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn all_is_in_declaration_order_and_names_round_trip() {
        for (i, id) in TableId::ALL.into_iter().enumerate() {
            assert_eq!(id as usize, i);
            assert_eq!(TableId::from_name(id.as_str()), Some(id));
            assert_eq!(table(id).id, id);
        }
        assert_eq!(TableId::from_name("nope"), None);
    }

    #[test]
    fn every_table_loads_with_rows_and_no_duplicate_values() {
        for id in TableId::ALL {
            let t = table(id);
            assert!(!t.rows.is_empty(), "{id} has no rows");
            assert!(
                !t.title.is_empty() && !t.source.is_empty(),
                "{id} lacks title/source"
            );
            let mut seen = HashSet::new();
            for row in &t.rows {
                let mut own: Vec<u64> = std::iter::once(row.value)
                    .chain(row.aliases.iter().copied())
                    .collect();
                own.dedup();
                for v in own {
                    assert!(seen.insert(v), "{id}: value {v:#x} appears twice");
                }
                assert!(!row.description.trim().is_empty(), "{id} {:#x}", row.value);
            }
            for r in &t.ranges {
                assert!(r.from <= r.to, "{id}: empty range");
            }
        }
    }

    #[test]
    fn rdg_aliases_are_the_low_words() {
        for row in &table(TableId::RdgEProxy).rows {
            for a in &row.aliases {
                assert_eq!(*a, row.value & 0xFFFF, "{:?}", row.name);
            }
        }
    }

    #[test]
    fn display_notations() {
        assert_eq!(Display::Hex.format(0x904), "0x904");
        assert_eq!(Display::Hex8.format(7), "0x00000007");
        assert_eq!(Display::Dec.format(40), "40");
        assert_eq!(Display::DecHex.format(10060), "10060 (0x274C)");
        assert_eq!(Display::DecHex.format(0x8007_2726), "0x80072726");
    }
}
