#!/usr/bin/env python3
"""Build one large .evtx file from the real 64 KiB chunks of the corpus (issue 7 benchmark input).

Usage: make-big-evtx.py CORPUS_DIR OUT_FILE [MEGABYTES]

Chunks are copied from every corpus .evtx file (in path order, skipping chunks without the
ElfChnk magic), cycling through them until the file reaches the size asked for (default 200 MB).
A fresh file header (with its CRC) is written in front. The first pass over the corpus copies
chunks byte for byte, so every record is a real Windows record and the mix of channels is the
corpus's own. Later passes add a multiple of 10^9 to every record id (live records and stale
ones in the slack alike; chunk header fields and checksums follow, a checksum only where it was
right before): a real log never holds one record twice, and rdptriage keeps copies of one
record (same host, channel, record id and time) once, so repeating them would shrink the work
measured.
"""
import os
import struct
import sys
import zlib

CHUNK = 65536
HEADER = 4096


def chunks_of(path):
    with open(path, "rb") as f:
        if f.read(8) != b"ElfFile\0":
            return
        f.seek(HEADER)
        while True:
            chunk = f.read(CHUNK)
            if len(chunk) < CHUNK:
                return
            if chunk.startswith(b"ElfChnk\0"):
                yield chunk


RECORD_MAGIC = b"\x2a\x2a\x00\x00"


def crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def renumber_values(c, at, size, record_id, offset):
    """Add `offset` to the UInt64 substitution values equal to `record_id` of the record at `at`
    (the rendered EventRecordID comes from the template instance's values, not the record
    header). Records of another shape are left as they are."""
    end = at + size
    pos = at + 24
    if c[pos:pos + 4] != b"\x0f\x01\x01\x00" or c[pos + 4] != 0x0C:
        return
    pos += 4 + 2 + 4
    definition = struct.unpack_from("<I", c, pos)[0]
    pos += 4
    if definition == pos:  # the definition is inline: skip it
        data_size = struct.unpack_from("<I", c, pos + 20)[0]
        pos += 24 + data_size
    if pos + 4 > end:
        return
    count = struct.unpack_from("<I", c, pos)[0]
    pos += 4
    value = pos + 4 * count
    if count > 1000 or value > end:
        return
    for n in range(count):
        length, kind = struct.unpack_from("<HB", c, pos + 4 * n)
        if kind == 0x0A and length == 8 and value + 8 <= end:
            if struct.unpack_from("<Q", c, value)[0] == record_id:
                struct.pack_into("<Q", c, value, (record_id + offset) % 2**64)
        value += length


def renumbered(chunk, offset):
    """The chunk with `offset` added to every record id (see the module doc)."""
    if offset == 0:
        return chunk
    c = bytearray(chunk)
    free = struct.unpack_from("<I", c, 48)[0]
    records_ok = 512 <= free <= CHUNK and struct.unpack_from("<I", c, 52)[0] == crc(c[512:free])
    header_ok = struct.unpack_from("<I", c, 124)[0] == crc(c[:120] + c[128:512])
    for field in (8, 16, 24, 32):  # first/last record number, first/last record id
        struct.pack_into("<Q", c, field, (struct.unpack_from("<Q", c, field)[0] + offset) % 2**64)
    at = 512
    while True:
        at = c.find(RECORD_MAGIC, at)
        if at < 0 or at + 24 > CHUNK:
            break
        size = struct.unpack_from("<I", c, at + 4)[0]
        if 24 <= size <= CHUNK - at and struct.unpack_from("<I", c, at + size - 4)[0] == size:
            record_id = struct.unpack_from("<Q", c, at + 8)[0]
            struct.pack_into("<Q", c, at + 8, (record_id + offset) % 2**64)
            renumber_values(c, at, size, record_id, offset)
            at += size
        else:
            at += 4
    if records_ok:
        struct.pack_into("<I", c, 52, crc(c[512:free]))
    if header_ok:
        struct.pack_into("<I", c, 124, crc(c[:120] + c[128:512]))
    return bytes(c)


def file_header(chunk_count, next_record):
    head = bytearray(HEADER)
    struct.pack_into("<8sQQQIHHHH", head, 0, b"ElfFile\0", 0, chunk_count - 1, next_record,
                     128, 1, 3, HEADER, min(chunk_count, 0xFFFF))
    struct.pack_into("<I", head, 120, 0)
    struct.pack_into("<I", head, 124, zlib.crc32(bytes(head[:120])) & 0xFFFFFFFF)
    return bytes(head)


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    megabytes = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    paths = []
    for root, _, files in os.walk(corpus):
        paths += [os.path.join(root, n) for n in files if n.lower().endswith(".evtx")]
    paths.sort()
    pool = [c for p in paths for c in chunks_of(p)]
    if not pool:
        sys.exit("no chunks found")
    wanted = (megabytes * 1_000_000 - HEADER + CHUNK - 1) // CHUNK
    with open(out, "wb") as f:
        f.write(file_header(wanted, 1))
        for i in range(wanted):
            f.write(renumbered(pool[i % len(pool)], (i // len(pool)) * 1_000_000_000))
    print(f"{out}: {wanted} chunks from {len(pool)} distinct corpus chunks, "
          f"{os.path.getsize(out) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
