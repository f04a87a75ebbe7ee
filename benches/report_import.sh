#!/usr/bin/env bash
# The import benchmark of DMARC aggregate reports: one 22,860-record,
# 9.85 MB aggregate report (generated deterministically by the
# report_parse bench into target/bench-reports/) imported by a whole
# `mailvet reports import` process — read, parsed, written to a fresh
# SQLite store with its selectors — and, in the same run on the same file,
# parsedmarc's parse_report_file (offline, no downloads) in its own Python
# process. Each is measured with /usr/bin/time -v: wall clock and peak
# resident set size. The targets: at most 0.5 s and 32 MB for mailvet, at
# least 12x faster than parsedmarc and at most 0.12x its memory.
#
# Run from anywhere: benches/report_import.sh
#   RUNS=N               runs of each (default 5; parsedmarc at most 3),
#                        the median time and the largest peak are shown
#   PARSEDMARC_PYTHON=P  a Python with parsedmarc (default
#                        target/parsedmarc-venv/bin/python; make it with
#                        python3 -m venv target/parsedmarc-venv &&
#                        target/parsedmarc-venv/bin/pip install parsedmarc)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
python=${PARSEDMARC_PYTHON:-target/parsedmarc-venv/bin/python}

cargo build --quiet --release --ignore-rust-version --bin mailvet
# The report_parse bench writes the report once; its release build (with
# the dev-dependencies) is skipped when the report is already there.
file=target/bench-reports/aggregate-22860.xml
if [ ! -e "$file" ]; then
    file=$(REPORT_BENCH_GENERATE_ONLY=1 cargo bench --quiet --ignore-rust-version \
        --bench report_parse 2>/dev/null | tail -n 1)
fi
scratch=$(mktemp -d target/bench-import.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# Runs a command under /usr/bin/time -v; prints "seconds kilobytes".
timed() {
    /usr/bin/time -v -o "$scratch/time" "$@" > "$scratch/out"
    awk -F': ' '
        /Elapsed \(wall clock\)/ {
            n = split($2, part, ":"); s = 0
            for (i = 1; i <= n; i++) s = s * 60 + part[i]
        }
        /Maximum resident set size/ { kb = $2 }
        END { printf "%.3f %d\n", s, kb }' "$scratch/time"
}

# Prints "median-seconds peak-MB" of the lines "seconds kilobytes" read.
summary() {
    sort -n | awk '{ t[NR] = $1; if ($2 > peak) peak = $2 }
        END { printf "%.3f %.1f\n", t[int((NR + 1) / 2)], peak / 1024 }'
}

echo "report: $file ($(wc -c < "$file") bytes)"
for ((i = 0; i < runs; i++)); do
    rm -f "$scratch"/import.db*
    timed target/release/mailvet reports import "$file" --format json \
        --database "sqlite://$scratch/import.db"
    grep -q '"records": 22860' "$scratch/out" || {
        echo "the import did not store 22,860 records:" >&2
        cat "$scratch/out" >&2
        exit 1
    }
done | summary > "$scratch/mailvet"
read -r ours_s ours_mb < "$scratch/mailvet"
printf '%-22s %8s s %8s MB\n' "mailvet reports import" "$ours_s" "$ours_mb"

if "$python" -c 'import parsedmarc' 2> /dev/null; then
    version=$("$python" -c 'import parsedmarc; print(parsedmarc.__version__)')
    for ((i = 0; i < (runs < 3 ? runs : 3); i++)); do
        timed "$python" -c '
import sys, parsedmarc
report = parsedmarc.parse_report_file(sys.argv[1], offline=True, always_use_local_files=True)
print(len(report["report"]["records"]))' "$file"
    done | summary > "$scratch/parsedmarc"
    read -r theirs_s theirs_mb < "$scratch/parsedmarc"
    printf '%-22s %8s s %8s MB\n' "parsedmarc $version" "$theirs_s" "$theirs_mb"
    awk -v a="$ours_s" -v b="$theirs_s" -v m="$ours_mb" -v n="$theirs_mb" \
        'BEGIN { printf "mailvet: %.1fx faster, %.3fx the peak memory\n", b / a, m / n }'
else
    echo "parsedmarc: not found (set PARSEDMARC_PYTHON or make target/parsedmarc-venv)"
fi
