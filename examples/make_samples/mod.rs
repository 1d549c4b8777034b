//! The sample-log generator: scenario files in, sample folders out, byte for byte reproducible.
//!
//! Takes: the repository root; reads `samples/scenarios/*.yaml` (one file per sample folder, the
//! file stem is the folder name).
//! Produces: every file of `samples/` except the scenarios themselves, as (path, bytes): per
//! folder the `.evtx` logs of each machine whose logs the scenario supplies, `expected.json`
//! (the failed attempts and their causes), and `samples/README.md`. Nothing is written here;
//! `examples/make-samples.rs` writes or compares, and `tests/samples.rs` compares.
//!
//! How: each scenario gets its own generator seeded from its name; its incidents and
//! connections run in time order against a [`World`] that tracks each host's sessions, ports and
//! counters; noise is added last; each host's records are sorted and written with the EVTX
//! writer.

pub mod causes_auth;
pub mod causes_host;
pub mod causes_net;
pub mod digest;
pub mod ev;
pub mod ev_client;
pub mod ev_gateway;
pub mod ev_host;
pub mod ev_security;
pub mod ev_system;
pub mod flow;
pub mod incidents;
pub mod noise;
pub mod plan;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod world;

use plan::{Plan, User};
use report::{ExpectedAttempt, Folder};
use rng::Rng;
use scenario::{Role, Scenario};
use std::path::Path;
use world::World;

/// What a cause does to an attempt.
type CauseFn = fn(&mut World, &Plan);

/// The pattern of each cause id of causes.md.
pub fn cause_fn(id: &str) -> Option<CauseFn> {
    let f: CauseFn = match id {
        "cert.self-signed-renewal-failed" => causes_host::cert_renewal,
        "cert.private-key-inaccessible" => causes_host::cert_private_key,
        "tls.protocol-or-cipher-mismatch" => causes_host::tls_mismatch,
        "tls.handshake-interference" => causes_host::tls_interference,
        "auth.bad-credentials" => causes_auth::bad_credentials,
        "auth.account-restricted" => causes_auth::account_restricted,
        "auth.logon-right-missing" => causes_auth::logon_right_missing,
        "auth.credssp-oracle-mismatch" => causes_auth::credssp_oracle,
        "auth.nla-unsupported" => causes_auth::nla_unsupported,
        "auth.clock-skew" => causes_auth::clock_skew,
        "auth.domain-unreachable" => causes_auth::domain_unreachable,
        "network.name-resolution" => causes_net::name_resolution,
        "network.blocked-before-server" => causes_net::blocked,
        "network.connection-lost" => causes_net::connection_lost,
        "network.port-exhaustion" => causes_net::port_exhaustion,
        "network.local-stack-fault" => causes_net::local_stack,
        "gateway.capacity-exhausted" => causes_net::gateway_capacity,
        "gateway.policy-denied" => causes_net::gateway_policy,
        "gateway.target-unreachable" => causes_net::gateway_target,
        "gateway.certificate-problem" => causes_net::gateway_certificate,
        "session.stuck-or-limit" => causes_host::session_stuck,
        "session.licensing" => causes_host::session_licensing,
        "server.protocol-error" => causes_host::protocol_error,
        "server.service-unhealthy" => causes_host::service_unhealthy,
        "server.denied-connection" => causes_host::denied,
        _ => return None,
    };
    Some(f)
}

/// Causes whose evidence needs a host-level incident in the scenario.
const NEEDS_INCIDENT: &[(&str, &str)] = &[
    ("cert.self-signed-renewal-failed", "rdp-cert-renewal-failed"),
    ("cert.private-key-inaccessible", "rdp-cert-key-unreadable"),
    ("session.licensing", "licensing-grace-expired"),
    ("server.service-unhealthy", "termservice-crash"),
    ("network.port-exhaustion", "port-exhaustion"),
    ("gateway.certificate-problem", "gateway-cert-expired"),
    ("auth.domain-unreachable", "secure-channel-broken"),
];

/// Every generated file under `samples/`: (path relative to `samples/`, bytes).
pub fn generate(repo: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let dir = repo.join("samples/scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    let mut files = Vec::new();
    let mut folders = Vec::new();
    for file in &names {
        let name = file.trim_end_matches(".yaml");
        let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
        let scenario = Scenario::parse(&text, file)?;
        let (folder, logs) = build(name, &scenario).map_err(|e| format!("{file}: {e}"))?;
        for (path, bytes, _) in logs {
            files.push((format!("{name}/{path}"), bytes));
        }
        files.push((
            format!("{name}/expected.json"),
            report::expected_json(&folder).into_bytes(),
        ));
        folders.push(folder);
    }
    files.push((
        "README.md".to_string(),
        report::readme(&folders).into_bytes(),
    ));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Generate one scenario: its logs (path, bytes, records) and what `expected.json` says.
fn build(name: &str, s: &Scenario) -> Result<(Folder, Vec<world::LogFile>), String> {
    check_causes(s)?;
    let mut rng = Rng::for_name(name, s.seed);
    let mut w = World::new(s, rng.fork("world"));
    w.rng = rng.fork("events");
    let dc = w.hosts.iter().position(|h| h.spec.role == Role::Dc);
    let mut steps: Vec<(chrono::DateTime<chrono::Utc>, usize, bool)> = Vec::new();
    for (i, inc) in s.incidents.iter().enumerate() {
        steps.push((s.time(&inc.at)?, i, true));
    }
    for (i, c) in s.connections.iter().enumerate() {
        steps.push((s.time(&c.at)?, i, false));
    }
    steps.sort_by_key(|a| (a.0, !a.2, a.1));
    let mut expected = Vec::new();
    for (at, i, incident) in steps {
        if incident {
            let inc = &s.incidents[i];
            let h = w.id(&inc.host);
            incidents::run(&mut w, h, at, &inc.kind, &inc.params)?;
            continue;
        }
        let c = &s.connections[i];
        let plan = Plan {
            at,
            client: w.id(&c.client),
            server: w.resolve(&c.target),
            gateway: c.via.as_deref().map(|g| w.id(g)),
            target: c.target.clone(),
            user: User::parse(&c.user),
            prompt: c.prompt,
            minutes: c.minutes,
            end: c.end,
            params: c.params.clone(),
            dc,
        };
        w.trace = world::Trace::default();
        match &c.cause {
            None => flow::success(&mut w, &plan),
            Some(cause) => {
                let f = cause_fn(cause).ok_or_else(|| format!("unknown cause {cause}"))?;
                f(&mut w, &plan);
                expected.push(ExpectedAttempt::new(s, &w, &plan, cause));
            }
        }
    }
    report::settle_reported(&mut expected, s);
    let (start, end) = s.window();
    noise::add(&mut w, start, end);
    let folder = Folder::new(name, s, &w, expected);
    let logs = w.files()?;
    Ok((folder, logs))
}

/// Every cause is known and has the incident its evidence needs.
fn check_causes(s: &Scenario) -> Result<(), String> {
    for c in &s.connections {
        let Some(cause) = &c.cause else {
            continue;
        };
        if cause_fn(cause).is_none() {
            return Err(format!("connection at {}: unknown cause {cause}", c.at));
        }
        for (needs, kind) in NEEDS_INCIDENT {
            if cause == needs && !s.incidents.iter().any(|i| i.kind == *kind) {
                return Err(format!("cause {cause} needs an incident of kind {kind}"));
            }
        }
    }
    for i in &s.incidents {
        if !incidents::KINDS.contains(&i.kind.as_str()) {
            return Err(format!("unknown incident kind {}", i.kind));
        }
    }
    Ok(())
}
