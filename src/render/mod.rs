//! Renderers: reports as JSON (the API's body) or as text for people.
//!
//! This module decides presentation only; it never queries DNS and never
//! invents finding text — titles, why and fix come from the findings.
//! Colour is used only on a terminal and never when `NO_COLOR` is set
//! (no-color.org).

pub mod text;

use serde::Serialize;

/// Output formats of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: grouped, worst first, with why and fix.
    Text,
    /// The same JSON the HTTP API returns.
    Json,
}

/// Pretty JSON with a final newline.
pub fn json<T: Serialize>(value: &T) -> String {
    let mut out = serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot render report: {e}\"}}"));
    out.push('\n');
    out
}
