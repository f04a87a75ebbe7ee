#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the repository's fixtures. The corpora
# grow while fuzzing and stay out of git (fuzz/.gitignore).
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/message_report corpus/spf_record corpus/dmarc_record corpus/zone_file \
    corpus/header_flood corpus/signature_count

# Messages: every fixture .eml and conformance message, each with the
# envelope flag bytes 0x00 (all inferred) and 0x07 (IP, HELO, MAIL FROM given).
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    { printf '\x00'; cat "$f"; } >"corpus/message_report/eml-$n-inferred"
    { printf '\x07'; cat "$f"; } >"corpus/message_report/eml-$n-given"
    # header_flood and signature_count read their input as a generator's
    # choices: a message's bytes make one varied run of pieces each
    # (header_flood: envelope inferred, then given).
    { printf '\x00'; cat "$f"; } >"corpus/header_flood/eml-$n-inferred"
    { printf '\x01'; cat "$f"; } >"corpus/header_flood/eml-$n-given"
    cp "$f" "corpus/signature_count/eml-$n"
done < <(find "$root/fixtures" \( -name '*.eml' -o -name '*.msg' \) -print0)

# Zones: every fixture zone file.
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    cp "$f" "corpus/zone_file/zone-$n"
done < <(find "$root/fixtures" -name '*.zone' -print0)

# SPF and DMARC records: the TXT data in the fixture zones (quoted strings
# of one record joined, as a resolver hands them over), plus SPF and DMARC
# strings quoted in the conformance data and case files.
records() {
    find "$root/fixtures" \( -name '*.zone' -o -name '*.json' -o -name '*.yml' -o -name '*.yaml' -o -name '*.txt' \) -print0 |
        xargs -0 grep -ohi "\"v=$1[^\"]*\"" | sed 's/^"//; s/"$//' | sort -u
}
n=0
while IFS= read -r r; do
    n=$((n + 1))
    printf '%s' "$r" >"corpus/spf_record/spf-$n"
done < <(records spf1)
n=0
while IFS= read -r r; do
    n=$((n + 1))
    printf '%s' "$r" >"corpus/dmarc_record/dmarc-$n"
done < <(records DMARC1)

for t in message_report header_flood signature_count spf_record dmarc_record zone_file; do
    echo "$t: $(ls corpus/$t | wc -l) seeds"
done
