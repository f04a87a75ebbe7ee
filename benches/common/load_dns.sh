# Sourced by benches/speed.sh and scripts/load.sh: starts the load DNS
# server (examples/load_dns.rs, built beforehand into
# target/release/examples/) and waits until it listens.
#
#   start_load_dns OUT_DIR CALLER
#
# The server writes OUT_DIR/message.eml, then its address to OUT_DIR/dns.out
# (its errors to OUT_DIR/dns.err). Sets DNS_PID (for the caller's cleanup)
# and DNS (127.0.0.1:PORT); when no address appears within 10 s, prints
# CALLER's complaint and the server's errors and exits 1.
start_load_dns() {
    local out=$1 caller=$2
    target/release/examples/load_dns "$out" >"$out/dns.out" 2>"$out/dns.err" &
    DNS_PID=$!
    for _ in $(seq 100); do
        grep -q '^dns ' "$out/dns.out" 2>/dev/null && break
        sleep 0.1
    done
    DNS=$(sed -n 's/^dns //p' "$out/dns.out")
    [ -n "$DNS" ] || {
        echo "$caller: load_dns did not start" >&2
        cat "$out/dns.err" >&2
        exit 1
    }
}
