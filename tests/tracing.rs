//! Traces over OTLP: two cluster nodes export to a collector of the test's own (OTLP/HTTP with
//! JSON bodies, as `--otlp-endpoint` sends them), and a command sent through node 0 to the
//! session held by node 1 arrives as one trace with spans from both nodes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// One exported span, with the node that exported it.
#[derive(Debug, Clone)]
struct Exported {
    node: String,
    trace_id: String,
    name: String,
    attributes: Vec<(String, String)>,
}

/// An OTLP/HTTP collector that keeps every span it is sent.
struct Collector {
    url: String,
    spans: Arc<Mutex<Vec<Exported>>>,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = spans.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let kept = kept.clone();
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        Collector { url, spans }
    }

    /// Waits until `found` finds something in what arrived.
    fn wait_for<T>(&self, found: impl Fn(&[Exported]) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(value) = found(&self.spans.lock().unwrap()) {
                return value;
            }
            assert!(Instant::now() < deadline, "not exported in time: {:#?}", self.spans.lock().unwrap());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Reads HTTP requests off one connection (the exporter keeps it alive) and answers each `200 {}`.
fn serve(stream: std::net::TcpStream, kept: &Mutex<Vec<Exported>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let export: Value = serde_json::from_slice(&body).expect("an OTLP JSON body");
        kept.lock().unwrap().extend(spans_of(&export));
        writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}").unwrap();
    }
}

fn string_attributes(attributes: &Value) -> Vec<(String, String)> {
    attributes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a["key"].as_str()?.to_string(), a["value"]["stringValue"].as_str()?.to_string())))
        .collect()
}

fn spans_of(export: &Value) -> Vec<Exported> {
    let mut spans = Vec::new();
    for resource in export["resourceSpans"].as_array().into_iter().flatten() {
        let resource_attributes = string_attributes(&resource["resource"]["attributes"]);
        let node = resource_attributes.iter().find(|(k, _)| k == "service.instance.id").map(|(_, v)| v.clone());
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                spans.push(Exported {
                    node: node.clone().unwrap_or_default(),
                    trace_id: span["traceId"].as_str().unwrap_or_default().to_string(),
                    name: span["name"].as_str().unwrap_or_default().to_string(),
                    attributes: string_attributes(&span["attributes"]),
                });
            }
        }
    }
    spans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_through_one_node_to_a_session_on_another_is_one_trace_across_both() {
    let collector = Collector::start();
    let cluster = TestCluster::start(2, &["--otlp-endpoint", &collector.url]);
    let (_, token) = cluster.node(0).register("traced");
    let tracks = cluster.node(0).track_ids(&token, 2);
    // The speaker's hello activates the session on node 1; the phone on node 0 reaches it there.
    let (mut speaker, _) = Device::connect(cluster.node(1), &token, "speaker", true).await;
    reply_seq(&speaker.request("play", json!({"uris": tracks})).await);
    let (mut phone, _) = Device::connect(cluster.node(0), &token, "phone", false).await;
    reply_seq(&phone.request("pause", json!({})).await);

    let trace = collector.wait_for(|spans| {
        spans
            .iter()
            .find(|s| {
                s.node == "node-0" && s.name == "request" && s.attributes.contains(&("kind".into(), "pause".into()))
            })
            .map(|s| s.trace_id.clone())
    });
    let in_trace = collector.wait_for(|spans| {
        let in_trace: Vec<Exported> = spans.iter().filter(|s| s.trace_id == trace).cloned().collect();
        in_trace.iter().any(|s| s.node == "node-1" && s.name == "session.serve_remote").then_some(in_trace)
    });
    let on = |node: &str| in_trace.iter().filter(|s| s.node == node).map(|s| s.name.as_str()).collect::<Vec<_>>();
    assert!(on("node-0").contains(&"session.call"), "the caller's side: {:?}", on("node-0"));
    assert!(on("node-1").contains(&"session.serve_remote"), "the owner's side: {:?}", on("node-1"));

    // A REST request has its span too, with its route and status.
    let reply = cluster.node(0).request("PUT", "/v1/me/player/play", Some(&token), None);
    assert_eq!(reply.status, 204);
    collector.wait_for(|spans| {
        spans
            .iter()
            .any(|s| s.name == "http.request" && s.attributes.contains(&("route".into(), "/v1/me/player/play".into())))
            .then_some(())
    });
}
