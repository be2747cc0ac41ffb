//! The REST API against a real server: accounts and tokens, catalog reads with the Web API's
//! shapes, paging, and errors that are clear 4xx answers in the one error shape.

mod common;

use common::*;
use serde_json::{Value, json};

/// Runs each scenario against a server on SQLite and one on PostgreSQL.
macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod on_sqlite { $( #[test] fn $scenario() { super::$scenario(super::Backend::Sqlite); } )* }
        mod on_postgres { $( #[test] fn $scenario() { super::$scenario(super::Backend::Postgres); } )* }
    };
}

on_both_stores!(
    accounts_register_log_in_refresh_and_read_me,
    catalog_objects_have_the_web_api_shapes,
    paging_links_are_absolute_and_lead_through_every_page,
    operations_endpoints_and_unknown_routes_answer,
    search_forgives_typos_completes_prefixes_and_spans_kinds,
);

fn assert_error_shape(reply: &Reply, status: u16, reason: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.body["error"]["status"], status, "{:?}", reply.body);
    assert_eq!(reply.reason(), reason, "{:?}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

fn accounts_register_log_in_refresh_and_read_me(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let register = |body: Value| server.request("POST", "/v1/auth/register", None, Some(body));

    let created =
        register(json!({"username": "ada", "password": "analytical", "display_name": "Ada L.", "country": "GB"}));
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 22);
    assert_eq!(created.body["product"], "free");
    assert_eq!(created.body["uri"], format!("segue:user:{id}"));

    assert_error_shape(&register(json!({"username": "ada", "password": "another-one"})), 409, "CONFLICT");
    assert_error_shape(&register(json!({"username": "no spaces", "password": "analytical"})), 400, "BAD_REQUEST");
    assert_error_shape(&register(json!({"username": "bob", "password": "short"})), 400, "BAD_REQUEST");
    assert_error_shape(
        &register(json!({"username": "bob", "password": "analytical", "country": "Sweden"})),
        400,
        "BAD_REQUEST",
    );
    assert_error_shape(&register(json!({"username": "bob"})), 400, "BAD_REQUEST");
    let raw = server.request("POST", "/v1/auth/register", None, Some(Value::String("{not json".into())));
    assert_error_shape(&raw, 400, "BAD_REQUEST");

    let login = |password: &str| {
        server.request("POST", "/v1/auth/login", None, Some(json!({"username": "ada", "password": password})))
    };
    assert_error_shape(&login("wrong-password"), 401, "UNAUTHORIZED");
    let unknown =
        server.request("POST", "/v1/auth/login", None, Some(json!({"username": "nobody", "password": "whatever"})));
    assert_error_shape(&unknown, 401, "UNAUTHORIZED");
    let tokens = login("analytical");
    assert_eq!(tokens.status, 200);
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 3600);
    let access = tokens.body["access_token"].as_str().unwrap().to_string();
    let refresh = tokens.body["refresh_token"].as_str().unwrap().to_string();

    let me = server.get("/v1/me", &access);
    assert_eq!(me.status, 200);
    assert_eq!(
        (me.body["id"].as_str(), me.body["product"].as_str(), me.body["country"].as_str()),
        (Some(id), Some("free"), Some("GB"))
    );
    assert_eq!(me.body["display_name"], "Ada L.");
    assert_eq!(me.body["type"], "user");

    let refreshed = server.request("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh})));
    assert_eq!(refreshed.status, 200);
    let new_access = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(server.get("/v1/me", new_access).status, 200);
    // An access token is no refresh token, and the other way round.
    let wrong_kind = server.request("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": access})));
    assert_error_shape(&wrong_kind, 401, "UNAUTHORIZED");
    assert_error_shape(&server.get("/v1/me", &refresh), 401, "UNAUTHORIZED");

    assert_error_shape(&server.request("GET", "/v1/me", None, None), 401, "UNAUTHORIZED");
    assert_error_shape(&server.get("/v1/me", "garbage"), 401, "UNAUTHORIZED");
    let tampered = format!("{}x", &access[..access.len() - 1]);
    assert_error_shape(&server.get("/v1/me", &tampered), 401, "UNAUTHORIZED");
}

