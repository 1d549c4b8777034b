//! Scenario descriptions: the data the samples are generated from (`samples/scenarios/*.yaml`).
//!
//! Takes: one YAML file per sample folder (the file stem is the folder name).
//! Produces: a checked [`Scenario`]: hosts with their role, address, clock and supplied logs; the
//! host-level incidents (a crash, a broken key store…); and every connection attempt in the
//! window, background traffic included, with the root cause of the failed ones. What each machine
//! logs for a cause is not data: it is the generator's code (`causes*.rs`), built from the KB.
//!
//! Times (`at`) are the true time of day on `date`, UTC; each host writes them shifted by its own
//! `clock` error (seconds ahead of true time, negative when behind).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A machine's part in the scenario.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs mstsc.
    Client,
    /// RD Gateway.
    Gateway,
    /// Session host.
    Server,
    /// Domain controller.
    Dc,
}

impl Role {
    /// Lower-case name, also the default folder of the host's logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Gateway => "gateway",
            Role::Server => "server",
            Role::Dc => "dc",
        }
    }
}

/// An event log a host can supply (file names as Windows gives them, see `world.rs`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    /// `Microsoft-Windows-TerminalServices-RDPClient/Operational`.
    Rdpclient,
    /// `System`.
    System,
    /// `Security`.
    Security,
    /// `Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational`.
    Rdpcorets,
    /// `Microsoft-Windows-TerminalServices-LocalSessionManager/Operational`.
    Lsm,
    /// `Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational`.
    Rcm,
    /// `Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin`.
    RcmAdmin,
    /// `Microsoft-Windows-TerminalServices-Gateway/Operational`.
    Gateway,
}

/// One machine.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// `Computer` name (FQDN).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its IPv4 address as other machines see it.
    pub address: String,
    /// Clock error in seconds (positive: ahead of true time).
    #[serde(default)]
    pub clock: f64,
    /// The logs supplied in the sample (empty: the machine takes part, its logs are missing).
    #[serde(default)]
    pub logs: Vec<LogKind>,
    /// Folder of its logs in the sample (default: the role).
    #[serde(default)]
    pub folder: Option<String>,
}

/// How a session that worked ends.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EndKind {
    /// The user closes the window: the session stays, disconnected (client reason 1).
    #[default]
    Close,
    /// The user signs out (client reason 2).
    Logoff,
    /// Still connected when the logs were exported.
    Open,
}

/// One connection attempt.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnSpec {
    /// Start (the client's 1024), time of day.
    pub at: String,
    /// Client host name.
    pub client: String,
    /// What the user typed in mstsc.
    pub target: String,
    /// RD Gateway host, when the connection goes through one.
    #[serde(default)]
    pub via: Option<String>,
    /// `DOMAIN\user`.
    pub user: String,
    /// Root cause id of a failed attempt (causes.md); none for a working connection.
    #[serde(default)]
    pub cause: Option<String>,
    /// Minutes a working session lasts before it ends.
    #[serde(default = "default_minutes")]
    pub minutes: f64,
    /// How a working session ends.
    #[serde(default)]
    pub end: EndKind,
    /// Seconds the user spends in the credential prompt (0: saved credentials).
    #[serde(default)]
    pub prompt: f64,
    /// Cause-specific parameters (codes, alert numbers…), see `causes*.rs`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

fn default_minutes() -> f64 {
    12.0
}

/// A host-level event sequence not tied to one connection (a crash, a broken key store…).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentSpec {
    /// When it starts, time of day.
    pub at: String,
    /// The host it happens on.
    pub host: String,
    /// What happens (see `incidents.rs`).
    pub kind: String,
    /// Kind-specific parameters.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// A sample folder's scenario, as written in YAML.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// One line, for the README.
    pub title: String,
    /// What happened, for the README.
    pub story: String,
    /// Day of the logs.
    pub date: NaiveDate,
    /// First and last time of day covered by the logs.
    pub window: [String; 2],
    /// The host whose clock `expected.json` times are on.
    pub reference: String,
    /// The code pair from the user's error dialog, to pass with `--reported-error`.
    #[serde(default)]
    pub reported_error: Option<String>,
    /// Seed tweak (default 0); the folder name seeds the generator.
    #[serde(default)]
    pub seed: u64,
    /// The machines.
    pub hosts: Vec<HostSpec>,
    /// Host-level incidents.
    #[serde(default)]
    pub incidents: Vec<IncidentSpec>,
    /// Every connection attempt, background traffic included.
    pub connections: Vec<ConnSpec>,
    /// Notes for the README on values that are choices, not facts.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Scenario {
    /// Parse and check a scenario.
    pub fn parse(text: &str, name: &str) -> Result<Scenario, String> {
        let s: Scenario = serde_saphyr::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        s.check().map_err(|e| format!("{name}: {e}"))?;
        Ok(s)
    }

    fn check(&self) -> Result<(), String> {
        let known = |n: &str| self.hosts.iter().any(|h| h.name == n);
        if !known(&self.reference) {
            return Err(format!("reference {} is not a host", self.reference));
        }
        for c in &self.connections {
            self.time(&c.at)?;
            if !known(&c.client) {
                return Err(format!(
                    "connection at {}: unknown client {}",
                    c.at, c.client
                ));
            }
            if let Some(g) = &c.via
                && !known(g)
            {
                return Err(format!("connection at {}: unknown gateway {g}", c.at));
            }
            if !c.user.contains('\\') {
                return Err(format!("connection at {}: user must be DOMAIN\\name", c.at));
            }
        }
        for i in &self.incidents {
            self.time(&i.at)?;
            if !known(&i.host) {
                return Err(format!("incident {} at {}: unknown host", i.kind, i.at));
            }
        }
        self.time(&self.window[0])?;
        self.time(&self.window[1])?;
        Ok(())
    }

    /// A time of day (`HH:MM:SS`, `HH:MM:SS.f`, or `HH:MM`) on the scenario's date, UTC.
    pub fn time(&self, text: &str) -> Result<DateTime<Utc>, String> {
        let t = NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
            .map_err(|e| format!("bad time {text:?}: {e}"))?;
        Ok(self.date.and_time(t).and_utc())
    }

    /// The window, true time.
    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = self.time(&self.window[0]).unwrap_or_default();
        let end = self.time(&self.window[1]).unwrap_or_default();
        if end > start {
            (start, end)
        } else {
            (start, end + Duration::days(1))
        }
    }
}

/// A parameter as a number (`0x…` hex or decimal), or `default`.
pub fn param_u64(params: &BTreeMap<String, String>, key: &str, default: u64) -> u64 {
    params
        .get(key)
        .and_then(|v| {
            let v = v.trim();
            match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => v.parse().ok(),
            }
        })
        .unwrap_or(default)
}

/// A parameter as text, or `default`.
pub fn param_str<'a>(params: &'a BTreeMap<String, String>, key: &str, default: &'a str) -> &'a str {
    params.get(key).map(String::as_str).unwrap_or(default)
}
