//! The engine's layers, read from its source: each top-level module of
//! `src/` imports (`crate::…`) only from the layers below its own, so no
//! two modules import each other; and `src/lib.rs` lists every layer, in
//! this order, with its job.

use std::collections::BTreeSet;
use std::path::Path;

/// Bottom to top. Modules on one line are siblings: neither imports the
/// other.
const LAYERS: &[&[&str]] = &[
    &["untrusted"],
    &["local_file"],
    &["parsed_texts"],
    &["dns"],
    &["store"],
    &["records"],
    &["https"],
    &["findings"],
    &["spf"],
    &["domain", "message"],
    &["reports"],
    &["check"],
    &["render"],
    &["web", "smtp"],
    &["http"],
    &["cli"],
];

fn level(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level modules `source` names through `crate::`, including those
/// in a `use crate::{a, b::c}` group.
fn imports(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.extend(first_segment(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.extend(first_segment(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.extend(first_segment(rest));
        }
    }
    found
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name != "self").then_some(name)
}

fn sources(path: &Path, out: &mut Vec<(String, String)>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read src") {
            sources(&entry.expect("dir entry").path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        let text = std::fs::read_to_string(path).expect("read a source file");
        out.push((path.display().to_string(), text));
    }
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules `src/lib.rs` declares, in order.
fn declared() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("read lib.rs");
    lib.lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn every_module_imports_only_from_layers_below_its_own() {
    let mut violations = Vec::new();
    for module in declared() {
        let own = level(&module).unwrap_or_else(|| panic!("{module} has no layer in LAYERS"));
        let mut files = Vec::new();
        let dir = src().join(&module);
        if dir.is_dir() {
            sources(&dir, &mut files);
        } else {
            sources(&src().join(format!("{module}.rs")), &mut files);
        }
        for (file, text) in files {
            for import in imports(&text) {
                if import == module {
                    continue;
                }
                match level(&import) {
                    Some(l) if l < own => {}
                    _ => violations.push(format!("{file} imports crate::{import}")),
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports from the same or a higher layer:\n{}",
        violations.join("\n")
    );
}

#[test]
fn lib_rs_lists_every_layer_in_order() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("read lib.rs");
    let declared: BTreeSet<String> = declared().into_iter().collect();
    let layered: BTreeSet<String> = LAYERS
        .iter()
        .flat_map(|l| l.iter().map(|m| m.to_string()))
        .collect();
    assert_eq!(
        declared, layered,
        "lib.rs and LAYERS name different modules"
    );
    let mut last = 0;
    for module in LAYERS.iter().flat_map(|l| l.iter()) {
        let at = lib
            .find(&format!("[`{module}`]"))
            .unwrap_or_else(|| panic!("the lib.rs doc does not describe [`{module}`]"));
        assert!(
            at >= last,
            "the lib.rs doc lists [`{module}`] out of layer order"
        );
        last = at;
    }
}

#[test]
fn imports_are_read_from_paths_and_groups() {
    let text = "use crate::dns::Resolver;\nuse crate::{findings::{self, Finding}, spf};\n\
                fn f() { crate::records::tag_list::x(); }";
    let got: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(got, ["dns", "findings", "records", "spf"]);
}
