//! Decoded codes for reports: every code a report shows comes with its name and meaning.
//!
//! Takes: an attempt's [`AttemptCodes`] or an [`Event`]'s fields.
//! Produces: [`DecodedCode`]s from [`crate::codes`] — the primary and extended disconnect
//! reasons of an attempt, and the code fields of an event (1026 `Value`, LSM 40 `Reason`, 4625
//! `Status`/`SubStatus`, gateway `ErrorCode`, Schannel `AlertDesc`, …), each read in the tables
//! that apply to that field, first reading wins. Also the `Name=value (NAME)` text of an event's
//! fields that every text report uses.

use crate::attempt::AttemptCodes;
use crate::codes::{CodeMatch, TableId, lookup_in};
use crate::event::Event;
use serde::Serialize;
use std::collections::BTreeMap;

use TableId::{
    DisconnectReason, Errinfo, ExtendedDisconnectReason, Kerberos, Lsm40Reason, Ntstatus,
    RdgEProxy, Rdpclient1026Value, Sspi, TlsAlert, Win32, Winsock,
};

/// One code read in a table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecodedCode {
    /// The table the reading comes from (`disconnect_reason`, `ntstatus`, …).
    pub table: TableId,
    /// The symbolic name (`disconnectReasonAtClientWinsockFDCLOSE`), when the table has one.
    pub name: Option<String>,
    /// What the code means, in our own words.
    pub description: String,
}

impl DecodedCode {
    fn from_match(m: CodeMatch) -> Self {
        DecodedCode {
            table: m.table,
            name: m.name,
            description: m.description,
        }
    }

    /// The name, or the description when the table has no names (LSM 40 reasons).
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.description)
    }
}

/// Tables for the attempt's primary code (the dialog's "Error code", or client 1026 `Value`).
const PRIMARY_TABLES: &[TableId] = &[DisconnectReason, Rdpclient1026Value];
/// Tables for the attempt's extended code (reported, or the server's LSM 40 `Reason`).
const EXTENDED_TABLES: &[TableId] = &[ExtendedDisconnectReason, Errinfo, Lsm40Reason];
/// Tables for HRESULT-like status fields whose event gives no more specific hint.
const STATUS_TABLES: &[TableId] = &[Win32, Winsock, Sspi, Ntstatus, RdgEProxy];

/// The first reading of `value` in `tables`.
pub fn decode_in(tables: &[TableId], value: u64) -> Option<DecodedCode> {
    tables
        .iter()
        .find_map(|t| lookup_in(*t, value))
        .map(DecodedCode::from_match)
}

/// The primary code's reading.
pub fn primary(codes: &AttemptCodes) -> Option<DecodedCode> {
    decode_in(PRIMARY_TABLES, codes.primary?)
}

/// The extended code's reading.
pub fn extended(codes: &AttemptCodes) -> Option<DecodedCode> {
    decode_in(EXTENDED_TABLES, codes.extended?)
}

/// The tables a field of an event of catalog kind `kind` is read in; empty when the field holds
/// no code.
fn tables_for(kind: &str, field: &str) -> &'static [TableId] {
    match (kind, field) {
        ("client.disconnected", "Value") => PRIMARY_TABLES,
        ("server.session_disconnect_reason", "Reason") => &[Lsm40Reason, Errinfo],
        ("security.logon_failed" | "security.ntlm_validation", "Status" | "SubStatus") => {
            &[Ntstatus]
        }
        (
            "security.kerberos_tgt"
            | "security.kerberos_service_ticket"
            | "security.kerberos_preauth_failed",
            "Status" | "FailureCode" | "ResultCode",
        ) => &[Kerberos],
        ("tls.alert_received" | "tls.alert_sent", "AlertDesc") => &[TlsAlert],
        (k, "ErrorCode") if k.starts_with("gateway.") => &[Win32, Winsock, RdgEProxy],
        (_, "ErrorCode" | "ResultCode" | "Status" | "StatusCode" | "ErrorStatus") => STATUS_TABLES,
        _ => &[],
    }
}

