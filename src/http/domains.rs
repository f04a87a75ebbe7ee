//! `GET /v1/domains/{domain}` (the posture audit) and `GET /v1/findings`
//! (the catalog).

use super::AppState;
use super::problem::{Problem, ProblemType};
use crate::domain::name::DomainName;
use crate::domain::report;
use crate::findings::CatalogEntry;
use crate::findings::catalog::CATALOG;
use axum::extract::{Path, RawQuery, State};
use axum::response::Json;

/// Query parameters: `selector` (repeatable) and `trace`.
struct AuditParams {
    selectors: Vec<String>,
    trace: bool,
}

fn parse_params(raw: Option<&str>) -> Result<AuditParams, Problem> {
    let mut params = AuditParams {
        selectors: Vec::new(),
        trace: false,
    };
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "selector" => {
                let s = value.trim().to_ascii_lowercase();
                if !crate::domain::name::is_dkim_selector(&s) {
                    return Err(Problem::new(
                        ProblemType::InvalidRequest,
                        format!("`{value}` is not a DKIM selector (letters, digits, `-`, `_`, dots between labels)"),
                    )
                    .field("selector"));
                }
                params.selectors.push(s);
            }
            "trace" => {
                params.trace = match value.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(Problem::new(
                            ProblemType::InvalidRequest,
                            format!("trace must be true or false, not `{other}`"),
                        )
                        .field("trace"));
                    }
                }
            }
            other => {
                return Err(Problem::new(
                    ProblemType::InvalidRequest,
                    format!("unknown query parameter `{other}`; use selector and trace"),
                ));
            }
        }
    }
    Ok(params)
}

pub(super) async fn audit(
    State(state): State<AppState>,
    Path(domain): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<report::DomainReport>, Problem> {
    let params = parse_params(query.as_deref())?;
    let domain = DomainName::parse(&domain)
        .map_err(|e| Problem::new(ProblemType::InvalidDomain, e.to_string()).field("domain"))?;
    let mut options = state.audit.clone();
    options.selectors = params.selectors;
    let resolver = state.dns.resolver();
    Ok(Json(
        report::audit(&resolver, &domain, &options, params.trace).await,
    ))
}

/// The whole catalog: code, severity, title, why, fix and refs of each.
pub(super) async fn findings() -> Json<&'static [CatalogEntry]> {
    Json(CATALOG)
}
