//! Security log events (provider `Microsoft-Windows-Security-Auditing`, KB §2.11) on session
//! hosts, gateways and domain controllers.
//!
//! Takes: the logon or account details of each event.
//! Produces: [`Ev`]s with real templates: level 0, the audit subcategory as task (12544 Logon,
//! 12545 Logoff, 12548 Special Logon, 12551 Other Logon/Logoff, 14336 Credential Validation,
//! 14337/14339 Kerberos, 13824 User Account Management, 12810 Filtering Platform Connection),
//! keywords audit success `0x8020…` or failure `0x8010…`, and field types as Windows writes
//! them (`Status`/`SubStatus` HexInt32, `LogonType` UInt32, logon ids HexInt64, SIDs, GUIDs;
//! `IpPort` is a string).

use super::ev::{hex, hex64, manifest, s, sid, u};
use super::scenario::LogKind;
use super::world::{Ev, Proc};
use rdptriage::evtx_writer::Value;

const PROVIDER: (&str, &str) = (
    "Microsoft-Windows-Security-Auditing",
    "{54849625-5478-4994-a5ba-3e3b0328c30d}",
);
const SUCCESS: u64 = 0x8020_0000_0000_0000;
const FAILURE: u64 = 0x8010_0000_0000_0000;
/// The null SID (`S-1-0-0`), as Subject of network logons.
pub const NULL_SID: &str = "S-1-0-0";
const NULL_GUID: &str = "{00000000-0000-0000-0000-000000000000}";

fn audit(id: u16, task: u16, keywords: u64, version: u8) -> Ev {
    manifest(
        PROVIDER,
        LogKind::Security,
        "Security",
        Proc::Lsass,
        id,
        0,
        (task, 0),
        keywords,
    )
    .version(version)
}

/// Who a logon event is about and how it came in.
#[derive(Clone, Debug)]
pub struct Logon {
    /// Subject SID, name, domain, logon id (the machine for type 10/5, null for network logons).
    pub subject: (String, String, String, u64),
    /// Target user SID, name, domain.
    pub target: (String, String, String),
    /// Target logon id.
    pub logon_id: u64,
    /// LogonType (3 network/NLA, 10 remote interactive, 5 service, 7 unlock/reconnect).
    pub logon_type: u32,
    /// LogonProcessName (`NtLmSsp `, `Kerberos`, `User32 `, `Advapi  ` — trailing spaces as
    /// Windows pads them).
    pub process: String,
    /// AuthenticationPackageName.
    pub package: String,
    /// WorkstationName.
    pub workstation: String,
    /// ProcessId and ProcessName.
    pub caller: (u64, String),
    /// IpAddress and IpPort (`-` when none).
    pub ip: (String, String),
    /// LogonGuid.
    pub guid: String,
}

impl Logon {
    fn subject_fields(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("SubjectUserSid", sid(&self.subject.0)),
            ("SubjectUserName", s(&self.subject.1)),
            ("SubjectDomainName", s(&self.subject.2)),
            ("SubjectLogonId", hex64(self.subject.3)),
            ("TargetUserSid", sid(&self.target.0)),
            ("TargetUserName", s(&self.target.1)),
            ("TargetDomainName", s(&self.target.2)),
        ]
    }
}

/// 4624 (version 2): an account was successfully logged on.
pub fn logon_success(l: &Logon, elevated: bool) -> Ev {
    let mut f = l.subject_fields();
    let ntlm = l.package == "NTLM";
    f.extend([
        ("TargetLogonId", hex64(l.logon_id)),
        ("LogonType", u(l.logon_type)),
        ("LogonProcessName", s(&l.process)),
        ("AuthenticationPackageName", s(&l.package)),
        ("WorkstationName", s(&l.workstation)),
        ("LogonGuid", Value::Guid(l.guid.clone())),
        ("TransmittedServices", s("-")),
        ("LmPackageName", s(if ntlm { "NTLM V2" } else { "-" })),
        ("KeyLength", u(if ntlm { 128 } else { 0 })),
        ("ProcessId", hex64(l.caller.0)),
        ("ProcessName", s(&l.caller.1)),
        ("IpAddress", s(&l.ip.0)),
        ("IpPort", s(&l.ip.1)),
        ("ImpersonationLevel", s("%%1833")),
        (
            "RestrictedAdminMode",
            s(if l.logon_type == 10 { "%%1843" } else { "-" }),
        ),
        ("TargetOutboundUserName", s("-")),
        ("TargetOutboundDomainName", s("-")),
        ("VirtualAccount", s("%%1843")),
        ("TargetLinkedLogonId", hex64(0)),
        (
            "ElevatedToken",
            s(if elevated { "%%1842" } else { "%%1843" }),
        ),
    ]);
    audit(4624, 12544, SUCCESS, 2).data(f)
}

