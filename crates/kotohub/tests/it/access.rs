//! Access control end to end: authentication at the gateway, field rules before
//! planning, row rules in the subgraphs (and row-level security on PostgreSQL), the
//! internal principal header. A role × operation matrix, the sneaky paths named in the
//! access rules, and a randomised check that no row outside an officer's bodies is ever
//! returned.

use std::collections::{BTreeSet, HashSet};

use kotohub_auth::{Principal, Role};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub, forbidden_paths, principal};

crate::on_both_backends!(
    the_role_matrix_holds,
    officers_see_only_their_bodies_rows_by_every_path,
    bad_tokens_get_401_and_nothing_else,
    subgraphs_refuse_requests_without_a_valid_principal,
    random_queries_never_leave_the_bodies_scope,
    errors_suggest_no_names_and_introspection_needs_a_token,
);

/// Clients served by any of `bodies`.
async fn served_by(hub: &Hub, bodies: &[&str]) -> HashSet<String> {
    use kotohub_programme::entity::client_body;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let txn = kotohub::seed::unrestricted(&hub.dbs.programme)
        .await
        .unwrap();
    let ids: Vec<String> = client_body::Entity::find()
        .select_only()
        .column(client_body::Column::ClientId)
        .filter(client_body::Column::BodyId.is_in(bodies.iter().copied()))
        .into_tuple()
        .all(&txn)
        .await
        .unwrap();
    ids.into_iter().collect()
}

/// Every client id and every responsible body id of a record in `value`.
fn people_and_bodies(value: &Value, clients: &mut BTreeSet<String>, bodies: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("client", Value::Object(client)) => {
                        if let Some(Value::String(id)) = client.get("id") {
                            clients.insert(id.clone());
                        }
                    }
                    ("clients", Value::Array(list)) => {
                        for client in list {
                            if let Some(Value::String(id)) = client.get("id") {
                                clients.insert(id.clone());
                            }
                        }
                    }
                    ("responsibleBody", Value::Object(body)) => {
                        if let Some(Value::String(id)) = body.get("id") {
                            bodies.insert(id.clone());
                        }
                    }
                    _ => {}
                }
                people_and_bodies(inner, clients, bodies);
            }
        }
        Value::Array(list) => list
            .iter()
            .for_each(|item| people_and_bodies(item, clients, bodies)),
        _ => {}
    }
}

/// What a role may expect of an operation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Answered in full, no errors.
    Allow,
    /// Answered without errors, but only rows of the caller's bodies.
    Scoped,
    /// Refused at these paths with FORBIDDEN; the rest answered.
    Partial(&'static [&'static str]),
    /// Nothing readable: every root field refused.
    Deny(&'static [&'static str]),
}

struct Operation {
    name: &'static str,
    query: &'static str,
    /// Expectation for officer, partner, analyst, auditor, admin.
    expect: [Expect; 5],
}

const PERSON: Expect = Expect::Scoped;

