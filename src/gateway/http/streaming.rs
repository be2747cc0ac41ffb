//! Streaming over HTTP: `GET /v1/tracks/{id}/stream`, which hands an authenticated user a
//! signed, expiring URL to a track's audio, and the origin that serves those URLs,
//! `GET`/`HEAD /v1/audio/{track}.wav`, with single byte ranges (RFC 9110 §14).
//!
//! The origin takes no bearer token (browsers put the URL straight in an `<audio>` element):
//! the signature in the URL is the authorization. Every refusal of it is `403 FORBIDDEN`, and
//! nothing about the track is looked up before the signature checks out.

use std::convert::Infallible;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use segue_protocol::ErrorCode;
use serde::{Deserialize, Serialize};

use super::{ApiResult, AuthUser, base_url};
use crate::error::AppError;
use crate::gateway::Services;
use crate::ids::{Id, Uri};
use crate::streaming::wav::Wav;
use crate::streaming::{BITRATES_KBPS, Grant, Quality};

/// Bytes generated per chunk of a response body.
const CHUNK_BYTES: u64 = 64 * 1024;
/// Changes when the synthesis does, so no cache keeps bytes of another version (see the ETag).
const AUDIO_VERSION: u32 = 1;

pub fn routes(app: &mut web::ServiceConfig) {
    app.route("/v1/tracks/{id}/stream", web::get().to(stream_url))
        .route("/v1/audio/{file}", web::get().to(audio))
        .route("/v1/audio/{file}", web::head().to(audio));
}

#[derive(Deserialize)]
struct StreamQuery {
    quality: Option<String>,
}

/// The answer of `GET /v1/tracks/{id}/stream`.
#[derive(Serialize)]
struct StreamUrl {
    url: String,
    /// The bitrate the URL serves (after the product's cap).
    quality_kbps: u32,
    format: &'static str,
    expires_at_ms: u64,
}

async fn stream_url(
    request: HttpRequest,
    services: web::Data<Services>,
    AuthUser(auth): AuthUser,
    id: web::Path<String>,
    query: web::Query<StreamQuery>,
) -> ApiResult<HttpResponse> {
    let track = Uri::parse_track(&id).ok_or_else(|| {
        AppError::bad_request(format!(
            "invalid track id {:?}: expected 22 base62 characters or a track URI",
            id.chars().take(40).collect::<String>()
        ))
    })?;
    let quality = match query.quality.as_deref() {
        None => Quality::default(),
        Some(text) => Quality::parse(text)
            .ok_or_else(|| AppError::bad_request("quality must be one of low, normal, high, very_high"))?,
    };
    let rows = services.store.tracks(&[track]).await?;
    let row = rows.first().ok_or_else(|| AppError::not_found(format!("no track {track}")))?;
    if !row.is_playable_in(&auth.user.country) {
        return Err(AppError::new(
            ErrorCode::TrackUnavailable,
            format!("track {track} is not available in {}", auth.user.country),
        )
        .into());
    }
    let kbps = quality.kbps_for(auth.user.product);
    let grant = services.streaming.grant(track, kbps, auth.user.id, crate::clock::now_ms());
    let url = audio_url(&base_url(&request, &services), &services, track, kbps, grant.user, grant.expires_at_ms);
    Ok(HttpResponse::Ok()
        // The URL is a credential for an hour: no cache keeps it.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(StreamUrl { url, quality_kbps: kbps, format: "wav", expires_at_ms: grant.expires_at_ms }))
}

/// A signed URL of the origin granting `user` the audio of `track` at `kbps` until
/// `expires_at_ms`.
pub(super) fn audio_url(base: &str, services: &Services, track: Id, kbps: u32, user: Id, expires_at_ms: u64) -> String {
    let signature = services.streaming.sign(&Grant { track, kbps, user, expires_at_ms });
    format!("{base}/v1/audio/{track}.wav?q={kbps}&u={user}&e={expires_at_ms}&s={signature}")
}

fn forbidden(message: &'static str) -> AppError {
    AppError::new(ErrorCode::Forbidden, message)
}

/// The grant a URL claims and its signature: `q`, `u`, `e` and `s`, each exactly once and in
/// canonical form (so one grant has one URL); `None` if anything is missing or malformed.
fn claimed_grant(track: Id, query: &str) -> Option<(Grant, String)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    let (mut q, mut u, mut e, mut s) = (None, None, None, None);
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "q" => &mut q,
            "u" => &mut u,
            "e" => &mut e,
            "s" => &mut s,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    fn number<T: std::str::FromStr + ToString>(text: &str) -> Option<T> {
        text.parse::<T>().ok().filter(|value| value.to_string() == text)
    }
    let grant = Grant { track, kbps: number(&q?)?, user: Id::parse(&u?)?, expires_at_ms: number(&e?)? };
    Some((grant, s?))
}

