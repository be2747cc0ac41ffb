//! Errors as clients see them: [`AppError`], a protocol [`ErrorCode`] with a message for the
//! client, and [`ProtocolError`], the trait every layer's own error type implements to say which
//! code it is. The socket puts an `AppError` in a `reply` with `ok: false`, the REST API turns it
//! into `{"error": {"status", "message", "reason"}}` with the code's HTTP status (one mapping, in
//! `gateway::http::errors`), and a call between nodes carries it as it is.
//!
//! Conversions only convert: nothing here logs. An internal fault keeps its cause (for the log
//! written where the error is answered) but tells the client only `INTERNAL` or `UNAVAILABLE`.

use std::borrow::Cow;
use std::sync::Arc;

use segue_protocol::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};

/// What every layer's error says of itself: which protocol code it is, and what the client may
/// be told. A layer implements it for its error type and gets `From<ItsError> for AppError`
/// with [`app_error_from!`].
pub trait ProtocolError: std::error::Error {
    /// The protocol code this error is.
    fn code(&self) -> ErrorCode;

    /// What the client is told. The default says nothing of the cause: right for faults,
    /// which is what most lower-layer errors are.
    fn client_message(&self) -> Cow<'static, str> {
        Cow::Borrowed(default_message(self.code()))
    }

    /// When to try again, for codes that have one.
    fn retry_after_ms(&self) -> Option<u64> {
        None
    }
}

/// Implements `From<$error> for AppError` through its [`ProtocolError`] impl.
#[macro_export]
macro_rules! app_error_from {
    ($($error:ty),+ $(,)?) => {
        $(impl From<$error> for $crate::error::AppError {
            fn from(error: $error) -> $crate::error::AppError {
                $crate::error::AppError::from_error(&error)
            }
        })+
    };
}

/// The message of a code when nothing more specific is said.
pub const fn default_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unavailable => "a dependency is unavailable; retry soon",
        ErrorCode::Internal => "internal error",
        ErrorCode::Unauthorized => "not authorized",
        ErrorCode::RateLimited => "too many requests",
        _ => "the request was refused",
    }
}

/// An error for the client. Serializes as the protocol's error body (`{code, message,
/// retry_after_ms?}`), which is also how it travels between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// What went wrong inside, for the log only; never sent.
    #[serde(skip)]
    cause: Option<Arc<str>>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> AppError {
        AppError { code, message: message.into(), retry_after_ms: None, cause: None }
    }

    /// A refusal with a fixed text, usable in constants.
    pub const fn refusal(code: ErrorCode, message: &'static str) -> AppError {
        AppError { code, message: Cow::Borrowed(message), retry_after_ms: None, cause: None }
    }

    /// The client's view of a layer's error, keeping the error itself as the cause of a fault.
    pub fn from_error<E: ProtocolError + ?Sized>(error: &E) -> AppError {
        let code = error.code();
        let cause = matches!(code, ErrorCode::Internal | ErrorCode::Unavailable).then(|| error.to_string().into());
        AppError { code, message: error.client_message(), retry_after_ms: error.retry_after_ms(), cause }
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

    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> AppError {
        AppError::new(ErrorCode::Unavailable, message)
    }

    pub fn internal() -> AppError {
        AppError::refusal(ErrorCode::Internal, default_message(ErrorCode::Internal))
    }

    pub fn with_retry_after(mut self, retry_after_ms: u64) -> AppError {
        self.retry_after_ms = Some(retry_after_ms);
        self
    }

    /// Keeps `cause` for the log (the client still sees only the message).
    pub fn with_cause(mut self, cause: impl std::fmt::Display) -> AppError {
        self.cause = Some(cause.to_string().into());
        self
    }

    /// What went wrong inside, when this error stands for a fault.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Whether this is the server's own fault or a dependency's, rather than the client's.
    pub fn is_fault(&self) -> bool {
        matches!(self.code, ErrorCode::Internal | ErrorCode::Unavailable)
    }
}

/// Equal when the client would see the same error (the cause is not compared).
impl PartialEq for AppError {
    fn eq(&self, other: &AppError) -> bool {
        self.code == other.code && self.message == other.message && self.retry_after_ms == other.retry_after_ms
    }
}

impl Eq for AppError {}

/// A request the protocol decoder refused.
impl From<ErrorBody> for AppError {
    fn from(body: ErrorBody) -> AppError {
        AppError { code: body.code, message: body.message.into(), retry_after_ms: body.retry_after_ms, cause: None }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk on fire")]
    struct Fault;

    impl ProtocolError for Fault {
        fn code(&self) -> ErrorCode {
            ErrorCode::Internal
        }
    }

    #[test]
    fn a_fault_keeps_its_cause_for_the_log_and_tells_the_client_nothing_of_it() {
        let error = AppError::from_error(&Fault);
        assert_eq!(error.code, ErrorCode::Internal);
        assert_eq!(error.message, "internal error");
        assert_eq!(error.cause(), Some("disk on fire"));
        let body = ErrorBody::new(ErrorCode::Internal, "x");
        let encoded = rmp_serde::to_vec_named(&error).unwrap();
        let decoded: ErrorBody = rmp_serde::from_slice(&encoded).unwrap();
        assert_eq!(decoded.code, body.code);
        assert_eq!(decoded.message, "internal error", "the cause never travels");
    }

    #[test]
    fn it_serializes_as_the_protocols_error_body() {
        let error = AppError::refusal(ErrorCode::SkipLimit, "no more skips").with_retry_after(1234);
        let encoded = rmp_serde::to_vec_named(&error).unwrap();
        let body: ErrorBody = rmp_serde::from_slice(&encoded).unwrap();
        assert_eq!(body, ErrorBody::new(ErrorCode::SkipLimit, "no more skips").with_retry_after(1234));
        let back: AppError = rmp_serde::from_slice(&rmp_serde::to_vec_named(&body).unwrap()).unwrap();
        assert_eq!(back, error);
    }
}
