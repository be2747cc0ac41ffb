//! `catalog`: the latency of catalog reads and search over REST, from N concurrent clients.
//!
//! The server must hold the synthetic catalog of the given size and seed
//! (`segue import synthetic --tracks N --seed S`): the load generates the same catalog itself
//! (it is deterministic) and samples ids and names from it, so every request names something
//! that exists, across the whole catalog, without asking the server first. Each client is a
//! thread with its own keep-alive HTTP connection, sending one request after another (closed
//! loop); the first `--warmup` seconds are not measured.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;
use rand::Rng;
use rand::seq::IndexedRandom;
use segue::ids::Id;
use segue::reproducible::{SeededRng, seeded_rng};
use serde::Serialize;

use crate::procfs::CpuClock;
use crate::report::{Percentiles, write_json};
use crate::rest::Rest;

/// Tracks sampled from the catalog to name in requests.
const SAMPLE: usize = 20_000;

#[derive(Args, Clone)]
pub struct CatalogArgs {
    /// Base URL of the Segue server.
    #[arg(long, default_value = "http://127.0.0.1:7400")]
    pub url: String,
    /// The size of the synthetic catalog the server holds (`segue import synthetic --tracks`).
    #[arg(long)]
    pub tracks: usize,
    /// Its seed (`segue import synthetic --seed`).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Concurrent clients (threads, one keep-alive connection each).
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// The user is `load-<prefix>-0` (registered, or logged in when it exists).
    #[arg(long, default_value = "catalog")]
    pub prefix: String,
    /// PID of the server process, to report its CPU use over the measured window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Send only `GET /v1/recommendations?seed_tracks=<a sampled track>&limit=20`, to measure
    /// the recommender alone.
    #[arg(long)]
    pub recommendations: bool,
}

/// A track of the catalog, as requests name it.
#[derive(Debug, Clone)]
struct Sampled {
    id: Id,
    name: String,
    album: Id,
    artist: Id,
    artist_name: String,
}

/// One kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Track,
    SeveralTracks,
    Album,
    ArtistTopTracks,
    SearchExact,
    SearchTypo,
    SearchPrefix,
    /// Only with `--recommendations`.
    Recommendations,
}

impl Op {
    /// The mix: reads of single objects weigh most, then searches as people type them.
    const MIX: [(Op, u64); 7] = [
        (Op::Track, 25),
        (Op::SeveralTracks, 10),
        (Op::Album, 15),
        (Op::ArtistTopTracks, 10),
        (Op::SearchExact, 15),
        (Op::SearchTypo, 10),
        (Op::SearchPrefix, 15),
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Track => "GET /v1/tracks/{id}",
            Op::SeveralTracks => "GET /v1/tracks?ids= (20)",
            Op::Album => "GET /v1/albums/{id}",
            Op::ArtistTopTracks => "GET /v1/artists/{id}/top-tracks",
            Op::SearchExact => "search: exact title",
            Op::SearchTypo => "search: title with a typo",
            Op::SearchPrefix => "search: a prefix as typed",
            Op::Recommendations => "GET /v1/recommendations (1 track seed, 20)",
        }
    }

    fn pick(rng: &mut SeededRng) -> Op {
        Op::MIX.choose_weighted(rng, |(_, weight)| *weight).map_or(Op::Track, |(op, _)| *op)
    }
}

/// A title with one typo: a letter of its longest word replaced.
fn with_typo(title: &str, rng: &mut SeededRng) -> String {
    let words: Vec<&str> = title.split_whitespace().collect();
    let Some((index, word)) = words.iter().enumerate().max_by_key(|(_, w)| w.chars().count()) else {
        return title.to_string();
    };
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return title.to_string();
    }
    let at = rng.random_range(1..chars.len());
    let replacement = char::from(rng.random_range(b'a'..=b'z'));
    let typo: String = chars.iter().enumerate().map(|(n, c)| if n == at { replacement } else { *c }).collect();
    let mut words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    words[index] = typo;
    words.join(" ")
}

/// What someone typing the title has typed so far: its first word and part of the second.
fn as_typed(title: &str, rng: &mut SeededRng) -> String {
    let mut words = title.split_whitespace();
    let first = words.next().unwrap_or_default();
    match words.next() {
        Some(second) => {
            let take = rng.random_range(1..=second.chars().count().max(1));
            format!("{first} {}", second.chars().take(take).collect::<String>())
        }
        None => first.chars().take(3.max(first.chars().count() / 2)).collect(),
    }
}

fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One track of the sample, uniformly (`run` refuses an empty sample before any client starts).
fn pick_track<'a>(sample: &'a [Sampled], rng: &mut SeededRng) -> &'a Sampled {
    sample.choose(rng).expect("the sample holds at least one track")
}

fn path_for(op: Op, sample: &[Sampled], rng: &mut SeededRng) -> String {
    let track = pick_track(sample, rng);
    match op {
        Op::Track => format!("/v1/tracks/{}", track.id),
        Op::SeveralTracks => {
            let ids: Vec<&str> = (0..20).map(|_| pick_track(sample, rng).id.as_str()).collect();
            format!("/v1/tracks?ids={}", ids.join(","))
        }
        Op::Album => format!("/v1/albums/{}", track.album),
        Op::ArtistTopTracks => format!("/v1/artists/{}/top-tracks", track.artist),
        Op::SearchExact => format!("/v1/search?type=track&limit=20&q={}", encode(&track.name)),
        Op::SearchTypo => format!("/v1/search?type=track&limit=20&q={}", encode(&with_typo(&track.name, rng))),
        Op::SearchPrefix => {
            let typed =
                if rng.random_ratio(1, 3) { as_typed(&track.artist_name, rng) } else { as_typed(&track.name, rng) };
            format!("/v1/search?type=track,artist,album&limit=10&q={}", encode(&typed))
        }
        Op::Recommendations => format!("/v1/recommendations?seed_tracks={}&limit=20", track.id),
    }
}

/// Every `k`-th track of the catalog, up to [`SAMPLE`].
fn sample_catalog(seed: u64, tracks: usize) -> Vec<Sampled> {
    let every = (tracks / SAMPLE).max(1);
    let mut sample = Vec::with_capacity(SAMPLE.min(tracks));
    let mut n = 0usize;
    for bundle in segue::catalog::synthetic::generate(seed, tracks) {
        for track in bundle.tracks {
            if n.is_multiple_of(every) {
                sample.push(Sampled {
                    id: track.id,
                    name: track.name,
                    album: track.album_id,
                    artist: track.artist_id,
                    artist_name: bundle.artist.name.clone(),
                });
            }
            n += 1;
        }
    }
    sample
}

/// Per kind of request: latencies in microseconds, and failures by status.
#[derive(Default)]
struct Tally {
    latencies: BTreeMap<Op, Histogram<u64>>,
    failures: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, op: Op, micros: u64) {
        let histogram = self
            .latencies
            .entry(op)
            .or_insert_with(|| Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"));
        let _ = histogram.record(micros.max(1));
    }

    fn absorb(&mut self, other: Tally) {
        for (op, histogram) in other.latencies {
            match self.latencies.get_mut(&op) {
                Some(mine) => {
                    let _ = mine.add(&histogram);
                }
                None => {
                    self.latencies.insert(op, histogram);
                }
            }
        }
        for (what, count) in other.failures {
            *self.failures.entry(what).or_default() += count;
        }
    }
}

/// The result of a run.
#[derive(Debug, Serialize)]
pub struct CatalogSummary {
    pub url: String,
    pub catalog_tracks: usize,
    pub clients: usize,
    pub measured_s: f64,
    pub requests: u64,
    pub requests_per_s: f64,
    pub by_request: BTreeMap<String, (u64, Percentiles)>,
    pub all: Percentiles,
    pub failures: BTreeMap<String, u64>,
    pub server_cpu_percent: Option<f64>,
}

pub fn run(args: &CatalogArgs, runtime: &tokio::runtime::Runtime) -> Result<CatalogSummary, String> {
    let rest = Rest::new(&args.url);
    runtime.block_on(rest.check_reachable())?;
    let account = runtime.block_on(rest.accounts(&args.prefix, 1, 1))?.remove(0);
    eprintln!("sampling the synthetic catalog of {} tracks (seed {})", args.tracks, args.seed);
    let sample = Arc::new(sample_catalog(args.seed, args.tracks));
    if sample.is_empty() {
        return Err("--tracks must be at least 1".into());
    }
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..args.clients.max(1))
        .map(|n| {
            let (sample, measuring, stop) = (sample.clone(), measuring.clone(), stop.clone());
            let (base, token) = (args.url.trim_end_matches('/').to_string(), account.access_token.clone());
            let only = args.recommendations.then_some(Op::Recommendations);
            std::thread::spawn(move || client(n as u64, &base, &token, &sample, only, &measuring, &stop))
        })
        .collect();
    eprintln!("{} clients for {} s of warm-up and {} s measured", args.clients, args.warmup, args.duration);
    std::thread::sleep(Duration::from_secs(args.warmup));
    measuring.store(true, Ordering::Release);
    let cpu = CpuClock::start(args.server_pid);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(args.duration));
    stop.store(true, Ordering::Release);
    let measured = started.elapsed().as_secs_f64();
    let server_cpu_percent = cpu.and_then(|clock| clock.percent());
    let mut tally = Tally::default();
    for handle in clients {
        tally.absorb(handle.join().map_err(|_| "a client thread panicked".to_string())?);
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
    let mut by_request = BTreeMap::new();
    for (op, histogram) in &tally.latencies {
        let _ = all.add(histogram);
        by_request.insert(op.name().to_string(), (histogram.len(), Percentiles::of(histogram)));
    }
    let requests = all.len();
    Ok(CatalogSummary {
        url: args.url.clone(),
        catalog_tracks: args.tracks,
        clients: args.clients,
        measured_s: measured,
        requests,
        requests_per_s: requests as f64 / measured,
        by_request,
        all: Percentiles::of(&all),
        failures: tally.failures,
        server_cpu_percent,
    })
}

