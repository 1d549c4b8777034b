//! Explanation templates: text with `{placeholder}`s filled from captures and attempt facts.
//!
//! Takes: template text from a rule (`explain`, remediation steps and commands).
//! Produces: a parsed [`Template`] (checked at compile time: every placeholder must be a built-in
//! or a capture the rule declares) and, at verdict time, the rendered text. `{{` and `}}` are
//! literal braces. A placeholder without a value renders as `(unknown)`.

use std::collections::BTreeMap;

/// Placeholders every rule may use: facts of the attempt.
pub const BUILTINS: &[&str] = &[
    "client", "server", "gateway", "target", "user", "primary", "extended",
];

/// One piece of a template.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A `{name}` placeholder.
    Field(String),
}

/// A parsed template.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Template {
    /// The pieces in order.
    pub pieces: Vec<Piece>,
    /// The text as written.
    pub source: String,
}

/// A template syntax error at a character offset.
#[derive(Debug)]
pub struct TemplateError {
    /// Offset in characters.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl Template {
    /// Parse `text`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let chars: Vec<char> = text.chars().collect();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '{' if chars.get(i + 1) == Some(&'{') => {
                    lit.push('{');
                    i += 2;
                }
                '}' if chars.get(i + 1) == Some(&'}') => {
                    lit.push('}');
                    i += 2;
                }
                '{' => {
                    let close = (i + 1..chars.len()).find(|&j| chars[j] == '}');
                    let Some(close) = close else {
                        return Err(TemplateError {
                            offset: i,
                            message: "`{` without a closing `}` (write `{{` for a literal brace)"
                                .into(),
                        });
                    };
                    let name: String = chars[i + 1..close].iter().collect();
                    let name = name.trim().to_string();
                    if name.is_empty()
                        || !name
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                    {
                        return Err(TemplateError {
                            offset: i,
                            message: format!(
                                "bad placeholder `{{{name}}}`: use a capture name or one of {}",
                                BUILTINS.join(", ")
                            ),
                        });
                    }
                    if !lit.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut lit)));
                    }
                    pieces.push(Piece::Field(name));
                    i = close + 1;
                }
                '}' => {
                    return Err(TemplateError {
                        offset: i,
                        message: "`}` without an opening `{` (write `}}` for a literal brace)"
                            .into(),
                    });
                }
                c => {
                    lit.push(c);
                    i += 1;
                }
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        Ok(Template {
            pieces,
            source: text.to_string(),
        })
    }

    /// The placeholder names used, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field(f) => Some(f.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Fill the placeholders from `values`.
    pub fn render(&self, values: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => match values.get(f) {
                    Some(v) if !v.is_empty() => out.push_str(v),
                    _ => out.push_str("(unknown)"),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let t = Template::parse("User {user} at {{literal}} on {server}.").unwrap();
        let fields: Vec<_> = t.fields().collect();
        assert_eq!(fields, ["user", "server"]);
        let mut v = BTreeMap::new();
        v.insert("user".to_string(), "alice".to_string());
        assert_eq!(t.render(&v), "User alice at {literal} on (unknown).");
    }

    #[test]
    fn syntax_errors_have_offsets() {
        assert_eq!(Template::parse("ab {user").unwrap_err().offset, 3);
        assert_eq!(Template::parse("ab } c").unwrap_err().offset, 3);
        assert_eq!(Template::parse("x {a b}").unwrap_err().offset, 2);
    }
}
