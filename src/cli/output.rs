//! How a report leaves the CLI: `--format`, `--trace` and `--fail-on`, and
//! the exit code that follows from what was printed.
//!
//! This module decides the output formats a person or a CI system can ask
//! for, where GitHub Actions annotations go, and the exit codes 0, 1 and
//! 3 ([`exit_code`]). The renderers themselves are the `render` layer's.
//!
//! Everything the CLI writes to standard output, and its own error and
//! warning lines on standard error, goes out through [`stdout`] and
//! [`stderr_line`]: under GitHub Actions, through the workflow guard
//! ([`render::workflow_guard`]), so a record or a file quoted there
//! cannot start a workflow command. The annotations alone are written
//! past it.
//!
//! A write that fails never panics. When the reader of standard output
//! leaves (a broken pipe: `| head` read what it wanted), the rest is
//! dropped unsaid and the exit code is the report's; any other failure (a
//! full disk) is kept, and the run ends with it on standard error and
//! exit 2 ([`unwritten`]).

use crate::findings::FailOn;
use crate::render::workflow_guard::{self, Syntax};
use crate::render::{self, Suite};
use clap::{Args, ValueEnum};
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

/// Output formats of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: grouped, worst first, with why and fix.
    Text,
    /// The same JSON the HTTP API returns.
    Json,
    /// One line of JSON per input, written as each finishes (completion
    /// order): `{"input": NAME, "report": …}` or `{"input": NAME, "error":
    /// …}`, so a batch of any size streams and is never held whole.
    Jsonl,
    /// JUnit XML: one testsuite per domain or message, one testcase per
    /// expectation and per finding (GitHub, GitLab and Jenkins render it).
    Junit,
    /// SARIF 2.1.0: rules from the finding catalog, one result per finding
    /// and per unmet expectation (GitHub code scanning reads it). Each
    /// result points at a file (a config, zone, list or message file): not
    /// for `spf`, standard input, or a domain named only on the command
    /// line (list it with --file, or give its --zone).
    Sarif,
}

impl Format {
    /// The syntax the workflow guard writes in.
    fn syntax(self) -> Syntax {
        match self {
            Format::Text => Syntax::Text,
            Format::Json | Format::Jsonl | Format::Sarif => Syntax::Json,
            Format::Junit => Syntax::Xml,
        }
    }
}

/// Writes `text` to standard output, through the workflow guard in
/// `syntax`.
pub fn stdout(text: &str, syntax: Syntax) {
    write_stdout(workflow_guard::for_runner(text, syntax).as_bytes());
}

fn write_stdout(bytes: &[u8]) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        not_written(e);
    }
}

/// Why standard output took no more, unless its reader left.
static UNWRITTEN: OnceLock<String> = OnceLock::new();

/// Keeps the first failure to write standard output, other than a broken
/// pipe.
fn not_written(error: io::Error) {
    if error.kind() != io::ErrorKind::BrokenPipe {
        let _ = UNWRITTEN.set(error.to_string());
    }
}

/// Why the report did not reach standard output, when it did not (the
/// run then exits 2).
pub fn unwritten() -> Option<&'static str> {
    UNWRITTEN.get().map(String::as_str)
}

/// Writes one line of mailvet's own (an error or a warning, which may
/// quote input) to standard error, through the workflow guard.
pub fn stderr_line(line: &str) {
    let line = workflow_guard::for_runner(line, Syntax::Text);
    stderr(&format!("{line}\n"));
}

