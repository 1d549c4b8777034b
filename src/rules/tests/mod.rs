//! Engine tests: every operator, absence, ordering, window edges, host roles, evidence on the
//! wrong host, code notations, facts, ranking, evidence gaps (compiler errors in
//! `compile_errors`, what a run shares between attempts in `sharing`).

use super::compile::compile_rule;
use super::engine::{self, Context, evaluate};
use super::{CompiledRule, RulePack};
use crate::analysis::Analysis;
use crate::attempt::tests_support::ev;
use crate::attempt::{self, AttemptOptions, Timeline};
use crate::event::Event;
use crate::event::catalog::{
    LSM_OPERATIONAL, RCM_OPERATIONAL, RDPCLIENT_OPERATIONAL, RDPCORETS_OPERATIONAL,
};
use crate::source::{InputFormat, InputReport};

mod compile_errors;
mod sharing;

fn rule(id: &str, yaml: &str) -> CompiledRule {
    compile_rule(id, "test/rule.yaml", yaml).unwrap_or_else(|e| panic!("{e:?}"))
}

/// The base scenario: client c1 connects to s1 at 09:00:00 and fails with 2308 at 09:00:10.
fn base() -> Vec<Event> {
    vec![
        ev(
            "c1",
            RDPCLIENT_OPERATIONAL,
            1024,
            0,
            Some("{a}"),
            &[("Value", "s1")],
        ),
        ev(
            "s1",
            RDPCORETS_OPERATIONAL,
            131,
            1,
            Some("{s}"),
            &[("ConnType", "TCP"), ("ClientIP", "10.0.0.5:5000")],
        ),
        ev(
            "c1",
            RDPCLIENT_OPERATIONAL,
            1026,
            10,
            Some("{a}"),
            &[("Value", "2308")],
        ),
    ]
}

fn analysis(events: Vec<Event>) -> Analysis {
    let mut inputs: Vec<InputReport> = Vec::new();
    for e in &events {
        match inputs
            .iter_mut()
            .find(|i| i.host.as_deref() == Some(e.host()))
        {
            Some(i) => i.channels.push(e.channel().to_string()),
            None => inputs.push(InputReport::synthetic(
                format!("{}.evtx", e.host()),
                InputFormat::Evtx,
                e.host(),
                vec![e.channel().to_string()],
            )),
        }
    }
    let timeline = Timeline::new(events);
    let correlation = attempt::correlate(&timeline, &AttemptOptions::default());
    Analysis {
        inputs,
        timeline,
        correlation,
        verdicts: None,
    }
}

/// Does `r` fire for the (single) failed attempt of `events`?
fn fires(r: &CompiledRule, events: Vec<Event>) -> bool {
    let a = analysis(events);
    let failed: Vec<_> = a
        .correlation
        .attempts
        .iter()
        .filter(|x| x.outcome == attempt::Outcome::Failed)
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "scenario must have one failed attempt: {:#?}",
        a.correlation.attempts
    );
    evaluate(r, &Context::new(&a, failed[0])).is_some()
}

fn with(extra: Vec<Event>) -> Vec<Event> {
    let mut e = base();
    e.extend(extra);
    e
}

const SYSTEM: &str = "System:Schannel";

fn schannel_rule(where_: &str) -> CompiledRule {
    rule(
        "t.op",
        &format!(
            "title: t\nexplain: x\nevidence:\n  e:\n    role: server\n    provider: Schannel\n    event_id: 36870\n    scope: host\n    where:\n      F: {where_}\ncondition: e\nconfidence: 0.5\n"
        ),
    )
}

#[test]
fn every_operator() {
    let cases: &[(&str, &str, bool)] = &[
        ("abc", "ABC", true),
        ("abd", "ABC", false),
        ("[x, abc]", "abc", true),
        ("[x, y]", "abc", false),
        ("{equals: 5}", "5", true),
        ("{one_of: [1, 2]}", "3", false),
        ("{regex: '^a.c$'}", "AbC", true),
        ("{regex: '^a.c$', case_sensitive: true}", "AbC", false),
        ("{contains: BC}", "abcd", true),
        ("{contains: zz}", "abcd", false),
        ("{gt: 10}", "11", true),
        ("{gt: 10}", "10", false),
        ("{ge: 10}", "10", true),
        ("{lt: 10}", "10", false),
        ("{le: 10}", "10", true),
        ("{exists: true}", "1", true),
        ("{exists: false}", "1", false),
    ];
    for (pred, value, want) in cases {
        let r = schannel_rule(pred);
        let got = fires(
            &r,
            with(vec![ev("s1", SYSTEM, 36870, 2, None, &[("F", value)])]),
        );
        assert_eq!(got, *want, "{pred} vs {value}");
    }
    let absent = schannel_rule("{exists: false}");
    assert!(fires(
        &absent,
        with(vec![ev("s1", SYSTEM, 36870, 2, None, &[("G", "1")])])
    ));
}

