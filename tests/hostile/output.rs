//! Output safety: report files are complete or absent (never partial, no temporary file left),
//! write errors end the run with status 2 and a message, and log-derived text reaching the
//! terminal (file names included) carries no control sequences.

use crate::util::{rdptriage, repo};
use std::path::Path;
use std::process::Stdio;

fn fixture() -> std::path::PathBuf {
    repo().join("tests/fixtures/analyze/mixed/client01.jsonl")
}

/// Names in `dir` that look like rdptriage's temporary files.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".rdptriage-"))
        .collect()
}

#[test]
fn a_report_that_cannot_be_moved_into_place_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    // The destination is a directory: the rename fails after the report was written.
    let target = dir.path().join("report.json");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), "x").unwrap();
    let out = rdptriage()
        .args(["attempts", "--format", "json", "--quiet", "-o"])
        .arg(&target)
        .arg(fixture())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("moving the report into place"), "{stderr}");
    assert!(target.join("keep").exists(), "the destination is untouched");
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
}

#[test]
fn a_report_into_a_missing_folder_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no/such/dir/report.json");
    let out = rdptriage()
        .args(["attempts", "--format", "json", "--quiet", "-o"])
        .arg(&target)
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists());
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn a_successful_report_replaces_the_old_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.json");
    std::fs::write(&target, "old").unwrap();
    let out = rdptriage()
        .args(["attempts", "--format", "json", "--quiet", "-o"])
        .arg(&target)
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(&target).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).expect("complete JSON");
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn a_full_disk_on_stdout_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("/dev/full is not available: check not run");
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("rdptriage");
    let out = std::process::Command::new(bin)
        .args(["events", "--quiet"])
        .arg(fixture())
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("No space left"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn escape_sequences_in_file_names_and_fields_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil\u{1b}]0;owned\u{7}\u{1b}[31m.xml");
    std::fs::write(&evil, "<Event xmlns='x'><System><EventID>1</Ev").unwrap();
    let line = crate::util::event_line(
        "2024-05-14T09:00:00.000Z",
        "WS1\u{1b}[2J",
        (
            "Microsoft-Windows-TerminalServices-RDPClient/Operational",
            "Microsoft-Windows-TerminalServices-ClientActiveXCore",
        ),
        1024,
        None,
        serde_json::json!({"Name": "Server Name", "Value": "srv\u{1b}[8m\u{202e}x"}),
        1,
    );
    crate::util::write_lines(dir.path(), "client.jsonl", &[line]);
    for command in [&["attempts"][..], &["events"][..], &["analyze"][..]] {
        let out = rdptriage()
            .args(command)
            .arg("--quiet")
            .arg(dir.path())
            .output()
            .unwrap();
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains('\u{1b}'), "{command:?}: {text:?}");
            assert!(
                !text.contains('\u{7}') && !text.contains('\u{202e}'),
                "{command:?}: {text:?}"
            );
        }
    }
}

#[test]
fn a_device_or_pipe_given_as_output_is_written_to_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    // A FIFO with a reader: the report goes through it and the FIFO stays a FIFO.
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).unwrap())
    };
    let out = rdptriage()
        .args(["attempts", "--format", "json", "--quiet", "-o"])
        .arg(&fifo)
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = reader.join().unwrap();
    serde_json::from_slice::<serde_json::Value>(&got).expect("the report came through the FIFO");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(temp_files(dir.path()).is_empty());

    // A character device (needs root to make one; /dev/null itself is never touched by tests).
    let null = dir.path().join("null");
    let mknod = std::process::Command::new("mknod")
        .args(["-m", "666"])
        .arg(&null)
        .args(["c", "1", "3"])
        .status();
    if mknod.is_ok_and(|s| s.success()) {
        let out = rdptriage()
            .args(["attempts", "--format", "json", "--quiet", "-o"])
            .arg(&null)
            .arg(fixture())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let kind = std::fs::metadata(&null).unwrap().file_type();
        assert!(
            kind.is_char_device(),
            "-o on a device must not replace the device node"
        );
    } else {
        eprintln!("mknod not permitted (not root): the device case was not checked");
    }
}

#[test]
fn a_symlink_given_as_output_keeps_the_link_and_replaces_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = rdptriage()
        .args(["attempts", "--format", "json", "--quiet", "-o"])
        .arg(&link)
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = std::fs::read_to_string(&real).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).expect("the target holds the report");
    assert!(temp_files(dir.path()).is_empty());
}
