//! Where an event sits in its file, and its record id, in as few bytes as an event can spare.
//!
//! Takes: an event's [`Locator`] and its EventRecordID, if it has one.
//! Produces: [`Place`] — both, stored as 32-bit halves with their kinds in one byte (20 bytes
//! aligned to 4, where a `Locator` and an `Option<u64>` take 32 aligned to 8). A run keeps every
//! relevant event in memory; with the small fields of [`super::Event`] this fits in the room
//! its pointers leave, and an event takes 64 bytes instead of 80.

use super::{Locator, Origin, Provenance};

/// An event's [`Locator`] and EventRecordID.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Place {
    /// The locator's record number or line.
    position: [u32; 2],
    /// The record id, when `kinds` says there is one.
    record_id: [u32; 2],
    /// The locator's kind in the low two bits ([`KIND_RECORD`], [`KIND_LINE`],
    /// [`KIND_RECOVERED`]), [`HAS_RECORD_ID`] above them.
    kinds: u8,
}

const KIND_RECORD: u8 = 0;
const KIND_LINE: u8 = 1;
const KIND_RECOVERED: u8 = 2;
const KIND_MASK: u8 = 0b11;
const HAS_RECORD_ID: u8 = 0b100;

fn halves(n: u64) -> [u32; 2] {
    [n as u32, (n >> 32) as u32]
}

fn whole([low, high]: [u32; 2]) -> u64 {
    u64::from(low) | (u64::from(high) << 32)
}

impl Place {
    /// The place of an event found at `locator`, with `record_id` if it has one.
    pub fn new(locator: Locator, record_id: Option<u64>) -> Self {
        let mut place = Place {
            position: [0; 2],
            record_id: [0; 2],
            kinds: 0,
        };
        place.set_locator(locator);
        place.set_record_id(record_id);
        place
    }

    /// Where the event was found in its file.
    pub fn locator(&self) -> Locator {
        let n = whole(self.position);
        match self.kinds & KIND_MASK {
            KIND_LINE => Locator::Line(n),
            KIND_RECOVERED => Locator::Recovered(n),
            _ => Locator::Record(n),
        }
    }

    /// The EventRecordID, when the source has one.
    pub fn record_id(&self) -> Option<u64> {
        (self.kinds & HAS_RECORD_ID != 0).then(|| whole(self.record_id))
    }

    /// Move the event to `locator`.
    pub fn set_locator(&mut self, locator: Locator) {
        let (kind, n) = match locator {
            Locator::Record(n) => (KIND_RECORD, n),
            Locator::Line(n) => (KIND_LINE, n),
            Locator::Recovered(n) => (KIND_RECOVERED, n),
        };
        self.position = halves(n);
        self.kinds = (self.kinds & !KIND_MASK) | kind;
    }

    /// Where an event of `origin` found here was read from: its file and record or line.
    pub fn source(&self, origin: &Origin) -> Provenance {
        Provenance {
            path: origin.path.clone(),
            locator: self.locator(),
        }
    }

    /// Set or clear the EventRecordID.
    pub fn set_record_id(&mut self, record_id: Option<u64>) {
        self.record_id = halves(record_id.unwrap_or(0));
        self.kinds = match record_id {
            Some(_) => self.kinds | HAS_RECORD_ID,
            None => self.kinds & !HAS_RECORD_ID,
        };
    }
}

impl std::fmt::Debug for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Place")
            .field("locator", &self.locator())
            .field("record_id", &self.record_id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_back_every_locator_and_record_id_it_was_given() {
        let numbers = [
            0,
            1,
            7,
            u64::from(u32::MAX),
            1 << 32,
            (1 << 62) + 5,
            u64::MAX,
        ];
        for &n in &numbers {
            for locator in [Locator::Record(n), Locator::Line(n), Locator::Recovered(n)] {
                for record_id in [None, Some(0), Some(n), Some(u64::MAX - n)] {
                    let mut place = Place::new(locator, record_id);
                    assert_eq!((place.locator(), place.record_id()), (locator, record_id));
                    place.set_record_id(None);
                    assert_eq!((place.locator(), place.record_id()), (locator, None));
                    place.set_locator(Locator::Line(3));
                    place.set_record_id(record_id);
                    assert_eq!(place, Place::new(Locator::Line(3), record_id));
                }
            }
        }
        assert_eq!(std::mem::size_of::<Place>(), 20);
        assert_eq!(std::mem::align_of::<Place>(), 4);
    }
}
