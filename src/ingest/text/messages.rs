//! The data tables that turn rendered messages and positional values into named fields.
//!
//! Takes: `messages.json` (per provider and event id: regexes over the rendered message whose
//! named groups are field names) and `templates.json` (per provider and event id: field names in
//! template order; per provider: the channels its events go to), both embedded at build time.
//! Produces: [`Fields`] from a message ([`fields_from_message`]) or from insertion strings
//! ([`fields_from_values`]), the event id a message belongs to when a text names none
//! ([`identify`], for trace lines), and the channel of a provider's event ([`channel_for`]).
//! Values go through [`FieldValue::from_text`], as XML values do, so `Value`=2308 read from
//! `Reason= 2308` equals the one read from `.evtx`.
//!
//! The tables are parsed and their regexes compiled once, on first use, into an immutable
//! [`LazyLock`]; a unit test compiles every regex, so a bad table fails the build's tests, not a run.

use crate::event::catalog::{self, Scope};
use crate::event::{FieldValue, Fields};
use regex::Regex;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

const MESSAGES_JSON: &str = include_str!("messages.json");
const TEMPLATES_JSON: &str = include_str!("templates.json");

#[derive(Deserialize)]
struct MessagesFile {
    events: Vec<MessageSpec>,
}

#[derive(Deserialize)]
struct MessageSpec {
    provider: String,
    id: u32,
    #[serde(rename = "match")]
    matchers: Vec<String>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Deserialize)]
struct TemplatesFile {
    channels: HashMap<String, Vec<String>>,
    templates: Vec<TemplateSpec>,
}

#[derive(Deserialize)]
struct TemplateSpec {
    provider: String,
    id: u32,
    fields: Vec<String>,
}

/// One event's compiled patterns.
struct Patterns {
    id: u32,
    matchers: Vec<Regex>,
    extra: Vec<Regex>,
}

struct Tables {
    /// Provider key → patterns, in file order.
    messages: HashMap<String, Vec<Patterns>>,
    /// (provider key, id) → field names in template order.
    templates: HashMap<(String, u32), Vec<String>>,
    /// Provider key → (provider as written, its channels).
    channels: HashMap<String, (String, Vec<String>)>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| load().expect("embedded message tables"));

fn load() -> Result<Tables, String> {
    let messages: MessagesFile = serde_json::from_str(MESSAGES_JSON).map_err(|e| e.to_string())?;
    let templates: TemplatesFile =
        serde_json::from_str(TEMPLATES_JSON).map_err(|e| e.to_string())?;
    let compile = |list: &[String]| -> Result<Vec<Regex>, String> {
        list.iter()
            .map(|r| Regex::new(r).map_err(|e| format!("{r}: {e}")))
            .collect()
    };
    let mut by_provider: HashMap<String, Vec<Patterns>> = HashMap::new();
    for spec in messages.events {
        by_provider
            .entry(provider_key(&spec.provider))
            .or_default()
            .push(Patterns {
                id: spec.id,
                matchers: compile(&spec.matchers)?,
                extra: compile(&spec.extra)?,
            });
    }
    Ok(Tables {
        messages: by_provider,
        templates: templates
            .templates
            .into_iter()
            .map(|t| ((provider_key(&t.provider), t.id), t.fields))
            .collect(),
        channels: templates
            .channels
            .into_iter()
            .map(|(p, c)| (provider_key(&p), (p, c)))
            .collect(),
    })
}

/// Provider names appear with and without `Microsoft-Windows-` and in any case.
fn provider_key(provider: &str) -> String {
    let lower = provider.trim().to_ascii_lowercase();
    match lower.strip_prefix("microsoft-windows-") {
        Some(rest) => rest.to_string(),
        None => lower,
    }
}

/// The provider whose events go to `channel` (first found), for texts that name only the log.
pub fn provider_for(channel: &str) -> Option<String> {
    let mut found: Vec<&(String, Vec<String>)> = TABLES
        .channels
        .values()
        .filter(|(_, channels)| channels.iter().any(|c| c.eq_ignore_ascii_case(channel)))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
        .first()
        .filter(|_| !channel.eq_ignore_ascii_case("System"))
        .map(|(p, _)| p.clone())
}

