//! What each machine logs when authentication fails (causes `auth.*`, KB §2.9–§2.12, §3.2,
//! §5 #9–#12, #14, #16).
//!
//! Takes: a resolved attempt ([`Plan`]) whose cause is one of the `auth.*` ids, and its params.
//! Produces: the attempt's events on client, host, DC: the phases up to the failure (`flow`),
//! then the cause's evidence on the machine that logs it: RdpCoreTS 140 and 4625 with the
//! logon status on the host, 4771/4776 on the DC, LsaSrv 6041 or Kerberos 3 in the client's
//! System log, the client's 1026 code. Params: `status`/`substatus`/`client_code` override codes.

use super::ev_client::SSL_HANDSHAKE_FAILED;
use super::ev_host as host;
use super::ev_security as sec;
use super::ev_system as sys;
use super::flow::{self, Live, Plan, after};
use super::scenario::param_u64;
use super::world::World;
use chrono::Duration;

/// The host's failed NLA network logon (4625 type 3 through NTLM, as a fallback from Kerberos).
fn nla_failure(w: &mut World, live: &mut Live, status: u32, sub: u32) {
    let Some(s) = live.plan.server else {
        return;
    };
    let mut logon = flow::nla_logon(w, live, 0);
    logon.process = "NtLmSsp ".into();
    logon.package = "NTLM".into();
    logon.target.0 = sec::NULL_SID.into();
    logon.target.2 = live.plan.user.domain.clone();
    logon.workstation = w.hosts[live.plan.client].netbios();
    live.t = after(w, live.t, 0.1, 0.35);
    w.push(s, live.t, sec::logon_failure(&logon, status, sub));
}

/// The DC's side of a rejected password: Kerberos pre-auth fails, then the NTLM validation.
fn dc_rejects(w: &mut World, live: &Live, kerberos: u32, ntlm: u32) {
    let (Some(dc), Some(s)) = (live.plan.dc, live.plan.server) else {
        return;
    };
    let k = flow::kdc_request(w, live, s);
    let mut k = k;
    k.service = ("krbtgt".into(), format!("{}-502", flow::DOMAIN_SID));
    let t = live.t - Duration::milliseconds(180);
    w.push(dc, t, sec::preauth_failed(&k, kerberos));
    let workstation = w.hosts[live.plan.client].netbios();
    let t = live.t - Duration::milliseconds(20);
    w.push(
        dc,
        t,
        sec::ntlm_validation(&live.plan.user.name, &workstation, ntlm),
    );
}

/// The host tears the connection down after a failed logon (RdpCoreTS 226, 102, 103).
fn host_teardown(w: &mut World, live: &mut Live, reason: u32) {
    let Some(s) = live.plan.server else {
        return;
    };
    let t = after(w, live.t, 1.0, 1.4);
    w.push(s, t, host::state_error(&live.act, 0x8007_0040));
    w.push(
        s,
        t + Duration::milliseconds(2),
        host::terminated(&live.act),
    );
    w.push(
        s,
        t + Duration::milliseconds(3),
        host::disconnect_reason(&live.act, reason),
    );
}

/// `auth.bad-credentials`: wrong password or unknown user (RdpCoreTS 140; 4625 0xC000006D /
/// `substatus` 0xC000006A; DC 4771 0x18 and 4776; client 1009 and 1026 2055).
pub fn bad_credentials(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::credentials_sent(w, &mut live);
    let sub = param_u64(&p.params, "substatus", 0xC000_006A) as u32;
    let unknown_user = sub == 0xC000_0064;
    nla_failure(w, &mut live, 0xC000_006D, sub);
    dc_rejects(w, &live, if unknown_user { 0x6 } else { 0x18 }, sub);
    if let Some(s) = p.server {
        let t = after(w, live.t, 0.001, 0.01);
        let ip = live.seen.0.clone();
        w.push(s, t, host::bad_credentials(&live.act, &ip));
    }
    let code = param_u64(
        &p.params,
        "client_code",
        if unknown_user { 2567 } else { 2055 },
    ) as u32;
    live.t = after(w, live.t, 0.05, 0.2);
    w.push(
        p.client,
        live.t,
        live.mstsc.credentials_rejected(0x8009_030C),
    );
    host_teardown(w, &mut live, 14);
    flow::client_fails(w, &mut live, code, (0.01, 0.05));
}

/// `auth.account-restricted`: locked out, disabled, expired (4625 with the status; DC 4771 0x12;
/// client code for the status).
pub fn account_restricted(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::credentials_sent(w, &mut live);
    let sub = param_u64(&p.params, "substatus", 0xC000_0234) as u32;
    let (status, sub) = if sub == 0xC000_0234 {
        (0xC000_0234, 0)
    } else {
        (0xC000_006E, sub)
    };
    let default_code = match sub {
        0 => 3335,
        0xC000_0072 => 2823,
        0xC000_0193 => 3591,
        0xC000_0071 => 3847,
        0xC000_0224 => 4615,
        _ => 3079,
    };
    nla_failure(w, &mut live, status, sub);
    dc_rejects(w, &live, 0x12, if sub == 0 { status } else { sub });
    host_teardown(w, &mut live, 14);
    let code = param_u64(&p.params, "client_code", default_code) as u32;
    flow::client_fails(w, &mut live, code, (0.05, 0.2));
}