fn operations() -> Vec<Operation> {
    use Expect::*;
    vec![
        Operation {
            name: "catalog",
            query: "{ themes { id } measures { id responsibleBodies { id } } }",
            expect: [Allow, Allow, Allow, Allow, Allow],
        },
        Operation {
            name: "one measure",
            query: r#"{ measure(id: "1.3") { id summary indicators { id } } }"#,
            expect: [Allow, Allow, Allow, Allow, Allow],
        },
        Operation {
            name: "bodies and divisions",
            query: "{ divisions { id responsibleBodies { id } } }",
            expect: [Allow, Allow, Allow, Allow, Allow],
        },
        Operation {
            name: "clients list",
            query: "{ clients(first: 200) { id birthYear } }",
            expect: [
                PERSON,
                PERSON,
                Deny(&["clients"]),
                Deny(&["clients"]),
                Deny(&["clients"]),
            ],
        },
        Operation {
            name: "client by id",
            query: r#"{ client(id: "c0000001") { id motherTongue } }"#,
            expect: [
                PERSON,
                PERSON,
                Deny(&["client"]),
                Deny(&["client"]),
                Deny(&["client"]),
            ],
        },
        Operation {
            name: "filter by district",
            query: "{ clients(district: ITAINEN, first: 200) { id district } }",
            expect: [
                PERSON,
                PERSON,
                Deny(&["clients"]),
                Deny(&["clients"]),
                Deny(&["clients"]),
            ],
        },
        Operation {
            name: "records from a measure",
            query: r#"{ measure(id: "1.3") { id guidanceSessions(first: 200) { id responsibleBody { id } client { id } } } }"#,
            expect: [
                PERSON,
                Partial(&["measure.guidanceSessions"]),
                Partial(&["measure.guidanceSessions"]),
                Partial(&["measure.guidanceSessions"]),
                Partial(&["measure.guidanceSessions"]),
            ],
        },
        Operation {
            name: "join to other enrolments",
            query: r#"{ measure(id: "1.3") { guidanceSessions(first: 50) { client { id enrolments { responsibleBody { id } } supportPeriods { responsibleBody { id } } } } } }"#,
            expect: [
                PERSON,
                Deny(&["measure.guidanceSessions"]),
                Deny(&["measure.guidanceSessions"]),
                Deny(&["measure.guidanceSessions"]),
                Deny(&["measure.guidanceSessions"]),
            ],
        },
        Operation {
            name: "aliases and fragments",
            query: r#"{ a: client(id: "c0000002") { ...P } t: themes { id } } fragment P on Client { id birthYear }"#,
            expect: [
                PERSON,
                PERSON,
                Partial(&["a"]),
                Partial(&["a"]),
                Partial(&["a"]),
            ],
        },
        Operation {
            // `clients` is non-null: denied, its null takes `data` with it, as any
            // field error in a non-null position would.
            name: "a non-null list in an inline fragment",
            query: r#"{ b: clients(first: 20) { ... on Client { id } } t: themes { id } }"#,
            expect: [PERSON, PERSON, Deny(&["b"]), Deny(&["b"]), Deny(&["b"])],
        },
        Operation {
            name: "root record lists",
            query: "{ skillAssessments(first: 100) { id responsibleBody { id } } socialCases(first: 100) { id responsibleBody { id } } }",
            expect: [
                PERSON,
                Deny(&["skillAssessments", "socialCases"]),
                Deny(&["skillAssessments", "socialCases"]),
                Deny(&["skillAssessments", "socialCases"]),
                Deny(&["skillAssessments", "socialCases"]),
            ],
        },
        Operation {
            name: "events",
            query: "{ culturalEvents(first: 50) { title responsibleBody { id } } }",
            expect: [
                PERSON,
                Deny(&["culturalEvents"]),
                Deny(&["culturalEvents"]),
                Deny(&["culturalEvents"]),
                Deny(&["culturalEvents"]),
            ],
        },
        Operation {
            name: "introspection",
            query: "{ __schema { queryType { name } } __type(name: \"Client\") { name } }",
            expect: [Allow, Allow, Allow, Allow, Allow],
        },
        Operation {
            name: "typename only",
            query: "{ __typename }",
            expect: [Allow, Allow, Allow, Allow, Allow],
        },
        Operation {
            name: "client statistics",
            query: "{ clientStatistics(by: [DISTRICT]) { total { clients } cells { district clients suppressed } } }",
            expect: [
                Deny(&["clientStatistics"]),
                Deny(&["clientStatistics"]),
                Allow,
                Deny(&["clientStatistics"]),
                Deny(&["clientStatistics"]),
            ],
        },
        Operation {
            name: "event statistics",
            query: r#"{ eventStatistics(by: [LANGUAGES], measure: "1.3") { total { events } cells { languages events suppressed } } }"#,
            expect: [
                Deny(&["eventStatistics"]),
                Deny(&["eventStatistics"]),
                Allow,
                Deny(&["eventStatistics"]),
                Deny(&["eventStatistics"]),
            ],
        },
        Operation {
            name: "statistics of another division",
            query: r#"{ clientStatistics(by: [], division: "education") { total { clients } } }"#,
            expect: [
                Deny(&["clientStatistics"]),
                Deny(&["clientStatistics"]),
                Deny(&["clientStatistics"]),
                Deny(&["clientStatistics"]),
                Deny(&["clientStatistics"]),
            ],
        },
        Operation {
            name: "the access log",
            query: "{ auditEvents(first: 5) { id subject decision clientIds } }",
            expect: [
                Deny(&["auditEvents"]),
                Deny(&["auditEvents"]),
                Deny(&["auditEvents"]),
                Allow,
                Deny(&["auditEvents"]),
            ],
        },
        Operation {
            name: "saved-query definitions",
            query: "{ savedQueries { name ownerBody document variables { name type } } }",
            expect: [
                Allow,
                Deny(&["savedQueries"]),
                Deny(&["savedQueries"]),
                Allow,
                Allow,
            ],
        },
        Operation {
            name: "a saved query run",
            query: r#"{ runSavedQuery(name: "ohjaamo-events-in-other-languages", variables: {first: 3}) }"#,
            expect: [
                PERSON,
                Deny(&["runSavedQuery"]),
                Deny(&["runSavedQuery"]),
                Deny(&["runSavedQuery.networkingEvents"]),
                Deny(&["runSavedQuery.networkingEvents"]),
            ],
        },
        Operation {
            name: "projects",
            query: "{ projects { id startsOn bodies { id kind } measures { id } } }",
            expect: [Allow, Allow, Allow, Allow, Allow],
        },
        Operation {
            name: "sponsor groups and sponsorships",
            query: "{ sponsorGroups(first: 20) { id responsibleBody { id } sponsorships(first: 20) { responsibleBody { id } client { id } } } }",
            expect: [
                PERSON,
                PERSON,
                Deny(&["sponsorGroups"]),
                Deny(&["sponsorGroups"]),
                Deny(&["sponsorGroups"]),
            ],
        },
        Operation {
            name: "sponsorships beside a client's records",
            query: "{ sponsorships(first: 20) { client { id sponsorships { responsibleBody { id } } socialCases { responsibleBody { id } } } } }",
            expect: [
                PERSON,
                // `sponsorships` is non-null: its null takes `data` with it.
                Deny(&["sponsorships.client.socialCases"]),
                Deny(&["sponsorships"]),
                Deny(&["sponsorships"]),
                Deny(&["sponsorships"]),
            ],
        },
        Operation {
            // Members are listed under the alias `clients`, so that the check sees them.
            name: "households",
            query: "{ clients(first: 100) { id household { kind clients: members { id } } } }",
            expect: [
                PERSON,
                PERSON,
                Deny(&["clients"]),
                Deny(&["clients"]),
                Deny(&["clients"]),
            ],
        },
        Operation {
            name: "referrals",
            query: "{ referrals(first: 50) { result client { id } } }",
            expect: [
                PERSON,
                Deny(&["referrals"]),
                Deny(&["referrals"]),
                Deny(&["referrals"]),
                Deny(&["referrals"]),
            ],
        },
        Operation {
            // `clientStatistics` is non-null: denied, its null takes `data` with it.
            name: "statistics beside the catalog",
            query: r#"{ themes { id } clientStatistics(by: [GENDER], measure: "1.3") { cells { gender clients suppressed } } }"#,
            expect: [
                Deny(&["clientStatistics"]),
                Deny(&["clientStatistics"]),
                Allow,
                Deny(&["clientStatistics"]),
                Deny(&["clientStatistics"]),
            ],
        },
    ]
}

