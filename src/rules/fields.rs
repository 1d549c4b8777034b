//! Known field names per event, so `rules lint` can warn about a misspelt field.
//!
//! Takes: a selector's channel or provider and event id.
//! Produces: the EventData/UserData field names that event carries, when rdptriage knows them.
//! Source: the provider templates listed in `rdp-failure-kb.md` §2 (field names from manifests and
//! real logs). Classic events with unnamed data get `param1`, `param2`… from the readers. An event
//! missing from this table is simply not checked.

use crate::event::catalog::provider_matches;
use crate::event::catalog::{
    GATEWAY_OPERATIONAL, LSM_OPERATIONAL, RCM_OPERATIONAL, RCM_PROVIDER, RDPCLIENT_OPERATIONAL,
    RDPCORETS_ADMIN, RDPCORETS_OPERATIONAL, SECURITY_AUDITING, Scope,
};
use Scope::{Channel, Provider};

const NAME_VALUE: &[&str] = &["Name", "Value", "CustomLevel"];
const STATE_ERROR: &[&str] = &[
    "StateTransition",
    "StateTransitionName",
    "PreviousState",
    "PreviousStateName",
    "NewState",
    "NewStateName",
    "Event",
    "EventName",
    "ErrorCode",
];
const LSM_SESSION: &[&str] = &["User", "SessionID", "Address"];
const GATEWAY: &[&str] = &[
    "Username",
    "IpAddress",
    "AuthType",
    "Resource",
    "ConnectionProtocol",
    "ErrorCode",
    "BytesReceived",
    "BytesTransfered",
    "SessionDuration",
];
const LOGON: &[&str] = &[
    "SubjectUserSid",
    "SubjectUserName",
    "SubjectDomainName",
    "SubjectLogonId",
    "TargetUserSid",
    "TargetUserName",
    "TargetDomainName",
    "TargetLogonId",
    "Status",
    "SubStatus",
    "FailureReason",
    "LogonType",
    "LogonProcessName",
    "AuthenticationPackageName",
    "WorkstationName",
    "IpAddress",
    "IpPort",
    "ProcessName",
    "ProcessId",
    "LogonGuid",
    "TransmittedServices",
    "LmPackageName",
    "KeyLength",
    "ImpersonationLevel",
    "RestrictedAdminMode",
    "ElevatedToken",
    "VirtualAccount",
    "TargetOutboundUserName",
    "TargetOutboundDomainName",
    "TargetLinkedLogonId",
];
const KERBEROS_DC: &[&str] = &[
    "TargetUserName",
    "TargetDomainName",
    "TargetSid",
    "ServiceName",
    "ServiceSid",
    "Status",
    "PreAuthType",
    "IpAddress",
    "IpPort",
    "TicketOptions",
    "TicketEncryptionType",
    "CertIssuerName",
    "CertSerialNumber",
    "CertThumbprint",
];
const WFP: &[&str] = &[
    "Application",
    "SourceAddress",
    "SourcePort",
    "DestAddress",
    "DestPort",
    "Protocol",
    "ProcessId",
    "ProcessID",
    "Direction",
    "LayerName",
    "LayerRTID",
    "FilterRTID",
    "RemoteUserID",
    "RemoteMachineID",
];
const SESSION_STATION: &[&str] = &[
    "AccountName",
    "AccountDomain",
    "LogonID",
    "SessionName",
    "ClientName",
    "ClientAddress",
];
const KERBEROS_ERROR: &[&str] = &[
    "LogonSession",
    "ClientTime",
    "ServerTime",
    "ErrorCode",
    "ErrorMessage",
    "ExtendedError",
    "ClientRealm",
    "ClientName",
    "ServerRealm",
    "ServerName",
    "TargetName",
    "ErrorText",
    "File",
    "Line",
];
const PARAMS: &[&str] = &["param1", "param2", "param3", "param4"];

