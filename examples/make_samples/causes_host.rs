//! What each machine logs when the session host itself is the problem (causes `cert.*`,
//! `tls.*`, `session.*`, `server.*`, KB §2.2–§2.6, §3.3, §5 #1, #2, #7, #13, #15, #17).
//!
//! Takes: a resolved attempt ([`Plan`]) whose cause is one of those ids.
//! Produces: its events: Schannel 36870/36871/36874/36887/36888 in the host's System log within
//! a second of the client's attempt, RdpCoreTS 139/97, LSM 36 and 40 (reason 7, or the licensing
//! code), RCM Admin 1069, the client's 226 `RDPClient_SSL` and 1026 code. The host-level history
//! (RCM 1052–1058 minutes before, a service crash) comes from the scenario's incidents.

use super::causes_auth::client_tls_error;
use super::ev_host as host;
use super::ev_system as sys;
use super::flow::{self, Plan, after};
use super::scenario::param_u64;
use super::world::World;
use chrono::Duration;

/// `cert.self-signed-renewal-failed`: the host presents its expired self-signed certificate; the
/// client refuses it (1026 6919) and the host sees the connection end after the handshake.
pub fn cert_renewal(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::host_drop(w, &mut live, (0.35, 0.6), 0);
    let code = param_u64(&p.params, "client_code", 6919) as u32;
    flow::client_fails(w, &mut live, code, (0.3, 0.55));
}

/// `cert.private-key-inaccessible`: Schannel cannot open the credential's private key (36870
/// 0x8009030D, state 10001) and RdpCoreTS reports the security-layer error (139); the client
/// sees the socket close (1026 2308).
pub fn cert_private_key(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    if let Some(s) = p.server {
        let t = after(w, live.t, 0.02, 0.08);
        let tls_act = w.rng.guid();
        w.push(s, t, sys::schannel_key_error(&tls_act, 0x8009_030D, 10001));
        let ip = live.seen.0.clone();
        w.push(
            s,
            t + Duration::milliseconds(2),
            host::security_error(&live.act, 0x8009_030D, &ip),
        );
    }
    flow::host_drop(w, &mut live, (0.08, 0.12), 0);
    let code = param_u64(&p.params, "client_code", 2308) as u32;
    flow::client_fails(w, &mut live, code, (0.1, 0.16));
}

/// `tls.protocol-or-cipher-mismatch`: the client offers only a protocol the host has disabled
/// (36871 state 10013, 36874 with the protocol, 36888 alert 70; RdpCoreTS 139; client 226 and
/// 1026 2310).
pub fn tls_mismatch(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    let protocol = super::scenario::param_str(&p.params, "protocol", "TLS 1.0").to_string();
    if let Some(s) = p.server {
        let t = after(w, live.t, 0.02, 0.06);
        let act = w.rng.guid();
        let ip = live.seen.0.clone();
        w.push(s, t, sys::schannel_credential_error(&act, 10013));
        w.push(
            s,
            t + Duration::microseconds(300),
            sys::schannel_no_cipher(&act, &protocol),
        );
        w.push(
            s,
            t + Duration::microseconds(700),
            sys::schannel_alert_sent(&act, 70, 1205, ""),
        );
        w.push(
            s,
            t + Duration::milliseconds(1),
            host::security_error(&live.act, 0x8009_0331, &ip),
        );
    }
    flow::host_drop(w, &mut live, (0.06, 0.1), 0);
    client_tls_error(w, &mut live, 0x8009_0326);
    let code = param_u64(&p.params, "client_code", 2310) as u32;
    flow::client_fails(w, &mut live, code, (0.005, 0.02));
}

/// `tls.handshake-interference`: a TLS-inspecting middlebox aborts the handshake with the host
/// (36887 alert received, `alert` default 48; RdpCoreTS 139 with the client's address) and resets
/// the client (226 `RDPClient_SSL`, 1026 2308). The host's own credential is healthy.
pub fn tls_interference(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    let alert = param_u64(&p.params, "alert", 48) as u32;
    if let Some(s) = p.server {
        let t = after(w, live.t, 0.03, 0.09);
        let act = w.rng.guid();
        let ip = live.seen.0.clone();
        w.push(s, t, sys::schannel_alert_received(&act, alert));
        w.push(
            s,
            t + Duration::milliseconds(1),
            host::security_error(&live.act, 0x8009_0326, &ip),
        );
    }
    flow::host_drop(w, &mut live, (0.08, 0.12), 0);
    client_tls_error(w, &mut live, 0x8009_0326);
    let code = param_u64(&p.params, "client_code", 2308) as u32;
    flow::client_fails(w, &mut live, code, (0.005, 0.02));
}

