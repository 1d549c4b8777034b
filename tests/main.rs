//! The one integration-test binary. Each module says what it covers.

/// Shared helpers: running the binary, building event files.
mod util;

/// Command-line behaviour: help, usage errors, exit statuses, formats, output files.
mod cli;

/// The shared corpus of real logs (runs when `RDPTRIAGE_CORPUS` is set; CI sets it).
mod corpus;

/// XML exports: every committed fixture reads cleanly with typed fields.
mod xml_ingest;

/// Attempts rebuilt from the committed multi-host fixtures (clock offsets, server-only input).
mod fixtures_attempts;

/// The sample folders: committed files match the generator, every folder (read as .evtx and as an
/// XML export) rebuilds the failed attempts of its expected.json, the baseline has none.
mod samples;
