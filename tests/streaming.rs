//! Streaming against a real server: `GET /v1/tracks/{id}/stream` (the product's bitrate cap,
//! availability, errors) and the origin behind its URLs (real WAV bytes of the track's duration,
//! byte ranges, `HEAD`, and `403` for every URL the server did not sign as it is).

mod common;

use common::*;

/// A raw HTTP answer, for binary bodies.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

fn fetch(method: &str, url: &str, headers: &[(&str, &str)]) -> Raw {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(WAIT)).build().into();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = agent.run(request.body(()).unwrap()).unwrap_or_else(|error| panic!("{method} {url}: {error}"));
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = if method == "HEAD" {
        Vec::new()
    } else {
        response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .unwrap_or_else(|error| panic!("{method} {url}: body: {error}"))
    };
    Raw { status, headers, body }
}

/// Asks for a stream URL; returns the reply.
fn stream(server: &TestServer, token: &str, track: &str, quality: Option<&str>) -> Reply {
    let query = quality.map_or(String::new(), |q| format!("?quality={q}"));
    server.get(&format!("/v1/tracks/{track}/stream{query}"), token)
}

/// The URL of a successful stream reply.
fn url_of(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["url"].as_str().expect("a url").to_string()
}

fn duration_ms(server: &TestServer, token: &str, track: &str) -> u64 {
    let reply = server.get(&format!("/v1/tracks/{track}"), token);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["duration_ms"].as_u64().expect("a duration")
}

