//! Every input is accounted for, nothing hangs: a folder of broken files generated at test time,
//! files that change between discovery and reading, the watchdog's deadline and memory budget,
//! and the shared corpus.

use super::{Lcg, client_evtx, reads_despite_permissions};
use crate::util::{event_line, json_of, rdptriage, write_lines};
use rdptriage::ingest::{IngestOptions, ingest_all};
use rdptriage::source::{InputReport, InputStatus, discover};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Make a FIFO at `path`.
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// The broken folder: returns the paths made, and whether the mode-000 file is really unreadable.
fn broken_folder(dir: &Path) -> (Vec<PathBuf>, bool) {
    let mut made = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        made.push(path);
    };
    let good = client_evtx(300);
    put("good.evtx", &good);
    let mut rng = Lcg(9);
    for i in 0..6 {
        let cut = 1 + rng.below(good.len() as u64 - 1) as usize;
        put(&format!("truncated-{i}.evtx"), &good[..cut]);
    }
    put("truncated-header.evtx", &good[..100]);
    let noise: Vec<u8> = (0..5000).map(|_| rng.next() as u8).collect();
    put("random.bin", &noise);
    let mut fake = b"ElfFile\0".to_vec();
    fake.extend_from_slice(&noise);
    put("random-with-magic.evtx", &fake);
    put("empty.evtx", b"");
    put(
        "archive.evtx",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest of a zip",
    );
    put(
        "broken.xml",
        b"<Events><Event xmlns='x'><System><EventID>1</Ev",
    );
    put(
        "broken.jsonl",
        b"{\"Event\":{\"System\":\n{not json\n\x00\x01\x02\n",
    );
    put(
        "locked.xml",
        b"<Event xmlns='x'><System><EventID>1</EventID></System></Event>",
    );
    let locked = dir.join("locked.xml");
    set_mode(&locked, 0o000);
    let really_locked = !reads_despite_permissions(&locked);
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink(dir, dir.join("sub/loop")).unwrap();
    made.push(dir.join("sub/loop"));
    mkfifo(&dir.join("pipe.evtx"));
    made.push(dir.join("pipe.evtx"));
    (made, really_locked)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn by_path(reports: &[InputReport]) -> BTreeMap<String, &InputReport> {
    reports.iter().map(|r| (r.path.clone(), r)).collect()
}

#[test]
fn every_broken_input_is_reported_with_a_status_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (made, really_locked) = broken_folder(dir.path());
    let started = Instant::now();
    let found = discover(&[dir.path().to_path_buf()]);
    let options = IngestOptions {
        file_timeout: Some(Duration::from_secs(20)),
        ..IngestOptions::default()
    };
    let files = ingest_all(&found.sources, &options, &|_, _| {});
    assert!(started.elapsed() < Duration::from_secs(20), "no hang");
    let mut all: Vec<InputReport> = found.problems.clone();
    all.extend(files.iter().map(|f| f.report.clone()));
    let reports = by_path(&all);
    for path in &made {
        let key = path.display().to_string();
        let r = reports
            .get(&key)
            .unwrap_or_else(|| panic!("{key} is missing from the inputs: {reports:#?}"));
        if r.status != InputStatus::Read {
            assert!(
                r.reason.is_some() || r.first_error.is_some(),
                "{key}: {:?} without a reason",
                r.status
            );
        }
        assert!(!r.abandoned_reader, "{key}: {:?}", r.reason);
    }
    let status = |name: &str| reports[&dir.path().join(name).display().to_string()].status;
    let reason = |name: &str| {
        reports[&dir.path().join(name).display().to_string()]
            .reason
            .clone()
            .unwrap_or_default()
    };
    assert_eq!(status("good.evtx"), InputStatus::Read);
    assert_eq!(
        reports[&dir.path().join("good.evtx").display().to_string()].records,
        300
    );
    assert_eq!(status("empty.evtx"), InputStatus::Skipped);
    assert!(
        reason("archive.evtx").contains("zip"),
        "{}",
        reason("archive.evtx")
    );
    assert!(
        reason("pipe.evtx").contains("named pipe"),
        "{}",
        reason("pipe.evtx")
    );
    assert!(
        reason("sub/loop").contains("loop"),
        "{}",
        reason("sub/loop")
    );
    assert_eq!(
        status("sub/loop"),
        InputStatus::Skipped,
        "nothing is lost by a loop"
    );
    assert_eq!(status("truncated-header.evtx"), InputStatus::Unreadable);
    if really_locked {
        assert_eq!(status("locked.xml"), InputStatus::Unreadable);
        assert!(
            reason("locked.xml").contains("ermission"),
            "{}",
            reason("locked.xml")
        );
    } else {
        eprintln!("running as root: a mode-000 file is readable, so its check was skipped");
    }
    set_mode(&dir.path().join("locked.xml"), 0o644);
}

