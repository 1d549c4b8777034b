//! Decoding an RDP client code pair into a diagnosis.
//!
//! Takes: the primary code (the dialog's "Error code" or an RDPClient 1026 `Value`, or any other
//! code a user pastes) and optionally the dialog's "Extended error code".
//! Produces: [`Decoded`]: every table reading of both numbers, the layer that failed, a summary,
//! the cause ids the pair rules in and out (with reasons), and the logs to collect next
//! ([`LogHint`], each with its `wevtutil epl` command).

use serde::Serialize;

use super::guidance::{Entry, Guidance, guidance};
use super::{CodeMatch, TableId, lookup, lookup_in};

/// Tables that can hold the reading of an extended code (the server-sent reason code space).
const EXTENDED_TABLES: [TableId; 3] = [
    TableId::ExtendedDisconnectReason,
    TableId::Errinfo,
    TableId::Lsm40Reason,
];

/// Which machine a log is collected on: the same roles the event catalog uses.
pub use crate::event::catalog::HostRole as Role;

/// A log to collect next: on which machine, which channel, and what to look for in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHint {
    /// The machine to collect it on.
    pub role: Role,
    /// The event log channel, as `wevtutil` names it.
    pub channel: String,
    /// What to look for in it (event ids and fields).
    pub why: String,
}

impl LogHint {
    /// The file name the export command writes, e.g. `server-TerminalServices-LocalSessionManager-Operational.evtx`.
    pub fn export_file(&self) -> String {
        let short = self
            .channel
            .strip_prefix("Microsoft-Windows-")
            .unwrap_or(&self.channel);
        let safe: String = short
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}-{safe}.evtx", self.role.as_str())
    }

    /// The command that exports the channel on that machine:
    /// `wevtutil epl "<channel>" <file>.evtx`.
    pub fn export_command(&self) -> String {
        format!("wevtutil epl \"{}\" {}", self.channel, self.export_file())
    }
}

impl Serialize for LogHint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("LogHint", 4)?;
        st.serialize_field("role", &self.role)?;
        st.serialize_field("channel", &self.channel)?;
        st.serialize_field("why", &self.why)?;
        st.serialize_field("command", &self.export_command())?;
        st.end()
    }
}

/// The diagnosis of a code pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decoded {
    /// The primary code as given.
    pub primary: u64,
    /// The extended code, when one was given.
    pub extended: Option<u64>,
    /// Every table reading of the primary code ([`lookup`]).
    pub matches: Vec<CodeMatch>,
    /// Readings of the extended code in the server-reason tables (extended reasons, errinfo,
    /// LSM event 40 reasons).
    pub extended_matches: Vec<CodeMatch>,
    /// Which layer failed, when the data says.
    pub layer: Option<String>,
    /// What the pair means, in a few paragraphs separated by blank lines.
    pub summary: String,
    /// Cause ids (from the stable list) the pair points at, most specific first.
    pub rules_in: Vec<String>,
    /// Cause ids the pair excludes, each with the reason.
    pub rules_out: Vec<(String, String)>,
    /// Logs to collect next, most specific first.
    pub next_logs: Vec<LogHint>,
}

/// Decode a code pair: table readings of both numbers plus the diagnosis data that applies.
///
/// Entries about both codes come first, then entries about the extended code (the server's own
/// reason), then entries about the primary code. A cause id keeps the first placement it gets, so
/// a more specific entry decides whether it is ruled in or out.
pub fn decode(primary: u64, extended: Option<u64>) -> Decoded {
    let g = guidance();
    let entries = g.applicable(primary, extended);
    let matches = lookup(primary);
    let extended_matches: Vec<CodeMatch> = extended
        .map(|x| {
            EXTENDED_TABLES
                .into_iter()
                .filter_map(|t| lookup_in(t, x))
                .collect()
        })
        .unwrap_or_default();
    let layer = entries
        .iter()
        .find_map(|e| e.layer.clone())
        .or_else(|| low_byte_layer(g, primary, &matches));
    let summary = summary(&entries, primary, &matches, extended, &extended_matches);
    let (rules_in, rules_out) = causes(&entries);
    let next_logs = next_logs(g, &entries);
    Decoded {
        primary,
        extended,
        matches,
        extended_matches,
        layer,
        summary,
        rules_in,
        rules_out,
        next_logs,
    }
}

