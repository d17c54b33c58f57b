//! The committed SDL is the schema served.

#[test]
fn committed_schema_matches_the_served_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql");
    let committed =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let served = partnergraph::api::sdl();
    if committed != served {
        let line = committed
            .lines()
            .zip(served.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "the files differ in length".to_owned(),
                |i| format!("first difference at line {}", i + 1),
            );
        panic!(
            "schema/schema.graphql is out of date ({line}); run \
             `cargo run -- print-schema > schema/schema.graphql` and commit the result"
        );
    }
}