#[test]
fn codes_compare_in_any_notation() {
    for (rule_value, field) in [
        ("0x904", "2308"),
        ("2308", "0x904"),
        ("'0x904'", "2308"),
        ("0x8009030D", "-2146893043"),
    ] {
        let r = schannel_rule(rule_value);
        assert!(
            fires(
                &r,
                with(vec![ev("s1", SYSTEM, 36870, 2, None, &[("F", field)])])
            ),
            "{rule_value} vs {field}"
        );
    }
    let facts = rule(
        "t.f",
        "title: t\nexplain: x\nevidence:\n  c:\n    facts: {primary: 0x904}\ncondition: c\nconfidence: 0.5\n",
    );
    assert!(fires(&facts, base()));
    let other = rule(
        "t.f",
        "title: t\nexplain: x\nevidence:\n  c:\n    facts: {primary: [516, 0x108]}\ncondition: c\nconfidence: 0.5\n",
    );
    assert!(!fires(&other, base()));
}

const ABSENCE: &str = "title: t\nexplain: x\nevidence:\n  ended:\n    role: client\n    channel: Microsoft-Windows-TerminalServices-RDPClient/Operational\n    event_id: 1026\n  accepted:\n    role: server\n    channel: Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational\n    event_id: 131\n    scope: host\ncondition: ended and not accepted\nconfidence: 0.5\n";

#[test]
fn absence() {
    let r = rule("t.absent", ABSENCE);
    assert!(!fires(&r, base()), "131 present: must not fire");
    let without: Vec<Event> = base().into_iter().filter(|e| e.event_id != 131).collect();
    assert!(fires(&r, without), "131 absent: fires");
}

#[test]
fn ordering_then() {
    let yaml = |cond: &str| {
        format!(
            "title: t\nexplain: x\nevidence:\n  auth:\n    role: server\n    channel: {RCM_OPERATIONAL}\n    event_id: 1149\n  logon:\n    role: server\n    channel: {LSM_OPERATIONAL}\n    event_id: 21\ncondition: {cond}\nconfidence: 0.5\n"
        )
    };
    let r = rule("t.then", &yaml("auth then logon"));
    let auth = |t| {
        ev(
            "s1",
            RCM_OPERATIONAL,
            1149,
            t,
            None,
            &[("Param3", "10.0.0.5")],
        )
    };
    let logon = |t| {
        ev(
            "s1",
            LSM_OPERATIONAL,
            21,
            t,
            None,
            &[("Address", "10.0.0.5"), ("SessionID", "2")],
        )
    };
    assert!(fires(&r, with(vec![auth(3), logon(5)])), "in order");
    assert!(fires(&r, with(vec![auth(4), logon(4)])), "same time counts");
    assert!(!fires(&r, with(vec![logon(3), auth(5)])), "reversed");
    let not_followed = rule("t.then", &yaml("auth and not (auth then logon)"));
    assert!(fires(&not_followed, with(vec![auth(3)])));
    assert!(!fires(&not_followed, with(vec![auth(3), logon(5)])));
}

fn edge_rule() -> CompiledRule {
    rule(
        "t.edge",
        "title: t\nexplain: x\nevidence:\n  e:\n    role: client\n    provider: Schannel\n    event_id: 36887\n    scope: host\n    window: {before: 30s, after: 1m}\ncondition: e\nconfidence: 0.5\n",
    )
}

#[test]
fn window_edges() {
    // The client is the reference clock; the attempt runs 09:00:00–09:00:10.
    let a = analysis(base());
    assert_eq!(a.correlation.offset_of("c1"), 0.0);
    let r = edge_rule();
    let at = |t| {
        with(vec![ev(
            "c1",
            SYSTEM,
            36887,
            t,
            None,
            &[("AlertDesc", "48")],
        )])
    };
    assert!(fires(&r, at(-30)), "exactly `before` ahead of the start");
    assert!(!fires(&r, at(-31)), "one second earlier");
    assert!(fires(&r, at(70)), "exactly `after` past the end");
    assert!(!fires(&r, at(71)), "one second later");
}

#[test]
fn roles_and_hosts() {
    // An attempt-scope selector for the client does not see the server's events.
    let r = rule(
        "t.role",
        &format!(
            "title: t\nexplain: x\nevidence:\n  e:\n    role: client\n    channel: {RDPCORETS_OPERATIONAL}\n    event_id: 131\ncondition: e\nconfidence: 0.5\n"
        ),
    );
    assert!(!fires(&r, base()));
    let any = rule(
        "t.role",
        &format!(
            "title: t\nexplain: x\nevidence:\n  e:\n    role: any\n    channel: {RDPCORETS_OPERATIONAL}\n    event_id: 131\ncondition: e\nconfidence: 0.5\n"
        ),
    );
    assert!(fires(&any, base()));
}

