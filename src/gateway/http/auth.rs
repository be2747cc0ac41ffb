//! `POST /v1/auth/register`, `/login`, `/refresh`, `/logout`, `GET /v1/me` and
//! `PUT /v1/me/password`.
//!
//! Logging out and changing the password revoke every token of the user (access and refresh)
//! and close every socket of the user, on every node, with 4003: a `Close` published on the bus
//! for all of the user's connections (in a cluster it travels on the user's Redis channel).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use segue_protocol::close_code;
use serde::{Deserialize, Serialize};

use super::objects::{Links, private_user};
use super::{ApiResult, AuthUser, base_url, json};
use crate::actors::bus::Audience;
use crate::actors::hub::OutFrame;
use crate::auth::{Registration, TokenPair};
use crate::gateway::Services;
use crate::ids::Id;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/auth/register", web::post().to(register))
        .route("/v1/auth/login", web::post().to(login))
        .route("/v1/auth/refresh", web::post().to(refresh))
        .route("/v1/auth/logout", web::post().to(logout))
        .route("/v1/me", web::get().to(me))
        .route("/v1/me/password", web::put().to(change_password));
}

/// The close reason of a socket whose token was revoked (`actors::cluster` carries it by name).
const REVOKED: &str = "token revoked";

#[derive(Serialize)]
struct Tokens {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    scope: &'static str,
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Tokens {
        Tokens {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
            scope: "",
        }
    }
}

async fn register(
    request: HttpRequest,
    services: web::Data<Services>,
    body: web::Json<Registration>,
) -> ApiResult<HttpResponse> {
    let user = services.accounts.register(body.into_inner()).await?;
    let links = Links::new(base_url(&request, &services));
    // Segue's own addition: the new user's first tokens, so a client needs no second call.
    #[derive(Serialize)]
    struct Registered {
        #[serde(flatten)]
        user: super::objects::PrivateUser,
        #[serde(flatten)]
        tokens: Tokens,
    }
    let tokens = services.accounts.issue_pair(&user).into();
    Ok(HttpResponse::Created().json(Registered { user: private_user(&links, &user), tokens }))
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(services: web::Data<Services>, body: web::Json<Login>) -> ApiResult<HttpResponse> {
    // Before any hashing: a refused attempt costs a map lookup.
    services.limits.check_login(&body.username)?;
    let pair = services.accounts.login(&body.username, &body.password).await?;
    Ok(json(&Tokens::from(pair)))
}

#[derive(Deserialize)]
struct Refresh {
    refresh_token: String,
}

async fn refresh(services: web::Data<Services>, body: web::Json<Refresh>) -> ApiResult<HttpResponse> {
    let pair = services.accounts.refresh(&body.refresh_token).await?;
    Ok(json(&Tokens::from(pair)))
}

async fn me(request: HttpRequest, services: web::Data<Services>, AuthUser(auth): AuthUser) -> ApiResult<HttpResponse> {
    let links = Links::new(base_url(&request, &services));
    Ok(json(&private_user(&links, &auth.user)))
}

/// Segue's own: revokes every token of the user and closes its sockets. 204.
async fn logout(services: web::Data<Services>, AuthUser(auth): AuthUser) -> ApiResult<HttpResponse> {
    services.accounts.revoke_all(auth.user.id).await?;
    close_sockets(&services, auth.user.id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
struct PasswordChange {
    old_password: String,
    new_password: String,
}

/// Segue's own: a new password (the old one must be right: else 403), then as `logout`. 204.
async fn change_password(
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    body: web::Json<PasswordChange>,
) -> ApiResult<HttpResponse> {
    // The old password is a password guess like a sign-in: it counts against the same limit.
    services.limits.check_login(&auth.user.username)?;
    let PasswordChange { old_password, new_password } = body.into_inner();
    services.accounts.change_password(auth.user.id, old_password, new_password).await?;
    close_sockets(&services, auth.user.id);
    Ok(HttpResponse::NoContent().finish())
}

/// Tells every connection of `user`, on whatever node, to close with 4003.
fn close_sockets(services: &Services, user: Id) {
    let close = OutFrame::Close { code: close_code::TOKEN_EXPIRED, reason: REVOKED };
    services.bus.publish(user, Audience::User, Arc::new(close));
}
