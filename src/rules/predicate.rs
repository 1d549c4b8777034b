//! Field predicates: `equals`, `one_of`, `regex`, `contains`, `gt/ge/lt/le`, `exists`.
//!
//! Takes: a predicate as written ([`PredicateFile`]) at compile time; a field value
//! ([`FieldValue`]) at match time.
//! Produces: [`FieldPredicate`], which answers whether a field set satisfies it.
//!
//! Semantics: numbers compare equal in any notation (`0x904`, `2308`, `"0x904"`, a signed
//! HRESULT) whenever both sides read as numbers; otherwise text compares case-insensitively unless
//! `case_sensitive: true`. A list-valued field matches when any item matches. A predicate other
//! than `exists: false` fails on a missing field. Field names are looked up exactly, then
//! case-insensitively.

use super::model::{PredicateFile, PredicateOps, Scalar};
use crate::event::{FieldValue, Fields, parse_number};
use regex::{Regex, RegexBuilder};

/// Largest compiled regex program accepted (bytes), so a hostile rule cannot exhaust memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A value to compare against, read both as text and as a number.
#[derive(Clone, Debug)]
pub struct Operand {
    text: String,
    /// `text` in lower case, for case-insensitive comparison.
    lower: String,
    number: Option<u64>,
}

impl Operand {
    /// Read a scalar from a rule.
    pub fn from_scalar(s: &Scalar) -> Operand {
        let number = match s {
            Scalar::UInt(u) => Some(*u),
            Scalar::Int(i) => parse_number(&i.to_string()),
            Scalar::Float(f) if f.fract() == 0.0 && *f >= 0.0 => Some(*f as u64),
            Scalar::Text(t) => parse_number(t),
            Scalar::Float(_) | Scalar::Bool(_) => None,
        };
        let text = s.to_text();
        Operand {
            lower: text.to_lowercase(),
            text,
            number,
        }
    }

    fn matches(&self, v: &FieldValue, case_sensitive: bool) -> bool {
        if let FieldValue::List(items) = v {
            return items.iter().any(|i| self.matches(i, case_sensitive));
        }
        if let (Some(n), Some(m)) = (self.number, v.as_u64()) {
            return n == m;
        }
        let text = v.as_text();
        let text = text.trim();
        if case_sensitive {
            text == self.text
        } else if text.is_ascii() {
            // `lower` has no upper-case ASCII letter left: ASCII case folding of `text` is all
            // it takes (and allocates nothing; this runs for every candidate event).
            text.eq_ignore_ascii_case(&self.lower)
        } else {
            text.to_lowercase() == self.lower
        }
    }
}

/// A numeric comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cmp {
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

/// One test of a predicate.
#[derive(Clone, Debug)]
pub enum Test {
    /// Equal to the operand.
    Equals(Operand),
    /// Equal to one of the operands.
    OneOf(Vec<Operand>),
    /// Matches the regular expression.
    Regex(Regex),
    /// Contains the text (lower-cased unless case-sensitive).
    Contains(String),
    /// Compares as a number.
    Compare(Cmp, f64),
    /// Present (true) or absent (false).
    Exists(bool),
}

/// All tests on one field.
#[derive(Clone, Debug)]
pub struct FieldPredicate {
    /// The field (or fact) name.
    pub field: String,
    /// Every test must hold.
    pub tests: Vec<Test>,
    /// Text comparisons are case-sensitive.
    pub case_sensitive: bool,
}

/// Compile a predicate; `Err` carries a message (the caller adds the location).
pub fn compile(field: &str, p: &PredicateFile) -> Result<FieldPredicate, String> {
    let (tests, case_sensitive) = match p {
        PredicateFile::Equals(s) => (vec![Test::Equals(Operand::from_scalar(s))], false),
        PredicateFile::OneOf(items) => (
            vec![Test::OneOf(
                items.iter().map(Operand::from_scalar).collect(),
            )],
            false,
        ),
        PredicateFile::Ops(ops) => (compile_ops(field, ops)?, ops.case_sensitive),
    };
    Ok(FieldPredicate {
        field: field.to_string(),
        tests,
        case_sensitive,
    })
}

