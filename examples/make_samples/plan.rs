//! A connection attempt of a scenario with its machines resolved, and the domain's users.
//!
//! Takes: a scenario connection (`ConnSpec`) once its hosts are known.
//! Produces: [`Plan`] — start time, client, session host the target resolves to, gateway, DC,
//! user and parameters — and [`User`], whose SID is derived from the name so that the same user
//! has the same SID on every machine and in every sample.

use super::scenario::EndKind;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The domain's SID prefix (user SIDs are this plus a RID).
pub const DOMAIN_SID: &str = "S-1-5-21-3623811015-3361044348-30300820";

/// A user of the domain.
#[derive(Clone, Debug)]
pub struct User {
    /// NetBIOS domain (`CONTOSO`).
    pub domain: String,
    /// Account name.
    pub name: String,
    /// SID.
    pub sid: String,
    /// Member of Administrators on the session hosts (4672 at logon).
    pub admin: bool,
}

impl User {
    /// The user `DOMAIN\name`; the RID is derived from the name, so it is the same everywhere.
    pub fn parse(text: &str) -> User {
        let (domain, name) = text.split_once('\\').unwrap_or(("CONTOSO", text));
        let rid = 1100
            + name
                .bytes()
                .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
                % 800;
        User {
            domain: domain.to_string(),
            name: name.to_string(),
            sid: format!("{DOMAIN_SID}-{rid}"),
            admin: name.starts_with("adm"),
        }
    }

    /// `DOMAIN\name`.
    pub fn full(&self) -> String {
        format!("{}\\{}", self.domain, self.name)
    }

    /// The Kerberos realm (`CONTOSO.LOCAL`).
    pub fn realm(&self) -> String {
        format!("{}.LOCAL", self.domain.to_ascii_uppercase())
    }
}

/// A connection attempt of the scenario, with its hosts resolved.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Start (client 1024), true time.
    pub at: DateTime<Utc>,
    /// Client host.
    pub client: usize,
    /// Session host the target resolves to (none when the name does not resolve).
    pub server: Option<usize>,
    /// RD Gateway.
    pub gateway: Option<usize>,
    /// Target as typed.
    pub target: String,
    /// The user.
    pub user: User,
    /// Seconds in the credential prompt.
    pub prompt: f64,
    /// Minutes a working session lasts.
    pub minutes: f64,
    /// How a working session ends.
    pub end: EndKind,
    /// Cause-specific parameters.
    pub params: BTreeMap<String, String>,
    /// DC host, when the scenario has one.
    pub dc: Option<usize>,
}
