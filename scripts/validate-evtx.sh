#!/usr/bin/env bash
# Checks every .evtx file under DIR with two independent readers: libevtx (evtxinfo, evtxexport)
# and python-evtx (Evtx.Evtx). Installs them when missing (Debian: apt-get, pip). When `evtx_dump`
# (the CLI of the Rust `evtx` crate rdptriage reads with: `cargo install evtx`) is on the PATH, it
# is a third reader: it must render every record as JSON without an error.
#
# Usage: scripts/validate-evtx.sh DIR        (e.g. samples/ — sub-folders are searched)
#
# The expected record count of a file comes from DIR/EXPECTED.tsv ("name<TAB>count", name
# relative to DIR) when it lists the file, else from a clean file header (next record id minus
# the first chunk's first record id). For a dirty header (flag 0x1, common in real logs, whose
# header lags behind) the readers only have to agree with each other. A file fails when a reader
# errors, prints to stderr, or counts a different number of records; python-evtx must also
# accept the file header and every chunk header (magic, CRCs) and see EventRecordIDs that go up
# by one.
#
# Produce writer output to check with:
#   RDPTRIAGE_WRITE_EVTX_DIR=/tmp/evtx-out cargo test --lib evtx_writer::tests::fixtures
#   scripts/validate-evtx.sh /tmp/evtx-out
set -euo pipefail

dir=${1:?usage: $0 DIR}
dir=${dir%/}
[[ -d $dir ]] || { echo "not a directory: $dir" >&2; exit 2; }

apt_updated=0
apt_install() {
    if [[ $apt_updated == 0 ]]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v evtxexport >/dev/null && command -v evtxinfo >/dev/null || apt_install libevtx-utils
python3 -c 'import Evtx.Evtx' 2>/dev/null || python3 -m pip install -q python-evtx

# python-evtx check of one file: prints the record count, raises on any problem.
read -r -d '' python_check <<'EOF' || true
import sys
import Evtx.Evtx as evtx

with evtx.Evtx(sys.argv[1]) as log:
    header = log.get_file_header()
    if not header.verify():
        sys.exit("file header rejected (magic, version 3.1, block size or CRC)")
    chunks = list(header.chunks())
    bad = [i for i, chunk in enumerate(chunks) if not chunk.verify()]
    if bad:
        sys.exit(f"chunks rejected (magic or CRC): {bad}")
    count, previous = 0, None
    for record in log.records():
        xml = record.xml()
        if "<Event " not in xml or "</Event>" not in xml:
            sys.exit(f"record {record.record_num()}: no Event element")
        if previous is not None and record.record_num() != previous + 1:
            sys.exit(f"record {record.record_num()} follows {previous}")
        previous = record.record_num()
        count += 1
    print(count)
EOF

# Expected record count of $1 (path) named $2 (relative to DIR); empty when unknown.
expected_count() {
    local from_manifest=""
    if [[ -f $dir/EXPECTED.tsv ]]; then
        from_manifest=$(awk -F'\t' -v name="$2" '$1 == name { print $2 }' "$dir/EXPECTED.tsv")
    fi
    if [[ -n $from_manifest ]]; then
        echo "$from_manifest"
    else
        python3 -c '
import struct, sys
data = open(sys.argv[1], "rb").read(4096 + 40)
dirty = struct.unpack_from("<I", data, 120)[0] & 1
next_id = struct.unpack_from("<Q", data, 24)[0]
first = struct.unpack_from("<Q", data, 4096 + 24)[0] if len(data) >= 4096 + 32 else next_id
print("" if dirty else next_id - first)' "$1"
    fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Only the Rust crate's evtx_dump counts: python-evtx installs a console script of the same name
# (a pyenv shim that may not even run), which is neither the reader we mean nor reliable.
have_evtx_dump=0
if command -v evtx_dump >/dev/null && evtx_dump --version 2>/dev/null | grep -q '^EVTX Parser'; then
    have_evtx_dump=1
fi
width=$(find "$dir" -type f -name '*.evtx' | awk -v d="$dir/" '{ n = length($0) - length(d); if (n > w) w = n } END { print (w > 44 ? w : 44) }')

failures=0
files=0
printf "%-${width}s %8s %8s %8s %8s %8s  %s\n" file expected evtxinfo evtxexp pyevtx evtxdump verdict
while IFS= read -r -d '' path; do
    files=$((files + 1))
    name=${path#"$dir"/}
    want=$(expected_count "$path" "$name")
    problems=()

    info_count=$(evtxinfo "$path" 2>"$tmp/info.err" | awk -F: '/Number of records/ { gsub(/[ \t]/, "", $2); print $2 }') \
        || problems+=("evtxinfo failed")
    [[ -s $tmp/info.err ]] && problems+=("evtxinfo: $(head -1 "$tmp/info.err")")

    if evtxexport -f xml "$path" >"$tmp/export.xml" 2>"$tmp/export.err"; then :; else
        problems+=("evtxexport exit $?")
    fi
    [[ -s $tmp/export.err ]] && problems+=("evtxexport: $(head -1 "$tmp/export.err")")
    grep -q 'Unable to export' "$tmp/export.xml" && problems+=("evtxexport: unable to export a record")
    export_count=$(grep -c '^<Event xmlns=' "$tmp/export.xml" || true)

    if py_count=$(python3 -c "$python_check" "$path" 2>"$tmp/py.err"); then :; else
        problems+=("python-evtx: $(tail -1 "$tmp/py.err")")
        py_count="-"
    fi

    dump_count="-"
    if ((have_evtx_dump)); then
        if evtx_dump -o jsonl "$path" >"$tmp/dump.jsonl" 2>"$tmp/dump.err"; then :; else
            problems+=("evtx_dump exit $?")
        fi
        [[ -s $tmp/dump.err ]] && problems+=("evtx_dump: $(head -1 "$tmp/dump.err")")
        dump_count=$(grep -c '^{' "$tmp/dump.jsonl" || true)
    fi

    [[ -n $want ]] || want=$info_count
    counts=("$info_count" "$export_count" "$py_count")
    ((have_evtx_dump)) && counts+=("$dump_count")
    for count in "${counts[@]}"; do
        [[ $count == "$want" ]] || { problems+=("count $count, expected $want"); break; }
    done
    verdict=ok
    if ((${#problems[@]})); then
        verdict="FAIL: ${problems[*]}"
        failures=$((failures + 1))
    fi
    printf "%-${width}s %8s %8s %8s %8s %8s  %s\n" "$name" "$want" "${info_count:--}" "$export_count" "$py_count" "$dump_count" "$verdict"
done < <(find "$dir" -type f -name '*.evtx' -print0 | sort -z)

if ((files == 0)); then
    echo "no .evtx files under $dir" >&2
    exit 1
fi
echo "$files files, $failures failed"
((failures == 0))
