//! Colour and line width of terminal output.
//!
//! Takes: whether to colour (decided by the CLI from `--color`, `NO_COLOR` and whether stdout is
//! a terminal) and the width to wrap to.
//! Produces: [`Style`], which paints text with ANSI SGR sequences when colour is on and wraps
//! prose to the width with a hanging indent. Text is painted only after it went through
//! [`super::super::terminal_safe`], so log text can never carry its own escape sequences.

use std::io::{Result, Write};

/// Width used when the output is not a terminal (files, pipes, tests).
pub const DEFAULT_WIDTH: usize = 100;
/// Narrowest width wrapped to (narrower terminals still get readable, if overflowing, lines).
const MIN_WIDTH: usize = 60;

/// A colour or emphasis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Bold.
    Bold,
    /// Faint (labels, provenance).
    Dim,
    /// Failure.
    Red,
    /// Success.
    Green,
    /// Unknown outcome, warnings.
    Yellow,
    /// Commands to run.
    Cyan,
    /// Causes.
    Magenta,
}

impl Tone {
    fn sgr(self) -> &'static str {
        match self {
            Tone::Bold => "1",
            Tone::Dim => "2",
            Tone::Red => "1;31",
            Tone::Green => "32",
            Tone::Yellow => "33",
            Tone::Cyan => "36",
            Tone::Magenta => "1;35",
        }
    }
}

/// How terminal output looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Whether to emit colour sequences.
    pub color: bool,
    /// The width to wrap prose to.
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style::plain()
    }
}

impl Style {
    /// No colour, [`DEFAULT_WIDTH`] columns: the output of files and pipes.
    pub fn plain() -> Self {
        Style {
            color: false,
            width: DEFAULT_WIDTH,
        }
    }

    /// A style with this colour choice and width (clamped to a readable minimum).
    pub fn new(color: bool, width: usize) -> Self {
        Style {
            color,
            width: width.max(MIN_WIDTH),
        }
    }

    /// `text` in `tone` (unchanged when colour is off). `text` must already be terminal-safe.
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        if self.color && !text.is_empty() {
            format!("\u{1b}[{}m{text}\u{1b}[0m", tone.sgr())
        } else {
            text.to_string()
        }
    }

    /// Write `text` wrapped to the width after `first` (a plain prefix such as
    /// `"    why:      "`, painted in `first_tone`), each line of `text` painted in `tone`.
    /// Continuation lines are indented by `first`'s width when that leaves room, else by the
    /// prefix's own indent plus four; a prefix too wide for any text stands on its own line.
    pub fn write_wrapped(
        &self,
        out: &mut dyn Write,
        (first, first_tone): (&str, Option<Tone>),
        text: &str,
        tone: Option<Tone>,
    ) -> Result<()> {
        let lead = match first_tone {
            Some(t) => self.paint(first.trim_end(), t) + &first[first.trim_end().len()..],
            None => first.to_string(),
        };
        let first_len = first.chars().count();
        let hang = if first_len <= self.width * 2 / 3 {
            first_len
        } else {
            first.chars().take_while(|c| *c == ' ').count() + 4
        };
        let first_room = self.width.saturating_sub(first_len);
        let rest_room = self.width.saturating_sub(hang).max(20);
        let paint = |line: &str| match tone {
            Some(t) => self.paint(line, t),
            None => line.to_string(),
        };
        if first_room < 16 {
            writeln!(out, "{}", lead.trim_end())?;
            for line in wrap(text, rest_room) {
                writeln!(out, "{}{}", " ".repeat(hang), paint(&line))?;
            }
            return Ok(());
        }
        let lines = wrap_first(text, first_room, rest_room);
        if lines.is_empty() {
            writeln!(out, "{}", lead.trim_end())?;
        }
        for (i, line) in lines.iter().enumerate() {
            match i {
                0 => writeln!(out, "{lead}{}", paint(line))?,
                _ => writeln!(out, "{}{}", " ".repeat(hang), paint(line))?,
            }
        }
        Ok(())
    }
}

/// Greedy word wrap on whitespace; a word longer than `width` gets a line of its own.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    wrap_first(text, width, width)
}

/// Word wrap with a different width for the first line.
fn wrap_first(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split_whitespace() {
        let width = if lines.is_empty() { first } else { rest };
        let w = word.chars().count();
        if len > 0 && len + 1 + w > width {
            lines.push(std::mem::take(&mut line));
            len = 0;
        }
        if len > 0 {
            line.push(' ');
            len += 1;
        }
        line.push_str(word);
        len += w;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_hanging_indent() {
        let s = Style::new(false, 60);
        let mut out = Vec::new();
        let text = "word ".repeat(30);
        s.write_wrapped(&mut out, ("    why:  ", None), &text, None)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l.starts_with("          word"))
        );
    }

    #[test]
    fn paints_only_with_colour() {
        assert_eq!(Style::plain().paint("x", Tone::Red), "x");
        assert_eq!(
            Style::new(true, 80).paint("x", Tone::Red),
            "\u{1b}[1;31mx\u{1b}[0m"
        );
    }
}
