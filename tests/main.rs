//! The one integration-test binary (`autotests = false`). Each module says what it covers.

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

/// `rdptriage analyze`, `rules` and `explain` run as a user would, on fixtures.
mod analyze;

/// Report formats (terminal, Markdown, CSV, JSONL, HTML, JSON schema), hostile log text, Chromium.
mod reports;

/// One test per rule case, generated from `rules/**/cases/*.yaml`.
mod rule_cases;

/// `decode` and `collect-script`.
mod decode_collect;

/// Text exports (wevtutil, Event Viewer, Format-List, trace text, tracerpt, EvtxECmd CSV) rebuild
/// the same attempts as the `.evtx` events of one scenario; mixed folders; time-zone notes.
mod text_forms;

/// The sample folders: committed files match the generator, every folder (read as .evtx and as an
/// XML export) rebuilds the failed attempts of its expected.json, the baseline has none.
mod samples;

/// Hostile and broken input: accounting, watchdog, EVTX damage, bad rules, output safety.
mod hostile;
