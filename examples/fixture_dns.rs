//! Serves fixture zone files from the test DNS server of the test suite
//! (tests/it/support: hickory-server on 127.0.0.1, UDP and TCP on one port)
//! until killed, so a `mailvet serve --dns` started by hand or by
//! `.ci/run` (schemathesis) asks it and nothing on the network.
//!
//! ```text
//! cargo run --ignore-rust-version --example fixture_dns -- fixtures/audit/healthy.zone …
//! ```
//!
//! With no argument it serves every zone of fixtures/audit,
//! fixtures/messages and fixtures/web. It prints `listening 127.0.0.1:PORT` once ready.

// The tests' support module, for its test DNS server; the tests use all of
// it, this binary only a part.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

/// Every zone the default world is made of.
fn default_zones() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["fixtures/audit", "fixtures/messages", "fixtures/web"]
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{dir}: {e} (run from the repository root)"))
        })
        .map(|e| e.expect("directory entry").path())
        // The overlay zone repeats a name of spf.zone; it is for --zone.
        .filter(|p| p.extension().is_some_and(|x| x == "zone") && !p.ends_with("spf-overlay.zone"))
        .collect();
    files.sort();
    files
}

#[tokio::main]
async fn main() {
    let mut files: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        files = default_zones();
    }
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let dns = support::TestDns::start(&paths).await;
    println!("listening {}", dns.addr);
    std::io::stdout().flush().expect("stdout");
    eprintln!("serving {} zone files; stop with Ctrl-C", files.len());
    let _ = tokio::signal::ctrl_c().await;
}
