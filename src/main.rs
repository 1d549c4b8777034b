//! The `rdptriage` binary: parse arguments, run, map the result to an exit status.
//!
//! Exit status: 0 done; 2 usage or fatal error; 3 done, but some inputs could not be read at all.
//! A closed pipe on stdout (e.g. `| head`) ends the run quietly with 0.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rdptriage: error: {err:#}");
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
