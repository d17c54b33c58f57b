//! What a hostile or careless client can make the real binary do: each
//! case refused quickly, coded, and leaving the server's memory alone.

use crate::server::{self, Server};

#[test]
fn operation_names_cannot_grow_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    for i in 0..3000 {
        let name = format!("Op{i}");
        let (status, body) = server::try_gql_with_name(
            server.port,
            &format!("query {name} {{ graphVersion }}"),
            &name,
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let (status, metrics) = server::get(server.port, "/metrics").unwrap();
    assert_eq!(status, 200);
    let labelled = |name: &str| metrics.contains(&format!("operation=\"{name}\""));
    assert!(labelled("Op0") && labelled("other"));
    assert!(!labelled("Op2999"));
    assert!(
        metrics.len() < 400_000,
        "/metrics is {} bytes",
        metrics.len()
    );
}