/// One client: requests one after another until told to stop (`only`: always that request).
fn client(
    n: u64,
    base: &str,
    token: &str,
    sample: &[Sampled],
    only: Option<Op>,
    measuring: &AtomicBool,
    stop: &AtomicBool,
) -> Tally {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let authorization = format!("Bearer {token}");
    let mut rng = seeded_rng(0xCA7A_1060 + n);
    let mut tally = Tally::default();
    while !stop.load(Ordering::Acquire) {
        let op = only.unwrap_or_else(|| Op::pick(&mut rng));
        let path = path_for(op, sample, &mut rng);
        let started = Instant::now();
        let outcome = agent.get(format!("{base}{path}")).header("Authorization", &authorization).call();
        let outcome = outcome.and_then(|mut response| {
            let status = response.status().as_u16();
            response.body_mut().read_to_vec().map(|_| status)
        });
        let micros = started.elapsed().as_micros() as u64;
        if !measuring.load(Ordering::Acquire) {
            continue;
        }
        match outcome {
            Ok(200) => tally.record(op, micros),
            Ok(status) => *tally.failures.entry(format!("{} → {status}", op.name())).or_default() += 1,
            Err(error) => *tally.failures.entry(format!("{} → {error}", op.name())).or_default() += 1,
        }
    }
    tally
}

pub fn report(args: &CatalogArgs, summary: &CatalogSummary) -> Result<(), String> {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "catalog at {}: {} tracks, {} clients, {:.1} s measured\n  requests {} ({:.0}/s)",
        summary.url,
        summary.catalog_tracks,
        summary.clients,
        summary.measured_s,
        summary.requests,
        summary.requests_per_s
    );
    let _ = writeln!(text, "  latency, request written -> answer read, µs:");
    for (name, (count, percentiles)) in &summary.by_request {
        let _ = writeln!(text, "    {name:<34} {count:>8}  {percentiles}");
    }
    let _ = writeln!(text, "    {:<34} {:>8}  {}", "all", summary.requests, summary.all);
    if summary.failures.is_empty() {
        let _ = writeln!(text, "  failures        none");
    } else {
        for (what, count) in &summary.failures {
            let _ = writeln!(text, "  failure: {what} × {count}");
        }
    }
    if let Some(cpu) = summary.server_cpu_percent {
        let _ = writeln!(text, "  CPU over the window: server {cpu:.0}%");
    }
    println!("{text}");
    match &args.json {
        Some(path) => write_json(path, summary),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_typed_prefixes_stay_close_to_the_title() {
        let mut rng = seeded_rng(1);
        for _ in 0..100 {
            let typo = with_typo("Paper Moon Parade", &mut rng);
            assert_eq!(typo.len(), "Paper Moon Parade".len());
            let differing = typo.chars().zip("Paper Moon Parade".chars()).filter(|(a, b)| a != b).count();
            assert!(differing <= 1, "{typo}");
            let typed = as_typed("Paper Moon Parade", &mut rng);
            assert!(typed.starts_with("Paper M"), "{typed}");
        }
        assert_eq!(encode("a b&c"), "a+b%26c");
    }

    #[test]
    fn the_mix_picks_every_kind() {
        let mut rng = seeded_rng(2);
        let picked: std::collections::BTreeSet<Op> = (0..1_000).map(|_| Op::pick(&mut rng)).collect();
        assert_eq!(picked.len(), Op::MIX.len());
    }
}
