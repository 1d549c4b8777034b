//! The phases of an RDP connection and what each machine logs in them (KB §2.1–§2.5, §4.3).
//!
//! Takes: a resolved connection ([`Plan`]) and the world.
//! Produces: the events of each phase on the machines that log them, at realistic delays: the
//! client's start (1024), the gateway's tunnel (312, 200, 300, 302), the listener accepting TCP
//! (RCM 261, RdpCoreTS 131/65/141), the security negotiation (client 1028), network-level
//! authentication (client 1029; host 4624 type 3, RCM 1149; DC 4769), the session (LSM
//! 41/42/21/22 or 25, 4624 type 10, RdpCoreTS 66/98/135 and the UDP side with its own
//! ActivityID; client 1102/1103/1025/1027) and its end. A [`Live`] carries the state of one
//! connection from phase to phase; cause modules stop it wherever their failure happens.

use super::ev_client::Mstsc;
use super::ev_gateway::Tunnel;
use super::ev_host as host;
use super::ev_security::{self as sec, Kdc, Logon};
use super::scenario::EndKind;
use super::world::World;
use chrono::{DateTime, Duration, Utc};

pub use super::plan::{DOMAIN_SID, Plan};

/// A connection in progress.
pub struct Live {
    /// The attempt.
    pub plan: Plan,
    /// The client's mstsc window.
    pub mstsc: Mstsc,
    /// Time cursor (true time of the last phase).
    pub t: DateTime<Utc>,
    /// Address and port the session host sees (the gateway's when one is in the path).
    pub seen: (String, u16),
    /// ActivityID of the host's TCP connection (RdpCoreTS, RCM, LSM).
    pub act: String,
    /// `RDP-Tcp#N`.
    pub conn_name: String,
    /// The gateway tunnel, if any.
    pub tunnel: Option<Tunnel>,
    /// Session id once a session exists.
    pub session: Option<u32>,
    /// Logon id of the interactive logon.
    pub logon_id: u64,
    /// The UDP side channel came up.
    pub udp: bool,
}

/// A delay between `lo` and `hi` seconds after `t`.
pub fn after(w: &mut World, t: DateTime<Utc>, lo: f64, hi: f64) -> DateTime<Utc> {
    t + w.rng.secs(lo, hi)
}

/// Phase 1: the user starts mstsc (client 1024).
pub fn begin(w: &mut World, plan: &Plan) -> Live {
    let pid = w.mstsc_pid();
    let mstsc = Mstsc {
        pid,
        activity: w.rng.activity(),
        sid: plan.user.sid.clone(),
    };
    let at = plan.at;
    w.push(plan.client, at, mstsc.started(&plan.target));
    let client = &w.hosts[plan.client];
    let seen = (client.address().to_string(), 0);
    Live {
        plan: plan.clone(),
        mstsc,
        t: at,
        seen,
        act: String::new(),
        conn_name: String::new(),
        tunnel: None,
        session: None,
        logon_id: 0,
        udp: false,
    }
}

/// Phase 2a (gateway only): the client's HTTPS transport connection, not yet authenticated (312).
pub fn gateway_transport(w: &mut World, live: &mut Live) {
    let Some(g) = live.plan.gateway else {
        return;
    };
    let port = w.hosts[live.plan.client].port(&mut w.rng);
    let tunnel = Tunnel {
        activity: w.rng.guid(),
        user: live.plan.user.full(),
        ip: w.hosts[live.plan.client].address().to_string(),
        port,
        resource: live.plan.target.clone(),
    };
    live.t = after(w, live.t, 0.03, 0.09);
    w.push(g, live.t, tunnel.transport());
    live.tunnel = Some(tunnel);
}

/// Phase 2 (gateway only): transport connection and CAP check passed (312, 200).
pub fn gateway_authorized(w: &mut World, live: &mut Live) {
    gateway_transport(w, live);
    let (Some(g), Some(tunnel)) = (live.plan.gateway, live.tunnel.clone()) else {
        return;
    };
    live.t = after(w, live.t, 0.2, 0.6);
    w.push(g, live.t, tunnel.cap(0));
}

