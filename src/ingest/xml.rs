//! Reader for XML event exports (placeholder until the XML reader lands).

use super::Collector;
use crate::source::Source;

/// Not implemented yet: reports the file as unreadable with that reason.
pub fn read(_source: &Source, _collector: &mut Collector) -> Result<(), String> {
    Err("XML reader not implemented yet".into())
}
