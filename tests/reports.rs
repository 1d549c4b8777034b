//! `analyze` report formats (terminal, Markdown, CSV, JSONL, HTML, JSON) run as a user would.
//!
//! Snapshots of every format on the committed fixtures; the JSON and JSONL output validated
//! against `docs/report.schema.json`; hostile log text (`tests/fixtures/reports/injection/`:
//! markup, spreadsheet formulas, terminal escapes, Markdown) rendered inert in every format;
//! `--color`; and the HTML page loaded in headless Chromium ([`browser`]).

mod browser;
mod schema;

use crate::util::rdptriage;

pub const THREE_HOST: &str = "tests/fixtures/three-host-0x904";
pub const SERVER_ONLY: &str = "tests/fixtures/server-only-failed";
pub const MIXED: &str = "tests/fixtures/analyze/mixed";
pub const CLIENT_ONLY: &str = "tests/fixtures/analyze/client-only";
pub const INJECTION: &str = "tests/fixtures/reports/injection";

/// The fixtures the snapshots cover: (snapshot name, path, extra arguments).
const FIXTURES: [(&str, &str, &[&str]); 4] = [
    ("three_host", THREE_HOST, &["--reported-error", "0x904/0x7"]),
    ("server_only", SERVER_ONLY, &[]),
    ("mixed", MIXED, &[]),
    (
        "client_only",
        CLIENT_ONLY,
        &["--reported-error", "0x904/0x7"],
    ),
];

/// Run `analyze PATH --format FORMAT ARGS…` and return stdout (the run must succeed).
pub fn analyze(path: &str, format: &str, args: &[&str]) -> String {
    let out = rdptriage()
        .args(["analyze", path, "--format", format])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "analyze {path} --format {format} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("reports are UTF-8")
}

/// The output with the tool version replaced, so snapshots survive a version bump.
fn redact(text: &str) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

#[test]
fn snapshots_of_every_format() {
    for (name, path, args) in FIXTURES {
        for format in ["terminal", "markdown", "csv", "jsonl", "html"] {
            let text = redact(&analyze(path, format, args));
            insta::assert_snapshot!(format!("{name}_{format}"), text);
        }
    }
}

#[test]
fn terminal_decodes_codes_and_words_the_clock() {
    let raw = analyze(THREE_HOST, "terminal", &["--reported-error", "0x904/0x7"]);
    let text = squash(&raw);
    for want in [
        "0x904 disconnectReasonAtClientWinsockFDCLOSE (2308)",
        "0x7 exDiscReasonServerDeniedConnection (7)",
        "clock 180.7 s ahead of WS-ALICE.contoso.local",
        "clock 39.9 s behind WS-ALICE.contoso.local",
        "reference clock",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!raw.contains('\u{1b}'), "no colour when not a terminal");
    let server = analyze(SERVER_ONLY, "terminal", &[]);
    assert!(
        squash(&server).contains("SubStatus=0xc000006a (STATUS_WRONG_PASSWORD)"),
        "{server}"
    );
}

