//! The machines of one scenario and the records each one logs.
//!
//! Takes: the scenario's hosts, then events pushed at their true time ([`World::push`]).
//! Produces: per host and supplied log, an `.evtx` file as Windows names it
//! (`Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx`…), records in time order with
//! the host's clock error applied, `Computer` set, the logging process's id and one of its thread
//! ids, and record ids continuing from a realistic earlier number. Events for logs the scenario
//! does not supply are dropped, as if nobody had exported them.

use super::rng::Rng;
use super::scenario::{HostSpec, LogKind, Role, Scenario};
use chrono::{DateTime, Duration, Utc};
use rdptriage::evtx_writer::{EvtxWriter, Payload, RecordSpec, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The process that writes an event (its id comes from the host).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proc {
    /// An mstsc.exe instance (one per connection window).
    Mstsc(u32),
    /// svchost.exe hosting TermService (RdpCoreTS, RCM).
    TermService,
    /// svchost.exe hosting LSM.
    Lsm,
    /// lsass.exe (Security log, Schannel, LsaSrv, Kerberos errors).
    Lsass,
    /// services.exe (Service Control Manager).
    Services,
    /// svchost.exe hosting TSGateway.
    Gateway,
    /// svchost.exe hosting Dnscache.
    DnsCache,
    /// svchost.exe hosting W32Time.
    W32Time,
    /// Classic events written through the event log API: process and thread 0.
    Classic,
}

/// One event before it is placed on a host: the log it goes to, who writes it, and the record.
/// The record's time, computer, process and thread are filled in by [`World::push`].
#[derive(Clone, Debug)]
pub struct Ev {
    /// The log (file) it belongs to.
    pub log: LogKind,
    /// The process that logs it.
    pub proc: Proc,
    /// The record.
    pub spec: RecordSpec,
}

/// One written log: path inside the sample folder, bytes, record count.
pub type LogFile = (String, Vec<u8>, usize);

/// A session on a session host, as LSM tracks it.
#[derive(Clone, Debug)]
pub struct Session {
    /// Session id.
    pub id: u32,
    /// Still connected (false: disconnected, waiting for a reconnect).
    pub active: bool,
    /// Logon id of the interactive logon (Security 4624 type 10).
    pub logon_id: u64,
}

/// One machine and what it has logged so far.
pub struct Host {
    /// The scenario's description.
    pub spec: HostSpec,
    /// Clock error.
    pub clock: Duration,
    /// Folder of its logs in the sample.
    pub folder: String,
    /// Supplied logs.
    pub logs: BTreeSet<LogKind>,
    pids: BTreeMap<Proc, u32>,
    threads: BTreeMap<u32, Vec<u32>>,
    records: BTreeMap<LogKind, Vec<(DateTime<Utc>, u64, RecordSpec)>>,
    /// Next ephemeral source port.
    pub next_port: u16,
    /// Next `RDP-Tcp#N` connection number (session hosts).
    pub next_conn: u32,
    /// Next session id (session hosts).
    pub next_session: u32,
    /// Sessions by user (session hosts).
    pub sessions: BTreeMap<String, Session>,
    /// Next logon id (Security 4624).
    pub next_logon_id: u64,
    /// The ActivityID the Security log's events carry on this boot.
    pub security_activity: String,
}

impl Host {
    fn new(spec: &HostSpec, rng: &mut Rng) -> Host {
        let mut pids = BTreeMap::new();
        for p in [
            Proc::TermService,
            Proc::Lsm,
            Proc::Lsass,
            Proc::Services,
            Proc::Gateway,
            Proc::DnsCache,
            Proc::W32Time,
        ] {
            let (lo, hi) = match p {
                Proc::Services => (620, 760),
                Proc::Lsass => (680, 820),
                _ => (900, 3600),
            };
            pids.insert(p, (rng.range(lo, hi) as u32) & !3);
        }
        pids.insert(Proc::Classic, 0);
        let clock = Duration::milliseconds((spec.clock * 1000.0).round() as i64);
        Host {
            folder: spec
                .folder
                .clone()
                .unwrap_or_else(|| spec.role.as_str().to_string()),
            logs: spec.logs.iter().copied().collect(),
            spec: spec.clone(),
            clock,
            pids,
            threads: BTreeMap::new(),
            records: BTreeMap::new(),
            next_port: rng.range(49_800, 61_000) as u16,
            next_conn: rng.range(3, 60) as u32,
            next_session: rng.range(2, 4) as u32,
            sessions: BTreeMap::new(),
            next_logon_id: rng.range(0x0100_0000, 0x0400_0000) & !0xf,
            security_activity: rng.guid(),
        }
    }

    /// The host's `Computer` name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Its address.
    pub fn address(&self) -> &str {
        &self.spec.address
    }

    /// Its NetBIOS name (first label, upper case).
    pub fn netbios(&self) -> String {
        self.spec
            .name
            .split('.')
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
    }

    /// The next ephemeral source port.
    pub fn port(&mut self, rng: &mut Rng) -> u16 {
        let p = self.next_port;
        self.next_port = self.next_port.wrapping_add(rng.range(1, 9) as u16);
        if self.next_port < 49_200 {
            self.next_port = 49_200;
        }
        p
    }

    /// A fresh logon id.
    pub fn logon_id(&mut self, rng: &mut Rng) -> u64 {
        self.next_logon_id += rng.range(0x200, 0x9000);
        self.next_logon_id
    }

    /// A thread id of `pid` (a few per process, reused as real services reuse their threads).
    fn thread(&mut self, pid: u32, rng: &mut Rng) -> u32 {
        let pool = self.threads.entry(pid).or_insert_with(|| {
            let n = rng.range(3, 6);
            (0..n).map(|_| (rng.range(600, 9000) as u32) & !3).collect()
        });
        *rng.pick(pool)
    }
}

/// Every host of a scenario.
pub struct World {
    /// Hosts in scenario order.
    pub hosts: Vec<Host>,
    /// The generator for everything placed in the world.
    pub rng: Rng,
    /// What the current connection left in the supplied logs, for `expected.json`.
    pub trace: Trace,
    seq: u64,
}

/// What one connection left in the supplied logs: the machines whose logs show it as
/// rdptriage rebuilds views (client RDPClient events; gateway tunnel events; a session host's
/// RdpCoreTS 131 TCP, RCM 1149 or LSM 21/25), whether the gateway named the resource, and the
/// client's last disconnect code.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Roles whose supplied logs hold a view of the connection.
    pub seen_by: BTreeSet<Role>,
    /// A gateway event of the connection carried a `Resource`.
    pub gateway_resource: bool,
    /// The client's last 1026 reason.
    pub client_code: Option<u32>,
}