/// The channel a provider's event `id` is logged in: the first of the provider's channels the
/// catalog lists the event under by channel, else the provider's last channel.
pub fn channel_for(provider: &str, id: u32) -> Option<String> {
    let (_, channels) = TABLES.channels.get(&provider_key(provider))?;
    let by_channel = channels.iter().find(|c| {
        catalog::CATALOG.iter().any(|e| {
            e.event_id == id && matches!(e.scope, Scope::Channel(sc) if sc.eq_ignore_ascii_case(c))
        })
    });
    by_channel.or(channels.last()).cloned()
}

fn patterns(provider: &str, channel: &str) -> Option<&'static [Patterns]> {
    let key = provider_key(provider);
    TABLES
        .messages
        .get(&key)
        .or_else(|| {
            let p = provider_for(channel)?;
            TABLES.messages.get(&provider_key(&p))
        })
        .map(Vec::as_slice)
}

/// The message as written, then with its line breaks removed, then replaced by spaces.
fn variants(message: &str) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
    let broken = message.contains('\n');
    std::iter::once(std::borrow::Cow::Borrowed(message)).chain(
        broken
            .then(|| {
                [
                    std::borrow::Cow::Owned(message.replace('\n', "")),
                    std::borrow::Cow::Owned(message.replace('\n', " ")),
                ]
            })
            .into_iter()
            .flatten(),
    )
}

/// The event id of a provider's message (the first event whose own regex matches).
pub fn identify(provider: &str, message: &str) -> Option<u32> {
    let list = patterns(provider, "")?;
    variants(message).find_map(|text| {
        list.iter()
            .find(|p| p.matchers.iter().any(|r| r.is_match(&text)))
            .map(|p| p.id)
    })
}

/// Set each named group of each matching regex, keeping values already set.
fn apply(regex: &Regex, text: &str, fields: &mut Fields) -> bool {
    let Some(caps) = regex.captures(text) else {
        return false;
    };
    for name in regex.capture_names().flatten() {
        if let Some(m) = caps.name(name)
            && !fields.contains_key(name)
        {
            fields.insert(name.to_string(), FieldValue::from_text(m.as_str()));
        }
    }
    true
}

/// Recover the fields of event `id` from its rendered message.
///
/// The "description … cannot be found" variant gives its insertion strings to
/// [`fields_from_values`]. A message that no `match` regex fits is tried again with its line
/// breaks removed and then replaced by spaces (PowerShell wraps long values at the console width).
pub fn fields_from_message(provider: &str, channel: &str, id: u32, message: &str) -> Fields {
    if let Some(values) = insertion_strings(message) {
        return fields_from_values(provider, channel, id, &values);
    }
    let mut fields = Fields::new();
    let Some(entry) = patterns(provider, channel).and_then(|l| l.iter().find(|p| p.id == id))
    else {
        return fields;
    };
    for text in variants(message) {
        let matched = entry.matchers.iter().any(|r| apply(r, &text, &mut fields));
        for r in &entry.extra {
            apply(r, &text, &mut fields);
        }
        if matched || entry.matchers.is_empty() {
            break;
        }
    }
    fields
}

/// Name positional values by the event's template (`param1`, `param2`… when no template is known
/// or there are more values than template fields).
pub fn fields_from_values(provider: &str, channel: &str, id: u32, values: &[String]) -> Fields {
    let template = TABLES
        .templates
        .get(&(provider_key(provider), id))
        .or_else(|| {
            let p = provider_for(channel)?;
            TABLES.templates.get(&(provider_key(&p), id))
        });
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let name = template
                .and_then(|t| t.get(i))
                .cloned()
                .unwrap_or_else(|| format!("param{}", i + 1));
            (name, FieldValue::from_text(v))
        })
        .collect()
}

