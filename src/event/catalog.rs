//! The event catalog: every (channel or provider, event id) rdptriage understands, with its meaning.
//!
//! Takes: a record's channel, provider and event id.
//! Produces: the [`CatalogEntry`] saying what the event means, which machine role logs it, and a
//! short stable `kind` name (used in terminal output and rule lint). Readers call [`is_relevant`]
//! before building any fields, so records outside the catalog cost only the header look-up.
//!
//! Sources: `rdp-failure-kb.md` sections 2.1–2.14 (ids, fields and levels are facts from provider
//! manifests and real logs; the `meaning` texts are ours).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Which machine in an RDP connection logs an event (or plays a part in an attempt).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostRole {
    /// The machine running mstsc / the RDP ActiveX client.
    Client,
    /// The RD Gateway.
    Gateway,
    /// The session host (the machine being connected to).
    Server,
    /// A domain controller.
    Dc,
    /// Not determined by this event alone (System, Security…).
    Unknown,
}

impl HostRole {
    /// Lower-case name as used in reports and rules.
    pub fn as_str(self) -> &'static str {
        match self {
            HostRole::Client => "client",
            HostRole::Gateway => "gateway",
            HostRole::Server => "server",
            HostRole::Dc => "dc",
            HostRole::Unknown => "unknown",
        }
    }
}

