//! The one integration-test binary. Each module says what it covers.

/// Shared helpers: running the binary, building event files.
// `event_line` takes every column of an event; clippy 1.95 flags its 8 arguments.
#[allow(clippy::too_many_arguments)]
mod util;

/// Command-line behaviour: help, usage errors, exit statuses, formats, output files.
mod cli;

/// The shared corpus of real logs (runs when `RDPTRIAGE_CORPUS` is set; CI sets it).
mod corpus;

/// Text exports (wevtutil, Event Viewer, Format-List, trace text, tracerpt, EvtxECmd CSV) rebuild
/// the same attempts as the `.evtx` events of one scenario; mixed folders; time-zone notes.
mod text_forms;
