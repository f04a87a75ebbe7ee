#!/usr/bin/env bash
# cargo +nightly fuzz, with --ignore-rust-version added to its cargo build.
#
#   fuzz/fuzz.sh run spf_record -- -max_total_time=600
#   fuzz/fuzz.sh build
#
# mail-parser 1.0 declares rust-version 1.98, newer than the toolchains
# here, and cargo-fuzz has no way to pass --ignore-rust-version to the
# `cargo build` it runs (CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS only
# affects version resolution, not this check). So a `cargo` shim placed
# first on PATH adds the flag to `cargo build` and runs the real cargo
# (rustup's proxy, which keeps the +nightly toolchain) for everything else.
# With a toolchain >= 1.98, plain `cargo +nightly fuzz ...` works as well.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
real=$(command -v cargo)
shim=$here/target/shim
mkdir -p "$shim"
cat >"$shim/cargo" <<SHIM
#!/bin/sh
if [ "\$1" = build ]; then exec "$real" "\$@" --ignore-rust-version; fi
exec "$real" "\$@"
SHIM
chmod +x "$shim/cargo"
[ -d "$here/corpus" ] || "$here/seed.sh"
cd "$here/.."
PATH=$shim:$PATH exec "$real" +nightly fuzz "$@"