/// How an entry is matched: by channel (for channels owned by one provider) or by provider name
/// (for shared channels such as `System`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Any provider writing to this channel.
    Channel(&'static str),
    /// This provider, whatever channel (System, Security, an Operational log…).
    Provider(&'static str),
}

/// One event rdptriage understands.
#[derive(Clone, Copy, Debug)]
pub struct CatalogEntry {
    /// How the entry is matched.
    pub scope: Scope,
    /// The event id.
    pub event_id: u32,
    /// A short stable name, e.g. `client.disconnected`.
    pub kind: &'static str,
    /// The role of the machine that logs it.
    pub role: HostRole,
    /// What the event tells a person diagnosing a failed connection (our words).
    pub meaning: &'static str,
}

/// Channel of the RDP client.
pub const RDPCLIENT_OPERATIONAL: &str = "Microsoft-Windows-TerminalServices-RDPClient/Operational";
/// Channel of the session host's RDP stack.
pub const RDPCORETS_OPERATIONAL: &str =
    "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";
/// Admin channel of the session host's RDP stack.
pub const RDPCORETS_ADMIN: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Admin";
/// Local Session Manager channel.
pub const LSM_OPERATIONAL: &str =
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
/// Remote Connection Manager channel.
pub const RCM_OPERATIONAL: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
/// Remote Connection Manager admin channel.
pub const RCM_ADMIN: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin";
/// RD Gateway channel.
pub const GATEWAY_OPERATIONAL: &str = "Microsoft-Windows-TerminalServices-Gateway/Operational";
/// RD Gateway admin channel.
pub const GATEWAY_ADMIN: &str = "Microsoft-Windows-TerminalServices-Gateway/Admin";
/// DNS client operational channel.
pub const DNS_CLIENT_OPERATIONAL: &str = "Microsoft-Windows-DNS-Client/Operational";
/// NTLM operational channel.
pub const NTLM_OPERATIONAL: &str = "Microsoft-Windows-NTLM/Operational";

/// Provider of the Security log.
pub const SECURITY_AUDITING: &str = "Microsoft-Windows-Security-Auditing";
/// Provider of the RCM certificate events in System (and of the RCM channels).
pub const RCM_PROVIDER: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";

use HostRole::{Client, Dc, Gateway, Server, Unknown};
use Scope::{Channel, Provider};

macro_rules! entries {
    ($( $scope:expr, $id:expr, $kind:expr, $role:expr, $meaning:expr; )*) => {
        &[ $( CatalogEntry { scope: $scope, event_id: $id, kind: $kind, role: $role, meaning: $meaning }, )* ]
    };
}

/// Every event rdptriage understands.
pub static CATALOG: &[CatalogEntry] = entries![
    // 2.1 RDP client
    Channel(RDPCLIENT_OPERATIONAL), 1024, "client.connect_started", Client, "The client started a connection; Value is the target as the user typed it.";
    Channel(RDPCLIENT_OPERATIONAL), 1025, "client.connected", Client, "The RDP connection to the server was established.";
    Channel(RDPCLIENT_OPERATIONAL), 1026, "client.disconnected", Client, "The client connection ended; Value is the primary disconnect reason (the dialog's error code, never the extended code).";
    Channel(RDPCLIENT_OPERATIONAL), 1027, "client.logged_on", Client, "The client logged on to the domain and got a session id from the server.";
    Channel(RDPCLIENT_OPERATIONAL), 1028, "client.tls_supported", Client, "The server answered the TLS negotiation, so the connection reached an RDP listener.";
    Channel(RDPCLIENT_OPERATIONAL), 1029, "client.user_hash", Client, "Hash of the user name sent by the client (to match the server's user).";
    Channel(RDPCLIENT_OPERATIONAL), 1102, "client.multitransport_started", Client, "The client opened the UDP side channel; Value is the server address it resolved to.";
    Channel(RDPCLIENT_OPERATIONAL), 1103, "client.multitransport_up", Client, "The UDP side channel is up.";
    Channel(RDPCLIENT_OPERATIONAL), 1105, "client.multitransport_down", Client, "The UDP side channel closed (often just before the connection ends).";
    Channel(RDPCLIENT_OPERATIONAL), 226, "client.state_error", Client, "The client's connection state machine failed a transition; ErrorCode says why (RDPClient_SSL means the TLS handshake).";
    Channel(RDPCLIENT_OPERATIONAL), 1007, "client.dns_failed", Client, "The client could not resolve the server name.";
    Channel(RDPCLIENT_OPERATIONAL), 1009, "client.credentials_rejected", Client, "The server did not accept the credentials the client sent (NLA).";
    Channel(RDPCLIENT_OPERATIONAL), 1015, "client.autoreconnect_failed", Client, "Automatic reconnection to the server failed.";
    Channel(RDPCLIENT_OPERATIONAL), 1017, "client.no_license", Client, "The client has no license to connect to the server.";
    // 2.2 RdpCoreTS
    Channel(RDPCORETS_OPERATIONAL), 131, "server.connection_accepted", Server, "The listener accepted a TCP or UDP connection; ClientIP is the client's address and port. First proof the client got through the network.";
    Channel(RDPCORETS_OPERATIONAL), 98, "server.tcp_established", Server, "A TCP connection was established.";
    Channel(RDPCORETS_OPERATIONAL), 99, "server.tcp_failed", Server, "The TCP connection failed; ResultCode says why.";
    Channel(RDPCORETS_OPERATIONAL), 65, "server.connection_created", Server, "The server created a connection object (RDP-Tcp#N).";
    Channel(RDPCORETS_OPERATIONAL), 66, "server.connection_assigned", Server, "The connection was attached to a session.";
    Channel(RDPCORETS_OPERATIONAL), 68, "server.connection_timings", Server, "Timings of the connection up to first graphics: the connection got far.";
    Channel(RDPCORETS_OPERATIONAL), 97, "server.protocol_error", Server, "The server found an error in the RDP protocol stream and dropped the client.";
    Channel(RDPCORETS_OPERATIONAL), 101, "server.multitransport_disabled", Server, "UDP transport is not used (configuration).";
    Channel(RDPCORETS_OPERATIONAL), 102, "server.connection_terminated", Server, "The server ended the main RDP connection with the client.";
    Channel(RDPCORETS_OPERATIONAL), 103, "server.disconnect_reason", Server, "The server's internal disconnect reason for the connection.";
    Channel(RDPCORETS_OPERATIONAL), 104, "server.client_timezone", Server, "The client's time-zone bias as reported to the server.";
    Channel(RDPCORETS_OPERATIONAL), 129, "server.listener_bound", Server, "The RDP listener is bound to its port.";
    Channel(RDPCORETS_OPERATIONAL), 135, "server.transport_chosen", Server, "The transport chosen for the connection.";
    Channel(RDPCORETS_OPERATIONAL), 139, "server.security_layer_error", Server, "The server's security layer (TLS) failed with this client and disconnected it.";
    Channel(RDPCORETS_OPERATIONAL), 140, "server.bad_credentials", Server, "A connection failed because the user name or password was wrong (NLA).";
    Channel(RDPCORETS_OPERATIONAL), 141, "server.udp_instance", Server, "A UDP transport instance was created.";
    Channel(RDPCORETS_OPERATIONAL), 142, "server.udp_error", Server, "The UDP transport failed.";
    Channel(RDPCORETS_OPERATIONAL), 143, "server.udp_error", Server, "The UDP transport failed.";
    Channel(RDPCORETS_OPERATIONAL), 148, "server.channel_closed", Server, "A virtual channel closed between server and client.";
    Channel(RDPCORETS_OPERATIONAL), 153, "server.tls_version", Server, "The TLS version negotiated with the client.";
    Channel(RDPCORETS_OPERATIONAL), 226, "server.state_error", Server, "The server's connection state machine failed a transition; ErrorCode 0x80070040 means the peer vanished.";
    Channel(RDPCORETS_OPERATIONAL), 227, "server.trace_error", Server, "Internal trace of a failed call (also seen on healthy servers).";
    Channel(RDPCORETS_OPERATIONAL), 228, "server.disconnect_trace", Server, "Internal trace written while disconnecting.";
    Channel(RDPCORETS_ADMIN), 97, "server.protocol_error", Server, "The server found an error in the RDP protocol stream and dropped the client.";
    Channel(RDPCORETS_ADMIN), 139, "server.security_layer_error", Server, "The server's security layer (TLS) failed with this client and disconnected it.";
    Provider("TermDD"), 50, "server.protocol_error", Server, "Legacy (2008 R2): protocol error in the RDP stream, client disconnected.";
    Provider("TermDD"), 56, "server.security_layer_error", Server, "Legacy (2008 R2): security layer error with the client's address.";
    // 2.3 LocalSessionManager
    Channel(LSM_OPERATIONAL), 21, "server.session_logon", Server, "A session logon succeeded (user, session id, source address).";
    Channel(LSM_OPERATIONAL), 22, "server.shell_started", Server, "The user's shell started in the session.";
    Channel(LSM_OPERATIONAL), 23, "server.session_logoff", Server, "The session was logged off.";
    Channel(LSM_OPERATIONAL), 24, "server.session_disconnected", Server, "The session was disconnected (the session survives).";
    Channel(LSM_OPERATIONAL), 25, "server.session_reconnected", Server, "The user reconnected to an existing session.";
    Channel(LSM_OPERATIONAL), 39, "server.session_disconnected_by_other", Server, "Another session (an admin tool or the same user elsewhere) disconnected this session.";
    Channel(LSM_OPERATIONAL), 40, "server.session_disconnect_reason", Server, "Why a session was disconnected; Reason uses the server error-info codes (7 = server denied the connection).";
    Channel(LSM_OPERATIONAL), 41, "server.session_arbitration", Server, "The server began deciding which session the user gets.";
    Channel(LSM_OPERATIONAL), 36, "server.session_state_error", Server, "The session manager failed a session state change: a stuck or ghost session.";
    Channel(LSM_OPERATIONAL), 37, "server.session_state_error", Server, "The session manager failed a session state change: a stuck or ghost session.";
    Channel(LSM_OPERATIONAL), 16, "server.lsm_start_failed", Server, "The local session manager failed to start.";
    Channel(LSM_OPERATIONAL), 17, "server.rds_start_failed", Server, "Remote Desktop Services failed to start.";
    // 2.4 RemoteConnectionManager
    Channel(RCM_OPERATIONAL), 261, "server.listener_connection", Server, "The RDP listener received a TCP connection (scans included).";
    Channel(RCM_OPERATIONAL), 258, "server.listener_started", Server, "The RDP listener started listening.";
    Channel(RCM_OPERATIONAL), 259, "server.listener_stopped", Server, "The RDP listener stopped listening.";
    Channel(RCM_OPERATIONAL), 260, "server.listener_failed", Server, "The RDP listener failed while listening.";
    Channel(RCM_OPERATIONAL), 1149, "server.user_authenticated", Server, "Network-level authentication of the user succeeded (logged on success only).";
    Channel(RCM_OPERATIONAL), 1158, "server.connection_from", Server, "A connection was accepted from this address.";
    Channel(RCM_ADMIN), 1006, "server.incomplete_connections", Server, "The host received a large number of incomplete connections.";
    Channel(RCM_ADMIN), 1068, "server.licensing_mode_missing", Server, "The Remote Desktop licensing mode is not configured.";
    Channel(RCM_ADMIN), 1069, "server.licensing_grace_expired", Server, "The Remote Desktop licensing grace period has expired.";
    Channel(RCM_OPERATIONAL), 1136, "server.role_not_installed", Server, "The RD Session Host role is not installed.";
    Provider(RCM_PROVIDER), 1050, "server.cert_settings_inconsistent", Server, "Listener encryption and security-layer settings were inconsistent and were corrected.";
    Provider(RCM_PROVIDER), 1051, "server.cert_selected_missing", Server, "The configured certificate was not usable; the default certificate is used.";
    Provider(RCM_PROVIDER), 1052, "server.cert_expiring", Server, "The RDP certificate expires soon.";
    Provider(RCM_PROVIDER), 1053, "server.cert_expired", Server, "The configured RDP certificate has expired.";
    Provider(RCM_PROVIDER), 1054, "server.cert_wrong_eku", Server, "The RDP certificate lacks the Server Authentication purpose.";
    Provider(RCM_PROVIDER), 1055, "server.cert_key_inaccessible", Server, "TermService cannot open the private key of the RDP certificate.";
    Provider(RCM_PROVIDER), 1056, "server.cert_self_signed_created", Server, "A new self-signed RDP certificate was created.";
    Provider(RCM_PROVIDER), 1057, "server.cert_create_failed", Server, "Creating a new self-signed RDP certificate failed (status names the reason).";
    Provider(RCM_PROVIDER), 1058, "server.cert_replace_failed", Server, "Replacing the expired self-signed RDP certificate failed (status names the reason).";
    Provider(RCM_PROVIDER), 1059, "server.cert_config_reset", Server, "The RDP certificate configuration was invalid and was reset.";
    Provider(RCM_PROVIDER), 1062, "server.cert_wrong_subject", Server, "The template-based RDP certificate has an invalid subject name.";
    Provider(RCM_PROVIDER), 1064, "server.cert_template_create_failed", Server, "A template-based RDP certificate could not be installed.";
    Provider(RCM_PROVIDER), 1065, "server.cert_template_replace_failed", Server, "An expired template-based RDP certificate could not be replaced.";
    // 2.5 Gateway
    Channel(GATEWAY_OPERATIONAL), 200, "gateway.cap_passed", Gateway, "The user met the connection authorization policy (CAP).";
    Channel(GATEWAY_OPERATIONAL), 201, "gateway.cap_failed", Gateway, "The user did not meet the connection authorization policy (CAP).";
    Channel(GATEWAY_OPERATIONAL), 202, "gateway.admin_disconnect", Gateway, "An administrator disconnected the user.";
    Channel(GATEWAY_OPERATIONAL), 203, "gateway.max_connections", Gateway, "The gateway reached its configured maximum of simultaneous connections.";
    Channel(GATEWAY_OPERATIONAL), 300, "gateway.rap_passed", Gateway, "The user met the resource authorization policy (RAP) for the resource.";
    Channel(GATEWAY_OPERATIONAL), 301, "gateway.rap_failed", Gateway, "The user did not meet the resource authorization policy (RAP).";
    Channel(GATEWAY_OPERATIONAL), 302, "gateway.resource_connected", Gateway, "The gateway connected the user to the session host.";
    Channel(GATEWAY_OPERATIONAL), 303, "gateway.resource_disconnected", Gateway, "The user's tunnel to the session host closed (bytes and duration).";
    Channel(GATEWAY_OPERATIONAL), 304, "gateway.resource_unreachable", Gateway, "The user passed CAP and RAP but the gateway could not reach the session host.";
    Channel(GATEWAY_OPERATIONAL), 305, "gateway.resource_event", Gateway, "Gateway resource event.";
    Channel(GATEWAY_OPERATIONAL), 306, "gateway.tunnel_failed", Gateway, "The gateway could not create a tunnel for the user.";
    Channel(GATEWAY_OPERATIONAL), 307, "gateway.session_timeout", Gateway, "The user was disconnected at the session time-out.";
    Channel(GATEWAY_OPERATIONAL), 309, "gateway.reauth_failed", Gateway, "Periodic re-authentication or re-authorization failed.";
    Channel(GATEWAY_OPERATIONAL), 312, "gateway.outbound_pending", Gateway, "A client opened a transport connection that is not authenticated yet.";
    Channel(GATEWAY_OPERATIONAL), 313, "gateway.inbound_pending", Gateway, "A client opened a transport connection that is not authenticated yet.";
    Channel(GATEWAY_OPERATIONAL), 100, "gateway.service_init_failed", Gateway, "The gateway service could not initialize.";
    Channel(GATEWAY_OPERATIONAL), 101, "gateway.service_start_failed", Gateway, "The gateway service could not start.";
    Channel(GATEWAY_OPERATIONAL), 102, "gateway.certificate_required", Gateway, "The gateway needs a valid SSL certificate.";
    Channel(GATEWAY_OPERATIONAL), 103, "gateway.insufficient_permissions", Gateway, "The gateway service lacks permissions.";
    Channel(GATEWAY_OPERATIONAL), 400, "gateway.shutting_down", Gateway, "The gateway service is shutting down.";
    Channel(GATEWAY_OPERATIONAL), 700, "gateway.crashed", Gateway, "An exception occurred in the gateway; it will be restarted.";
    Channel(GATEWAY_ADMIN), 100, "gateway.service_init_failed", Gateway, "The gateway service could not initialize.";
    Channel(GATEWAY_ADMIN), 102, "gateway.certificate_required", Gateway, "The gateway needs a valid SSL certificate.";
    Channel(GATEWAY_ADMIN), 700, "gateway.crashed", Gateway, "An exception occurred in the gateway; it will be restarted.";
    // 2.6 Schannel
    Provider("Schannel"), 36870, "tls.server_key_inaccessible", Unknown, "The TLS server credential's private key could not be opened.";
    Provider("Schannel"), 36871, "tls.server_credential_failed", Unknown, "Creating the TLS server credential failed (often disabled protocols or ciphers).";
    Provider("Schannel"), 36872, "tls.server_chain_failed", Unknown, "The chain of the TLS server certificate could not be retrieved.";
    Provider("Schannel"), 36874, "tls.no_common_cipher", Unknown, "The client offered no cipher suite the server supports.";
    Provider("Schannel"), 36876, "tls.remote_server_cert_invalid", Unknown, "The certificate from the remote server did not validate (this machine was the TLS client).";
    Provider("Schannel"), 36877, "tls.remote_client_cert_invalid", Unknown, "The certificate from the remote client did not validate.";
    Provider("Schannel"), 36881, "tls.remote_cert_expired", Unknown, "The remote server's certificate is expired or not yet valid.";
    Provider("Schannel"), 36882, "tls.remote_cert_untrusted", Unknown, "The remote server's certificate was issued by an untrusted authority.";
    Provider("Schannel"), 36883, "tls.remote_cert_revoked", Unknown, "The remote server's certificate is revoked.";
    Provider("Schannel"), 36884, "tls.remote_cert_name_mismatch", Unknown, "The remote server's certificate does not carry the expected name.";
    Provider("Schannel"), 36886, "tls.no_server_credential", Unknown, "No suitable default TLS server credential exists.";
    Provider("Schannel"), 36887, "tls.alert_received", Unknown, "The remote end aborted the TLS handshake with a fatal alert.";
    Provider("Schannel"), 36888, "tls.alert_sent", Unknown, "This machine aborted the TLS handshake with a fatal alert.";
    // 2.7 LsaSrv
    Provider("LsaSrv"), 6041, "auth.credssp_oracle_blocked", Client, "CredSSP refused the remote host's protocol version (Encryption Oracle Remediation).";
    Provider("LsaSrv"), 6040, "auth.credssp_downgrade", Unknown, "CredSSP or package downgrade warning.";
    Provider("LsaSrv"), 40960, "auth.sspi_error", Unknown, "An authentication protocol failed against a server (Kerberos/Negotiate).";
    Provider("LsaSrv"), 40961, "auth.no_auth_protocol", Unknown, "No authentication protocol was available to reach a server.";
    Provider("LsaSrv"), 45057, "auth.lsa_info", Unknown, "Account lockout or logon cache information.";
    Provider("LsaSrv"), 45058, "auth.lsa_info", Unknown, "Account lockout or logon cache information.";
    // 2.8 Tcpip
    Provider("Tcpip"), 4227, "network.endpoint_reuse", Unknown, "Outgoing TCP connections failed because local endpoints were recently used: ports are running out.";
    Provider("Tcpip"), 4231, "network.ports_exhausted", Unknown, "No ephemeral TCP port was free: port exhaustion.";
    // 2.9 Kerberos
    Provider("Microsoft-Windows-Security-Kerberos"), 3, "auth.kerberos_error", Unknown, "A Kerberos error was received (KRB_AP_ERR_SKEW means clock skew).";
    // 2.10 W32Time
    Provider("Microsoft-Windows-Time-Service"), 35, "time.synchronizing", Unknown, "The time service is synchronizing from a source.";
    Provider("Microsoft-Windows-Time-Service"), 37, "time.source_ok", Unknown, "The time service receives valid samples from its source.";
    Provider("Microsoft-Windows-Time-Service"), 36, "time.unsynchronized", Unknown, "The clock has not been synchronized for a long time.";
    Provider("Microsoft-Windows-Time-Service"), 50, "time.large_difference", Unknown, "The time service detected a large time difference.";
    Provider("Microsoft-Windows-Time-Service"), 129, "time.source_unreachable", Unknown, "The NTP client cannot reach or resolve a time source.";
    Provider("Microsoft-Windows-Time-Service"), 134, "time.source_unreachable", Unknown, "The NTP client cannot reach or resolve a time source.";
    Provider("Microsoft-Windows-Time-Service"), 136, "time.source_unreachable", Unknown, "The NTP client cannot reach or resolve a time source.";
    Provider("Microsoft-Windows-Time-Service"), 22, "time.peer_unreachable", Unknown, "A time peer is unreachable.";
    Provider("Microsoft-Windows-Time-Service"), 24, "time.peer_unreachable", Unknown, "A time peer is unreachable.";
    Provider("Microsoft-Windows-Time-Service"), 47, "time.peer_unreachable", Unknown, "A time peer is unreachable.";
    Provider("Microsoft-Windows-Time-Service"), 34, "time.correction_refused", Unknown, "A needed clock correction was larger than allowed and was refused.";
    // 2.11 Security
    Provider(SECURITY_AUDITING), 4624, "security.logon", Unknown, "A logon succeeded (type 10 = Remote Desktop; type 3 = the NLA network logon).";
    Provider(SECURITY_AUDITING), 4625, "security.logon_failed", Unknown, "A logon failed; Status and SubStatus say why.";
    Provider(SECURITY_AUDITING), 4778, "security.session_reconnected", Server, "A session was reconnected to a window station (client name and address).";
    Provider(SECURITY_AUDITING), 4779, "security.session_disconnected", Server, "A session was disconnected from a window station.";
    Provider(SECURITY_AUDITING), 4825, "security.rdp_access_denied", Server, "The user authenticated but is not allowed to use Remote Desktop.";
    Provider(SECURITY_AUDITING), 4648, "security.explicit_credentials", Unknown, "A logon with explicit credentials (mstsc uses it for TERMSRV targets).";
    Provider(SECURITY_AUDITING), 4776, "security.ntlm_validation", Unknown, "NTLM credential validation; Status is the result.";
    Provider(SECURITY_AUDITING), 4768, "security.kerberos_tgt", Dc, "A Kerberos ticket-granting ticket was requested (result code in Status).";
    Provider(SECURITY_AUDITING), 4769, "security.kerberos_service_ticket", Dc, "A Kerberos service ticket was requested (result code in Status).";
    Provider(SECURITY_AUDITING), 4771, "security.kerberos_preauth_failed", Dc, "Kerberos pre-authentication failed (0x18 bad password, 0x25 clock skew).";
    Provider(SECURITY_AUDITING), 5152, "security.packet_blocked", Unknown, "The Windows Filtering Platform dropped a packet.";
    Provider(SECURITY_AUDITING), 5157, "security.connection_blocked", Unknown, "The Windows Filtering Platform blocked a connection.";
    // 2.12 / 2.13 DNS client
    Provider("Microsoft-Windows-DNS-Client"), 1014, "network.dns_timeout", Unknown, "Name resolution timed out: no DNS server answered.";
    Channel(DNS_CLIENT_OPERATIONAL), 3008, "network.dns_query_completed", Unknown, "A DNS query completed (QueryStatus not 0 means it failed).";
    Channel(DNS_CLIENT_OPERATIONAL), 3020, "network.dns_query_response", Unknown, "A DNS query response.";
    Channel(DNS_CLIENT_OPERATIONAL), 3010, "network.dns_query_sent", Unknown, "A DNS query was sent to a server.";
    Channel(DNS_CLIENT_OPERATIONAL), 3011, "network.dns_query_answered", Unknown, "A DNS server answered a query.";
    // 2.14 and service health
    Channel(NTLM_OPERATIONAL), 8001, "auth.ntlm_outgoing", Unknown, "Outgoing NTLM authentication (TERMSRV targets mean RDP fell back to NTLM).";
    Provider("Service Control Manager"), 7031, "service.crashed", Unknown, "A service terminated unexpectedly (TermService matters here).";
    Provider("Service Control Manager"), 7034, "service.crashed", Unknown, "A service terminated unexpectedly (TermService matters here).";
    Provider("Service Control Manager"), 7036, "service.state_changed", Unknown, "A service entered the running or stopped state.";
];

/// The catalog's entries by event id, each id's in catalog order: built once, so a look-up
/// compares names only with the few entries of its id (it runs for every record read and for
/// many events after).
static BY_EVENT_ID: LazyLock<HashMap<u32, Vec<&'static CatalogEntry>>> = LazyLock::new(|| {
    let mut by_id: HashMap<u32, Vec<&'static CatalogEntry>> = HashMap::new();
    for entry in CATALOG {
        by_id.entry(entry.event_id).or_default().push(entry);
    }
    by_id
});

