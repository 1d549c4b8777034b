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

pub mod codes;
pub mod error;
pub mod event;
pub mod ingest;
pub mod source;

pub use error::{Error, Result};
