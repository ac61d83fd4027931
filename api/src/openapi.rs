//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the
//! `#[utoipa::path]` annotations on the handlers and the `ToSchema` types
//! they return, so it cannot drift from the code it describes. A test in
//! `routes/mod.rs` checks that every route the router serves is listed here.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes;

/// Every error body: a stable machine code and a sentence for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `auth.invalid_token`, `upload.too_large`, `media.unsupported_container`.
    #[schema(example = "http.not_found")]
    pub code: String,
    pub message: String,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`vod_…`). Roles: viewer < uploader < admin.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vod API",
        description = "Upload, transcode and play videos: uploads (streamed, direct to S3, \
                       pulled from a URL), the catalog, jobs and the edge route.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::health::metrics,
        routes::tokens::create,
        routes::tokens::list,
        routes::tokens::revoke,
        routes::uploads::create,
        routes::videos::list,
        routes::videos::get,
        routes::videos::patch,
        routes::videos::job,
        routes::pull::pull,
        routes::events::events,
        routes::lifecycle::retry,
        routes::lifecycle::cancel,
        routes::lifecycle::delete,
        routes::direct::create,
        routes::direct::parts,
        routes::direct::complete,
        routes::playback::session,
        routes::edge::get,
        routes::edge::head,
        openapi_json,
    ),
    components(schemas(ErrorBody, vod_core::events::JobEvent)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "tokens", description = "API tokens (admin only)"),
        (name = "uploads", description = "The three ways a source arrives"),
        (name = "videos", description = "Catalog reads, edits and lifecycle"),
        (name = "jobs", description = "Transcode jobs"),
        (name = "edge", description = "Local stand-in for the CDN"),
    )
)]
pub struct ApiDoc;

fn document() -> &'static [u8] {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    DOC.get_or_init(|| {
        // Serializing a derived document only fails on a bug in utoipa.
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_default()
            .into_bytes()
    })
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "health",
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