fn roles() -> [(Principal, &'static [&'static str]); 5] {
    [
        (principal(Role::Officer, &["ohjaamo"]), &["ohjaamo"]),
        (
            principal(Role::Partner, &["finnish-red-cross"]),
            &["finnish-red-cross"],
        ),
        (
            Principal::new(
                "test-analyst",
                [Role::Analyst],
                ["ohjaamo".to_owned()],
                Some("employment".to_owned()),
            ),
            &[],
        ),
        (principal(Role::Auditor, &[]), &[]),
        (principal(Role::Admin, &[]), &[]),
    ]
}

async fn the_role_matrix_holds(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 600).await else {
        return;
    };
    let mut served = Vec::new();
    for (_, bodies) in roles() {
        served.push(served_by(&hub, bodies).await);
    }
    assert!(!served[0].is_empty() && !served[1].is_empty());
    let mut cases = 0;
    for operation in operations() {
        for (index, (who, bodies)) in roles().into_iter().enumerate() {
            let case = format!("{} as {:?}", operation.name, who.roles);
            let body = hub
                .query_as("gateway", &who, operation.query, json!({}))
                .await;
            let mut clients = BTreeSet::new();
            let mut seen_bodies = BTreeSet::new();
            people_and_bodies(&body["data"], &mut clients, &mut seen_bodies);
            match operation.expect[index] {
                Expect::Allow => {
                    assert!(body.get("errors").is_none(), "{case}: {body}");
                    assert!(body["data"].is_object(), "{case}: {body}");
                }
                Expect::Scoped => {
                    assert!(body.get("errors").is_none(), "{case}: {body}");
                    for client in &clients {
                        assert!(
                            served[index].contains(client),
                            "{case}: {client} is not served by {bodies:?}"
                        );
                    }
                    for body_id in &seen_bodies {
                        assert!(
                            bodies.contains(&body_id.as_str()),
                            "{case}: a row of {body_id}"
                        );
                    }
                }
                Expect::Partial(paths) | Expect::Deny(paths) => {
                    let refused = forbidden_paths(&body);
                    let mut expected: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
                    expected.sort();
                    assert_eq!(refused, expected, "{case}: {body}");
                    assert!(
                        clients.is_empty() && seen_bodies.is_empty(),
                        "{case}: person-level data in {body}"
                    );
                    if matches!(operation.expect[index], Expect::Deny(_)) {
                        assert!(
                            body["data"].is_null()
                                || body["data"].as_object().is_some_and(|d| d
                                    .values()
                                    .all(|v| !v.is_array() || v.as_array().unwrap().is_empty())),
                            "{case}: {body}"
                        );
                    } else {
                        assert!(
                            body["data"].is_object(),
                            "{case}: the rest is answered: {body}"
                        );
                        // The answer keeps the shape asked for: a denied field is null
                        // at its path, not missing (or a non-null one's null took a
                        // parent with it).
                        for path in paths.iter() {
                            let mut at = &body["data"];
                            for key in path.split('.') {
                                if at.is_null() {
                                    break;
                                }
                                assert!(at.get(key).is_some(), "{case}: {path} missing: {body}");
                                at = &at[key];
                            }
                            assert!(at.is_null(), "{case}: {path} is not null: {body}");
                        }
                    }
                }
            }
            cases += 1;
        }
    }
    assert!(cases >= 120, "{cases} cases");
    hub.stop().await;
}