/// The size of a track's WAV: the 44-byte header and 16-bit samples at kbps·1000/16 Hz.
fn expected_len(duration_ms: u64, kbps: u64) -> u64 {
    44 + duration_ms * (kbps * 1000 / 16) / 1000 * 2
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Replaces the value of `key` in a URL's query.
fn with_param(url: &str, key: &str, value: &str) -> String {
    let (path, query) = url.split_once('?').expect("a query");
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == key => format!("{k}={value}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

fn param<'a>(url: &'a str, key: &str) -> &'a str {
    url.split_once('?')
        .expect("a query")
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{key} in {url}"))
}

fn assert_forbidden(url: &str, why: &str) {
    for method in ["GET", "HEAD"] {
        let reply = fetch(method, url, &[]);
        assert_eq!(reply.status, 403, "{why} ({method}): {url}");
        if method == "GET" {
            let body = reply.json();
            assert_eq!(body["error"]["reason"], "FORBIDDEN", "{why}: {body}");
            assert_eq!(body["error"]["status"], 403, "{why}: {body}");
        }
    }
}

#[test]
fn the_bitrate_is_capped_by_product_and_the_url_serves_that_wav() {
    let server = TestServer::start(&[]);
    let (_, free) = server.register("freddie");
    let (_, premium) = server.register("penny");
    server.make_premium("penny");
    server.await_premium(&premium);
    let track = server.track_ids(&free, 1).remove(0);
    let duration = duration_ms(&server, &free, &track);

    let cases = [
        (&free, Some("very_high"), 160),
        (&free, Some("high"), 160),
        (&free, None, 160),
        (&free, Some("low"), 96),
        (&premium, Some("very_high"), 320),
        (&premium, Some("high"), 320),
        (&premium, Some("normal"), 160),
        (&premium, None, 160),
    ];
    let mut bodies = Vec::new();
    for (token, quality, kbps) in cases {
        let before = segue_now_ms();
        let reply = stream(&server, token, &track, quality);
        let url = url_of(&reply);
        assert_eq!(reply.body["quality_kbps"], kbps, "{quality:?}");
        assert_eq!(reply.body["format"], "wav");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let expires = reply.body["expires_at_ms"].as_u64().unwrap();
        assert!(expires >= before + 3_590_000 && expires <= segue_now_ms() + 3_600_000, "an hour from now: {expires}");
        assert!(url.starts_with(&format!("{}/v1/audio/{track}.wav?", server.base)));
        assert_eq!(param(&url, "q"), kbps.to_string());
        assert_eq!(param(&url, "e"), expires.to_string());

        let audio = fetch("GET", &url, &[]);
        assert_eq!(audio.status, 200, "{:?}", String::from_utf8_lossy(&audio.body));
        let len = expected_len(duration, kbps);
        assert_eq!(audio.header("content-length"), Some(len.to_string().as_str()));
        assert_eq!(audio.body.len() as u64, len);
        assert_eq!(audio.header("content-type"), Some("audio/wav"));
        assert_eq!(audio.header("accept-ranges"), Some("bytes"));
        assert!(
            audio.header("cache-control").is_some_and(|v| v.starts_with("private, max-age=")),
            "{:?}",
            audio.header("cache-control")
        );
        let wav = &audio.body;
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(le_u32(wav, 24), kbps as u32 * 1000 / 16, "sample rate");
        assert_eq!(le_u32(wav, 28) * 8 / 1000, kbps as u32, "byte rate");
        assert_eq!(&wav[36..40], b"data");
        assert_eq!(u64::from(le_u32(wav, 40)), len - 44);
        // Not silence.
        let samples: Vec<f64> =
            wav[44..].chunks_exact(2).map(|pair| f64::from(i16::from_le_bytes([pair[0], pair[1]]))).collect();
        let rms = (samples.iter().map(|s| s * s).sum::<f64>() / samples.len() as f64).sqrt();
        assert!(rms > 500.0, "audible: rms {rms}");
        bodies.push((kbps, audio.body));
    }
    // The same track at the same bitrate is the same file, whoever asks.
    let of = |kbps| bodies.iter().filter(move |(k, _)| *k == kbps).map(|(_, b)| b);
    for kbps in [160, 320] {
        let first = of(kbps).next().unwrap();
        assert!(of(kbps).all(|body| body == first));
    }

    // Another track sounds different.
    let other = server.track_ids(&free, 2).remove(1);
    let url = url_of(&stream(&server, &free, &other, None));
    let audio = fetch("GET", &url, &[]);
    assert_eq!(audio.status, 200);
    let n = audio.body.len().min(of(160).next().unwrap().len());
    assert_ne!(audio.body[44..n], of(160).next().unwrap()[44..n]);

    // A URI works as the id.
    let reply = stream(&server, &free, &format!("segue:track:{track}"), None);
    assert_eq!(reply.body["quality_kbps"], 160, "{:?}", reply.body);
    let reply = stream(&server, &free, &format!("spotify:track:{track}"), None);
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

fn segue_now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn the_origin_serves_byte_ranges() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("rangy");
    let track = server.track_ids(&token, 1).remove(0);
    let url = url_of(&stream(&server, &token, &track, Some("normal")));
    let whole = fetch("GET", &url, &[]);
    assert_eq!(whole.status, 200);
    let total = whole.body.len() as u64;
    assert_eq!(total, expected_len(duration_ms(&server, &token, &track), 160));
    let etag = whole.header("etag").expect("an etag").to_string();

    let partial = |range: &str, start: u64, end: u64| {
        let reply = fetch("GET", &url, &[("Range", range)]);
        assert_eq!(reply.status, 206, "{range}");
        assert_eq!(reply.header("content-range"), Some(format!("bytes {start}-{end}/{total}").as_str()), "{range}");
        assert_eq!(reply.header("content-length"), Some((end - start + 1).to_string().as_str()), "{range}");
        assert_eq!(reply.header("accept-ranges"), Some("bytes"));
        assert_eq!(reply.header("content-type"), Some("audio/wav"));
        assert_eq!(reply.body, &whole.body[start as usize..=end as usize], "{range}");
    };
    partial("bytes=0-0", 0, 0);
    partial("bytes=0-43", 0, 43);
    partial("bytes=40-49", 40, 49);
    partial("bytes=45-46", 45, 46);
    partial("bytes=1000-200999", 1000, 200_999);
    partial(&format!("bytes={}-", total - 100), total - 100, total - 1);
    partial(&format!("bytes=5-{}", total + 1_000), 5, total - 1);
    partial("bytes=-1", total - 1, total - 1);
    partial("bytes=-12345", total - 12_345, total - 1);
    partial(&format!("bytes=-{}", total * 2), 0, total - 1);
    // The ETag as If-Range: the range is served.
    let reply = fetch("GET", &url, &[("Range", "bytes=10-19"), ("If-Range", &etag)]);
    assert_eq!(reply.status, 206);

    // Unsatisfiable: 416 with the size.
    for range in [format!("bytes={total}-"), format!("bytes={}-{}", total + 10, total + 20), "bytes=-0".to_string()] {
        let reply = fetch("GET", &url, &[("Range", &range)]);
        assert_eq!(reply.status, 416, "{range}");
        assert_eq!(reply.header("content-range"), Some(format!("bytes */{total}").as_str()));
        assert_eq!(reply.json()["error"]["status"], 416);
    }

    // Malformed or several ranges, another unit, a stale If-Range: the whole file.
    for (name, value) in [
        ("Range", "bytes=9-5"),
        ("Range", "bytes=abc"),
        ("Range", "pages=1-2"),
        ("Range", "bytes=0-1,10-11"),
        ("If-Range", "\"something-else\""),
    ] {
        let mut headers = vec![(name, value)];
        if name == "If-Range" {
            headers.push(("Range", "bytes=0-9"));
        }
        let reply = fetch("GET", &url, &headers);
        assert_eq!(reply.status, 200, "{name}: {value}");
        assert_eq!(reply.body, whole.body, "{name}: {value}");
    }

    // HEAD: the headers of the whole file, no body, a Range ignored.
    for headers in [vec![], vec![("Range", "bytes=0-9")]] {
        let head = fetch("HEAD", &url, &headers);
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some(total.to_string().as_str()));
        assert_eq!(head.header("accept-ranges"), Some("bytes"));
        assert_eq!(head.header("content-type"), Some("audio/wav"));
    }
    // And the connection is still good for a GET after a HEAD (no stray body bytes).
    assert_eq!(fetch("GET", &url, &[("Range", "bytes=0-3")]).body, b"RIFF");
}

