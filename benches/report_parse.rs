//! Reading a large DMARC aggregate report: time and peak memory of the
//! parse, and of the parse plus the analysis, beside parsedmarc on the same
//! file in the same run.
//!
//! The report is generated deterministically at start (not committed):
//! 22,860 records, about 9 MB of XML (one record per line), for one domain
//! from 5,000 source IPs, with the mix a big receiver sends (most records
//! one DKIM and one SPF result, some with two signatures, an envelope_from
//! or a reason, some signatures without a selector).
//! It is written to `target/bench-reports/`.
//!
//! Each measurement is a fresh process (this binary, run again with
//! `REPORT_BENCH_CHILD` set), so its peak resident memory (`VmHWM`) is its
//! own; the process opens the file with `reports::open_reader` (as the CLI
//! will: a plain or gzip file is streamed, never held whole), then:
//!
//! - `stream`: reads every record one at a time, keeping none (what an
//!   import that stores rows as it reads costs);
//! - `collect`: reads the whole report into memory (what the analysis
//!   needs);
//! - `analyze`: `collect`, then the analysis, with the resolver layer
//!   `--offline` (every PTR answered NXDOMAIN at once: the CPU cost of the
//!   analysis, not DNS latency).
//!
//! parsedmarc runs `parse_report_file(path, offline=True,
//! always_use_local_files=True)` in its own Python process, when a Python
//! with parsedmarc is found: `PARSEDMARC_PYTHON`, else
//! `target/parsedmarc-venv/bin/python` (make it with
//! `python3 -m venv target/parsedmarc-venv &&
//! target/parsedmarc-venv/bin/pip install parsedmarc`).
//!
//! Each mode runs `REPORT_BENCH_RUNS` times (default 5); the table shows
//! the median time inside the process, the median wall time of the whole
//! process (start to exit), and the largest peak memory.
//!
//! Run: `cargo bench --ignore-rust-version --bench report_parse`. With
//! `REPORT_BENCH_GENERATE_ONLY` set it only writes the report and prints
//! its path (for `benches/report_import.sh`, which times the whole
//! `mailvet reports import`).

