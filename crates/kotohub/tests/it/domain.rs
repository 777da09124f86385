//! The seeds' whole domain end to end: a quota refugee family followed in one query from
//! its arrival through a sponsor group (partners), the immigration unit's integration
//! case (social), a referral to the Skill Center (programme) and an employment outcome
//! (employment) — each part answered by the subgraph that owns it and only to the bodies
//! allowed — and the partner role's rules against tokens that try to reach past them.

use chrono::NaiveDate;
use kotohub_auth::{Principal, Role};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, Hub, PURPOSE, PURPOSE_HEADER, error_codes, event_of, forbidden_paths, principal,
};

crate::on_both_backends!(
    a_quota_refugee_family_is_followed_across_the_hub,
    a_partner_reads_only_its_own_organisations_rows,
    the_demo_data_holds_the_seeds_domain,
);

/// The hand-built family's members and their sponsor group.
pub struct Family {
    pub parent: String,
    pub child: String,
    pub group: i64,
}

const PARENT: &str = "c9000001";
const CHILD: &str = "c9000002";
const HOUSEHOLD: &str = "h90000001";
const SOCIAL: &str = "social-services-health-care";
const SKILL_CENTER: &str = "helsinki-skill-center";
const RED_CROSS: &str = "finnish-red-cross";

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