/// (channel or provider, event ids, field names).
static KNOWN: &[(Scope, &[u32], &[&str])] = &[
    (
        Channel(RDPCLIENT_OPERATIONAL),
        &[1024, 1026, 1102],
        NAME_VALUE,
    ),
    (
        Channel(RDPCLIENT_OPERATIONAL),
        &[1027],
        &["DomainName", "SessionId"],
    ),
    (
        Channel(RDPCLIENT_OPERATIONAL),
        &[1028, 1029, 1015],
        &["TraceMessage"],
    ),
    (
        Channel(RDPCLIENT_OPERATIONAL),
        &[1007, 1009, 1017],
        &["TraceMessage", "ErrorCode"],
    ),
    (Channel(RDPCLIENT_OPERATIONAL), &[226], STATE_ERROR),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[131],
        &["ConnType", "ClientIP"],
    ),
    (Channel(RDPCORETS_OPERATIONAL), &[99], &["ResultCode"]),
    (Channel(RDPCORETS_OPERATIONAL), &[65], &["ConnectionName"]),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[66],
        &["ConnectionName", "SessionID"],
    ),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[68],
        &[
            "ConnectionName",
            "PromptForCredentials",
            "PromptForCredentialsDone",
            "GfxChannelOpened",
            "FirstGraphicsReceived",
        ],
    ),
    (Channel(RDPCORETS_OPERATIONAL), &[72], &["MethodName"]),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[97],
        &["ComponentName", "ErrorCode"],
    ),
    (
        Channel(RDPCORETS_ADMIN),
        &[97],
        &["ComponentName", "ErrorCode"],
    ),
    (Channel(RDPCORETS_OPERATIONAL), &[101], &["ReasonString"]),
    (Channel(RDPCORETS_OPERATIONAL), &[103], &["ReasonCode"]),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[104],
        &["TimezoneBiasHour"],
    ),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[129],
        &["TransportProtocolName", "Port"],
    ),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[135],
        &["TunnelID", "TransportType"],
    ),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[139],
        &["ResultCode", "IPString"],
    ),
    (
        Channel(RDPCORETS_ADMIN),
        &[139],
        &["ResultCode", "IPString"],
    ),
    (Channel(RDPCORETS_OPERATIONAL), &[140], &["IPString"]),
    (Channel(RDPCORETS_OPERATIONAL), &[141], &["InstanceID"]),
    (Channel(RDPCORETS_OPERATIONAL), &[142, 143], &["error"]),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[148],
        &["ChannelName", "TunnelID"],
    ),
    (Channel(RDPCORETS_OPERATIONAL), &[153], &["TLSVersion"]),
    (Channel(RDPCORETS_OPERATIONAL), &[226], STATE_ERROR),
    (Channel(RDPCORETS_OPERATIONAL), &[227], NAME_VALUE),
    (
        Channel(RDPCORETS_OPERATIONAL),
        &[228],
        &["ComponentName", "Message", "ErrorCode"],
    ),
    (Channel(LSM_OPERATIONAL), &[21, 22, 24, 25], LSM_SESSION),
    (Channel(LSM_OPERATIONAL), &[23, 41], &["User", "SessionID"]),
    (
        Channel(LSM_OPERATIONAL),
        &[39],
        &["TargetSession", "Source"],
    ),
    (Channel(LSM_OPERATIONAL), &[40], &["Session", "Reason"]),
    (
        Channel(LSM_OPERATIONAL),
        &[36, 37],
        &[
            "SessionId",
            "State",
            "StateName",
            "Event",
            "EventName",
            "ErrorCode",
        ],
    ),
    (
        Channel(RCM_OPERATIONAL),
        &[258, 259, 261],
        &["listenerName"],
    ),
    (
        Channel(RCM_OPERATIONAL),
        &[260],
        &["listenerName", "errorCode"],
    ),
    (
        Channel(RCM_OPERATIONAL),
        &[1149],
        &["Param1", "Param2", "Param3"],
    ),
    (Channel(RCM_OPERATIONAL), &[1158], &["Param1"]),
    (
        Provider(RCM_PROVIDER),
        &[
            1050, 1051, 1052, 1053, 1054, 1055, 1056, 1057, 1058, 1059, 1062, 1064, 1065,
        ],
        PARAMS,
    ),
    (
        Channel(GATEWAY_OPERATIONAL),
        &[
            200, 201, 202, 203, 300, 301, 302, 303, 304, 305, 306, 307, 309, 312, 313,
        ],
        GATEWAY,
    ),
    (
        Provider("Schannel"),
        &[36870],
        &["Type", "ErrorCode", "ErrorStatus"],
    ),
    (Provider("Schannel"), &[36871], &["Type", "ErrorState"]),
    (
        Provider("Schannel"),
        &[36872],
        &["Type", "ErrorCode", "CertFlags", "CredContext"],
    ),
    (Provider("Schannel"), &[36874], &["Protocol"]),
    (
        Provider("Schannel"),
        &[36876, 36877],
        &["ErrorCode", "pCertificateContext"],
    ),
    (
        Provider("Schannel"),
        &[36881, 36882, 36883, 36884],
        &["certificateContext", "Name"],
    ),
    (Provider("Schannel"), &[36887], &["AlertDesc"]),
    (
        Provider("Schannel"),
        &[36888],
        &["AlertDesc", "ErrorState", "TargetName"],
    ),
    (
        Provider("LsaSrv"),
        &[6041],
        &["TargetName", "TargetVersion"],
    ),
    (Provider("LsaSrv"), &[6040], &["Package", "TargetName"]),
    (
        Provider("LsaSrv"),
        &[40960],
        &["Target", "Protocol", "Error"],
    ),
    (Provider("LsaSrv"), &[40961], &["Target"]),
    (
        Provider("Microsoft-Windows-Security-Kerberos"),
        &[3],
        KERBEROS_ERROR,
    ),
    (
        Provider("Microsoft-Windows-Time-Service"),
        &[35],
        &["TimeSource", "TimeSourceRefId", "CurrentStratumNumber"],
    ),
    (
        Provider("Microsoft-Windows-Time-Service"),
        &[37],
        &["TimeSource"],
    ),
    (
        Provider("Microsoft-Windows-Time-Service"),
        &[36],
        &[
            "UnsynchronizedTimeSeconds",
            "TimeRemainingToSetLocalClockFreeRunningSeconds",
        ],
    ),
    (
        Provider("Microsoft-Windows-Time-Service"),
        &[50],
        &["TimeDifferenceMilliseconds", "TimeSampleSeconds"],
    ),
    (
        Provider("Microsoft-Windows-Time-Service"),
        &[129, 134, 136],
        &["ErrorMessage", "RetryMinutes", "DomainPeer"],
    ),
    (
        Provider("Microsoft-Windows-Time-Service"),
        &[22, 24, 47],
        &["Peer", "DomainPeer", "ManualPeer", "ErrorMessage"],
    ),
    (
        Provider("Microsoft-Windows-Time-Service"),
        &[34],
        &[
            "SystemTimeChangeSeconds",
            "MaxSystemTimeChangeSeconds",
            "TimeSource",
        ],
    ),
    (Provider(SECURITY_AUDITING), &[4624, 4625], LOGON),
    (
        Provider(SECURITY_AUDITING),
        &[4825],
        &["AccountName", "AccountDomain", "LogonID", "ClientAddress"],
    ),
    (Provider(SECURITY_AUDITING), &[4778, 4779], SESSION_STATION),
    (
        Provider(SECURITY_AUDITING),
        &[4776],
        &["PackageName", "TargetUserName", "Workstation", "Status"],
    ),
    (
        Provider(SECURITY_AUDITING),
        &[4768, 4769, 4771],
        KERBEROS_DC,
    ),
    (Provider(SECURITY_AUDITING), &[5152, 5157], WFP),
    (
        Provider("Microsoft-Windows-DNS-Client"),
        &[1014],
        &["QueryName", "AddressLength", "Address"],
    ),
];

