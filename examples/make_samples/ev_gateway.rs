//! RD Gateway events: `Microsoft-Windows-TerminalServices-Gateway/Operational` (KB §2.5).
//!
//! Takes: the tunnel's ActivityID and the values of each event.
//! Produces: [`Ev`]s with the payload real logs have, `UserData/EventInfo xmlns="aag"` with
//! `Username`, `IpAddress`, `AuthType`, `Resource`, (303: `BytesReceived`, `BytesTransfered`,
//! `SessionDuration`), `ConnectionProtocol`, `ErrorCode` (decimal, 0 = success). Task 2 and
//! opcode 44 are plausible values, not copied from a real log; 312/313 have level 0 as in the
//! KB's sample.

use super::ev::{KW_OPERATIONAL, manifest, s, u};
use super::scenario::LogKind;
use super::world::{Ev, Proc};
use rdptriage::evtx_writer::Value;

const PROVIDER: (&str, &str) = (
    "Microsoft-Windows-TerminalServices-Gateway",
    "{4d5ae6a1-c7c8-4e6d-b840-4d8080b42e1b}",
);
const CHANNEL: &str = "Microsoft-Windows-TerminalServices-Gateway/Operational";

fn gw(act: &str, id: u16, level: u8, opcode: u8) -> Ev {
    manifest(
        PROVIDER,
        LogKind::Gateway,
        CHANNEL,
        Proc::Gateway,
        id,
        level,
        (2, opcode),
        KW_OPERATIONAL,
    )
    .activity(act)
    .user("S-1-5-20")
}

/// What one tunnel event says about the user and the resource.
#[derive(Clone, Debug)]
pub struct Tunnel {
    /// ActivityID of the tunnel.
    pub activity: String,
    /// `DOMAIN\user`.
    pub user: String,
    /// Client address (without port; 312/313 add the port).
    pub ip: String,
    /// Client source port.
    pub port: u16,
    /// The resource (session host) as requested.
    pub resource: String,
}

impl Tunnel {
    fn fields(
        &self,
        user: bool,
        port: bool,
        resource: bool,
        error: u32,
    ) -> Vec<(&'static str, Value)> {
        let ip = if port {
            format!("{}:{}", self.ip, self.port)
        } else {
            self.ip.clone()
        };
        vec![
            ("Username", s(if user { self.user.as_str() } else { "" })),
            ("IpAddress", s(ip)),
            ("AuthType", s(if user { "NTLM" } else { "" })),
            (
                "Resource",
                s(if resource { self.resource.as_str() } else { "" }),
            ),
            ("ConnectionProtocol", s("HTTP")),
            ("ErrorCode", u(error)),
        ]
    }

    /// 312: an outbound transport connection not yet authenticated.
    pub fn transport(&self) -> Ev {
        gw(&self.activity, 312, 0, 0).user_data(
            "EventInfo",
            "aag",
            self.fields(false, true, false, 0),
        )
    }

    /// 200 (CAP passed, `error` 0) or 201 (CAP failed: 23003 denied, 23014 too many connections).
    pub fn cap(&self, error: u32) -> Ev {
        let (id, level) = if error == 0 { (200, 4) } else { (201, 2) };
        gw(&self.activity, id, level, 44).user_data(
            "EventInfo",
            "aag",
            self.fields(true, false, false, error),
        )
    }

    /// 300 (RAP passed) or 301 (RAP failed, 23002).
    pub fn rap(&self, error: u32) -> Ev {
        let (id, level) = if error == 0 { (300, 4) } else { (301, 2) };
        gw(&self.activity, id, level, 44).user_data(
            "EventInfo",
            "aag",
            self.fields(true, false, true, error),
        )
    }

    /// 302: connected to the resource.
    pub fn connected(&self) -> Ev {
        gw(&self.activity, 302, 4, 44).user_data(
            "EventInfo",
            "aag",
            self.fields(true, false, true, 0),
        )
    }

    /// 304: authorized but the resource could not be reached (23005 or a network error).
    pub fn unreachable(&self, error: u32) -> Ev {
        gw(&self.activity, 304, 2, 44).user_data(
            "EventInfo",
            "aag",
            self.fields(true, false, true, error),
        )
    }

    /// 306: no tunnel could be created (e.g. 23022, no certificate available).
    pub fn tunnel_failed(&self, error: u32) -> Ev {
        gw(&self.activity, 306, 2, 44).user_data(
            "EventInfo",
            "aag",
            self.fields(true, false, false, error),
        )
    }

    /// 303: disconnected from the resource, with the bytes and duration (1226 = graceful).
    pub fn disconnected(&self, received: u64, sent: u64, seconds: u32, error: u32) -> Ev {
        gw(&self.activity, 303, 4, 44).user_data(
            "EventInfo",
            "aag",
            vec![
                ("Username", s(&self.user)),
                ("IpAddress", s(&self.ip)),
                ("AuthType", s("NTLM")),
                ("Resource", s(&self.resource)),
                ("BytesReceived", Value::UInt64(received)),
                ("BytesTransfered", Value::UInt64(sent)),
                ("SessionDuration", u(seconds)),
                ("ConnectionProtocol", s("HTTP")),
                ("ErrorCode", u(error)),
            ],
        )
    }

    /// 203: the maximum of simultaneous connections was reached (sample payload: the tunnel
    /// fields with `ErrorCode` 23014).
    pub fn limit_reached(&self) -> Ev {
        gw(&self.activity, 203, 3, 44).user_data(
            "EventInfo",
            "aag",
            self.fields(false, false, false, 23014),
        )
    }
}

/// 700: an exception occurred in the gateway service, which restarts (sample payload).
pub fn crashed(act: &str, code: &str) -> Ev {
    gw(act, 700, 2, 0).user_data(
        "EventInfo",
        "aag",
        vec![("ServiceName", s("TSGateway")), ("ExceptionCode", s(code))],
    )
}

/// 102: the gateway service needs a valid SSL certificate (sample payload: the certificate error
/// as `ErrorCode`, decimal).
pub fn certificate_required(act: &str, error: u32) -> Ev {
    gw(act, 102, 2, 0).user_data("EventInfo", "aag", vec![("ErrorCode", u(error))])
}