fn catalog_objects_have_the_web_api_shapes(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (_, token) = server.register("reader");
    let (album_id, album_tracks) = server.album(&token);
    let (track_id, duration) = album_tracks[0].clone();

    let track = server.get(&format!("/v1/tracks/{track_id}"), &token);
    assert_eq!(track.status, 200);
    let body = &track.body;
    for field in [
        "album",
        "artists",
        "disc_number",
        "duration_ms",
        "explicit",
        "external_ids",
        "external_urls",
        "href",
        "id",
        "is_local",
        "is_playable",
        "name",
        "popularity",
        "preview_url",
        "track_number",
        "type",
        "uri",
    ] {
        assert!(body.get(field).is_some(), "track object lacks {field}: {body}");
    }
    assert_eq!(body["type"], "track");
    assert_eq!(body["uri"], format!("segue:track:{track_id}"));
    assert_eq!(body["duration_ms"], duration);
    assert_eq!(body["album"]["id"], album_id.as_str());
    assert_eq!(body["artists"][0]["type"], "artist");
    assert!(body["external_ids"]["isrc"].as_str().is_some_and(|isrc| isrc.len() == 12));
    assert!(body["href"].as_str().unwrap().starts_with(&server.base), "hrefs are absolute");
    // The same track by URI, in either scheme.
    for uri in [format!("spotify:track:{track_id}"), format!("segue:track:{track_id}")] {
        assert_eq!(server.get(&format!("/v1/tracks/{uri}"), &token).body["id"], track_id.as_str());
    }
    assert_error_shape(&server.get("/v1/tracks/0000000000000000000000", &token), 404, "NOT_FOUND");
    assert_error_shape(&server.get("/v1/tracks/short", &token), 400, "BAD_REQUEST");

    let several = server.get(&format!("/v1/tracks?ids={track_id},0000000000000000000000"), &token);
    assert_eq!(several.status, 200);
    assert_eq!(several.body["tracks"][0]["id"], track_id.as_str());
    assert!(several.body["tracks"][1].is_null(), "an unknown id is null in its place");
    let fifty_one = vec![track_id.as_str(); 51].join(",");
    assert_error_shape(&server.get(&format!("/v1/tracks?ids={fifty_one}"), &token), 400, "BAD_REQUEST");

    let album = server.get(&format!("/v1/albums/{album_id}"), &token);
    assert_eq!(album.status, 200);
    assert_eq!(album.body["type"], "album");
    assert_eq!(album.body["tracks"]["total"], album_tracks.len());
    assert_eq!(album.body["total_tracks"], album_tracks.len());
    let artist_id = album.body["artists"][0]["id"].as_str().unwrap().to_string();

    let artist = server.get(&format!("/v1/artists/{artist_id}"), &token);
    assert_eq!(artist.status, 200);
    assert_eq!(artist.body["type"], "artist");
    assert!(artist.body["followers"]["total"].is_u64());
    let top = server.get(&format!("/v1/artists/{artist_id}/top-tracks"), &token);
    let popularity: Vec<u64> =
        top.body["tracks"].as_array().unwrap().iter().map(|t| t["popularity"].as_u64().unwrap()).collect();
    assert!(!popularity.is_empty() && popularity.windows(2).all(|w| w[0] >= w[1]), "{popularity:?}");
    assert_error_shape(&server.get("/v1/artists/0000000000000000000000", &token), 404, "NOT_FOUND");
}

fn paging_links_are_absolute_and_lead_through_every_page(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (_, token) = server.register("pager");
    let (album_id, album_tracks) = server.album(&token);
    let mut seen = Vec::new();
    let mut url = format!("{}/v1/albums/{album_id}/tracks?limit=3", server.base);
    loop {
        let path = url.strip_prefix(&server.base).expect("next links point at this server");
        let page = server.get(path, &token);
        assert_eq!(page.status, 200);
        assert_eq!(page.body["limit"], 3);
        assert_eq!(page.body["total"], album_tracks.len());
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()));
        match page.body["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    let expected: Vec<String> = album_tracks.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(seen, expected);

    let search = server.get("/v1/search?q=e&type=track&limit=5&offset=5", &token);
    assert_eq!(search.status, 200);
    let tracks = &search.body["tracks"];
    assert_eq!((tracks["offset"].as_u64(), tracks["limit"].as_u64()), (Some(5), Some(5)));
    assert!(tracks["previous"].as_str().unwrap().starts_with("http://"));
    assert!(tracks["next"].as_str().unwrap().contains("offset=10"));
    let popularity: Vec<u64> =
        tracks["items"].as_array().unwrap().iter().map(|t| t["popularity"].as_u64().unwrap()).collect();
    assert!(popularity.windows(2).all(|w| w[0] >= w[1]), "ranked by popularity: {popularity:?}");

    for bad in [
        "/v1/search?type=track",
        "/v1/search?q=x",
        "/v1/search?q=x&type=track&limit=0",
        "/v1/search?q=x&type=track&limit=51",
        "/v1/search?q=x&type=track&offset=-1",
        "/v1/search?q=x&type=song",
        "/v1/albums/0000000000000000000000/tracks",
    ] {
        let reply = server.get(bad, &token);
        assert!(reply.status == 400 || reply.status == 404, "{bad}: {}", reply.status);
        assert!(reply.body["error"]["reason"].is_string(), "{bad}: {:?}", reply.body);
    }
}

