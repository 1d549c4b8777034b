//! Tests of the raw chunk walk: live records, template instances, value plausibility and
//! conversion, nested payloads — on chunks written by the project's EVTX writer.

use super::*;
use crate::ingest::evtx_template::tests::Builder;

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn raw(kind: u8, bytes: &[u8]) -> Option<FieldValue> {
    let value = RawValue { kind, bytes };
    if value.plausible() {
        value.field()
    } else {
        None
    }
}

#[test]
fn raw_values_convert_as_their_json_rendering_reads() {
    let mut text = utf16("CONTOSO\\alice");
    text.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        raw(0x01, &text),
        Some(FieldValue::Text("CONTOSO\\alice".into()))
    );
    assert_eq!(raw(0x01, &[0, 0]), Some(FieldValue::Null));
    assert_eq!(
        raw(0x01, &utf16("0x80070040")),
        Some(FieldValue::Hex(0x8007_0040))
    );
    assert_eq!(raw(0x01, &[0x41]), None, "odd UTF-16 length");
    assert_eq!(
        raw(0x08, &2308u32.to_le_bytes()),
        Some(FieldValue::UInt(2308))
    );
    assert_eq!(raw(0x07, &(-5i32).to_le_bytes()), Some(FieldValue::Int(-5)));
    assert_eq!(
        raw(0x14, &0x904u32.to_le_bytes()),
        Some(FieldValue::Hex(0x904))
    );
    assert_eq!(raw(0x0d, &1u32.to_le_bytes()), Some(FieldValue::Bool(true)));
    assert_eq!(raw(0x0d, &2u32.to_le_bytes()), Some(FieldValue::UInt(2)));
    assert_eq!(
        raw(0x0e, &[0xde, 0xad]),
        Some(FieldValue::Text("DEAD".into()))
    );
    assert_eq!(raw(0x08, &[1, 2]), None, "wrong size");
    assert_eq!(raw(0x0b, &[0; 4]), None, "floats take the JSON route");
    // S-1-5-21-1-2-3-500
    let mut sid = vec![1, 5, 0, 0, 0, 0, 0, 5];
    for sub in [21u32, 1, 2, 3, 500] {
        sid.extend_from_slice(&sub.to_le_bytes());
    }
    assert_eq!(
        raw(0x13, &sid),
        Some(FieldValue::Text("S-1-5-21-1-2-3-500".into()))
    );
    assert_eq!(raw(0x13, &sid[..10]), None);
    // A FILETIME renders with seven fractional digits, as Windows shows it.
    let ft: u64 = 132_113_913_948_519_710;
    assert_eq!(
        raw(0x11, &ft.to_le_bytes()),
        Some(FieldValue::Text("2019-08-27T14:56:34.8519710Z".into()))
    );
}

#[test]
fn nested_instances_are_read_with_or_without_a_fragment_header() {
    let mut b = Builder::default();
    let definition = b.definition(|b| {
        b.open("EventXML", false, None);
        b.close_start();
        b.leaf("User", 0);
        b.end();
    });
    for with_header in [true, false] {
        let start = b.chunk.len();
        if with_header {
            b.raw(&[0x0f, 0x01, 0x01, 0x00]);
        }
        b.raw(&[0x0c, 0x01, 0, 0, 0, 0]);
        b.raw(&definition.to_le_bytes());
        let user = utf16("alice");
        b.raw(&2u32.to_le_bytes());
        b.raw(&(user.len() as u16).to_le_bytes());
        b.raw(&[0x01, 0x00]);
        b.raw(&4u16.to_le_bytes());
        b.raw(&[0x08, 0x00]);
        b.raw(&user);
        b.raw(&7u32.to_le_bytes());
        let chunk = b.chunk.clone();
        let (offset, values) = nested_instance(&chunk, &chunk[start..]).unwrap();
        assert_eq!(offset, definition);
        assert_eq!(
            values,
            [
                Some(FieldValue::Text("alice".into())),
                Some(FieldValue::UInt(7))
            ]
        );
        // Bytes that are not inside the chunk are refused.
        let copy = chunk[start..].to_vec();
        assert!(nested_instance(&chunk, &copy).is_none());
    }
}

/// A one-chunk file of `count` RCM 1149 records, written by the project's EVTX writer.
pub(crate) fn written_chunk(count: usize) -> Vec<u8> {
    use crate::evtx_writer::{EvtxWriter, Payload, RecordSpec, Value};
    use chrono::{TimeZone, Utc};
    let mut writer = EvtxWriter::new();
    for i in 0..count {
        let time = Utc.with_ymd_and_hms(2024, 1, 17, 21, 20, i as u32).unwrap();
        let mut record = RecordSpec::new(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            1149,
            time,
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
            "RDS01.corp.example",
        );
        record.payload = Payload::UserData {
            element: "EventXML".into(),
            xmlns: "Event_NS".into(),
            fields: vec![("Param1".into(), Value::String(format!("user{i}")))],
        };
        writer.push(&record).unwrap();
    }
    writer.finish()[4096..4096 + 65536].to_vec()
}

fn chunk_header(chunk: &[u8]) -> EvtxChunkHeader {
    EvtxChunkHeader::from_bytes(chunk).unwrap()
}