/// Phase 2b (gateway only): RAP passed and the gateway connects to the resource (300, 302).
pub fn gateway_connected(w: &mut World, live: &mut Live) {
    let (Some(g), Some(tunnel)) = (live.plan.gateway, live.tunnel.clone()) else {
        return;
    };
    live.t = after(w, live.t, 0.04, 0.12);
    w.push(g, live.t, tunnel.rap(0));
    live.t = after(w, live.t, 0.08, 0.2);
    w.push(g, live.t, tunnel.connected());
    let port = w.hosts[g].port(&mut w.rng);
    live.seen = (w.hosts[g].address().to_string(), port);
}

/// Phase 3: the host's listener accepts the TCP connection (RCM 261, RdpCoreTS 131/65/141).
pub fn accept(w: &mut World, live: &mut Live) {
    let Some(s) = live.plan.server else {
        return;
    };
    if live.plan.gateway.is_none() {
        let port = w.hosts[live.plan.client].port(&mut w.rng);
        live.seen.1 = port;
    }
    live.act = w.rng.activity();
    let n = w.hosts[s].next_conn;
    w.hosts[s].next_conn += 1;
    live.conn_name = format!("RDP-Tcp#{n}");
    live.t = after(w, live.t, 0.004, 0.04);
    let t = live.t;
    let client = format!("{}:{}", live.seen.0, live.seen.1);
    w.push(s, t, host::listener_connection(&live.act));
    w.push(
        s,
        t + Duration::microseconds(120),
        host::accepted(&live.act, "TCP", &client),
    );
    w.push(
        s,
        t + Duration::microseconds(400),
        host::created(&live.act, &live.conn_name),
    );
    w.push(
        s,
        t + Duration::microseconds(900),
        host::instance(&live.act, n),
    );
    w.push(
        s,
        t + Duration::microseconds(1300),
        host::method(&live.act, "PrepareForAccept"),
    );
}

/// Phase 4: security negotiation answered (client 1028); the TLS handshake follows.
pub fn negotiate(w: &mut World, live: &mut Live) {
    live.t = after(w, live.t, 0.06, 0.18);
    w.push(live.plan.client, live.t, live.mstsc.ssl_supported());
}

/// The client's 1029 after the credential prompt (or at once with saved credentials).
pub fn credentials_sent(w: &mut World, live: &mut Live) {
    let prompt = live.plan.prompt;
    live.t = if prompt > 0.0 {
        after(w, live.t, prompt * 0.8, prompt * 1.2)
    } else {
        after(w, live.t, 0.15, 0.45)
    };
    let hash = super::digest::user_hash(&live.plan.user.domain, &live.plan.user.name);
    w.push(live.plan.client, live.t, live.mstsc.user_hash(&hash));
}

/// How the host's network logon for NLA looks (Kerberos by name, NTLM by address).
pub fn nla_logon(w: &World, live: &Live, logon_id: u64) -> Logon {
    let by_address = live.plan.target.parse::<std::net::Ipv4Addr>().is_ok();
    let u = &live.plan.user;
    let (process, package, domain) = if by_address {
        ("NtLmSsp ", "NTLM", u.domain.clone())
    } else {
        ("Kerberos", "Kerberos", u.realm())
    };
    let workstation = if by_address {
        w.hosts[live.plan.client].netbios()
    } else {
        "-".to_string()
    };
    Logon {
        subject: (sec::NULL_SID.into(), "-".into(), "-".into(), 0),
        target: (u.sid.clone(), u.name.clone(), domain),
        logon_id,
        logon_type: 3,
        process: process.into(),
        package: package.into(),
        workstation,
        caller: (0, "-".into()),
        ip: (live.seen.0.clone(), live.seen.1.to_string()),
        guid: "{00000000-0000-0000-0000-000000000000}".into(),
    }
}

