//! `rdptriage decode` and `rdptriage collect-script`.
//!
//! Takes: a code (any notation) and an optional extended code; or a machine role.
//! Produces: every reading of the code with what it rules in and out and which logs to collect;
//! or a ready-to-run collection script for that machine.

use super::common::{OutputArgs, write_output};
use anyhow::{Result, anyhow};
use clap::{Args, ValueEnum};
use rdptriage::codes;
use rdptriage::collect::{self, CollectRole, Shell};
use std::process::ExitCode;

/// Output formats of `decode`.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum DecodeFormat {
    /// Human-readable explanation.
    #[default]
    Terminal,
    /// Machine-readable.
    Json,
}

/// Arguments of `decode`.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// The code: the dialog's "error code" (e.g. 0x904), a 1026 value, an HRESULT, NTSTATUS,
    /// Winsock or gateway code — in decimal, hex (0x…) or signed form (-2146893018).
    #[arg(value_name = "CODE", allow_hyphen_values = true)]
    code: String,
    /// The dialog's "extended error code" (e.g. 0x7).
    #[arg(value_name = "EXTENDED", allow_hyphen_values = true)]
    extended: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t)]
    format: DecodeFormat,
}

/// Run `decode`.
pub fn run_decode(args: DecodeArgs) -> Result<ExitCode> {
    let primary = codes::parse_code(&args.code).map_err(|e| anyhow!("CODE: {e}"))?;
    let extended = match &args.extended {
        Some(text) => Some(codes::parse_code(text).map_err(|e| anyhow!("EXTENDED: {e}"))?),
        None => None,
    };
    let decoded = codes::decode(primary, extended);
    let output = OutputArgs { output: None };
    write_output(&output, |out| match args.format {
        DecodeFormat::Terminal => out.write_all(codes::render_text(&decoded).as_bytes()),
        DecodeFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &decoded)?;
            writeln!(out)
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Machine roles for `collect-script`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    /// The computer where the Remote Desktop client ran.
    Client,
    /// The RD Gateway.
    Gateway,
    /// The session host.
    Server,
    /// A domain controller.
    Dc,
}

/// Script languages for `collect-script`.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum ShellArg {
    /// PowerShell (exports, logs and zips).
    #[default]
    Powershell,
    /// cmd.exe batch file (wevtutil only).
    Cmd,
}

/// Arguments of `collect-script`.
#[derive(Args, Debug)]
pub struct CollectArgs {
    /// The machine the script is for.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Script language.
    #[arg(long, value_enum, default_value_t)]
    shell: ShellArg,
    #[command(flatten)]
    output: OutputArgs,
}

/// Run `collect-script`.
pub fn run_collect(args: CollectArgs) -> Result<ExitCode> {
    let role = match args.role {
        RoleArg::Client => CollectRole::Client,
        RoleArg::Gateway => CollectRole::Gateway,
        RoleArg::Server => CollectRole::Server,
        RoleArg::Dc => CollectRole::Dc,
    };
    let shell = match args.shell {
        ShellArg::Powershell => Shell::PowerShell,
        ShellArg::Cmd => Shell::Cmd,
    };
    let text = collect::script(role, shell);
    write_output(&args.output, |out| out.write_all(text.as_bytes()))?;
    Ok(ExitCode::SUCCESS)
}
