//! The full introspection query that GraphiQL sends runs within the
//! default limits.

use crate::common::{arr, body_of, post_graphql, send, GQL_RESPONSE};
use actix_web::http::StatusCode;
use serde_json::json;

/// graphql-js `getIntrospectionQuery` with every option GraphiQL turns on
/// (descriptions, specifiedByURL, isRepeatable, schema description,
/// deprecated input values, isOneOf).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    description
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types {
      ...FullType
    }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) {
        ...InputValue
      }
    }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  isOneOf
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) {
      ...InputValue
    }
    type {
      ...TypeRef
    }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) {
    ...InputValue
  }
  interfaces {
    ...TypeRef
  }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes {
    ...TypeRef
  }
}

fragment InputValue on __InputValue {
  name
  description
  type {
    ...TypeRef
  }
  defaultValue
  isDeprecated
  deprecationReason
}

fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType {
                  kind
                  name
                }
              }
            }
          }
        }
      }
    }
  }
}
"#;

#[actix_web::test]
async fn full_introspection_query_succeeds_with_default_limits() {
    let resp = send(
        post_graphql(body_of(INTROSPECTION, json!(null))).insert_header(("accept", GQL_RESPONSE)),
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let body = resp.json();
    assert!(body.get("errors").is_none(), "{body:#}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    let types = arr(&schema["types"]);
    let names: Vec<&str> = types.iter().filter_map(|t| t["name"].as_str()).collect();
    for name in [
        "Query",
        "Node",
        "Entity",
        "Fund",
        "Legislation",
        "Event",
        "Person",
        "Organization",
        "Place",
        "Relation",
        "Money",
        "Document",
        "Source",
        "Path",
        "Subgraph",
        "FundingFlow",
        "RankedEntity",
        "GraphStats",
        "Date",
        "AmountQualifier",
        "Direction",
        "CentralityMeasure",
        "EntityKind",
        "RelationKind",
    ] {
        assert!(names.contains(&name), "introspection lists {name}");
    }
    let date = types.iter().find(|t| t["name"] == "Date").unwrap();
    assert_eq!(date["kind"], "SCALAR");
    let entity = types.iter().find(|t| t["name"] == "Entity").unwrap();
    assert_eq!(entity["kind"], "INTERFACE");
    let possible: Vec<&str> = arr(&entity["possibleTypes"])
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for t in [
        "Person",
        "Organization",
        "Fund",
        "Legislation",
        "Event",
        "Place",
    ] {
        assert!(possible.contains(&t), "Entity is implemented by {t}");
    }
}