async fn insert<A>(db: &DatabaseConnection, rows: Vec<A>)
where
    A: ActiveModelTrait + Send,
{
    let txn = kotohub::seed::unrestricted(db).await.unwrap();
    A::Entity::insert_many(rows)
        .exec_without_returning(&txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();
}

/// Writes a quota refugee family into `hub`'s databases, as the divisions and the
/// partner would report it: a single parent and a child who arrived in 2023, placed in
/// eastern Helsinki; the Red Cross's sponsor group supporting both; the immigration
/// unit's integration case for both; the parent referred to the Skill Center, assessed
/// there 31 days later and employed the next year.
pub async fn quota_refugee_family(hub: &Hub) -> Family {
    use kotohub_employment::entity::{employment_outcome, skill_assessment};
    use kotohub_partners::entity::{sponsor_group, sponsorship, wellbeing_discussion};
    use kotohub_programme::entity::{client, client_body, household, household_member, referral};
    use kotohub_social::entity::social_case;
    use kotohub_subgraph::vocab::District;

    let person = |id: &str, name: &str, born: i32| client::ActiveModel {
        id: Set(id.to_owned()),
        name: Set(name.to_owned()),
        birth_year: Set(born),
        gender: Set(client::Gender::Female),
        mother_tongue: Set("so".to_owned()),
        district: Set(District::Itainen),
        background: Set(client::Background::Immigrant),
        arrival_year: Set(Some(2023)),
        entry_route: Set(Some(client::EntryRoute::QuotaRefugee)),
    };
    insert(
        &hub.dbs.programme,
        vec![
            person(PARENT, "Hodan Family-Test", 1988),
            person(CHILD, "Amina Family-Test", 2012),
        ],
    )
    .await;
    insert(
        &hub.dbs.programme,
        vec![household::ActiveModel {
            id: Set(HOUSEHOLD.to_owned()),
            kind: Set(household::HouseholdKind::SingleParentFamily),
            reunified_on: Set(None),
        }],
    )
    .await;
    insert(
        &hub.dbs.programme,
        vec![
            household_member::ActiveModel {
                client_id: Set(PARENT.to_owned()),
                household_id: Set(HOUSEHOLD.to_owned()),
                role: Set(household_member::HouseholdRole::Parent),
            },
            household_member::ActiveModel {
                client_id: Set(CHILD.to_owned()),
                household_id: Set(HOUSEHOLD.to_owned()),
                role: Set(household_member::HouseholdRole::Child),
            },
        ],
    )
    .await;
    let served = [
        (PARENT, SOCIAL),
        (CHILD, SOCIAL),
        (PARENT, SKILL_CENTER),
        (PARENT, RED_CROSS),
        (CHILD, RED_CROSS),
    ];
    insert(
        &hub.dbs.programme,
        served
            .iter()
            .map(|(client, body)| client_body::ActiveModel {
                client_id: Set((*client).to_owned()),
                body_id: Set((*body).to_owned()),
            })
            .collect(),
    )
    .await;
    insert(
        &hub.dbs.programme,
        vec![referral::ActiveModel {
            id: NotSet,
            client_id: Set(PARENT.to_owned()),
            measure_id: Set("1.1".to_owned()),
            from_body_id: Set(SOCIAL.to_owned()),
            to_body_id: Set(SKILL_CENTER.to_owned()),
            referred_on: Set(day("2023-09-01")),
            started_on: Set(Some(day("2023-10-02"))),
            result: Set(referral::ReferralResult::Started),
        }],
    )
    .await;
    insert(
        &hub.dbs.social,
        [PARENT, CHILD]
            .iter()
            .map(|client| social_case::ActiveModel {
                id: NotSet,
                client_id: Set((*client).to_owned()),
                measure_id: Set("9.5".to_owned()),
                body_id: Set(SOCIAL.to_owned()),
                kind: Set(social_case::CaseKind::RefugeeIntegration),
                opened_on: Set(day("2023-03-01")),
                closed_on: Set(Some(day("2025-06-30"))),
            })
            .collect(),
    )
    .await;
    insert(
        &hub.dbs.employment,
        vec![skill_assessment::ActiveModel {
            id: NotSet,
            client_id: Set(PARENT.to_owned()),
            measure_id: Set("1.1".to_owned()),
            body_id: Set(SKILL_CENTER.to_owned()),
            assessed_on: Set(day("2023-10-02")),
            skill_area: Set("care".to_owned()),
            level: Set("A2".to_owned()),
        }],
    )
    .await;
    insert(
        &hub.dbs.employment,
        vec![employment_outcome::ActiveModel {
            id: NotSet,
            client_id: Set(PARENT.to_owned()),
            measure_id: Set("4.21".to_owned()),
            body_id: Set(SKILL_CENTER.to_owned()),
            kind: Set(employment_outcome::EmploymentOutcomeKind::Employed),
            occurred_on: Set(day("2024-09-16")),
            work_hours: Set(None),
        }],
    )
    .await;
    let txn = kotohub::seed::unrestricted(&hub.dbs.partners)
        .await
        .unwrap();
    let group = sponsor_group::ActiveModel {
        id: NotSet,
        measure_id: Set("5.1".to_owned()),
        body_id: Set(RED_CROSS.to_owned()),
        name: Set("Family test sponsor group".to_owned()),
        municipality: Set("Helsinki".to_owned()),
        formed_on: Set(day("2023-02-01")),
        ended_on: Set(None),
    }
    .insert(&txn)
    .await
    .unwrap();
    txn.commit().await.unwrap();
    insert(
        &hub.dbs.partners,
        [PARENT, CHILD]
            .iter()
            .map(|client| sponsorship::ActiveModel {
                id: NotSet,
                client_id: Set((*client).to_owned()),
                measure_id: Set("5.1".to_owned()),
                body_id: Set(RED_CROSS.to_owned()),
                group_id: Set(group.id),
                started_on: Set(day("2023-03-10")),
                ended_on: Set(Some(day("2024-03-10"))),
            })
            .collect(),
    )
    .await;
    insert(
        &hub.dbs.partners,
        vec![wellbeing_discussion::ActiveModel {
            id: NotSet,
            client_id: Set(PARENT.to_owned()),
            measure_id: Set("5.1".to_owned()),
            body_id: Set(RED_CROSS.to_owned()),
            held_on: Set(day("2023-06-01")),
            language: Set("so".to_owned()),
            feels_welcome: Set(Some(true)),
            takes_part_in_activities: Set(None),
        }],
    )
    .await;
    Family {
        parent: PARENT.to_owned(),
        child: CHILD.to_owned(),
        group: group.id,
    }
}

/// The one query that follows the family: every part, whoever asks.
const FAMILY: &str = "query Family($id: ID!) { client(id: $id) { id entryRoute arrivalYear \
    householdRole household { kind reunifiedOn members { id householdRole \
    sponsorships { startedOn endedOn responsibleBody { id } group { name municipality } } \
    wellbeingDiscussions { heldOn feelsWelcome takesPartInActivities } \
    socialCases { kind openedOn closedOn responsibleBody { id } } \
    referrals { referredOn startedOn daysToStart result fromBody { id kind } toBody { id } } \
    skillAssessments { assessedOn responsibleBody { id } } \
    employmentOutcomes { kind occurredOn } } } } }";

/// The part of it a partner organisation may read.
const PARTNERS_PART: &str = "query Family($id: ID!) { client(id: $id) { id entryRoute \
    arrivalYear household { kind members { id householdRole \
    sponsorships { startedOn responsibleBody { id } group { name municipality } } \
    wellbeingDiscussions { heldOn feelsWelcome } } } } }";

/// Asks `query` about the family's parent as `who`, with a purpose, under request id
/// `request`.
async fn ask(hub: &Hub, who: &Principal, request: &str, query: &str) -> Value {
    let headers = [
        ("authorization", format!("Bearer {}", hub.token(who))),
        (PURPOSE_HEADER, PURPOSE.to_owned()),
        ("x-request-id", request.to_owned()),
    ];
    let body = json!({ "query": query, "variables": { "id": PARENT } }).to_string();
    let (status, answer) = hub.post_with("gateway", &body, &headers).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The member with id `id` of an answer's household.
fn member<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["data"]["client"]["household"]["members"]
        .as_array()
        .unwrap_or_else(|| panic!("no members in {answer}"))
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no member {id} in {answer}"))
}

async fn a_quota_refugee_family_is_followed_across_the_hub(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    let family = quota_refugee_family(&hub).await;

    // The City's side: the social services' integration case, their referral, the Skill
    // Center's assessment and the employment outcome — and none of the partner's rows.
    let city = principal(Role::Officer, &[SOCIAL, SKILL_CENTER]);
    let answer = ask(&hub, &city, "family-city", FAMILY).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let client = &answer["data"]["client"];
    assert_eq!(client["entryRoute"], "QUOTA_REFUGEE");
    assert_eq!(client["householdRole"], "PARENT");
    assert_eq!(client["household"]["kind"], "SINGLE_PARENT_FAMILY");
    let parent = member(&answer, &family.parent);
    assert_eq!(
        parent["socialCases"],
        json!([{ "kind": "REFUGEE_INTEGRATION", "openedOn": "2023-03-01",
                 "closedOn": "2025-06-30", "responsibleBody": { "id": SOCIAL } }])
    );
    assert_eq!(
        parent["referrals"],
        json!([{ "referredOn": "2023-09-01", "startedOn": "2023-10-02", "daysToStart": 31,
                 "result": "STARTED", "fromBody": { "id": SOCIAL, "kind": "CITY" },
                 "toBody": { "id": SKILL_CENTER } }])
    );
    assert_eq!(
        parent["skillAssessments"],
        json!([{ "assessedOn": "2023-10-02", "responsibleBody": { "id": SKILL_CENTER } }])
    );
    assert_eq!(
        parent["employmentOutcomes"],
        json!([{ "kind": "EMPLOYED", "occurredOn": "2024-09-16" }])
    );
    assert_eq!(parent["sponsorships"], json!([]));
    assert_eq!(parent["wellbeingDiscussions"], json!([]));
    let child = member(&answer, &family.child);
    assert_eq!(child["householdRole"], "CHILD");
    assert_eq!(child["socialCases"].as_array().map(Vec::len), Some(1));
    assert_eq!(child["referrals"], json!([]));
    // The access log names both members among the clients the answer held.
    let event = event_of(&hub, "family-city").await;
    let held = event["client_ids"].as_array().unwrap();
    assert!(
        held.contains(&json!(family.parent)) && held.contains(&json!(family.child)),
        "{event}"
    );

    // The partner's side: the household and the sponsor group's support, in the same
    // query; the City's records are refused by type, never read.
    let red_cross = principal(Role::Partner, &[RED_CROSS]);
    let answer = ask(&hub, &red_cross, "family-partner-whole", FAMILY).await;
    assert_eq!(
        forbidden_paths(&answer),
        [
            "client.household.members.employmentOutcomes",
            "client.household.members.referrals",
            "client.household.members.skillAssessments",
            "client.household.members.socialCases",
        ],
        "{answer}"
    );
    let text = answer.to_string();
    for leak in [
        "REFUGEE_INTEGRATION",
        "EMPLOYED",
        "2023-10-02",
        SKILL_CENTER,
    ] {
        assert!(!text.contains(leak), "{leak} in {answer}");
    }
    let answer = ask(&hub, &red_cross, "family-partner", PARTNERS_PART).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let parent = member(&answer, &family.parent);
    assert_eq!(
        parent["sponsorships"],
        json!([{ "startedOn": "2023-03-10", "responsibleBody": { "id": RED_CROSS },
                 "group": { "name": "Family test sponsor group", "municipality": "Helsinki" } }])
    );
    assert_eq!(
        parent["wellbeingDiscussions"],
        json!([{ "heldOn": "2023-06-01", "feelsWelcome": true }])
    );
    assert_eq!(
        member(&answer, &family.child)["sponsorships"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let event = event_of(&hub, "family-partner").await;
    assert_eq!(event["decision"], "allowed");
    assert_eq!(event["purpose"], PURPOSE);
    assert_eq!(
        event["client_ids"],
        json!([family.parent, family.child]),
        "{event}"
    );
    // Names are the City's officers' alone.
    let answer = ask(
        &hub,
        &red_cross,
        "family-partner-name",
        "query($id: ID!) { client(id: $id) { id name } }",
    )
    .await;
    assert_eq!(forbidden_paths(&answer), ["client.name"], "{answer}");

    // The data-subject report finds every part, in every subgraph that holds one.
    let report = kotohub::subject_report::build(&hub.dbs, &hub.audit, &family.parent)
        .await
        .unwrap();
    let held: Vec<&str> = report.held.iter().map(|h| h.table.as_str()).collect();
    for table in [
        "clients",
        "household_members",
        "referrals",
        "social_cases",
        "skill_assessments",
        "employment_outcomes",
        "sponsorships",
        "wellbeing_discussions",
    ] {
        assert!(held.contains(&table), "{table} not in {held:?}");
    }

    // Bodies that serve the family in neither way see nothing of it.
    for (who, name) in [
        (principal(Role::Officer, &["ohjaamo"]), "officer of Ohjaamo"),
        (
            principal(Role::Partner, &["church-council"]),
            "another partner",
        ),
    ] {
        let answer = ask(&hub, &who, "family-stranger", PARTNERS_PART).await;
        assert!(answer.get("errors").is_none(), "{name}: {answer}");
        assert!(answer["data"]["client"].is_null(), "{name}: {answer}");
    }
    hub.stop().await;
}

async fn a_partner_reads_only_its_own_organisations_rows(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    let family = quota_refugee_family(&hub).await;
    let groups = "{ sponsorGroups(first: 100) { id responsibleBody { id } } \
                  sponsorships(first: 100) { responsibleBody { id } client { id } } }";
    let red_cross = principal(Role::Partner, &[RED_CROSS]);
    let answer = hub.query_as("gateway", &red_cross, groups, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let own = answer["data"]["sponsorGroups"].as_array().unwrap();
    let group_id = family.group.to_string();
    assert!(own.iter().any(|g| g["id"] == group_id.as_str()), "{answer}");
    assert!(own.iter().all(|g| g["responsibleBody"]["id"] == RED_CROSS));
    assert!(
        answer["data"]["sponsorships"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["responsibleBody"]["id"] == RED_CROSS)
    );

    // A partner token that also names a City body reads no rows at all: a partner can
    // never open a City body's clients, whatever its identity provider put in the token.
    // Nor does an officer's token that names a partner organisation.
    for (who, name) in [
        (
            principal(Role::Partner, &[RED_CROSS, SOCIAL]),
            "partner naming a City body",
        ),
        (principal(Role::Partner, &[]), "partner of no organisation"),
        (
            principal(Role::Officer, &[RED_CROSS]),
            "officer naming a partner",
        ),
        (
            principal(Role::Officer, &[RED_CROSS, SOCIAL]),
            "officer naming a partner and a City body",
        ),
    ] {
        let answer = hub.query_as("gateway", &who, groups, json!({})).await;
        assert!(answer.get("errors").is_none(), "{name}: {answer}");
        assert_eq!(answer["data"]["sponsorGroups"], json!([]), "{name}");
        assert_eq!(answer["data"]["sponsorships"], json!([]), "{name}");
        let answer = ask(&hub, &who, "reach", PARTNERS_PART).await;
        assert!(answer["data"]["client"].is_null(), "{name}: {answer}");
    }

    // What a partner may not read is refused by type, whoever's rows: referrals between
    // the City's bodies, the divisions' records, aggregates, the access log.
    for (query, field) in [
        ("{ referrals(first: 5) { id } }", "referrals"),
        ("{ socialCases(first: 5) { id } }", "socialCases"),
        ("{ skillAssessments(first: 5) { id } }", "skillAssessments"),
        (
            "{ clientStatistics(by: []) { total { clients } } }",
            "clientStatistics",
        ),
        ("{ auditEvents(first: 5) { id } }", "auditEvents"),
        (
            "{ measure(id: \"9.8\") { treatmentReferrals { id } } }",
            "measure.treatmentReferrals",
        ),
    ] {
        let answer = hub.query_as("gateway", &red_cross, query, json!({})).await;
        assert_eq!(error_codes(&answer), ["FORBIDDEN"], "{query}: {answer}");
        assert_eq!(forbidden_paths(&answer), [field], "{query}: {answer}");
    }
    // Person-level reads need a stated purpose from a partner as from an officer.
    let headers = [("authorization", format!("Bearer {}", hub.token(&red_cross)))];
    let (_, answer) = hub
        .post_with(
            "gateway",
            &json!({ "query": "{ sponsorships(first: 5) { id } }" }).to_string(),
            &headers,
        )
        .await;
    assert_eq!(error_codes(&answer), ["PURPOSE_REQUIRED"], "{answer}");
    assert!(answer.get("data").is_none_or(Value::is_null), "{answer}");
    hub.stop().await;
}

/// The rows `sql` reads from `db`, past the row rules.
async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    use sea_orm::{ConnectionTrait, Statement};
    let txn = kotohub::seed::unrestricted(db).await.unwrap();
    let found = txn
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    // Ended here: an open transaction would hold the schema the hub drops when it stops.
    txn.commit().await.unwrap();
    found
}

/// The number `sql` counts as `n` in `db`.
async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    rows(db, sql).await[0].try_get("", "n").unwrap()
}

async fn the_demo_data_holds_the_seeds_domain(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 2_000).await else {
        return;
    };
    let programme = &hub.dbs.programme;
    let partners = &hub.dbs.partners;
    // Families with children, and the reunited ones among them.
    assert!(
        count(
            programme,
            "SELECT count(*) AS n FROM households WHERE kind IN ('two_parent_family', 'single_parent_family')"
        )
        .await
            > 50
    );
    assert!(
        count(
            programme,
            "SELECT count(*) AS n FROM households WHERE reunified_on IS NOT NULL"
        )
        .await
            > 0
    );
    // Households of a page of clients, their members and the members' places load in
    // batches, not one statement per client or household (that would be 300 for the
    // memberships alone): how many batches the loaders' time window makes varies with
    // the machine's load, so the bound is half of that.
    hub.take_statements("programme");
    let page = hub
        .data(
            "programme",
            "{ clients(first: 300) { id household { kind members { id householdRole } } } }",
            json!({}),
        )
        .await;
    let statements = hub.take_statements("programme");
    let with_household = page["clients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["household"].is_null())
        .count();
    assert!(with_household > 100, "{with_household} of 300");
    assert!(statements < 150, "{statements} statements for 300 clients");
    // Every referral goes from one body to another, and a started one started after it
    // was made.
    assert!(count(programme, "SELECT count(*) AS n FROM referrals").await > 10);
    assert_eq!(
        count(
            programme,
            "SELECT count(*) AS n FROM referrals WHERE from_body_id = to_body_id \
             OR (started_on IS NOT NULL AND started_on < referred_on) \
             OR (result = 'started') <> (started_on IS NOT NULL)"
        )
        .await,
        0
    );
    // The Red Cross's and the parishes' groups, a little over a hundred sponsors across
    // fourteen municipalities' groups, and the refugees they support.
    let groups = count(partners, "SELECT count(*) AS n FROM sponsor_groups").await;
    let sponsors = count(partners, "SELECT count(*) AS n FROM sponsors").await;
    assert_eq!(groups, 14);
    assert!((70..=130).contains(&sponsors), "{sponsors}");
    assert!(count(partners, "SELECT count(*) AS n FROM sponsorships").await > 0);
    // Home to Helsinki: Russian- and Estonian-speaking young people in psychosocial support
    // in their own language during the project, 1999–2003, and nobody else.
    let supported = rows(
        &hub.dbs.social,
        "SELECT client_id, started_on FROM support_periods WHERE service = 'psychosocial_support'",
    )
    .await;
    assert!(!supported.is_empty());
    let tongues: std::collections::HashMap<String, (String, i32)> = rows(
        programme,
        "SELECT id, mother_tongue, birth_year FROM clients",
    )
    .await
    .iter()
    .map(|row| {
        (
            row.try_get("", "id").unwrap(),
            (
                row.try_get("", "mother_tongue").unwrap(),
                row.try_get("", "birth_year").unwrap(),
            ),
        )
    })
    .collect();
    for row in &supported {
        let client: String = row.try_get("", "client_id").unwrap();
        let started: NaiveDate = row.try_get("", "started_on").unwrap();
        let (tongue, born) = &tongues[&client];
        assert!(matches!(tongue.as_str(), "ru" | "et"), "{client}: {tongue}");
        assert!((day("1999-02-01")..=day("2003-12-31")).contains(&started));
        let age = chrono::Datelike::year(&started) - born;
        assert!((12..=24).contains(&age), "{client} was {age}");
    }
    // Everyone sponsored is a quota refugee the social services' integration case serves.
    let sponsored: Vec<String> = rows(partners, "SELECT client_id FROM sponsorships")
        .await
        .iter()
        .map(|row| row.try_get("", "client_id").unwrap())
        .collect();
    for client in &sponsored {
        let answer = hub
            .query_as(
                "gateway",
                &principal(Role::Officer, &[SOCIAL]),
                "query($id: ID!) { client(id: $id) { entryRoute socialCases { kind } } }",
                json!({ "id": client }),
            )
            .await;
        assert_eq!(
            answer["data"]["client"]["entryRoute"], "QUOTA_REFUGEE",
            "{client}: {answer}"
        );
        assert_eq!(
            answer["data"]["client"]["socialCases"][0]["kind"], "REFUGEE_INTEGRATION",
            "{client}: {answer}"
        );
    }
    hub.stop().await;
}
