//! How a report leaves the CLI: `--format`, `--trace` and `--fail-on`, and
//! the exit code that follows from what was printed.
//!
//! This module decides the output formats a person or a CI system can ask
//! for, where GitHub Actions annotations go, and the exit codes 0, 1 and
//! 3 ([`exit_code`]). The renderers themselves are the `render` layer's.

use crate::findings::FailOn;
use crate::render::{self, Suite};
use clap::{Args, ValueEnum};
use std::process::ExitCode;

/// Output formats of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: grouped, worst first, with why and fix.
    Text,
    /// The same JSON the HTTP API returns.
    Json,
    /// JUnit XML: one testsuite per domain or message, one testcase per
    /// expectation and per finding (GitHub, GitLab and Jenkins render it).
    Junit,
    /// SARIF 2.1.0: rules from the finding catalog, one result per finding
    /// and per unmet expectation (GitHub code scanning reads it).
    Sarif,
}

/// The values `--fail-on` takes, each the engine's [`FailOn`] of the same
/// name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Error,
    Warning,
    Never,
}

impl From<FailOnArg> for FailOn {
    fn from(arg: FailOnArg) -> FailOn {
        match arg {
            FailOnArg::Error => FailOn::Error,
            FailOnArg::Warning => FailOn::Warning,
            FailOnArg::Never => FailOn::Never,
        }
    }
}

/// How a report is printed and when the run fails.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// text for people; json; junit (one testsuite per domain or message,
    /// one testcase per expectation and finding); sarif (SARIF 2.1.0).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Include every DNS query in the report.
    #[arg(long)]
    pub trace: bool,

    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOnArg,
}

impl OutputArgs {
    /// The `--fail-on` threshold.
    pub fn fail_on(&self) -> FailOn {
        self.fail_on.into()
    }

    /// Prints the reports (one JSON object, or an array for several; text
    /// one after another; JUnit and SARIF one document for all) and decides
    /// the exit code: 1 when a case of a report's suite fails.
    pub fn emit<R: serde::Serialize>(
        &self,
        reports: &[R],
        text: impl Fn(usize, &R) -> String,
        suite: impl Fn(usize, &R) -> Suite,
    ) -> ExitCode {
        let suites: Vec<Suite> = reports
            .iter()
            .enumerate()
            .map(|(i, r)| suite(i, r))
            .collect();
        let out = match (self.format, reports) {
            (Format::Json, [one]) => render::json(one),
            (Format::Json, many) => render::json(&many),
            (Format::Text, many) => many
                .iter()
                .enumerate()
                .map(|(i, r)| text(i, r))
                .collect::<Vec<_>>()
                .join("\n"),
            (Format::Junit | Format::Sarif, _) => String::new(),
        };
        self.print(&out, &suites)
    }

    /// Writes the report in the chosen format (`text` and `json` come
    /// rendered), GitHub annotations when running there, and returns the
    /// exit code.
    pub fn print(&self, rendered: &str, suites: &[Suite]) -> ExitCode {
        let annotations = if render::annotations::in_github_actions() {
            render::annotations::render(suites)
        } else {
            String::new()
        };
        match self.format {
            Format::Text => print!("{rendered}{annotations}"),
            Format::Json => print!("{rendered}"),
            Format::Junit => print!("{}", render::junit::render(suites)),
            Format::Sarif => print!("{}", render::sarif::render(suites)),
        }
        // Machine-readable output stays parseable; the runner reads
        // workflow commands from standard error too.
        if self.format != Format::Text {
            eprint!("{annotations}");
        }
        exit_code(suites)
    }
}

/// Exit code 1: a finding at or above `--fail-on`, or a broken expectation.
const EXIT_FAILED: u8 = 1;
/// Exit code 3: nothing failed, but a DNS lookup failed and left checks
/// undecided; the run says nothing either way and should be repeated.
const EXIT_UNDECIDED: u8 = 3;

/// How a run ends. A failure found among what was decided is 1 whatever
/// else is undecided (running again cannot make it pass); undecided alone
/// is 3, so a pipeline can retry it and still never passes it as 0.
fn exit_code(suites: &[Suite]) -> ExitCode {
    if suites.iter().any(|s| s.has(render::Outcome::Fail)) {
        ExitCode::from(EXIT_FAILED)
    } else if suites.iter().any(|s| s.has(render::Outcome::Error)) {
        ExitCode::from(EXIT_UNDECIDED)
    } else {
        ExitCode::SUCCESS
    }
}
