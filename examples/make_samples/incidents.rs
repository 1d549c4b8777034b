//! Host-level incidents: what a machine logs when something happens to it rather than to one
//! connection (a certificate that cannot be renewed, a crashed service, a reboot…).
//!
//! Takes: an incident of the scenario (kind, host, time, params).
//! Produces: its events on the host, in the sequence and at the delays Windows logs them: RCM
//! 1052–1058 certificate events, Service Control Manager 7031/7036, RCM 258/260, User32 1074
//! and EventLog 6006/6005/6009 around a reboot, Gateway 700 and 102, RCM Admin 1068/1069,
//! Windows Time 129/36, Tcpip 4227, Netlogon 5719, DC 4771/4740 for a lockout, and the end of a
//! stuck session. Unknown kinds are an error, so a typo in a scenario cannot go unnoticed.

use super::ev_gateway as gw;
use super::ev_host as host;
use super::ev_security as sec;
use super::ev_system as sys;
use super::plan::{DOMAIN_SID, User};
use super::scenario::{param_str, param_u64};
use super::world::World;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Parameters of an incident.
type Params = BTreeMap<String, String>;

/// The incident kinds a scenario may name.
pub const KINDS: &[&str] = &[
    "rdp-cert-key-unreadable",
    "rdp-cert-renewal-failed",
    "termservice-crash",
    "host-reboot",
    "gateway-crash",
    "gateway-cert-expired",
    "licensing-grace-expired",
    "time-sync-lost",
    "port-exhaustion",
    "secure-channel-broken",
    "account-lockout",
    "session-reset",
];

/// Log the incident `kind` on host `h` at `at`.
pub fn run(
    w: &mut World,
    h: usize,
    at: DateTime<Utc>,
    kind: &str,
    params: &Params,
) -> Result<(), String> {
    let f: fn(&mut World, usize, DateTime<Utc>, &Params) = match kind {
        "rdp-cert-key-unreadable" => cert_key_unreadable,
        "rdp-cert-renewal-failed" => cert_renewal_failed,
        "termservice-crash" => termservice_crash,
        "host-reboot" => reboot,
        "gateway-crash" => gateway_crash,
        "gateway-cert-expired" => gateway_cert_expired,
        "licensing-grace-expired" => licensing,
        "time-sync-lost" => time_sync_lost,
        "port-exhaustion" => port_exhaustion,
        "secure-channel-broken" => |w, h, at, p| {
            w.push(
                h,
                at,
                sys::no_secure_channel(param_str(p, "domain", "CONTOSO")),
            );
        },
        "account-lockout" => lockout,
        "session-reset" => session_reset,
        other => {
            return Err(format!(
                "unknown incident kind {other:?} (known: {KINDS:?})"
            ));
        }
    };
    f(w, h, at, params);
    Ok(())
}

fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

/// TermService restarted after the MachineKeys permissions changed: the configured certificate's
/// key cannot be opened (RCM 1055), nor a self-signed one created or replaced (1057, 1058).
fn cert_key_unreadable(w: &mut World, h: usize, at: DateTime<Utc>, _: &Params) {
    let fqdn = w.hosts[h].name().to_string();
    w.push(
        h,
        at,
        sys::service_state("Remote Desktop Services", "running"),
    );
    w.push(h, at + ms(2000), host::rcm_system(1055, 2, &[&fqdn]));
    w.push(
        h,
        at + ms(2040),
        host::rcm_system(1057, 2, &["Keyset does not exist\r\n"]),
    );
    w.push(
        h,
        at + ms(2095),
        host::rcm_system(1058, 2, &["Access is denied.\r\n"]),
    );
}

/// The self-signed certificate expires within `days` (1052), then expires
/// `expires_after_minutes` later and cannot be replaced (1053, 1058, 1057).
fn cert_renewal_failed(w: &mut World, h: usize, at: DateTime<Utc>, p: &Params) {
    w.push(
        h,
        at,
        host::rcm_system(1052, 3, &["", param_str(p, "days", "1")]),
    );
    let expiry = at + Duration::minutes(param_u64(p, "expires_after_minutes", 20) as i64);
    let status = "Object already exists.\r\n";
    w.push(h, expiry, host::rcm_system(1053, 2, &[""]));
    w.push(h, expiry + ms(60), host::rcm_system(1058, 2, &[status]));
    w.push(h, expiry + ms(95), host::rcm_system(1057, 2, &[status]));
}

/// TermService dies (RCM 260, SCM 7031; the port redirector that depends on it, 7034) and is
/// restarted a minute later (7036, RCM 258); every session is left disconnected.
fn termservice_crash(w: &mut World, h: usize, at: DateTime<Utc>, _: &Params) {
    let act = w.rng.activity();
    w.push(h, at, host::listener_failed(&act, 0x8007_06BE));
    w.push(
        h,
        at + ms(300),
        sys::service_crashed("Remote Desktop Services", 1),
    );
    let redirector = "Remote Desktop Services UserMode Port Redirector";
    w.push(h, at + ms(420), sys::service_died(redirector, 1));
    let restart = at + ms(60_400);
    w.push(
        h,
        restart,
        sys::service_state("Remote Desktop Services", "running"),
    );
    let act = w.rng.activity();
    w.push(h, restart + ms(900), host::listener_started(&act));
    for s in w.hosts[h].sessions.values_mut() {
        s.active = false;
    }
}

