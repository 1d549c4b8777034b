//! Tests of the public code API: notations, one lookup per table, descriptions, and the check
//! that our descriptions are not copies of the source texts.
//!
//! Takes: the embedded tables; `shared/knowledge/codes.json` beside the repository when present.
//! Produces: test results only.

use super::*;

#[test]
fn parse_code_accepts_every_notation() {
    assert_eq!(parse_code("0x904"), Ok(2308));
    assert_eq!(parse_code("0X904"), Ok(2308));
    assert_eq!(parse_code("2308"), Ok(2308));
    assert_eq!(parse_code("  2308 "), Ok(2308));
    assert_eq!(parse_code("-2146893018"), Ok(0x8009_0326));
    assert_eq!(parse_code("0x80090326"), Ok(0x8009_0326));
    assert_eq!(parse_code("0"), Ok(0));
}

#[test]
fn parse_code_rejects_junk_with_a_hint() {
    for bad in ["", "   ", "0x", "0xZZ", "abc", "12.5", "-99999999999"] {
        let err = parse_code(bad).expect_err(bad);
        assert!(err.contains("0x904"), "{bad:?}: {err}");
    }
}

/// One known value per table, with its expected symbolic name (None: the table has no names).
const ONE_PER_TABLE: [(TableId, u64, Option<&str>); 12] = [
    (
        TableId::DisconnectReason,
        0x904,
        Some("disconnectReasonAtClientWinsockFDCLOSE"),
    ),
    (TableId::Rdpclient1026Value, 7431, None),
    (
        TableId::ExtendedDisconnectReason,
        7,
        Some("exDiscReasonServerDeniedConnection"),
    ),
    (
        TableId::Errinfo,
        7,
        Some("ERRINFO_SERVER_DENIED_CONNECTION"),
    ),
    (TableId::Lsm40Reason, 7, None),
    (TableId::Sspi, 0x8009_0326, Some("SEC_E_ILLEGAL_MESSAGE")),
    (TableId::Ntstatus, 0xC000_006D, Some("STATUS_LOGON_FAILURE")),
    (TableId::Kerberos, 0x25, Some("KRB_AP_ERR_SKEW")),
    (TableId::TlsAlert, 40, Some("SSL3_ALERT_HANDSHAKE_FAILURE")),
    (TableId::Winsock, 10060, Some("WSAETIMEDOUT")),
    (TableId::Win32, 64, Some("ERROR_NETNAME_DELETED")),
    (
        TableId::RdgEProxy,
        0x8007_59DB,
        Some("E_PROXY_NAP_ACCESSDENIED"),
    ),
];

#[test]
fn each_table_has_a_lookup() {
    for (table, value, name) in ONE_PER_TABLE {
        let m = lookup_in(table, value).unwrap_or_else(|| panic!("{table} {value:#x}"));
        assert_eq!(m.table, table);
        assert_eq!(m.value, value);
        assert_eq!(m.name.as_deref(), name, "{table} {value:#x}");
        assert!(!m.description.is_empty());
        assert!(m.source.is_some(), "{table} {value:#x} has no source");
        assert!(
            lookup(value).contains(&m),
            "{table} {value:#x} missing from lookup"
        );
    }
}

#[test]
fn lookup_lists_every_reading_in_stable_order() {
    let tables = |v| lookup(v).into_iter().map(|m| m.table).collect::<Vec<_>>();
    assert_eq!(
        tables(2308),
        [TableId::DisconnectReason, TableId::Rdpclient1026Value]
    );
    // 1028: primary reason (recv failed), 1026 text, and Connection Broker errinfo.
    assert_eq!(
        tables(1028),
        [
            TableId::DisconnectReason,
            TableId::Rdpclient1026Value,
            TableId::Errinfo
        ]
    );
    let seven = tables(7);
    for t in [
        TableId::ExtendedDisconnectReason,
        TableId::Errinfo,
        TableId::Lsm40Reason,
        TableId::Kerberos,
        TableId::Win32,
    ] {
        assert!(seven.contains(&t), "{t} missing for 7: {seven:?}");
    }
    assert!(lookup(0xDEAD_BEEF).is_empty());
    // Range readings only when nothing knows the exact number.
    assert_eq!(tables(23003), [TableId::RdgEProxy]);
    assert_eq!(
        tables(5000),
        [TableId::ExtendedDisconnectReason],
        "protocol range"
    );
}

#[test]
fn gateway_codes_match_by_hresult_and_low_word() {
    let low = lookup_in(TableId::RdgEProxy, 23003).expect("low word");
    assert_eq!(low.name.as_deref(), Some("E_PROXY_NAP_ACCESSDENIED"));
    assert!(
        low.description.contains("0x800759DB"),
        "{}",
        low.description
    );
    let full = lookup_in(TableId::RdgEProxy, 0x8007_59DB).expect("full");
    assert_eq!(full.name, low.name);
    // A value that is its own low word matches once, without the low-word note.
    let max = lookup_in(TableId::RdgEProxy, 23014).expect("23014");
    assert_eq!(max.name.as_deref(), Some("E_PROXY_MAXCONNECTIONSREACHED"));
    assert!(!max.description.contains("low word"));
}