async fn officers_see_only_their_bodies_rows_by_every_path(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 600).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let ours = served_by(&hub, &["ohjaamo"]).await;
    let everyone: HashSet<String> = hub.served_clients().await.into_iter().collect();
    let theirs: Vec<&String> = everyone.difference(&ours).collect();
    assert!(!theirs.is_empty() && !ours.is_empty());
    let stranger = theirs[0].clone();
    let own = ours.iter().next().unwrap().clone();

    // By id: another body's client is null; an own client is there.
    let q = "query($id: ID!) { client(id: $id) { id birthYear enrolments { id } guidanceSessions { id responsibleBody { id } } } }";
    let body = hub
        .query_as("gateway", &officer, q, json!({ "id": stranger }))
        .await;
    assert!(body["data"]["client"].is_null(), "{body}");
    let body = hub
        .query_as("gateway", &officer, q, json!({ "id": own }))
        .await;
    assert_eq!(body["data"]["client"]["id"], own.as_str(), "{body}");
    assert!(
        body["data"]["client"]["enrolments"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no education body is Ohjaamo: {body}"
    );

    // Through `_entities` sent straight to the gateway: not part of the API schema.
    let body = hub
        .query_as(
            "gateway",
            &officer,
            r#"{ _entities(representations: [{__typename: "Client", id: "c0000001"}]) { ... on Client { birthYear } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{body}"
    );
    assert!(body.get("data").is_none());

    // Through `_entities` at a subgraph with a valid principal: still only Ohjaamo's rows.
    let body = hub
        .query_as(
            "programme",
            &officer,
            r#"query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Client { id birthYear } } }"#,
            json!({ "reps": [{ "__typename": "Client", "id": stranger }, { "__typename": "Client", "id": own }] }),
        )
        .await;
    assert!(body["data"]["_entities"][0].is_null(), "{body}");
    assert_eq!(body["data"]["_entities"][1]["id"], own.as_str());

    // Through a count: the list an officer pages through is exactly its clients.
    let mut listed = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let body = hub
            .query_as(
                "gateway",
                &officer,
                "query($after: ID) { clients(first: 100, after: $after) { id } }",
                json!({ "after": after }),
            )
            .await;
        let page = crate::helpers::ids(&body["data"]["clients"]);
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        listed.extend(page);
    }
    assert_eq!(listed, ours.iter().cloned().collect::<BTreeSet<_>>());

    // Through a filter on another body's measure: nothing.
    let body = hub
        .query_as(
            "gateway",
            &officer,
            r#"{ socialCases(measure: "9.5", first: 100) { id } enrolments(first: 100) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["socialCases"], json!([]), "{body}");
    assert_eq!(body["data"]["enrolments"], json!([]), "{body}");
    hub.stop().await;
}

