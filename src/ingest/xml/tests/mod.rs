//! Unit tests of the XML reader (property tests in `proptests`).

use super::*;
use crate::ingest::{FileIngest, IngestOptions};
use crate::source::{InputFormat, InputStatus};
use std::io;

mod proptests;

const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// Read `bytes` as an XML export named `mem.xml`.
fn run(bytes: &[u8]) -> FileIngest {
    run_from(bytes)
}

fn run_from<R: Read>(input: R) -> FileIngest {
    let source = Source {
        path: "mem.xml".into(),
        display: Arc::from("mem.xml"),
        size: 0,
        format: InputFormat::Xml,
    };
    let mut collector = Collector::new(&source, &IngestOptions::default());
    let fatal = read_from(input, source.display.clone(), &mut collector).err();
    collector.finish(fatal)
}

fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let units = bom
        .then_some(0xFEFFu16)
        .into_iter()
        .chain(text.encode_utf16());
    for unit in units {
        if little_endian {
            bytes.extend_from_slice(&unit.to_le_bytes());
        } else {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
    }
    bytes
}

/// A client 1026 as `wevtutil qe /f:xml` prints it (one line, single quotes).
fn client_1026(record: u64, value: &str) -> String {
    format!(
        "<Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-TerminalServices-ClientActiveXCore' Guid='{{28aa95bb-d444-4719-a36f-40462168127e}}'/><EventID>1026</EventID><Version>0</Version><Level>4</Level><Task>101</Task><Opcode>11</Opcode><Keywords>0x4000000000000000</Keywords><TimeCreated SystemTime='2024-05-14T09:12:05.2345678Z'/><EventRecordID>{record}</EventRecordID><Correlation ActivityID='{{6A1F3C2E-9B4D-4E7A-8C15-2F0B9D4E0000}}'/><Execution ProcessID='7412' ThreadID='8120'/><Channel>Microsoft-Windows-TerminalServices-RDPClient/Operational</Channel><Computer>WS-ALICE.contoso.local</Computer><Security UserID='S-1-5-21-1004336348-1177238915-682003330-1106'/></System><EventData><Data Name='Name'>Disconnect Reason</Data><Data Name='Value'>{value}</Data><Data Name='CustomLevel'>Info</Data></EventData></Event>"
    )
}

/// An irrelevant System event (Service Control Manager 7040) with unnamed data.
fn scm_7040(record: u64) -> String {
    format!(
        "<Event xmlns='{NS}'><System><Provider Name='Service Control Manager' Guid='{{555908d1-a6d7-4695-8e1e-26931d2012f4}}' EventSourceName='Service Control Manager'/><EventID Qualifiers='16384'>7040</EventID><Level>4</Level><TimeCreated SystemTime='2024-05-14T09:00:00.000000000Z'/><EventRecordID>{record}</EventRecordID><Correlation/><Channel>System</Channel><Computer>RDSH01.contoso.local</Computer></System><EventData><Data Name='param1'>Background Intelligent Transfer Service</Data></EventData></Event>"
    )
}

