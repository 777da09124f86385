//! Review rules: which events of the access log an auditor should look at. Each rule
//! reads a stretch of events and flags what it finds, with the events behind it:
//!
//! - person-level data read outside working hours (Helsinki time, weekdays);
//! - one caller reading many distinct clients in a short time;
//! - a burst of refusals for one caller;
//! - one client read by several responsible bodies;
//! - every emergency (break-the-glass) access: its opening, and the reads under it.
//!
//! In the request flow this is `auditReview` in the audit subgraph: it reads the events
//! of the range asked and hands them here; nothing here touches the database.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};

use crate::entity::audit_event::Model;
use crate::entity::stored_list as list;

/// When a rule flags.
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// Working hours, Helsinki time: from `start` to before `end`, Monday to Friday.
    pub working_hours: (u32, u32),
    /// Distinct clients one caller may read within `window` before it is flagged.
    pub many_clients: usize,
    /// Refusals of one caller within `window` that make a burst.
    pub refusals: usize,
    pub window: Duration,
    /// Bodies that may read one client in the range before it is flagged.
    pub bodies_per_client: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            working_hours: (7, 18),
            many_clients: 50,
            refusals: 10,
            window: Duration::minutes(10),
            bodies_per_client: 3,
        }
    }
}

/// What a rule found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, async_graphql::Enum)]
#[graphql(name = "ReviewRule")]
pub enum Rule {
    OutsideWorkingHours,
    ManyClients,
    RefusalBurst,
    SeveralBodies,
    EmergencyAccess,
}

/// One finding, with the events it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub rule: Rule,
    /// The caller, for the rules about one caller.
    pub subject: Option<String>,
    /// The client, for the rule about one client.
    pub client: Option<String>,
    /// Positions of the events, in order.
    pub events: Vec<i64>,
    pub first_at: String,
    pub last_at: String,
    /// In words, with the figures.
    pub detail: String,
}

/// Every flag the rules raise on `events` (in the order they happened).
pub fn flags(events: &[Model], thresholds: &Thresholds) -> Vec<Flag> {
    let mut flags = Vec::new();
    flags.extend(outside_working_hours(events, thresholds));
    flags.extend(many_clients(events, thresholds));
    flags.extend(refusal_bursts(events, thresholds));
    flags.extend(several_bodies(events, thresholds));
    flags.extend(emergency_accesses(events));
    flags
}

/// The coordinate of the mutation that opens an emergency access.
const OPEN_EMERGENCY_ACCESS: &str = "Mutation.openEmergencyAccess";

/// Every emergency access is reviewed, whatever the thresholds: one flag per opening,
/// and one per access for the operations run under it.
fn emergency_accesses(events: &[Model]) -> Vec<Flag> {
    let mut flags = Vec::new();
    let mut uses: BTreeMap<&str, Vec<&Model>> = BTreeMap::new();
    for event in events {
        if let Some(access) = &event.emergency_access {
            uses.entry(access).or_default().push(event);
        }
        let opened = matches!(event.decision.as_str(), "allowed" | "partial")
            && list(&event.fields)
                .iter()
                .any(|f| f == OPEN_EMERGENCY_ACCESS);
        if opened {
            let client = list(&event.client_ids).into_iter().next();
            flags.push(Flag {
                subject: event.subject.clone(),
                detail: format!(
                    "opened an emergency access to client {}",
                    client.as_deref().unwrap_or("(not recorded)")
                ),
                client,
                ..flag(Rule::EmergencyAccess, &[event], String::new())
            });
        }
    }
    for (access, found) in uses {
        let clients: BTreeSet<String> = found.iter().flat_map(|e| list(&e.client_ids)).collect();
        flags.push(Flag {
            subject: found.first().and_then(|e| e.subject.clone()),
            client: clients.iter().next().cloned(),
            ..flag(
                Rule::EmergencyAccess,
                &found,
                format!(
                    "{} operation{} under emergency access {access}, reading {} client{}",
                    found.len(),
                    if found.len() == 1 { "" } else { "s" },
                    clients.len(),
                    if clients.len() == 1 { "" } else { "s" }
                ),
            )
        });
    }
    flags
}