#[test]
fn a_truncated_evtx_keeps_every_record_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let good = client_evtx(900);
    // Two full chunks and part of the third.
    let cut = 4096 + 2 * 65536 + 20_000;
    assert!(good.len() > cut, "the file spans three chunks");
    let path = dir.path().join("cut.evtx");
    std::fs::write(&path, &good[..cut]).unwrap();
    let found = discover(std::slice::from_ref(&path));
    let files = ingest_all(&found.sources, &IngestOptions::default(), &|_, _| {});
    let r = &files[0].report;
    assert!(r.records > 0 && r.records < 900, "{r:?}");
    assert!(
        r.note
            .as_deref()
            .unwrap_or("")
            .contains("ends inside a chunk"),
        "{:?}",
        r.note
    );
    // evtx_dump ignores the partial chunk; rdptriage reads the records in it that are whole.
    let chunks_only = rdptriage::ingest::fuzz::evtx(&good[..4096 + 2 * 65536]);
    assert!(
        r.records > chunks_only.report.records,
        "{} vs {}",
        r.records,
        chunks_only.report.records
    );
    assert_eq!(files[0].events.len() as u64, r.relevant);
}

#[test]
fn files_that_vanish_or_turn_into_a_pipe_after_discovery_do_not_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("keep.evtx");
    std::fs::write(&keep, client_evtx(50)).unwrap();
    let gone = dir.path().join("gone.evtx");
    std::fs::write(&gone, client_evtx(10)).unwrap();
    let stuck = dir.path().join("stuck.xml");
    std::fs::write(
        &stuck,
        "<Event xmlns='x'><System><EventID>1</EventID></System></Event>",
    )
    .unwrap();
    let found = discover(&[dir.path().to_path_buf()]);
    assert_eq!(found.sources.len(), 3);
    // Between discovery and reading: one file disappears, one becomes a FIFO with no writer,
    // so the reader's `open` blocks forever (as a dead network share would).
    std::fs::remove_file(&gone).unwrap();
    std::fs::remove_file(&stuck).unwrap();
    mkfifo(&stuck);
    let options = IngestOptions {
        file_timeout: Some(Duration::from_secs(1)),
        ..IngestOptions::default()
    };
    let started = Instant::now();
    let files = ingest_all(&found.sources, &options, &|_, _| {});
    let took = started.elapsed();
    // Let the abandoned reader finish: a writer opening the FIFO unblocks its `open`.
    drop(std::fs::OpenOptions::new().write(true).open(&stuck));
    assert!(
        took < Duration::from_secs(8),
        "the watchdog gave up in time: {took:?}"
    );
    let reports: Vec<_> = files.iter().map(|f| f.report.clone()).collect();
    let r = by_path(&reports);
    let keep_r = r[&keep.display().to_string()];
    assert_eq!(keep_r.status, InputStatus::Read);
    assert_eq!(keep_r.records, 50);
    let gone_r = r[&gone.display().to_string()];
    assert_eq!(gone_r.status, InputStatus::Unreadable);
    assert!(
        gone_r.reason.as_deref().unwrap().contains("No such file"),
        "{gone_r:?}"
    );
    let stuck_r = r[&stuck.display().to_string()];
    assert_eq!(stuck_r.status, InputStatus::Unreadable);
    assert!(stuck_r.abandoned_reader);
    assert!(
        stuck_r.reason.as_deref().unwrap().contains("abandoned"),
        "{stuck_r:?}"
    );
    assert_eq!(rdptriage::ingest::watchdog::abandoned_readers(&reports), 1);
}

