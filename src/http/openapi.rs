//! `GET /openapi.yaml`: the contract of the API (OpenAPI 3.1), the file
//! `openapi.yaml` at the repository root, built into the binary so that a
//! server always serves the contract it was built with.

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

/// The contract, served at `GET /openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../openapi.yaml");

pub(super) async fn document() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        )],
        OPENAPI,
    )
}
