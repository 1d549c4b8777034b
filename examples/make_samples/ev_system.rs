//! System log events: Service Control Manager, Schannel, LsaSrv, Tcpip, Windows Time, Kerberos,
//! DNS client, EventLog, User32 and Netlogon (KB §2.6–§2.10, §2.13, §2.14).
//!
//! Takes: each event's values.
//! Produces: [`Ev`]s for the `System` channel, manifest or classic as the provider is in real
//! logs: Service Control Manager, RCM certificate events (in `ev_host`), Kerberos, Tcpip, EventLog,
//! User32 and Netlogon are classic (`EventSourceName`, `Qualifiers`); Schannel, LsaSrv, Windows
//! Time and the DNS client are manifest providers with named fields.

use super::ev::{KW_CLASSIC, KW_SCM, KW_SYSTEM, classic, hex, manifest, s, u};
use super::scenario::LogKind;
use super::world::{Ev, Proc};
use rdptriage::evtx_writer::Value;

const SCM: (&str, Option<&str>, &str) = (
    "Service Control Manager",
    Some("{555908d1-a6d7-4695-8e1e-26931d2012f4}"),
    "Service Control Manager",
);

fn named(values: &[&str]) -> Vec<(String, Value)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("param{}", i + 1), s(*v)))
        .collect()
}

fn scm(id: u16, error: bool, params: &[&str]) -> Ev {
    let (q, level) = if error { (49152, 2) } else { (16384, 4) };
    let mut ev = classic(SCM, id, q, level, KW_SCM, Proc::Services);
    ev.spec.payload = rdptriage::evtx_writer::Payload::EventData(named(params));
    ev
}

/// 7036: a service entered the running or stopped state.
pub fn service_state(display: &str, state: &str) -> Ev {
    scm(7036, false, &[display, state])
}

/// 7040: a service's start type changed.
pub fn start_type(display: &str, from: &str, to: &str, name: &str) -> Ev {
    scm(7040, false, &[display, from, to, name]).user("S-1-5-18")
}

/// 7031: a service terminated unexpectedly; the recovery action follows.
pub fn service_crashed(display: &str, times: u32) -> Ev {
    let times = times.to_string();
    scm(
        7031,
        true,
        &[display, &times, "60000", "1", "Restart the service"],
    )
}

/// 7034: a service terminated unexpectedly (no recovery action configured).
pub fn service_died(display: &str, times: u32) -> Ev {
    scm(7034, true, &[display, &times.to_string()])
}

fn schannel(id: u16) -> Ev {
    manifest(
        ("Schannel", "{1F678132-5938-4686-9FDC-C8FF68F15C85}"),
        LogKind::System,
        "System",
        Proc::Lsass,
        id,
        2,
        (0, 0),
        KW_SYSTEM,
    )
    .user("S-1-5-18")
}

/// 36870: the TLS server credential's private key could not be accessed.
pub fn schannel_key_error(act: &str, code: u32, state: u32) -> Ev {
    schannel(36870).activity(act).data(vec![
        ("Type", s("server")),
        ("ErrorCode", hex(code)),
        ("ErrorStatus", u(state)),
    ])
}

/// 36871: creating the TLS server credential failed.
pub fn schannel_credential_error(act: &str, state: u32) -> Ev {
    schannel(36871)
        .activity(act)
        .data(vec![("Type", s("server")), ("ErrorState", u(state))])
}

/// 36874: no cipher suite in common for a protocol version.
pub fn schannel_no_cipher(act: &str, protocol: &str) -> Ev {
    schannel(36874)
        .activity(act)
        .data(vec![("Protocol", s(protocol))])
}

/// 36887: a fatal alert was received from the peer.
pub fn schannel_alert_received(act: &str, alert: u32) -> Ev {
    schannel(36887)
        .activity(act)
        .data(vec![("AlertDesc", u(alert))])
}

/// 36888: a fatal alert was generated and sent to the peer.
pub fn schannel_alert_sent(act: &str, alert: u32, state: u32, target: &str) -> Ev {
    schannel(36888).activity(act).data(vec![
        ("AlertDesc", u(alert)),
        ("ErrorState", u(state)),
        ("TargetName", s(target)),
    ])
}

fn lsasrv(id: u16, level: u8) -> Ev {
    manifest(
        ("LsaSrv", "{199fe037-2b82-40a9-82ac-e1d46c792b99}"),
        LogKind::System,
        "System",
        Proc::Lsass,
        id,
        level,
        (0, 0),
        KW_SYSTEM,
    )
    .user("S-1-5-18")
}

/// 6041: CredSSP refused the version the remote host offered (Encryption Oracle Remediation).
pub fn credssp_blocked(target: &str, version: &str) -> Ev {
    lsasrv(6041, 2).data(vec![
        ("TargetName", s(target)),
        ("TargetVersion", s(version)),
    ])
}

