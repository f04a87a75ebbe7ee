//! The `mailvet` binary: parses the command line, sets up logging and
//! hands the command to the library.

use mailvet::cli::Cli;
use mailvet::cli::serve::LogFormat;
use mailvet::render::workflow_guard::{RunnerWriter, Syntax};
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
    // Dropped last: writes out the log lines still queued.
    let _log_writer = init_logging(cli.log_format());
    mailvet::cli::run(cli)
}

/// Log lines waiting for the writer thread at most (about 4 MB of lines).
const QUEUED_LOG_LINES: usize = 16_384;

/// Log lines go to standard error at the level of `MAILVET_LOG` (`info`
/// by default, or any `tracing` filter such as `mailvet=debug`).
///
/// They are written by a thread of their own, through a buffer flushed
/// whenever no line is waiting: a server's access log is a line per
/// request, and written where it is made it cost each request a system
/// call on the thread answering it. A line is never dropped: when the
/// queue is full (standard error blocked), logging waits, as a direct
/// write would. The guard returned flushes what is queued when dropped.
/// On a GitHub Actions runner each line is [`RunnerWriter`]'s, so text a
/// line quotes cannot start a workflow command.
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAILVET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LOG_LINES)
        .thread_name("mailvet-log")
        .finish(RunnerWriter::new(
            std::io::BufWriter::new(std::io::stderr()),
            match format {
                LogFormat::Text => Syntax::Text,
                LogFormat::Json => Syntax::Json,
            },
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
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
    guard
}
