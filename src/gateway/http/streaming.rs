//! `GET /v1/tracks/{id}/stream` and the audio origin. (Being written: see issue 3.)

use actix_web::web;

pub fn routes(_app: &mut web::ServiceConfig) {}