#[test]
fn evidence_on_another_host_does_not_count() {
    let r = schannel_rule("{exists: true}");
    assert!(fires(
        &r,
        with(vec![ev("s1", SYSTEM, 36870, 2, None, &[("F", "1")])])
    ));
    assert!(
        !fires(
            &r,
            with(vec![ev("s2", SYSTEM, 36870, 2, None, &[("F", "1")])])
        ),
        "s2 is not this attempt's server"
    );
    assert!(
        !fires(
            &r,
            with(vec![ev("c1", SYSTEM, 36870, 2, None, &[("F", "1")])])
        ),
        "the client is not the server"
    );
}

#[test]
fn min_count_and_captures() {
    let r = rule(
        "t.count",
        "title: t\nexplain: 'alert {alert} on {server} for {primary}'\nevidence:\n  e:\n    role: server\n    provider: Schannel\n    event_id: 36888\n    scope: host\n    min_count: 2\n    capture: {alert: AlertDesc}\ncondition: e\nconfidence: 0.5\n",
    );
    let alert = |t, d| ev("s1", SYSTEM, 36888, t, None, &[("AlertDesc", d)]);
    assert!(!fires(&r, with(vec![alert(2, "48")])));
    let a = analysis(with(vec![alert(2, "48"), alert(3, "40")]));
    let attempt = a
        .correlation
        .attempts
        .iter()
        .find(|x| x.outcome == attempt::Outcome::Failed)
        .unwrap();
    let f = evaluate(&r, &Context::new(&a, attempt)).unwrap();
    assert_eq!(f.evidence.len(), 2);
    assert_eq!(f.captures["alert"], "48", "the first match's value");
    let pack = RulePack::new(vec![r]);
    let v = crate::verdict::judge_attempt(&a, &pack, attempt);
    assert_eq!(&*v.explain, "alert 48 on s1 for 0x904 (2308)");
    assert_eq!(&*v.evidence[0].selector, "e");
}

/// Regression: a brute-forced DC logged 29,205 Schannel 36874 events; every verdict listed all of
/// them (5 GB of JSON, 2.8 GB of memory). Every match is counted, the closest are kept.
#[test]
fn evidence_is_capped_but_every_match_counts() {
    let r = rule(
        "t.many",
        "title: t\nexplain: x\nevidence:\n  e:\n    role: server\n    provider: Schannel\n    event_id: 36888\n    scope: host\n    window: {before: 1h, after: 1h}\n    min_count: 30\ncondition: e\nconfidence: 0.5\n",
    );
    let many: Vec<Event> = (0..100)
        .map(|i| {
            ev(
                "s1",
                SYSTEM,
                36888,
                -1800 + i * 30,
                None,
                &[("AlertDesc", "48")],
            )
        })
        .collect();
    let a = analysis(with(many));
    let attempt = a
        .correlation
        .attempts
        .iter()
        .find(|x| x.outcome == attempt::Outcome::Failed)
        .unwrap();
    let f = evaluate(&r, &Context::new(&a, attempt)).expect("30 of 100 matches are enough");
    // The run's selector cache picks the closest before building the matches: same finding.
    let cache = engine::SelectorCache::default();
    let cached = evaluate(&r, &Context::with_cache(&a, attempt, &cache)).expect("cached");
    assert_eq!(cached.evidence, f.evidence);
    assert_eq!(cached.evidence_omitted, f.evidence_omitted);
    assert_eq!(f.evidence.len(), engine::MAX_MATCHES_PER_SELECTOR);
    assert_eq!(f.evidence_omitted, 100 - engine::MAX_MATCHES_PER_SELECTOR);
    let start = attempt.started;
    let farthest_kept = f
        .evidence
        .iter()
        .map(|m| (m.corrected_time - start).num_seconds().abs())
        .max()
        .unwrap();
    assert!(
        farthest_kept <= 330,
        "the kept matches are the closest: {farthest_kept}s"
    );
    assert!(
        f.evidence
            .windows(2)
            .all(|w| w[0].corrected_time <= w[1].corrected_time)
    );
}

