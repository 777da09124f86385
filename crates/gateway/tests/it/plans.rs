//! The planning step: snapshots of the plans of the operations that matter (a reviewer
//! reads a changed plan in the snapshot diff), the cache, and the time bound.

use std::sync::Arc;
use std::time::Duration;

use kotohub_gateway::plan::{HivePlanner, PlanError, PlannerSettings, QueryPlanner};

use crate::supergraph;

fn planner() -> HivePlanner {
    HivePlanner::new(supergraph(), PlannerSettings::default())
}

fn plan(document: &str) -> String {
    planner().plan(document, None).unwrap().to_string()
}

#[test]
fn catalog_only_is_one_fetch() {
    insta::assert_snapshot!(plan(
        "{ measures(theme: 1) { id summary responsibleBodies { name } } }"
    ));
}

#[test]
fn measure_to_enrolments_to_clients_to_outcomes() {
    insta::assert_snapshot!(plan(
        r#"query($id: ID!) {
          measure(id: $id) {
            id summary
            enrolments(first: 50) {
              programme startedOn
              client { name district employmentOutcomes { kind occurredOn } participations { activity } }
            }
          }
        }"#
    ));
}

#[test]
fn division_records_join_the_client_core() {
    insta::assert_snapshot!(plan(
        r#"{ skillAssessments(measure: "1.1", first: 10) { level client { name motherTongue supportPeriods { service } } } }"#
    ));
}

#[test]
fn skip_and_include_become_conditions() {
    insta::assert_snapshot!(plan(
        r#"query($withOutcomes: Boolean!) { socialCases(first: 5) { kind client { name @include(if: $withOutcomes) } } }"#
    ));
}

#[test]
fn plans_are_cached_by_operation() {
    let planner = planner();
    let document = "{ themes { id title } }";
    let first = planner.plan(document, None).unwrap();
    let second = planner.plan(document, None).unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert!(Arc::ptr_eq(
        &planner.cached(document, None).unwrap(),
        &first
    ));
    assert!(planner.cached("{ themes { title } }", None).is_none());
    let other = planner.plan("{ themes { id } }", None).unwrap();
    assert!(!Arc::ptr_eq(&first, &other));
}

#[test]
fn planning_is_bounded_in_time() {
    let planner = HivePlanner::new(
        supergraph(),
        PlannerSettings {
            timeout: Duration::ZERO,
            ..PlannerSettings::default()
        },
    );
    let result = planner.plan("{ measures { enrolments { client { name } } } }", None);
    assert_eq!(result.unwrap_err(), PlanError::TimedOut(Duration::ZERO));
}

#[test]
fn links_to_several_programme_entities_batch_into_one_fetch() {
    insta::assert_snapshot!(plan(
        r#"{ skillAssessments(measure: "1.1", first: 5) { level client { name } measure { summary } responsibleBody { name } } }"#
    ));
}
