//! The serde mirror of `rule.yaml` (the case file mirror is in [`super::cases`]).
//!
//! Takes: YAML text, read by serde-saphyr (duplicate keys rejected, unknown keys rejected by
//! `deny_unknown_fields`, every value that needs a semantic check kept [`Spanned`] so that a
//! later error still names line and column).
//! Produces: [`RuleFile`], which [`super::compile`] turns into a
//! [`CompiledRule`](super::CompiledRule). Nothing here is looked at while matching events.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::fmt;
use std::marker::PhantomData;

/// One `rule.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// One line naming the cause.
    pub title: Spanned<String>,
    /// Plain-words explanation with `{placeholders}`.
    pub explain: Spanned<String>,
    /// Ordered fix steps.
    #[serde(default)]
    pub remediation: Vec<StepFile>,
    /// Links or document names backing the rule.
    #[serde(default)]
    pub references: Vec<String>,
    /// Which attempts the rule may explain.
    #[serde(default)]
    pub applies_to: Option<AppliesToFile>,
    /// Named selectors, in the order written.
    pub evidence: OrderedMap<Spanned<String>, SelectorFile>,
    /// Boolean expression over selector names.
    pub condition: Spanned<String>,
    /// 0–1: how strongly a full match supports the cause.
    pub confidence: Spanned<f64>,
    /// Generic cause that only wins when nothing specific fires.
    #[serde(default)]
    pub fallback: bool,
    /// Logs that confirm or refute the cause.
    #[serde(default)]
    pub requires: Vec<RequireFile>,
}

/// One remediation step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    /// What to do, in plain words (placeholders allowed).
    pub text: Spanned<String>,
    /// Exact commands for the step (placeholders allowed).
    #[serde(default)]
    pub commands: Vec<Spanned<String>>,
}

/// `applies_to`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesToFile {
    /// `failed` (default), `succeeded`, `unknown` or `any`.
    #[serde(default)]
    pub outcome: Option<Spanned<String>>,
    /// Primary disconnect codes, any notation.
    #[serde(default)]
    pub primary: Option<OneOrMany<Spanned<Scalar>>>,
    /// Extended disconnect codes, any notation.
    #[serde(default)]
    pub extended: Option<OneOrMany<Spanned<Scalar>>>,
}

/// One named selector: either an event selector or a `facts` selector.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorFile {
    /// `client`, `gateway`, `server`, `dc` or `any`.
    #[serde(default)]
    pub role: Option<Spanned<String>>,
    /// The event log channel.
    #[serde(default)]
    pub channel: Option<Spanned<String>>,
    /// The provider name.
    #[serde(default)]
    pub provider: Option<Spanned<String>>,
    /// One event id or a list.
    #[serde(default)]
    pub event_id: Option<OneOrMany<Spanned<Scalar>>>,
    /// Field predicates, all of which must hold.
    #[serde(default, rename = "where")]
    pub where_: OrderedMap<Spanned<String>, Spanned<PredicateFile>>,
    /// Time window around the attempt.
    #[serde(default)]
    pub window: Option<WindowFile>,
    /// `attempt` (default) or `host`.
    #[serde(default)]
    pub scope: Option<Spanned<String>>,
    /// Matches needed for the selector to hold (default 1).
    #[serde(default)]
    pub min_count: Option<Spanned<u64>>,
    /// Capture name → field (or fact) name, for the explanation.
    #[serde(default)]
    pub capture: OrderedMap<Spanned<String>, Spanned<String>>,
    /// Predicates over attempt facts instead of events.
    #[serde(default)]
    pub facts: Option<OrderedMap<Spanned<String>, Spanned<PredicateFile>>>,
}

/// `window: {before, after}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowFile {
    /// How long before the attempt start (`90s`, `5m`, `1h`, or seconds as a number).
    #[serde(default)]
    pub before: Option<Spanned<Scalar>>,
    /// How long after the attempt end.
    #[serde(default)]
    pub after: Option<Spanned<Scalar>>,
}

/// One `requires` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequireFile {
    /// The machine role.
    pub role: Spanned<String>,
    /// The channel whose export decides the cause.
    pub channel: Spanned<String>,
}

/// A field predicate as written: a bare scalar (`equals`), a list (`one_of`) or a map of operators.
#[derive(Debug)]
pub enum PredicateFile {
    /// `Field: value`.
    Equals(Scalar),
    /// `Field: [a, b]`.
    OneOf(Vec<Scalar>),
    /// `Field: {op: value, …}`.
    Ops(Box<PredicateOps>),
}

