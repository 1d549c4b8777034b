//! Writes `samples/`: realistic multi-host Windows logs for every root cause rdptriage names.
//!
//! ```text
//! cargo run --example make-samples               # (re)write samples/ from samples/scenarios/
//! cargo run --example make-samples -- --check    # regenerate into a temp dir, compare byte for byte
//! cargo run --example make-samples -- --out DIR  # write somewhere else
//! ```
//!
//! The scenarios are data (`samples/scenarios/<folder>.yaml`); what each machine logs for each
//! cause is code (`examples/make_samples/`). Generation is deterministic: a fixed-seed generator
//! per scenario, no clock, no randomness from the system, sorted output, so every run writes the
//! same bytes. `--check` exits 1 and lists the differences when the committed files are stale.

mod make_samples;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    let mut check = false;
    let mut out = repo.join("samples");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--out" => match args.next() {
                Some(dir) => out = PathBuf::from(dir),
                None => return usage("--out needs a directory"),
            },
            "-h" | "--help" => return usage(""),
            other => return usage(&format!("unknown argument {other}")),
        }
    }
    let files = match make_samples::generate(&repo) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("make-samples: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if check {
        check_against(&files, &repo.join("samples"))
    } else {
        write_all(&files, &out)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make-samples: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("make-samples: {problem}");
    }
    eprintln!("usage: cargo run --example make-samples [-- --check | --out DIR]");
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// Write every file under `out`, removing generated files that no scenario produces any more
/// (never touching `scenarios/`).
fn write_all(files: &[(String, Vec<u8>)], out: &Path) -> Result<(), String> {
    let wanted: BTreeSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    for old in existing(out)? {
        if !wanted.contains(old.as_str()) {
            std::fs::remove_file(out.join(&old)).map_err(|e| format!("{old}: {e}"))?;
        }
    }
    let mut bytes = 0;
    for (path, data) in files {
        let full = out.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&full, data).map_err(|e| format!("{}: {e}", full.display()))?;
        bytes += data.len();
    }
    eprintln!(
        "make-samples: wrote {} files ({:.1} MiB) to {}",
        files.len(),
        bytes as f64 / 1048576.0,
        out.display()
    );
    Ok(())
}

/// Regenerate into a temporary directory and compare it byte for byte with `committed`.
fn check_against(files: &[(String, Vec<u8>)], committed: &Path) -> Result<(), String> {
    let temp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    write_all(files, temp.path())?;
    let fresh = existing(temp.path())?;
    let old = existing(committed)?;
    let mut problems = Vec::new();
    for path in fresh.union(&old) {
        let a = std::fs::read(temp.path().join(path)).ok();
        let b = std::fs::read(committed.join(path)).ok();
        match (a, b) {
            (Some(_), None) => problems.push(format!("missing from samples/: {path}")),
            (None, Some(_)) => problems.push(format!("not generated any more: {path}")),
            (Some(a), Some(b)) if a != b => problems.push(format!("differs: {path}")),
            _ => {}
        }
    }
    if problems.is_empty() {
        eprintln!(
            "make-samples: samples/ is up to date ({} files)",
            fresh.len()
        );
        return Ok(());
    }
    for p in &problems {
        eprintln!("  {p}");
    }
    Err(format!(
        "{} file(s) out of date; run `cargo run --example make-samples`",
        problems.len()
    ))
}

/// Files under `root` (relative, `/`-separated), except the scenarios.
fn existing(root: &Path) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    if !root.exists() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).map_err(|e| e.to_string())?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        if !rel.starts_with("scenarios/") {
            out.insert(rel);
        }
    }
    Ok(out)
}
