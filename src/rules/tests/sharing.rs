//! What the judging of a run shares between attempts: the rules' per-host event lists, the
//! lists of missing logs, and the rendered explanations and fixes.

use super::*;

/// A host selector of one event id that every event of that id passes holds the timeline's own
/// list of them; one whose field test leaves some out holds its own, of the ones it keeps.
#[test]
fn a_selector_keeping_every_event_of_its_id_shares_the_timeline_list() {
    let alerts: Vec<Event> = ["48", "48", "40"]
        .iter()
        .enumerate()
        .map(|(i, alert)| ev("s1", SYSTEM, 36888, i as i64, None, &[("AlertDesc", alert)]))
        .collect();
    let a = analysis(with(alerts));
    let selector_of = |yaml_where: &str| {
        let r = rule(
            "t.list",
            &format!(
                "title: t\nexplain: x\nevidence:\n  e:\n    role: server\n    provider: Schannel\n    event_id: 36888\n    scope: host\n{yaml_where}condition: e\nconfidence: 0.5\n"
            ),
        );
        match &r.selectors[0].kind {
            crate::rules::SelectorKind::Events(sel) => sel.clone(),
            other => panic!("{other:?}"),
        }
    };
    let every = selector_of("");
    let some = selector_of("    where:\n      AlertDesc: 48\n");
    let cache = engine::SelectorCache::default();
    let timeline_list = a.timeline.shared_host_events_with_id("s1", 36888).unwrap();
    let shared = cache.events(&every, &a.timeline, "s1");
    assert!(std::sync::Arc::ptr_eq(&shared, &timeline_list));
    let own = cache.events(&some, &a.timeline, "s1");
    assert!(!std::sync::Arc::ptr_eq(&own, &timeline_list));
    assert_eq!(own[..], timeline_list[..2]);
    assert_eq!(shared.len(), 3);
}

/// The base attempt and the same one an hour later: same outcome, codes and hosts.
fn two_alike_attempts() -> Vec<Event> {
    let mut events = base();
    events.extend([
        ev(
            "c1",
            RDPCLIENT_OPERATIONAL,
            1024,
            3600,
            Some("{b}"),
            &[("Value", "s1")],
        ),
        ev(
            "s1",
            RDPCORETS_OPERATIONAL,
            131,
            3601,
            Some("{t}"),
            &[("ConnType", "TCP"), ("ClientIP", "10.0.0.5:5001")],
        ),
        ev(
            "c1",
            RDPCLIENT_OPERATIONAL,
            1026,
            3610,
            Some("{b}"),
            &[("Value", "2308")],
        ),
    ]);
    events
}

#[test]
fn attempts_of_one_kind_share_one_stored_list_of_missing_logs() {
    let r = rule(
        "t.gap",
        "title: t\nexplain: x\nevidence:\n  c:\n    facts: {primary: 1}\ncondition: c\nconfidence: 0.5\nrequires:\n  - {role: server, channel: System}\n",
    );
    let a = analysis(two_alike_attempts());
    let verdicts = crate::verdict::judge(&a, &RulePack::new(vec![r]));
    let [first, second] = verdicts.as_slice() else {
        panic!("two failed attempts expected, got {}", verdicts.len());
    };
    assert_eq!(first.missing_evidence[0].channel, "System");
    assert!(
        std::sync::Arc::ptr_eq(&first.missing_evidence, &second.missing_evidence),
        "one list, stored once"
    );
}

/// The verdicts of a run that read alike hold one copy of their explanation and fix (a
/// brute-forced host's thousands of verdicts read alike), whether a rule fired or not.
#[test]
fn verdicts_that_read_alike_share_their_texts() {
    let fires = rule(
        "t.alike",
        "title: t\nexplain: 'refused by {server}'\nevidence:\n  c:\n    facts: {primary: 2308}\ncondition: c\nconfidence: 0.5\nremediation:\n  - text: 'look at {server}'\n    commands: ['ping {server}']\n",
    );
    let silent = rule(
        "t.silent",
        "title: t\nexplain: x\nevidence:\n  c:\n    facts: {primary: 1}\ncondition: c\nconfidence: 0.5\nrequires:\n  - {role: server, channel: System}\n",
    );
    let a = analysis(two_alike_attempts());
    for pack in [RulePack::new(vec![fires]), RulePack::new(vec![silent])] {
        let verdicts = crate::verdict::judge(&a, &pack);
        let [first, second] = verdicts.as_slice() else {
            panic!("two failed attempts expected, got {}", verdicts.len());
        };
        assert!(!first.remediation.is_empty(), "{first:?}");
        assert_eq!(first.explain, second.explain);
        assert!(std::sync::Arc::ptr_eq(&first.explain, &second.explain));
        assert!(std::sync::Arc::ptr_eq(
            &first.remediation,
            &second.remediation
        ));
    }
    let judged = crate::verdict::judge(
        &a,
        &RulePack::new(vec![rule(
            "t.alike",
            "title: t\nexplain: 'refused by {server}'\nevidence:\n  c:\n    facts: {primary: 2308}\ncondition: c\nconfidence: 0.5\n",
        )]),
    );
    assert_eq!(&*judged[0].explain, "refused by s1");
}