/// `auth.logon-right-missing`: NLA succeeds, then the host refuses Remote Desktop to the user:
/// 4825 (not in Remote Desktop Users, `how: group`) or 4625 0xC000015B (`how: right`, missing
/// or denied "log on through Remote Desktop Services").
pub fn logon_right_missing(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::nla_ok(w, &mut live);
    let Some(s) = p.server else {
        return;
    };
    let u = p.user.clone();
    let temp = w.hosts[s].next_session;
    w.hosts[s].next_session += 1;
    live.t = after(w, live.t, 0.1, 0.3);
    w.push(
        s,
        live.t,
        host::session_user(&live.act, 41, &u.full(), temp),
    );
    live.t = after(w, live.t, 0.2, 0.6);
    if p.params.get("how").map(String::as_str) == Some("right") {
        let mut logon = flow::nla_logon(w, &live, 0);
        logon.subject = (
            "S-1-5-18".into(),
            format!("{}$", w.hosts[s].netbios()),
            u.domain.clone(),
            0x3e7,
        );
        logon.target = (sec::NULL_SID.into(), u.name.clone(), u.domain.clone());
        logon.logon_type = 10;
        logon.process = "User32 ".into();
        logon.package = "Negotiate".into();
        logon.workstation = w.hosts[s].netbios();
        logon.caller = (0x1d4c, "C:\\Windows\\System32\\winlogon.exe".into());
        logon.ip.1 = "0".into();
        w.push(s, live.t, sec::logon_failure(&logon, 0xC000_015B, 0));
    } else {
        let logon_id = w.hosts[s].logon_id(&mut w.rng);
        w.push(
            s,
            live.t,
            sec::rdp_denied(&u.name, &u.domain, logon_id, &live.seen.0),
        );
    }
    flow::host_drop(w, &mut live, (0.3, 0.8), 0);
    let code = param_u64(&p.params, "client_code", 2308) as u32;
    flow::client_fails(w, &mut live, code, (0.9, 1.5));
}

/// `auth.credssp-oracle-mismatch`: the client's CredSSP policy refuses the host's protocol
/// version (client System LsaSrv 6041); the host only sees the connection end.
pub fn credssp_oracle(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    live.t = after(w, live.t, 0.2, 0.4);
    let spn = format!("TERMSRV/{}", p.target);
    let version = super::scenario::param_str(&p.params, "offered_version", "4").to_string();
    w.push(p.client, live.t, sys::credssp_blocked(&spn, &version));
    flow::host_drop(w, &mut live, (0.02, 0.1), 0);
    let code = param_u64(&p.params, "client_code", 2310) as u32;
    flow::client_fails(w, &mut live, code, (0.01, 0.04));
}

/// `auth.nla-unsupported`: the host requires NLA, the client does not offer it; the host's
/// negotiation fails at once (131 then 102/103) and the client reports 2825.
pub fn nla_unsupported(w: &mut World, p: &Plan) {
    let mut live = flow::begin(w, p);
    flow::gateway_authorized(w, &mut live);
    flow::gateway_connected(w, &mut live);
    flow::accept(w, &mut live);
    flow::host_drop(w, &mut live, (0.005, 0.03), 0);
    flow::client_fails(w, &mut live, 2825, (0.04, 0.12));
}

/// `auth.clock-skew`: the client's clock is off by more than Kerberos allows (DC 4771 0x25;
/// client Kerberos 3 KRB_AP_ERR_SKEW; client 1026 7431).
pub fn clock_skew(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    live.t = after(w, live.t, 0.15, 0.3);
    if let (Some(dc), Some(s)) = (p.dc, p.server) {
        let mut k = flow::kdc_request(w, &live, s);
        k.service = ("krbtgt".into(), format!("{}-502", flow::DOMAIN_SID));
        w.push(dc, live.t, sec::preauth_failed(&k, 0x25));
    }
    let dc_clock = p.dc.map(|d| w.hosts[d].clock).unwrap_or_default();
    let server_time = (live.t + dc_clock)
        .format("%-H:%M:%S.0000 %-m/%-d/%Y (UTC)")
        .to_string();
    let realm = p.user.realm();
    let t = after(w, live.t, 0.005, 0.02);
    let ev = sys::kerberos_error(
        &server_time,
        0x25,
        "KRB_AP_ERR_SKEW",
        &realm,
        &format!("krbtgt/{realm}"),
    );
    w.push(p.client, t, ev);
    flow::host_drop(w, &mut live, (0.1, 0.3), 0);
    flow::client_fails(w, &mut live, 7431, (0.12, 0.3));
}

/// `auth.domain-unreachable`: the host cannot reach its domain (broken secure channel): 4625
/// 0xC000018D on the host, LsaSrv 40960 on the client, client 1026 6151.
pub fn domain_unreachable(w: &mut World, p: &Plan) {
    let mut live = flow::reach_tls(w, p);
    flow::credentials_sent(w, &mut live);
    let status = param_u64(&p.params, "status", 0xC000_018D) as u32;
    nla_failure(w, &mut live, status, 0);
    let spn = format!("TERMSRV/{}", p.target);
    let t = after(w, live.t, 0.05, 0.1);
    let ev = sys::sspi_error(
        &spn,
        "Kerberos",
        "The target principal name is incorrect. (0xc0000388)",
    );
    w.push(p.client, t, ev);
    host_teardown(w, &mut live, 14);
    flow::client_fails(w, &mut live, 6151, (0.1, 0.3));
}

/// The client's TLS handshake failed (226 `RDPClient_SSL`), used by TLS causes.
pub fn client_tls_error(w: &mut World, live: &mut Live, code: u32) {
    live.t = after(w, live.t, 0.01, 0.05);
    let client = live.plan.client;
    w.push(
        client,
        live.t,
        live.mstsc.state_error(&SSL_HANDSHAKE_FAILED, code),
    );
}