#[test]
fn event_viewer_layout_with_declaration_root_and_rendering_info() {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Events>\r\n{}\r\n<Event xmlns='{NS}'><System><Provider Name='Service Control Manager' Guid='{{555908d1-a6d7-4695-8e1e-26931d2012f4}}' EventSourceName='Service Control Manager'/><EventID Qualifiers='16384'>7036</EventID><Version>0</Version><Level>4</Level><Task>0</Task><TimeCreated SystemTime='2024-05-14T09:20:00.1000000Z'/><EventRecordID>88120</EventRecordID><Correlation/><Channel>System</Channel><Computer>RDSH01.contoso.local</Computer><Security/></System><EventData><Data Name='param1'>Remote Desktop Services</Data><Data Name='param2'>running</Data><Binary>540065007200</Binary></EventData><RenderingInfo Culture='en-US'><Message>The Remote Desktop Services service entered the running state.</Message><Level>Information</Level><Task></Task><Opcode></Opcode><Channel>System</Channel><Provider>Microsoft-Windows-Service Control Manager</Provider><Keywords><Keyword>Classic</Keyword></Keywords></RenderingInfo></Event>\r\n</Events>\r\n",
        client_1026(311, "2308")
    );
    let done = run(xml.as_bytes());
    assert_eq!(done.report.records, 2);
    assert_eq!(
        done.report.failed_records, 0,
        "{:?}",
        done.report.first_error
    );
    assert_eq!(done.report.status, InputStatus::Read);
    assert_eq!(done.events.len(), 2);
    let e = &done.events[0];
    assert_eq!(e.event_id, 1026);
    assert_eq!(
        &**e.provider(),
        "Microsoft-Windows-TerminalServices-ClientActiveXCore"
    );
    assert_eq!(&**e.channel(), catalog::RDPCLIENT_OPERATIONAL);
    assert_eq!(&**e.host(), "WS-ALICE.contoso.local");
    assert_eq!(e.level, Some(4));
    assert_eq!(e.record_id(), Some(311));
    assert_eq!(e.time.to_rfc3339(), "2024-05-14T09:12:05.234567800+00:00");
    assert_eq!(
        e.activity_id.as_deref(),
        Some("{6a1f3c2e-9b4d-4e7a-8c15-2f0b9d4e0000}")
    );
    assert_eq!(e.fields["Value"], FieldValue::UInt(2308));
    assert_eq!(
        e.fields["Name"],
        FieldValue::Text("Disconnect Reason".into())
    );
    assert_eq!(
        e.source(),
        crate::event::Provenance::line(Arc::from("mem.xml"), 3)
    );
    let s = &done.events[1];
    assert_eq!(s.event_id, 7036, "Qualifiers ignored");
    assert_eq!(&**s.provider(), "Service Control Manager");
    assert_eq!(s.activity_id, None);
    assert_eq!(s.fields["param2"], FieldValue::Text("running".into()));
    assert_eq!(s.fields["Binary"], FieldValue::Text("540065007200".into()));
    assert!(
        !s.fields.contains_key("Message"),
        "RenderingInfo is not a field"
    );
    assert_eq!(s.fields.len(), 3);
    assert_eq!(s.position(), 4);
    // One record per host: the tie goes to the first name in order.
    assert_eq!(done.report.host.as_deref(), Some("RDSH01.contoso.local"));
}

#[test]
fn wevtutil_layout_without_root_counts_irrelevant_records() {
    let xml = format!(
        "{}\r\n{}\r\n{}\r\n",
        scm_7040(1),
        client_1026(2, "0x904"),
        scm_7040(3)
    );
    let done = run(xml.as_bytes());
    assert_eq!(done.report.records, 3);
    assert_eq!(done.report.relevant, 1);
    assert_eq!(done.report.failed_records, 0);
    assert_eq!(done.events[0].fields["Value"], FieldValue::Hex(0x904));
    assert_eq!(done.events[0].fields["Value"].as_u64(), Some(2308));
    assert_eq!(done.events[0].position(), 2);
    assert_eq!(done.report.host.as_deref(), Some("RDSH01.contoso.local"));
}

#[test]
fn rendered_xml_prefixes_double_quotes_entities_and_cdata() {
    let xml = format!(
        r#"<e:Event xmlns:e="{NS}">
  <e:System>
<e:Provider Name="Microsoft-Windows-TerminalServices-Gateway" Guid="{{4d5ae6a1-c7c8-4e6d-b840-4d8080b42e1b}}" />
<e:EventID>303</e:EventID>
<e:Level>4</e:Level>
<e:TimeCreated SystemTime="2024-05-14T09:11:26.5000000Z" />
<e:EventRecordID>5120</e:EventRecordID>
<e:Correlation ActivityID="{{D1E2F3A4-0000-4000-8000-00000000ABCD}}" />
<e:Channel>Microsoft-Windows-TerminalServices-Gateway/Operational</e:Channel>
<e:Computer>RDGW01.contoso.local</e:Computer>
  </e:System>
  <e:UserData>
<EventInfo xmlns="aag">
  <Username>CONTOSO\alice</Username>
  <IpAddress>10.10.5.23</IpAddress>
  <AuthType>NTLM</AuthType>
  <Resource>rdsh01.contoso.local</Resource>
  <BytesReceived>1804</BytesReceived>
  <BytesTransfered>3379</BytesTransfered>
  <SessionDuration>2</SessionDuration>
  <ConnectionProtocol>HTTP</ConnectionProtocol>
  <ErrorCode>1226</ErrorCode>
  <Note>a &amp; b &lt;c&gt; &#x41;&#66;&#xD;&#xA;<![CDATA[<raw & text>]]> &bogus;</Note>
  <Empty/>
</EventInfo>
  </e:UserData>
  <e:RenderingInfo Culture="en-US">
<e:Message>The user "CONTOSO\alice" disconnected.&#xD;&#xA;Second line &amp; more.</e:Message>
<e:Level>Information</e:Level>
  </e:RenderingInfo>
</e:Event>
"#
    );
    let done = run(xml.as_bytes());
    assert_eq!(
        done.report.failed_records, 0,
        "{:?}",
        done.report.first_error
    );
    assert_eq!(done.events.len(), 1);
    let e = &done.events[0];
    assert_eq!(e.event_id, 303);
    assert_eq!(&**e.host(), "RDGW01.contoso.local");
    assert_eq!(
        e.activity_id.as_deref(),
        Some("{d1e2f3a4-0000-4000-8000-00000000abcd}")
    );
    assert_eq!(
        e.fields["Username"],
        FieldValue::Text("CONTOSO\\alice".into())
    );
    assert_eq!(e.fields["ErrorCode"], FieldValue::UInt(1226));
    assert_eq!(e.fields["BytesTransfered"], FieldValue::UInt(3379));
    assert_eq!(
        e.fields["Note"],
        FieldValue::Text("a & b <c> AB\r\n<raw & text> &bogus;".into())
    );
    assert_eq!(e.fields["Empty"], FieldValue::Null);
    assert!(!e.fields.contains_key("EventInfo"), "wrapper dropped");
    assert!(!e.fields.contains_key("Message"));
    assert_eq!(e.position(), 1);
}

