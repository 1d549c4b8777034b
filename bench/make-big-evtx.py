#!/usr/bin/env python3
"""Build one large .evtx file from the real 64 KiB chunks of the corpus (issue 7 benchmark input).

Usage: make-big-evtx.py CORPUS_DIR OUT_FILE [MEGABYTES]

Chunks are copied byte for byte from every corpus .evtx file (in path order, skipping chunks
without the ElfChnk magic), cycling through them until the file reaches the size asked for
(default 200 MB). A fresh file header (with its CRC) is written in front. Chunk contents, record
CRCs and record ids are the originals, so every record is a real Windows record; record ids repeat
across chunks, which the parser does not mind. The mix of channels is the corpus's own.
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
            f.write(pool[i % len(pool)])
    print(f"{out}: {wanted} chunks from {len(pool)} distinct corpus chunks, "
          f"{os.path.getsize(out) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
