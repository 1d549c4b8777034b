//! The HTML report in a real browser: headless Chromium loads it offline, and the test checks
//! that it renders (the DOM holds the verdict), logs nothing to the console (no script error, no
//! blocked load), and that the scripts injected through log text did not run (title unchanged,
//! no injected element). A screenshot is written under the target directory for people to look at.
//!
//! Chromium is found as `$RDPTRIAGE_CHROMIUM`, `chromium`, `chromium-browser` or `google-chrome`;
//! `.ci/run` installs Debian's `chromium`. Without one the test says so and passes.

use super::{INJECTION, THREE_HOST, analyze};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let names = std::env::var("RDPTRIAGE_CHROMIUM")
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(String::from));
    let path = std::env::var_os("PATH")?;
    for name in names {
        let candidate = Path::new(&name);
        if candidate.is_absolute() && candidate.is_file() {
            return Some(candidate.to_path_buf());
        }
        for dir in std::env::split_paths(&path) {
            if dir.join(&name).is_file() {
                return Some(dir.join(&name));
            }
        }
    }
    None
}

/// What one browser run left: the DOM (or nothing for a screenshot) and the browser's log.
struct Run {
    stdout: String,
    log: String,
}

/// Run Chromium headless on `page` with `action` (`--dump-dom` or `--screenshot=…`).
fn browse(chrome: &Path, page: &Path, action: &str, dir: &Path) -> Run {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let (out, err) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1400,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(action)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Run {
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        log: std::fs::read_to_string(&err).unwrap_or_default(),
    }
}

/// Console messages (Chromium logs every level as `…:CONSOLE…`) and uncaught errors.
fn console_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

fn write_page(dir: &Path, name: &str, html: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, html).unwrap();
    path
}

#[test]
fn html_report_renders_in_chromium_without_running_injected_script() {
    let Some(chrome) = chromium() else {
        eprintln!(
            "SKIPPED: no Chromium found (chromium, chromium-browser, google-chrome or \
             $RDPTRIAGE_CHROMIUM); .ci/run installs Debian's chromium"
        );
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reports-browser");
    std::fs::create_dir_all(&dir).unwrap();
    let three = analyze(THREE_HOST, "html", &["--reported-error", "0x904/0x7"]);
    let three = write_page(&dir, "three-host.html", &three);
    let run = browse(&chrome, &three, "--dump-dom", &dir);
    assert!(
        run.stdout.contains("session.stuck-or-limit"),
        "the verdict renders"
    );
    assert!(
        run.stdout
            .contains("disconnectReasonAtClientWinsockFDCLOSE")
    );
    assert!(run.stdout.contains("<svg"), "the timeline renders");
    assert_eq!(
        console_lines(&run.log),
        Vec::<&str>::new(),
        "console output"
    );

    let hostile = analyze(INJECTION, "html", &[]);
    let hostile = write_page(&dir, "injection.html", &hostile);
    let run = browse(&chrome, &hostile, "--dump-dom", &dir);
    let dom = &run.stdout;
    assert!(
        dom.contains("auth.bad-credentials"),
        "the page rendered:\n{dom}"
    );
    assert!(
        dom.contains("<title>rdptriage: 1 failed of 1 Remote Desktop connection attempt</title>"),
        "the title was not changed by an injected script"
    );
    assert!(!dom.contains("PWNED</title>"), "an injected script ran");
    assert!(
        !dom.contains("id=\"pwned\""),
        "an injected script added an element"
    );
    assert!(!dom.contains("<img"), "an injected element was parsed");
    assert!(
        dom.contains("&lt;script&gt;document['title']='PWNED'"),
        "shown as text"
    );
    assert_eq!(
        console_lines(&run.log),
        Vec::<&str>::new(),
        "console output"
    );

    for page in [&three, &hostile] {
        let png = page.with_extension("png");
        let _ = std::fs::remove_file(&png);
        let run = browse(
            &chrome,
            page,
            &format!("--screenshot={}", png.display()),
            &dir,
        );
        let bytes =
            std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot ({e}): {}", run.log));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        assert_eq!(width, 1400);
        eprintln!("screenshot: {}", png.display());
    }
}
