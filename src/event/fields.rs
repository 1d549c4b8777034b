//! An event's EventData/UserData fields: names to typed values, sorted by name.
//!
//! Takes: fields as the readers find them. Produces: [`Fields`] — a map with the part of the
//! `BTreeMap` interface the pipeline uses, stored as one sorted vector of (name, value) pairs
//! behind one shared pointer (a reader fills it in place; once complete it is cut to its size);
//! and [`FieldSets`], which lets the complete maps of a file's events that are equal share that
//! vector. A run keeps every relevant event in memory, and most events have a handful of
//! fields, often the same ones: this costs a fraction of a B-tree node per event, and nothing
//! for a repeated map. Iteration, lookup and serialization order are the names' byte order, as a
//! `BTreeMap<String, _>` gives them; a JSON object is read as a `BTreeMap` would read it (the
//! last of duplicate names wins).

use super::FieldValue;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A field's name. Shared: the EVTX reader hands every event of a template the names its
/// template definition gave, so a name costs a reference count, not an allocation, per event.
pub type FieldName = Arc<str>;

/// Event fields by name, sorted so output is deterministic.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    /// Sorted by name, names unique; `None` when there are none. One pointer wide, since every
    /// relevant event of a run holds one: the vector grows in place while a reader fills the
    /// map (nothing else holds it yet), and once the map is complete
    /// ([`Fields::shrink_to_fit`]) equal maps share it ([`FieldSets`]). Changing a shared map
    /// copies it first: the others keep theirs.
    entries: Option<Arc<Vec<(FieldName, FieldValue)>>>,
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Fields {
    /// No fields.
    pub fn new() -> Self {
        Fields::default()
    }

    /// No fields, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Fields {
            entries: (n > 0).then(|| Arc::new(Vec::with_capacity(n))),
        }
    }

    fn as_slice(&self) -> &[(FieldName, FieldValue)] {
        self.entries.as_deref().map_or(&[], Vec::as_slice)
    }

    /// The entries to change (a shared set is copied first: the others keep theirs).
    fn as_vec(&mut self) -> &mut Vec<(FieldName, FieldValue)> {
        Arc::make_mut(self.entries.get_or_insert_with(Default::default))
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.as_slice().binary_search_by(|(n, _)| (**n).cmp(name))
    }

    /// Set `name` to `value`; returns the value it replaces. A name after every other one (a
    /// reader filling the map in name order) is appended after one comparison.
    pub fn insert(&mut self, name: impl Into<FieldName>, value: FieldValue) -> Option<FieldValue> {
        let name = name.into();
        let at_end = match self.as_slice().last() {
            Some((last, _)) => last < &name,
            None => true,
        };
        if at_end {
            self.as_vec().push((name, value));
            return None;
        }
        match self.position(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.as_vec()[i].1, value)),
            Err(i) => {
                self.as_vec().insert(i, (name, value));
                None
            }
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.position(name).ok().map(|i| &self.as_slice()[i].1)
    }

    /// The value of `name`, to change it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut FieldValue> {
        let i = self.position(name).ok()?;
        Some(&mut self.as_vec()[i].1)
    }

    /// True when `name` is set (even to null).
    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// Take `name` out.
    pub fn remove(&mut self, name: &str) -> Option<FieldValue> {
        let i = self.position(name).ok()?;
        Some(self.as_vec().remove(i).1)
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// True without fields.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// (name, value) pairs in name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &FieldValue)> + Clone {
        self.as_slice().iter().map(|(n, v)| (&**n, v))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + Clone {
        self.as_slice().iter().map(|(n, _)| &**n)
    }

    /// The values, in name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &FieldValue> + Clone {
        self.as_slice().iter().map(|(_, v)| v)
    }

    /// Keep the fields for which `keep` says so.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut FieldValue) -> bool) {
        self.as_vec().retain_mut(|(n, v)| keep(n, v));
    }

    /// Remove every field.
    pub fn clear(&mut self) {
        self.entries = None;
    }

    /// Give back unused room: the map is complete (readers call it once they have filled it),
    /// and its vector is cut to its size (an empty map holds nothing). Changing it afterwards
    /// copies it when it is shared.
    pub fn shrink_to_fit(&mut self) {
        match &mut self.entries {
            Some(entries) if entries.is_empty() => self.entries = None,
            Some(entries) => {
                if let Some(vec) = Arc::get_mut(entries) {
                    vec.shrink_to_fit();
                }
            }
            None => {}
        }
    }

    /// True when `self` and `other` are one stored set (see [`FieldSets`]).
    pub fn shares_storage_with(&self, other: &Fields) -> bool {
        match (&self.entries, &other.entries) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// A hash of the names and values, for [`FieldSets`] (floats by their bits).
    fn content_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for (name, value) in self.as_slice() {
            name.hash(&mut hasher);
            hash_value(value, &mut hasher);
        }
        hasher.finish()
    }
}

