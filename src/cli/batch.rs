//! How one invocation runs a batch — many message files, or many domains:
//! every input shares the command's one DNS cache (built by its
//! [`super::dns::DnsArgs`]), at most `--concurrency` run at once, and
//! each report is handed on as it finishes.
//!
//! This module decides the order and the failure rules of a batch: inputs
//! start in the order given and finish in any order; an input that cannot
//! be read or checked is reported on its own and the rest still run (the
//! command then exits 2, after everything else is printed); and a person
//! watching a long batch on a terminal sees a progress bar on standard
//! error, while a pipe or a CI log gets nothing extra. What each finished
//! report becomes is [`super::output::Batch`]'s.

use super::values::count;
use clap::Args;
use futures_util::{FutureExt, StreamExt, stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::future::Future;
use std::io::IsTerminal;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// Inputs checked at once; they share one DNS cache, so a question
    /// asked for one file or domain is answered from it for the others.
    /// Default: 64 domains, or 4 messages per core.
    #[arg(long, value_name = "N", value_parser = count(4096))]
    pub concurrency: Option<usize>,
}

/// Entries of a command's DNS cache: within one invocation each question
/// is asked once (an SPF include shared by many domains, a key shared by
/// many messages), for as long as its TTL allows.
pub const CACHE_ENTRIES: usize = 100_000;

/// One input's end: its name (the file or domain, as given) and its
/// report, or why it has none.
pub struct Done<R> {
    /// Its place among the inputs.
    pub index: usize,
    pub name: String,
    pub result: Result<R, String>,
    /// Whether other inputs have finished and wait right behind this one
    /// (output can then be written in one go with theirs).
    pub more: bool,
}

/// A batch not shown a bar until it has run this long.
const QUIET_START: Duration = Duration::from_secs(1);

/// Runs `work` over `inputs` (each with its name), at most `concurrency`
/// at once, and calls `each` on every input as it finishes.
///
/// Each input's work is a task of its own, so the runtime's worker
/// threads share the checking (signature verification is CPU work);
/// polled inside this one future, every check would run on the thread
/// that awaits the batch, one core of however many.
pub async fn run<I, R, Fut>(
    inputs: Vec<(String, I)>,
    concurrency: usize,
    work: impl Fn(I) -> Fut,
    mut each: impl FnMut(Done<R>),
) where
    Fut: Future<Output = Result<R, String>> + Send + 'static,
    R: Send + 'static,
{
    let bar = progress(inputs.len());
    let mut finished = stream::iter(inputs.into_iter().enumerate())
        .map(|(index, (name, input))| {
            let task = tokio::spawn(work(input));
            async move {
                let result = task
                    .await
                    .unwrap_or_else(|e| Err(format!("the check stopped: {e}")));
                Done {
                    index,
                    name,
                    result,
                    more: false,
                }
            }
        })
        .buffer_unordered(concurrency.max(1));
    let mut ready = finished.next().await;
    while let Some(mut done) = ready {
        bar.inc(1);
        // Ready now (Some), the end (Some(None)) or still running (None).
        let behind = finished.next().now_or_never();
        done.more = matches!(behind, Some(Some(_)));
        each(done);
        ready = match behind {
            Some(next) => next,
            None => finished.next().await,
        };
    }
    bar.finish_and_clear();
}

/// The progress bar of a batch of `total` inputs: drawn on standard error
/// only when it is a terminal, and only once the batch has run for
/// [`QUIET_START`] (a short batch never flashes one).
fn progress(total: usize) -> ProgressBar {
    if total < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style);
    }
    let shown = bar.clone();
    tokio::spawn(async move {
        tokio::time::sleep(QUIET_START).await;
        if !shown.is_finished() {
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(200));
        }
    });
    bar
}