impl Trace {
    fn record(&mut self, log: LogKind, spec: &RecordSpec) {
        let field = |name: &str| match &spec.payload {
            Payload::EventData(f) | Payload::UserData { fields: f, .. } => {
                f.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
            }
            _ => None,
        };
        let nonempty = |v: Option<Value>| v.is_some_and(|v| v != Value::String(String::new()));
        let id = spec.event_id;
        match log {
            LogKind::Rdpclient => {
                self.seen_by.insert(Role::Client);
            }
            LogKind::Gateway if matches!(id, 200..=203 | 300..=306 | 312 | 313) => {
                self.seen_by.insert(Role::Gateway);
                self.gateway_resource |= nonempty(field("Resource"));
            }
            LogKind::Rdpcorets
                if id == 131 && field("ConnType") == Some(Value::String("TCP".into())) =>
            {
                self.seen_by.insert(Role::Server);
            }
            LogKind::Rcm if id == 1149 => {
                self.seen_by.insert(Role::Server);
            }
            LogKind::Lsm if matches!(id, 21 | 25) => {
                self.seen_by.insert(Role::Server);
            }
            _ => {}
        }
    }
}

impl World {
    /// The hosts of `scenario`.
    pub fn new(scenario: &Scenario, mut rng: Rng) -> World {
        let hosts = scenario
            .hosts
            .iter()
            .map(|h| Host::new(h, &mut rng.fork(&h.name)))
            .collect();
        World {
            hosts,
            rng,
            trace: Trace::default(),
            seq: 0,
        }
    }

