//! The session host's Remote Desktop events: RdpCoreTS, LocalSessionManager and
//! RemoteConnectionManager (KB §2.2–§2.4), in their Operational/Admin channels and in System.
//!
//! Takes: the connection's ActivityID (RdpCoreTS, RCM and LSM events of one TCP connection share
//! it, as real logs show) and each event's values.
//! Produces: [`Ev`]s with the levels, tasks and opcodes of real logs (RdpCoreTS task 4: 131 and
//! 98 opcode 15, 65/66/72 opcode 13, 102/103/148 opcode 17, errors level 3), payloads as Windows
//! writes them (RdpCoreTS `EventData`; LSM/RCM `UserData/EventXML`, except LSM 36 which is
//! `EventData`; RCM certificate events are classic events in System with unnamed data).

use super::ev::{KW_CLASSIC, KW_OPERATIONAL, KW_TS, classic, hex, manifest, s, u};
use super::scenario::LogKind;
use super::world::{Ev, Proc};

const CORETS: (&str, &str) = (
    "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
    "{1139c61b-b549-4251-8ed3-27250a1edec8}",
);
const CORETS_CHANNEL: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";
const LSM: (&str, &str) = (
    "Microsoft-Windows-TerminalServices-LocalSessionManager",
    "{5d896912-022d-40aa-a3a8-4fa5515c76d7}",
);
const LSM_CHANNEL: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
const RCM_NAME: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
const RCM: (&str, &str) = (RCM_NAME, "{c76baa63-ae81-421c-b425-340b4b24157f}");
const RCM_CHANNEL: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
const RCM_ADMIN: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin";
/// LSM events that belong to no connection carry a null ActivityID.
pub const NULL_ACTIVITY: &str = "{00000000-0000-0000-0000-000000000000}";

fn corets(act: &str, id: u16, level: u8, opcode: u8) -> Ev {
    manifest(
        CORETS,
        LogKind::Rdpcorets,
        CORETS_CHANNEL,
        Proc::TermService,
        id,
        level,
        (4, opcode),
        KW_OPERATIONAL,
    )
    .activity(act)
    .user("S-1-5-20")
}

/// RdpCoreTS 131: a TCP (`ip:port`) or UDP (`[ip]:port`) connection accepted.
pub fn accepted(act: &str, conn_type: &str, client: &str) -> Ev {
    corets(act, 131, 4, 15).data(vec![("ConnType", s(conn_type)), ("ClientIP", s(client))])
}

/// RdpCoreTS 65: connection object created.
pub fn created(act: &str, name: &str) -> Ev {
    corets(act, 65, 4, 13).data(vec![("ConnectionName", s(name))])
}

/// RdpCoreTS 141: transport instance.
pub fn instance(act: &str, n: u32) -> Ev {
    corets(act, 141, 4, 11).data(vec![("InstanceID", u(n))])
}

/// RdpCoreTS 72: interface method called.
pub fn method(act: &str, name: &str) -> Ev {
    corets(act, 72, 4, 13).data(vec![("MethodName", s(name))])
}

/// RdpCoreTS 132: a channel opened on a tunnel.
pub fn channel_opened(act: &str, name: &str, tunnel: u32) -> Ev {
    corets(act, 132, 4, 15).data(vec![("ChannelName", s(name)), ("TunnelID", u(tunnel))])
}

/// RdpCoreTS 66: connection assigned to a session.
pub fn assigned(act: &str, name: &str, session: u32) -> Ev {
    corets(act, 66, 4, 13).data(vec![("ConnectionName", s(name)), ("SessionID", u(session))])
}

/// RdpCoreTS 98: TCP connection established.
pub fn tcp_established(act: &str) -> Ev {
    corets(act, 98, 4, 15).data(vec![])
}

/// RdpCoreTS 135: transport chosen for a tunnel.
pub fn transport(act: &str, tunnel: u32, text: &str) -> Ev {
    corets(act, 135, 4, 15).data(vec![("TunnelID", u(tunnel)), ("TransportType", s(text))])
}

/// RdpCoreTS 102: main connection terminated.
pub fn terminated(act: &str) -> Ev {
    corets(act, 102, 4, 17).data(vec![])
}

/// RdpCoreTS 103: the server's internal disconnect reason.
pub fn disconnect_reason(act: &str, code: u32) -> Ev {
    corets(act, 103, 4, 17).data(vec![("ReasonCode", u(code))])
}

/// RdpCoreTS 148: channel closed.
pub fn channel_closed(act: &str, name: &str, tunnel: u32) -> Ev {
    corets(act, 148, 4, 17).data(vec![("ChannelName", s(name)), ("TunnelID", u(tunnel))])
}

/// RdpCoreTS 139: security-layer (TLS) error, client disconnected.
pub fn security_error(act: &str, code: u32, ip: &str) -> Ev {
    corets(act, 139, 3, 14).data(vec![("ResultCode", hex(code)), ("IPString", s(ip))])
}

/// RdpCoreTS 140: wrong user name or password (NLA).
pub fn bad_credentials(act: &str, ip: &str) -> Ev {
    corets(act, 140, 3, 14).data(vec![("IPString", s(ip))])
}

