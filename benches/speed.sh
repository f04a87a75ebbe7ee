#!/usr/bin/env bash
# The figures of the speed issue, one sub-command each (README: "Speed").
#
#   benches/speed.sh audit    # domain audits at 50 ms per answer: round trips
#                             # over depth per fixture domain; then 40 domains
#                             # at 20 ms per answer as one batch (criterion-less
#                             # bench benches/domain_audit.rs)
#   benches/speed.sh report   # messages/s through report::report and through
#                             # POST /v1/messages in process
#                             # (benches/message_throughput.rs, modes 2 and 3)
#   benches/speed.sh cli      # `mailvet message DIR` over SPEED_FILES (1,000)
#                             # signed files as a whole process against a DNS
#                             # server on 127.0.0.1, beside mailauth (Node)
#                             # with a DNS cache over the same files and server
#   benches/speed.sh http     # wrk against `mailvet serve`: cached GET
#                             # /v1/domains/healthy.test and POST /v1/messages,
#                             # the server on CPU 0 and wrk on CPU 1 (taskset),
#                             # at 64 and 256 connections (scripts/load.sh)
#   benches/speed.sh memory   # peak RSS of `mailvet message DIR --format jsonl`
#                             # over SPEED_MANY (100,000) messages
#   benches/speed.sh all      # every one of the above, in that order
#
# Every sub-command prints the load average when it starts: figures taken
# on a busy machine say so. The machine is described by `nproc` and
# /proc/cpuinfo in each output. Work files go to SPEED_OUT (target/speed);
# mailauth is installed there with npm the first time (`npm install
# mailauth`, the registry must be reachable). Needs: cargo, curl, node and
# npm (cli), wrk and taskset (http; wrk is installed with apt-get when run
# as root), python3 and GNU time (memory).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${SPEED_OUT:-target/speed}
FILES=${SPEED_FILES:-1000}
MANY=${SPEED_MANY:-100000}
CONCURRENCY=${SPEED_CONCURRENCY:-32}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

IP=192.0.2.10
HELO=mail.msg.test
MAIL_FROM=bounce@msg.test

machine() {
    echo "machine: $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

DNS_PID=
cleanup() {
    if [ -n "$DNS_PID" ]; then kill "$DNS_PID" 2>/dev/null && wait "$DNS_PID" 2>/dev/null; fi
    true
}
trap cleanup EXIT

# shellcheck source=common/load_dns.sh
. benches/common/load_dns.sh

# Builds and starts examples/load_dns.rs (the test DNS server with the
# message fixture zones and a fresh RSA-2048 key; it writes
# $OUT/message.eml signed with it) and sets DNS to its address.
start_dns() {
    cargo build --release --ignore-rust-version --bin mailvet --example load_dns >&2
    start_load_dns "$OUT" speed.sh
}

# $1 signed files in directory $2: the signed message with an unsigned
# `X-Speed-Seq` field on top, so each file differs and every signature
# still verifies. With $3 = links, only 1,000 distinct files are written
# and the rest are hard links to them (100,000 files without 1.5 GB).
corpus() {
    local n=$1 dir=$2 mode=${3:-copies}
    if [ -f "$dir/.count" ] && [ "$(cat "$dir/.count")" = "$n" ] && [ "$dir/.count" -nt "$OUT/message.eml" ]; then
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    local distinct=$n
    [ "$mode" = links ] && [ "$n" -gt 1000 ] && distinct=1000
    for i in $(seq -w 1 "$distinct"); do
        { printf 'X-Speed-Seq: %s\r\n' "$i"; cat "$OUT/message.eml"; } >"$dir/m$i.eml"
    done
    if [ "$distinct" -lt "$n" ]; then
        # One process for the links: a fork per link would take minutes.
        python3 - "$dir" "$distinct" "$n" <<'PY'
import os, sys
d, distinct, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
width = len(str(distinct))
for i in range(distinct + 1, n + 1):
    source = str((i - 1) % distinct + 1).zfill(width)
    os.link(f"{d}/m{source}.eml", f"{d}/l{i}.eml")
PY
    fi
    echo "$n" >"$dir/.count"
}

# Runs a command (output in $OUT/LABEL.stdout and .stderr), prints its
# wall seconds and peak RSS (MB) on one line and keeps them in TOOK and
# PEAK_MB.
measure() {
    local label=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%M' -o "$OUT/time.out" "$@" >"$OUT/$label.stdout" 2>"$OUT/$label.stderr" || true
    else
        "$@" >"$OUT/$label.stdout" 2>"$OUT/$label.stderr" || true
        echo 0 >"$OUT/time.out"
    fi
    t1=$(date +%s.%N)
    TOOK=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    PEAK_MB=$(awk -v kb="$(tail -1 "$OUT/time.out")" 'BEGIN { printf "%.0f", kb / 1024 }')
    echo "$label: $TOOK s, peak RSS $PEAK_MB MB"
}

audit() {
    machine
    cargo bench --ignore-rust-version --bench domain_audit
}

report() {
    machine
    MSGBENCH_ONLY=${MSGBENCH_ONLY:-2,3} cargo bench --ignore-rust-version --bench message_throughput
}

cli() {
    machine
    start_dns
    corpus "$FILES" "$OUT/files"
    measure mailvet target/release/mailvet message "$OUT/files" --dns "$DNS" \
        --ip "$IP" --helo "$HELO" --mail-from "$MAIL_FROM" --format jsonl
    local lines pass signed
    lines=$(wc -l <"$OUT/mailvet.stdout")
    pass=$(grep -c 'dmarc=pass' "$OUT/mailvet.stdout" || true)
    # DMARC also passes through SPF alone: count the verified signatures
    # too, so a corpus signed with another key cannot pass unnoticed.
    signed=$(grep -c 'dkim=pass' "$OUT/mailvet.stdout" || true)
    echo "mailvet $lines reports ($pass with dmarc=pass, $signed with dkim=pass) in $TOOK s:" \
        "$(awk -v n="$lines" -v s="$TOOK" 'BEGIN { printf "%.0f", n / s }') messages/s (whole process)"
    if [ ! -d "$OUT/node/node_modules/mailauth" ]; then
        mkdir -p "$OUT/node"
        (cd "$OUT/node" && npm install --silent --no-audit --no-fund mailauth >&2)
    fi
    NODE_PATH="$OUT/node/node_modules" node benches/speed/mailauth_batch.js \
        "$OUT/files" "$DNS" "$CONCURRENCY" "$IP" "$HELO" "$MAIL_FROM"
}

http() {
    machine
    LOAD_SERVER_CPUS=${LOAD_SERVER_CPUS:-0} LOAD_WRK_CPUS=${LOAD_WRK_CPUS:-1} \
        LOAD_OUT="$OUT/load" scripts/load.sh
}

memory() {
    machine
    start_dns
    corpus "$MANY" "$OUT/many" links
    measure many target/release/mailvet message "$OUT/many" \
        --dns "$DNS" --ip "$IP" --helo "$HELO" --mail-from "$MAIL_FROM" --format jsonl
    echo "mailvet message $MANY files --format jsonl: $(wc -l <"$OUT/many.stdout") reports," \
        "peak RSS $PEAK_MB MB (target < 100 MB)"
}

case "${1:-}" in
audit | report | cli | http | memory) "$1" ;;
all)
    audit
    report
    cli
    cleanup
    DNS_PID=
    http
    memory
    ;;
*)
    sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