#[test]
fn color_option_and_no_color() {
    let run = |args: &[&str], no_color: bool| {
        let mut cmd = rdptriage();
        if !no_color {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd.args(["analyze", MIXED]).args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let always = run(&["--color", "always"], true);
    assert!(always.contains("\u{1b}[1;31mFAILED"), "{always}");
    assert!(!run(&["--color", "never"], false).contains('\u{1b}'));
    assert!(
        !run(&[], false).contains('\u{1b}'),
        "auto: stdout is a pipe"
    );
    let attempts = rdptriage()
        .args(["attempts", MIXED, "--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&attempts.stdout).contains("\u{1b}["));
    let events = rdptriage()
        .args(["events", MIXED, "--color", "never"])
        .output()
        .unwrap();
    assert!(events.status.success());
}

/// Run `analyze` on a pseudo-terminal (util-linux `script`), with `env` settings; `None` when
/// `script` is not installed.
fn on_a_terminal(env: &str, args: &str) -> Option<String> {
    let bin = assert_cmd::cargo::cargo_bin("rdptriage");
    let command = format!("env {env} {} analyze {MIXED} {args}", bin.display());
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let Some(auto) = on_a_terminal("-u NO_COLOR", "-q") else {
        eprintln!("SKIPPED: util-linux `script` not found, no pseudo-terminal test");
        return;
    };
    assert!(
        auto.contains("\u{1b}[1;31mFAILED"),
        "auto colours a terminal: {auto}"
    );
    let no_color = on_a_terminal("NO_COLOR=1", "-q").unwrap();
    assert!(!no_color.contains('\u{1b}'), "NO_COLOR: {no_color}");
    let never = on_a_terminal("-u NO_COLOR", "-q --color never").unwrap();
    assert!(!never.contains('\u{1b}'), "--color never: {never}");
    let always = on_a_terminal("NO_COLOR=1", "-q --color always").unwrap();
    assert!(
        always.contains("\u{1b}[1;31mFAILED"),
        "--color always wins: {always}"
    );
}

#[test]
fn csv_has_one_row_per_attempt() {
    let text = analyze(MIXED, "csv", &[]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id,started,ended,client,"), "{text}");
    assert!(lines[0].ends_with("cause,confidence,title,first_evidence,missing_logs"));
    assert_eq!(lines.len(), 5, "header and 4 attempts:\n{text}");
    assert!(lines[1].contains(",auth.bad-credentials,0.90,"), "{text}");
    assert!(
        lines[1].contains("SubStatus=0xc000006a (STATUS_WRONG_PASSWORD)"),
        "{text}"
    );
}

#[test]
fn jsonl_is_one_attempt_per_line_with_the_schema_version() {
    let text = analyze(MIXED, "jsonl", &[]);
    let report: serde_json::Value = serde_json::from_str(&analyze(MIXED, "json", &[])).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), report["attempts"].as_array().unwrap().len());
    for (line, attempt) in lines.iter().zip(report["attempts"].as_array().unwrap()) {
        let mut line = line.clone();
        assert_eq!(line["schema_version"], 1);
        line.as_object_mut().unwrap().remove("schema_version");
        assert_eq!(&line, attempt, "a line is the report's attempt object");
    }
}

#[test]
fn json_report_decodes_codes() {
    let report: serde_json::Value = serde_json::from_str(&analyze(
        THREE_HOST,
        "json",
        &["--reported-error", "0x904/0x7"],
    ))
    .unwrap();
    let failed = &report["attempts"][2];
    assert_eq!(
        failed["codes"]["primary_decoded"]["name"],
        "disconnectReasonAtClientWinsockFDCLOSE"
    );
    assert_eq!(
        failed["codes"]["extended_decoded"]["name"],
        "exDiscReasonServerDeniedConnection"
    );
    let disconnect = failed["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_id"] == 1026)
        .unwrap();
    assert_eq!(disconnect["decoded"]["Value"]["table"], "disconnect_reason");
}

#[test]
fn markdown_has_the_ticket_sections() {
    let text = analyze(THREE_HOST, "markdown", &["--reported-error", "0x904/0x7"]);
    for want in [
        "## A0003: failed at 2024-05-14 09:12:03Z",
        "### Why: A stuck session",
        "### Fix",
        "### Evidence",
        "### Logs not supplied that would decide more",
        "## Hosts",
        "clock 180.7 s ahead of WS-ALICE.contoso.local",
        "0x904 disconnectReasonAtClientWinsockFDCLOSE (2308)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// Log text that must come out inert.
const PAYLOADS: [&str; 3] = [
    "<script>",
    "\"><img src=x onerror=alert(1)>",
    "=cmd|' /C calc'!A0",
];

/// A writer that keeps what it is given and the size of each piece.
#[derive(Default)]
struct Pieces {
    bytes: Vec<u8>,
    sizes: Vec<usize>,
}

impl std::io::Write for Pieces {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        self.sizes.push(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn html_is_written_an_attempt_at_a_time_not_held_whole() {
    // Regression: the page was built as one string and written at the end (big800: 120 MB of
    // HTML on top of the analysis, 242 MB peak RSS).
    let config = rdptriage::config::Config {
        paths: vec!["samples".into()],
        threads: Some(1),
        ..Default::default()
    };
    let mut analysis = rdptriage::analysis::analyze(&config, &rdptriage::analysis::NoProgress)
        .expect("samples analyze");
    analysis.apply_rules(&rdptriage::rules::RulePack::embedded().expect("built-in rules load"));
    let failed = analysis
        .correlation
        .attempts
        .iter()
        .filter(|a| a.outcome == rdptriage::attempt::Outcome::Failed)
        .count();
    assert!(
        failed >= 10,
        "the samples have many failed attempts: {failed}"
    );
    let mut out = Pieces::default();
    rdptriage::report::html::write(&analysis, &mut out).unwrap();
    let text = String::from_utf8(out.bytes).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>") && text.ends_with("</html>\n"));
    // The head, then each failed attempt (the last one with the hosts and inputs after it).
    assert_eq!(out.sizes.len(), failed + 1);
    let largest = out.sizes.iter().max().copied().unwrap_or(0);
    assert!(largest < text.len() / 4, "{largest} of {}", text.len());
}

#[test]
fn injected_markup_is_escaped_in_html() {
    let html = analyze(INJECTION, "html", &[]);
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a raw <script> tag");
    assert!(!lower.contains("<img"), "a raw <img> tag");
    assert!(!lower.contains("<div id=pwned"), "a raw injected element");
    assert!(
        html.contains("&lt;script&gt;document[&#39;title&#39;]"),
        "the payload shows as text"
    );
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("=cmd|&#39; /C calc&#39;!A0"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:;"
    ));
    assert!(
        !html.contains('\u{1b}') && !html.contains('\u{202e}'),
        "control characters dropped"
    );
    for external in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(
            !lower.contains(external),
            "no external resource: {external}"
        );
    }
}

#[test]
fn injected_formulas_are_neutralised_in_csv() {
    let text = analyze(INJECTION, "csv", &[]);
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 2, "{text}");
    let header = &rows[0];
    let user = header.iter().position(|h| h == "user").unwrap();
    assert!(
        rows[1][user].starts_with("'=cmd|' /C calc'!A0"),
        "{:?}",
        rows[1][user]
    );
    for cell in rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "live formula cell {cell:?}"
        );
        assert!(
            !cell.chars().any(char::is_control),
            "control character in {cell:?}"
        );
    }
}

#[test]
fn injected_text_is_inert_in_markdown_and_terminal() {
    let md = analyze(INJECTION, "markdown", &[]);
    // Outside fenced code blocks (literal text in every renderer), no raw markup.
    let mut fence: Option<String> = None;
    let mut prose = String::new();
    for line in md.lines() {
        let trimmed = line.trim_start();
        match &fence {
            Some(f) if trimmed == f => fence = None,
            Some(f) => assert!(
                !trimmed.starts_with(f.as_str()),
                "a fence closed early: {line}"
            ),
            None if trimmed.starts_with("```") => fence = Some(trimmed.to_string()),
            None => prose.push_str(&format!("{line}\n")),
        }
    }
    assert!(fence.is_none(), "every code block is closed");
    let md = prose;
    let raw_angle = md
        .char_indices()
        .any(|(i, c)| c == '<' && !md[..i].ends_with('\\'));
    assert!(!raw_angle, "an unescaped < outside code blocks:\n{md}");
    assert!(md.contains("\\<script\\>"), "{md}");
    assert!(!md.contains('\u{1b}'), "{md}");
    for line in md.lines().filter(|l| l.starts_with("| ")) {
        let cells = line.replace("\\|", "").matches('|').count();
        let pipes_of_tables = [3, 4, 5, 6, 8, 10];
        assert!(
            pipes_of_tables.contains(&cells),
            "a pipe broke a table row: {line}"
        );
    }
    let out = rdptriage()
        .args(["analyze", INJECTION, "--color", "always"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let sgr = regex::Regex::new("\u{1b}\\[[0-9;]*m").unwrap();
    let rest = sgr.replace_all(&text, "");
    assert!(
        !rest.contains('\u{1b}'),
        "only rdptriage's colour sequences: {rest}"
    );
    assert!(!rest.contains('\u{7}') && !rest.contains('\u{202e}'));
    for p in PAYLOADS {
        assert!(rest.contains(p), "shown as text: {p}");
    }
}

/// Text with every run of whitespace (line breaks of wrapped text included) as one space.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A small RFC 4180 reader for the test.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => cell.push(c),
        }
    }
    rows
}