fn at(event: &Model) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&event.occurred_at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn flag(rule: Rule, events: &[&Model], detail: String) -> Flag {
    let first = events
        .first()
        .map(|e| e.occurred_at.clone())
        .unwrap_or_default();
    let last = events
        .last()
        .map(|e| e.occurred_at.clone())
        .unwrap_or_default();
    Flag {
        rule,
        subject: None,
        client: None,
        events: events.iter().map(|e| e.seq).collect(),
        first_at: first,
        last_at: last,
        detail,
    }
}

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("the first of a month is a date");
    let last = next.pred_opt().expect("a month has a last day");
    let back = last.weekday().num_days_from_sunday();
    last - Duration::days(i64::from(back))
}

/// The time in Helsinki: UTC+2, and UTC+3 from the last Sunday of March to the last
/// Sunday of October, switching at 01:00 UTC as across the EU.
pub fn helsinki(time: DateTime<Utc>) -> DateTime<chrono::FixedOffset> {
    let year = time.year();
    let switch =
        |day: NaiveDate| Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).expect("01:00 is a time"));
    let summer = time >= switch(last_sunday(year, 3)) && time < switch(last_sunday(year, 10));
    let hours = if summer { 3 } else { 2 };
    time.with_timezone(
        &chrono::FixedOffset::east_opt(hours * 3600).expect("two or three hours is an offset"),
    )
}

/// Reads of person-level data on a weekend or outside working hours, Helsinki time; one
/// flag per caller and day.
fn outside_working_hours(events: &[Model], thresholds: &Thresholds) -> Vec<Flag> {
    let (start, end) = thresholds.working_hours;
    let mut by_day: BTreeMap<(String, NaiveDate), Vec<&Model>> = BTreeMap::new();
    for event in events {
        let (Some(time), Some(subject)) = (at(event), &event.subject) else {
            continue;
        };
        if list(&event.client_ids).is_empty() {
            continue;
        }
        let local = helsinki(time);
        let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
        if weekend || local.hour() < start || local.hour() >= end {
            by_day
                .entry((subject.clone(), local.date_naive()))
                .or_default()
                .push(event);
        }
    }
    by_day
        .into_iter()
        .map(|((subject, day), found)| Flag {
            subject: Some(subject),
            ..flag(
                Rule::OutsideWorkingHours,
                &found,
                format!(
                    "{} reads of person-level data on {day} outside {start:02}:00–{end:02}:00 on weekdays (Helsinki time)",
                    found.len()
                ),
            )
        })
        .collect()
}

/// The events of each caller, in order.
fn by_subject(events: &[Model]) -> BTreeMap<&str, Vec<(&Model, DateTime<Utc>)>> {
    let mut found: BTreeMap<&str, Vec<(&Model, DateTime<Utc>)>> = BTreeMap::new();
    for event in events {
        if let (Some(subject), Some(time)) = (event.subject.as_deref(), at(event)) {
            found.entry(subject).or_default().push((event, time));
        }
    }
    found
}

