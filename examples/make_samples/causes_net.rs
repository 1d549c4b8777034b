//! What each machine logs when the network or the RD Gateway is the problem (causes
//! `network.*` and `gateway.*`, KB §2.5, §2.8, §2.13, §3.4, §3.6, §5 #3–#6, #8, #18).
//!
//! Takes: a resolved attempt ([`Plan`]) whose cause is a `network.*` or `gateway.*` id.
//! Produces: its events: the client's start and its 1026 code (260 name not found, 516 connect
//! failed, 2308 socket closed, gateway codes 0x3000xxx), the client's 1007/226, DNS client 1014
//! and Tcpip 4231 in the client's System log, WFP 5157 on the host, RdpCoreTS 226/143 and LSM
//! 24/40 for a dropped session, and the gateway's 312/201/203/301/304/306 with their error codes.

use super::ev_client::TCP_CONNECT_FAILED;
use super::ev_host as host;
use super::ev_security as sec;
use super::ev_system as sys;
use super::flow::{self, Live, Plan, after};
use super::scenario::param_u64;
use super::world::World;
use chrono::Duration;

/// `network.name-resolution`: no DNS server answers for the target (client 1007, System
/// DNS client 1014 after the resolver's time-out, 1026 260).
pub fn name_resolution(w: &mut World, p: &Plan) {
    let mut live = flow::begin(w, p);
    let fqdn = if p.target.contains('.') {
        p.target.clone()
    } else {
        format!("{}.contoso.local", p.target)
    };
    live.t = after(w, live.t, 10.0, 10.6);
    w.push(p.client, live.t, sys::dns_timeout(&fqdn, [10, 20, 0, 10]));
    live.t = after(w, live.t, 0.01, 0.05);
    w.push(p.client, live.t, live.mstsc.dns_failed(11002));
    let code = param_u64(&p.params, "client_code", 260) as u32;
    flow::client_fails(w, &mut live, code, (0.005, 0.02));
}

/// WFP 5157 on the host for each SYN it dropped (inbound, to svchost on port 3389).
fn blocked_syns(w: &mut World, live: &Live, port: u16, tries: &[f64]) {
    let Some(s) = live.plan.server else {
        return;
    };
    let dest = w.hosts[s].address().to_string();
    let source = w.hosts[live.plan.client].address().to_string();
    let app = "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe";
    for &delay in tries {
        let t = live.t + Duration::milliseconds((delay * 1000.0) as i64) + w.rng.millis(3, 40);
        let pid = 1100 + (s as u64) * 4;
        w.push(
            s,
            t,
            sec::wfp_blocked((pid, app), true, (&source, port), (&dest, 3389)),
        );
    }
}

/// `network.blocked-before-server`: nothing reaches the listener (host Security 5157 when
/// filtering-platform auditing is on; client 1026 516 after the connect time-out).
pub fn blocked(w: &mut World, p: &Plan) {
    let mut live = flow::begin(w, p);
    let port = w.hosts[p.client].port(&mut w.rng);
    blocked_syns(w, &live, port, &[0.0, 1.0, 3.0, 7.0]);
    let code = param_u64(&p.params, "client_code", 516) as u32;
    flow::client_fails(w, &mut live, code, (20.8, 21.3));
}

/// `network.connection-lost`: a working session drops (client 1105 and 1026 2308; host
/// RdpCoreTS 143 error 64 and 226 0x80070040, LSM 40 reason 0 and 24).
pub fn connection_lost(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::nla_ok(w, &mut live);
    flow::session_up(w, &mut live);
    let minutes = p.minutes;
    let drop = after(w, live.t, minutes * 60.0 * 0.9, minutes * 60.0 * 1.1);
    if let Some(s) = p.server {
        let t = drop + w.rng.secs(15.0, 25.0);
        let act = live.act.clone();
        w.push(s, t, host::udp_error(&act, 64));
        w.push(
            s,
            t + Duration::milliseconds(1),
            host::state_error(&act, 0x8007_0040),
        );
        live.t = t;
        flow::host_close(w, &mut live, s, false, 0);
    }
    live.t = drop + w.rng.secs(20.0, 35.0);
    let code = param_u64(&p.params, "client_code", 2308) as u32;
    flow::close_client(w, &mut live, code);
    flow::gateway_close(w, &mut live, 1236);
}

/// `network.port-exhaustion`: the client has no ephemeral port left (System Tcpip 4231 at the
/// attempt; 4227 before it comes from the incident); 1026 516 at once.
pub fn port_exhaustion(w: &mut World, p: &Plan) {
    let mut live = flow::begin(w, p);
    let t = after(w, live.t, 0.01, 0.05);
    w.push(p.client, t, sys::tcpip(4231));
    if let Some(g) = p.gateway {
        w.push(g, t, sys::tcpip(4231));
    }
    let code = param_u64(&p.params, "client_code", 516) as u32;
    flow::client_fails(w, &mut live, code, (0.1, 0.3));
}