/// `GET` and `HEAD /v1/audio/{track}.wav?q=&u=&e=&s=`: the audio a signed URL grants.
async fn audio(
    request: HttpRequest,
    services: web::Data<Services>,
    file: web::Path<String>,
) -> ApiResult<HttpResponse> {
    services.metrics.http_requests.inc();
    let track = file
        .strip_suffix(".wav")
        .and_then(Id::parse)
        .ok_or_else(|| AppError::not_found("no such audio file: expected /v1/audio/<id>.wav"))?;
    let (grant, signature) = claimed_grant(track, request.query_string())
        .ok_or_else(|| forbidden("missing or malformed signature: ask /v1/tracks/{id}/stream"))?;
    let now_ms = crate::clock::now_ms();
    services.streaming.verify(&grant, &signature, now_ms).map_err(AppError::from)?;
    if !BITRATES_KBPS.contains(&grant.kbps) {
        // Only ever signed by a broken server; refused like any other bad URL.
        return Err(forbidden("the URL names no bitrate this server serves").into());
    }
    let rows = services.store.tracks(&[track]).await?;
    let row = rows.first().ok_or_else(|| AppError::not_found(format!("no track {track}")))?;

    let wav = Wav::new(track, row.duration_ms, grant.kbps);
    let total = wav.byte_len();
    let etag = format!("\"{track}-{}-{}-v{AUDIO_VERSION}\"", grant.kbps, row.duration_ms);
    let head = request.method() == Method::HEAD;
    // Range is defined for GET only (RFC 9110 §14.2); If-Range with anything but our ETag
    // means the client's copy is another one: it gets the whole file.
    let range_header =
        request.headers().get(header::RANGE).and_then(|value| value.to_str().ok()).filter(|_| !head).filter(|_| {
            request.headers().get(header::IF_RANGE).is_none_or(|value| value.as_bytes() == etag.as_bytes())
        });
    let ask = range_header.map_or(RangeAsk::Whole, |text| parse_range(text, total));

    let max_age_s = grant.expires_at_ms.saturating_sub(now_ms) / 1000;
    let (status, range) = match ask {
        RangeAsk::Whole => (StatusCode::OK, 0..total),
        RangeAsk::Part(range) => (StatusCode::PARTIAL_CONTENT, range),
        RangeAsk::Unsatisfiable => {
            let body = serde_json::json!({"error": {
                "status": 416,
                "message": format!("the range is outside the {total} bytes of the file"),
                "reason": ErrorCode::BadRequest.as_str(),
            }});
            return Ok(HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE)
                .insert_header((header::CONTENT_RANGE, format!("bytes */{total}")))
                .insert_header((header::ACCEPT_RANGES, HeaderValue::from_static("bytes")))
                .content_type("application/json")
                .body(body.to_string()));
        }
    };
    let mut response = HttpResponse::build(status);
    response
        .content_type("audio/wav")
        .insert_header((header::ACCEPT_RANGES, HeaderValue::from_static("bytes")))
        .insert_header((header::CACHE_CONTROL, format!("private, max-age={max_age_s}")))
        .insert_header((header::ETAG, etag));
    if status == StatusCode::PARTIAL_CONTENT {
        response.insert_header((header::CONTENT_RANGE, format!("bytes {}-{}/{total}", range.start, range.end - 1)));
    }
    Ok(response.body(WavBody::new(wav, range, head)))
}

/// What a `Range` header asks of a representation of `total` bytes.
#[derive(Debug, PartialEq, Eq)]
enum RangeAsk {
    /// No usable range: the whole representation, `200`.
    Whole,
    /// These bytes (never empty), `206`.
    Part(Range<u64>),
    /// Nothing of it, `416`.
    Unsatisfiable,
}

/// Reads a `Range` header (RFC 9110 §14.1.2). A header that is not a well-formed `bytes`
/// range is ignored, as the RFC says. Several ranges are answered with the whole file (`200`),
/// which the RFC allows a server to do for any Range: browsers and players ask for one range
/// at a time, and a multipart/byteranges body would buy them nothing.
fn parse_range(header: &str, total: u64) -> RangeAsk {
    let Some((unit, set)) = header.split_once('=') else {
        return RangeAsk::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeAsk::Whole;
    }
    // Empty list elements are allowed (RFC 9110 §5.6.1.2).
    let specs: Vec<&str> = set.split(',').map(str::trim).filter(|spec| !spec.is_empty()).collect();
    let [spec] = specs.as_slice() else {
        return RangeAsk::Whole;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAsk::Whole;
    };
    match (first, last) {
        ("", suffix) => match position(suffix) {
            None => RangeAsk::Whole,
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if total == 0 => RangeAsk::Unsatisfiable,
            Some(length) => RangeAsk::Part(total - length.min(total)..total),
        },
        (first, "") => match position(first) {
            None => RangeAsk::Whole,
            Some(start) if start >= total => RangeAsk::Unsatisfiable,
            Some(start) => RangeAsk::Part(start..total),
        },
        (first, last) => match (position(first), position(last)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= total {
                    RangeAsk::Unsatisfiable
                } else {
                    RangeAsk::Part(start..end.saturating_add(1).min(total))
                }
            }
            _ => RangeAsk::Whole,
        },
    }
}