/// The operators of a predicate map; all given operators must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredicateOps {
    /// Equal (numbers in any notation, text case-insensitive).
    #[serde(default)]
    pub equals: Option<Scalar>,
    /// Equal to one of these.
    #[serde(default)]
    pub one_of: Option<Vec<Scalar>>,
    /// Regular expression (case-insensitive unless `case_sensitive`).
    #[serde(default)]
    pub regex: Option<String>,
    /// Substring (case-insensitive unless `case_sensitive`).
    #[serde(default)]
    pub contains: Option<String>,
    /// Greater than.
    #[serde(default)]
    pub gt: Option<Scalar>,
    /// Greater than or equal.
    #[serde(default)]
    pub ge: Option<Scalar>,
    /// Less than.
    #[serde(default)]
    pub lt: Option<Scalar>,
    /// Less than or equal.
    #[serde(default)]
    pub le: Option<Scalar>,
    /// The field is present (true) or absent (false).
    #[serde(default)]
    pub exists: Option<bool>,
    /// Compare text case-sensitively.
    #[serde(default)]
    pub case_sensitive: bool,
}

impl<'de> Deserialize<'de> for PredicateFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PredicateFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value, a list of values, or a map of predicates (equals, one_of, regex, contains, gt, ge, lt, le, exists)")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PredicateFile, A::Error> {
                let ops = PredicateOps::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(PredicateFile::Ops(Box::new(ops)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PredicateFile, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Scalar>()? {
                    items.push(item);
                }
                Ok(PredicateFile::OneOf(items))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PredicateFile, E> {
                Ok(PredicateFile::Equals(Scalar::Text(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PredicateFile, E> {
                Ok(PredicateFile::Equals(Scalar::UInt(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PredicateFile, E> {
                Ok(PredicateFile::Equals(Scalar::Int(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PredicateFile, E> {
                Ok(PredicateFile::Equals(Scalar::Float(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<PredicateFile, E> {
                Ok(PredicateFile::Equals(Scalar::Bool(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML scalar with its type kept (`0x904` arrives as a number, `'0x904'` as text).
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// Text.
    Text(String),
    /// Non-negative integer.
    UInt(u64),
    /// Negative integer.
    Int(i64),
    /// Floating-point number.
    Float(f64),
    /// Boolean.
    Bool(bool),
}

impl Scalar {
    /// The scalar as text, as a person would write it.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Text(t) => t.clone(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a single value (text, number or boolean)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::UInt(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(if v >= 0 {
                    Scalar::UInt(v as u64)
                } else {
                    Scalar::Int(v)
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One value or a list of values (`event_id: 4625` or `event_id: [4625, 4771]`).
#[derive(Debug)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<Spanned<T>> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A list is read as a list of spanned items; a single value is spanned itself.
        let whole = Spanned::<OneOrManyRaw<T>>::deserialize(d)?;
        Ok(match whole.value {
            OneOrManyRaw::Many(items) => OneOrMany(items),
            OneOrManyRaw::One(v) => {
                OneOrMany(vec![Spanned::new(v, whole.referenced, whole.defined)])
            }
        })
    }
}

enum OneOrManyRaw<T> {
    One(T),
    Many(Vec<Spanned<T>>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrManyRaw<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrManyRaw<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<T>>()? {
                    items.push(item);
                }
                Ok(OneOrManyRaw::Many(items))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(de::value::StrDeserializer::new(v)).map(OneOrManyRaw::One)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::deserialize(de::value::U64Deserializer::new(v)).map(OneOrManyRaw::One)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(de::value::I64Deserializer::new(v)).map(OneOrManyRaw::One)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                T::deserialize(de::value::F64Deserializer::new(v)).map(OneOrManyRaw::One)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(de::value::BoolDeserializer::new(v)).map(OneOrManyRaw::One)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A YAML mapping read in the order written (duplicate keys are rejected by the parser).
#[derive(Debug)]
pub struct OrderedMap<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for OrderedMap<K, V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Vis<K, V> {
            type Value = OrderedMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry()? {
                    out.push(kv);
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

/// A location as (line, column), 0 when unknown.
pub fn line_col(loc: &Location) -> (usize, usize) {
    (loc.line() as usize, loc.column() as usize)
}
