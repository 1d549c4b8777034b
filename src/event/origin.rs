//! Who logged an event and where it was read: its host, channel, provider and input file, held
//! once for the events that share them.
//!
//! Takes: the four names as a reader finds them (already shared `Arc<str>`s).
//! Produces: [`Origin`], which an [`super::Event`] holds behind one pointer, and [`Origins`], the
//! small per-reader set that hands every event of a kind the same `Arc<Origin>`.
//!
//! A run keeps every relevant event in memory (hundreds of thousands for a busy server), and the
//! events of a file almost always share these names: one pointer per event instead of four wide
//! ones is 56 bytes less per event.

use std::sync::Arc;

/// The machine, log, provider and input file an event came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The `Computer` field: the machine that logged the event.
    pub host: Arc<str>,
    /// The event log channel, e.g. `Microsoft-Windows-TerminalServices-RDPClient/Operational`.
    pub channel: Arc<str>,
    /// The provider name, e.g. `Microsoft-Windows-TerminalServices-ClientActiveXCore`.
    pub provider: Arc<str>,
    /// The input file as given or discovered.
    pub path: Arc<str>,
}

impl Origin {
    /// A new origin of its own (readers share theirs through [`Origins`]).
    pub fn new(
        host: impl Into<Arc<str>>,
        channel: impl Into<Arc<str>>,
        provider: impl Into<Arc<str>>,
        path: impl Into<Arc<str>>,
    ) -> Arc<Origin> {
        Arc::new(Origin {
            host: host.into(),
            channel: channel.into(),
            provider: provider.into(),
            path: path.into(),
        })
    }
}

/// The origins a reader met most recently, so that its events of one kind share one
/// [`Origin`]. Looked up by pointer first (a reader's names are shared already), then by text.
/// Also the activity ids met most recently ([`Origins::share_activity`]): the events of one
/// connection repeat theirs.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    recent: Vec<Arc<Origin>>,
    activities: Vec<ActivityId>,
}

/// How many origins [`Origins`] keeps (a file rarely has more than a handful).
const RECENT_ORIGINS: usize = 32;

/// How many activity ids [`Origins`] keeps (connections whose events interleave).
const RECENT_ACTIVITIES: usize = 16;

impl Origins {
    /// The shared origin for these names (`names`: host, channel, provider; `path`: the file).
    pub fn get(&mut self, names: [&Arc<str>; 3], path: &Arc<str>) -> Arc<Origin> {
        let [host, channel, provider] = names;
        let same_pointers = |o: &Arc<Origin>| {
            Arc::ptr_eq(&o.host, host)
                && Arc::ptr_eq(&o.channel, channel)
                && Arc::ptr_eq(&o.provider, provider)
                && Arc::ptr_eq(&o.path, path)
        };
        find_recent(&mut self.recent, same_pointers)
            .or_else(|| self.find_text([host, channel, provider], path))
            .unwrap_or_else(|| {
                let origin = Arc::new(Origin {
                    host: host.clone(),
                    channel: channel.clone(),
                    provider: provider.clone(),
                    path: path.clone(),
                });
                remember(&mut self.recent, origin, RECENT_ORIGINS)
            })
    }

    /// [`Origins::get`] for names given as text: nothing is allocated for an origin met before.
    pub fn get_text(&mut self, names: [&str; 3], path: &str) -> Arc<Origin> {
        self.find_text(names, path).unwrap_or_else(|| {
            let [host, channel, provider] = names;
            let origin = Origin::new(host, channel, provider, path);
            remember(&mut self.recent, origin, RECENT_ORIGINS)
        })
    }

    /// The shared origin equal to `origin` (`origin` itself when it is new): for readers that
    /// build an origin per event, so that the events kept share one.
    pub fn share(&mut self, origin: Arc<Origin>) -> Arc<Origin> {
        let same_or_equal = |o: &Arc<Origin>| Arc::ptr_eq(o, &origin) || **o == *origin;
        find_recent(&mut self.recent, same_or_equal)
            .unwrap_or_else(|| remember(&mut self.recent, origin, RECENT_ORIGINS))
    }

    /// The shared text equal to `activity` (`activity` itself when it is new).
    pub fn share_activity(&mut self, activity: Option<ActivityId>) -> Option<ActivityId> {
        let activity = activity?;
        let shared = find_recent(&mut self.activities, |a| *a == activity)
            .unwrap_or_else(|| remember(&mut self.activities, activity, RECENT_ACTIVITIES));
        Some(shared)
    }

    fn find_text(&mut self, names: [&str; 3], path: &str) -> Option<Arc<Origin>> {
        let [host, channel, provider] = names;
        find_recent(&mut self.recent, |o| {
            &*o.host == host
                && &*o.channel == channel
                && &*o.provider == provider
                && &*o.path == path
        })
    }
}

/// The most recent entry of `recent` that `matches`, made the most recent (the next lookup of a
/// busy kind finds it first, searching from the end).
fn find_recent<T: Clone>(recent: &mut [T], matches: impl Fn(&T) -> bool) -> Option<T> {
    let i = recent.iter().rposition(matches)?;
    let last = recent.len() - 1;
    recent.swap(i, last);
    Some(recent[last].clone())
}