#[test]
fn win32_and_winsock_match_when_wrapped_as_hresults() {
    let m = lookup_in(TableId::Winsock, 0x8007_2726).expect("WSAEINVAL");
    assert_eq!(m.name.as_deref(), Some("WSAEINVAL"));
    assert!(m.description.contains("HRESULT"));
    let m = lookup_in(TableId::Win32, 0x8007_0040).expect("NETNAME");
    assert_eq!(m.name.as_deref(), Some("ERROR_NETNAME_DELETED"));
    assert_eq!(lookup_in(TableId::Winsock, 0x8008_2726), None);
}

#[test]
fn ranges_match_when_no_row_does() {
    let m = lookup_in(TableId::ExtendedDisconnectReason, 5000).expect("protocol range");
    assert_eq!(m.name, None);
    assert!(m.description.contains("protocol"));
    let m = lookup_in(TableId::Rdpclient1026Value, 0x300_00F0).expect("gateway range");
    assert!(m.description.contains("Gateway"));
    // An exact row wins over the range.
    let m = lookup_in(TableId::ExtendedDisconnectReason, 4096).expect("4096");
    assert_eq!(m.name.as_deref(), Some("exDiscReasonProtocolRangeStart"));
}

#[test]
fn describe_formats_per_table() {
    let d = describe(TableId::DisconnectReason, 0x904).expect("0x904");
    assert!(
        d.starts_with("0x904 disconnectReasonAtClientWinsockFDCLOSE — "),
        "{d}"
    );
    let d = describe(TableId::Sspi, 0x8009_0326).expect("sspi");
    assert!(d.starts_with("0x80090326 SEC_E_ILLEGAL_MESSAGE — "), "{d}");
    let d = describe(TableId::Winsock, 10060).expect("winsock");
    assert!(d.starts_with("10060 (0x274C) WSAETIMEDOUT — "), "{d}");
    let d = describe(TableId::RdgEProxy, 23003).expect("rdg");
    assert!(d.starts_with("23003 E_PROXY_NAP_ACCESSDENIED — "), "{d}");
    let d = describe(TableId::Rdpclient1026Value, 2308).expect("1026");
    assert!(d.starts_with("2308 (0x904) — "), "{d}");
    assert_eq!(describe(TableId::TlsAlert, 41), None);
}

#[test]
fn code_match_serializes_with_table_name() {
    let m = lookup_in(TableId::Sspi, 0x8009_0326).expect("sspi");
    let v = serde_json::to_value(&m).expect("json");
    assert_eq!(v["table"], "sspi");
    assert_eq!(v["name"], "SEC_E_ILLEGAL_MESSAGE");
    assert_eq!(v["value"], 0x8009_0326u64);
}

/// Loosely normalised text: case, whitespace and a trailing period do not count as rephrasing.
fn norm(text: &str) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    t.trim_end_matches('.').to_lowercase()
}

/// `shared/knowledge/codes.json` beside the repository (the worktree layout and CI's layout).
fn source_codes_json() -> Option<serde_json::Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("../shared/knowledge/codes.json");
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn source_number(row: &serde_json::Value) -> Option<u64> {
    ["hex", "value", "alert", "dec"]
        .iter()
        .find_map(|k| match &row[*k] {
            serde_json::Value::String(s) => parse_code(s).ok(),
            serde_json::Value::Number(n) => n.as_u64(),
            _ => None,
        })
}

#[test]
fn no_description_copies_the_source_text() {
    let Some(src) = source_codes_json() else {
        eprintln!("skipped: shared/knowledge/codes.json not found beside the repository");
        return;
    };
    let pairs = [
        ("disconnect_reason", TableId::DisconnectReason),
        (
            "extended_disconnect_reason",
            TableId::ExtendedDisconnectReason,
        ),
        ("errinfo", TableId::Errinfo),
        ("rdpclient_1026_value_text", TableId::Rdpclient1026Value),
        ("sspi", TableId::Sspi),
        ("winsock", TableId::Winsock),
    ];
    let mut compared = 0;
    for (key, table) in pairs {
        let rows = src[key].as_array().map(Vec::as_slice).unwrap_or_default();
        for row in rows {
            let (Some(n), Some(text)) = (source_number(row), row["text"].as_str()) else {
                continue;
            };
            let Some(ours) = lookup_in(table, n) else {
                panic!("{table}: source row {n:#x} is missing from our table");
            };
            assert_ne!(
                norm(&ours.description),
                norm(text),
                "{table} {n:#x} copies the source"
            );
            compared += 1;
        }
    }
    if let Some(map) = src["lsm40_reason"].as_object() {
        for (k, text) in map {
            let n = parse_code(k).expect("lsm40 key");
            let ours = lookup_in(TableId::Lsm40Reason, n).expect("lsm40 row");
            assert_ne!(
                norm(&ours.description),
                norm(text.as_str().unwrap_or_default())
            );
            compared += 1;
        }
    }
    assert!(compared > 400, "only {compared} rows compared");
}
