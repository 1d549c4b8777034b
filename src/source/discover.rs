//! Walking the user's paths.
//!
//! Takes: the paths the user named (files and directories).
//! Produces: a [`Discovery`]: one [`Source`] per file found, with its format detected from its
//! first bytes, and a report for every path that is not read (a directory loop, a special file,
//! a format rdptriage does not read, an error), both sorted by path. A file reached by several
//! paths (overlapping arguments, links) is read once, and its other paths are reported skipped.

use super::sniff::{Sniffed, sniff};
use super::{InputFormat, InputReport, InputStatus, Source, describe_unknown, detect_format};
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The result of walking the user's paths.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to read, sorted by path.
    pub sources: Vec<Source>,
    /// Paths that could not be opened or walked, and files skipped before reading.
    pub problems: Vec<InputReport>,
}

/// Walk `paths` (files or directories, recursively) and detect each file's format.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut out = Discovery::default();
    // Each file's key, with the path it was first found by.
    let mut seen = std::collections::HashMap::new();
    for root in paths {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
        {
            match entry {
                Ok(entry) if entry.file_type().is_dir() => {}
                Ok(entry) => match seen.entry(FileKey::of(&entry)) {
                    Entry::Vacant(first) => {
                        push_file(entry.path(), &mut out);
                        first.insert(entry.into_path());
                    }
                    // The same path named twice is one input; another path to a file read
                    // already is accounted for as skipped.
                    Entry::Occupied(first) if first.get() != entry.path() => {
                        let reason = format!(
                            "the same file as {} (read once, under that path)",
                            first.get().display()
                        );
                        let mut report = InputReport::unreadable(entry.path(), reason);
                        report.status = InputStatus::Skipped;
                        out.problems.push(report);
                    }
                    Entry::Occupied(_) => {}
                },
                Err(err) => {
                    let path = err.path().unwrap_or(root).to_path_buf();
                    let reason = walk_error_reason(&err);
                    let mut report = InputReport::unreadable(&path, reason);
                    if err.loop_ancestor().is_some() {
                        // Nothing is lost: the files under the loop are read once, from the ancestor.
                        report.status = InputStatus::Skipped;
                    }
                    out.problems.push(report);
                }
            }
        }
    }
    out.sources.sort_by(|a, b| a.path.cmp(&b.path));
    out.problems.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// What makes two paths one file, so that a file named twice (overlapping paths, links) is read
/// once.
#[derive(PartialEq, Eq, Hash)]
enum FileKey {
    /// Device and inode: one `stat` (resolving the path, as `canonicalize` did, costs a system
    /// call per path component: a tenth of a large share's discovery).
    #[cfg(unix)]
    Inode(u64, u64),
    /// The path with every link resolved.
    Path(PathBuf),
}

impl FileKey {
    fn of(entry: &walkdir::DirEntry) -> Self {
        #[cfg(unix)]
        if let Ok(metadata) = entry.metadata() {
            use std::os::unix::fs::MetadataExt;
            return FileKey::Inode(metadata.dev(), metadata.ino());
        }
        FileKey::Path(
            std::fs::canonicalize(entry.path()).unwrap_or_else(|_| entry.path().to_path_buf()),
        )
    }
}

fn walk_error_reason(err: &walkdir::Error) -> String {
    if let Some(ancestor) = err.loop_ancestor() {
        return format!(
            "directory loop: symbolic link back to {}",
            ancestor.display()
        );
    }
    match err.io_error() {
        Some(io) if io.kind() == std::io::ErrorKind::NotFound => "no such file or directory".into(),
        Some(io) => io.to_string(),
        None => err.to_string(),
    }
}

fn push_file(path: &Path, out: &mut Discovery) {
    match sniff(path) {
        Ok(Sniffed::Special(kind)) => {
            let mut report = InputReport::unreadable(path, format!("not a regular file: {kind}"));
            report.status = InputStatus::Skipped;
            out.problems.push(report);
        }
        Ok(Sniffed::File(size, head)) => {
            let format = detect_format(&head);
            let display: Arc<str> = Arc::from(path.display().to_string());
            let source = Source {
                path: path.to_path_buf(),
                display,
                size,
                format,
            };
            if matches!(format, InputFormat::Unknown | InputFormat::Etl) {
                let mut report = InputReport::new(&source);
                report.status = InputStatus::Skipped;
                report.reason = Some(describe_unknown(&head, size));
                out.problems.push(report);
            } else {
                out.sources.push(source);
            }
        }
        Err(err) => out
            .problems
            .push(InputReport::unreadable(path, err.to_string())),
    }
}
