//! The error every service returns: a protocol [`ErrorCode`] with a message for the client.
//! The socket turns it into a `reply` with `ok: false`, the REST API into
//! `{"error": {"status", "message", "reason"}}` with the code's HTTP status. Internal faults
//! are logged where they happen and reach the client only as `INTERNAL` or `UNAVAILABLE`.

use std::borrow::Cow;

use segue_protocol::{ErrorBody, ErrorCode};

use crate::storage::StoreError;

/// An error for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    pub retry_after_ms: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> AppError {
        AppError { code, message: message.into(), retry_after_ms: None }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::new(ErrorCode::BadRequest, message)
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::new(ErrorCode::NotFound, message)
    }

    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::new(ErrorCode::Unauthorized, message)
    }

    pub fn internal() -> AppError {
        AppError::new(ErrorCode::Internal, "internal error")
    }

    pub fn with_retry_after(mut self, retry_after_ms: u64) -> AppError {
        self.retry_after_ms = Some(retry_after_ms);
        self
    }

    pub fn to_body(&self) -> ErrorBody {
        ErrorBody { code: self.code, message: self.message.to_string(), retry_after_ms: self.retry_after_ms }
    }
}

impl From<ErrorBody> for AppError {
    fn from(body: ErrorBody) -> AppError {
        AppError { code: body.code, message: body.message.into(), retry_after_ms: body.retry_after_ms }
    }
}

impl From<crate::player::CommandError> for AppError {
    fn from(error: crate::player::CommandError) -> AppError {
        AppError { code: error.code, message: error.message.into(), retry_after_ms: error.retry_after_ms }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        tracing::error!(%error, "store failure");
        if error.is_unavailable() {
            AppError::new(ErrorCode::Unavailable, "the database is unavailable; retry soon")
        } else {
            AppError::internal()
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
