//! `POST /v1/auth/register`, `/login`, `/refresh`, and `GET /v1/me`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::objects::{Links, private_user};
use super::{ApiResult, AuthUser, base_url, json};
use crate::auth::{Registration, TokenPair};
use crate::gateway::Services;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/auth/register", web::post().to(register))
        .route("/v1/auth/login", web::post().to(login))
        .route("/v1/auth/refresh", web::post().to(refresh))
        .route("/v1/me", web::get().to(me));
}

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