/// The decoded code fields of `event`, by field name.
pub fn event_codes(event: &Event) -> BTreeMap<String, DecodedCode> {
    let Some(kind) = event.catalog_entry().map(|c| c.kind) else {
        return BTreeMap::new();
    };
    event
        .fields
        .iter()
        .filter_map(|(name, value)| {
            let tables = tables_for(kind, name);
            let value = value.as_u64()?;
            // A generic status field of 0 is "success" in every table: not worth a name.
            if tables.is_empty() || (value == 0 && tables == STATUS_TABLES) {
                return None;
            }
            let decoded = decode_in(tables, value)?;
            Some((name.to_string(), decoded))
        })
        .collect()
}

/// `Name=value; …` of the event's fields in name order, each code field followed by its name
/// (`Value=2308 (disconnectReasonAtClientWinsockFDCLOSE)`). Raw log text: escape it for the
/// output format.
pub fn fields_text(event: &Event) -> String {
    let decoded = event_codes(event);
    event
        .fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match decoded.get(k) {
            Some(d) => format!("{k}={} ({})", v.to_text(), d.label()),
            None => format!("{k}={}", v.to_text()),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The primary code for people: `0x904 disconnectReasonAtClientWinsockFDCLOSE (2308)`.
pub fn primary_text(codes: &AttemptCodes) -> Option<String> {
    let p = codes.primary?;
    Some(code_text(p, primary(codes).as_ref()))
}

/// The extended code for people: `0x7 exDiscReasonServerDeniedConnection (7)`.
pub fn extended_text(codes: &AttemptCodes) -> Option<String> {
    let e = codes.extended?;
    Some(code_text(e, extended(codes).as_ref()))
}

/// `0x904 NAME (2308)`, or `0x904 (2308)` when no table knows the code.
pub fn code_text(value: u64, decoded: Option<&DecodedCode>) -> String {
    match decoded {
        Some(d) => format!("0x{value:X} {} ({value})", d.label()),
        None => format!("0x{value:X} ({value}, not in the code tables)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::tests_support::ev;

    #[test]
    fn attempt_codes_are_named() {
        let codes = AttemptCodes {
            primary: Some(0x904),
            extended: Some(7),
            extended_source: Some("reported".into()),
            primary_reported: true,
        };
        assert_eq!(
            primary_text(&codes).unwrap(),
            "0x904 disconnectReasonAtClientWinsockFDCLOSE (2308)"
        );
        assert_eq!(
            extended_text(&codes).unwrap(),
            "0x7 exDiscReasonServerDeniedConnection (7)"
        );
    }

    #[test]
    fn event_code_fields_are_named() {
        let e = ev(
            "ws",
            "Microsoft-Windows-TerminalServices-RDPClient/Operational:Microsoft-Windows-TerminalServices-ClientActiveXCore",
            1026,
            0,
            None,
            &[("Name", "Disconnect Reason"), ("Value", "2308")],
        );
        assert_eq!(
            fields_text(&e),
            "Name=Disconnect Reason; Value=2308 (disconnectReasonAtClientWinsockFDCLOSE)"
        );
        let e = ev(
            "srv",
            "Security",
            4625,
            0,
            None,
            &[("SubStatus", "0xc000006a"), ("TargetUserName", "0x1")],
        );
        let codes = event_codes(&e);
        assert_eq!(codes.len(), 1);
        assert_eq!(
            codes["SubStatus"].name.as_deref(),
            Some("STATUS_WRONG_PASSWORD")
        );
    }

    #[test]
    fn unknown_codes_say_so() {
        assert_eq!(
            code_text(0xFFFF_FFF0, None),
            "0xFFFFFFF0 (4294967280, not in the code tables)"
        );
    }
}