/// RdpCoreTS 143: UDP transport error.
pub fn udp_error(act: &str, error: u32) -> Ev {
    corets(act, 143, 3, 15).data(vec![("error", u(error))])
}

/// RdpCoreTS 226: state-machine error of the TCP connection (`0x80070040`: the peer vanished).
pub fn state_error(act: &str, code: u32) -> Ev {
    corets(act, 226, 3, 19).data(vec![
        ("StateTransition", s("RDP_TCP")),
        ("PreviousState", u(23)),
        ("PreviousStateName", s("StateUnknown")),
        ("NewState", u(21)),
        ("NewStateName", s("StateDisconnected")),
        ("Event", u(43)),
        ("EventName", s("Event_Disconnect")),
        ("ErrorCode", hex(code)),
    ])
}

/// RdpCoreTS 97: protocol error in the RDP stream, client disconnected.
pub fn protocol_error(act: &str, component: &str, code: u32) -> Ev {
    corets(act, 97, 3, 14).data(vec![
        ("ComponentName", s(component)),
        ("ErrorCode", u(code)),
    ])
}

fn lsm(act: &str, id: u16, level: u8) -> Ev {
    manifest(
        LSM,
        LogKind::Lsm,
        LSM_CHANNEL,
        Proc::Lsm,
        id,
        level,
        (0, 0),
        KW_TS,
    )
    .activity(act)
    .user("S-1-5-18")
}

/// LSM 21 (logon), 22 (shell start), 24 (disconnected) or 25 (reconnected): user, session, address.
pub fn session_event(act: &str, id: u16, user: &str, session: u32, address: &str) -> Ev {
    lsm(act, id, 4).event_xml(vec![
        ("User", s(user)),
        ("SessionID", u(session)),
        ("Address", s(address)),
    ])
}

/// LSM 23 (logoff), 41 (begin arbitration) or 42 (end arbitration): user and session.
pub fn session_user(act: &str, id: u16, user: &str, session: u32) -> Ev {
    lsm(act, id, 4).event_xml(vec![("User", s(user)), ("SessionID", u(session))])
}

/// LSM 40: session disconnected, with the reason (ERRINFO code space).
pub fn session_reason(act: &str, session: u32, reason: u32) -> Ev {
    lsm(act, 40, 4).event_xml(vec![("Session", u(session)), ("Reason", u(reason))])
}

/// LSM 36: a session state change failed (named `EventData`, level 2, as a real log has it).
pub fn session_state_error(
    act: &str,
    session: u32,
    state: (u32, &str),
    event: (u32, &str),
    code: u32,
) -> Ev {
    lsm(act, 36, 2).data(vec![
        ("SessionId", u(session)),
        ("State", u(state.0)),
        ("StateName", s(state.1)),
        ("Event", u(event.0)),
        ("EventName", s(event.1)),
        ("ErrorCode", hex(code)),
    ])
}

fn rcm(act: &str, id: u16, level: u8) -> Ev {
    manifest(
        RCM,
        LogKind::Rcm,
        RCM_CHANNEL,
        Proc::TermService,
        id,
        level,
        (0, 0),
        KW_TS,
    )
    .activity(act)
    .user("S-1-5-20")
}

/// RCM 261: the listener received a connection.
pub fn listener_connection(act: &str) -> Ev {
    rcm(act, 261, 4).event_xml(vec![("listenerName", s("RDP-Tcp"))])
}

/// RCM 258: the listener started listening.
pub fn listener_started(act: &str) -> Ev {
    rcm(act, 258, 4).event_xml(vec![("listenerName", s("RDP-Tcp"))])
}

/// RCM 260: the listener failed while listening.
pub fn listener_failed(act: &str, code: u32) -> Ev {
    rcm(act, 260, 3).event_xml(vec![
        ("listenerName", s("RDP-Tcp")),
        ("errorCode", hex(code)),
    ])
}

/// RCM 1149: network-level authentication succeeded.
pub fn authenticated(act: &str, user: &str, domain: &str, address: &str) -> Ev {
    rcm(act, 1149, 4).event_xml(vec![
        ("Param1", s(user)),
        ("Param2", s(domain)),
        ("Param3", s(address)),
    ])
}

/// RCM Admin 1068 (licensing mode not configured, warning) or 1069 (grace period expired, error).
pub fn licensing(id: u16) -> Ev {
    let level = if id == 1069 { 2 } else { 3 };
    let mut ev = manifest(
        RCM,
        LogKind::RcmAdmin,
        RCM_ADMIN,
        Proc::TermService,
        id,
        level,
        (0, 0),
        KW_OPERATIONAL,
    )
    .user("S-1-5-20");
    ev.spec.payload = rdptriage::evtx_writer::Payload::None;
    ev
}

/// A classic RCM event in System (source `TermService`): certificate events 1052–1058 with their
/// insertion strings as unnamed data.
pub fn rcm_system(id: u16, level: u8, values: &[&str]) -> Ev {
    classic(
        (
            RCM_NAME,
            Some("{C76BAA63-AE81-421C-B425-340B4B24157F}"),
            "TermService",
        ),
        id,
        49152,
        level,
        KW_CLASSIC,
        Proc::Classic,
    )
    .unnamed(values.iter().map(|v| s(*v)).collect())
}
