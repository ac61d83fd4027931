use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::AppState;

pub(crate) mod admin;
pub(crate) mod direct;
pub(crate) mod direct_parts;
pub(crate) mod edge;
pub mod edge_access;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod lifecycle;
pub(crate) mod playback;
pub(crate) mod pull;
pub(crate) mod tokens;
pub(crate) mod uploads;
pub(crate) mod videos;

pub fn router() -> Router<AppState> {
    let edge = Router::new()
        .route(
            "/cdn/{*key}",
            get(edge::get).head(edge::head).options(edge::preflight),
        )
        .layer(axum::middleware::from_fn(edge::cors));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/v1/tokens", post(tokens::create).get(tokens::list))
        .route("/v1/tokens/{id}", delete(tokens::revoke))
        .route(
            "/v1/videos",
            // The handler enforces the upload size limit while streaming.
            post(uploads::create)
                .layer(DefaultBodyLimit::disable())
                .get(videos::list),
        )
        .route("/v1/videos/pull", post(pull::pull))
        .route(
            "/v1/videos/{id}",
            get(videos::get)
                .patch(videos::patch)
                .delete(lifecycle::delete),
        )
        .route("/v1/videos/{id}/events", get(events::events))
        .route("/v1/videos/{id}/retry", post(lifecycle::retry))
        .route("/v1/videos/{id}/playback-session", post(playback::session))
        .route("/v1/jobs/{id}", get(videos::job))
        .route("/v1/jobs/{id}/cancel", post(lifecycle::cancel))
        .route("/v1/uploads", post(direct::create))
        .route("/v1/uploads/{id}/parts", get(direct::parts))
        .route("/v1/uploads/{id}/complete", post(direct::complete))
        .merge(edge)
        .merge(admin::routes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::OpenApi;

    const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head"];

    /// (method, path) of every `.route(...)` call in this file.
    fn served() -> BTreeSet<(String, String)> {
        let src = include_str!("mod.rs");
        let src = &src[..src.find("#[cfg(test)]").unwrap_or(src.len())];
        let mut out = BTreeSet::new();
        for call in src.split(".route(").skip(1) {
            let path = call.split('"').nth(1).unwrap().to_owned();
            // The arguments end at the next `.route(` split; methods are
            // the `name(` calls among them.
            for m in METHODS {
                let needle = format!("{m}(");
                let found = call.match_indices(&needle).any(|(i, _)| {
                    i == 0
                        || !call.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && call.as_bytes()[i - 1] != b'_'
                            && call.as_bytes()[i - 1] != b':'
                });
                if found {
                    out.insert(((*m).to_owned(), path.replace("{*key}", "{key}")));
                }
            }
        }
        out
    }

    fn documented() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(crate::openapi::ApiDoc::openapi()).unwrap();
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for m in METHODS {
                if item.get(*m).is_some() {
                    out.insert(((*m).to_owned(), path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let served = served();
        assert!(served.len() > 20, "the route scan found only {served:?}");
        assert_eq!(served, documented());
    }

    #[test]
    fn documented_operations_name_their_errors_and_auth() {
        let doc = serde_json::to_value(crate::openapi::ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            if !path.starts_with("/v1/") {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} lacks its 401"
                );
                assert!(op["security"].is_array(), "{method} {path} lacks security");
            }
        }
    }
}
