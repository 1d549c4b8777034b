//! Property tests of the XML reader: random and mutated exports never panic, and valid events
//! appended to an export are never lost.

use super::*;
use proptest::prelude::*;

/// A small valid export in the wevtutil layout (what the property tests mutate).
fn sample_export() -> String {
    format!(
        "<?xml version='1.0'?>\n<Events>\n{}\n{}\n{}\n</Events>\n",
        client_1026(1, "2308"),
        scm_7040(2),
        client_1026(3, "0x904")
    )
}

fn counted(bytes: &[u8]) -> u64 {
    let done = run(bytes);
    done.report.records + done.report.failed_records
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Replace(usize, u8),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..8),
        prop::sample::select(vec![
            b"<".to_vec(),
            b">".to_vec(),
            b"</Event>".to_vec(),
            b"<Event>".to_vec(),
            b"<System>".to_vec(),
            b"'".to_vec(),
            b"\"".to_vec(),
            b"&".to_vec(),
            b"<!--".to_vec(),
            b"<![CDATA[".to_vec(),
            b"<?".to_vec(),
            b"<!DOCTYPE x [".to_vec(),
            b"\xff\xfe".to_vec(),
            b"\0".to_vec(),
        ]),
    ];
    prop_oneof![
        (any::<usize>(), 1..64usize).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), tokens).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Replace(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1..200usize).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    let at = |a: usize| if len == 0 { 0 } else { a % (len + 1) };
    match m {
        Mutation::Delete(a, n) => {
            let start = at(*a).min(len);
            let end = (start + n).min(len);
            bytes.drain(start..end);
        }
        Mutation::Insert(a, t) => {
            let pos = at(*a);
            bytes.splice(pos..pos, t.iter().copied());
        }
        Mutation::Replace(a, b) if len > 0 => bytes[a % len] = *b,
        Mutation::Replace(..) => {}
        Mutation::Truncate(a) => bytes.truncate(at(*a)),
        Mutation::Duplicate(a, n) => {
            let start = at(*a).min(len);
            let end = (start + n).min(len);
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
    }
}

fn xmlish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        "<Event>",
        "</Event>",
        "<System>",
        "</System>",
        "<EventID>",
        "</EventID>",
        "1026",
        "<EventData>",
        "</EventData>",
        "<UserData>",
        "<W>",
        "</W>",
        "<Data Name='Value'>",
        "</Data>",
        "<Data/>",
        "<",
        ">",
        "/",
        "'",
        "\"",
        "&",
        "&amp;",
        "&#xD;",
        ";",
        "=",
        " ",
        "\n",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "<?xml ?>",
        "<!DOCTYPE",
        "x",
        "<Events>",
        "<TimeCreated SystemTime='2024-05-14T09:12:05Z'/>",
        "<Channel>Microsoft-Windows-TerminalServices-RDPClient/Operational</Channel>",
    ]);
    proptest::collection::vec(piece, 0..60).prop_map(|p| p.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let done = run(&bytes);
        prop_assert!(done.events.len() as u64 <= done.report.records);
    }

    #[test]
    fn mutated_exports_never_panic(mutations in proptest::collection::vec(mutation(), 1..6)) {
        let mut bytes = sample_export().into_bytes();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let done = run(&bytes);
        prop_assert!(done.report.records + done.report.failed_records <= 64);
        let le = utf16(&String::from_utf8_lossy(&bytes), true, true);
        run(&le);
    }

    #[test]
    fn appending_valid_events_never_lowers_the_count(
        mutations in proptest::collection::vec(mutation(), 0..6),
        random in proptest::collection::vec(any::<u8>(), 0..256),
        xml in xmlish(),
        pick in 0..3usize,
        extra in 1..3usize,
    ) {
        let base = match pick {
            0 => {
                let mut bytes = sample_export().into_bytes();
                for m in &mutations {
                    apply(&mut bytes, m);
                }
                bytes
            }
            1 => random,
            _ => xml,
        };
        let before = counted(&base);
        let mut longer = base.clone();
        for i in 0..extra {
            longer.extend_from_slice(client_1026(100 + i as u64, "2308").as_bytes());
            let after = counted(&longer);
            prop_assert!(after >= before, "{before} -> {after} for {:?}", String::from_utf8_lossy(&longer));
        }
    }
}