/// `session.stuck-or-limit`: NLA succeeds (1149) but the user's disconnected session cannot be
/// reconnected (LSM 41, 36 on the old session) and the host denies the connection (LSM 40
/// reason 7, no LSM 21/25); the client sees 0x904 (extended 0x7 in its dialog).
pub fn session_stuck(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::nla_ok(w, &mut live);
    let Some(s) = p.server else {
        return;
    };
    let u = p.user.clone();
    let old = w.hosts[s].sessions.get(&u.full()).map(|x| x.id);
    let temp = w.hosts[s].next_session;
    w.hosts[s].next_session += 1;
    let act = live.act.clone();
    live.t = after(w, live.t, 0.2, 0.5);
    w.push(s, live.t, host::session_user(&act, 41, &u.full(), temp));
    live.t = after(w, live.t, 0.1, 0.3);
    let stuck = old.unwrap_or(temp);
    let ev = host::session_state_error(
        &act,
        stuck,
        (8, "Disconnected"),
        (13, "EvReconnect"),
        0x8007_139F,
    );
    w.push(s, live.t, ev);
    live.t = after(w, live.t, 0.3, 0.5);
    w.push(s, live.t, host::session_reason(&act, temp, 7));
    flow::host_drop(w, &mut live, (0.05, 0.15), 0);
    flow::client_fails(w, &mut live, 2308, (0.2, 0.4));
}

/// `session.licensing`: no license can be issued (RCM Admin 1069 at the attempt; LSM 40 with
/// the licensing code, default 266 = no remote connections licensed; client 1026 2056).
pub fn session_licensing(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::nla_ok(w, &mut live);
    let Some(s) = p.server else {
        return;
    };
    let u = p.user.clone();
    let temp = w.hosts[s].next_session;
    w.hosts[s].next_session += 1;
    let act = live.act.clone();
    live.t = after(w, live.t, 0.2, 0.4);
    w.push(s, live.t, host::session_user(&act, 41, &u.full(), temp));
    live.t = after(w, live.t, 0.3, 0.7);
    w.push(s, live.t, host::licensing(1069));
    w.push(
        s,
        live.t + Duration::milliseconds(8),
        host::channel_closed(&act, "rdplic", 0),
    );
    let reason = param_u64(&p.params, "reason", 266) as u32;
    live.t = after(w, live.t, 0.05, 0.15);
    w.push(s, live.t, host::session_reason(&act, temp, reason));
    flow::host_drop(w, &mut live, (0.02, 0.08), 0);
    flow::client_fails(w, &mut live, 2056, (0.1, 0.3));
}

/// `server.protocol-error`: the host finds an error in the RDP stream after logon started
/// (RdpCoreTS 97; LSM 40 with the protocol error code, default 0x10C9); the client sees 0x904.
pub fn protocol_error(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::nla_ok(w, &mut live);
    let Some(s) = p.server else {
        return;
    };
    let u = p.user.clone();
    let temp = w.hosts[s].next_session;
    w.hosts[s].next_session += 1;
    let act = live.act.clone();
    live.t = after(w, live.t, 0.2, 0.4);
    w.push(s, live.t, host::session_user(&act, 41, &u.full(), temp));
    live.t = after(w, live.t, 0.6, 1.4);
    w.push(s, live.t, host::protocol_error(&act, "X.224", 0x8007_0057));
    let reason = param_u64(&p.params, "reason", 0x10C9) as u32;
    w.push(
        s,
        live.t + Duration::milliseconds(40),
        host::session_reason(&act, temp, reason),
    );
    flow::host_drop(w, &mut live, (0.01, 0.05), 0);
    flow::client_fails(w, &mut live, 2308, (0.05, 0.2));
}

/// `server.service-unhealthy`: TermService died (7031 from the incident). `mode: dropped`: a
/// working session ends with 0x904 when the service dies, `minutes` after the attempt started
/// (set it to the crash time); default:
/// a connection during the restart is refused (1026 516, nothing logged by the host).
pub fn service_unhealthy(w: &mut World, p: &Plan) {
    if p.params.get("mode").map(String::as_str) == Some("dropped") {
        let mut live = flow::reach_tls(w, p);
        flow::nla_ok(w, &mut live);
        flow::session_up(w, &mut live);
        let drop = p.at + chrono::Duration::milliseconds((p.minutes * 60_000.0) as i64);
        live.t = after(w, drop, 0.3, 1.5);
        let code = param_u64(&p.params, "client_code", 2308) as u32;
        flow::close_client(w, &mut live, code);
        flow::gateway_close(w, &mut live, 1236);
        if let (Some(s), Some(_)) = (p.server, live.session)
            && let Some(sess) = w.hosts[s].sessions.get_mut(&p.user.full())
        {
            sess.active = false;
        }
        return;
    }
    let mut live = flow::begin(w, p);
    let code = param_u64(&p.params, "client_code", 516) as u32;
    flow::client_fails(w, &mut live, code, (1.0, 1.1));
}

/// `server.denied-connection`: the host accepts, authenticates and then denies the connection
/// with nothing more specific in any log (client 1026 2308; the user reports 0x904/0x7).
pub fn denied(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::nla_ok(w, &mut live);
    flow::host_drop(w, &mut live, (1.2, 2.0), 0);
    flow::client_fails(w, &mut live, 2308, (1.3, 2.1));
}