#[test]
fn the_origin_refuses_urls_it_did_not_sign_so() {
    let server = TestServer::start(&[]);
    let (alice_id, alice) = server.register("alice");
    let (bob_id, bob) = server.register("bob");
    let tracks = server.track_ids(&alice, 2);
    let url = url_of(&stream(&server, &alice, &tracks[0], Some("normal")));
    assert_eq!(param(&url, "u"), alice_id);
    assert_eq!(fetch("GET", &url, &[("Range", "bytes=0-3")]).status, 206);
    let signature = param(&url, "s").to_string();

    // A wrong or mangled signature.
    let mut flipped = signature.clone().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_forbidden(&with_param(&url, "s", &flipped), "a flipped signature");
    assert_forbidden(&with_param(&url, "s", ""), "an empty signature");
    assert_forbidden(&with_param(&url, "s", "not!base64"), "a malformed signature");
    assert_forbidden(&url.replace(&format!("&s={signature}"), ""), "no signature");
    assert_forbidden(&format!("{url}&s={signature}"), "two signatures");
    assert_forbidden(url.split_once('?').unwrap().0, "no query");

    // Every field transplanted: another track, quality, user, expiry.
    assert_forbidden(&url.replace(&tracks[0], &tracks[1]), "the signature of another track");
    assert_forbidden(&with_param(&url, "q", "320"), "a higher quality");
    assert_forbidden(&with_param(&url, "q", "96"), "a lower quality");
    assert_forbidden(&with_param(&url, "q", "0160"), "a quality spelled otherwise");
    assert_forbidden(&with_param(&url, "u", &bob_id), "another user");
    let expires: u64 = param(&url, "e").parse().unwrap();
    assert_forbidden(&with_param(&url, "e", "1000"), "an expiry in the past");
    assert_forbidden(&with_param(&url, "e", &(expires + 86_400_000).to_string()), "a later expiry");
    assert_forbidden(&with_param(&url, "e", "soon"), "a malformed expiry");

    // Bob's signature for the same track and quality does not open Alice's URL, and the
    // other way round.
    let bobs = url_of(&stream(&server, &bob, &tracks[0], Some("normal")));
    assert_eq!(fetch("HEAD", &bobs, &[]).status, 200);
    assert_forbidden(&with_param(&url, "s", param(&bobs, "s")), "bob's signature on alice's URL");
    assert_forbidden(&with_param(&bobs, "u", &alice_id), "bob's URL as alice");
    // Alice's signature of another track on this one's URL.
    let other = url_of(&stream(&server, &alice, &tracks[1], Some("normal")));
    assert_forbidden(&with_param(&url, "s", param(&other, "s")), "the signature of another track's URL");

    // A path that is no audio file is simply not found.
    let base = &server.base;
    assert_eq!(fetch("GET", &format!("{base}/v1/audio/nothing"), &[]).status, 404);
    // The original still works: refusals changed nothing.
    assert_eq!(fetch("GET", &url, &[("Range", "bytes=0-3")]).body, b"RIFF");
}