    /// The index of the host named `name` (exact name as in the scenario).
    pub fn id(&self, name: &str) -> usize {
        self.hosts
            .iter()
            .position(|h| h.spec.name == name)
            .unwrap_or_else(|| panic!("unknown host {name} (the scenario check lets none through)"))
    }

    /// The session host a typed target names: by first label, or by address.
    pub fn resolve(&self, target: &str) -> Option<usize> {
        let short = target.split('.').next().unwrap_or("").to_ascii_lowercase();
        self.hosts.iter().position(|h| {
            h.spec.role == Role::Server
                && (h.spec.address == target
                    || h.spec
                        .name
                        .split('.')
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase()
                        == short)
        })
    }

    /// Log `ev` on host `host` at true time `at`.
    pub fn push(&mut self, host: usize, at: DateTime<Utc>, ev: Ev) {
        let h = &mut self.hosts[host];
        if !h.logs.contains(&ev.log) {
            return;
        }
        self.trace.record(ev.log, &ev.spec);
        let mut spec = ev.spec;
        if ev.log == LogKind::Security && spec.activity_id.is_none() {
            spec.activity_id = Some(h.security_activity.clone());
        }
        spec.time = at + h.clock;
        spec.computer = h.spec.name.clone();
        let pid = match ev.proc {
            Proc::Mstsc(pid) => pid,
            p => h.pids[&p],
        };
        spec.process_id = pid;
        spec.thread_id = if pid == 0 {
            0
        } else {
            h.thread(pid, &mut self.rng)
        };
        self.seq += 1;
        h.records
            .entry(ev.log)
            .or_default()
            .push((spec.time, self.seq, spec));
    }

    /// A new mstsc process id on `host`.
    pub fn mstsc_pid(&mut self) -> u32 {
        (self.rng.range(2000, 16000) as u32) & !3
    }

    /// Every supplied log: path inside the sample folder, bytes, record count.
    pub fn files(mut self) -> Result<Vec<LogFile>, String> {
        let mut out = Vec::new();
        for h in &mut self.hosts {
            for log in h.logs.clone() {
                let mut records = h.records.remove(&log).unwrap_or_default();
                records.sort_by_key(|a| (a.0, a.1));
                let first = first_record_id(log, &mut self.rng);
                let mut writer = EvtxWriter::with_first_record_id(first);
                for (_, _, spec) in &records {
                    writer
                        .push(spec)
                        .map_err(|e| format!("{} {log:?}: {e}", h.spec.name))?;
                }
                let path = format!("{}/{}", h.folder, file_name(log));
                out.push((path, writer.finish(), records.len()));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// The file name Windows gives a log (`/` in the channel becomes `%4`).
pub fn file_name(log: LogKind) -> &'static str {
    match log {
        LogKind::Rdpclient => "Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx",
        LogKind::System => "System.evtx",
        LogKind::Security => "Security.evtx",
        LogKind::Rdpcorets => "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
        LogKind::Lsm => "Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx",
        LogKind::Rcm => {
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx"
        }
        LogKind::RcmAdmin => {
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Admin.evtx"
        }
        LogKind::Gateway => "Microsoft-Windows-TerminalServices-Gateway%4Operational.evtx",
    }
}

/// Where a log's record ids start: busy logs have logged much more before the window.
fn first_record_id(log: LogKind, rng: &mut Rng) -> u64 {
    match log {
        LogKind::Security => rng.range(80_000, 900_000),
        LogKind::System => rng.range(9_000, 90_000),
        LogKind::Rdpcorets | LogKind::Rcm => rng.range(2_000, 40_000),
        _ => rng.range(300, 9_000),
    }
}
