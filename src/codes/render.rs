//! Human rendering of a decoded code pair.
//!
//! Takes: a [`Decoded`].
//! Produces: the plain-text output of `rdptriage decode`: the table readings of both codes, the
//! layer, what the pair means, the causes it points at and excludes (with reasons), and the logs
//! to collect next with their `wevtutil epl` commands. Lines wrap at [`WIDTH`] columns.

use super::CodeMatch;
use super::decode::Decoded;

/// Target line width.
const WIDTH: usize = 100;

/// Width of the table-name column in the readings.
const LABEL: usize = 27;

/// Render `decoded` as the text `rdptriage decode` prints.
pub fn render_text(decoded: &Decoded) -> String {
    let mut out = String::new();
    let p = decoded.primary;
    out.push_str(&format!("Code {}\n", notations(p)));
    readings(&mut out, &decoded.matches);
    if let Some(x) = decoded.extended {
        out.push_str(&format!("Extended code {}\n", notations(x)));
        readings(&mut out, &decoded.extended_matches);
    }
    if let Some(layer) = &decoded.layer {
        out.push('\n');
        wrap_into(&mut out, &format!("Layer: {layer}"), "", "  ");
    }
    out.push_str("\nWhat it means\n");
    for (i, para) in decoded.summary.split("\n\n").enumerate() {
        if i > 0 {
            out.push('\n');
        }
        wrap_into(&mut out, para, "  ", "  ");
    }
    if !decoded.rules_in.is_empty() {
        out.push_str("\nCauses this points to (confirm with the logs below)\n");
        for c in &decoded.rules_in {
            out.push_str(&format!("  + {c}\n"));
        }
    }
    rules_out(&mut out, &decoded.rules_out);
    if !decoded.next_logs.is_empty() {
        out.push_str("\nLogs to collect next (run elevated on the machine named)\n");
        for h in &decoded.next_logs {
            out.push_str(&format!("  [{}] {}\n", h.role.as_str(), h.channel));
            wrap_into(&mut out, &h.why, "      ", "      ");
            out.push_str(&format!("      {}\n", h.export_command()));
        }
    }
    out
}

fn readings(out: &mut String, matches: &[CodeMatch]) {
    if matches.is_empty() {
        out.push_str("  (no reading in any known table)\n");
        return;
    }
    for m in matches {
        let label = format!("  {:<LABEL$} ", m.table.as_str());
        let text = match &m.name {
            Some(name) => format!("{name} — {}", m.description),
            None => m.description.clone(),
        };
        wrap_into(out, &text, &label, &" ".repeat(LABEL + 3));
    }
}

/// `0x904 (2308)`; 32-bit values with the top bit set also in their signed form, as HRESULTs
/// and NTSTATUS values are often printed.
fn notations(v: u64) -> String {
    if (0x8000_0000..=0xFFFF_FFFF).contains(&v) {
        // The range check makes the cast exact: the bit pattern read as a signed 32-bit value.
        format!("0x{v:X} ({v}, {})", v as u32 as i32)
    } else {
        format!("0x{v:X} ({v})")
    }
}

/// Rule-outs, with consecutive causes that share a reason listed together.
fn rules_out(out: &mut String, rules: &[(String, String)]) {
    if rules.is_empty() {
        return;
    }
    out.push_str("\nCauses this rules out\n");
    let mut i = 0;
    while i < rules.len() {
        let why = &rules[i].1;
        let mut j = i;
        while j < rules.len() && rules[j].1 == *why {
            out.push_str(&format!("  - {}\n", rules[j].0));
            j += 1;
        }
        wrap_into(out, why, "      ", "      ");
        i = j;
    }
}

/// Append `text` word-wrapped at [`WIDTH`], the first line after `first`, the rest after `rest`.
fn wrap_into(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::decode;

    #[test]
    fn wrap_keeps_width_and_indent() {
        assert_eq!(notations(0x904), "0x904 (2308)");
        assert_eq!(
            notations(0x8009_0326),
            "0x80090326 (2148074278, -2146893018)"
        );
        let mut out = String::new();
        let text = "word ".repeat(60);
        wrap_into(&mut out, &text, "  ", "    ");
        for (i, line) in out.lines().enumerate() {
            assert!(line.chars().count() <= WIDTH, "{line}");
            assert!(line.starts_with(if i == 0 { "  w" } else { "    w" }));
        }
    }

    #[test]
    fn ext7_text_explains_denial_and_lists_server_logs_with_commands() {
        let text = render_text(&decode(0x904, Some(7)));
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [
            "Code 0x904 (2308)",
            "Extended code 0x7 (7)",
            "ERRINFO_SERVER_DENIED_CONNECTION",
            "denied the connection after the handshake",
            "does not apply",
            "Microsoft documents no list",
            "+ server.denied-connection",
            "- network.name-resolution",
            "- auth.credssp-oracle-mismatch",
            "wevtutil epl \"Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational\"",
            "wevtutil epl \"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational\"",
            "wevtutil epl \"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational\"",
            "wevtutil epl \"Security\" server-Security.evtx",
            "wevtutil epl \"System\" server-System.evtx",
        ] {
            assert!(flat.contains(needle), "missing {needle:?} in:\n{text}");
        }
        for line in text.lines() {
            // Commands are never wrapped; everything else fits the width.
            assert!(
                line.contains("wevtutil") || line.chars().count() <= WIDTH,
                "{line}"
            );
        }
    }

    #[test]
    fn unknown_code_says_so() {
        let text = render_text(&decode(0xDEAD_BEEF, None));
        assert!(text.contains("no reading in any known table"), "{text}");
        assert!(text.contains("none of the code tables"), "{text}");
    }
}
