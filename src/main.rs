//! The `rdptriage` binary: parse arguments, run, map the result to an exit status.
//!
//! Exit status: 0 done; 2 usage or fatal error; 3 done, but some inputs could not be read at all.
//! A closed pipe on stdout (e.g. `| head`) ends the run quietly with 0.

mod alloc_meter;
mod cli;

/// Counts allocations per thread, for `--max-file-memory` (see `alloc_meter`).
#[global_allocator]
static ALLOCATOR: alloc_meter::Counting = alloc_meter::Counting;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            // Errors can quote file names and file contents: strip terminal control sequences.
            let text = format!("{err:#}");
            let lines: Vec<String> = text.lines().map(rdptriage::report::terminal_safe).collect();
            let message = lines.join("\n");
            eprintln!("rdptriage: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
