//! The plain, documented configuration the library takes (the CLI builds it from its arguments).
//!
//! Takes: nothing (built by the caller).
//! Produces: [`Config`], every option of a run with its default.

use crate::attempt::AttemptOptions;
use crate::ingest::IngestOptions;
use crate::spool::SpoolOptions;
use std::path::PathBuf;

/// Everything a run needs.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Files and directories to read (directories recursively).
    pub paths: Vec<PathBuf>,
    /// Time window and reader options.
    pub ingest: IngestOptions,
    /// Attempt rebuilding options (the reported error code).
    pub attempts: AttemptOptions,
    /// Worker threads for parsing; `None` uses one per core.
    pub threads: Option<usize>,
    /// Memory and temporary folder for [`crate::analysis::stream_events`] (the `events` command).
    pub spool: SpoolOptions,
}
