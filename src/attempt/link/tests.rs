//! Tests of linking: name matching, offset clusters, one-to-one matching, offsets solved across hosts.

use super::*;

#[test]
fn names_match_full_or_short() {
    assert!(names_match("rdsh01.contoso.local", "RDSH01.contoso.local"));
    assert!(names_match("rdsh01", "RDSH01.contoso.local"));
    assert!(!names_match("rdsh02", "RDSH01.contoso.local"));
    assert!(!names_match("", "x"));
    assert!(!names_match("10.0.0.1", "10.0.0.2"));
}

fn cands(deltas: &[f64]) -> Vec<Candidate> {
    deltas.iter().enumerate().map(|(i, d)| (i, i, *d)).collect()
}

#[test]
fn densest_cluster_ignores_outliers() {
    let (centre, n) = densest(&cands(&[180.2, 181.0, 179.8, -3000.0, 900.0])).unwrap();
    assert_eq!(n, 3);
    assert_eq!(centre, 179.8, "offset plus the least delay");
}

/// Regression: with one true pair among unrelated ones, the tie went to the most negative.
#[test]
fn equally_supported_clusters_prefer_the_smallest_offset() {
    let (centre, n) = densest(&cands(&[1445.0, -0.9, -2200.0, 600.0])).unwrap();
    assert_eq!(n, 1);
    assert_eq!(centre, -0.9);
}

/// One view paired with many partners supports a cluster only once.
#[test]
fn one_view_with_many_partners_counts_once() {
    let fan: Vec<Candidate> = vec![
        (0, 1, 300.0),
        (0, 2, 301.0),
        (0, 3, 302.0),
        (5, 6, 0.4),
        (7, 8, 0.2),
    ];
    let (centre, n) = densest(&fan).unwrap();
    assert_eq!(n, 2);
    assert!(centre.abs() < 1.0);
}

#[test]
fn users_compare_without_domain() {
    let u = |s: &str| Some(s.to_string());
    assert!(same_user(&u("CONTOSO\\alice"), &u("alice")));
    assert!(same_user(
        &u("alice@contoso.local"),
        &u("CONTOSO.LOCAL\\Alice")
    ));
    assert!(!same_user(&u("CONTOSO\\alice"), &u("CONTOSO\\bob")));
    assert!(same_user(&None, &u("bob")));
}

/// Regression: a lone pair 13 minutes off set a host's clock (ticket-mixed sample).
#[test]
fn a_lone_pair_far_from_zero_sets_no_offset() {
    let mut by_pair = ByPair::new();
    by_pair.insert(
        ("a".into(), "b".into()),
        vec![(0, 0, -810.9), (0, 9, -2000.0)],
    );
    by_pair.insert(("e".into(), "f".into()), vec![(6, 7, 180.0)]);
    by_pair.insert(("a".into(), "c".into()), vec![(1, 1, 4.0)]);
    by_pair.insert(("d".into(), "b".into()), vec![(2, 3, 810.0), (4, 5, 811.0)]);
    let hosts: Vec<(String, String)> = estimates(&by_pair)
        .into_iter()
        .map(|e| (e.0, e.1))
        .collect();
    assert_eq!(
        hosts,
        [
            ("a".into(), "c".into()),
            ("d".into(), "b".into()),
            ("e".into(), "f".into())
        ]
    );
}

/// Regression: a one-pair estimate placed a host before its three-pair estimate was used.
#[test]
fn offsets_follow_the_best_supported_estimate() {
    let est = vec![
        ("alice".to_string(), "srv".to_string(), 836.6, 1),
        ("alice".to_string(), "gw".to_string(), 0.0, 3),
        ("gw".to_string(), "srv".to_string(), 65.0, 4),
    ];
    let o = solve_offsets(&est, &["alice".into(), "gw".into(), "srv".into()]);
    assert_eq!(o.values["srv"], -65.0);
    assert_eq!(o.samples["srv"], 4);
}

#[test]
fn offsets_propagate_through_the_graph() {
    let est = vec![
        ("client".to_string(), "server".to_string(), 180.0, 2),
        ("client".to_string(), "gw".to_string(), -40.0, 1),
    ];
    let o = solve_offsets(&est, &["client".into(), "gw".into(), "server".into()]);
    assert_eq!(o.values["client"], 0.0);
    assert_eq!(o.values["server"], -180.0);
    assert_eq!(o.values["gw"], 40.0);
    assert_eq!(o.reference["server"], "client");
}