/// The `FailureReason` insertion string Windows pairs with a logon status.
fn failure_reason(status: u32, sub: u32) -> &'static str {
    match (status, sub) {
        (_, 0xC000_0234) | (0xC000_0234, _) => "%%2307",
        (_, 0xC000_0072) | (0xC000_0072, _) => "%%2310",
        (_, 0xC000_0193) | (0xC000_0193, _) => "%%2305",
        (_, 0xC000_0071) | (_, 0xC000_0224) => "%%2309",
        (0xC000_015B, _) => "%%2308",
        (0xC000_006D, _) => "%%2313",
        _ => "%%2304",
    }
}

/// 4625: an account failed to log on.
pub fn logon_failure(l: &Logon, status: u32, sub: u32) -> Ev {
    let mut f = l.subject_fields();
    f.extend([
        ("Status", hex(status)),
        ("FailureReason", s(failure_reason(status, sub))),
        ("SubStatus", hex(sub)),
        ("LogonType", u(l.logon_type)),
        ("LogonProcessName", s(&l.process)),
        ("AuthenticationPackageName", s(&l.package)),
        ("WorkstationName", s(&l.workstation)),
        ("TransmittedServices", s("-")),
        ("LmPackageName", s("-")),
        ("KeyLength", u(0)),
        ("ProcessId", hex64(l.caller.0)),
        ("ProcessName", s(&l.caller.1)),
        ("IpAddress", s(&l.ip.0)),
        ("IpPort", s(&l.ip.1)),
    ]);
    audit(4625, 12544, FAILURE, 0).data(f)
}

/// 4672: special privileges assigned to a new logon (administrators and SYSTEM).
pub fn special_privileges(user_sid: &str, user: &str, domain: &str, logon_id: u64) -> Ev {
    let privileges = "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege";
    audit(4672, 12548, SUCCESS, 0).data(vec![
        ("SubjectUserSid", sid(user_sid)),
        ("SubjectUserName", s(user)),
        ("SubjectDomainName", s(domain)),
        ("SubjectLogonId", hex64(logon_id)),
        ("PrivilegeList", s(privileges)),
    ])
}

/// 4634: an account was logged off.
pub fn logoff(user_sid: &str, user: &str, domain: &str, logon_id: u64, logon_type: u32) -> Ev {
    audit(4634, 12545, SUCCESS, 0).data(vec![
        ("TargetUserSid", sid(user_sid)),
        ("TargetUserName", s(user)),
        ("TargetDomainName", s(domain)),
        ("TargetLogonId", hex64(logon_id)),
        ("LogonType", u(logon_type)),
    ])
}

/// 4647: user initiated logoff.
pub fn user_logoff(user_sid: &str, user: &str, domain: &str, logon_id: u64) -> Ev {
    audit(4647, 12545, SUCCESS, 0).data(vec![
        ("TargetUserSid", sid(user_sid)),
        ("TargetUserName", s(user)),
        ("TargetDomainName", s(domain)),
        ("TargetLogonId", hex64(logon_id)),
    ])
}

/// 4778 (reconnected) or 4779 (disconnected): a session and a window station.
pub fn window_station(
    id: u16,
    account: (&str, &str, u64),
    session: &str,
    client: (&str, &str),
) -> Ev {
    audit(id, 12551, SUCCESS, 0).data(vec![
        ("AccountName", s(account.0)),
        ("AccountDomain", s(account.1)),
        ("LogonID", hex64(account.2)),
        ("SessionName", s(session)),
        ("ClientName", s(client.0)),
        ("ClientAddress", s(client.1)),
    ])
}

/// 4825: a user was denied access to Remote Desktop.
pub fn rdp_denied(user: &str, domain: &str, logon_id: u64, address: &str) -> Ev {
    audit(4825, 12551, FAILURE, 0).data(vec![
        ("AccountName", s(user)),
        ("AccountDomain", s(domain)),
        ("LogonID", hex64(logon_id)),
        ("ClientAddress", s(address)),
    ])
}

/// 4776: NTLM credential validation (on the machine holding the account: DC or local SAM).
pub fn ntlm_validation(user: &str, workstation: &str, status: u32) -> Ev {
    let kw = if status == 0 { SUCCESS } else { FAILURE };
    audit(4776, 14336, kw, 0).data(vec![
        ("PackageName", s("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0")),
        ("TargetUserName", s(user)),
        ("Workstation", s(workstation)),
        ("Status", hex(status)),
    ])
}

