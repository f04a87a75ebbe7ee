#!/usr/bin/env bash
# The test inbox's benchmark: a `mailvet serve --smtp` (release build, a
# fresh SQLite store, the fixture DNS server serving fixtures/web) receives
# the signed newsletter of fixtures/web, first one message at a time, then
# from many sessions at once (benches/smtp_inbox.py says how each is
# timed). Targets: the report ready at most 2 s after the final `.` (p95,
# loopback, fixture DNS), and 100 sessions at once on 2 cores under 200 MB
# peak RSS of the serve process.
#
# Run from anywhere: benches/smtp_inbox.sh
#   MESSAGES=N    messages one after another (default 50)
#   SESSIONS=N    sessions at once (default 100)
#   MAILVET_BIN=P the binary (default target/release/mailvet, built here)
set -euo pipefail
cd "$(dirname "$0")/.."

messages=${MESSAGES:-50}
sessions=${SESSIONS:-100}
bin=${MAILVET_BIN:-target/release/mailvet}
if [[ -z ${MAILVET_BIN:-} ]]; then
    cargo build --quiet --release --ignore-rust-version --bin mailvet
fi
cargo build --quiet --ignore-rust-version --example fixture_dns

scratch=$(mktemp -d target/bench-smtp.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

target/debug/examples/fixture_dns fixtures/web/*.zone > "$scratch/dns.out" 2> "$scratch/dns.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$scratch/dns.out" && break; sleep 0.1; done
dns=$(awk '/listening/ { print $2 }' "$scratch/dns.out")

http_port=$(free_port)
smtp_port=$(free_port)
"$bin" serve --listen "127.0.0.1:$http_port" --dns "$dns" --data-dir "$scratch/data" \
    --rate-limit 0 --smtp "127.0.0.1:$smtp_port" --inbox-domain inbox.web.test \
    --smtp-proxy-from 127.0.0.1 > "$scratch/serve.log" 2>&1 &
serve=$!
pids+=("$serve")
for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$http_port/readyz" > /dev/null && break
    sleep 0.1
done

echo "load: $(uptime | sed 's/.*load average/load average/')   cores: $(nproc)"
python3 benches/smtp_inbox.py "http://127.0.0.1:$http_port" "$smtp_port" "$serve" \
    "$messages" "$sessions"
echo "load: $(uptime | sed 's/.*load average/load average/')"