fn operations_endpoints_and_unknown_routes_answer(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    assert_eq!(server.request("GET", "/healthz", None, None).status, 200);
    assert_eq!(server.request("GET", "/readyz", None, None).status, 200);
    let (_, token) = server.register("observer");
    assert_eq!(server.get("/v1/me", &token).status, 200);
    let metrics = server.request("GET", "/metrics", None, None);
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = metrics.body.as_str().unwrap();
    let families = assert_valid_prometheus_text(text);
    for (family, kind) in [
        ("segue_connections_open", "gauge"),
        ("segue_connections_total", "counter"),
        ("segue_http_requests_total", "counter"),
        ("segue_sessions_resident", "gauge"),
        ("segue_command_seconds", "histogram"),
        ("segue_queue_overflow_total", "counter"),
    ] {
        assert_eq!(families.get(family).map(String::as_str), Some(kind), "{family} in\n{text}");
    }
    let requests = text.lines().find_map(|line| line.strip_prefix("segue_http_requests_total ")).unwrap();
    assert!(requests.parse::<f64>().unwrap() >= 1.0, "the authenticated request is counted:\n{text}");
    // Every bounded queue is there from the start, before any overflow.
    for queue in [
        "outbound",
        "session_mailbox",
        "write_behind_plays",
        "cluster_publish",
        "cluster_inbox",
        "subscriptions",
        "password_hashing",
        "profile_cache",
        "connections",
        "playlist_mailbox",
        "activity_writes",
    ] {
        let series = format!("segue_queue_overflow_total{{queue=\"{queue}\"}} 0\n");
        assert!(text.contains(&series), "{series} in\n{text}");
    }
    let openapi = server.request("GET", "/openapi.json", None, None);
    assert_eq!(openapi.status, 200);
    assert_eq!(openapi.body["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    assert!(openapi.body["paths"]["/v1/me/player"].is_object());
    let missing = server.request("GET", "/v1/nothing-here", None, None);
    assert_error_shape(&missing, 404, "NOT_FOUND");
    // A plain GET of the socket path without an upgrade is no WebSocket.
    let plain = server.request("GET", "/v1/connect", None, None);
    assert!(plain.status >= 400 && plain.status < 500, "{}", plain.status);
}

/// Checks `text` against the rules of the Prometheus text format (0.0.4): every line a `# HELP`,
/// a `# TYPE` or a sample `name{label="value",…} value`, with valid names, label values quoted
/// and escaped, numeric values; at most one HELP and TYPE per family, TYPE before the family's
/// samples, each family's lines together, no series twice; histograms with cumulative buckets
/// up to `+Inf` that agree with `_count`. Returns each family's type.
fn assert_valid_prometheus_text(text: &str) -> std::collections::HashMap<String, String> {
    use std::collections::{HashMap, HashSet};
    let is_name = |name: &str, colon: bool| {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    };
    assert!(text.ends_with('\n'), "the text ends with a newline");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut series: HashSet<String> = HashSet::new();
    /// A histogram as read: its buckets' `(le, count)` in order, and its `_count`.
    type Buckets = (Vec<(f64, f64)>, Option<f64>);
    let mut histograms: HashMap<String, Buckets> = HashMap::new();
    let mut enter = |family: &str, current: &mut Option<String>| {
        if current.as_deref() != Some(family) {
            if let Some(previous) = current.take() {
                finished.insert(previous);
            }
            assert!(!finished.contains(family), "the lines of {family} are not together");
            *current = Some(family.to_string());
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(is_name(name, true), "HELP of an invalid name: {line}");
            enter(name, &mut current);
            assert!(helps.insert(name.to_string()), "a second HELP: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("TYPE without a type: {line}"));
            assert!(is_name(name, true), "TYPE of an invalid name: {line}");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line}");
            enter(name, &mut current);
            assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "a second TYPE: {line}");
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "neither HELP, TYPE nor a sample: {line:?}");
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("a sample without a value: {line}"));
        let name = &line[..name_end];
        assert!(is_name(name, true), "an invalid metric name: {line}");
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(after) = rest.strip_prefix('{') {
            let mut chars = after.char_indices().peekable();
            let end = loop {
                let (start, c) = chars.next().unwrap_or_else(|| panic!("unterminated labels: {line}"));
                if c == '}' {
                    break start;
                }
                let key_end = after[start..].find('=').unwrap_or_else(|| panic!("a label without a value: {line}"));
                let key = &after[start..start + key_end];
                assert!(is_name(key, false), "an invalid label name {key:?}: {line}");
                while chars.peek().is_some_and(|&(i, _)| i < start + key_end + 1) {
                    chars.next();
                }
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "an unquoted label value: {line}");
                let mut value = String::new();
                loop {
                    match chars.next().unwrap_or_else(|| panic!("an unterminated label value: {line}")).1 {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("a bad escape {other:?}: {line}"),
                        },
                        '\n' => panic!("a newline in a label value: {line}"),
                        c => value.push(c),
                    }
                }
                labels.push((key.to_string(), value));
                if chars.peek().is_some_and(|&(_, c)| c == ',') {
                    chars.next();
                }
            };
            rest = &after[end + 1..];
        }
        let mut fields =
            rest.strip_prefix(' ').unwrap_or_else(|| panic!("no space before the value: {line}")).split(' ');
        let value = fields.next().unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            number => number.parse().unwrap_or_else(|_| panic!("a value that is no number: {line}")),
        };
        if let Some(timestamp) = fields.next() {
            assert!(timestamp.parse::<i64>().is_ok(), "a bad timestamp: {line}");
        }
        assert!(fields.next().is_none(), "more after the value: {line}");
        let family = current.clone().unwrap_or_else(|| panic!("a sample before any TYPE: {line}"));
        let kind = types.get(&family).unwrap_or_else(|| panic!("a sample before its family's TYPE: {line}"));
        let mut key_labels = labels.clone();
        key_labels.sort();
        assert!(series.insert(format!("{name}{key_labels:?}")), "a series twice: {line}");
        match kind.as_str() {
            "histogram" => {
                let entry = histograms.entry(family.clone()).or_default();
                if name == format!("{family}_bucket") {
                    let le =
                        labels.iter().find(|(k, _)| k == "le").unwrap_or_else(|| panic!("a bucket without le: {line}"));
                    let bound = if le.1 == "+Inf" { f64::INFINITY } else { le.1.parse().unwrap() };
                    entry.0.push((bound, value));
                } else if name == format!("{family}_count") {
                    entry.1 = Some(value);
                } else {
                    assert_eq!(name, format!("{family}_sum"), "a sample of another family under {family}: {line}");
                }
            }
            _ => assert_eq!(name, family, "a sample of another family under {family}: {line}"),
        }
    }
    for (family, (buckets, count)) in &histograms {
        assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{family}: buckets not cumulative");
        let last = buckets.last().unwrap_or_else(|| panic!("{family} has no buckets"));
        assert_eq!(last.0, f64::INFINITY, "{family} ends with +Inf");
        assert_eq!(Some(last.1), *count, "{family}: the +Inf bucket is the count");
    }
    types
}