fn hash_value(value: &FieldValue, hasher: &mut impl std::hash::Hasher) {
    use std::hash::Hash;
    std::mem::discriminant(value).hash(hasher);
    match value {
        FieldValue::Null => {}
        FieldValue::Bool(b) => b.hash(hasher),
        FieldValue::Int(i) => i.hash(hasher),
        FieldValue::UInt(u) | FieldValue::Hex(u) => u.hash(hasher),
        FieldValue::Float(f) => f.to_bits().hash(hasher),
        FieldValue::Text(t) => t.hash(hasher),
        FieldValue::List(items) => {
            items.len().hash(hasher);
            items.iter().for_each(|item| hash_value(item, hasher));
        }
    }
}

/// Field maps seen in one file, so that events with the same fields (a busy server logs the
/// same TLS alert tens of thousands of times, differing only in time and record) hold one copy
/// between them. Bounded: past [`FieldSets::MAX`] sets it starts afresh.
#[derive(Debug, Default)]
pub struct FieldSets {
    by_hash: std::collections::HashMap<u64, Fields>,
}

impl FieldSets {
    /// The most sets remembered at once (a remembered set costs a table entry, about 50 bytes:
    /// at most ~3 MiB per file being read). A real busy log holds thousands of distinct maps
    /// (the corpus copied four times into one 800 MB file: about 5,100); with room for only
    /// 4,096 the set started afresh again and again and shared nearly nothing.
    pub const MAX: usize = 1 << 16;

    /// `fields`, complete, stored once: the copy seen before when there is one, else `fields`
    /// itself (remembered for the next events).
    pub fn share(&mut self, mut fields: Fields) -> Fields {
        fields.shrink_to_fit();
        let hash = fields.content_hash();
        if let Some(seen) = self.by_hash.get(&hash)
            && *seen == fields
        {
            return seen.clone();
        }
        if self.by_hash.len() >= Self::MAX {
            self.by_hash.clear();
        }
        self.by_hash.insert(hash, fields.clone());
        fields
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = FieldValue;

    fn index(&self, name: &str) -> &FieldValue {
        self.get(name)
            .unwrap_or_else(|| panic!("no field named {name:?}"))
    }
}

impl<K: Into<FieldName>> FromIterator<(K, FieldValue)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, FieldValue)>>(items: I) -> Self {
        let mut fields = Fields::new();
        fields.extend(items);
        fields
    }
}

impl<K: Into<FieldName>> Extend<(K, FieldValue)> for Fields {
    fn extend<I: IntoIterator<Item = (K, FieldValue)>>(&mut self, items: I) {
        for (name, value) in items {
            self.insert(name, value);
        }
    }
}

impl IntoIterator for Fields {
    type Item = (FieldName, FieldValue);
    type IntoIter = std::vec::IntoIter<(FieldName, FieldValue)>;

    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(self.as_vec()).into_iter()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a str, &'a FieldValue);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (FieldName, FieldValue)>,
        fn(&'a (FieldName, FieldValue)) -> (&'a str, &'a FieldValue),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter().map(|(n, v)| (&**n, v))
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, FieldValue>::deserialize(deserializer)?;
        let mut fields = Fields::with_capacity(map.len());
        // Already sorted and unique: append in order.
        fields
            .as_vec()
            .extend(map.into_iter().map(|(n, v)| (FieldName::from(n), v)));
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_sorted_map() {
        let mut f = Fields::new();
        assert_eq!(f.insert("b", FieldValue::UInt(2)), None);
        assert_eq!(f.insert("a", FieldValue::UInt(1)), None);
        assert_eq!(f.insert("c", FieldValue::Null), None);
        assert_eq!(
            f.insert("b", FieldValue::UInt(3)),
            Some(FieldValue::UInt(2))
        );
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(f["b"], FieldValue::UInt(3));
        assert!(f.contains_key("c") && !f.contains_key("d"));
        assert_eq!(f.remove("a"), Some(FieldValue::UInt(1)));
        assert_eq!(f.len(), 2);
        f.retain(|name, _| name != "c");
        assert_eq!(f.len(), 1);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"b":3}"#);
    }