#[test]
fn data_shapes_null_unnamed_binary_and_user_data_wrapper() {
    let xml = format!(
        "<Event xmlns='{NS}'><System><Provider EventSourceName='TermDD'/><EventID Qualifiers='49152'>56</EventID><Level>2</Level><TimeCreated SystemTime='2024-05-14T09:12:04Z'/><Channel>System</Channel><Computer>RDSH01</Computer></System><EventData><Data>\\Device\\Termdd</Data><Data>10.20.0.5</Data><Data/><Data Name='Missing'/><Data Name='Also'></Data><Binary>00000400010000000000000038000AC0</Binary></EventData></Event>\n\
         <Event xmlns='{NS}'><System><Provider Name='Microsoft-Windows-TerminalServices-LocalSessionManager' Guid='{{5d896912-022d-40aa-a3a8-4fa5515c76d7}}'/><EventID>40</EventID><Level>4</Level><TimeCreated SystemTime='2024-05-14T09:15:04.9Z'/><EventRecordID>7781</EventRecordID><Correlation ActivityID='{{F4200000-0000-0000-0000-000000000000}}'/><Channel>Microsoft-Windows-TerminalServices-LocalSessionManager/Operational</Channel><Computer>RDSH01.contoso.local</Computer></System><UserData><EventXML xmlns='Event_NS'><Session>3</Session><Reason>7</Reason></EventXML></UserData></Event>\n"
    );
    let done = run(xml.as_bytes());
    assert_eq!(
        done.report.failed_records, 0,
        "{:?}",
        done.report.first_error
    );
    assert_eq!(done.events.len(), 2);
    let t = &done.events[0];
    assert_eq!(&**t.provider(), "TermDD", "EventSourceName fallback");
    assert_eq!(t.event_id, 56);
    assert_eq!(t.record_id(), None);
    assert_eq!(
        t.fields["param1"],
        FieldValue::Text("\\Device\\Termdd".into())
    );
    assert_eq!(t.fields["param2"], FieldValue::Text("10.20.0.5".into()));
    assert_eq!(t.fields["param3"], FieldValue::Null);
    assert_eq!(t.fields["Missing"], FieldValue::Null);
    assert_eq!(t.fields["Also"], FieldValue::Null);
    assert_eq!(
        t.fields["Binary"],
        FieldValue::Text("00000400010000000000000038000AC0".into())
    );
    let l = &done.events[1];
    assert_eq!(l.fields["Reason"], FieldValue::UInt(7));
    assert_eq!(l.fields["Session"], FieldValue::UInt(3));
    assert_eq!(l.fields.len(), 2);
    assert_eq!(l.position(), 2);
}

