//! Generates the Rust that data files in `src/` stand for, into `$OUT_DIR`:
//!
//! - `catalog.rs` from the finding catalog `src/findings/catalog.toml`
//!   (included by `src/findings/catalog.rs`): one `pub const` per code,
//!   named after it (`spf.missing` is `SPF_MISSING`), so a check naming a
//!   code that is not in the catalog does not compile, and the lists
//!   `DOMAIN_CODES`, `MESSAGE_CODES` and `CATALOG`;
//! - `migrations.rs` from the store's migrations `src/store/migrations/`
//!   (included by `src/store/migrations.rs`): `MIGRATIONS`, one step per
//!   file `NNNN_description.sql`, in the order of their numbers.
//!
//! A file the code cannot be made from (a catalog field missing or
//! unknown, a malformed or repeated code, a migration named otherwise or
//! numbered twice) fails the build, naming it.

use serde::Deserialize;
use std::collections::HashSet;
use std::fmt::Write;
use std::path::Path;

const CATALOG: &str = "src/findings/catalog.toml";
const MIGRATIONS: &str = "src/store/migrations";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    domain: Vec<Entry>,
    message: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    code: String,
    severity: Severity,
    title: String,
    why: String,
    fix: String,
    refs: Vec<String>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Info,
    Warning,
    Error,
}

/// `family.name`: lowercase letters and `_` in the family, and digits too
/// in the name; the constant's name is the code in capitals, `.` as `_`.
fn constant_name(code: &str) -> Option<String> {
    let (family, name) = code.split_once('.')?;
    let family_ok =
        !family.is_empty() && family.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    (family_ok && name_ok).then(|| code.to_ascii_uppercase().replace('.', "_"))
}

/// The constants of one table and the list naming them.
fn table(
    out: &mut String,
    seen: &mut HashSet<String>,
    list: &str,
    entries: &[Entry],
) -> Vec<String> {
    let mut names = Vec::new();
    for entry in entries {
        let name = constant_name(&entry.code)
            .unwrap_or_else(|| panic!("{CATALOG}: malformed code {:?}", entry.code));
        assert!(seen.insert(name.clone()), "{CATALOG}: {} twice", entry.code);
        let _ = writeln!(
            out,
            "#[doc = {:?}]\npub const {name}: Code = &CatalogEntry {{ code: {:?}, severity: Severity::{:?}, \
             title: {:?}, why: {:?}, fix: {:?}, refs: &{:?} }};",
            format!("`{}`: {}", entry.code, entry.title),
            entry.code,
            entry.severity,
            entry.title,
            entry.why,
            entry.fix,
            entry.refs,
        );
        names.push(name);
    }
    let _ = writeln!(out, "pub const {list}: &[Code] = &[{}];", names.join(", "));
    names
}

/// `Step`s of `src/store/migrations/NNNN_description.sql`: version NNNN,
/// the description with spaces for `_`, the SQL embedded.
fn migrations(out: &mut String) {
    let mut steps = Vec::new();
    let dir = std::fs::read_dir(MIGRATIONS).unwrap_or_else(|e| panic!("{MIGRATIONS}: {e}"));
    for file in dir {
        let path = file.unwrap_or_else(|e| panic!("{MIGRATIONS}: {e}")).path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let step = name
            .strip_suffix(".sql")
            .and_then(|stem| stem.split_once('_'))
            .and_then(|(number, description)| Some((number.parse::<i64>().ok()?, description)));
        let Some((version, description)) = step else {
            panic!("{MIGRATIONS}/{name}: not NNNN_description.sql");
        };
        let sql = std::fs::canonicalize(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        steps.push((version, description.replace('_', " "), sql));
    }
    steps.sort();
    let _ = writeln!(out, "pub const MIGRATIONS: &[Step] = &[");
    for pair in steps.windows(2) {
        assert!(
            pair[0].0 != pair[1].0,
            "{MIGRATIONS}: version {} twice",
            pair[0].0
        );
    }
    for (version, description, sql) in steps {
        let _ = writeln!(
            out,
            "    Step {{ version: {version}, description: {description:?}, sql: include_str!({:?}) }},",
            sql.display().to_string()
        );
    }
    let _ = writeln!(out, "];");
}

/// Writes `text` as `$OUT_DIR/name`.
fn generated(name: &str, text: String) {
    let path = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn main() {
    println!("cargo::rerun-if-changed={CATALOG}");
    println!("cargo::rerun-if-changed={MIGRATIONS}");
    let text = std::fs::read_to_string(CATALOG).unwrap_or_else(|e| panic!("{CATALOG}: {e}"));
    let catalog: Catalog = toml::from_str(&text).unwrap_or_else(|e| panic!("{CATALOG}: {e}"));
    let mut out = String::new();
    let mut seen = HashSet::new();
    let mut all = table(&mut out, &mut seen, "DOMAIN_CODES", &catalog.domain);
    all.extend(table(
        &mut out,
        &mut seen,
        "MESSAGE_CODES",
        &catalog.message,
    ));
    let _ = writeln!(out, "pub static CATALOG: &[Code] = &[{}];", all.join(", "));
    generated("catalog.rs", out);
    let mut out = String::new();
    migrations(&mut out);
    generated("migrations.rs", out);
}