/// 40960: an authentication protocol failed against a server.
pub fn sspi_error(target: &str, protocol: &str, error: &str) -> Ev {
    lsasrv(40960, 3).data(vec![
        ("Target", s(target)),
        ("Protocol", s(protocol)),
        ("Error", s(error)),
    ])
}

/// 4227 (endpoint recently used, warning) or 4231 (no ephemeral port, error) from Tcpip.
pub fn tcpip(id: u16) -> Ev {
    let (q, level) = if id == 4231 { (49152, 2) } else { (32768, 3) };
    classic(
        ("Tcpip", None, "Tcpip"),
        id,
        q,
        level,
        KW_CLASSIC,
        Proc::Classic,
    )
    .unnamed(vec![])
}

fn w32time(id: u16, level: u8) -> Ev {
    manifest(
        (
            "Microsoft-Windows-Time-Service",
            "{06edcfeb-0fd0-4e53-acca-a6f8bbf81bcb}",
        ),
        LogKind::System,
        "System",
        Proc::W32Time,
        id,
        level,
        (0, 0),
        KW_SYSTEM,
    )
    .user("S-1-5-19")
}

/// 129: NtpClient could not find a domain peer to use as a time source.
pub fn time_source_unreachable(error: &str, retry: u32) -> Ev {
    w32time(129, 3).data(vec![("ErrorMessage", s(error)), ("RetryMinutes", u(retry))])
}

/// 36: the clock has not been synchronized for this many seconds.
pub fn time_unsynchronized(seconds: u32, remaining: u32) -> Ev {
    w32time(36, 3).data(vec![
        ("UnsynchronizedTimeSeconds", u(seconds)),
        (
            "TimeRemainingToSetLocalClockFreeRunningSeconds",
            u(remaining),
        ),
    ])
}

/// Kerberos 3 (classic, source `Kerberos`): a Kerberos error was received.
pub fn kerberos_error(
    server_time: &str,
    code: u32,
    message: &str,
    realm: &str,
    server: &str,
) -> Ev {
    classic(
        (
            "Microsoft-Windows-Security-Kerberos",
            Some("{98E6CFCB-EE0A-41E0-A57B-622D4E1B30B1}"),
            "Kerberos",
        ),
        3,
        16384,
        2,
        KW_CLASSIC,
        Proc::Classic,
    )
    .data(vec![
        ("LogonSession", s("")),
        ("ClientTime", s("")),
        ("ServerTime", s(server_time)),
        ("ErrorCode", hex(code)),
        ("ErrorMessage", s(message)),
        ("ExtendedError", s("")),
        ("ClientRealm", s("")),
        ("ClientName", s("")),
        ("ServerRealm", s(realm)),
        ("ServerName", s(server)),
        ("TargetName", s(format!("{server}@{realm}"))),
        ("ErrorText", s("")),
        ("File", s("9")),
        ("Line", s("f09")),
    ])
}

/// DNS client 1014: name resolution timed out (no DNS server answered).
pub fn dns_timeout(name: &str, dns_server: [u8; 4]) -> Ev {
    let mut address = vec![0u8; 128];
    address[0] = 2;
    address[4..8].copy_from_slice(&dns_server);
    manifest(
        (
            "Microsoft-Windows-DNS-Client",
            "{1c95126e-7eea-49a9-a3fe-a378b03ddb4d}",
        ),
        LogKind::System,
        "System",
        Proc::DnsCache,
        1014,
        3,
        (1014, 0),
        0x4000_0000_1000_0000,
    )
    .user("S-1-5-20")
    .data(vec![
        ("QueryName", s(name)),
        ("AddressLength", u(128)),
        ("Address", Value::Binary(address)),
    ])
}

/// EventLog 6005 (started), 6006 (stopped), 6009 (OS version at boot) or 6013 (uptime).
pub fn eventlog(id: u16, values: &[&str]) -> Ev {
    classic(
        ("EventLog", None, "EventLog"),
        id,
        32768,
        4,
        KW_CLASSIC,
        Proc::Classic,
    )
    .unnamed(values.iter().map(|v| s(*v)).collect())
}

/// User32 1074: a process initiated a restart.
pub fn restart_initiated(process: &str, computer: &str, reason: &str, code: &str) -> Ev {
    let mut ev = classic(
        (
            "User32",
            Some("{b0aa8734-56f7-41cc-b2f4-de228e98b946}"),
            "User32",
        ),
        1074,
        32768,
        4,
        KW_SCM,
        Proc::Classic,
    )
    .user("S-1-5-18");
    ev.spec.payload = rdptriage::evtx_writer::Payload::EventData(named(&[
        process,
        computer,
        reason,
        code,
        "restart",
        "",
        "NT AUTHORITY\\SYSTEM",
    ]));
    ev
}

/// Netlogon 5719: no secure session with a domain controller.
pub fn no_secure_channel(domain: &str) -> Ev {
    classic(
        ("NETLOGON", None, "NETLOGON"),
        5719,
        0,
        2,
        KW_CLASSIC,
        Proc::Classic,
    )
    .unnamed(vec![s(domain), s("%%1311")])
}