/// The field names of an event, if known. `channel` and `provider` are the selector's.
pub fn known_fields(
    channel: Option<&str>,
    provider: Option<&str>,
    event_id: u32,
) -> Option<&'static [&'static str]> {
    KNOWN
        .iter()
        .find(|(scope, ids, _)| {
            ids.contains(&event_id)
                && match scope {
                    Channel(c) => channel.is_some_and(|x| x.eq_ignore_ascii_case(c)),
                    Provider(p) => {
                        provider.is_some_and(|x| provider_matches(p, x))
                            || (*p == SECURITY_AUDITING
                                && channel.is_some_and(|c| c.eq_ignore_ascii_case("Security")))
                    }
                }
        })
        .map(|(_, _, fields)| *fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_by_channel_or_provider() {
        assert!(
            known_fields(Some(RDPCORETS_OPERATIONAL), None, 131)
                .unwrap()
                .contains(&"ClientIP")
        );
        assert!(
            known_fields(Some("System"), Some("Microsoft-Windows-Schannel"), 36870)
                .unwrap()
                .contains(&"ErrorCode")
        );
        assert!(
            known_fields(Some("Security"), None, 4625)
                .unwrap()
                .contains(&"SubStatus")
        );
        assert!(known_fields(Some("System"), None, 36870).is_none());
    }
}