/// Phase 5: NLA succeeds (client 1029; DC 4769; host 4624 type 3 and RCM 1149).
pub fn nla_ok(w: &mut World, live: &mut Live) {
    credentials_sent(w, live);
    let Some(s) = live.plan.server else {
        return;
    };
    if let Some(dc) = live.plan.dc {
        let k = kdc_request(w, live, s);
        let t = after(w, live.t, 0.01, 0.04);
        w.push(dc, t, sec::service_ticket(&k, 0));
    }
    let logon_id = w.hosts[s].logon_id(&mut w.rng);
    let mut logon = nla_logon(w, live, logon_id);
    logon.guid = w.rng.guid();
    live.t = after(w, live.t, 0.08, 0.3);
    w.push(s, live.t, sec::logon_success(&logon, false));
    let u = live.plan.user.clone();
    live.t = after(w, live.t, 0.01, 0.05);
    w.push(
        s,
        live.t,
        host::authenticated(&live.act, &u.name, &u.domain, &live.seen.0),
    );
    for (i, channel) in ["rdplic", "rdpcmd"].iter().enumerate() {
        let t = live.t + Duration::microseconds(150 + 40 * i as i64);
        w.push(s, t, host::channel_opened(&live.act, channel, 0));
    }
}

/// What the KDC sees of this client asking for a ticket to the session host.
pub fn kdc_request(w: &mut World, live: &Live, server: usize) -> Kdc {
    let u = &live.plan.user;
    let client = &mut w.hosts[live.plan.client];
    let ip = format!("::ffff:{}", client.address());
    let port = client.port(&mut w.rng);
    let server_host = w.hosts[server].netbios();
    Kdc {
        user: (u.name.clone(), u.realm(), u.sid.clone()),
        service: (
            format!("{server_host}$"),
            format!("{DOMAIN_SID}-{}", 1600 + server_host.len()),
        ),
        ip: (ip, port.to_string()),
    }
}

/// Phase 6: the session is created or reconnected, and the client reports it (1025, 1027).
pub fn session_up(w: &mut World, live: &mut Live) {
    let Some(s) = live.plan.server else {
        // A host outside the scenario: only the client's side is known.
        let session = w.rng.range(2, 9) as u32;
        live.session = Some(session);
        live.t = after(w, live.t, 1.5, 3.5);
        w.push(live.plan.client, live.t, live.mstsc.connected());
        live.t = after(w, live.t, 0.8, 2.5);
        let domain = live.plan.user.domain.clone();
        w.push(
            live.plan.client,
            live.t,
            live.mstsc.logged_on(&domain, session),
        );
        return;
    };
    let u = live.plan.user.clone();
    let act = live.act.clone();
    let existing = w.hosts[s].sessions.get(&u.full()).cloned();
    let (session, reconnect) = match existing {
        Some(old) => (old.id, true),
        None => {
            let id = w.hosts[s].next_session;
            w.hosts[s].next_session += 1;
            (id, false)
        }
    };
    live.session = Some(session);
    live.t = after(w, live.t, 0.1, 0.3);
    w.push(s, live.t, host::session_user(&act, 41, &u.full(), session));
    w.push(
        s,
        live.t + Duration::milliseconds(30),
        host::session_user(&act, 42, &u.full(), session),
    );
    live.t = after(w, live.t, 0.15, 0.4);
    w.push(s, live.t, host::assigned(&act, &live.conn_name, session));
    w.push(
        s,
        live.t + Duration::milliseconds(12),
        host::tcp_established(&act),
    );
    let via_udp = live.plan.gateway.is_none();
    let transport = if via_udp {
        "UDP: Reason Code: 0 (Client and Server Support)"
    } else {
        "TCP: Reason Code: 1 (No Client UDP Support)"
    };
    w.push(
        s,
        live.t + Duration::milliseconds(13),
        host::transport(&act, 1, transport),
    );
    interactive_logon(w, live, s, session, reconnect);
    if via_udp {
        udp_side(w, live, s);
    }
    let c = live.plan.client;
    live.t = after(w, live.t, 0.05, 0.2);
    w.push(c, live.t, live.mstsc.connected());
    live.t = after(w, live.t, 0.8, 2.5);
    w.push(c, live.t, live.mstsc.logged_on(&u.domain, session));
    let logon_id = live.logon_id;
    w.hosts[s].sessions.insert(
        u.full(),
        super::world::Session {
            id: session,
            active: true,
            logon_id,
        },
    );
}