    #[test]
    fn serializes_and_reads_back_as_a_btreemap_does() {
        let f: Fields = [
            ("Zeta", FieldValue::Text("z".into())),
            ("Alpha", FieldValue::Hex(0x904)),
        ]
        .into_iter()
        .collect();
        let b: BTreeMap<String, FieldValue> =
            f.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let back: Fields = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#).unwrap();
        assert_eq!(back.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(back["b"], FieldValue::UInt(3), "the last duplicate wins");
    }

    fn set(pairs: &[(&str, FieldValue)]) -> Fields {
        pairs.iter().cloned().collect()
    }

    #[test]
    fn equal_field_maps_are_stored_once_and_different_ones_apart() {
        let mut sets = FieldSets::default();
        let alert = || {
            set(&[
                ("AlertDesc", FieldValue::UInt(40)),
                ("ErrorState", FieldValue::UInt(1205)),
            ])
        };
        let first = sets.share(alert());
        let second = sets.share(alert());
        assert!(second.shares_storage_with(&first));
        assert_eq!(second, alert());
        let other = sets.share(set(&[("AlertDesc", FieldValue::UInt(46))]));
        assert!(!other.shares_storage_with(&first));
        // Same names, a value of another kind: not equal, not shared.
        let hex = sets.share(set(&[
            ("AlertDesc", FieldValue::Hex(40)),
            ("ErrorState", FieldValue::UInt(1205)),
        ]));
        assert!(!hex.shares_storage_with(&first));
        // Floats by their bits, lists element by element.
        let list = || {
            set(&[(
                "L",
                FieldValue::List(vec![FieldValue::Float(0.5), FieldValue::Null]),
            )])
        };
        let a = sets.share(list());
        assert!(sets.share(list()).shares_storage_with(&a));
    }

    #[test]
    fn names_in_order_are_appended_and_a_repeated_last_name_replaces_its_value() {
        let mut f = Fields::new();
        for (name, n) in [("a", 1), ("b", 2), ("b", 3), ("c", 4), ("a", 5)] {
            f.insert(name, FieldValue::UInt(n));
        }
        let got: Vec<_> = f.iter().map(|(n, v)| (n, v.clone())).collect();
        let want = [("a", 5), ("b", 3), ("c", 4)].map(|(n, v)| (n, FieldValue::UInt(v)));
        assert_eq!(got, want);
    }

    #[test]
    fn a_complete_map_holds_only_its_entries() {
        let mut empty = Fields::with_capacity(8);
        empty.shrink_to_fit();
        assert!(empty.entries.is_none(), "an empty map holds no allocation");
        let mut two = Fields::with_capacity(8);
        two.insert("b", FieldValue::UInt(2));
        two.insert("a", FieldValue::UInt(1));
        two.shrink_to_fit();
        assert_eq!(two.entries.as_ref().map(|v| v.capacity()), Some(2));
        assert_eq!(two.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(std::mem::size_of::<Fields>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn changing_a_shared_field_map_leaves_the_others_as_they_were() {
        let mut sets = FieldSets::default();
        let original = set(&[("a", FieldValue::UInt(1)), ("b", FieldValue::UInt(2))]);
        let kept = sets.share(original.clone());
        let mut changed = sets.share(original.clone());
        assert!(changed.shares_storage_with(&kept));
        changed.insert("c", FieldValue::UInt(3));
        *changed.get_mut("a").unwrap() = FieldValue::UInt(9);
        assert_eq!(changed.remove("b"), Some(FieldValue::UInt(2)));
        assert_eq!(kept, original);
        assert_eq!(changed.keys().collect::<Vec<_>>(), ["a", "c"]);
        assert!(!changed.shares_storage_with(&kept));
        let mut cleared = sets.share(original.clone());
        cleared.retain(|name, _| name == "b");
        assert_eq!(cleared.len(), 1);
        assert_eq!(kept.len(), 2);
        let pairs: Vec<_> = sets.share(original.clone()).into_iter().collect();
        assert_eq!(pairs.len(), 2);
        assert_eq!(kept, original);
    }

    #[test]
    fn a_field_map_reads_the_same_while_built_and_once_complete() {
        let mut building = set(&[
            ("z", FieldValue::Text("last".into())),
            ("a", FieldValue::Null),
        ]);
        let json = serde_json::to_string(&building).unwrap();
        let names: Vec<String> = building.keys().map(str::to_string).collect();
        building.shrink_to_fit();
        assert_eq!(serde_json::to_string(&building).unwrap(), json);
        assert_eq!(building.keys().collect::<Vec<_>>(), names);
        assert_eq!(building.get("z"), Some(&FieldValue::Text("last".into())));
        assert!(building.contains_key("a") && !building.is_empty());
    }

    #[test]
    fn more_distinct_maps_than_a_few_thousand_are_still_shared_when_they_repeat() {
        // Regression: a cap of 4,096 made a log with ~5,100 distinct maps share none of them.
        let mut sets = FieldSets::default();
        let first: Vec<Fields> = (0..5_000)
            .map(|n| sets.share(set(&[("n", FieldValue::UInt(n))])))
            .collect();
        for (n, earlier) in (0..5_000).zip(&first) {
            let again = sets.share(set(&[("n", FieldValue::UInt(n))]));
            assert!(again.shares_storage_with(earlier), "map {n} stored twice");
        }
    }

    #[test]
    fn the_remembered_sets_are_bounded() {
        let mut sets = FieldSets::default();
        for n in 0..(FieldSets::MAX as u64 + 10) {
            sets.share(set(&[("n", FieldValue::UInt(n))]));
        }
        assert!(sets.by_hash.len() <= FieldSets::MAX);
        assert_eq!(sets.by_hash.len(), 10, "started afresh once full");
    }
}