/// The low-byte layer, only for numbers that read as RDP client disconnect codes.
fn low_byte_layer(g: &Guidance, primary: u64, matches: &[CodeMatch]) -> Option<String> {
    let client_code = primary <= 0xFFFF
        && matches.iter().any(|m| {
            matches!(
                m.table,
                TableId::DisconnectReason | TableId::Rdpclient1026Value
            )
        });
    client_code
        .then(|| g.low_byte_layer(primary).map(str::to_string))
        .flatten()
}

fn summary(
    entries: &[&Entry],
    primary: u64,
    matches: &[CodeMatch],
    extended: Option<u64>,
    extended_matches: &[CodeMatch],
) -> String {
    let mut parts: Vec<String> = entries.iter().map(|e| e.summary.clone()).collect();
    if parts.is_empty() {
        parts.push(if matches.is_empty() {
            format!(
                "{primary} (0x{primary:X}) is in none of the code tables rdptriage knows. \
                 Check that the number was copied whole and in the right notation \
                 (the dialog shows hex, event 1026 shows decimal)."
            )
        } else {
            "rdptriage has no diagnosis data for this code; the table readings above say \
             what it means."
                .to_string()
        });
    }
    if let Some(x) = extended.filter(|_| extended_matches.is_empty()) {
        parts.push(format!(
            "The extended code {x} (0x{x:X}) is not a known server reason code."
        ));
    }
    parts.join("\n\n")
}

/// Rules in and out across entries; the first placement of a cause id wins.
fn causes(entries: &[&Entry]) -> (Vec<String>, Vec<(String, String)>) {
    let mut rules_in: Vec<String> = Vec::new();
    let mut rules_out: Vec<(String, String)> = Vec::new();
    let placed = |id: &str, i: &[String], o: &[(String, String)]| {
        i.iter().any(|c| c == id) || o.iter().any(|(c, _)| c == id)
    };
    for e in entries {
        for c in &e.rules_in {
            if !placed(c, &rules_in, &rules_out) {
                rules_in.push(c.clone());
            }
        }
        for r in &e.rules_out {
            for c in &r.causes {
                if !placed(c, &rules_in, &rules_out) {
                    rules_out.push((c.clone(), r.why.clone()));
                }
            }
        }
    }
    (rules_in, rules_out)
}

