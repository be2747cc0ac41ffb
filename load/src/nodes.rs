//! Several Segue nodes (cluster mode): separate `segue serve` processes sharing one Redis and
//! one PostgreSQL, any of which accepts any user. A scenario is given them as `--url` (the
//! first node, which also serves the REST setup) and then every `--node-url`, and spreads its
//! sockets over them.

use crate::rest::Rest;

/// The WebSocket URL of `/v1/connect` on the node whose base URL is `base` (`http://host:port`).
pub fn connect_url(base: &str) -> String {
    format!(
        "{}/v1/connect",
        base.trim_end_matches('/').replacen("http://", "ws://", 1).replacen("https://", "wss://", 1)
    )
}

/// The `/v1/connect` URLs of all the nodes: `url`'s first, then `node_urls`' in order.
pub fn connect_urls(url: &str, node_urls: &[String]) -> Vec<String> {
    std::iter::once(url).chain(node_urls.iter().map(String::as_str)).map(connect_url).collect()
}

/// Fails with a readable message unless every one of `node_urls` answers `GET /healthz` (the
/// first node, `--url`, is checked by the setup that uses it).
pub async fn check_reachable(node_urls: &[String]) -> Result<(), String> {
    for url in node_urls {
        Rest::new(url).check_reachable().await?;
    }
    Ok(())
}

/// The node, of `nodes`, that device number `device` of user number `user` connects to.
///
/// A user's devices go to consecutive nodes, starting at the user's own index: so a user with
/// at least two devices has them on two different nodes (as long as there are two), and the
/// users' first devices, like all their devices, spread evenly over the nodes. With one node
/// (or none) it is always node 0. `(user + device) % nodes`, without overflow.
pub fn node_of(user: usize, device: usize, nodes: usize) -> usize {
    let nodes = nodes.max(1);
    (user % nodes + device % nodes) % nodes
}

/// " over N nodes" for a progress line when there are several nodes, else nothing.
pub fn over(nodes: usize) -> String {
    if nodes > 1 { format!(" over {nodes} nodes") } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_node_takes_every_device() {
        for (user, device) in [(0, 0), (0, 1), (7, 2), (999, 9)] {
            assert_eq!(node_of(user, device, 1), 0);
            assert_eq!(node_of(user, device, 0), 0);
        }
    }

    #[test]
    fn two_devices_of_a_user_are_on_two_nodes() {
        for user in 0..100 {
            let (first, second) = (node_of(user, 0, 2), node_of(user, 1, 2));
            assert_ne!(first, second, "user {user}");
            assert!(first < 2 && second < 2);
        }
    }

    #[test]
    fn a_user_spans_as_many_nodes_as_it_has_devices() {
        for nodes in 2..=6 {
            for devices in 2..=10 {
                for user in 0..50 {
                    let mut used: Vec<usize> = (0..devices).map(|d| node_of(user, d, nodes)).collect();
                    used.sort_unstable();
                    used.dedup();
                    assert_eq!(used.len(), devices.min(nodes), "user {user}, {devices} devices, {nodes} nodes");
                }
            }
        }
    }

    #[test]
    fn devices_spread_evenly_over_the_nodes() {
        let nodes = 3;
        let mut count = vec![0; nodes];
        for user in 0..300 {
            for device in 0..2 {
                count[node_of(user, device, nodes)] += 1;
            }
        }
        assert_eq!(count, vec![200, 200, 200]);
        // The first devices alone spread evenly too.
        assert_eq!((0..6).map(|user| node_of(user, 0, nodes)).collect::<Vec<_>>(), vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn large_indices_do_not_overflow() {
        assert_eq!(node_of(usize::MAX, usize::MAX, 2), 0);
        assert!(node_of(usize::MAX, 1, 6) < 6);
    }

    #[test]
    fn node_urls_become_socket_urls_in_order() {
        let urls = connect_urls("http://127.0.0.1:7411/", &["http://127.0.0.1:7412".to_string()]);
        assert_eq!(urls, vec!["ws://127.0.0.1:7411/v1/connect", "ws://127.0.0.1:7412/v1/connect"]);
        assert_eq!(connect_url("https://segue.example"), "wss://segue.example/v1/connect");
    }
}
