//! Stage 5: reports. Turns an [`crate::analysis::Analysis`] into bytes for people and programs.
//!
//! Takes: the finished analysis (it knows nothing of parsing or rules).
//! Produces: the JSON report ([`json`], versioned, documented there), the events timeline
//! ([`events`]: JSONL, CSV, terminal) and the terminal view of attempts ([`terminal`]).
//! Shared helpers here: CSV cell quoting with formula neutralising, terminal-safe text.

pub mod events;
pub mod json;
pub mod terminal;

/// Quote one CSV cell (RFC 4180) and neutralise spreadsheet formulas: a cell starting with
/// `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` so it is shown as text.
pub fn csv_cell(text: &str) -> String {
    let neutral = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// Remove terminal control sequences and other control characters from log text before it is
/// printed (log fields are attacker-controlled). Newlines and tabs become spaces.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\n' | '\t' | '\r' => out.push(' '),
            c if c.is_control() => {}
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {} // bidi overrides
            c => out.push(c),
        }
    }
    out
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        Some(']') => {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        Some(_) => {
            chars.next();
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-2+3,x"), "\"'-2+3,x\"");
    }

    #[test]
    fn escape_sequences_are_stripped() {
        assert_eq!(terminal_safe("a\u{1b}[31mred\u{1b}[0m"), "ared");
        assert_eq!(terminal_safe("x\u{1b}]0;title\u{7}y"), "xy");
        assert_eq!(terminal_safe("line1\nline2\u{0}"), "line1 line2");
        assert_eq!(terminal_safe("ab\u{202e}cd"), "abcd");
    }
}
