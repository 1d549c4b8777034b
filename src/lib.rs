//! rdptriage: root-cause verdicts for failed Remote Desktop connections, from exported logs.
//!
//! The pipeline, one module per stage, each with one principal type:
//!
//! ```text
//! paths ──source──▶ Source ──ingest──▶ Event ──attempt──▶ Attempt ──rules──▶ Finding ──verdict──▶ Verdict
//!                                                                                         │
//!                                     report::{terminal, json, …} ◀── Analysis ◀──────────┘
//! ```
//!
//! The library prints nothing; the binary (`src/main.rs`, `src/cli/`) parses arguments, builds a
//! [`config::Config`], calls [`analysis`] and hands the result to a report writer.

pub mod analysis;
pub mod attempt;
pub mod codes;
pub mod collect;
pub mod config;
pub mod error;
pub mod event;
/// Writes `.evtx` files laid out like Windows writes them (sample logs and test fixtures).
pub mod evtx_writer;
pub mod host_summary;
pub mod ingest;
pub mod report;
pub mod rules;
pub mod source;
pub mod spool;
pub mod verdict;

pub use error::{Error, Result};