/// The catalog entry for a record, matching channel first, then provider (case-insensitive).
pub fn lookup(channel: &str, provider: &str, event_id: u32) -> Option<&'static CatalogEntry> {
    let entries = BY_EVENT_ID.get(&event_id)?;
    let by_channel = entries
        .iter()
        .find(|e| matches!(e.scope, Channel(c) if c.eq_ignore_ascii_case(channel)));
    by_channel
        .or_else(|| {
            entries
                .iter()
                .find(|e| matches!(e.scope, Provider(p) if provider_matches(p, provider)))
        })
        .copied()
}

/// True when rdptriage keeps this record. Cheap: called before any field is built.
pub fn is_relevant(channel: &str, provider: &str, event_id: u32) -> bool {
    lookup(channel, provider, event_id).is_some()
}

/// Provider names appear with and without the `Microsoft-Windows-` prefix across Windows versions
/// (`Schannel` vs `Microsoft-Windows-Schannel`), and with varying case.
pub fn provider_matches(known: &str, actual: &str) -> bool {
    fn strip(s: &str) -> &str {
        match s.get(..18) {
            Some(p) if p.eq_ignore_ascii_case("Microsoft-Windows-") => &s[18..],
            _ => s,
        }
    }
    known.eq_ignore_ascii_case(actual) || strip(known).eq_ignore_ascii_case(strip(actual))
}

