//! `GET /v1/openapi.json`: the API described from its own handlers and types, so the
//! document cannot drift from the code.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{agents, listing, problem, renew, sessions, types};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "berth session API",
        description = "Sessions and agents of one berth instance. See docs/api.md."
    ),
    paths(
        sessions::create,
        listing::list,
        listing::get_one,
        listing::delete,
        renew::renew,
        agents::stop,
        agents::start
    ),
    components(schemas(
        types::CreateSession,
        types::Renew,
        types::Session,
        types::SessionList,
        types::Port,
        types::Agent,
        listing::Deleted,
        problem::Problem
    )),
    modifiers(&Bearer)
)]
#[derive(Debug)]
pub struct Document;

/// Bearer tokens from `--api-tokens`.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON.
pub fn json() -> String {
    Document::openapi()
        .to_pretty_json()
        .expect("the document serializes")
}

pub async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}