/// Two selectors matching the same event (a linked one and a host-wide one) give one evidence
/// line, under the selector written first.
#[test]
fn an_event_matched_by_two_selectors_is_evidence_once() {
    let r = rule(
        "t.twice",
        "title: t\nexplain: x\nevidence:\n  linked:\n    role: server\n    channel: Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational\n    event_id: 131\n  anywhere:\n    role: server\n    channel: Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational\n    event_id: 131\n    scope: host\ncondition: anywhere and linked\nconfidence: 0.5\n",
    );
    let a = analysis(base());
    let attempt = a
        .correlation
        .attempts
        .iter()
        .find(|x| x.outcome == attempt::Outcome::Failed)
        .unwrap();
    let f = evaluate(&r, &Context::new(&a, attempt)).unwrap();
    assert_eq!(f.evidence.len(), 1, "{:?}", f.evidence);
    assert_eq!(&*f.evidence[0].selector, "linked");
}

#[test]
fn facts_selector_and_clock_offset() {
    let r = rule(
        "t.skew",
        "title: t\nexplain: 'off by {o}'\nevidence:\n  m:\n    facts: {clock_offset_seconds: {gt: 300}, seen_by: server}\n    capture: {o: clock_offset_seconds}\ncondition: m\nconfidence: 0.5\n",
    );
    assert!(!fires(&r, base()));
    // The server's clock is 10 minutes behind: its 131 is logged at 08:50:01.
    let skewed: Vec<Event> = base()
        .into_iter()
        .map(|mut e| {
            if &**e.host() == "s1" {
                e.time -= chrono::Duration::seconds(600);
            }
            e
        })
        .collect();
    assert!(fires(&r, skewed));
}

#[test]
fn ranking_specific_beats_fallback_then_confidence_then_id() {
    let fire = |id: &str, conf: f64, fallback: bool| {
        rule(
            id,
            &format!(
                "title: {id}\nexplain: x\nevidence:\n  c:\n    facts: {{primary: 2308}}\ncondition: c\nconfidence: {conf}\nfallback: {fallback}\n"
            ),
        )
    };
    let pack = RulePack::new(vec![
        fire("a.fallback", 0.99, true),
        fire("b.low", 0.4, false),
        fire("c.high", 0.8, false),
        fire("d.high", 0.8, false),
    ]);
    let a = analysis(base());
    let attempt = &a.correlation.attempts[0];
    let v = crate::verdict::judge_attempt(&a, &pack, attempt);
    assert_eq!(v.cause, "c.high");
    let alts: Vec<&str> = v.alternatives.iter().map(|x| x.cause.as_str()).collect();
    assert_eq!(alts, ["d.high", "b.low", "a.fallback"]);
}

#[test]
fn missing_evidence_names_unsupplied_logs() {
    let r = rule(
        "t.gap",
        "title: t\nexplain: x\nevidence:\n  c:\n    facts: {primary: 1}\ncondition: c\nconfidence: 0.5\nrequires:\n  - {role: server, channel: System}\n  - {role: server, channel: microsoft-windows-remotedesktopservices-rdpcorets/operational}\n  - {role: gateway, channel: Microsoft-Windows-TerminalServices-Gateway/Operational}\n",
    );
    let a = analysis(base());
    let pack = RulePack::new(vec![r]);
    let v = crate::verdict::judge_attempt(&a, &pack, &a.correlation.attempts[0]);
    assert_eq!(v.cause, crate::verdict::UNDETERMINED);
    let gaps: Vec<(String, Option<&str>)> = v
        .missing_evidence
        .iter()
        .map(|m| (m.channel.clone(), m.host.as_deref()))
        .collect();
    assert_eq!(
        gaps,
        [
            (
                "Microsoft-Windows-TerminalServices-Gateway/Operational".to_string(),
                None
            ),
            ("System".to_string(), Some("s1")),
        ],
        "the RdpCoreTS log was supplied; the gateway is unknown"
    );
    assert_eq!(
        v.missing_evidence[1].command,
        "wevtutil epl \"System\" s1-System.evtx"
    );
    assert_eq!(v.missing_evidence[1].decides, ["t.gap"]);
}

#[test]
fn applies_to_codes_and_outcome() {
    let r = rule(
        "t.codes",
        "title: t\nexplain: x\napplies_to: {primary: [0x204]}\nevidence:\n  e:\n    role: client\n    channel: Microsoft-Windows-TerminalServices-RDPClient/Operational\n    event_id: 1026\ncondition: e\nconfidence: 0.5\n",
    );
    let a = analysis(base());
    let attempt = &a.correlation.attempts[0];
    assert_eq!(
        super::engine::applicability(&r, attempt),
        super::engine::Applicability::No
    );
    let any = rule(
        "t.codes",
        "title: t\nexplain: x\napplies_to: {outcome: any, primary: 2308}\nevidence:\n  e:\n    facts: {outcome: failed}\ncondition: e\nconfidence: 0.5\n",
    );
    assert_eq!(
        super::engine::applicability(&any, attempt),
        super::engine::Applicability::Applies
    );
}
