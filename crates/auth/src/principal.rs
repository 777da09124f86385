//! The principal: the verified identity an operation runs as. It is built from a token's
//! claims at the gateway and travels to the subgraphs inside the internal header; nothing
//! else about the caller is trusted.

use serde::{Deserialize, Serialize};

/// A role the access policy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works for one or more responsible bodies and sees those bodies' clients.
    Officer,
    /// Works for a partner organisation outside the City (the Red Cross, a parish): sees
    /// its own organisation's records and the pseudonymous core of the clients it serves,
    /// never a division's records, identifying or special-category data.
    Partner,
    /// Runs a division dashboard: aggregates only.
    Analyst,
    /// Reads the access log.
    Auditor,
    /// Administers bodies, grants and saved queries.
    Admin,
    /// Uploads its division's files: client records, events and outcomes, and the
    /// clients they name. Reads nothing.
    Importer,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Officer,
        Role::Partner,
        Role::Analyst,
        Role::Auditor,
        Role::Admin,
        Role::Importer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Partner => "partner",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Importer => "importer",
        }
    }

    /// The role named `name`, if the policy knows it.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    /// The token's subject: who the caller is at the identity provider.
    pub subject: String,
    /// Sorted and without repeats, so equal principals compare equal.
    pub roles: Vec<Role>,
    /// Slugs of the responsible bodies the caller acts for, sorted, without repeats.
    pub bodies: Vec<String>,
    /// The division the caller belongs to, if any.
    pub division: Option<String>,
}

impl Principal {
    pub fn new(
        subject: impl Into<String>,
        roles: impl IntoIterator<Item = Role>,
        bodies: impl IntoIterator<Item = String>,
        division: Option<String>,
    ) -> Self {
        let mut roles: Vec<Role> = roles.into_iter().collect();
        roles.sort();
        roles.dedup();
        let mut bodies: Vec<String> = bodies.into_iter().collect();
        bodies.sort();
        bodies.dedup();
        Self {
            subject: subject.into(),
            roles,
            bodies,
            division,
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_bodies_are_normalised() {
        let principal = Principal::new(
            "u",
            [Role::Admin, Role::Officer, Role::Admin],
            ["b".to_owned(), "a".to_owned(), "b".to_owned()],
            None,
        );
        assert_eq!(principal.roles, vec![Role::Officer, Role::Admin]);
        assert_eq!(principal.bodies, vec!["a", "b"]);
    }

    #[test]
    fn role_names_round_trip_and_unknown_names_are_none() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Officer"), None);
    }
}
