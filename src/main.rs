//! The `mailvet` binary: parses the command line, sets up logging and
//! hands the command to the library.

use mailvet::cli::Cli;
use mailvet::cli::serve::LogFormat;
use std::io::IsTerminal;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a message report makes many
/// small, short-lived allocations, and with glibc malloc they cost about a
/// quarter of the CPU time (benches/message_throughput.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // mimalloc commits its arena whole on Linux, and where transparent
    // huge pages are on ("always") the kernel backs each part touched with
    // a 2 MiB page: a `reports import` of a 22,860-record report peaked
    // at 35 MB resident, 20 MB with 4 KiB pages. No path here gains from
    // huge pages; asked before anything is touched, so nothing is backed
    // by one.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only changes this process's
    // flag; its result is ignored, as an old kernel without it changes
    // nothing either.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    let cli = Cli::from_env();
    init_logging(cli.log_format());
    mailvet::cli::run(cli)
}

/// Log lines go to standard error at the level of `MAILVET_LOG` (`info`
/// by default, or any `tracing` filter such as `mailvet=debug`).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAILVET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            builder
                .with_ansi(!no_color && std::io::stderr().is_terminal())
                .init();
        }
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
