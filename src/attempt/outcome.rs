//! The outcome and codes of an attempt, and the user's reported error code.
//!
//! Takes: the linked views of one attempt ([`Parts`]); the `--reported-error` value.
//! Produces: [`Outcome`] and [`AttemptCodes`]. An attempt that ends with an error code is failed,
//! also after a session had been established; a user's own disconnect or logoff is not a failure.
//! A host's view of a connection that never reached logon is a failed attempt even without client logs.

use super::client::ClientView;
use super::gateway::GatewayView;
use super::server::ServerView;
use super::{Attempt, AttemptCodes, Outcome};
use crate::error::{Error, Result};
use crate::event::parse_number;

/// Primary disconnect reasons that are not errors (no info, local, remote by user, by server).
const BENIGN_PRIMARY: &[u64] = &[0, 1, 2, 3];

/// The views of one attempt.
pub struct Parts<'a> {
    /// The client's view.
    pub client: Option<&'a ClientView>,
    /// The gateway's view.
    pub gateway: Option<&'a GatewayView>,
    /// The session host's view.
    pub server: Option<&'a ServerView>,
}

impl Parts<'_> {
    /// The client's name, or its address as the server or gateway saw it.
    pub fn client_name(&self) -> Option<String> {
        self.client
            .map(|c| c.host.clone())
            .or_else(|| self.gateway.and_then(|g| g.client_address.clone()))
            .or_else(|| self.server.and_then(|s| s.client_address.clone()))
    }

    /// The target as typed, or the resource requested from the gateway, or the server's name.
    pub fn target(&self) -> Option<String> {
        self.client
            .and_then(|c| c.target.clone())
            .or_else(|| self.gateway.and_then(|g| g.resource.clone()))
            .or_else(|| self.server.map(|s| s.host.clone()))
    }

    /// The user, from whichever machine logged it.
    pub fn user(&self) -> Option<String> {
        self.server
            .and_then(|s| s.user.clone())
            .or_else(|| self.gateway.and_then(|g| g.user.clone()))
            .or_else(|| {
                let c = self.client?;
                c.domain.clone().map(|d| format!("{d}\\?"))
            })
    }
}

/// Decide the outcome and codes from the views.
pub fn decide(parts: &Parts<'_>) -> (Outcome, AttemptCodes) {
    let mut codes = AttemptCodes::default();
    let server_failed = parts.server.is_some_and(|s| s.failure_event.is_some());
    let gateway_failed = parts.gateway.is_some_and(|g| g.failure_event.is_some());
    let server_logged_on = parts.server.is_some_and(|s| s.logged_on);
    if let Some(reason) = parts.server.and_then(|s| s.lsm_reason)
        && !matches!(reason, 0 | 5 | 11 | 12)
    {
        codes.extended = Some(reason);
        codes.extended_source = Some("server".into());
    }
    let outcome = if let Some(c) = parts.client {
        codes.primary = c.disconnect_reason;
        match c.disconnect_reason {
            Some(r) if BENIGN_PRIMARY.contains(&r) => {
                if c.connected || server_logged_on {
                    Outcome::Succeeded
                } else {
                    Outcome::Unknown
                }
            }
            Some(_) => Outcome::Failed,
            None if server_failed || gateway_failed => Outcome::Failed,
            None if c.connected => Outcome::Succeeded,
            None => Outcome::Unknown,
        }
    } else if server_failed || gateway_failed {
        Outcome::Failed
    } else if server_logged_on
        || parts
            .gateway
            .is_some_and(|g| g.connected && parts.server.is_none())
    {
        Outcome::Succeeded
    } else if parts.server.is_some_and(|s| s.closed) {
        Outcome::Failed
    } else {
        Outcome::Unknown
    };
    if outcome != Outcome::Failed {
        codes.extended = None;
        codes.extended_source = None;
    }
    (outcome, codes)
}

/// The code pair from the user's error dialog: `0x904/0x7`, `2308`, `0x904 0x7`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportedError {
    /// The dialog's "error code" (primary disconnect reason).
    pub primary: u64,
    /// The dialog's "extended error code", if given.
    pub extended: Option<u64>,
}

impl std::str::FromStr for ReportedError {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let mut parts = s
            .split(['/', ',', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let bad = || {
            Error::InvalidArgument(format!(
                "reported error {s:?}: expected CODE or CODE/EXTENDED, e.g. 0x904/0x7 or 2308"
            ))
        };
        let primary = parts.next().and_then(parse_number).ok_or_else(bad)?;
        let extended = match parts.next() {
            Some(p) => Some(parse_number(p).ok_or_else(bad)?),
            None => None,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(ReportedError { primary, extended })
    }
}

/// Apply the reported codes: to every failed attempt whose primary code matches (or is unknown);
/// when none matches, to the last attempt that did not succeed (or the last attempt).
pub fn apply_reported_error(attempts: &mut [Attempt], reported: Option<&ReportedError>) {
    let Some(r) = reported else {
        return;
    };
    let matching: Vec<usize> = attempts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.outcome == Outcome::Failed && a.codes.primary == Some(r.primary))
        .map(|(i, _)| i)
        .collect();
    let targets = if !matching.is_empty() {
        matching
    } else {
        let last = attempts
            .iter()
            .rposition(|a| a.outcome != Outcome::Succeeded)
            .or_else(|| attempts.len().checked_sub(1));
        last.into_iter().collect()
    };
    for i in targets {
        let a = &mut attempts[i];
        a.outcome = Outcome::Failed;
        if a.codes.primary.is_none() {
            a.codes.primary = Some(r.primary);
            a.codes.primary_reported = true;
        }
        if let Some(ext) = r.extended {
            a.codes.extended = Some(ext);
            a.codes.extended_source = Some("reported".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_error_notations() {
        let r: ReportedError = "0x904/0x7".parse().unwrap();
        assert_eq!((r.primary, r.extended), (2308, Some(7)));
        let r: ReportedError = "2308".parse().unwrap();
        assert_eq!((r.primary, r.extended), (2308, None));
        let r: ReportedError = "0x904 7".parse().unwrap();
        assert_eq!(r.extended, Some(7));
        assert!("nonsense".parse::<ReportedError>().is_err());
        assert!("1/2/3".parse::<ReportedError>().is_err());
    }

    fn client(reason: Option<u64>, connected: bool) -> ClientView {
        ClientView {
            host: "c".into(),
            events: vec![],
            target: Some("s".into()),
            target_address: None,
            started: chrono::DateTime::default(),
            ended: None,
            connected,
            disconnect_reason: reason,
            session_id: None,
            domain: None,
        }
    }

    #[test]
    fn user_disconnect_is_not_a_failure_but_a_drop_is() {
        let ok = client(Some(2), true);
        let parts = Parts {
            client: Some(&ok),
            gateway: None,
            server: None,
        };
        assert_eq!(decide(&parts).0, Outcome::Succeeded);
        let dropped = client(Some(2308), true);
        let parts = Parts {
            client: Some(&dropped),
            gateway: None,
            server: None,
        };
        let (o, codes) = decide(&parts);
        assert_eq!(o, Outcome::Failed);
        assert_eq!(codes.primary, Some(2308));
        let open = client(None, false);
        let parts = Parts {
            client: Some(&open),
            gateway: None,
            server: None,
        };
        assert_eq!(decide(&parts).0, Outcome::Unknown);
    }
}
