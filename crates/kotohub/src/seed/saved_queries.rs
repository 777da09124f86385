//! The embedded default's saved queries: at least one per responsible body that holds
//! person-level data, each following its measure's indicators in the programme. They are
//! saved through the same store and checks as an officer's, so a schema change that
//! breaks one fails the first start (and the tests) instead of an officer's export.

use kotohub_auth::SavedQueryScope;
use kotohub_queries::Checks;
use kotohub_queries::store::{self, Actor, SaveInput, StoreError};
use sea_orm::DatabaseConnection;

/// Who the access log and the history name as having saved the seeded queries.
pub const SEEDED_BY: &str = "kotohub-seed";

/// The purpose the seeded queries state for their runs.
pub const SEEDED_PURPOSE: &str = "programme-reporting";

struct Seeded {
    owner: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    document: &'static str,
    variables: &'static [(&'static str, &'static str)],
}

const PAGE: (&str, &str) = ("first", "How many rows to return (at most 1000).");
const AFTER: (&str, &str) = (
    "after",
    "The last id of the previous page, to get the next.",
);

const SEEDED: &[Seeded] = &[
    Seeded {
        owner: "helsinki-skill-center",
        name: "skill-center-assessments",
        title: "Skill assessments of new clients (measure 1.1)",
        description: "Every skill assessment Helsinki Skill Center made, with the client's arrival year, mother tongue and district. Indicator 1.1: 1,000 clients assessed a year.",
        document: "query SkillCenterAssessments($measure: ID = \"1.1\", $first: Int = 1000, $after: ID) {
  skillAssessments(measure: $measure, first: $first, after: $after) {
    id
    assessedOn
    skillArea
    level
    client { id arrivalYear motherTongue district }
  }
}",
        variables: &[("measure", "The measure whose assessments to list."), PAGE, AFTER],
    },
    Seeded {
        owner: "ohjaamo",
        name: "ohjaamo-events-in-other-languages",
        title: "Events for people speaking a language other than Finnish or Swedish (measure 1.3)",
        description: "Ohjaamo's guidance and recruitment events with their languages and participants. Indicator 1.3: events held in languages other than Finnish or Swedish.",
        document: "query OhjaamoEventsInOtherLanguages($measure: ID = \"1.3\", $first: Int = 1000, $after: ID) {
  networkingEvents(measure: $measure, first: $first, after: $after) {
    id
    title
    heldOn
    district
    languages
    participantCount
  }
}",
        variables: &[("measure", "The measure whose events to list."), PAGE, AFTER],
    },
    Seeded {
        owner: "ohjaamo",
        name: "ohjaamo-guidance-and-outcomes",
        title: "Guidance sessions and what followed (measures 1.2, 1.3)",
        description: "Each guidance session with its language and format, and the client's later employment and study outcomes. Indicator 1.2: the share of guided young people who continue to education or employment.",
        document: "query OhjaamoGuidanceAndOutcomes($measure: ID! = \"1.3\", $first: Int = 1000) {
  measure(id: $measure) {
    id
    guidanceSessions(first: $first) {
      id
      heldOn
      language
      format
      client { id employmentOutcomes { kind occurredOn } }
    }
  }
}",
        variables: &[("measure", "The measure whose sessions to list."), PAGE],
    },
    Seeded {
        owner: "typ-service",
        name: "typ-service-paths",
        title: "Multi-professional service paths (measure 1.4)",
        description: "The TYP service's paths with their status, and each client's skill assessments.",
        document: "query TypServicePaths($measure: ID! = \"1.4\", $first: Int = 1000) {
  measure(id: $measure) {
    id
    servicePaths(first: $first) {
      id
      path
      startedOn
      endedOn
      status
      client { id skillAssessments { assessedOn level } }
    }
  }
}",
        variables: &[("measure", "The measure whose paths to list."), PAGE],
    },
    Seeded {
        owner: "newco-helsinki",
        name: "newco-networking-events",
        title: "Networking and entrepreneurship events (measure 1.5)",
        description: "NewCo Helsinki's events with their participants.",
        document: "query NewcoNetworkingEvents($measure: ID = \"1.5\", $first: Int = 1000, $after: ID) {
  networkingEvents(measure: $measure, first: $first, after: $after) {
    id title heldOn district languages participantCount
  }
}",
        variables: &[("measure", "The measure whose events to list."), PAGE, AFTER],
    },
    Seeded {
        owner: "international-house-helsinki",
        name: "international-house-events",
        title: "Information events for international talent (measure 3.2)",
        description: "International House Helsinki's events with their participants.",
        document: "query InternationalHouseEvents($measure: ID = \"3.2\", $first: Int = 1000, $after: ID) {
  networkingEvents(measure: $measure, first: $first, after: $after) {
    id title heldOn district languages participantCount
  }
}",
        variables: &[("measure", "The measure whose events to list."), PAGE, AFTER],
    },
    Seeded {
        owner: "education-division",
        name: "education-enrolments",
        title: "Enrolments in preparatory and basic education (measures 4.4–4.7)",
        description: "Enrolments of a measure with their status and the student's background, and any qualification completed.",
        document: "query EducationEnrolments($measure: ID = \"4.6\", $first: Int = 1000, $after: ID) {
  enrolments(measure: $measure, first: $first, after: $after) {
    id
    programme
    startedOn
    endedOn
    status
    client { id birthYear motherTongue qualifications { kind completedOn } }
  }
}",
        variables: &[("measure", "The measure whose enrolments to list."), PAGE, AFTER],
    },
    Seeded {
        owner: "helmi",
        name: "helmi-child-welfare-endings",
        title: "Helmi families: support and child-welfare endings (measure 9.5)",
        description: "Each Helmi support period with the family member's social outcomes. Indicator 9.5: families whose child-welfare client status ended within six months after support.",
        document: "query HelmiChildWelfareEndings($measure: ID! = \"9.5\", $first: Int = 1000) {
  measure(id: $measure) {
    id
    supportPeriods(first: $first) {
      id
      service
      startedOn
      endedOn
      client { id socialOutcomes { kind occurredOn } }
    }
  }
}",
        variables: &[("measure", "The measure whose support periods to list."), PAGE],
    },
    Seeded {
        owner: "social-services-health-care",
        name: "social-services-cases",
        title: "Social work cases (measures 9.5, 9.9)",
        description: "Cases of a measure, opened and closed, with the client's district.",
        document: "query SocialServicesCases($measure: ID = \"9.5\", $first: Int = 1000, $after: ID) {
  socialCases(measure: $measure, first: $first, after: $after) {
    id kind openedOn closedOn
    client { id district }
  }
}",
        variables: &[("measure", "The measure whose cases to list."), PAGE, AFTER],
    },
    Seeded {
        owner: "libraries",
        name: "libraries-reading-activities",
        title: "Participants of mother-tongue reading activities (measure 7.5)",
        description: "Every participation in the libraries' reading circles and events, with the event's languages and the participant's mother tongue.",
        document: "query LibrariesReadingActivities($measure: ID = \"7.5\", $first: Int = 1000, $after: ID) {
  participations(measure: $measure, first: $first, after: $after) {
    id
    activity
    participatedOn
    event { title heldOn languages }
    client { id motherTongue }
  }
}",
        variables: &[("measure", "The measure whose participations to list."), PAGE, AFTER],
    },
    Seeded {
        owner: "culture-leisure-division",
        name: "culture-encounter-events",
        title: "Participants of events promoting encounters (measure 7.1)",
        description: "Participations in the division's encounter events, with the participant's mother tongue.",
        document: PARTICIPATIONS,
        variables: PARTICIPATION_VARIABLES,
    },
    Seeded {
        owner: "general-cultural-services",
        name: "cultural-centres-participations",
        title: "Participants of the cultural centres' activities (measure 7.2)",
        description: "Participations in the cultural centres' activities.",
        document: PARTICIPATIONS,
        variables: PARTICIPATION_VARIABLES,
    },
    Seeded {
        owner: "ham",
        name: "ham-art-workshops",
        title: "Art workshop participants (measure 7.3)",
        description: "Participations in HAM's art workshops and sculpture tours.",
        document: PARTICIPATIONS,
        variables: PARTICIPATION_VARIABLES,
    },
    Seeded {
        owner: "city-museum",
        name: "city-museum-workshops",
        title: "Museum workshops supporting language training (measure 7.4)",
        description: "Participations in the City Museum's workshops.",
        document: PARTICIPATIONS,
        variables: PARTICIPATION_VARIABLES,
    },
    Seeded {
        owner: "sports-services",
        name: "sports-groups",
        title: "Sports group participants (measure 8.1)",
        description: "Participations in the sports services' groups.",
        document: PARTICIPATIONS,
        variables: PARTICIPATION_VARIABLES,
    },
    Seeded {
        owner: "youth-services",
        name: "youth-work-participants",
        title: "Youth work participants (measure 10.3)",
        description: "Participations in youth work activities.",
        document: PARTICIPATIONS,
        variables: PARTICIPATION_VARIABLES,
    },
];