#[test]
fn a_reader_over_its_deadline_stops_by_itself_and_reports_how_far_it_got() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..20_000).map(|i| client_line(i, 0)).collect();
    let path = write_lines(dir.path(), "big.jsonl", &lines);
    let found = discover(std::slice::from_ref(&path));
    let options = IngestOptions {
        file_timeout: Some(Duration::from_millis(1)),
        ..IngestOptions::default()
    };
    let files = ingest_all(&found.sources, &options, &|_, _| {});
    let r = &files[0].report;
    assert_eq!(r.status, InputStatus::Unreadable, "{r:?}");
    assert!(!r.abandoned_reader, "stopped cooperatively: {r:?}");
    let reason = r.reason.as_deref().unwrap();
    assert!(
        reason.starts_with("stopped after") && reason.contains("timed out"),
        "{reason}"
    );
    assert!(files[0].events.is_empty());
}

#[test]
fn a_text_export_over_its_deadline_stops_too() {
    let dir = tempfile::tempdir().unwrap();
    let one =
        std::fs::read(crate::util::repo().join("tests/fixtures/text/wevtutil/client.txt")).unwrap();
    let path = dir.path().join("big.txt");
    std::fs::write(&path, one.repeat(400)).unwrap();
    let found = discover(std::slice::from_ref(&path));
    assert_eq!(found.sources.len(), 1, "{:?}", found.problems);
    let options = IngestOptions {
        file_timeout: Some(Duration::from_millis(1)),
        ..IngestOptions::default()
    };
    let files = ingest_all(&found.sources, &options, &|_, _| {});
    let r = &files[0].report;
    assert_eq!(r.status, InputStatus::Unreadable, "{r:?}");
    assert!(!r.abandoned_reader, "{r:?}");
    assert!(r.reason.as_deref().unwrap().contains("timed out"), "{r:?}");
    assert!(files[0].events.is_empty());
}

/// A relevant client event with a field of `pad` bytes and more, its own (the number `i` ends it,
/// so equal field maps, which a reader keeps once, do not shrink what a file holds).
fn client_line(i: u64, pad: usize) -> String {
    event_line(
        "2024-05-14T09:00:00.000Z",
        "WS1",
        (
            "Microsoft-Windows-TerminalServices-RDPClient/Operational",
            "Microsoft-Windows-TerminalServices-ClientActiveXCore",
        ),
        1024,
        None,
        serde_json::json!({"Name": "Server Name", "Value": format!("{}{i}", "x".repeat(pad))}),
        i + 1,
    )
}