/// Every distinct channel named in the catalog (for lint and the collection script).
pub fn known_channels() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = CATALOG
        .iter()
        .filter_map(|e| match e.scope {
            Channel(c) => Some(c),
            Provider(_) => None,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The look-up as a plain scan of the catalog: what the index must give.
    fn scanned(channel: &str, provider: &str, event_id: u32) -> Option<&'static CatalogEntry> {
        let by_channel = CATALOG.iter().find(|e| {
            e.event_id == event_id
                && matches!(e.scope, Channel(c) if c.eq_ignore_ascii_case(channel))
        });
        by_channel.or_else(|| {
            CATALOG.iter().find(|e| {
                e.event_id == event_id
                    && matches!(e.scope, Provider(p) if provider_matches(p, provider))
            })
        })
    }

    #[test]
    fn the_index_finds_what_a_scan_of_the_catalog_finds() {
        let distinct = |mut names: Vec<String>| {
            names.sort();
            names.dedup();
            names
        };
        let channels = distinct(
            CATALOG
                .iter()
                .filter_map(|e| match e.scope {
                    Channel(c) => Some([c.to_string(), c.to_uppercase()]),
                    Provider(_) => None,
                })
                .flatten()
                .chain(["".to_string(), "Application".to_string()])
                .collect(),
        );
        let providers = distinct(
            CATALOG
                .iter()
                .filter_map(|e| match e.scope {
                    Provider(p) => Some([
                        p.to_lowercase(),
                        p.trim_start_matches("Microsoft-Windows-").to_string(),
                    ]),
                    Channel(_) => None,
                })
                .flatten()
                .chain(["".to_string(), "Microsoft-Windows-Other".to_string()])
                .collect(),
        );
        let mut ids: Vec<u32> = CATALOG.iter().map(|e| e.event_id).collect();
        ids.extend([0, 99_999]);
        ids.sort_unstable();
        ids.dedup();
        let mut found = 0;
        for id in &ids {
            for channel in &channels {
                for provider in &providers {
                    let indexed = lookup(channel, provider, *id).map(|e| e as *const _);
                    let scan = scanned(channel, provider, *id).map(|e| e as *const _);
                    assert_eq!(indexed, scan, "{channel} / {provider} / {id}");
                    found += usize::from(scan.is_some());
                }
            }
        }
        assert!(found > CATALOG.len(), "{found}");
    }

    #[test]
    fn client_disconnect_is_known() {
        let e = lookup(
            RDPCLIENT_OPERATIONAL,
            "Microsoft-Windows-TerminalServices-ClientActiveXCore",
            1026,
        )
        .unwrap();
        assert_eq!(e.kind, "client.disconnected");
        assert_eq!(e.role, HostRole::Client);
    }

    #[test]
    fn system_events_match_by_provider_with_or_without_prefix() {
        assert!(is_relevant("System", "Schannel", 36870));
        assert!(is_relevant("System", "Microsoft-Windows-Schannel", 36870));
        assert!(is_relevant("System", "schannel", 36888));
        assert!(!is_relevant("System", "Schannel", 1));
        assert!(is_relevant("Security", SECURITY_AUDITING, 4625));
        assert!(!is_relevant("Application", "Application Error", 1000));
    }

    #[test]
    fn channel_match_wins_over_provider() {
        // RCM 1149 is in the Operational channel; 1057 is a System event of the same provider.
        assert_eq!(
            lookup(RCM_OPERATIONAL, RCM_PROVIDER, 1149).unwrap().kind,
            "server.user_authenticated"
        );
        assert_eq!(
            lookup("System", RCM_PROVIDER, 1057).unwrap().kind,
            "server.cert_create_failed"
        );
    }

    #[test]
    fn no_duplicate_entries() {
        let mut seen = std::collections::HashSet::new();
        let mut dups = Vec::new();
        for e in CATALOG {
            let key = (format!("{:?}", e.scope), e.event_id);
            if !seen.insert(key.clone()) {
                dups.push(key);
            }
        }
        assert!(dups.is_empty(), "duplicate catalog entries: {dups:?}");
    }
}