#[test]
fn a_clean_chunk_gives_every_live_record_with_its_template_instance() {
    let chunk = written_chunk(3);
    let records = live_records(&chunk, &chunk_header(&chunk), true).unwrap();
    let ids: Vec<u64> = records.iter().map(|r| r.record_id).collect();
    assert_eq!(ids, [1, 2, 3]);
    let mut definitions = Vec::new();
    for record in &records {
        let (definition, values) = record_instance(&chunk, record.binxml).unwrap();
        definitions.push(definition);
        // The System substitutions include EventID 1149 as a number.
        assert!(
            values
                .iter()
                .any(|v| v.field() == Some(FieldValue::UInt(1149)))
        );
    }
    // The first record carries the definition inline; the others point at it.
    assert!(definitions.iter().all(|d| *d == definitions[0]));
}

#[test]
fn a_damaged_record_or_stale_slack_leaves_the_chunk_to_the_crate() {
    let chunk = written_chunk(3);
    let header = chunk_header(&chunk);
    let records = live_records(&chunk, &header, true).unwrap();
    let second = records[1].binxml.as_ptr() as usize - chunk.as_ptr() as usize - 24;

    let mut bad_magic = chunk.clone();
    bad_magic[second] = 0x2b;
    assert!(live_records(&bad_magic, &header, true).is_none());

    let mut bad_size = chunk.clone();
    bad_size[second + 4..second + 8].copy_from_slice(&20u32.to_le_bytes());
    assert!(live_records(&bad_size, &header, true).is_none());

    // A stale record's magic in the slack: carved only by the crate.
    let mut stale = chunk.clone();
    let free = header.free_space_offset as usize;
    stale[free + 64..free + 68].copy_from_slice(&RECORD_MAGIC);
    assert!(live_records(&stale, &header, true).is_none());
    assert_eq!(live_records(&stale, &header, false).unwrap().len(), 3);
    let (live, slack) = live_walk(&stale, &header).unwrap();
    assert_eq!((live.len(), slack), (3, free));
    assert!(slack_holds_records(&stale, slack) && !slack_holds_records(&chunk, free));
}

#[test]
fn hiding_records_zeroes_every_record_magic_in_the_range_and_nothing_else() {
    let mut data = b"..**\0\0**\0\0x**\0\0..**\0\0".to_vec();
    let before = data.clone();
    hide_records(&mut data, 2..17);
    assert_eq!(&data[..], b"..\0\0\0\0\0\0\0\0x\0\0\0\0..**\0\0");
    // Outside the data: nothing happens.
    let mut same = before.clone();
    hide_records(&mut same, 10..99);
    assert_eq!(same, before);
}

#[test]
fn only_a_single_instance_then_end_of_stream_is_read() {
    let chunk = written_chunk(1);
    let records = live_records(&chunk, &chunk_header(&chunk), false).unwrap();
    let binxml = records[0].binxml;
    let start = binxml.as_ptr() as usize - chunk.as_ptr() as usize;
    let end = start + binxml.len();
    // Something else where the end-of-stream token should be (padding after it is fine).
    let (_, eof) = instance(&chunk, binxml, 4, |_| {}).unwrap();
    assert_eq!(binxml[eof], 0x00);
    let mut more = chunk.clone();
    more[start + eof] = 0x01;
    assert!(record_instance(&more, &more[start..end]).is_none());
    let mut padded = chunk.clone();
    padded[start + eof + 1..end].fill(0x44);
    assert!(record_instance(&padded, &padded[start..end]).is_some());
    // No fragment header.
    assert!(record_instance(&chunk, &binxml[4..]).is_none());
    // Bytes outside the chunk are refused.
    let copy = binxml.to_vec();
    assert!(record_instance(&chunk, &copy).is_none());
}

#[test]
fn values_whose_size_does_not_fit_their_type_are_implausible() {
    let v = |kind, bytes: &'static [u8]| RawValue { kind, bytes }.plausible();
    assert!(v(0x08, &[0; 4]));
    assert!(!v(0x08, &[0; 2]));
    assert!(
        v(0x00, &[0; 2]),
        "a null's bytes are skipped, as the crate does"
    );
    assert!(!v(0x01, &[0; 3]), "odd UTF-16");
    assert!(
        !v(0x13, &[1, 2, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]),
        "SID shorter than its count"
    );
    assert!(v(0x02, b"ansi"), "ANSI text: every byte decodes");
    let ansi = RawValue {
        kind: 0x02,
        bytes: b"ansi",
    };
    assert_eq!(
        ansi.field(),
        None,
        "ANSI values of relevant events go the JSON route"
    );
    assert!(v(0x87, &[0; 8]));
    assert!(!v(0x87, &[0; 6]));
}

#[test]
fn nested_values_must_be_one_template_instance() {
    let chunk = written_chunk(1);
    let records = live_records(&chunk, &chunk_header(&chunk), false).unwrap();
    let (_, values) = record_instance(&chunk, records[0].binxml).unwrap();
    // The writer passes the payload as a nested BinXML value.
    let payload = values.iter().find(|v| v.kind == 0x21).unwrap();
    assert!(nested_definition(&chunk, payload.bytes).is_some());
    // Two bytes early (what a shrunken descriptor before it does): not an instance.
    let start = payload.bytes.as_ptr() as usize - chunk.as_ptr() as usize;
    let shifted = &chunk[start - 2..start - 2 + payload.bytes.len()];
    assert!(nested_definition(&chunk, shifted).is_none());
}