fn compile_ops(field: &str, ops: &PredicateOps) -> Result<Vec<Test>, String> {
    let cs = ops.case_sensitive;
    let mut tests = Vec::new();
    if let Some(s) = &ops.equals {
        tests.push(Test::Equals(Operand::from_scalar(s)));
    }
    if let Some(items) = &ops.one_of {
        if items.is_empty() {
            return Err(format!("`one_of` for `{field}` is empty"));
        }
        tests.push(Test::OneOf(
            items.iter().map(Operand::from_scalar).collect(),
        ));
    }
    if let Some(r) = &ops.regex {
        let re = RegexBuilder::new(r)
            .case_insensitive(!cs)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("bad regex for `{field}`: {}", one_line(&e.to_string())))?;
        tests.push(Test::Regex(re));
    }
    if let Some(c) = &ops.contains {
        tests.push(Test::Contains(if cs {
            c.clone()
        } else {
            c.to_lowercase()
        }));
    }
    for (cmp, value) in [
        (Cmp::Gt, &ops.gt),
        (Cmp::Ge, &ops.ge),
        (Cmp::Lt, &ops.lt),
        (Cmp::Le, &ops.le),
    ] {
        if let Some(v) = value {
            let n = scalar_number(v).ok_or_else(|| {
                format!(
                    "`{}` for `{field}` needs a number, got {:?}",
                    cmp_name(cmp),
                    v.to_text()
                )
            })?;
            tests.push(Test::Compare(cmp, n));
        }
    }
    if let Some(e) = ops.exists {
        tests.push(Test::Exists(e));
    }
    if tests.is_empty() {
        return Err(format!(
            "predicate for `{field}` has no test (use equals, one_of, regex, contains, gt, ge, lt, le or exists)"
        ));
    }
    Ok(tests)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cmp_name(c: Cmp) -> &'static str {
    match c {
        Cmp::Gt => "gt",
        Cmp::Ge => "ge",
        Cmp::Lt => "lt",
        Cmp::Le => "le",
    }
}

fn scalar_number(s: &Scalar) -> Option<f64> {
    match s {
        Scalar::UInt(u) => Some(*u as f64),
        Scalar::Int(i) => Some(*i as f64),
        Scalar::Float(f) => Some(*f),
        Scalar::Text(t) => t
            .trim()
            .parse::<f64>()
            .ok()
            .or_else(|| parse_number(t).map(|n| n as f64)),
        Scalar::Bool(_) => None,
    }
}

/// A field value as a number for `gt/ge/lt/le` (signed values stay signed).
pub fn value_number(v: &FieldValue) -> Option<f64> {
    match v {
        FieldValue::UInt(u) | FieldValue::Hex(u) => Some(*u as f64),
        FieldValue::Int(i) => Some(*i as f64),
        FieldValue::Float(f) => Some(*f),
        FieldValue::Text(t) => t
            .trim()
            .parse::<f64>()
            .ok()
            .or_else(|| parse_number(t).map(|n| n as f64)),
        _ => None,
    }
}