/// `item` kept as the most recent of `recent`, the oldest forgotten beyond `room`.
fn remember<T: Clone>(recent: &mut Vec<T>, item: T, room: usize) -> T {
    if recent.len() >= room {
        recent.remove(0);
    }
    recent.push(item.clone());
    item
}

/// An event's `System/Correlation/@ActivityID` as text (lower case with braces from the EVTX
/// reader). Shared: the events of one connection hold one copy ([`Origins::share_activity`]).
/// One pointer wide, since every relevant event of a run holds one or none; the text of a GUID
/// sits in the shared allocation itself, so a connection's activity costs one allocation.
#[derive(Clone)]
pub struct ActivityId(Arc<ActivityText>);

/// The longest text kept inside the shared allocation: a GUID with braces.
const INLINE_TEXT: usize = 38;

/// An activity id's text: inline up to [`INLINE_TEXT`] bytes, else on the heap.
enum ActivityText {
    Inline { len: u8, bytes: [u8; INLINE_TEXT] },
    Long(Box<str>),
}

impl ActivityId {
    /// True when `self` and `other` are one shared text (not only equal texts).
    pub fn shares_text_with(&self, other: &ActivityId) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for ActivityId {
    type Target = str;

    fn deref(&self) -> &str {
        match &*self.0 {
            ActivityText::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)])
                .expect("the whole of a text, copied byte for byte"),
            ActivityText::Long(text) => text,
        }
    }
}

impl AsRef<str> for ActivityId {
    fn as_ref(&self) -> &str {
        self
    }
}

impl PartialEq for ActivityId {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for ActivityId {}

impl std::hash::Hash for ActivityId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl std::fmt::Debug for ActivityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl From<&str> for ActivityId {
    fn from(text: &str) -> Self {
        let stored = match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE_TEXT => {
                let mut bytes = [0; INLINE_TEXT];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                ActivityText::Inline { len, bytes }
            }
            _ => ActivityText::Long(text.into()),
        };
        ActivityId(Arc::new(stored))
    }
}

impl From<String> for ActivityId {
    fn from(text: String) -> Self {
        ActivityId::from(text.as_str())
    }
}

impl serde::Serialize for ActivityId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_origin_whether_or_not_their_texts_are_shared() {
        let mut origins = Origins::default();
        let [h, c, p, f]: [Arc<str>; 4] = ["h".into(), "c".into(), "p".into(), "f".into()];
        let first = origins.get([&h, &c, &p], &f);
        assert!(Arc::ptr_eq(&first, &origins.get([&h, &c, &p], &f)));
        let copies = origins.get([&"h".into(), &"c".into(), &"p".into()], &"f".into());
        assert!(Arc::ptr_eq(&first, &copies), "same text, other pointers");
        let shared = origins.share(Origin::new("h", "c", "p", "f"));
        assert!(Arc::ptr_eq(&first, &shared));
        let other = origins.share(Origin::new("h", "c", "q", "f"));
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(&*other.provider, "q");
        let other_file = origins.get([&h, &c, &p], &"g".into());
        assert!(!Arc::ptr_eq(&first, &other_file));
        assert_eq!(&*other_file.path, "g");
    }

    #[test]
    fn equal_activity_ids_share_one_text() {
        let mut origins = Origins::default();
        let first = origins.share_activity(Some("{a}".into())).unwrap();
        let again = origins.share_activity(Some("{a}".into())).unwrap();
        assert!(first.shares_text_with(&again));
        let other = origins.share_activity(Some("{b}".into())).unwrap();
        assert!(!other.shares_text_with(&first) && other != first);
        assert_eq!(&*other, "{b}");
        assert_eq!(origins.share_activity(None), None);
        for i in 0..3 * RECENT_ACTIVITIES {
            origins.share_activity(Some(format!("{{{i}}}").into()));
            assert!(origins.activities.len() <= RECENT_ACTIVITIES);
        }
    }

    #[test]
    fn the_set_stays_small_and_still_gives_right_origins_past_its_size() {
        let mut origins = Origins::default();
        for i in 0..3 * RECENT_ORIGINS {
            let o = origins.share(Origin::new("h", format!("c{i}"), "p", "f"));
            assert_eq!(*o.channel, *format!("c{i}"));
            assert!(origins.recent.len() <= RECENT_ORIGINS);
        }
        assert_eq!(
            &*origins.share(Origin::new("h", "c0", "p", "f")).channel,
            "c0"
        );
    }

    #[test]
    fn activity_ids_of_any_length_read_back_as_given() {
        let guid = "{76abef77-4bf3-4110-ac89-7cfe101b0000}";
        let long = format!("{guid}-and-more-text-than-a-guid");
        for text in ["", "{a}", "é", guid, &long, &guid[..37]] {
            let id = ActivityId::from(text);
            assert_eq!(&*id, text);
            assert_eq!(id, ActivityId::from(text.to_string()));
            assert_eq!(format!("{id:?}"), format!("{text:?}"));
            assert_eq!(
                serde_json::to_string(&id).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
        assert_ne!(ActivityId::from(guid), ActivityId::from(&guid[..37]));
        assert!(matches!(
            &*ActivityId::from(guid).0,
            ActivityText::Inline { .. }
        ));
    }
}