#[test]
fn utf16_exports_are_read() {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Events>\r\n{}\r\n{}\r\n</Events>\r\n",
        client_1026(1, "2308"),
        client_1026(2, "264").replace("Disconnect Reason", "Raison de déconnexion 😀")
    );
    for (le, bom) in [(true, true), (false, true), (true, false), (false, false)] {
        let done = run(&utf16(&xml, le, bom));
        assert_eq!(done.report.failed_records, 0, "le={le} bom={bom}");
        assert_eq!(done.events.len(), 2, "le={le} bom={bom}");
        assert_eq!(done.events[0].fields["Value"], FieldValue::UInt(2308));
        assert_eq!(
            done.events[1].fields["Name"],
            FieldValue::Text("Raison de déconnexion 😀".into())
        );
        assert_eq!(done.events[1].position(), 4);
    }
    // UTF-8 with a BOM.
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(xml.replace("UTF-16", "UTF-8").as_bytes());
    let done = run(&bytes);
    assert_eq!(done.events.len(), 2);
    assert_eq!(done.report.failed_records, 0);
}

/// A reader that hands out one byte at a time, to cut every character and unit in two.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.is_empty()) {
            (Some((first, rest)), false) => {
                buf[0] = *first;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn decoding_survives_characters_split_across_reads() {
    let text = "a\u{e9}\u{1F600}\u{4e2d}\nz";
    for bytes in [
        text.as_bytes().to_vec(),
        utf16(text, true, true),
        utf16(text, false, true),
    ] {
        let mut stream = TextStream::new(Trickle(&bytes));
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
        assert_eq!(stream.line(), 2);
    }
    // Broken input becomes U+FFFD, never an error.
    let mut stream = TextStream::new(Trickle(b"ok\xff\xc3"));
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    assert_eq!(out, "ok\u{FFFD}\u{FFFD}");
    let mut odd = utf16("ab", true, true);
    odd.extend_from_slice(&[0x3D, 0xD8, 0x41]); // lone high surrogate, then half a unit
    let mut stream = TextStream::new(Trickle(&odd));
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    assert_eq!(out, "ab\u{FFFD}\u{FFFD}");
    let xml = format!("{}\n{}", client_1026(1, "2308"), client_1026(2, "3"));
    let done = run_from(Trickle(&utf16(&xml, true, true)));
    assert_eq!(done.events.len(), 2);
    assert_eq!(done.events[1].position(), 2);
}

#[test]
fn truncated_file_keeps_complete_events() {
    let full = format!(
        "<Events>\n{}\n{}\n{}\n</Events>\n",
        client_1026(1, "2308"),
        client_1026(2, "2308"),
        client_1026(3, "2308")
    );
    let cut = &full[..full.rfind("<Data Name='Value'>").unwrap() + 22];
    let done = run(cut.as_bytes());
    assert_eq!(done.report.records, 2);
    assert_eq!(done.report.failed_records, 1);
    assert_eq!(done.report.status, InputStatus::Partial);
    assert_eq!(
        done.report.first_error.as_deref(),
        Some("line 4: the file ends inside this event (truncated)")
    );
    // Cut inside a tag: the parser reports the broken markup, still on the event's line.
    let cut = &full[..full.rfind("<Computer>").unwrap() + 4];
    let done = run(cut.as_bytes());
    assert_eq!(done.report.records, 2);
    assert_eq!(done.report.failed_records, 1);
    assert!(done.report.first_error.unwrap().starts_with("line 4: "));
}

#[test]
fn garbage_between_events_is_one_failure_and_reading_resumes() {
    let xml = format!(
        "{}\n#### copied from a mail ####\n<!broken markup>\n</Event>\n{}\n<<Event & }}{{\n{}\n",
        client_1026(1, "2308"),
        client_1026(2, "2308"),
        client_1026(3, "2308")
    );
    let done = run(xml.as_bytes());
    assert_eq!(done.report.records, 3, "{:?}", done.report.first_error);
    assert_eq!(done.report.failed_records, 2, "one per damaged stretch");
    assert_eq!(
        done.report.first_error.as_deref(),
        Some("line 2: text outside an <Event>")
    );
    let lines: Vec<u64> = done.events.iter().map(|e| e.position()).collect();
    assert_eq!(lines, [1, 5, 7]);
}

#[test]
fn malformed_events_fail_alone() {
    let missing_id = client_1026(2, "2308").replace("<EventID>1026</EventID>", "");
    let bad_id = client_1026(3, "2308").replace("<EventID>1026<", "<EventID>ten<");
    let no_time = client_1026(4, "2308").replace("SystemTime='2024-05-14T09:12:05.2345678Z'", "");
    let mismatched = client_1026(5, "2308").replace("</Channel>", "</Chanel>");
    let unclosed = client_1026(6, "2308").replace("</Event>", "");
    let bad_attr = client_1026(7, "2308").replace("<Data Name='Value'>", "<Data Name=Value>");
    let xml = [
        client_1026(1, "2308"),
        missing_id,
        bad_id,
        no_time,
        mismatched,
        unclosed,
        client_1026(8, "2308"),
        bad_attr,
        scm_7040(9).replace("SystemTime='2024-05-14T09:00:00.000000000Z'", ""),
        "<Event/>".to_string(),
        client_1026(10, "2308"),
    ]
    .join("\n");
    let done = run(xml.as_bytes());
    let ids: Vec<u64> = done.events.iter().filter_map(|e| e.record_id()).collect();
    assert_eq!(ids, [1, 8, 10]);
    // The irrelevant 7040 without a time is still a record (the EVTX path does the same).
    assert_eq!(done.report.records, 4);
    assert_eq!(done.report.failed_records, 7);
    assert_eq!(
        done.report.first_error.as_deref(),
        Some("line 2: event has no EventID")
    );
    assert_eq!(done.report.status, InputStatus::Partial);
    let one = |text: &str| run(text.as_bytes()).report.first_error.unwrap_or_default();
    assert_eq!(
        one(xml.lines().nth(2).unwrap()),
        "line 1: EventID is not a number: \"ten\""
    );
    assert_eq!(
        one(xml.lines().nth(3).unwrap()),
        "line 1: event has no valid TimeCreated/@SystemTime"
    );
    assert!(one(xml.lines().nth(4).unwrap()).contains("</Chanel> where </Channel> was expected"));
    assert!(one(xml.lines().nth(7).unwrap()).contains("bad attribute in <Data>"));
    let unclosed_then_next = format!("{}\n{}", xml.lines().nth(5).unwrap(), client_1026(8, "1"));
    assert_eq!(
        one(&unclosed_then_next),
        "line 1: event not closed before the next <Event> (at line 2)"
    );
}

#[test]
fn not_xml_at_all_is_reported_not_read() {
    for input in [
        &b"this is a plain text file\nwith lines\n"[..],
        b"\x00\x01\x02\xff\xfe\x00garbage",
        b"",
        b"<",
        b"<!",
        b"<?xml",
        b"&&&&",
        b"<![CDATA[",
    ] {
        let done = run(input);
        assert_eq!(done.report.records, 0);
        assert!(done.report.failed_records <= 1);
        assert!(done.events.is_empty());
    }
    let done = run(b"hello");
    assert_eq!(done.report.status, InputStatus::Unreadable);
    assert_eq!(
        done.report.reason.as_deref(),
        Some("line 1: text outside an <Event>")
    );
}

#[test]
fn irrelevant_events_build_no_fields_and_repeated_names_become_lists() {
    let xml = format!(
        "<Event xmlns='{NS}'><EventData><Data Name='X'>1</Data></EventData><System><EventID>1026</EventID><TimeCreated SystemTime='2024-05-14T09:12:05Z'/><Channel>Microsoft-Windows-TerminalServices-RDPClient/Operational</Channel><Computer>c</Computer></System><EventData><Data Name='X'>2</Data></EventData></Event>"
    );
    let done = run(xml.as_bytes());
    assert_eq!(
        done.events[0].fields["X"],
        FieldValue::List(vec![FieldValue::UInt(1), FieldValue::UInt(2)])
    );
    let mut p = Pending::new(1);
    p.channel = Some("System".into());
    p.provider = Some("Service Control Manager".into());
    p.event_id = Some("7040".into());
    p.fields.insert("param1", FieldValue::UInt(1));
    p.system_ended();
    assert!(!p.collect);
    assert!(p.fields.is_empty());
}

#[test]
fn time_window_applies() {
    let xml = format!("{}\n{}", client_1026(1, "1"), scm_7040(2));
    let source = Source {
        path: "w.xml".into(),
        display: Arc::from("w.xml"),
        size: 0,
        format: InputFormat::Xml,
    };
    let options = IngestOptions {
        since: Some("2024-05-14T10:00:00Z".parse().unwrap()),
        ..IngestOptions::default()
    };
    let mut c = Collector::new(&source, &options);
    read_from(xml.as_bytes(), source.display.clone(), &mut c).unwrap();
    let done = c.finish(None);
    assert_eq!(done.report.records, 2);
    assert_eq!(done.report.out_of_window, 1);
    assert!(done.events.is_empty());
}
