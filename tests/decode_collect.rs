//! `rdptriage decode` and `rdptriage collect-script` as a user runs them.

use crate::util::rdptriage;
use predicates::prelude::*;

fn stdout_of(args: &[&str]) -> String {
    let out = rdptriage().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn decode_0x904_0x7_says_the_server_denied_after_the_handshake() {
    let text = stdout_of(&["decode", "0x904", "0x7"]);
    for needle in [
        "disconnectReasonAtClientWinsockFDCLOSE",
        "exDiscReasonServerDeniedConnection",
        "after the handshake",
        "does\n  not apply",
        "+ server.denied-connection",
        "- cert.private-key-inaccessible",
        "- network.name-resolution",
        "- network.blocked-before-server",
        "wevtutil epl \"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational\"",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn decode_accepts_every_notation_of_the_same_code() {
    let hex = stdout_of(&["decode", "0x80090326"]);
    let signed = stdout_of(&["decode", "-2146893018"]);
    let decimal = stdout_of(&["decode", "2148074278"]);
    assert!(hex.contains("SEC_E_ILLEGAL_MESSAGE"), "{hex}");
    assert_eq!(hex, signed);
    assert_eq!(hex, decimal);
}

#[test]
fn decode_finds_gateway_and_ntstatus_codes() {
    assert!(stdout_of(&["decode", "23003"]).contains("E_PROXY_NAP_ACCESSDENIED"));
    assert!(stdout_of(&["decode", "0xC000006D"]).contains("STATUS_LOGON_FAILURE"));
    assert!(stdout_of(&["decode", "10060"]).contains("WSAETIMEDOUT"));
}

#[test]
fn decode_json_is_structured() {
    let text = stdout_of(&["decode", "2308", "7", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["primary"], 2308);
    assert_eq!(v["extended"], 7);
    let rules_in: Vec<&str> = v["rules_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(rules_in.contains(&"server.denied-connection"));
}

#[test]
fn decode_rejects_a_non_code_naming_it() {
    rdptriage()
        .args(["decode", "0xZZ"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("0xZZ").or(predicate::str::contains("CODE")));
}

#[test]
fn collect_scripts_match_their_snapshots() {
    for role in ["client", "gateway", "server", "dc"] {
        for shell in ["powershell", "cmd"] {
            let text = stdout_of(&["collect-script", "--role", role, "--shell", shell]);
            let text = text.replace(env!("CARGO_PKG_VERSION"), "<version>");
            insta::assert_snapshot!(format!("collect_script_{role}_{shell}"), text);
        }
    }
}

#[test]
fn server_script_exports_every_server_channel() {
    let text = stdout_of(&["collect-script", "--role", "server"]);
    for channel in rdptriage::collect::channels(rdptriage::collect::CollectRole::Server) {
        assert!(text.contains(&format!("'{channel}'")), "{channel}");
    }
}
