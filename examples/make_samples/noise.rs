//! Background noise: what machines log all day whatever happens to Remote Desktop.
//!
//! Takes: the world and the scenario's window.
//! Produces, per host and supplied log: Service Control Manager 7036 pairs (a service starts,
//! stops a few minutes later) and the odd 7040 in System; service logons (4624 type 5 + 4672),
//! monitoring logons from another server (4624 type 3 + 4634) on session hosts and gateways;
//! Kerberos and NTLM traffic of other users and machines on domain controllers; on clients now
//! and then a DNS time-out for an unrelated name. Nothing here touches a connection's addresses,
//! so it cannot be mistaken for part of an attempt by address.

use super::ev_security::{self as sec, Kdc, Logon};
use super::ev_system as sys;
use super::plan::DOMAIN_SID;
use super::scenario::Role;
use super::world::World;
use chrono::{DateTime, Duration, Utc};

const SERVICES: &[&str] = &[
    "Windows Update",
    "Windows Modules Installer",
    "WinHTTP Web Proxy Auto-Discovery Service",
    "Software Protection",
    "Microsoft Account Sign-in Assistant",
    "Device Setup Manager",
    "Background Intelligent Transfer Service",
    "Windows Error Reporting Service",
];

/// Add the noise of every host over `start..end` (true time).
pub fn add(w: &mut World, start: DateTime<Utc>, end: DateTime<Utc>) {
    for h in 0..w.hosts.len() {
        services(w, h, start, end);
        match w.hosts[h].spec.role {
            Role::Server | Role::Gateway => {
                service_logons(w, h, start, end);
                monitoring_logons(w, h, start, end);
            }
            Role::Dc => {
                service_logons(w, h, start, end);
                kdc_traffic(w, h, start, end);
            }
            Role::Client => dns_timeouts(w, h, start, end),
        }
    }
}

/// Times from `start` to `end`, `lo..hi` seconds apart.
fn ticks(
    w: &mut World,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    lo: f64,
    hi: f64,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = start + w.rng.secs(0.0, hi / 2.0);
    while t < end {
        out.push(t);
        t += w.rng.secs(lo, hi);
    }
    out
}

fn services(w: &mut World, h: usize, start: DateTime<Utc>, end: DateTime<Utc>) {
    for t in ticks(w, start, end, 300.0, 900.0) {
        let service = *w.rng.pick(SERVICES);
        w.push(h, t, sys::service_state(service, "running"));
        let stop = t + w.rng.secs(60.0, 240.0);
        w.push(h, stop, sys::service_state(service, "stopped"));
    }
    if w.rng.chance(40) {
        let t = start + w.rng.secs(0.0, (end - start).num_seconds() as f64);
        let ev = sys::start_type(
            "Background Intelligent Transfer Service",
            "auto start",
            "demand start",
            "BITS",
        );
        w.push(h, t, ev);
    }
}

fn service_logons(w: &mut World, h: usize, start: DateTime<Utc>, end: DateTime<Utc>) {
    let machine = format!("{}$", w.hosts[h].netbios());
    for t in ticks(w, start, end, 480.0, 1200.0) {
        let logon = Logon {
            subject: ("S-1-5-18".into(), machine.clone(), "CONTOSO".into(), 0x3e7),
            target: ("S-1-5-18".into(), "SYSTEM".into(), "NT AUTHORITY".into()),
            logon_id: 0x3e7,
            logon_type: 5,
            process: "Advapi  ".into(),
            package: "Negotiate".into(),
            workstation: "-".into(),
            caller: (0x2d4, "C:\\Windows\\System32\\services.exe".into()),
            ip: ("-".into(), "-".into()),
            guid: "{00000000-0000-0000-0000-000000000000}".into(),
        };
        w.push(h, t, sec::logon_success(&logon, true));
        let t2 = t + Duration::microseconds(350);
        w.push(
            h,
            t2,
            sec::special_privileges("S-1-5-18", "SYSTEM", "NT AUTHORITY", 0x3e7),
        );
    }
}

/// A monitoring server (10.20.0.30, `svc-monitor`) polls the machine over the network.
fn monitoring_logons(w: &mut World, h: usize, start: DateTime<Utc>, end: DateTime<Utc>) {
    let user_sid = format!("{DOMAIN_SID}-1315");
    for t in ticks(w, start, end, 600.0, 1100.0) {
        let logon_id = w.hosts[h].logon_id(&mut w.rng);
        let port = w.rng.range(49_700, 63_000).to_string();
        let logon = Logon {
            subject: (sec::NULL_SID.into(), "-".into(), "-".into(), 0),
            target: (
                user_sid.clone(),
                "svc-monitor".into(),
                "CONTOSO.LOCAL".into(),
            ),
            logon_id,
            logon_type: 3,
            process: "Kerberos".into(),
            package: "Kerberos".into(),
            workstation: "-".into(),
            caller: (0, "-".into()),
            ip: ("10.20.0.30".into(), port),
            guid: w.rng.guid(),
        };
        w.push(h, t, sec::logon_success(&logon, false));
        let t2 = t + w.rng.secs(1.0, 6.0);
        w.push(
            h,
            t2,
            sec::logoff(&user_sid, "svc-monitor", "CONTOSO", logon_id, 3),
        );
    }
}

/// Other users and machines asking the KDC for tickets.
fn kdc_traffic(w: &mut World, h: usize, start: DateTime<Utc>, end: DateTime<Utc>) {
    let others = [
        ("FS01$", "10.20.0.21", 1451),
        ("PRN01$", "10.20.0.40", 1462),
        ("carol", "10.10.7.41", 1137),
        ("dave", "10.10.8.12", 1142),
        ("svc-backup", "10.20.0.31", 1318),
    ];
    for t in ticks(w, start, end, 90.0, 400.0) {
        let (name, ip, rid) = *w.rng.pick(&others);
        let k = Kdc {
            user: (
                name.into(),
                "CONTOSO.LOCAL".into(),
                format!("{DOMAIN_SID}-{rid}"),
            ),
            service: ("krbtgt".into(), format!("{DOMAIN_SID}-502")),
            ip: (
                format!("::ffff:{ip}"),
                w.rng.range(49_700, 63_000).to_string(),
            ),
        };
        w.push(h, t, sec::tgt(&k, 0));
        let mut k2 = k.clone();
        k2.service = ("FS01$".into(), format!("{DOMAIN_SID}-1451"));
        let t2 = t + w.rng.millis(5, 60);
        w.push(h, t2, sec::service_ticket(&k2, 0));
    }
}

/// Now and then the client's DNS servers time out for an unrelated name (VPN reconnects).
fn dns_timeouts(w: &mut World, h: usize, start: DateTime<Utc>, end: DateTime<Utc>) {
    if !w.rng.chance(35) {
        return;
    }
    let names = [
        "settings-win.data.microsoft.com",
        "wpad.contoso.local",
        "ctldl.windowsupdate.com",
    ];
    let t = start + w.rng.secs(0.0, (end - start).num_seconds() as f64 * 0.6);
    let name = *w.rng.pick(&names);
    w.push(h, t, sys::dns_timeout(name, [10, 20, 0, 10]));
}