async fn bad_tokens_get_401_and_nothing_else(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let now = jsonwebtoken::get_current_timestamp();
    let claims = |iss: &str, aud: &str, exp: u64| json!({ "sub": "x", "roles": ["officer"], "bodies": ["ohjaamo"], "iss": iss, "aud": aud, "exp": exp });
    let sign = |claims: Value, secret: &str| {
        kotohub_auth::token::sign_claims(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let good = sign(
        claims(crate::helpers::ISSUER, crate::helpers::AUDIENCE, now + 60),
        crate::helpers::DEV_SECRET,
    );
    let unsigned = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[0] = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0".to_owned(); // {"alg":"none","typ":"JWT"}
        parts[2].clear();
        parts.join(".")
    };
    let cases = [
        ("missing", None),
        ("not bearer", Some("Basic a2F0aDpzZWNyZXQ=".to_owned())),
        ("garbage", Some("Bearer not-a-token".to_owned())),
        (
            "forged signature",
            Some(format!(
                "Bearer {}",
                sign(
                    claims(crate::helpers::ISSUER, crate::helpers::AUDIENCE, now + 60),
                    "someone-elses-secret-someone-else"
                )
            )),
        ),
        ("alg none", Some(format!("Bearer {unsigned}"))),
        (
            "wrong issuer",
            Some(format!(
                "Bearer {}",
                sign(
                    claims("evil", crate::helpers::AUDIENCE, now + 60),
                    crate::helpers::DEV_SECRET
                )
            )),
        ),
        (
            "wrong audience",
            Some(format!(
                "Bearer {}",
                sign(
                    claims(crate::helpers::ISSUER, "other-app", now + 60),
                    crate::helpers::DEV_SECRET
                )
            )),
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                sign(
                    claims(crate::helpers::ISSUER, crate::helpers::AUDIENCE, now - 300),
                    crate::helpers::DEV_SECRET
                )
            )),
        ),
        ("internal header instead of a token", None),
    ];
    for (name, authorization) in cases {
        let mut headers = Vec::new();
        if let Some(value) = authorization {
            headers.push(("authorization", value));
        }
        if name.starts_with("internal") {
            headers.push(hub.credential("programme", &officer));
        }
        let (status, body) = hub
            .post_with(
                "gateway",
                r#"{"query":"{ clients(first: 5) { id } themes { id } }"}"#,
                &headers,
            )
            .await;
        assert_eq!(status, 401, "{name}: {body}");
        assert!(body.get("data").is_none(), "{name}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{name}"
        );
    }
    // The good token works, so the refusals above are about the tokens.
    let (status, body) = hub
        .post_with(
            "gateway",
            r#"{"query":"{ themes { id } }"}"#,
            &[("authorization", format!("Bearer {good}"))],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    hub.stop().await;
}

