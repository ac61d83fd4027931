use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::AppState;

pub(crate) mod admin;
mod direct;
mod direct_parts;
mod edge;
mod events;
mod health;
mod lifecycle;
mod pull;
mod tokens;
mod uploads;
mod videos;

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
        .route("/v1/jobs/{id}", get(videos::job))
        .route("/v1/jobs/{id}/cancel", post(lifecycle::cancel))
        .route("/v1/uploads", post(direct::create))
        .route("/v1/uploads/{id}/parts", get(direct::parts))
        .route("/v1/uploads/{id}/complete", post(direct::complete))
        .merge(edge)
        .merge(admin::routes())
}