/// A Kerberos request seen by the KDC: who asked for what, from where.
#[derive(Clone, Debug)]
pub struct Kdc {
    /// TargetUserName, TargetDomainName (realm), TargetSid.
    pub user: (String, String, String),
    /// ServiceName and ServiceSid.
    pub service: (String, String),
    /// IpAddress (`::ffff:a.b.c.d`) and IpPort.
    pub ip: (String, String),
}

/// 4768: a TGT was requested (`Status` 0x0 or a Kerberos error such as 0x25).
pub fn tgt(k: &Kdc, status: u32) -> Ev {
    let kw = if status == 0 { SUCCESS } else { FAILURE };
    audit(4768, 14339, kw, 0).data(vec![
        ("TargetUserName", s(&k.user.0)),
        ("TargetDomainName", s(&k.user.1)),
        ("TargetSid", sid(&k.user.2)),
        ("ServiceName", s(&k.service.0)),
        ("ServiceSid", sid(&k.service.1)),
        ("TicketOptions", hex(0x4081_0010)),
        ("Status", hex(status)),
        (
            "TicketEncryptionType",
            hex(if status == 0 { 0x12 } else { 0xffff_ffff }),
        ),
        ("PreAuthType", s(if status == 0 { "2" } else { "-" })),
        ("IpAddress", s(&k.ip.0)),
        ("IpPort", s(&k.ip.1)),
        ("CertIssuerName", s("")),
        ("CertSerialNumber", s("")),
        ("CertThumbprint", s("")),
    ])
}

/// 4769: a service ticket was requested.
pub fn service_ticket(k: &Kdc, status: u32) -> Ev {
    let kw = if status == 0 { SUCCESS } else { FAILURE };
    audit(4769, 14337, kw, 0).data(vec![
        ("TargetUserName", s(format!("{}@{}", k.user.0, k.user.1))),
        ("TargetDomainName", s(&k.user.1)),
        ("ServiceName", s(&k.service.0)),
        ("ServiceSid", sid(&k.service.1)),
        ("TicketOptions", hex(0x4081_0000)),
        ("TicketEncryptionType", hex(0x12)),
        ("IpAddress", s(&k.ip.0)),
        ("IpPort", s(&k.ip.1)),
        ("Status", hex(status)),
        ("LogonGuid", Value::Guid(NULL_GUID.into())),
        ("TransmittedServices", s("-")),
    ])
}

/// 4771: Kerberos pre-authentication failed (`Status` 0x18 bad password, 0x25 clock skew…).
pub fn preauth_failed(k: &Kdc, status: u32) -> Ev {
    audit(4771, 14339, FAILURE, 0).data(vec![
        ("TargetUserName", s(&k.user.0)),
        ("TargetSid", sid(&k.user.2)),
        ("ServiceName", s(&k.service.0)),
        ("TicketOptions", hex(0x4081_0010)),
        ("Status", hex(status)),
        ("PreAuthType", s("2")),
        ("IpAddress", s(&k.ip.0)),
        ("IpPort", s(&k.ip.1)),
        ("CertIssuerName", s("")),
        ("CertSerialNumber", s("")),
        ("CertThumbprint", s("")),
    ])
}

/// 4740: a user account was locked out (on the DC; `TargetDomainName` is the caller computer).
pub fn lockout(user: (&str, &str), caller: &str, dc: (&str, &str, u64)) -> Ev {
    audit(4740, 13824, SUCCESS, 0).data(vec![
        ("TargetUserName", s(user.0)),
        ("TargetDomainName", s(caller)),
        ("TargetSid", sid(user.1)),
        ("SubjectUserSid", sid("S-1-5-18")),
        ("SubjectUserName", s(dc.0)),
        ("SubjectDomainName", s(dc.1)),
        ("SubjectLogonId", hex64(dc.2)),
    ])
}

/// 5157: the Windows Filtering Platform blocked a connection.
pub fn wfp_blocked(app: (u64, &str), inbound: bool, source: (&str, u16), dest: (&str, u16)) -> Ev {
    audit(5157, 12810, FAILURE, 1).data(vec![
        ("ProcessID", Value::UInt64(app.0)),
        ("Application", s(app.1)),
        ("Direction", s(if inbound { "%%14592" } else { "%%14593" })),
        ("SourceAddress", s(source.0)),
        ("SourcePort", s(source.1.to_string())),
        ("DestAddress", s(dest.0)),
        ("DestPort", s(dest.1.to_string())),
        ("Protocol", u(6)),
        ("FilterRTID", Value::UInt64(79_412)),
        ("LayerName", s(if inbound { "%%14610" } else { "%%14611" })),
        ("LayerRTID", Value::UInt64(if inbound { 44 } else { 48 })),
        ("RemoteUserID", sid(NULL_SID)),
        ("RemoteMachineID", sid(NULL_SID)),
    ])
}
