//! The `condition` language: boolean expressions over selector names.
//!
//! Takes: the condition text and the rule's selector names.
//! Produces: an [`Expr`] with every name resolved to a selector index, or a [`ConditionError`]
//! with the character offset of the problem (the compiler turns it into file:line:col).
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! expr   := and ("or" and)*
//! and    := unary ("and" unary)*
//! unary  := "not" unary | seq
//! seq    := atom ("then" atom)*        -- with "then", every atom must be a plain selector name
//! atom   := NAME | "(" expr ")"
//! ```
//!
//! `a then b` holds when some match of `a` is at or before some match of `b` (corrected times);
//! `a then b then c` needs one chain of matches in that order.

/// A parsed condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A selector holds (index into the rule's selectors).
    Sel(usize),
    /// The operand does not hold (absence).
    Not(Box<Expr>),
    /// All operands hold.
    And(Vec<Expr>),
    /// At least one operand holds.
    Or(Vec<Expr>),
    /// Matches of these selectors occur in this order.
    Then(Vec<usize>),
}

/// A syntax or name error at a character offset of the condition text.
#[derive(Debug, PartialEq)]
pub struct ConditionError {
    /// Offset in characters from the start of the condition.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    And,
    Or,
    Not,
    Then,
    Open,
    Close,
    End,
}

fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, ConditionError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            out.push((if c == '(' { Tok::Open } else { Tok::Close }, i));
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-')) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let tok = match word.as_str() {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                "then" => Tok::Then,
                _ => Tok::Name(word),
            };
            out.push((tok, start));
        } else {
            return Err(ConditionError {
                offset: i,
                message: format!(
                    "unexpected character {c:?} in condition (use selector names, and, or, not, then, parentheses)"
                ),
            });
        }
    }
    out.push((Tok::End, chars.len()));
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    names: &'a [String],
    is_event: &'a dyn Fn(usize) -> bool,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn offset(&self) -> usize {
        self.toks[self.pos].1
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ConditionError> {
        Err(ConditionError {
            offset: self.offset(),
            message: message.into(),
        })
    }

    fn expr(&mut self) -> Result<Expr, ConditionError> {
        let mut items = vec![self.and()?];
        while *self.peek() == Tok::Or {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut items = vec![self.unary()?];
        while *self.peek() == Tok::And {
            self.pos += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        if *self.peek() == Tok::Not {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.seq()
    }

    fn seq(&mut self) -> Result<Expr, ConditionError> {
        let first_offset = self.offset();
        let first = self.atom()?;
        if *self.peek() != Tok::Then {
            return Ok(first);
        }
        let mut names = vec![self.then_operand(first, first_offset)?];
        while *self.peek() == Tok::Then {
            self.pos += 1;
            let offset = self.offset();
            let next = self.atom()?;
            names.push(self.then_operand(next, offset)?);
        }
        Ok(Expr::Then(names))
    }

    fn then_operand(&self, e: Expr, offset: usize) -> Result<usize, ConditionError> {
        match e {
            Expr::Sel(i) if (self.is_event)(i) => Ok(i),
            Expr::Sel(i) => Err(ConditionError {
                offset,
                message: format!(
                    "`then` orders events, but `{}` is a facts selector (it has no events)",
                    self.names[i]
                ),
            }),
            _ => Err(ConditionError {
                offset,
                message: "`then` takes selector names on both sides, e.g. `authenticated then session_logon`".into(),
            }),
        }
    }

    fn atom(&mut self) -> Result<Expr, ConditionError> {
        match self.peek().clone() {
            Tok::Name(n) => match self.names.iter().position(|s| *s == n) {
                Some(i) => {
                    self.pos += 1;
                    Ok(Expr::Sel(i))
                }
                None => self.err(format!(
                    "unknown selector `{n}` in condition (selectors: {})",
                    self.names.join(", ")
                )),
            },
            Tok::Open => {
                self.pos += 1;
                let e = self.expr()?;
                if *self.peek() != Tok::Close {
                    return self.err("expected `)`");
                }
                self.pos += 1;
                Ok(e)
            }
            Tok::End => self.err("condition ends where a selector name was expected"),
            other => self.err(format!(
                "expected a selector name, found {}",
                describe(&other)
            )),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Name(n) => format!("`{n}`"),
        Tok::And => "`and`".into(),
        Tok::Or => "`or`".into(),
        Tok::Not => "`not`".into(),
        Tok::Then => "`then`".into(),
        Tok::Open => "`(`".into(),
        Tok::Close => "`)`".into(),
        Tok::End => "the end".into(),
    }
}

/// Parse `text` against the selector `names`; `is_event(i)` tells event selectors from facts ones.
pub fn parse(
    text: &str,
    names: &[String],
    is_event: &dyn Fn(usize) -> bool,
) -> Result<Expr, ConditionError> {
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        names,
        is_event,
    };
    let e = p.expr()?;
    if *p.peek() != Tok::End {
        let found = describe(p.peek());
        return p.err(format!(
            "expected `and`, `or`, `then` or the end, found {found}"
        ));
    }
    Ok(e)
}

impl Expr {
    /// Every selector index used, with its polarity (`true` = not under an odd number of `not`).
    pub fn selectors(&self, positive: bool, out: &mut Vec<(usize, bool)>) {
        match self {
            Expr::Sel(i) => out.push((*i, positive)),
            Expr::Not(e) => e.selectors(!positive, out),
            Expr::And(items) | Expr::Or(items) => {
                for e in items {
                    e.selectors(positive, out);
                }
            }
            Expr::Then(items) => out.extend(items.iter().map(|i| (*i, positive))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["a", "b", "c", "facts_x"].map(String::from).to_vec()
    }

    fn p(text: &str) -> Result<Expr, ConditionError> {
        parse(text, &names(), &|i| i != 3)
    }

    #[test]
    fn precedence_not_then_and_or() {
        assert_eq!(
            p("a or b and not c").unwrap(),
            Expr::Or(vec![
                Expr::Sel(0),
                Expr::And(vec![Expr::Sel(1), Expr::Not(Box::new(Expr::Sel(2)))])
            ])
        );
        assert_eq!(
            p("not a then b").unwrap(),
            Expr::Not(Box::new(Expr::Then(vec![0, 1])))
        );
        assert_eq!(
            p("(a or b) and c").unwrap(),
            Expr::And(vec![
                Expr::Or(vec![Expr::Sel(0), Expr::Sel(1)]),
                Expr::Sel(2)
            ])
        );
        assert_eq!(p("a then b then c").unwrap(), Expr::Then(vec![0, 1, 2]));
    }

    #[test]
    fn errors_carry_offsets() {
        let e = p("a and zz").unwrap_err();
        assert_eq!(e.offset, 6);
        assert!(e.message.contains("unknown selector `zz`"), "{}", e.message);
        assert_eq!(p("a and").unwrap_err().offset, 5);
        assert_eq!(p("(a or b").unwrap_err().offset, 7);
        assert_eq!(p("a b").unwrap_err().offset, 2);
        assert_eq!(p("a & b").unwrap_err().offset, 2);
        assert!(p("a then facts_x").unwrap_err().message.contains("facts"));
        assert!(
            p("(a or b) then c")
                .unwrap_err()
                .message
                .contains("selector names")
        );
    }
}