/// The culture bodies' participations: the measure is the one variable that differs,
/// so each body's query names its measure when it runs (`?measure=7.3`).
const PARTICIPATIONS: &str = "query Participations($measure: ID, $first: Int = 1000, $after: ID) {
  participations(measure: $measure, first: $first, after: $after) {
    id
    activity
    participatedOn
    event { title heldOn }
    client { id motherTongue district }
  }
}";

const PARTICIPATION_VARIABLES: &[(&str, &str)] = &[
    (
        "measure",
        "A measure to list only its participations; all of the body's when left out.",
    ),
    PAGE,
    AFTER,
];

/// The names of the seeded queries and their owning bodies.
pub fn seeded() -> impl Iterator<Item = (&'static str, &'static str)> {
    SEEDED.iter().map(|s| (s.name, s.owner))
}

/// Saves the seeded queries into an empty saved-query database; returns how many were
/// saved (none when it already holds queries, so officers' versions are never replaced).
pub async fn seed_saved_queries(
    db: &DatabaseConnection,
    checks: &dyn Checks,
) -> Result<usize, StoreError> {
    if !store::list(db, &SavedQueryScope::All, None, true)
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let actor = Actor {
        subject: SEEDED_BY,
        bodies: &[],
        read: &SavedQueryScope::All,
        manage: &SavedQueryScope::All,
    };
    // The seeded queries follow the programme's indicators; that is their purpose where
    // the hub's configuration has it.
    let purpose = checks
        .purposes()
        .into_iter()
        .find(|purpose| purpose == SEEDED_PURPOSE);
    for seeded in SEEDED {
        let input = SaveInput {
            purpose: purpose.clone(),
            name: seeded.name.to_owned(),
            title: seeded.title.to_owned(),
            description: seeded.description.to_owned(),
            owner_body: Some(seeded.owner.to_owned()),
            document: seeded.document.to_owned(),
            variable_descriptions: seeded
                .variables
                .iter()
                .map(|(name, description)| ((*name).to_owned(), (*description).to_owned()))
                .collect(),
        };
        store::save(db, checks, &actor, input).await?;
    }
    Ok(SEEDED.len())
}
