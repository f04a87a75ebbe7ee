#!/usr/bin/env bash
# Load figures for `mailvet serve`, measured with wrk.
#
#   scripts/load.sh            # 64 and 256 connections, 15 s each, 2 threads
#   LOAD_DURATION=30s LOAD_CONNECTIONS="64 256 512" scripts/load.sh
#   LOAD_BIN=/tmp/mailvet.before scripts/load.sh   # another build of the server
#   LOAD_ENDPOINTS=get LOAD_CONNECTIONS=256 scripts/load.sh
#
# What it does:
#   1. checks for wrk (installs it with apt-get when missing and run as root;
#      otherwise says how and stops) and curl;
#   2. builds the release binary and examples/load_dns.rs;
#   3. starts load_dns: the in-process test DNS server (tests/it/support)
#      serving fixtures/audit/healthy.zone and the fixtures/messages zones,
#      plus a freshly generated RSA-2048 DKIM key, and writes the fixture
#      newsletter signed with that key to $LOAD_OUT/message.eml;
#   4. starts `mailvet serve` against it with the per-client rate limit off
#      and the concurrency limit raised (--rate-limit 0 --max-concurrent
#      1024: wrk is one client IP and opens up to 256 connections; the
#      defaults, 120/min and 64, would answer most requests 429/503);
#   5. warms the DNS cache (one audit, one message), then runs wrk against
#      GET /v1/domains/healthy.test and POST /v1/messages (SPF, DKIM,
#      DMARC, iprev all pass) at each connection count;
#   6. prints a markdown table: requests/s, p50/p99 latency, non-2xx
#      answers and socket errors as wrk saw them; the mean time the server
#      spent per request and the 5xx answers, as the server counted them
#      (/metrics); the server's CPU use (% of one core, /proc/PID/stat);
#      and the server's peak RSS during the run (VmHWM from
#      /proc/PID/status, reset before each run).
#
# wrk runs on the same machine and takes CPU from the server; the figures
# are for both sharing the cores, unless LOAD_SERVER_CPUS and LOAD_WRK_CPUS
# (taskset CPU lists, e.g. 0 and 1) pin them apart. Everything started is
# stopped on exit.
set -euo pipefail

DURATION=${LOAD_DURATION:-15s}
THREADS=${LOAD_THREADS:-2}
CONNECTIONS=${LOAD_CONNECTIONS:-"64 256"}
# Which requests: get (the cached audit), post (a message report), or both.
ENDPOINTS=${LOAD_ENDPOINTS:-"get post"}
PORT=${LOAD_PORT:-18080}
OUT=${LOAD_OUT:-target/load}
# The server binary (built here unless given, e.g. to compare two builds).
BIN=${LOAD_BIN:-}
# Access log level of the server (info: one line per request, as deployed).
SERVE_LOG=${LOAD_SERVE_LOG:-info}
# taskset prefixes of the server and of wrk (none unless asked for).
SERVER_PIN=()
WRK_PIN=()
[ -n "${LOAD_SERVER_CPUS:-}" ] && SERVER_PIN=(taskset -c "$LOAD_SERVER_CPUS")
[ -n "${LOAD_WRK_CPUS:-}" ] && WRK_PIN=(taskset -c "$LOAD_WRK_CPUS")

cd "$(dirname "$0")/.."
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "load.sh: wrk not found; installing it with apt-get" >&2
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        echo "load.sh: wrk not found; install it (apt-get install wrk, brew install wrk)" >&2
        exit 1
    fi
fi
command -v curl >/dev/null || { echo "load.sh: curl not found" >&2; exit 1; }

if [ -n "$BIN" ]; then
    [ -e target/release/examples/load_dns ] ||
        cargo build --release --ignore-rust-version --example load_dns >&2
else
    cargo build --release --ignore-rust-version --bin mailvet --example load_dns >&2
    BIN=target/release/mailvet
fi

DNS_PID=
SERVE_PID=
cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    [ -n "$DNS_PID" ] && kill "$DNS_PID" 2>/dev/null && wait "$DNS_PID" 2>/dev/null
    true
}
trap cleanup EXIT

# shellcheck source=benches/common/load_dns.sh
. benches/common/load_dns.sh
start_load_dns "$OUT" load.sh

BASE=http://127.0.0.1:$PORT
MAILVET_LOG=$SERVE_LOG "${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --dns "$DNS" \
    --rate-limit 0 --max-concurrent 1024 >"$OUT/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do
    curl -fs "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "$BASE/readyz" >/dev/null || { echo "load.sh: server not ready" >&2; cat "$OUT/serve.log" >&2; exit 1; }

MESSAGE_QUERY='ip=192.0.2.10&helo=mail.msg.test&mail_from=bounce%40msg.test'
cat >"$OUT/post_message.lua" <<EOF
-- POST the signed fixture newsletter to /v1/messages.
local f = assert(io.open("$OUT/message.eml", "rb"))
wrk.method = "POST"
wrk.path = "/v1/messages?$MESSAGE_QUERY"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "message/rfc822"
f:close()
EOF

# Warm the cache, and check that both requests answer what they should.
for _ in 1 2 3; do
    curl -fs "$BASE/v1/domains/healthy.test" >"$OUT/domain.json"
    curl -fs -H 'Content-Type: message/rfc822' --data-binary "@$OUT/message.eml" \
        "$BASE/v1/messages?$MESSAGE_QUERY" >"$OUT/message.json"
