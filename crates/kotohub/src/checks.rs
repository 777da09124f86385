//! The saved-query subgraph's view of the rest of the hub: it checks a document before
//! saving it against the same API schema, limits and access policy the gateway runs it
//! under, and knows the programme's responsible bodies. Wired here because the
//! saved-query crate knows neither the gateway nor the catalog.

use std::collections::HashSet;
use std::sync::Arc;

use kotohub_auth::{Policy, Principal, Role};
use kotohub_gateway::Supergraph;
use kotohub_gateway::saved::check_document;
use kotohub_gateway::validate::Limits;
use kotohub_queries::{CheckedDocument, Checks, Variable};

/// Checks against the supergraph this binary was built with.
pub struct SaveChecks {
    supergraph: Supergraph,
    limits: Limits,
    policy: crate::access::CedarPolicy,
    bodies: HashSet<String>,
    purposes: HashSet<String>,
}

impl SaveChecks {
    pub fn new(policy: Arc<Policy>, purposes: &[String]) -> Result<Self, String> {
        let supergraph =
            Supergraph::parse(crate::services::SUPERGRAPH).map_err(|e| e.to_string())?;
        let catalog = kotohub_programme::catalog::Catalog::embedded().map_err(|e| e.to_string())?;
        Ok(Self {
            supergraph,
            limits: Limits::default(),
            policy: crate::access::CedarPolicy(policy),
            bodies: catalog.bodies.into_iter().map(|body| body.id).collect(),
            purposes: purposes.iter().cloned().collect(),
        })
    }
}

impl Checks for SaveChecks {
    fn check(&self, document: &str, owner_body: &str) -> Result<CheckedDocument, Vec<String>> {
        // The owner's role: an officer of the owning body and of nothing else.
        let owner = Principal::new(
            format!("officer-of-{owner_body}"),
            [Role::Officer],
            [owner_body.to_owned()],
            None,
        );
        let checked = check_document(
            &self.supergraph,
            &self.limits,
            &self.policy,
            document,
            &owner,
        )?;
        Ok(CheckedDocument {
            normalized: checked.normalized,
            variables: checked
                .variables
                .into_iter()
                .map(|v| Variable {
                    name: v.name,
                    type_: v.type_,
                    default: v.default,
                    description: None,
                })
                .collect(),
        })
    }

    fn is_body(&self, slug: &str) -> bool {
        self.bodies.contains(slug)
    }

    fn purposes(&self) -> Vec<String> {
        let mut purposes: Vec<String> = self.purposes.iter().cloned().collect();
        purposes.sort();
        purposes
    }
}
