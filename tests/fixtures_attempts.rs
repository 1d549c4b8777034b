//! Attempts rebuilt from the committed multi-host XML fixtures (`tests/fixtures/`).

use rdptriage::analysis::{NoProgress, analyze};
use rdptriage::attempt::Outcome;
use rdptriage::config::Config;
use rdptriage::event::catalog::HostRole;

fn run(folder: &str) -> rdptriage::analysis::Analysis {
    let config = Config {
        paths: vec![crate::util::repo().join("tests/fixtures").join(folder)],
        ..Config::default()
    };
    analyze(&config, &NoProgress).expect("fixtures analyze")
}

#[test]
fn three_host_failure_is_linked_across_clock_offsets() {
    let analysis = run("three-host-0x904");
    let attempts = &analysis.correlation.attempts;
    assert_eq!(attempts.len(), 3, "{attempts:#?}");
    let failed: Vec<_> = attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    let a = failed[0];
    assert_eq!(a.client.as_deref(), Some("WS-ALICE.contoso.local"));
    assert_eq!(a.gateway.as_deref(), Some("RDGW01.contoso.local"));
    assert_eq!(a.server.as_deref(), Some("RDSH01.contoso.local"));
    assert_eq!(a.codes.primary, Some(2308));
    assert_eq!(a.codes.extended, Some(7));
    assert_eq!(a.codes.extended_source.as_deref(), Some("server"));
    assert_eq!(
        a.seen_by,
        [HostRole::Client, HostRole::Gateway, HostRole::Server]
    );
    let ids: Vec<u32> = a
        .events
        .iter()
        .map(|l| analysis.timeline.events[l.index].event_id)
        .collect();
    for id in [1024, 1026, 312, 302, 131, 1149, 36, 40, 102] {
        assert!(ids.contains(&id), "event {id} linked: {ids:?}");
    }
    // Corrected times are in order across machines: 1024 (client) before 131 (server) before 1026.
    let at = |id: u32| {
        a.events
            .iter()
            .find(|l| analysis.timeline.events[l.index].event_id == id)
            .unwrap()
            .corrected_time
    };
    assert!(at(1024) < at(131) && at(131) < at(1026));
    let offset = |name: &str| {
        analysis
            .correlation
            .hosts
            .iter()
            .find(|h| h.name == name)
            .and_then(|h| h.clock_offset_seconds)
            .unwrap()
    };
    assert!((offset("RDSH01.contoso.local") + 180.0).abs() < 2.0);
    assert!((offset("RDGW01.contoso.local") - 40.0).abs() < 2.0);
    assert_eq!(offset("WS-ALICE.contoso.local"), 0.0);
}

#[test]
fn earlier_session_ended_by_the_user_is_a_success() {
    let analysis = run("three-host-0x904");
    let first = &analysis.correlation.attempts[0];
    assert_eq!(first.outcome, Outcome::Succeeded);
    assert_eq!(first.codes.primary, Some(1));
}

#[test]
fn server_only_input_still_yields_the_failed_attempt() {
    let analysis = run("server-only-failed");
    let attempts = &analysis.correlation.attempts;
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    let failed: Vec<_> = attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    let a = failed[0];
    assert_eq!(a.client.as_deref(), Some("192.0.2.44"));
    assert_eq!(a.server.as_deref(), Some("RDSH02.contoso.local"));
    assert_eq!(a.user.as_deref(), Some("CONTOSO\\bob"));
    assert_eq!(a.seen_by, [HostRole::Server]);
    let ids: Vec<u32> = a
        .events
        .iter()
        .map(|l| analysis.timeline.events[l.index].event_id)
        .collect();
    assert!(ids.contains(&140) && ids.contains(&4625), "{ids:?}");
    let ok = attempts
        .iter()
        .find(|a| a.outcome == Outcome::Succeeded)
        .unwrap();
    assert_eq!(ok.user.as_deref(), Some("CONTOSO\\carol"));
}