done
for check in '"dmarc"' ; do
    grep -q "$check" "$OUT/domain.json" || { echo "load.sh: unexpected domain report" >&2; exit 1; }
done
grep -q 'dkim=pass' "$OUT/message.json" && grep -q 'dmarc=pass' "$OUT/message.json" ||
    { echo "load.sh: the message did not pass DKIM and DMARC:" >&2; head -c 2000 "$OUT/message.json" >&2; exit 1; }

# From /metrics: answers (all, non-2xx, 5xx) and, for /v1 routes, the
# seconds spent and the requests timed (server-side latency).
counts() {
    curl -fs "$BASE/metrics" | awk '
        /^mailvet_http_requests_total\{/ {
            match($0, /status="[0-9]+"/); s = substr($0, RSTART + 8, 3); n = $NF
            all += n; if (s !~ /^2/) bad += n; if (s ~ /^5/) five += n
        }
        /^mailvet_http_request_duration_seconds_sum\{route="\/v1/ { secs += $NF }
        /^mailvet_http_request_duration_seconds_count\{route="\/v1/ { timed += $NF }
        END { printf "%d %d %d %.6f %d\n", all, bad, five, secs, timed }'
}

# wrk's latency figures in ms.
ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.0f", v * 60000 }
        else { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    }'
}

LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=()
run() {
    local name=$1 conns=$2
    shift 2
    echo 5 >"/proc/$SERVE_PID/clear_refs" 2>/dev/null || true # reset VmHWM
    local before after slug f
    slug=$(printf '%s' "$name" | tr -c 'A-Za-z0-9.' '_')
    f=$OUT/wrk.$slug.$conns.txt
    before=$(counts)
    local cpu0 cpu1 t0 t1
    cpu0=$(awk '{print $14 + $15}' "/proc/$SERVE_PID/stat")
    t0=$(date +%s.%N)
    "${WRK_PIN[@]}" wrk -t"$THREADS" -c"$conns" -d"$DURATION" --timeout 10s --latency "$@" >"$f"
    after=$(counts)
    cpu1=$(awk '{print $14 + $15}' "/proc/$SERVE_PID/stat")
    t1=$(date +%s.%N)
    local cpu
    cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.0f", (b - a) / hz / (t1 - t0) * 100 }')
    local rps p50 p99 requests non2xx sockerr hwm
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")
    requests=$(awk '/requests in/ {print $1}' "$f")
    p50=$(ms "$(awk '$1 == "50%" {print $2}' "$f")")
    p99=$(ms "$(awk '$1 == "99%" {print $2}' "$f")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$f")
    sockerr=$(awk -F'[ ,]+' '/Socket errors:/ {print $4 + $6 + $8 + $10}' "$f")
    read -r b_all b_bad b_five b_secs b_timed <<<"$before"
    read -r a_all a_bad a_five a_secs a_timed <<<"$after"
    local server_ms
    server_ms=$(awk -v s="$a_secs" -v b="$b_secs" -v n="$a_timed" -v m="$b_timed" \
        'BEGIN { if (n > m) printf "%.2f", (s - b) * 1000 / (n - m); else print "-" }')
    hwm=$(awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$SERVE_PID/status")
    ROWS+=("| $name | $conns | $DURATION | ${requests:-0} | ${rps:-0} | $p50 | $p99 | $server_ms | $cpu | ${non2xx:-0} | $((a_five - b_five)) | ${sockerr:-0} | $hwm |")
    echo "load.sh: $name at $conns connections: ${rps} req/s, p50 $p50 ms, p99 $p99 ms," \
        "server mean $server_ms ms, server CPU $cpu%," \
        "non-2xx ${non2xx:-0}, 5xx $((a_five - b_five)) (server: $((a_all - b_all)) answers," \
        "$((a_bad - b_bad)) non-2xx), socket errors ${sockerr:-0}, peak RSS $hwm MB" >&2
}

for c in $CONNECTIONS; do
    case " $ENDPOINTS " in *" get "*) run "GET /v1/domains/healthy.test" "$c" "$BASE/v1/domains/healthy.test" ;; esac
done
for c in $CONNECTIONS; do
    case " $ENDPOINTS " in *" post "*) run "POST /v1/messages" "$c" -s "$OUT/post_message.lua" "$BASE" ;; esac
done

RSS_END=$(awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$SERVE_PID/status")
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores ($CPU), wrk $THREADS threads on the same machine;"
echo "server pinned to CPUs: ${LOAD_SERVER_CPUS:-none}, wrk pinned to CPUs: ${LOAD_WRK_CPUS:-none};"
echo "load average before the runs (other work on the machine): $LOADAVG_BEFORE;"
echo "mailvet serve --rate-limit 0 --max-concurrent 1024 (other limits default), MAILVET_LOG=$SERVE_LOG, cache warm."
echo
echo "| endpoint | connections | duration | requests | requests/s | p50 ms | p99 ms | server mean ms | server CPU % | non-2xx | 5xx | socket errors | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "RSS at the end: $RSS_END MB; raw wrk output in $OUT/wrk.*.txt"