#[test]
fn stream_requests_are_checked() {
    let server = TestServer::start(&[]);
    let (_, token) = server.register("checker");
    let track = server.track_ids(&token, 1).remove(0);

    // 401 without a token (or with a bad one).
    let reply = server.request("GET", &format!("/v1/tracks/{track}/stream"), None, None);
    assert_eq!(reply.status, 401, "{:?}", reply.body);
    assert_eq!(reply.reason(), "UNAUTHORIZED");
    let reply = stream(&server, "not-a-token", &track, None);
    assert_eq!(reply.status, 401);

    // 400 for a bad quality or id.
    for quality in ["ultra", "", "320", "very-high"] {
        let reply = stream(&server, &token, &track, Some(quality));
        assert_eq!(reply.status, 400, "{quality:?}: {:?}", reply.body);
        assert_eq!(reply.reason(), "BAD_REQUEST");
    }
    let reply = stream(&server, &token, "not-an-id", None);
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    let reply = stream(&server, &token, "segue:album:0000000000000000000001", None);
    assert_eq!(reply.status, 400, "an album is not a track: {:?}", reply.body);

    // 404 for a track that does not exist.
    let reply = stream(&server, &token, "zzzzzzzzzzzzzzzzzzzzzz", None);
    assert_eq!(reply.status, 404, "{:?}", reply.body);
    assert_eq!(reply.reason(), "NOT_FOUND");

    // 451 for a track not licensed in the user's country (SE).
    let restricted = restricted_track(&server, &token).expect("a track not playable in SE");
    let reply = stream(&server, &token, &restricted, Some("low"));
    assert_eq!(reply.status, 451, "{:?}", reply.body);
    assert_eq!(reply.reason(), "TRACK_UNAVAILABLE");
    assert_eq!(reply.body["error"]["status"], 451);
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

/// A track whose `is_playable` is false for this user, from search results.
fn restricted_track(server: &TestServer, token: &str) -> Option<String> {
    for query in ["e", "a", "o", "i"] {
        for offset in (0..=950).step_by(50) {
            let reply = server.get(&format!("/v1/search?q={query}&type=track&limit=50&offset={offset}"), token);
            let items = reply.body["tracks"]["items"].as_array()?.clone();
            if let Some(track) = items.iter().find(|t| t["is_playable"] == false) {
                return track["id"].as_str().map(str::to_string);
            }
            if items.len() < 50 {
                break;
            }
        }
    }
    None
}