/// Logs across entries; the first (most specific) reason for a channel on a machine wins.
fn next_logs(g: &Guidance, entries: &[&Entry]) -> Vec<LogHint> {
    let mut out: Vec<LogHint> = Vec::new();
    for r in entries.iter().flat_map(|e| e.next_logs.iter()) {
        // Unknown references are caught by the data tests; skip rather than fail at run time.
        let Some(src) = g.logs.get(&r.log) else {
            continue;
        };
        if out
            .iter()
            .any(|h| h.role == src.role && h.channel == src.channel)
        {
            continue;
        }
        out.push(LogHint {
            role: src.role,
            channel: src.channel.clone(),
            why: r.why.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[(String, String)]) -> Vec<&str> {
        v.iter().map(|(c, _)| c.as_str()).collect()
    }

    #[test]
    fn fdclose_ext7_is_a_denial_after_the_handshake() {
        let d = decode(0x904, Some(7));
        assert_eq!(d.matches[0].table, TableId::DisconnectReason);
        let ext: Vec<TableId> = d.extended_matches.iter().map(|m| m.table).collect();
        assert_eq!(
            ext,
            [
                TableId::ExtendedDisconnectReason,
                TableId::Errinfo,
                TableId::Lsm40Reason
            ]
        );
        for c in [
            "server.denied-connection",
            "session.stuck-or-limit",
            "auth.logon-right-missing",
        ] {
            assert!(
                d.rules_in.iter().any(|r| r == c),
                "{c} not ruled in: {:?}",
                d.rules_in
            );
        }
        let out = ids(&d.rules_out);
        for c in [
            "cert.self-signed-renewal-failed",
            "cert.private-key-inaccessible",
            "network.name-resolution",
            "network.blocked-before-server",
            "tls.protocol-or-cipher-mismatch",
            "tls.handshake-interference",
            "auth.credssp-oracle-mismatch",
        ] {
            assert!(out.contains(&c), "{c} not ruled out: {out:?}");
        }
        let (_, why) = d
            .rules_out
            .iter()
            .find(|(c, _)| c == "auth.credssp-oracle-mismatch")
            .expect("credssp");
        assert!(why.contains("NLA handshake"), "{why}");
        assert!(
            d.summary
                .contains("after TCP, the TLS and NLA (CredSSP) handshake and the MCS")
        );
        assert!(d.summary.contains("Microsoft documents no list"));
        assert!(d.layer.as_deref().is_some_and(|l| l.contains("denied")));
        let channels: Vec<&str> = d
            .next_logs
            .iter()
            .filter(|h| h.role == Role::Server)
            .map(|h| h.channel.as_str())
            .collect();
        for c in [
            "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
            "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
            "Security",
            "System",
        ] {
            assert!(channels.contains(&c), "{c} missing: {channels:?}");
        }
    }

    #[test]
    fn fdclose_ext0_is_a_transport_loss() {
        let d = decode(0x904, Some(0));
        for c in ["network.connection-lost", "network.blocked-before-server"] {
            assert!(d.rules_in.iter().any(|r| r == c), "{c}: {:?}", d.rules_in);
        }
        let out = ids(&d.rules_out);
        assert!(out.contains(&"server.denied-connection"), "{out:?}");
        assert!(out.contains(&"network.name-resolution"), "{out:?}");
        assert!(d.summary.contains("transport loss"));
        assert_eq!(
            d.extended_matches[0].name.as_deref(),
            Some("exDiscReasonNoInfo")
        );
    }

    #[test]
    fn fdclose_without_extended_asks_for_it() {
        let d = decode(2308, None);
        assert!(d.summary.contains("Extended error code"), "{}", d.summary);
        assert!(d.extended_matches.is_empty());
        assert!(d.rules_in.iter().any(|r| r == "server.denied-connection"));
        assert!(d.rules_in.iter().any(|r| r == "network.connection-lost"));
    }

    #[test]
    fn no_cause_is_both_ruled_in_and_out() {
        let pairs = [
            (0x904, None),
            (0x904, Some(0)),
            (0x904, Some(7)),
            (0x904, Some(9)),
            (0x904, Some(258)),
            (0x904, Some(4500)),
            (516, Some(7)),
            (0x808, Some(257)),
            (0x300_0018, None),
        ];
        for (p, x) in pairs {
            let d = decode(p, x);
            for c in &d.rules_in {
                assert!(
                    !ids(&d.rules_out).contains(&c.as_str()),
                    "{p:#x}/{x:?}: {c}"
                );
            }
        }
    }

    #[test]
    fn client_codes_map_to_their_causes() {
        let cases: [(u64, &str); 16] = [
            (260, "network.name-resolution"),
            (520, "network.name-resolution"),
            (1288, "network.name-resolution"),
            (1540, "network.name-resolution"),
            (516, "network.blocked-before-server"),
            (264, "network.blocked-before-server"),
            (1796, "network.blocked-before-server"),
            (2055, "auth.bad-credentials"),
            (2567, "auth.bad-credentials"),
            (3335, "auth.account-restricted"),
            (3591, "auth.account-restricted"),
            (3847, "auth.account-restricted"),
            (4615, "auth.account-restricted"),
            (2825, "auth.nla-unsupported"),
            (6151, "auth.domain-unreachable"),
            (6919, "cert.self-signed-renewal-failed"),
        ];
        for (code, cause) in cases {
            let d = decode(code, None);
            assert_eq!(
                d.rules_in.first().map(String::as_str),
                Some(cause),
                "{code}"
            );
            assert!(d.layer.is_some(), "{code} has no layer");
            assert!(!d.next_logs.is_empty(), "{code} has no logs");
        }
        assert_eq!(decode(7431, None).rules_in[0], "auth.clock-skew");
        assert_eq!(decode(2056, Some(257)).rules_in[0], "session.licensing");
        assert!(
            decode(0x904, Some(4500))
                .rules_in
                .contains(&"server.protocol-error".into())
        );
        assert!(
            decode(0x904, Some(0x1000))
                .rules_in
                .contains(&"server.protocol-error".into())
        );
    }

    #[test]
    fn gateway_codes_point_at_the_gateway() {
        let cases: [(u64, &str); 5] = [
            (0x300_000F, "gateway.capacity-exhausted"),
            (0x300_0022, "gateway.capacity-exhausted"),
            (0x300_001B, "gateway.policy-denied"),
            (0x300_0005, "gateway.certificate-problem"),
            (23003, "gateway.policy-denied"),
        ];
        for (code, cause) in cases {
            let d = decode(code, None);
            assert_eq!(
                d.rules_in.first().map(String::as_str),
                Some(cause),
                "{code:#x}"
            );
            assert!(
                d.next_logs.iter().any(|h| h.role == Role::Gateway),
                "{code:#x}"
            );
        }
    }

    #[test]
    fn other_tables_decode_too() {
        let names = |v| -> Vec<String> {
            decode(v, None)
                .matches
                .into_iter()
                .filter_map(|m| m.name)
                .collect()
        };
        assert!(names(0x8009_0326).contains(&"SEC_E_ILLEGAL_MESSAGE".into()));
        assert!(names(23003).contains(&"E_PROXY_NAP_ACCESSDENIED".into()));
        assert!(names(0xC000_006D).contains(&"STATUS_LOGON_FAILURE".into()));
        assert!(names(10060).contains(&"WSAETIMEDOUT".into()));
        assert!(names(0x8007_2726).contains(&"WSAEINVAL".into()));
    }

    #[test]
    fn broker_range_presents_both_readings() {
        let d = decode(1030, None);
        let tables: Vec<TableId> = d.matches.iter().map(|m| m.table).collect();
        assert!(tables.contains(&TableId::DisconnectReason));
        assert!(tables.contains(&TableId::Rdpclient1026Value));
        assert!(tables.contains(&TableId::Errinfo));
        assert!(d.summary.contains("two readings"), "{}", d.summary);
    }

    #[test]
    fn unknown_codes_say_so() {
        let d = decode(0xDEAD_BEEF, Some(0xBEEF));
        assert!(d.matches.is_empty() && d.extended_matches.is_empty());
        assert!(d.summary.contains("none of the code tables"));
        assert!(d.summary.contains("not a known server reason"));
        assert!(d.rules_in.is_empty() && d.rules_out.is_empty());
    }

    #[test]
    fn log_hints_carry_export_commands() {
        let h = LogHint {
            role: Role::Server,
            channel: "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational".into(),
            why: String::new(),
        };
        assert_eq!(
            h.export_command(),
            "wevtutil epl \"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational\" \
             server-TerminalServices-LocalSessionManager-Operational.evtx"
        );
        let v = serde_json::to_value(&h).expect("json");
        assert_eq!(v["role"], "server");
        assert!(
            v["command"]
                .as_str()
                .is_some_and(|c| c.starts_with("wevtutil epl"))
        );
    }

    #[test]
    fn decoded_serializes() {
        let v = serde_json::to_value(decode(0x904, Some(7))).expect("json");
        assert_eq!(v["primary"], 2308);
        assert_eq!(v["extended"], 7);
        assert_eq!(v["matches"][0]["table"], "disconnect_reason");
        assert!(v["rules_out"][0][1].is_string());
    }
}
