//! A big `.evtx` file read in parts, each by a reader thread of its own.
//!
//! Takes: an open file (as [`PaddedFile`]) and which part of how many to read.
//! Produces: the chunks of that part, in record order, as the crate's parser would yield them.
//!
//! One reader per file leaves cores idle while a single big file is read: its chunks' walks can
//! go to the [`super::ChunkWalkers`], but the reader thread still reads every chunk, reads the
//! chunks the raw walk leaves to the crate and hands every record over, and so sets the pace.
//! A big file is therefore cut into contiguous parts of its chunks in record order, and each part
//! is read like a file of its own, under the watchdog, on its own reader thread; their
//! collectors are then joined in part order ([`crate::ingest::Collector::absorb`]), which gives
//! the same events and accounting as one reader.
//!
//! The crate's chunk iterator cannot start in the middle of a file, so the order is found here
//! the way the crate finds it (`EvtxParser::chunks` in evtx 0.15): from the chunk whose header
//! names the lowest first record id (a log that has wrapped around starts anywhere) to the end
//! of the file, then from the first chunk; all-zero chunks are skipped; a chunk that cannot be
//! read or whose header is not a chunk header is an error in its place. Tests hold both routes
//! equal on generated logs (clean, wrapped, damaged, mutated; every chunk a part) and on the
//! corpus.

use super::super::evtx_checks::{CHUNK, CHUNK_HEADER, HEADER_BLOCK, PaddedFile, all_zero};
use evtx::err::{ChunkError, EvtxError};
use evtx::{EvtxChunkData, EvtxChunkHeader};
use std::io::{Read, Seek, SeekFrom};

/// Which part of a file a reader reads: `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// This part, from 0.
    pub index: usize,
    /// How many parts the file is cut into (at least 1).
    pub count: usize,
}

/// The chunk numbers of a file in record order, as the crate's `EvtxParser::chunks` visits
/// them. The file holds as many chunks as fit after its header block (`header_block` bytes, as
/// its header says; the crate counts them so).
pub fn record_order(file: &mut PaddedFile, header_block: u16) -> Vec<u64> {
    let chunk_count = file
        .seek(SeekFrom::End(0))
        .map_or(0, |len| len.saturating_sub(u64::from(header_block)) / CHUNK);
    let oldest = oldest_chunk(file, chunk_count);
    (oldest..chunk_count).chain(0..oldest).collect()
}

/// The chunk holding the oldest records: the first whose header names the lowest first record id
/// (a header with a reversed range says nothing); 0 when none does. Stops at the first header that
/// cannot be read, as the crate does.
fn oldest_chunk(file: &mut PaddedFile, chunk_count: u64) -> u64 {
    let mut oldest = (u64::MAX, 0);
    let mut header = [0; CHUNK_HEADER];
    for number in 0..chunk_count {
        if file.seek(SeekFrom::Start(offset(number))).is_err()
            || file.read_exact(&mut header).is_err()
        {
            break;
        }
        if let Ok(chunk) = EvtxChunkHeader::from_bytes(&header)
            && chunk.first_event_record_id <= chunk.last_event_record_id
            && chunk.first_event_record_id < oldest.0
        {
            oldest = (chunk.first_event_record_id, number);
        }
    }
    oldest.1
}

/// Where chunk `number` starts: after the header block (the crate's `EVTX_FILE_HEADER_SIZE`,
/// whatever the header says its block's size is).
fn offset(number: u64) -> u64 {
    HEADER_BLOCK + number * CHUNK
}

/// The numbers of `order` that `part` reads: a contiguous share, the parts together every one.
pub fn share(order: &[u64], part: Part) -> &[u64] {
    let count = part.count.max(1);
    let at = |i: usize| order.len() * i / count;
    &order[at(part.index)..at(part.index + 1)]
}

/// The chunks numbered `numbers`, read from `file` one at a time as the crate reads them.
pub struct PartChunks<'a> {
    file: &'a mut PaddedFile,
    numbers: std::slice::Iter<'a, u64>,
}

impl<'a> PartChunks<'a> {
    pub fn new(file: &'a mut PaddedFile, numbers: &'a [u64]) -> Self {
        PartChunks {
            file,
            numbers: numbers.iter(),
        }
    }
}

impl Iterator for PartChunks<'_> {
    type Item = Result<EvtxChunkData, EvtxError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let number = *self.numbers.next()?;
            match read_chunk(self.file, number) {
                Ok(None) => continue,
                Ok(Some(chunk)) => return Some(Ok(chunk)),
                Err(error) => {
                    return Some(Err(EvtxError::FailedToParseChunk {
                        chunk_id: number,
                        source: Box::new(error),
                    }));
                }
            }
        }
    }
}

/// One chunk: `None` when it is all zeros (never written), an error when it cannot be read whole
/// or does not start with a chunk header.
fn read_chunk(file: &mut PaddedFile, number: u64) -> Result<Option<EvtxChunkData>, ChunkError> {
    let mut data = Vec::with_capacity(CHUNK as usize);
    file.seek(SeekFrom::Start(offset(number)))
        .map_err(ChunkError::FailedToSeekToChunk)?;
    let read = Read::take(&mut *file, CHUNK)
        .read_to_end(&mut data)
        .map_err(|_| ChunkError::IncompleteChunk)?;
    if read as u64 != CHUNK {
        return Err(ChunkError::IncompleteChunk);
    }
    if all_zero(&data) {
        return Ok(None);
    }
    let mut chunk = EvtxChunkData::new(data, false)?;
    chunk.number = Some(number);
    Ok(Some(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_share_the_order_contiguously_and_completely() {
        let order: Vec<u64> = (0..10).collect();
        for count in 1..=12 {
            let mut joined = Vec::new();
            for index in 0..count {
                joined.extend_from_slice(share(&order, Part { index, count }));
            }
            assert_eq!(joined, order, "{count} parts");
        }
    }
}
