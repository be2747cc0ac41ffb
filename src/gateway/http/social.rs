//! Segue's own social endpoints: `GET /v1/me/friends/activity` (what each followed user plays
//! now or played last, the most recent first) and `PUT /v1/me/private-session` (hide the user
//! from every friend, on every node, until they end it or it ends by itself).

use actix_web::{HttpResponse, web};
use segue_protocol::activity::Friends;

use super::{ApiResult, AuthUser, json};
use crate::actors::activity::{MAX_FRIENDS, friend_activity};
use crate::error::AppError;
use crate::gateway::Services;
use crate::player::Command;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/me/friends/activity", web::get().to(friends_activity))
        .route("/v1/me/private-session", web::put().to(private_session));
}

/// The followed users' latest activity: at most [`MAX_FRIENDS`], the most recently active first.
async fn friends_activity(services: web::Data<Services>, AuthUser(auth): AuthUser) -> ApiResult<HttpResponse> {
    let friends = services.store.friends_activity(auth.user.id, MAX_FRIENDS).await?;
    Ok(json(&Friends { friends: friends.iter().map(friend_activity).collect() }))
}

/// `{"enabled": bool}`, nothing else: an object with a boolean.
fn enabled_of(body: &[u8]) -> Result<bool, AppError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| AppError::bad_request(format!("invalid JSON body: {error}")))?;
    match value.as_object().and_then(|object| object.get("enabled")) {
        Some(serde_json::Value::Bool(enabled)) => Ok(*enabled),
        _ => Err(AppError::bad_request("the body must be {\"enabled\": true} or {\"enabled\": false}")),
    }
}

/// Starts or ends a private session (for `--private-session-ms`, 6 hours by default); `204`.
async fn private_session(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let enabled = enabled_of(&body)?;
    let duration_ms = services.config.private_session.as_millis() as u64;
    let executed =
        services.sessions.execute(auth.user.id, None, Command::PrivateSession { enabled, duration_ms }).await?;
    Ok(HttpResponse::NoContent().insert_header(("Segue-Seq", executed.seq.to_string())).finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_object_with_a_boolean_enabled_is_a_private_session_body() {
        assert_eq!(enabled_of(br#"{"enabled": true}"#), Ok(true));
        assert_eq!(enabled_of(br#"{"enabled": false, "other": 1}"#), Ok(false));
        for bad in [&br#"{}"#[..], br#"{"enabled": "yes"}"#, br#"[true]"#, br#"{"enabled": null}"#, b"", b"nope"] {
            let error = enabled_of(bad).unwrap_err();
            assert_eq!(error.code, segue_protocol::ErrorCode::BadRequest, "{bad:?}");
        }
    }
}
