#!/usr/bin/env bash
# Build the seed corpora under fuzz/corpus/<target>/ from the repository's fixtures and rules and,
# when it is there, the shared corpus of real logs (../shared/corpus or $RDPTRIAGE_CORPUS).
# EVTX seeds are single chunks cut out of real logs (the evtx target puts a file header in front).
set -euo pipefail
cd "$(dirname "$0")"
root=..
corpus=${RDPTRIAGE_CORPUS:-$root/../shared/corpus}
[ -d "$corpus" ] || corpus=/work/shared/corpus
mkdir -p corpus/{xml,jsonl,evtx,ingest,rule,case,text}

n=0
for f in $(find "$root/tests/fixtures" -name '*.xml' | sort); do
  n=$((n + 1)); cp "$f" "corpus/xml/fixture-$n.xml"; cp "$f" "corpus/ingest/fixture-$n.xml"
done
for f in $(find "$root/tests/fixtures" -name '*.jsonl' | sort); do
  n=$((n + 1)); cp "$f" "corpus/jsonl/fixture-$n.jsonl"; cp "$f" "corpus/ingest/fixture-$n.jsonl"
done
for f in $(find "$root/tests/fixtures/text" -name '*.txt' -o -name '*.csv' | sort); do
  n=$((n + 1)); cp "$f" "corpus/text/fixture-$n.txt"; cp "$f" "corpus/ingest/text-$n.txt"
done
for f in $(find "$root/rules" -name 'rule.yaml' | sort); do
  n=$((n + 1)); cp "$f" "corpus/rule/rule-$n.yaml"
done
for f in $(find "$root/rules" -path '*/cases/*.yaml' | sort); do
  n=$((n + 1)); cp "$f" "corpus/case/case-$n.yaml"
done

if [ -d "$corpus" ]; then
  # First chunk of a few small real logs, cut at the chunk's free-space offset; plus one whole
  # small file for the ingest target and the whole-file path of the evtx target.
  python3 - "$corpus" <<'PY'
import os, struct, sys
root = sys.argv[1]
picked = []
for dirpath, _, files in sorted(os.walk(root)):
    for name in sorted(files):
        if name.endswith('.evtx') and ('Terminal' in name or 'RdpCore' in name or 'RDP' in name
                                       or 'bad_chunk' in name or 'zero-data' in name):
            picked.append(os.path.join(dirpath, name))
picked = picked[:24]
for i, path in enumerate(picked):
    data = open(path, 'rb').read()
    if len(data) < 4096 + 65536:
        continue
    chunk = data[4096:4096 + 65536]
    free = struct.unpack_from('<I', chunk, 48)[0]
    cut = chunk[:max(512, min(free, 65536))]
    open(f'corpus/evtx/chunk-{i}.bin', 'wb').write(cut)
    if len(data) <= 4096 + 2 * 65536:
        open(f'corpus/evtx/file-{i}.evtx', 'wb').write(data)
        open(f'corpus/ingest/file-{i}.evtx', 'wb').write(data)
PY
fi
if command -v evtx_dump >/dev/null && [ -d "$corpus" ]; then
  i=0
  for f in $(find "$corpus" -name '*RDPClient*Operational.evtx' -o -name '*RemoteConnectionManager*Operational.evtx' | sort | head -4); do
    i=$((i + 1))
    evtx_dump -o jsonl "$f" 2>/dev/null | head -40 > "corpus/jsonl/evtx-dump-$i.jsonl" || true
    evtx_dump -o jsonl --separate-json-attributes "$f" 2>/dev/null | head -40 > "corpus/jsonl/evtx-dump-sep-$i.jsonl" || true
    cp "corpus/jsonl/evtx-dump-$i.jsonl" "corpus/ingest/evtx-dump-$i.jsonl"
  done
fi
for t in xml jsonl evtx ingest rule case text; do
  echo "$t: $(ls corpus/$t | wc -l) seeds"
done