/// A planned restart for updates: User32 1074, services stop, EventLog 6006; two to three
/// minutes later 6009, 6005, services and the RDP listener start.
fn reboot(w: &mut World, h: usize, at: DateTime<Utc>, _: &Params) {
    let name = w.hosts[h].netbios();
    let process = format!("C:\\Windows\\servicing\\TrustedInstaller.exe ({name})");
    let reason = "Operating System: Upgrade (Planned)";
    w.push(
        h,
        at,
        sys::restart_initiated(&process, &name, reason, "0x80020003"),
    );
    let stopping = [
        "Remote Desktop Services",
        "Windows Update",
        "Windows Modules Installer",
    ];
    for (i, service) in stopping.iter().enumerate() {
        w.push(
            h,
            at + ms(8000 + 1000 * i as i64),
            sys::service_state(service, "stopped"),
        );
    }
    w.push(h, at + ms(14_000), sys::eventlog(6006, &[]));
    let up = at + ms(150_000) + w.rng.millis(0, 20_000);
    let version = ["10.00.", "20348", "", "Multiprocessor Free", "0"];
    w.push(h, up, sys::eventlog(6009, &version));
    w.push(h, up, sys::eventlog(6005, &[]));
    w.push(
        h,
        up + ms(21_000),
        sys::service_state("Remote Desktop Services", "running"),
    );
    let act = w.rng.activity();
    w.push(h, up + ms(22_000), host::listener_started(&act));
    w.hosts[h].sessions.clear();
}

/// The gateway service throws (Gateway 700, `code`), dies (7031) and restarts (7036).
fn gateway_crash(w: &mut World, h: usize, at: DateTime<Utc>, p: &Params) {
    let act = w.rng.guid();
    w.push(h, at, gw::crashed(&act, param_str(p, "code", "0xc0000005")));
    w.push(
        h,
        at + ms(1000),
        sys::service_crashed("Remote Desktop Gateway", 1),
    );
    w.push(
        h,
        at + ms(61_000),
        sys::service_state("Remote Desktop Gateway", "running"),
    );
}

/// The gateway service is restarted with an expired certificate (7036, Gateway 102).
fn gateway_cert_expired(w: &mut World, h: usize, at: DateTime<Utc>, _: &Params) {
    w.push(
        h,
        at,
        sys::service_state("Remote Desktop Gateway", "stopped"),
    );
    w.push(
        h,
        at + ms(4000),
        sys::service_state("Remote Desktop Gateway", "running"),
    );
    let act = w.rng.guid();
    w.push(
        h,
        at + ms(5000),
        gw::certificate_required(&act, 0x800B_0101),
    );
}

/// The licensing grace period is over and no mode is set (RCM Admin 1069, 1068).
fn licensing(w: &mut World, h: usize, at: DateTime<Utc>, _: &Params) {
    w.push(h, at, host::licensing(1069));
    w.push(h, at + ms(20), host::licensing(1068));
}

/// The time service cannot find a source (129), then reports the clock unsynchronized (36).
fn time_sync_lost(w: &mut World, h: usize, at: DateTime<Utc>, p: &Params) {
    let error = "The entry is not found. (0x800706E1)";
    w.push(h, at, sys::time_source_unreachable(error, 15));
    let unsynced = param_u64(p, "unsynchronized_seconds", 172_800) as u32;
    w.push(h, at + ms(900_000), sys::time_unsynchronized(unsynced, 0));
}

/// Tcpip warns `warnings` times that local endpoints are being reused (4227).
fn port_exhaustion(w: &mut World, h: usize, at: DateTime<Utc>, p: &Params) {
    for i in 0..param_u64(p, "warnings", 6) {
        let t = at + Duration::seconds(i as i64 * 45) + w.rng.millis(0, 9000);
        w.push(h, t, sys::tcpip(4227));
    }
}

/// An account locked out by repeated bad passwords from `from` (DC 4771 0x18 ×`attempts`, 4740).
fn lockout(w: &mut World, h: usize, at: DateTime<Utc>, p: &Params) {
    let user = User::parse(param_str(p, "user", "CONTOSO\\bob"));
    let from = param_str(p, "from", "10.10.9.77").to_string();
    let caller = param_str(p, "caller", "PHONE-BOB").to_string();
    let mut t = at;
    for _ in 0..param_u64(p, "attempts", 5) {
        let k = sec::Kdc {
            user: (user.name.clone(), user.realm(), user.sid.clone()),
            service: ("krbtgt".into(), format!("{DOMAIN_SID}-502")),
            ip: (
                format!("::ffff:{from}"),
                w.rng.range(49_500, 64_000).to_string(),
            ),
        };
        w.push(h, t, sec::preauth_failed(&k, 0x18));
        t += w.rng.secs(20.0, 70.0);
    }
    let dc = (format!("{}$", w.hosts[h].netbios()), user.domain.clone());
    let ev = sec::lockout((&user.name, &user.sid), &caller, (&dc.0, &dc.1, 0x3e7));
    w.push(h, t, ev);
}

/// An administrator logs a stuck session of `user` off (LSM 40 reason 2, 23; Security 4634).
fn session_reset(w: &mut World, h: usize, at: DateTime<Utc>, p: &Params) {
    let user = param_str(p, "user", "").to_string();
    let act = host::NULL_ACTIVITY;
    if let Some(s) = w.hosts[h].sessions.remove(&user) {
        let u = User::parse(&user);
        w.push(h, at, host::session_reason(act, s.id, 2));
        w.push(h, at + ms(2000), host::session_user(act, 23, &user, s.id));
        let ev = sec::logoff(&u.sid, &u.name, &u.domain, s.logon_id, 10);
        w.push(h, at + ms(3000), ev);
    }
}