/// Writes to standard error; with nowhere left to say a failure, it is
/// dropped.
fn stderr(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
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
    /// text for people; json; jsonl (a line per input as it finishes);
    /// junit (one testsuite per domain or message, one testcase per
    /// expectation and finding); sarif (SARIF 2.1.0).
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

    /// Refuses `--format sarif` when `unlocated` names an input no result
    /// could point at a file for: GitHub code scanning rejects the whole
    /// log when one result has no location, so such a log would look
    /// uploadable and fail only there.
    pub fn refuse_unlocated_sarif(&self, unlocated: Option<&str>) -> Result<(), String> {
        match unlocated {
            Some(input) if self.format == Format::Sarif => Err(format!(
                "--format sarif: {input} is in no file a result could point at, and GitHub \
                 code scanning refuses a result without a file; use --format junit or json"
            )),
            _ => Ok(()),
        }
    }

    /// Prints the reports of `inputs` inputs, each with the name of its
    /// input (one JSON object for one input, an array for several, even
    /// when only one had a report; a jsonl line per input; text one
    /// after another; JUnit and SARIF one document for all) and decides
    /// the exit code: 1 when a case of a report's suite fails.
    /// `unread` are the suites of the inputs that had no report, which
    /// JUnit lists too.
    pub fn emit<R: serde::Serialize>(
        &self,
        inputs: usize,
        reports: &[(String, R)],
        unread: &[Suite],
        text: impl Fn(&str, &R) -> String,
        suite: impl Fn(&str, &R) -> Suite,
    ) -> ExitCode {
        let suites: Vec<Suite> = reports.iter().map(|(n, r)| suite(n, r)).collect();
        let out = match (self.format, reports) {
            // One input, one object; several inputs an array, even when
            // all but one had no report (said on standard error).
            (Format::Json, [(_, one)]) if inputs == 1 => render::json(one),
            (Format::Json, many) => render::json(&many.iter().map(|(_, r)| r).collect::<Vec<_>>()),
            (Format::Jsonl, many) => many.iter().map(|(n, r)| json_line(n, Ok(r))).collect(),
            (Format::Text, many) => many
                .iter()
                .map(|(n, r)| text(n, r))
                .collect::<Vec<_>>()
                .join("\n"),
            (Format::Junit | Format::Sarif, _) => String::new(),
        };
        self.print_with(&out, &suites, unread)
    }

    /// Writes the report in the chosen format (`text` and `json` come
    /// rendered), GitHub annotations when running there, and returns the
    /// exit code.
    pub fn print(&self, rendered: &str, suites: &[Suite]) -> ExitCode {
        self.print_with(rendered, suites, &[])
    }

    /// [`OutputArgs::print`], JUnit listing the `unread` inputs' suites
    /// after the others (the exit code is decided without them).
    fn print_with(&self, rendered: &str, suites: &[Suite], unread: &[Suite]) -> ExitCode {
        let annotations = if render::annotations::in_github_actions() {
            render::annotations::render(suites)
        } else {
            String::new()
        };
        let report = match self.format {
            Format::Text | Format::Json | Format::Jsonl => rendered.to_string(),
            Format::Junit => render::junit::render(&[suites, unread].concat()),
            Format::Sarif => render::sarif::render(suites),
        };
        stdout(&report, self.format.syntax());
        // After the text report; machine-readable output stays parseable,
        // and the runner reads workflow commands from standard error too.
        if self.format == Format::Text {
            write_stdout(annotations.as_bytes());
        } else {
            stderr(&annotations);
        }
        exit_code(Verdicts::of(suites))
    }
}

/// One line of `--format jsonl`: the report, or the error, of an input.
fn json_line<R: serde::Serialize>(input: &str, result: Result<&R, &str>) -> String {
    #[derive(serde::Serialize)]
    struct Line<'a, R> {
        input: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        report: Option<&'a R>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
    }
    let (report, error) = match result {
        Ok(report) => (Some(report), None),
        Err(error) => (None, Some(error)),
    };
    render::json_line(&Line {
        input,
        report,
        error,
    })
}

/// The reports of a batch, taken as they finish ([`super::batch`]): with
/// `--format jsonl` each is written at once and dropped, keeping only
/// whether it failed; with any other format they are kept and written
/// together, in input order, when the batch is done. An input without a
/// report is said on standard error (jsonl: on its own line) and makes the
/// run exit 2 once everything else is written.
///
/// jsonl lines are gathered in a buffer that goes out whenever no other
/// finished input is waiting behind the one just written: a fast batch
/// writes in large blocks instead of a system call per line, a slow one
/// still shows each line as soon as it is done.
pub struct Batch<'a, R> {
    output: &'a OutputArgs,
    /// Per input, in input order: its name and report (not with jsonl).
    kept: Vec<Option<(String, R)>>,
    /// jsonl lines not yet written.
    lines: std::io::BufWriter<std::io::Stdout>,
    /// Whether standard output stopped taking lines.
    unwritten: bool,
    verdicts: Verdicts,
    errors: usize,
    /// Per input without a report (not with jsonl): its index, name and
    /// why.
    unread: Vec<(usize, String, String)>,
}

