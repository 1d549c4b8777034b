//! Tests of the session host's view: anchors, attachment by address, session id and time.

use super::*;
use crate::attempt::tests_support::ev;

const SEC: &str = "Security";

#[test]
fn connection_with_bad_password_is_rebuilt() {
    let timeline = Timeline::new(vec![
        ev(
            "srv",
            RCM_OPERATIONAL,
            261,
            0,
            None,
            &[("listenerName", "RDP-Tcp")],
        ),
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            131,
            1,
            Some("{c1}"),
            &[("ConnType", "TCP"), ("ClientIP", "192.0.2.44:61234")],
        ),
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            140,
            3,
            Some("{c1}"),
            &[("IPString", "192.0.2.44")],
        ),
        ev(
            "srv",
            SEC,
            4625,
            3,
            None,
            &[
                ("IpAddress", "192.0.2.44"),
                ("IpPort", "61234"),
                ("LogonType", "3"),
                ("TargetUserName", "bob"),
            ],
        ),
        ev("srv", RDPCORETS_OPERATIONAL, 102, 4, Some("{c1}"), &[]),
    ]);
    let v = views(&timeline);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].events.len(), 5);
    assert_eq!(v[0].client_address.as_deref(), Some("192.0.2.44"));
    assert_eq!(v[0].client_port, Some(61234));
    assert_eq!(v[0].failure_event, Some(140));
    assert_eq!(v[0].user.as_deref(), Some("bob"));
    assert!(!v[0].logged_on && v[0].closed);
}

#[test]
fn security_only_logon_type_10_anchors() {
    let timeline = Timeline::new(vec![
        ev(
            "srv",
            SEC,
            4624,
            0,
            None,
            &[
                ("IpAddress", "10.1.1.1"),
                ("IpPort", "5000"),
                ("LogonType", "10"),
                ("TargetUserName", "al"),
            ],
        ),
        ev(
            "srv",
            SEC,
            4624,
            1,
            None,
            &[("IpAddress", "10.1.1.2"), ("LogonType", "3")],
        ),
    ]);
    let v = views(&timeline);
    assert_eq!(v.len(), 1);
    assert!(v[0].logged_on);
}

#[test]
fn lsm_reason_7_is_a_denial() {
    let timeline = Timeline::new(vec![
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            131,
            0,
            Some("{c}"),
            &[("ConnType", "TCP"), ("ClientIP", "10.0.0.5:4000")],
        ),
        ev(
            "srv",
            LSM_OPERATIONAL,
            40,
            2,
            None,
            &[("Session", "3"), ("Reason", "7")],
        ),
    ]);
    let v = views(&timeline);
    assert_eq!(v[0].lsm_reason, Some(7));
    assert_eq!(v[0].failure_event, Some(40));
}

/// Regression: a session id from a finished connection pulled a later session event into it.
#[test]
fn reused_session_id_does_not_reach_into_a_finished_connection() {
    let timeline = Timeline::new(vec![
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            131,
            0,
            Some("{old}"),
            &[("ConnType", "TCP"), ("ClientIP", "10.0.0.5:4000")],
        ),
        ev(
            "srv",
            LSM_OPERATIONAL,
            21,
            2,
            None,
            &[
                ("SessionID", "3"),
                ("Address", "10.0.0.5"),
                ("User", "C\\a"),
            ],
        ),
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            131,
            600,
            Some("{new}"),
            &[("ConnType", "TCP"), ("ClientIP", "10.0.0.5:4100")],
        ),
        ev(
            "srv",
            LSM_OPERATIONAL,
            36,
            601,
            None,
            &[("SessionId", "3"), ("ErrorCode", "0x8007139f")],
        ),
    ]);
    let v = views(&timeline);
    assert_eq!(v.len(), 2);
    let lsm36 = timeline
        .events
        .iter()
        .position(|e| e.event_id == 36)
        .unwrap();
    assert!(v[1].events.contains(&lsm36), "{v:?}");
    assert!(!v[0].events.contains(&lsm36));
}

/// Regression: without ActivityIDs (text exports) 102/103 were not linked to their connection.
#[test]
fn corets_events_without_activity_join_the_latest_connection() {
    let timeline = Timeline::new(vec![
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            131,
            0,
            None,
            &[("ConnType", "TCP"), ("ClientIP", "10.0.0.5:4000")],
        ),
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            131,
            30,
            None,
            &[("ConnType", "TCP"), ("ClientIP", "10.0.0.6:4100")],
        ),
        ev("srv", RDPCORETS_OPERATIONAL, 102, 35, None, &[]),
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            103,
            35,
            None,
            &[("ReasonCode", "14")],
        ),
    ]);
    let v = views(&timeline);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].events.len(), 1);
    assert_eq!(v[1].events.len(), 3);
    assert!(v[1].closed);
}

#[test]
fn listener_event_joins_the_first_connection_opened_within_three_seconds_after_it() {
    let anchor = |secs, activity| {
        ev(
            "srv",
            RDPCORETS_OPERATIONAL,
            131,
            secs,
            Some(activity),
            &[("ConnType", "TCP"), ("ClientIP", "192.0.2.7:5000")],
        )
    };
    let listener = |secs| ev("srv", RCM_OPERATIONAL, 261, secs, None, &[]);
    let timeline = Timeline::new(vec![
        listener(4),
        listener(9),
        anchor(10, "{c1}"),
        listener(11),
        anchor(12, "{c2}"),
        // Another record logged in the same second (`ev` numbers records by their second).
        {
            let mut e = anchor(12, "{c3}");
            e.place.set_record_id(Some(1012));
            e
        },
        listener(13),
    ]);
    let v = views(&timeline);
    let listeners_of = |view: &ServerView| -> Vec<i64> {
        view.events
            .iter()
            .map(|&i| &timeline.events[i])
            .filter(|e| e.event_id == 261)
            .map(|e| (e.time - v[0].started).num_seconds() + 10)
            .collect()
    };
    assert_eq!(v.len(), 3);
    // 9 → the connection at 10; 11 → the first of the two at 12; 4 is too early for any, and
    // 13 comes after every connection started.
    assert_eq!(listeners_of(&v[0]), vec![9]);
    assert_eq!(listeners_of(&v[1]), vec![11]);
    assert!(listeners_of(&v[2]).is_empty());
}
