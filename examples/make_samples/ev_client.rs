//! The RDP client's events: `Microsoft-Windows-TerminalServices-RDPClient/Operational` (KB §2.1,
//! Appendix D).
//!
//! Takes: the mstsc instance of one attempt ([`Mstsc`]: process id, ActivityID, the desktop
//! user's SID) and each event's values.
//! Produces: [`Ev`]s from provider `Microsoft-Windows-TerminalServices-ClientActiveXCore`: task 101
//! "Connection Sequence" (opcode 10 connect, 11 disconnect), task 104 for state-machine errors,
//! keywords `0x4000000000000000`, fields in template order with the manifest's types (1026
//! `Value` and 226 `ErrorCode` UInt32, the rest strings).

use super::ev::{KW_OPERATIONAL, manifest, s, u};
use super::scenario::LogKind;
use super::world::{Ev, Proc};

const PROVIDER: (&str, &str) = (
    "Microsoft-Windows-TerminalServices-ClientActiveXCore",
    "{28aa95bb-d444-4719-a36f-40462168127e}",
);
const CHANNEL: &str = "Microsoft-Windows-TerminalServices-RDPClient/Operational";

/// One mstsc window: every event of its attempt carries the same ActivityID.
#[derive(Clone, Debug)]
pub struct Mstsc {
    /// Process id.
    pub pid: u32,
    /// ActivityID of the attempt.
    pub activity: String,
    /// SID of the user running mstsc.
    pub sid: String,
}

impl Mstsc {
    fn ev(&self, id: u16, level: u8, task: u16, opcode: u8) -> Ev {
        manifest(
            PROVIDER,
            LogKind::Rdpclient,
            CHANNEL,
            Proc::Mstsc(self.pid),
            id,
            level,
            (task, opcode),
            KW_OPERATIONAL,
        )
        .activity(&self.activity)
        .user(&self.sid)
    }

    /// 1024: trying to connect to the target as typed.
    pub fn started(&self, target: &str) -> Ev {
        self.ev(1024, 4, 101, 10).data(vec![
            ("Name", s("Server Name")),
            ("Value", s(target)),
            ("CustomLevel", s("Info")),
        ])
    }

    /// 1028: the server answered the security negotiation ("Server supports SSL = supported").
    pub fn ssl_supported(&self) -> Ev {
        self.ev(1028, 4, 101, 10)
            .data(vec![("TraceMessage", s("supported"))])
    }

    /// 1029: hash of the user name sent.
    pub fn user_hash(&self, hash: &str) -> Ev {
        self.ev(1029, 4, 101, 10)
            .data(vec![("TraceMessage", s(hash))])
    }

    /// 1102: multi-transport (UDP) started to the resolved address.
    pub fn multitransport(&self, address: &str) -> Ev {
        self.ev(1102, 4, 101, 10).data(vec![
            ("Name", s("ServerAddress")),
            ("Value", s(address)),
            ("CustomLevel", s("Info")),
        ])
    }

    /// 1103: multi-transport up.
    pub fn multitransport_up(&self) -> Ev {
        self.ev(1103, 4, 101, 10).data(vec![])
    }

    /// 1025: connected.
    pub fn connected(&self) -> Ev {
        self.ev(1025, 4, 101, 10).data(vec![])
    }

    /// 1027: logged on to the domain with a session id.
    pub fn logged_on(&self, domain: &str, session: u32) -> Ev {
        self.ev(1027, 4, 101, 10)
            .data(vec![("DomainName", s(domain)), ("SessionId", u(session))])
    }

    /// 1105: multi-transport disconnected.
    pub fn multitransport_down(&self) -> Ev {
        self.ev(1105, 4, 101, 10).data(vec![])
    }

    /// 1026: disconnected, with the primary reason.
    pub fn disconnected(&self, reason: u32) -> Ev {
        self.ev(1026, 4, 101, 11).data(vec![
            ("Name", s("Disconnect Reason")),
            ("Value", u(reason)),
            ("CustomLevel", s("Info")),
        ])
    }

    /// 226: a state-machine transition failed (`RDPClient_SSL`…).
    pub fn state_error(&self, t: &Transition, code: u32) -> Ev {
        self.ev(226, 3, 104, 19).data(vec![
            ("StateTransitionName", s(t.machine)),
            ("PreviousState", u(t.from.0)),
            ("PreviousStateName", s(t.from.1)),
            ("NewState", u(t.to.0)),
            ("NewStateName", s(t.to.1)),
            ("Event", u(t.event.0)),
            ("EventName", s(t.event.1)),
            ("ErrorCode", u(code)),
        ])
    }

    /// 1007: the server name did not resolve.
    pub fn dns_failed(&self, code: u32) -> Ev {
        self.ev(1007, 2, 101, 10).data(vec![
            ("TraceMessage", s("DNS name lookup failure")),
            ("ErrorCode", u(code)),
        ])
    }

    /// 1009: the server did not accept the credentials (NLA).
    pub fn credentials_rejected(&self, code: u32) -> Ev {
        self.ev(1009, 3, 101, 10).data(vec![
            ("TraceMessage", s("Credentials rejected by the server")),
            ("ErrorCode", u(code)),
        ])
    }
}

/// A client state-machine transition, as event 226 names it.
pub struct Transition {
    /// `StateTransitionName`.
    pub machine: &'static str,
    /// Previous state number and name.
    pub from: (u32, &'static str),
    /// New state number and name.
    pub to: (u32, &'static str),
    /// Event number and name.
    pub event: (u32, &'static str),
}

/// The TLS handshake of the client failed (`RDPClient_SSL`, KB §2.1 and §5 #7, #13).
pub const SSL_HANDSHAKE_FAILED: Transition = Transition {
    machine: "RDPClient_SSL",
    from: (2, "TsSslStateHandshakeInProgress"),
    to: (0, "TsSslStateDisconnected"),
    event: (9, "TsSslEventHandshakeContinueFailed"),
};

/// The client's TCP connect was rejected by its own stack (sample choice: the names of the TCP
/// state machine are not in the KB).
pub const TCP_CONNECT_FAILED: Transition = Transition {
    machine: "RDPClient_TCP",
    from: (1, "TsTcpStateConnecting"),
    to: (0, "TsTcpStateDisconnected"),
    event: (4, "TsTcpEventConnectFailed"),
};