/// `network.local-stack-fault`: the client's own stack rejects the connect (226 with
/// 0x80072726 WSAEINVAL), nothing leaves the machine; 1026 516.
pub fn local_stack(w: &mut World, p: &Plan) {
    let mut live = flow::begin(w, p);
    live.t = after(w, live.t, 0.01, 0.04);
    w.push(
        p.client,
        live.t,
        live.mstsc.state_error(&TCP_CONNECT_FAILED, 0x8007_2726),
    );
    let code = param_u64(&p.params, "client_code", 516) as u32;
    flow::client_fails(w, &mut live, code, (0.01, 0.05));
}

/// The gateway's transport connection (312) and the CAP check passed (200).
fn authorized_tunnel(w: &mut World, p: &Plan) -> Live {
    let mut live = flow::begin(w, p);
    flow::gateway_authorized(w, &mut live);
    live
}

/// `gateway.capacity-exhausted`: the gateway is at its connection limit (203; 201 with 23014;
/// client 0x3000022). Gateway 700 and the service restart come from the incident.
pub fn gateway_capacity(w: &mut World, p: &Plan) {
    let mut live = flow::begin(w, p);
    let Some(g) = p.gateway else {
        return;
    };
    flow::gateway_transport(w, &mut live);
    if let Some(tunnel) = live.tunnel.clone() {
        live.t = after(w, live.t, 0.1, 0.3);
        w.push(g, live.t, tunnel.limit_reached());
        w.push(g, live.t + Duration::milliseconds(4), tunnel.cap(23014));
    }
    let code = param_u64(&p.params, "client_code", 0x0300_0022) as u32;
    live.tunnel = None;
    flow::client_fails(w, &mut live, code, (0.1, 0.4));
}

/// `gateway.policy-denied`: CAP (201, 23003; client 0x300001C) or, with `stage: rap`, RAP (301,
/// 23002; client 0x300001B) refuses the user.
pub fn gateway_policy(w: &mut World, p: &Plan) {
    let rap = p.params.get("stage").map(String::as_str) == Some("rap");
    let mut live = if rap {
        authorized_tunnel(w, p)
    } else {
        let mut live = flow::begin(w, p);
        flow::gateway_transport(w, &mut live);
        live
    };
    let (Some(g), Some(tunnel)) = (p.gateway, live.tunnel.clone()) else {
        return;
    };
    live.t = after(w, live.t, 0.1, 0.4);
    let default_code = if rap {
        w.push(g, live.t, tunnel.rap(23002));
        0x0300_001B
    } else {
        w.push(g, live.t, tunnel.cap(23003));
        0x0300_001C
    };
    live.tunnel = None;
    let code = param_u64(&p.params, "client_code", default_code) as u32;
    flow::client_fails(w, &mut live, code, (0.1, 0.3));
}

/// `gateway.target-unreachable`: CAP and RAP pass, the gateway cannot reach the host (304 with
/// 23005 after its connect time-out; client 0x3000008).
pub fn gateway_target(w: &mut World, p: &Plan) {
    let mut live = authorized_tunnel(w, p);
    let (Some(g), Some(tunnel)) = (p.gateway, live.tunnel.clone()) else {
        return;
    };
    live.t = after(w, live.t, 0.05, 0.12);
    w.push(g, live.t, tunnel.rap(0));
    live.t = after(w, live.t, 20.9, 21.2);
    let error = param_u64(&p.params, "error", 23005) as u32;
    w.push(g, live.t, tunnel.unreachable(error));
    live.tunnel = None;
    let code = param_u64(&p.params, "client_code", 0x0300_0008) as u32;
    flow::client_fails(w, &mut live, code, (0.05, 0.2));
}

/// `gateway.certificate-problem`: the gateway's certificate is expired (306 with
/// CERT_E_EXPIRED; 102 comes from the incident); client 0x3000007.
pub fn gateway_certificate(w: &mut World, p: &Plan) {
    let mut live = flow::begin(w, p);
    flow::gateway_transport(w, &mut live);
    let (Some(g), Some(tunnel)) = (p.gateway, live.tunnel.clone()) else {
        return;
    };
    live.t = after(w, live.t, 0.2, 0.5);
    let error = param_u64(&p.params, "error", 0x800B_0101) as u32;
    w.push(g, live.t, tunnel.tunnel_failed(error));
    live.tunnel = None;
    let code = param_u64(&p.params, "client_code", 0x0300_0007) as u32;
    flow::client_fails(w, &mut live, code, (0.02, 0.1));
}