/// The checker above refuses what breaks the format (so its passing means something).
#[test]
fn the_prometheus_text_checker_refuses_what_is_not_prometheus_text() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{q=\"x\\\"y\"} 1\n\
                # TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n";
    assert_eq!(assert_valid_prometheus_text(good).get("h").map(String::as_str), Some("histogram"));
    let bad = [
        "# TYPE a counter\na 1",                             // no final newline
        "a 1\n",                                             // a sample before its TYPE
        "# TYPE a counter\na one\n",                         // not a number
        "# TYPE a counter\na{q=x} 1\n",                      // an unquoted label value
        "# TYPE a counter\na{9q=\"x\"} 1\n",                 // an invalid label name
        "# TYPE a counter\na 1\na 2\n",                      // a series twice
        "# TYPE a counter\n# TYPE a gauge\na 1\n",           // a second TYPE
        "# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n", // a family apart
        "# TYPE a counter\nb 1\n",                           // another family's sample
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", // not cumulative
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n", // no +Inf bucket
        "# TYPE a counter\n\na 1\n",                         // an empty line
    ];
    for text in bad {
        let refused = std::panic::catch_unwind(|| assert_valid_prometheus_text(text)).is_err();
        assert!(refused, "accepted: {text:?}");
    }
}

fn search_forgives_typos_completes_prefixes_and_spans_kinds(backend: Backend) {
    let server = TestServer::start_on(backend, &[]);
    let (_, token) = server.register("seeker");
    let (album_id, album_tracks) = server.album(&token);
    let track = server.get(&format!("/v1/tracks/{}", album_tracks[0].0), &token).body;
    let title = track["name"].as_str().unwrap().to_string();
    let artist = track["artists"][0]["name"].as_str().unwrap().to_string();
    let found_on_first_page = |query: &str, kind: &str, list: &str, id: &str| {
        let path = format!("/v1/search?type={kind}&limit=20&q={}", query.replace(' ', "+"));
        let reply = server.get(&path, &token);
        assert_eq!(reply.status, 200, "{path}: {:?}", reply.body);
        reply.body[list]["items"].as_array().unwrap().iter().any(|item| item["id"] == id)
    };
    let track_id = album_tracks[0].0.as_str();
    assert!(found_on_first_page(&title, "track", "tracks", track_id), "the exact title {title:?}");
    // One typo in the longest word of four letters or more.
    let longest = title.split_whitespace().max_by_key(|w| w.chars().count()).unwrap().to_string();
    if longest.chars().count() >= 4 {
        let mut chars: Vec<char> = longest.chars().collect();
        chars[1] = if chars[1] == 'x' { 'y' } else { 'x' };
        let typo = title.replacen(&longest, &chars.iter().collect::<String>(), 1);
        assert!(found_on_first_page(&typo, "track", "tracks", track_id), "the title with a typo {typo:?}");
    }
    let prefix: String = artist.chars().take(4).collect();
    let artist_id = track["artists"][0]["id"].as_str().unwrap();
    assert!(found_on_first_page(&prefix, "artist", "artists", artist_id), "the artist by its first letters {prefix:?}");
    let album_name = server.get(&format!("/v1/albums/{album_id}"), &token).body["name"].as_str().unwrap().to_string();
    assert!(found_on_first_page(&album_name, "album", "albums", &album_id), "the album {album_name:?}");

    let every_kind = server.get(&format!("/v1/search?type=track,artist,album,playlist&q={}", prefix), &token);
    for list in ["tracks", "artists", "albums", "playlists"] {
        assert!(every_kind.body[list]["total"].is_u64(), "{list} in {:?}", every_kind.body);
    }
    // Playlists: a public one is found, a private one never.
    for (name, public) in [("Zebra Crossing Anthems", true), ("Zebra Crossing Secrets", false)] {
        let made =
            server.request("POST", "/v1/me/playlists", Some(&token), Some(json!({"name": name, "public": public})));
        assert_eq!(made.status, 201);
    }
    let playlists = server.get("/v1/search?type=playlist&q=zebra+crossing", &token);
    let names: Vec<&str> =
        playlists.body["playlists"]["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Zebra Crossing Anthems"]);

    // Pages neither repeat nor skip.
    let page = |offset: u32| -> Vec<String> {
        let body = server.get(&format!("/v1/search?type=track&q=a&limit=10&offset={offset}"), &token).body;
        body["tracks"]["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
    };
    let two_pages: Vec<String> = page(0).into_iter().chain(page(10)).collect();
    let wide = server.get("/v1/search?type=track&q=a&limit=20", &token).body;
    let wide: Vec<String> =
        wide["tracks"]["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(two_pages, wide);
    for bad in ["/v1/search?type=track&q=%20", "/v1/search?type=show&q=x", "/v1/search?type=track&q=x&offset=1001"] {
        assert_eq!(server.get(bad, &token).status, 400, "{bad}");
    }
}