/// Windows of one caller's events (those `counts` says something of) in which what
/// they count reaches `threshold`: each flagged window is left whole before the next
/// is looked for, so that one burst is one flag.
fn windows<'a>(
    events: &[(&'a Model, DateTime<Utc>)],
    window: Duration,
    threshold: usize,
    counts: impl Fn(&[(&'a Model, DateTime<Utc>)]) -> usize,
) -> Vec<Vec<&'a Model>> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut end = 0;
    while end < events.len() {
        while events[end].1 - events[start].1 > window {
            start += 1;
        }
        if counts(&events[start..=end]) >= threshold {
            // Take in the rest of the burst that still falls within the window.
            let mut last = end;
            while last + 1 < events.len() && events[last + 1].1 - events[start].1 <= window {
                last += 1;
            }
            found.push(events[start..=last].iter().map(|(e, _)| *e).collect());
            start = last + 1;
            end = last + 1;
            continue;
        }
        end += 1;
    }
    found
}

fn many_clients(events: &[Model], thresholds: &Thresholds) -> Vec<Flag> {
    let distinct = |events: &[(&Model, DateTime<Utc>)]| {
        events
            .iter()
            .flat_map(|(e, _)| list(&e.client_ids))
            .collect::<BTreeSet<_>>()
            .len()
    };
    let mut flags = Vec::new();
    for (subject, mine) in by_subject(events) {
        let reads: Vec<_> = mine
            .into_iter()
            .filter(|(e, _)| !list(&e.client_ids).is_empty())
            .collect();
        for found in windows(&reads, thresholds.window, thresholds.many_clients, distinct) {
            let clients: BTreeSet<String> =
                found.iter().flat_map(|e| list(&e.client_ids)).collect();
            flags.push(Flag {
                subject: Some(subject.to_owned()),
                ..flag(
                    Rule::ManyClients,
                    &found,
                    format!(
                        "{} distinct clients read within {} minutes",
                        clients.len(),
                        thresholds.window.num_minutes()
                    ),
                )
            });
        }
    }
    flags
}

fn refusal_bursts(events: &[Model], thresholds: &Thresholds) -> Vec<Flag> {
    let mut flags = Vec::new();
    for (subject, mine) in by_subject(events) {
        let refused: Vec<_> = mine
            .into_iter()
            .filter(|(e, _)| e.decision == "refused")
            .collect();
        for found in windows(&refused, thresholds.window, thresholds.refusals, <[_]>::len) {
            flags.push(Flag {
                subject: Some(subject.to_owned()),
                ..flag(
                    Rule::RefusalBurst,
                    &found,
                    format!(
                        "{} refusals within {} minutes",
                        found.len(),
                        thresholds.window.num_minutes()
                    ),
                )
            });
        }
    }
    flags
}

fn several_bodies(events: &[Model], thresholds: &Thresholds) -> Vec<Flag> {
    let mut by_client: BTreeMap<String, (BTreeSet<String>, Vec<&Model>)> = BTreeMap::new();
    for event in events {
        let bodies = list(&event.bodies);
        if bodies.is_empty() {
            continue;
        }
        for client in list(&event.client_ids) {
            let entry = by_client.entry(client).or_default();
            entry.0.extend(bodies.iter().cloned());
            entry.1.push(event);
        }
    }
    by_client
        .into_iter()
        .filter(|(_, (bodies, _))| bodies.len() >= thresholds.bodies_per_client)
        .map(|(client, (bodies, found))| Flag {
            client: Some(client),
            ..flag(
                Rule::SeveralBodies,
                &found,
                format!(
                    "read by {} bodies: {}",
                    bodies.len(),
                    bodies.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event of `subject` (of `body`) at `time` (UTC), holding `clients`.
    fn event(
        seq: i64,
        time: &str,
        subject: &str,
        body: &str,
        clients: &[&str],
        decision: &str,
    ) -> Model {
        Model {
            occurred_at: time.to_owned(),
            subject: Some(subject.to_owned()),
            bodies: serde_json::to_string(&[body]).unwrap(),
            client_ids: serde_json::to_string(clients).unwrap(),
            row_count: clients.len() as i64,
            decision: decision.to_owned(),
            ..Model::example(seq)
        }
    }

    fn rules(flags: &[Flag]) -> Vec<(Rule, Vec<i64>)> {
        flags.iter().map(|f| (f.rule, f.events.clone())).collect()
    }

    #[test]
    fn helsinki_keeps_summer_time_from_march_to_october() {
        let time = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc)
        };
        // 2026: summer time from 29 March to 25 October.
        assert_eq!(helsinki(time("2026-01-15T10:00:00Z")).hour(), 12);
        assert_eq!(helsinki(time("2026-03-29T00:59:00Z")).hour(), 2);
        assert_eq!(helsinki(time("2026-03-29T01:00:00Z")).hour(), 4);
        assert_eq!(helsinki(time("2026-07-01T10:00:00Z")).hour(), 13);
        assert_eq!(helsinki(time("2026-10-25T00:59:00Z")).hour(), 3);
        assert_eq!(helsinki(time("2026-10-25T01:00:00Z")).hour(), 3);
        assert_eq!(helsinki(time("2026-10-25T02:00:00Z")).hour(), 4);
    }

    #[test]
    fn reads_at_night_or_on_a_weekend_are_flagged_once_a_day_and_daytime_ones_not() {
        let events = vec![
            // Monday 7 December 2026, Helsinki UTC+2.
            event(
                1,
                "2026-12-07T08:00:00Z",
                "ann",
                "ohjaamo",
                &["c1"],
                "allowed",
            ),
            event(
                2,
                "2026-12-07T19:30:00Z",
                "ann",
                "ohjaamo",
                &["c1"],
                "allowed",
            ),
            event(
                3,
                "2026-12-07T20:10:00Z",
                "ann",
                "ohjaamo",
                &["c2"],
                "allowed",
            ),
            // A night-time read of no one's data.
            event(4, "2026-12-07T21:00:00Z", "ann", "ohjaamo", &[], "allowed"),
            // Saturday 12 December, midday.
            event(
                5,
                "2026-12-12T10:00:00Z",
                "bob",
                "helmi",
                &["c3"],
                "allowed",
            ),
            // Monday 16:59 Helsinki: within hours.
            event(
                6,
                "2026-12-07T14:59:00Z",
                "bob",
                "helmi",
                &["c3"],
                "allowed",
            ),
        ];
        let found = outside_working_hours(&events, &Thresholds::default());
        assert_eq!(
            rules(&found),
            [
                (Rule::OutsideWorkingHours, vec![2, 3]),
                (Rule::OutsideWorkingHours, vec![5])
            ]
        );
        assert_eq!(found[0].subject.as_deref(), Some("ann"));
    }

    #[test]
    fn many_clients_in_a_short_time_is_one_flag_per_burst() {
        let thresholds = Thresholds {
            many_clients: 5,
            ..Thresholds::default()
        };
        let mut events = Vec::new();
        // Six clients in six minutes: one burst. Then two clients an hour later.
        for n in 0..6 {
            events.push(event(
                n + 1,
                &format!("2026-12-07T09:0{n}:00Z"),
                "ann",
                "ohjaamo",
                &[&format!("c{n}")],
                "allowed",
            ));
        }
        events.push(event(
            7,
            "2026-12-07T10:00:00Z",
            "ann",
            "ohjaamo",
            &["c7"],
            "allowed",
        ));
        events.push(event(
            8,
            "2026-12-07T10:01:00Z",
            "ann",
            "ohjaamo",
            &["c8"],
            "allowed",
        ));
        // Another caller reading the same client again and again: one client, no flag.
        for n in 0..8 {
            events.push(event(
                20 + n,
                &format!("2026-12-07T09:0{n}:30Z"),
                "bob",
                "ohjaamo",
                &["c1"],
                "allowed",
            ));
        }
        events.sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at));
        let found = many_clients(&events, &thresholds);
        assert_eq!(rules(&found), [(Rule::ManyClients, vec![1, 2, 3, 4, 5, 6])]);
        assert!(
            found[0].detail.starts_with("6 distinct clients"),
            "{}",
            found[0].detail
        );
    }

    #[test]
    fn refusals_in_a_burst_are_flagged_and_scattered_ones_not() {
        let thresholds = Thresholds {
            refusals: 3,
            ..Thresholds::default()
        };
        let events = vec![
            event(1, "2026-12-07T09:00:00Z", "eve", "ohjaamo", &[], "refused"),
            event(2, "2026-12-07T09:01:00Z", "eve", "ohjaamo", &[], "refused"),
            event(3, "2026-12-07T09:02:00Z", "eve", "ohjaamo", &[], "allowed"),
            event(4, "2026-12-07T09:03:00Z", "eve", "ohjaamo", &[], "refused"),
            // Three more, each an hour apart.
            event(5, "2026-12-07T10:00:00Z", "eve", "ohjaamo", &[], "refused"),
            event(6, "2026-12-07T11:00:00Z", "eve", "ohjaamo", &[], "refused"),
            event(7, "2026-12-07T12:00:00Z", "eve", "ohjaamo", &[], "refused"),
        ];
        assert_eq!(
            rules(&refusal_bursts(&events, &thresholds)),
            [(Rule::RefusalBurst, vec![1, 2, 4])]
        );
    }

    #[test]
    fn a_client_read_by_several_bodies_is_flagged() {
        let events = vec![
            event(
                1,
                "2026-12-07T09:00:00Z",
                "ann",
                "ohjaamo",
                &["c1", "c2"],
                "allowed",
            ),
            event(
                2,
                "2026-12-07T09:10:00Z",
                "bob",
                "helmi",
                &["c1"],
                "allowed",
            ),
            event(
                3,
                "2026-12-07T09:20:00Z",
                "cid",
                "typ-service",
                &["c1"],
                "allowed",
            ),
            event(
                4,
                "2026-12-07T09:30:00Z",
                "dan",
                "ohjaamo",
                &["c2"],
                "allowed",
            ),
        ];
        let found = several_bodies(&events, &Thresholds::default());
        assert_eq!(rules(&found), [(Rule::SeveralBodies, vec![1, 2, 3])]);
        assert_eq!(found[0].client.as_deref(), Some("c1"));
        // All four rules together: this log raises only that one.
        assert_eq!(flags(&events, &Thresholds::default()).len(), 1);
    }

    #[test]
    fn each_emergency_opening_and_each_access_used_is_flagged_and_nothing_else() {
        let mut opening = event(
            1,
            "2026-12-07T09:00:00Z",
            "ann",
            "ohjaamo",
            &["c9"],
            "allowed",
        );
        opening.fields = r#"["EmergencyAccess.id","Mutation.openEmergencyAccess"]"#.to_owned();
        let mut refused_opening = opening.clone();
        refused_opening.seq = 2;
        refused_opening.decision = "refused".to_owned();
        let mut first_use = event(
            3,
            "2026-12-07T09:01:00Z",
            "ann",
            "ohjaamo",
            &["c9"],
            "allowed",
        );
        first_use.emergency_access = Some("a1".to_owned());
        let ordinary = event(
            4,
            "2026-12-07T09:02:00Z",
            "ann",
            "ohjaamo",
            &["c1"],
            "allowed",
        );
        let mut second_use = event(5, "2026-12-07T09:03:00Z", "ann", "ohjaamo", &[], "allowed");
        second_use.emergency_access = Some("a1".to_owned());
        let events = vec![opening, refused_opening, first_use, ordinary, second_use];
        let found = emergency_accesses(&events);
        assert_eq!(
            rules(&found),
            [
                (Rule::EmergencyAccess, vec![1]),
                (Rule::EmergencyAccess, vec![3, 5])
            ]
        );
        assert_eq!(found[0].client.as_deref(), Some("c9"));
        assert_eq!(found[1].subject.as_deref(), Some("ann"));
        assert!(
            found[1]
                .detail
                .contains("2 operations under emergency access a1")
        );
        // Under the default thresholds nothing else in this stretch is flagged.
        assert_eq!(flags(&events, &Thresholds::default()).len(), 2);
    }
}
