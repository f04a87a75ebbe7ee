#!/usr/bin/env bash
# Runs one already built fuzz target (fuzz/fuzz.sh build) for a fixed time,
# without the rebuild `cargo fuzz run` does first: useful when the tree
# keeps changing under a long session. Same corpus and artifact places as
# `cargo fuzz run`.
#
#   fuzz/run.sh spf_record 600     # seconds
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t=$1
secs=${2:-600}
[ -d "$here/corpus/$t" ] || "$here/seed.sh"
mkdir -p "$here/artifacts/$t"
exec "$here/target/x86_64-unknown-linux-gnu/release/$t" \
    -artifact_prefix="$here/artifacts/$t/" -max_total_time="$secs" -print_final_stats=1 \
    "$here/corpus/$t"