impl<'a, R: serde::Serialize> Batch<'a, R> {
    pub fn new(output: &'a OutputArgs, inputs: usize) -> Batch<'a, R> {
        let streamed = output.format == Format::Jsonl;
        Batch {
            output,
            kept: (0..if streamed { 0 } else { inputs })
                .map(|_| None)
                .collect(),
            lines: std::io::BufWriter::with_capacity(LINE_BUFFER, std::io::stdout()),
            unwritten: false,
            verdicts: Verdicts::default(),
            errors: 0,
            unread: Vec::new(),
        }
    }

    /// Writes one jsonl line, and everything buffered unless `more` inputs
    /// are finished and waiting.
    fn line(&mut self, line: &str, more: bool) {
        if self.unwritten {
            return;
        }
        let line = workflow_guard::for_runner(line, Syntax::Json);
        let written = self.lines.write_all(line.as_bytes());
        let flushed = written.and_then(|()| if more { Ok(()) } else { self.lines.flush() });
        if let Err(e) = flushed {
            self.unwritten = true;
            not_written(e);
        }
    }

    /// Takes one finished input; `suite` is its report's suite (for the
    /// exit code and the CI formats).
    pub fn add(&mut self, done: super::batch::Done<R>, suite: impl Fn(&str, &R) -> Suite) {
        let super::batch::Done {
            index,
            name,
            result,
            more,
        } = done;
        match result {
            Ok(report) => {
                if self.output.format == Format::Jsonl {
                    let suite = suite(&name, &report);
                    self.verdicts.add(&suite);
                    self.line(&json_line(&name, Ok(&report)), more);
                    // As the other formats write them, on standard error.
                    if render::annotations::in_github_actions() {
                        stderr(&render::annotations::render(&[suite]));
                    }
                } else if let Some(slot) = self.kept.get_mut(index) {
                    *slot = Some((name, report));
                }
            }
            Err(error) => {
                self.errors += 1;
                if self.output.format == Format::Jsonl {
                    self.line(&json_line::<R>(&name, Err(&error)), more);
                } else {
                    stderr_line(&format!(
                        "mailvet: {}: {}",
                        crate::untrusted::escape_controls(&name),
                        crate::untrusted::escape_controls(&error)
                    ));
                    self.unread.push((index, name, error));
                }
            }
        }
    }

    /// Writes what was kept and decides the exit code: 2 when an input had
    /// no report, else as [`OutputArgs::emit`] decides.
    pub fn finish(
        self,
        text: impl Fn(&str, &R) -> String,
        suite: impl Fn(&str, &R) -> Suite,
    ) -> ExitCode {
        let code = if self.output.format == Format::Jsonl {
            exit_code(self.verdicts)
        } else {
            let inputs = self.kept.len();
            let reports: Vec<(String, R)> = self.kept.into_iter().flatten().collect();
            let mut unread = self.unread;
            unread.sort_by_key(|(index, ..)| *index);
            let unread: Vec<Suite> = unread
                .iter()
                .map(|(_, name, error)| Suite::of_unread(name, error))
                .collect();
            self.output.emit(inputs, &reports, &unread, text, suite)
        };
        if self.errors > 0 {
            ExitCode::from(EXIT_USAGE)
        } else {
            code
        }
    }
}

/// The jsonl buffer: many report lines per write.
const LINE_BUFFER: usize = 256 * 1024;

/// Exit code 2: bad usage or input (here: an input of a batch).
const EXIT_USAGE: u8 = 2;

/// What the suites of a run came to, as far as the exit code cares.
#[derive(Debug, Clone, Copy, Default)]
struct Verdicts {
    failed: bool,
    undecided: bool,
}

impl Verdicts {
    fn of(suites: &[Suite]) -> Verdicts {
        let mut verdicts = Verdicts::default();
        for suite in suites {
            verdicts.add(suite);
        }
        verdicts
    }

    fn add(&mut self, suite: &Suite) {
        self.failed |= suite.has(render::Outcome::Fail);
        self.undecided |= suite.has(render::Outcome::Error);
    }
}

/// Exit code 1: a finding at or above `--fail-on`, or a broken expectation.
pub(super) const EXIT_FAILED: u8 = 1;
/// Exit code 3: nothing failed, but a DNS lookup failed and left checks
/// undecided; the run says nothing either way and should be repeated.
pub(super) const EXIT_UNDECIDED: u8 = 3;

/// How a run ends. A failure found among what was decided is 1 whatever
/// else is undecided (running again cannot make it pass); undecided alone
/// is 3, so a pipeline can retry it and still never passes it as 0.
fn exit_code(verdicts: Verdicts) -> ExitCode {
    if verdicts.failed {
        ExitCode::from(EXIT_FAILED)
    } else if verdicts.undecided {
        ExitCode::from(EXIT_UNDECIDED)
    } else {
        ExitCode::SUCCESS
    }
}