#[test]
fn the_binary_stops_a_reader_over_its_memory_budget_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // About 6 MiB of kept events in one file; a small file beside it.
    let lines: Vec<String> = (0..3000).map(|i| client_line(i, 2000)).collect();
    write_lines(dir.path(), "hog.jsonl", &lines);
    write_lines(dir.path(), "small.jsonl", &[client_line(1, 10)]);
    let out = rdptriage()
        .args([
            "attempts",
            "--format",
            "json",
            "--quiet",
            "--max-file-memory",
            "1",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = json_of(&out);
    let inputs = json["inputs"].as_array().unwrap();
    let hog = inputs
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("hog.jsonl"))
        .unwrap();
    assert_eq!(hog["status"], "unreadable");
    let reason = hog["reason"].as_str().unwrap();
    assert!(
        reason.contains("memory budget exceeded") && reason.contains("1 MiB"),
        "{reason}"
    );
    let small = inputs
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("small.jsonl"))
        .unwrap();
    assert_eq!(small["status"], "read");
    // Without the limit the same file is read in full.
    let out = rdptriage()
        .args([
            "attempts",
            "--format",
            "json",
            "--quiet",
            "--max-file-memory",
            "0",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_binary_accounts_for_every_broken_input_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let (made, _) = broken_folder(dir.path());
    let out = rdptriage()
        .args([
            "attempts",
            "--format",
            "json",
            "--quiet",
            "--file-timeout",
            "20",
        ])
        .arg(dir.path())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    set_mode(&dir.path().join("locked.xml"), 0o644);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let json = json_of(&out);
    let paths: Vec<&str> = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    for path in &made {
        let p = path.display().to_string();
        assert!(paths.contains(&p.as_str()), "{p} missing from {paths:?}");
    }
    for i in json["inputs"].as_array().unwrap() {
        super::assert_input_matches_schema(i);
        assert!(i["status"].is_string(), "{i}");
        if i["status"] != "read" {
            assert!(
                i["reason"].is_string() || i["first_error"].is_string(),
                "{i}"
            );
        }
    }
}

#[test]
fn every_corpus_file_appears_in_inputs_with_a_status() {
    let Some(dir) = std::env::var_os("RDPTRIAGE_CORPUS").map(PathBuf::from) else {
        eprintln!("RDPTRIAGE_CORPUS is not set: corpus accounting test not run");
        return;
    };
    let config = rdptriage::config::Config {
        paths: vec![dir.clone()],
        ..Default::default()
    };
    let analysis = rdptriage::analysis::analyze(&config, &rdptriage::analysis::NoProgress).unwrap();
    let on_disk: Vec<String> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().display().to_string())
        .collect();
    let reports = by_path(&analysis.inputs);
    assert_eq!(analysis.inputs.len(), reports.len(), "each input once");
    for path in &on_disk {
        let r = reports
            .get(path)
            .unwrap_or_else(|| panic!("{path} not in inputs"));
        if r.status != InputStatus::Read {
            assert!(r.reason.is_some() || r.first_error.is_some(), "{r:?}");
        }
        assert!(!r.abandoned_reader, "{r:?}");
    }
    let recovered: u64 = analysis.inputs.iter().map(|i| i.recovered).sum();
    let noted = analysis.inputs.iter().filter(|i| i.note.is_some()).count();
    eprintln!("corpus: {recovered} records recovered from slack, {noted} files with notes");
}

#[test]
fn a_file_reached_by_several_paths_is_read_once_and_its_other_paths_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let evtx = client_evtx(3);
    let original = dir.path().join("a.evtx");
    std::fs::write(&original, &evtx).unwrap();
    std::fs::write(dir.path().join("copy.evtx"), &evtx).unwrap();
    std::os::unix::fs::symlink(&original, dir.path().join("link.evtx")).unwrap();
    std::fs::hard_link(&original, dir.path().join("z-hard.evtx")).unwrap();
    // The folder, then the file again by its own name: the folder's walk finds it first.
    let found = discover(&[dir.path().to_path_buf(), original.clone()]);
    let names: Vec<String> = found
        .sources
        .iter()
        .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.evtx", "copy.evtx"], "{names:?}");
    // The links are accounted for; the file named again by its own path is the same input.
    let skipped: Vec<(String, InputStatus, String)> = found
        .problems
        .iter()
        .map(|r| {
            let name = Path::new(&r.path).file_name().unwrap().to_string_lossy();
            (
                name.into_owned(),
                r.status,
                r.reason.clone().unwrap_or_default(),
            )
        })
        .collect();
    let reason = format!(
        "the same file as {} (read once, under that path)",
        original.display()
    );
    assert_eq!(
        skipped,
        [
            (
                "link.evtx".to_string(),
                InputStatus::Skipped,
                reason.clone()
            ),
            ("z-hard.evtx".to_string(), InputStatus::Skipped, reason),
        ]
    );
}