/// The field `name` in `fields`: exact name first, then any case.
pub fn lookup<'f>(fields: &'f Fields, name: &str) -> Option<&'f FieldValue> {
    fields
        .get(name)
        .or_else(|| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

impl FieldPredicate {
    /// The predicate in words, e.g. `SubStatus is one of 0xc000006a, 0xc0000064`.
    pub fn describe(&self) -> String {
        let op = |o: &Operand| match o.number {
            Some(n) if o.text.starts_with("0x") || o.text.starts_with("0X") => format!("0x{n:X}"),
            Some(n) if n > 0xFFFF => format!("0x{n:X}"),
            _ => o.text.clone(),
        };
        let parts: Vec<String> = self
            .tests
            .iter()
            .map(|t| match t {
                Test::Equals(o) => format!("is {}", op(o)),
                Test::OneOf(os) => format!(
                    "is one of {}",
                    os.iter().map(op).collect::<Vec<_>>().join(", ")
                ),
                Test::Regex(r) => format!("matches /{}/", r.as_str()),
                Test::Contains(c) => format!("contains {c:?}"),
                Test::Compare(c, n) => format!(
                    "{} {n}",
                    match c {
                        Cmp::Gt => ">",
                        Cmp::Ge => ">=",
                        Cmp::Lt => "<",
                        Cmp::Le => "<=",
                    }
                ),
                Test::Exists(true) => "is present".to_string(),
                Test::Exists(false) => "is absent".to_string(),
            })
            .collect();
        format!("{} {}", self.field, parts.join(" and "))
    }

    /// True when `fields` satisfies every test.
    pub fn matches(&self, fields: &Fields) -> bool {
        let value = lookup(fields, &self.field);
        self.tests
            .iter()
            .all(|t| test(t, value, self.case_sensitive))
    }
}

fn test(t: &Test, value: Option<&FieldValue>, cs: bool) -> bool {
    if let Test::Exists(want) = t {
        return value.is_some() == *want;
    }
    let Some(v) = value else {
        return false;
    };
    if let FieldValue::List(items) = v
        && !matches!(t, Test::Equals(_) | Test::OneOf(_))
    {
        return items.iter().any(|i| test(t, Some(i), cs));
    }
    match t {
        Test::Equals(o) => o.matches(v, cs),
        Test::OneOf(os) => os.iter().any(|o| o.matches(v, cs)),
        Test::Regex(re) => re.is_match(&v.as_text()),
        Test::Contains(c) => {
            let text = v.as_text();
            if cs {
                text.contains(c.as_str())
            } else {
                text.to_lowercase().contains(c.as_str())
            }
        }
        Test::Compare(cmp, n) => value_number(v).is_some_and(|x| match cmp {
            Cmp::Gt => x > *n,
            Cmp::Ge => x >= *n,
            Cmp::Lt => x < *n,
            Cmp::Le => x <= *n,
        }),
        // The value is present here.
        Test::Exists(want) => *want,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, FieldValue)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn ops(f: impl FnOnce(&mut PredicateOps)) -> PredicateFile {
        let mut o = PredicateOps::default();
        f(&mut o);
        PredicateFile::Ops(Box::new(o))
    }

    fn check(p: PredicateFile, v: FieldValue) -> bool {
        compile("F", &p).unwrap().matches(&fields(&[("F", v)]))
    }

    #[test]
    fn equals_across_notations() {
        let hex_rule = PredicateFile::Equals(Scalar::Text("0x904".into()));
        assert!(check(hex_rule, FieldValue::UInt(2308)));
        let dec_rule = PredicateFile::Equals(Scalar::UInt(2308));
        assert!(check(dec_rule, FieldValue::Hex(0x904)));
        let dec_rule = PredicateFile::Equals(Scalar::UInt(2308));
        assert!(check(dec_rule, FieldValue::Text("0x904".into())));
        let signed = PredicateFile::Equals(Scalar::Int(-2146893043));
        assert!(check(signed, FieldValue::Hex(0x8009030D)));
        let other = PredicateFile::Equals(Scalar::UInt(2309));
        assert!(!check(other, FieldValue::UInt(2308)));
    }

    #[test]
    fn text_is_case_insensitive_unless_stated() {
        assert!(check(
            PredicateFile::Equals(Scalar::Text("tcp".into())),
            FieldValue::Text("TCP".into())
        ));
        let cs = ops(|o| {
            o.equals = Some(Scalar::Text("tcp".into()));
            o.case_sensitive = true;
        });
        assert!(!check(cs, FieldValue::Text("TCP".into())));
    }

    #[test]
    fn case_folding_covers_non_ascii_text_and_surrounding_blanks() {
        let equals = |t: &str| PredicateFile::Equals(Scalar::Text(t.into()));
        assert!(check(equals("ÄRGER"), FieldValue::Text("ärger".into())));
        assert!(check(
            equals("Kerberos"),
            FieldValue::Text(" KERBEROS ".into())
        ));
        // Upper-case operand against ASCII text: both sides folded.
        assert!(check(equals("NTLM V2"), FieldValue::Text("ntlm v2".into())));
        assert!(!check(equals("NTLM"), FieldValue::Text("ntlm v2".into())));
        assert!(!check(equals("ärger"), FieldValue::Text("arger".into())));
    }

    #[test]
    fn one_of_contains_regex() {
        let p = PredicateFile::OneOf(vec![Scalar::UInt(3), Scalar::UInt(10)]);
        assert!(check(p, FieldValue::Text("10".into())));
        let p = ops(|o| o.contains = Some("SKEW".into()));
        assert!(check(p, FieldValue::Text("KRB_AP_ERR_skew".into())));
        let p = ops(|o| o.regex = Some("^keyset does not".into()));
        assert!(check(p, FieldValue::Text("Keyset does not exist".into())));
        let p = ops(|o| o.regex = Some("^keyset".into()));
        assert!(!check(p, FieldValue::Text("The keyset".into())));
    }

    #[test]
    fn numeric_comparisons() {
        let p = || {
            ops(|o| {
                o.gt = Some(Scalar::UInt(300));
                o.le = Some(Scalar::UInt(600));
            })
        };
        assert!(!check(p(), FieldValue::UInt(300)));
        assert!(check(p(), FieldValue::Float(300.5)));
        assert!(check(p(), FieldValue::UInt(600)));
        assert!(!check(p(), FieldValue::UInt(601)));
        assert!(check(
            ops(|o| o.ge = Some(Scalar::Text("0x10".into()))),
            FieldValue::UInt(16)
        ));
        assert!(!check(
            ops(|o| o.lt = Some(Scalar::UInt(5))),
            FieldValue::Text("abc".into())
        ));
        let bad = ops(|o| o.gt = Some(Scalar::Text("many".into())));
        assert!(compile("F", &bad).unwrap_err().contains("needs a number"));
    }

    #[test]
    fn exists_and_missing_fields() {
        let present = compile("F", &ops(|o| o.exists = Some(true))).unwrap();
        let absent = compile("F", &ops(|o| o.exists = Some(false))).unwrap();
        let eq = compile("F", &PredicateFile::Equals(Scalar::UInt(1))).unwrap();
        let with = fields(&[("F", FieldValue::UInt(1))]);
        let without = fields(&[("G", FieldValue::UInt(1))]);
        let null = fields(&[("F", FieldValue::Null)]);
        assert!(present.matches(&with) && !present.matches(&without));
        assert!(absent.matches(&without) && absent.matches(&null) && !absent.matches(&with));
        assert!(!eq.matches(&without));
        let lower = fields(&[("f", FieldValue::UInt(1))]);
        assert!(eq.matches(&lower), "field names fall back to any case");
    }

    #[test]
    fn lists_match_any_item() {
        let v = FieldValue::List(vec![
            FieldValue::Text("client".into()),
            FieldValue::Text("server".into()),
        ]);
        assert!(check(
            PredicateFile::Equals(Scalar::Text("server".into())),
            v.clone()
        ));
        assert!(check(ops(|o| o.contains = Some("serv".into())), v.clone()));
        assert!(!check(
            PredicateFile::Equals(Scalar::Text("gateway".into())),
            v
        ));
    }

    #[test]
    fn bad_regex_is_an_error_not_a_panic() {
        let p = ops(|o| o.regex = Some("(unclosed".into()));
        assert!(compile("F", &p).unwrap_err().contains("bad regex"));
        let huge = ops(|o| o.regex = Some("\\w{1000}{1000}".into()));
        assert!(compile("F", &huge).is_err());
    }
}