async fn subgraphs_refuse_requests_without_a_valid_principal(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let forger = kotohub_auth::internal::InternalKey::new("not-the-gateways-key-not-the-gateways");
    let bearer = format!("Bearer {}", hub.token(&officer));
    for subgraph in kotohub::SUBGRAPHS {
        let forged = forger.sign(&officer, subgraph, "forged-request");
        // The gateway's own signature, but for another subgraph: what a subgraph that
        // kept a header it was sent would try elsewhere.
        let elsewhere = if subgraph == "programme" {
            "culture"
        } else {
            "programme"
        };
        let replayed = hub.credential(elsewhere, &officer);
        let (status, body) = hub
            .post_with(
                elsewhere,
                r#"{"query":"{ __typename }"}"#,
                std::slice::from_ref(&replayed),
            )
            .await;
        assert_eq!(status, 200, "{elsewhere}: {body}");
        for headers in [
            vec![],
            vec![(kotohub_auth::internal::HEADER, forged)],
            // A user's token is not the gateway's signature.
            vec![("authorization", bearer.clone())],
            vec![replayed],
        ] {
            let (status, body) = hub
                .post_with(subgraph, r#"{"query":"{ __typename }"}"#, &headers)
                .await;
            assert_eq!(status, 401, "{subgraph}: {body}");
            assert!(body.get("data").is_none(), "{subgraph}: {body}");
        }
    }
    // A principal with no row scope (an analyst) gets no rows even from a subgraph that
    // has not been told about field rules.
    let analyst = principal(Role::Analyst, &["ohjaamo"]);
    let body = hub.query_as("employment", &analyst, "{ skillAssessments(first: 100) { id } guidanceSessions: networkingEvents(first: 10) { title } }", json!({})).await;
    assert_eq!(body["data"]["skillAssessments"], json!([]), "{body}");
    assert_eq!(body["data"]["guidanceSessions"], json!([]), "{body}");
    hub.stop().await;
}

/// A small deterministic generator, so a failing case can be replayed from its seed.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

async fn random_queries_never_leave_the_bodies_scope(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 400).await else {
        return;
    };
    let catalog = kotohub_programme::catalog::Catalog::embedded().unwrap();
    let all_bodies: Vec<&str> = catalog.bodies.iter().map(|b| b.id.as_str()).collect();
    let client_fields = [
        "skillAssessments { responsibleBody { id } }",
        "guidanceSessions { responsibleBody { id } }",
        "employmentOutcomes { responsibleBody { id } }",
        "enrolments { responsibleBody { id } }",
        "qualifications { responsibleBody { id } }",
        "socialCases { responsibleBody { id } }",
        "supportPeriods { responsibleBody { id } }",
        "participations { responsibleBody { id } }",
        "cultureOutcomes { responsibleBody { id } }",
    ];
    let roots = [
        "clients(first: 100) { id CLIENT }",
        "client(id: \"c00000ID\") { id CLIENT }",
        "skillAssessments(first: 100) { responsibleBody { id } client { id CLIENT } }",
        "enrolments(first: 100) { responsibleBody { id } client { id CLIENT } }",
        "participations(first: 100) { responsibleBody { id } client { id CLIENT } }",
        "socialCases(first: 100) { responsibleBody { id } client { id CLIENT } }",
        "measure(id: \"MEASURE\") { guidanceSessions(first: 50) { responsibleBody { id } client { id CLIENT } } enrolments(first: 50) { client { id CLIENT } } }",
    ];
    let measures: Vec<&str> = catalog.measures.iter().map(|m| m.id.as_str()).collect();
    let mut generator = Generator(2017);
    for round in 0..30 {
        let count = 1 + (generator.next() % 2) as usize;
        let bodies: Vec<&str> = (0..count).map(|_| *generator.pick(&all_bodies)).collect();
        let officer = principal(Role::Officer, &bodies);
        let served = served_by(&hub, &bodies).await;
        let mut selection = String::new();
        for (n, _) in (0..1 + generator.next() % 3).enumerate() {
            let measure: &&str = generator.pick(&measures);
            let root = generator
                .pick(&roots)
                .replace(
                    "CLIENT",
                    &format!(
                        "{} {}",
                        generator.pick(&client_fields),
                        generator.pick(&client_fields)
                    ),
                )
                .replace("ID", &format!("{:02}", 1 + generator.next() % 99))
                .replace("MEASURE", measure);
            selection.push_str(&format!(" r{n}: {root}"));
        }
        let query = format!("{{{selection} }}");
        let body = hub.query_as("gateway", &officer, &query, json!({})).await;
        assert!(
            body.get("errors").is_none(),
            "round {round}, {bodies:?}: {query}: {body}"
        );
        let (mut clients, mut seen) = (BTreeSet::new(), BTreeSet::new());
        people_and_bodies(&body["data"], &mut clients, &mut seen);
        for client in &clients {
            assert!(
                served.contains(client),
                "round {round}, {bodies:?}: {client} in {query}"
            );
        }
        for body_id in &seen {
            assert!(
                bodies.contains(&body_id.as_str()),
                "round {round}, {bodies:?}: {body_id} in {query}"
            );
        }
    }
    hub.stop().await;
}

async fn errors_suggest_no_names_and_introspection_needs_a_token(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    // A misspelt field or argument is refused without naming the fields it resembles,
    // whoever asks: suggestions would map the schema for a caller who may read none of it.
    let misspelt = r#"{ measurs { id } measure(idd: "1.3") { summry } clints { naem } }"#;
    for role in Role::ALL {
        let body = hub
            .query_as(
                "gateway",
                &principal(role, &["ohjaamo"]),
                misspelt,
                json!({}),
            )
            .await;
        let errors = body["errors"].as_array().unwrap();
        assert!(errors.len() >= 3, "{role}: {body}");
        for error in errors {
            let message = error["message"].as_str().unwrap().to_lowercase();
            for hint in ["did you mean", "measures", "summary", "clients", "name`"] {
                assert!(
                    !message.contains(hint),
                    "{role}: {message:?} suggests {hint:?}"
                );
            }
        }
    }
    // Introspection is an operation like any other: no token, no schema.
    let (status, body) = hub
        .post_with(
            "gateway",
            r#"{"query":"{ __schema { types { name } } }"}"#,
            &[],
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    hub.stop().await;
}