/// The insertion strings of Event Viewer's "The description for Event ID N from source X cannot
/// be found. … The following information was included with the event:" text: the non-blank
/// lines after that sentence, up to the closing "The message resource is present…" remark.
pub fn insertion_strings(message: &str) -> Option<Vec<String>> {
    let trimmed = message.trim_start();
    if !trimmed.starts_with("The description for Event ID") {
        return None;
    }
    let marker = "The following information was included with the event:";
    let at = message.find(marker)?;
    let values = message[at + marker.len()..]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take_while(|l| {
            let lower = l.to_ascii_lowercase();
            !lower.starts_with("the message resource is present")
                && !lower.starts_with("the locale specific resource")
        })
        .map(str::to_string)
        .collect();
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::catalog::{CATALOG, RDPCLIENT_OPERATIONAL};

    const CAX: &str = "Microsoft-Windows-TerminalServices-ClientActiveXCore";

    #[test]
    fn tables_load_and_every_regex_compiles() {
        let t = load().unwrap();
        assert!(t.messages.values().map(Vec::len).sum::<usize>() > 100);
    }

    #[test]
    fn every_catalog_event_has_a_message_entry() {
        let t = load().unwrap();
        let mut missing = Vec::new();
        for e in CATALOG {
            let provider = match e.scope {
                Scope::Provider(p) => p.to_string(),
                Scope::Channel(c) => provider_for(c).unwrap_or_default(),
            };
            let known = t
                .messages
                .get(&provider_key(&provider))
                .is_some_and(|l| l.iter().any(|p| p.id == e.event_id));
            if !known {
                missing.push(format!("{provider} {}", e.event_id));
            }
        }
        assert!(missing.is_empty(), "no messages.json entry: {missing:?}");
    }

    #[test]
    fn named_groups_are_template_fields() {
        let t = load().unwrap();
        let mut bad = Vec::new();
        for (provider, list) in &t.messages {
            for p in list {
                let Some(fields) = t.templates.get(&(provider.clone(), p.id)) else {
                    continue;
                };
                for r in p.matchers.iter().chain(&p.extra) {
                    for name in r.capture_names().flatten() {
                        if !fields.iter().any(|f| f == name) {
                            bad.push(format!("{provider} {}: {name}", p.id));
                        }
                    }
                }
            }
        }
        assert!(bad.is_empty(), "groups not in the template: {bad:?}");
    }

    #[test]
    fn client_messages_give_fields() {
        let f = fields_from_message(
            CAX,
            "",
            1026,
            "RDP ClientActiveX has been disconnected (Reason= 2308)",
        );
        assert_eq!(f["Value"], FieldValue::UInt(2308));
        let f = fields_from_message(
            CAX,
            "",
            1024,
            "RDP ClientActiveX is trying to connect to the server (rdsh01.contoso.com)",
        );
        assert_eq!(f["Value"], FieldValue::Text("rdsh01.contoso.com".into()));
        let f = fields_from_message(
            "",
            RDPCLIENT_OPERATIONAL,
            1102,
            "The client has initiated a multi-transport connection to the server 10.0.0.20.",
        );
        assert_eq!(f["Value"], FieldValue::Text("10.0.0.20".into()));
    }

    #[test]
    fn labelled_lines_give_fields() {
        let lsm = "Remote Desktop Services: Session logon succeeded:\n\nUser: CONTOSO\\alice\nSession ID: 3\nSource Network Address: 10.0.0.7";
        let f = fields_from_message(
            "Microsoft-Windows-TerminalServices-LocalSessionManager",
            "",
            21,
            lsm,
        );
        assert_eq!(f["User"], FieldValue::Text("CONTOSO\\alice".into()));
        assert_eq!(f["SessionID"], FieldValue::UInt(3));
        assert_eq!(f["Address"], FieldValue::Text("10.0.0.7".into()));
        let sec = "An account failed to log on.\n\nSubject:\n\tSecurity ID:\t\tS-1-0-0\n\tAccount Name:\t\t-\n\tAccount Domain:\t\t-\n\tLogon ID:\t\t0x0\n\nLogon Type:\t\t\t3\n\nAccount For Which Logon Failed:\n\tSecurity ID:\t\tS-1-0-0\n\tAccount Name:\t\talice\n\tAccount Domain:\t\tCONTOSO\n\nFailure Information:\n\tFailure Reason:\t\tUnknown user name or bad password.\n\tStatus:\t\t\t0xC000006D\n\tSub Status:\t\t0xC000006A\n\nNetwork Information:\n\tWorkstation Name:\tWS1\n\tSource Network Address:\t10.0.0.7\n\tSource Port:\t\t50000\n\nDetailed Authentication Information:\n\tLogon Process:\t\tNtLmSsp \n\tAuthentication Package:\tNTLM";
        let f = fields_from_message("Microsoft-Windows-Security-Auditing", "Security", 4625, sec);
        assert_eq!(f["Status"], FieldValue::Hex(0xC000006D));
        assert_eq!(f["SubStatus"], FieldValue::Hex(0xC000006A));
        assert_eq!(f["LogonType"], FieldValue::UInt(3));
        assert_eq!(f["TargetUserName"], FieldValue::Text("alice".into()));
        assert_eq!(f["SubjectUserName"], FieldValue::Text("-".into()));
        assert_eq!(f["IpAddress"], FieldValue::Text("10.0.0.7".into()));
        assert_eq!(f["IpPort"], FieldValue::UInt(50000));
        assert_eq!(f["LogonProcessName"], FieldValue::Text("NtLmSsp ".into()));
    }

    #[test]
    fn wrapped_messages_are_rejoined() {
        let wrapped = "RDP ClientActiveX is trying to connect to the server (rdsh01.con\ntoso.com)";
        let f = fields_from_message(CAX, "", 1024, wrapped);
        assert_eq!(f["Value"], FieldValue::Text("rdsh01.contoso.com".into()));
    }

    #[test]
    fn trace_messages_identify_their_event() {
        assert_eq!(
            identify(
                CAX,
                "RDP ClientActiveX has been disconnected (Reason= 2308)"
            ),
            Some(1026)
        );
        assert_eq!(
            identify(
                "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS",
                "The server accepted a new TCP connection from client 10.0.0.7:50000."
            ),
            Some(131)
        );
        assert_eq!(identify(CAX, "something else"), None);
        assert_eq!(identify("NoSuchProvider", "x"), None);
    }

    #[test]
    fn insertion_strings_are_named_by_template() {
        let text = "The description for Event ID 1026 from source Microsoft-Windows-TerminalServices-ClientActiveXCore cannot be found. Either the component that raises this event is not installed on your local computer or the installation is corrupted. You can install or repair the component on the local computer.\n\nIf the event originated on another computer, the display information had to be saved with the event.\n\nThe following information was included with the event: \n\nDisconnect Reason\n2308\nInfo\n\nThe message resource is present but the message was not found in the message table\n";
        let f = fields_from_message(CAX, "", 1026, text);
        assert_eq!(f["Name"], FieldValue::Text("Disconnect Reason".into()));
        assert_eq!(f["Value"], FieldValue::UInt(2308));
        assert_eq!(f["CustomLevel"], FieldValue::Text("Info".into()));
        let f = fields_from_values("TermDD", "System", 56, &["a".into(), "10.0.0.7".into()]);
        assert_eq!(f["param2"], FieldValue::Text("10.0.0.7".into()));
    }

    #[test]
    fn channels_are_derived_from_the_provider() {
        assert_eq!(
            channel_for(CAX, 1026).as_deref(),
            Some(RDPCLIENT_OPERATIONAL)
        );
        assert_eq!(
            channel_for(
                "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
                1057
            )
            .as_deref(),
            Some("System")
        );
        assert_eq!(
            channel_for("Microsoft-Windows-RemoteDesktopServices-RdpCoreTS", 139).as_deref(),
            Some("Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational")
        );
        assert_eq!(channel_for("schannel", 36870).as_deref(), Some("System"));
        assert_eq!(channel_for("Unknown-Provider", 1), None);
        assert_eq!(provider_for(RDPCLIENT_OPERATIONAL).as_deref(), Some(CAX));
        assert_eq!(provider_for("System"), None);
    }
}