/// A byte position: digits only, saturating at `u64::MAX` (which lies past any file).
fn position(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |value, digit| value.saturating_mul(10).saturating_add(u64::from(digit - b'0'))))
}

/// A response body of some bytes of a [`Wav`], generated a chunk at a time as the connection
/// drains, so a whole track is never in memory. Its size is known, so it is sent with a
/// `Content-Length`; for `HEAD` it has that size and yields nothing.
struct WavBody {
    wav: Wav,
    next: u64,
    end: u64,
    len: u64,
}

impl WavBody {
    fn new(wav: Wav, range: Range<u64>, head: bool) -> WavBody {
        let len = range.end - range.start;
        WavBody { wav, next: if head { range.end } else { range.start }, end: range.end, len }
    }
}

impl MessageBody for WavBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Infallible>>> {
        let body = self.get_mut();
        if body.next >= body.end {
            return Poll::Ready(None);
        }
        let stop = body.end.min(body.next.saturating_add(CHUNK_BYTES));
        let chunk = body.wav.read(body.next..stop);
        body.next = stop;
        Poll::Ready(Some(Ok(Bytes::from(chunk))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges() {
        use RangeAsk::*;
        let cases: &[(&str, Option<Range<u64>>)] = &[
            ("bytes=0-0", Some(0..1)),
            ("bytes=0-99", Some(0..100)),
            ("bytes=10-", Some(10..1000)),
            ("bytes=990-5000", Some(990..1000)),
            ("bytes=999-999", Some(999..1000)),
            ("bytes=-1", Some(999..1000)),
            ("bytes=-100", Some(900..1000)),
            ("bytes=-5000", Some(0..1000)),
            ("bytes=0-99999999999999999999999", Some(0..1000)),
            ("Bytes = 5-9", Some(5..10)),
            ("bytes=5-9,", Some(5..10)),
        ];
        for (header, expected) in cases {
            assert_eq!(parse_range(header, 1000), Part(expected.clone().unwrap()), "{header}");
        }
    }

    #[test]
    fn unsatisfiable_and_ignored_ranges() {
        use RangeAsk::*;
        for header in
            ["bytes=1000-", "bytes=1000-1000", "bytes=5000-6000", "bytes=-0", "bytes=99999999999999999999999-"]
        {
            assert_eq!(parse_range(header, 1000), Unsatisfiable, "{header}");
        }
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        for header in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=5",
            "bytes=9-5",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1-2-3",
            "bytes= 1 - 2",
            "items=0-5",
            "bytes=0-1,5-6",
            "bytes=0-1,-1",
        ] {
            assert_eq!(parse_range(header, 1000), Whole, "{header:?}");
        }
    }

    #[test]
    fn a_url_claims_a_grant_only_in_canonical_form() {
        let track = Id::from_u128(1);
        let user = Id::from_u128(2);
        let good = format!("q=160&u={user}&e=1234&s=abc_-");
        let (grant, signature) = claimed_grant(track, &good).unwrap();
        assert_eq!(grant, Grant { track, kbps: 160, user, expires_at_ms: 1234 });
        assert_eq!(signature, "abc_-");
        assert!(claimed_grant(track, &format!("{good}&extra=1")).is_some());
        for bad in [
            String::new(),
            format!("u={user}&e=1234&s=x"),
            "q=160&e=1234&s=x".to_string(),
            format!("q=160&u={user}&s=x"),
            format!("q=160&u={user}&e=1234"),
            format!("q=0160&u={user}&e=1234&s=x"),
            format!("q=+160&u={user}&e=1234&s=x"),
            format!("q=160&u={user}&e=-1&s=x"),
            "q=160&u=nobody&e=1234&s=x".to_string(),
            format!("q=160&u={user}&e=99999999999999999999999&s=x"),
            format!("{good}&q=320"),
            format!("{good}&s=y"),
        ] {
            assert_eq!(claimed_grant(track, &bad), None, "{bad}");
        }
    }

    #[test]
    fn a_body_yields_exactly_its_range_in_chunks() {
        let wav = Wav::new(Id::from_u128(9), 10_000, 320);
        let total = wav.byte_len();
        let whole = wav.read(0..total);
        for (range, head) in [(0..total, false), (100..150_001, false), (0..total, true)] {
            let mut body = WavBody::new(wav.clone(), range.clone(), head);
            assert_eq!(body.size(), BodySize::Sized(range.end - range.start));
            let mut read = Vec::new();
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            while let Poll::Ready(Some(Ok(chunk))) = Pin::new(&mut body).poll_next(&mut cx) {
                assert!(chunk.len() as u64 <= CHUNK_BYTES);
                read.extend_from_slice(&chunk);
            }
            if head {
                assert!(read.is_empty());
            } else {
                assert_eq!(read, &whole[range.start as usize..range.end as usize]);
            }
        }
    }
}