/// The interactive logon of a new session (4624 type 10, LSM 21/22) or a reconnect (LSM 25, 4778).
fn interactive_logon(w: &mut World, live: &mut Live, s: usize, session: u32, reconnect: bool) {
    let u = live.plan.user.clone();
    let act = live.act.clone();
    let addr = live.seen.0.clone();
    let machine = (
        "S-1-5-18".to_string(),
        format!("{}$", w.hosts[s].netbios()),
        u.domain.clone(),
        0x3e7,
    );
    live.logon_id = w.hosts[s].logon_id(&mut w.rng);
    let winlogon = (
        u64::from(w.rng.range(0x1000, 0x3000) as u32 & !3),
        "C:\\Windows\\System32\\winlogon.exe".to_string(),
    );
    let logon = Logon {
        subject: machine,
        target: (u.sid.clone(), u.name.clone(), u.domain.clone()),
        logon_id: live.logon_id,
        logon_type: 10,
        process: "User32 ".into(),
        package: "Negotiate".into(),
        workstation: w.hosts[s].netbios(),
        caller: winlogon,
        ip: (addr.clone(), "0".into()),
        guid: w.rng.guid(),
    };
    live.t = after(w, live.t, 0.3, 1.2);
    w.push(s, live.t, sec::logon_success(&logon, u.admin));
    if u.admin {
        w.push(
            s,
            live.t,
            sec::special_privileges(&u.sid, &u.name, &u.domain, live.logon_id),
        );
    }
    live.t = after(w, live.t, 0.1, 0.3);
    if reconnect {
        w.push(
            s,
            live.t,
            host::session_event(&act, 25, &u.full(), session, &addr),
        );
        let client = w.hosts[live.plan.client].netbios();
        let ev = sec::window_station(
            4778,
            (&u.name, &u.domain, live.logon_id),
            &live.conn_name,
            (&client, &addr),
        );
        w.push(s, live.t + Duration::milliseconds(20), ev);
    } else {
        w.push(
            s,
            live.t,
            host::session_event(&act, 21, &u.full(), session, &addr),
        );
        live.t = after(w, live.t, 0.8, 2.2);
        w.push(
            s,
            live.t,
            host::session_event(&act, 22, &u.full(), session, &addr),
        );
    }
}

/// The UDP side channel: its own ActivityID on the host (131 UDP), 1102/1103 on the client.
fn udp_side(w: &mut World, live: &mut Live, s: usize) {
    let server_ip = w.hosts[s].address().to_string();
    live.t = after(w, live.t, 0.05, 0.2);
    w.push(
        live.plan.client,
        live.t,
        live.mstsc.multitransport(&server_ip),
    );
    let udp_act = w.rng.activity();
    let port = w.hosts[live.plan.client].port(&mut w.rng);
    let t = after(w, live.t, 0.01, 0.04);
    w.push(
        s,
        t,
        host::accepted(&udp_act, "UDP", &format!("[{}]:{port}", live.seen.0)),
    );
    live.t = after(w, t, 0.02, 0.08);
    w.push(live.plan.client, live.t, live.mstsc.multitransport_up());
    live.udp = true;
}

/// Phase 7: the session ends as planned (window closed, sign-out) or stays open.
pub fn session_end(w: &mut World, live: &mut Live) {
    let minutes = live.plan.minutes;
    let end = live.plan.end;
    if end == EndKind::Open {
        return;
    }
    let t_end = after(w, live.t, minutes * 60.0 * 0.95, minutes * 60.0 * 1.05);
    live.t = t_end;
    let reason = if end == EndKind::Logoff { 2 } else { 1 };
    close_client(w, live, reason);
    if let Some(s) = live.plan.server {
        host_close(w, live, s, end == EndKind::Logoff, 0);
    }
    gateway_close(w, live, 1226);
}

/// The client's last events: 1105 when UDP was up, then 1026 with `reason`.
pub fn close_client(w: &mut World, live: &mut Live, reason: u32) {
    let c = live.plan.client;
    if live.udp {
        w.push(c, live.t, live.mstsc.multitransport_down());
    }
    let t = after(w, live.t, 0.002, 0.03);
    w.push(c, t, live.mstsc.disconnected(reason));
    w.trace.client_code = Some(reason);
}