use mailvet::dns::{Dns, Settings, UpstreamChoice};
use mailvet::reports::enforcement::LiveRecord;
use mailvet::reports::services::Services;
use mailvet::reports::summary::Options;
use mailvet::reports::{Limits, Opened, analyze, open_reader};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The allocator the `mailvet` binary links (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RECORDS: usize = 22_860;
const SOURCE_IPS: u32 = 5_000;
const DOMAIN: &str = "example.com";

fn main() {
    if let Ok(mode) = std::env::var("REPORT_BENCH_CHILD") {
        let path = std::env::var("REPORT_BENCH_FILE").expect("REPORT_BENCH_FILE");
        child(&mode, Path::new(&path));
        return;
    }
    if std::env::var_os("REPORT_BENCH_GENERATE_ONLY").is_some() {
        println!("{}", generate().display());
        return;
    }
    let runs: usize = std::env::var("REPORT_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let file = generate();
    let size = std::fs::metadata(&file).expect("report file").len();
    println!(
        "report: {} ({} records, {:.2} MB)\n",
        file.display(),
        RECORDS,
        size as f64 / 1e6
    );

    let mut rows = Vec::new();
    for mode in ["stream", "collect", "analyze"] {
        rows.push(measure(mode, runs, || {
            let mut command = Command::new(std::env::current_exe().expect("this binary"));
            command
                .env("REPORT_BENCH_CHILD", mode)
                .env("REPORT_BENCH_FILE", &file);
            command
        }));
    }
    match parsedmarc_python() {
        Some(python) => rows.push(measure("parsedmarc", runs.min(3), || {
            let mut command = Command::new(&python);
            command.arg("-c").arg(PARSEDMARC).arg(&file);
            command
        })),
        None => println!(
            "parsedmarc: not found (set PARSEDMARC_PYTHON or make target/parsedmarc-venv)\n"
        ),
    }

    println!(
        "{:<11} {:>9} {:>12} {:>14} {:>14}",
        "mode", "records", "in-process", "whole process", "peak RSS"
    );
    for row in &rows {
        println!(
            "{:<11} {:>9} {:>10.3} s {:>12.3} s {:>11.1} MB",
            row.mode,
            row.records,
            row.inner_seconds,
            row.wall_seconds,
            row.peak_bytes as f64 / 1e6
        );
    }
    if let (Some(ours), Some(theirs)) = (
        rows.iter().find(|r| r.mode == "collect"),
        rows.iter().find(|r| r.mode == "parsedmarc"),
    ) {
        println!(
            "\ncollect vs parsedmarc: {:.1}x faster (whole process), {:.3}x the peak memory",
            theirs.wall_seconds / ours.wall_seconds,
            ours.peak_bytes as f64 / theirs.peak_bytes as f64
        );
    }
}

struct Row {
    mode: String,
    records: u64,
    inner_seconds: f64,
    wall_seconds: f64,
    peak_bytes: u64,
}

/// Runs a child `runs` times; each prints `records seconds peak_bytes`.
fn measure(mode: &str, runs: usize, command: impl Fn() -> Command) -> Row {
    let mut inner = Vec::new();
    let mut wall = Vec::new();
    let mut peak = 0;
    let mut records = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let output = command().output().expect("child process");
        wall.push(start.elapsed().as_secs_f64());
        assert!(
            output.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = stdout.split_whitespace().collect();
        let [count, seconds, bytes] = fields[..] else {
            panic!("{mode}: unexpected output {stdout:?}");
        };
        records = count.parse().expect("records");
        inner.push(seconds.parse::<f64>().expect("seconds"));
        peak = peak.max(bytes.parse::<u64>().expect("bytes"));
    }
    Row {
        mode: mode.to_string(),
        records,
        inner_seconds: median(&mut inner),
        wall_seconds: median(&mut wall),
        peak_bytes: peak,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn child(mode: &str, path: &Path) {
    let start = Instant::now();
    let file = std::fs::File::open(path).expect("report file");
    let Ok(Opened::Aggregate(reader)) = open_reader(file, &Limits::default()) else {
        panic!("not an aggregate report");
    };
    let records = match mode {
        "stream" => {
            let mut reader = reader;
            let mut records = 0u64;
            while reader.next_record().expect("valid report").is_some() {
                records += 1;
            }
            records
        }
        "collect" | "analyze" => {
            let report = reader.read_all().expect("valid report");
            let records = report.records.len() as u64;
            if mode == "analyze" {
                let dns = Dns::new(
                    Settings {
                        upstream: UpstreamChoice::Offline,
                        ..Settings::default()
                    },
                    Vec::new(),
                )
                .expect("offline resolver");
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let analysis = runtime.block_on(analyze(
                    &dns.resolver(),
                    std::slice::from_ref(&report),
                    &[],
                    &Services::built_in(),
                    &Options::default(),
                    &LiveRecord::Absent,
                    &["mailto:dmarc@example.com".to_string()],
                ));
                assert_eq!(analysis.summary.records, records);
            }
            records
        }
        other => panic!("unknown mode {other}"),
    };
    println!("{records} {} {}", start.elapsed().as_secs_f64(), peak_rss());
}

/// This process's peak resident memory (Linux `VmHWM`), bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

fn parsedmarc_python() -> Option<PathBuf> {
    let python = std::env::var_os("PARSEDMARC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/parsedmarc-venv/bin/python"));
    let found = Command::new(&python)
        .args(["-c", "import parsedmarc"])
        .output()
        .is_ok_and(|o| o.status.success());
    found.then_some(python)
}

/// The parsedmarc side: the same file, DNS and downloads off; prints the
/// same three fields (`ru_maxrss` is in KiB on Linux).
const PARSEDMARC: &str = r#"
import resource, sys, time
start = time.perf_counter()
import parsedmarc
result = parsedmarc.parse_report_file(sys.argv[1], offline=True, always_use_local_files=True)
records = len(result["report"]["records"])
elapsed = time.perf_counter() - start
print(records, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"#;

/// Writes the report unless it is already there.
fn generate() -> PathBuf {
    let dir = PathBuf::from("target/bench-reports");
    let path = dir.join(format!("aggregate-{RECORDS}.xml"));
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(&dir).expect("target/bench-reports");
    let mut random = XorShift(0x2545_F491_4F6C_DD1D);
    let mut xml = String::with_capacity(10_000_000);
    xml.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<feedback>\n  <report_metadata>\n    \
         <org_name>google.com</org_name>\n    <email>noreply-dmarc-support@google.com</email>\n    \
         <extra_contact_info>https://support.google.com/a/answer/2466580</extra_contact_info>\n    \
         <report_id>14325830279118392742</report_id>\n    <date_range>\n      \
         <begin>1764288000</begin>\n      <end>1764374399</end>\n    </date_range>\n  \
         </report_metadata>\n  <policy_published>\n    <domain>example.com</domain>\n    \
         <adkim>r</adkim>\n    <aspf>r</aspf>\n    <p>none</p>\n    <sp>none</sp>\n    \
         <pct>100</pct>\n    <np>none</np>\n  </policy_published>\n",
    );
    let selectors = ["google", "s1", "s2", "selector1", "k2"];
    let others = [
        "sendgrid.net",
        "mcsv.net",
        "amazonses.com",
        "bulk-mailer.example",
    ];
    for _ in 0..RECORDS {
        let ip_index = random.below(SOURCE_IPS);
        let ip = format!(
            "{}.{}.{}.{}",
            [198, 203, 192, 100][(ip_index % 4) as usize],
            18 + ip_index % 7,
            ip_index / 7 % 256,
            ip_index % 251 + 1
        );
        let count = 1 + random.below(40) + if random.below(10) == 0 { 500 } else { 0 };
        let aligned = random.below(10) < 7;
        let (dkim_eval, spf_eval) = if aligned {
            ("pass", ["pass", "fail"][random.below(2) as usize])
        } else {
            ("fail", "fail")
        };
        let signer = if aligned {
            DOMAIN
        } else {
            others[random.below(others.len() as u32) as usize]
        };
        // One record per line: about 400 bytes a record, 9 MB in all.
        let _ = write!(
            xml,
            "<record><row><source_ip>{ip}</source_ip><count>{count}</count>\
             <policy_evaluated><disposition>none</disposition><dkim>{dkim_eval}</dkim>\
             <spf>{spf_eval}</spf>"
        );
        if random.below(50) == 0 {
            xml.push_str("<reason><type>forwarded</type></reason>");
        }
        xml.push_str("</policy_evaluated></row><identifiers>");
        if random.below(10) == 0 {
            let _ = write!(xml, "<envelope_from>{signer}</envelope_from>");
        }
        let _ = write!(
            xml,
            "<header_from>{DOMAIN}</header_from></identifiers><auth_results>"
        );
        let signatures = if random.below(10) == 0 { 2 } else { 1 };
        for i in 0..signatures {
            let domain = if i == 0 { signer } else { "gappssmtp.com" };
            let result = if aligned || random.below(2) == 0 {
                "pass"
            } else {
                "fail"
            };
            let _ = write!(
                xml,
                "<dkim><domain>{domain}</domain><result>{result}</result>"
            );
            // Older generators leave the selector out.
            if random.below(3) != 0 {
                let selector = selectors[random.below(selectors.len() as u32) as usize];
                let _ = write!(xml, "<selector>{selector}</selector>");
            }
            xml.push_str("</dkim>");
        }
        let _ = writeln!(
            xml,
            "<spf><domain>{signer}</domain><result>{}</result></spf></auth_results></record>",
            ["pass", "softfail", "fail", "neutral"][random.below(4) as usize]
        );
    }
    xml.push_str("</feedback>\n");
    std::fs::write(&path, xml).expect("write the report");
    path
}

/// A fixed pseudo-random sequence (xorshift64): the same report every time.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n)) as u32
    }
}