/// The host's side of a session ending: RdpCoreTS 148/102/103, LSM 24 + 40 (`lsm_reason`) or
/// a logoff (LSM 23, 40 reason 12, Security 4647/4634), Security 4779.
pub fn host_close(w: &mut World, live: &mut Live, s: usize, logoff: bool, lsm_reason: u32) {
    let act = live.act.clone();
    let u = live.plan.user.clone();
    let Some(session) = live.session else {
        return;
    };
    let mut t = after(w, live.t, 0.02, 0.09);
    for (i, channel) in ["rdpinpt", "rdpcmd", "rdplic"].iter().enumerate() {
        w.push(
            s,
            t + Duration::microseconds(i as i64 * 90),
            host::channel_closed(&act, channel, 0),
        );
    }
    t = after(w, t, 0.01, 0.05);
    w.push(s, t, host::terminated(&act));
    w.push(
        s,
        t + Duration::microseconds(310),
        host::disconnect_reason(&act, 0),
    );
    t = after(w, t, 0.05, 0.2);
    if logoff {
        w.push(
            s,
            t,
            sec::user_logoff(&u.sid, &u.name, &u.domain, live.logon_id),
        );
        t = after(w, t, 0.6, 2.0);
        w.push(
            s,
            t,
            host::session_user(host::NULL_ACTIVITY, 23, &u.full(), session),
        );
        w.push(s, t, host::session_reason(&act, session, 12));
        w.push(
            s,
            t + Duration::milliseconds(40),
            sec::logoff(&u.sid, &u.name, &u.domain, live.logon_id, 10),
        );
        w.hosts[s].sessions.remove(&u.full());
    } else {
        w.push(s, t, host::session_reason(&act, session, lsm_reason));
        w.push(
            s,
            t + Duration::milliseconds(60),
            host::session_event(&act, 24, &u.full(), session, &live.seen.0),
        );
        let client = w.hosts[live.plan.client].netbios();
        let ev = sec::window_station(
            4779,
            (&u.name, &u.domain, live.logon_id),
            &live.conn_name,
            (&client, &live.seen.0),
        );
        w.push(s, t + Duration::milliseconds(75), ev);
        if let Some(sess) = w.hosts[s].sessions.get_mut(&u.full()) {
            sess.active = false;
        }
    }
}

/// The gateway's 303 for the tunnel, with `error` (1226 graceful).
pub fn gateway_close(w: &mut World, live: &mut Live, error: u32) {
    let (Some(g), Some(tunnel)) = (live.plan.gateway, live.tunnel.clone()) else {
        return;
    };
    let seconds = (live.t - live.plan.at).num_seconds().max(1) as u32;
    let received = u64::from(seconds) * w.rng.range(20_000, 90_000);
    let sent = received / w.rng.range(8, 20);
    let t = after(w, live.t, 0.05, 0.3);
    w.push(g, t, tunnel.disconnected(received, sent, seconds, error));
}

/// The host drops a connection before any session: RdpCoreTS 102 and 103 after `delay` seconds.
pub fn host_drop(w: &mut World, live: &mut Live, delay: (f64, f64), reason: u32) {
    let Some(s) = live.plan.server else {
        return;
    };
    let t = after(w, live.t, delay.0, delay.1);
    w.push(s, t, host::terminated(&live.act));
    w.push(
        s,
        t + Duration::microseconds(250),
        host::disconnect_reason(&live.act, reason),
    );
}

/// A whole working connection: every phase, then the planned end.
pub fn success(w: &mut World, plan: &Plan) {
    let mut live = begin(w, plan);
    gateway_authorized(w, &mut live);
    gateway_connected(w, &mut live);
    accept(w, &mut live);
    negotiate(w, &mut live);
    nla_ok(w, &mut live);
    session_up(w, &mut live);
    session_end(w, &mut live);
}

/// The phases every attempt that reaches the host's TLS goes through: start, gateway tunnel,
/// TCP accept, security negotiation.
pub fn reach_tls(w: &mut World, plan: &Plan) -> Live {
    let mut live = begin(w, plan);
    gateway_authorized(w, &mut live);
    gateway_connected(w, &mut live);
    accept(w, &mut live);
    negotiate(w, &mut live);
    live
}

/// The client gives up with `code` between `lo` and `hi` seconds later (1026), and the gateway
/// closes the tunnel; returns the time of the 1026.
pub fn client_fails(
    w: &mut World,
    live: &mut Live,
    code: u32,
    (lo, hi): (f64, f64),
) -> DateTime<Utc> {
    live.t = after(w, live.t, lo, hi);
    close_client(w, live, code);
    gateway_close(w, live, 1226);
    live.t
}
