//! Wiring the access parts from the configuration: the keys (configured, or kept in files
//! under the data directory for the embedded default), the gateway's authenticator and
//! policy, the subgraphs' guard, the console's sign-in, and development tokens for
//! `kotohub token` and the tokens `kotohub serve` prints.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kotohub_auth::internal::InternalKey;
use kotohub_auth::{
    AggregateScope, Authenticator, Decision, DevIssuer, Policy, Principal, Role, RowScope, keys,
};
use kotohub_config::{Auth, AuthMode, Console};
use kotohub_gateway::authorize::{Access, AccessPolicy};
use kotohub_subgraph::serve::Guard;

/// Kotohub's Cedar policy (`schema/policies/`) as the gateway asks it.
pub struct CedarPolicy(pub Arc<Policy>);

impl AccessPolicy for CedarPolicy {
    fn read_type(&self, principal: &Principal, type_name: &str) -> Decision {
        self.0.read_type(principal, type_name)
    }

    fn read_field(&self, principal: &Principal, type_name: &str, field: &str) -> Decision {
        self.0.read_field(principal, type_name, field)
    }

    fn row_scope(&self, principal: &Principal) -> RowScope {
        self.0.row_scope(principal)
    }

    fn aggregate_scope(&self, principal: &Principal) -> AggregateScope {
        self.0.aggregate_scope(principal)
    }

    fn requires_purpose(&self, rule_id: &str) -> bool {
        self.0.requires_purpose(rule_id)
    }

    fn field_class(&self, coordinate: &str) -> Option<String> {
        self.0.field_class(coordinate).map(str::to_owned)
    }
}

/// The access policy with the composed schema's class marks of fields and the catalog's
/// partner organisations, which its rules read (`schema/policies/`).
pub fn policy() -> Result<Policy> {
    let classes = crate::processing::field_classes(crate::services::SUPERGRAPH)
        .map_err(anyhow::Error::msg)
        .context("the composed supergraph")?;
    let catalog = kotohub_programme::catalog::Catalog::embedded()?;
    Ok(Policy::embedded()?
        .with_field_classes(classes)
        .with_partner_bodies(catalog.partner_bodies()))
}

/// The configured secret, else the one kept in `data_dir/keys/<file>`.
fn secret(
    configured: Option<&kotohub_config::Secret>,
    data_dir: &Path,
    file: &str,
) -> Result<String> {
    if let Some(secret) = configured {
        if secret.expose().len() < 32 {
            bail!("auth secrets must be at least 32 characters long");
        }
        return Ok(secret.expose().to_owned());
    }
    let path = data_dir.join("keys").join(file);
    keys::load_or_create(&path).with_context(|| format!("cannot read or create {}", path.display()))
}

/// What derives client ids from identity codes when importing.
pub fn pseudonymiser(
    auth: &Auth,
    data_dir: &Path,
) -> Result<crate::import::identity::Pseudonymiser> {
    Ok(crate::import::identity::Pseudonymiser::new(&secret(
        auth.identity_secret.as_ref(),
        data_dir,
        "identity.key",
    )?))
}

/// The key shared by the gateway and the subgraphs.
pub fn internal_key(auth: &Auth, data_dir: &Path) -> Result<InternalKey> {
    Ok(InternalKey::new(&secret(
        auth.internal_secret.as_ref(),
        data_dir,
        "internal.key",
    )?))
}

/// The key the access log's heads are signed with.
pub fn audit_sealer(
    audit: &kotohub_config::Audit,
    data_dir: &Path,
) -> Result<kotohub_audit::seal::Sealer> {
    let seed = secret(audit.signing_key.as_ref(), data_dir, "audit-signing.key")?;
    kotohub_audit::seal::Sealer::from_hex(&seed).context("audit.signing_key")
}

/// What every subgraph checks requests with.
pub fn guard(auth: &Auth, data_dir: &Path, policy: Arc<Policy>) -> Result<Guard> {
    Ok(Guard::new(internal_key(auth, data_dir)?, policy))
}

/// The gateway's access checks; `None` when authentication is configured off. With a
/// `jwks` cache the identity provider's keys are shared with the other replicas.
pub fn gateway_access(
    auth: &Auth,
    data_dir: &Path,
    policy: Arc<Policy>,
    jwks: Option<kotohub_cache::Cache>,
) -> Result<Option<Access>> {
    let Some(authenticator) = authenticator(auth, data_dir, jwks)? else {
        return Ok(None);
    };
    Ok(Some(Access {
        authenticator,
        policy: Arc::new(CedarPolicy(policy)),
        internal: internal_key(auth, data_dir)?,
    }))
}

/// What turns bearer tokens into principals, for the gateway and the import upload;
/// `None` when authentication is configured off.
pub fn authenticator(
    auth: &Auth,
    data_dir: &Path,
    jwks: Option<kotohub_cache::Cache>,
) -> Result<Option<Authenticator>> {
    Ok(Some(match auth.mode {
        AuthMode::Off => return Ok(None),
        AuthMode::Dev => Authenticator::shared_secret(
            &secret(auth.dev_secret.as_ref(), data_dir, "dev-token.key")?,
            &auth.issuer,
            &auth.audience,
        ),
        AuthMode::Oidc => {
            let url = auth
                .jwks_url
                .as_deref()
                .context("auth.mode = \"oidc\" needs auth.jwks_url")?;
            match jwks {
                Some(cache) => Authenticator::jwks_shared(url, &auth.issuer, &auth.audience, cache),
                None => Authenticator::jwks(url, &auth.issuer, &auth.audience),
            }
        }
    }))
}

/// The issuer of development tokens, when the configuration uses them.
pub fn dev_issuer(auth: &Auth, data_dir: &Path) -> Result<DevIssuer> {
    if auth.mode != AuthMode::Dev {
        bail!("development tokens exist only with auth.mode = \"dev\"");
    }
    let secret = secret(auth.dev_secret.as_ref(), data_dir, "dev-token.key")?;
    Ok(DevIssuer::new(&secret, &auth.issuer, &auth.audience))
}

/// How the web console signs its users in: the demo principals of the embedded default,
/// the identity provider's endpoints with `oidc`.
pub fn console_sign_in(
    auth: &Auth,
    console: &Console,
    data_dir: &Path,
) -> Result<kotohub_console::SignIn> {
    use kotohub_console::{OidcClient, SignIn};
    Ok(match auth.mode {
        AuthMode::Dev => SignIn::Dev {
            issuer: dev_issuer(auth, data_dir)?,
            principals: demo_principals()
                .into_iter()
                .map(|(_, principal)| principal)
                .collect(),
        },
        AuthMode::Oidc => match (
            &console.client_id,
            &console.authorization_url,
            &console.token_url,
        ) {
            (Some(client_id), Some(authorization), Some(token)) => SignIn::Oidc(
                OidcClient::new(authorization, token, client_id, &console.scope)
                    .map_err(anyhow::Error::msg)
                    .context("console.authorization_url and console.token_url")?,
            ),
            (None, None, None) => SignIn::Unavailable,
            _ => bail!(
                "the console's sign-in needs console.client_id, console.authorization_url and console.token_url together"
            ),
        },
        AuthMode::Off => SignIn::Unavailable,
    })
}

/// Parses a lifetime such as `8h`, `30m`, `90s` or `2d`; at most 30 days.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a lifetime like 8h, 30m or 90s"))?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    let seconds = number.saturating_mul(unit_seconds);
    if seconds == 0 || seconds > 30 * 86_400 {
        return Err("a development token lives at least a second and at most 30 days".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

/// The principals `kotohub serve` prints a token for: one per role — the officer acting
/// for Ohjaamo, whose client records fill the demo, the partner of the Finnish Red Cross,
/// whose sponsor groups support quota refugee families, and the importer for the
/// Education Division — and a second officer, of the Participation and Citizen Information Unit,
/// whose indicator (5.2/1, its events) is recorded by hand where Ohjaamo's are all
/// counted from the register.
pub fn demo_principals() -> Vec<(Role, Principal)> {
    vec![
        (
            Role::Officer,
            Principal::new("dev-officer", [Role::Officer], ["ohjaamo".to_owned()], None),
        ),
        (
            Role::Officer,
            Principal::new(
                "dev-participation-officer",
                [Role::Officer],
                ["participation-citizen-information".to_owned()],
                None,
            ),
        ),
        (
            Role::Partner,
            Principal::new(
                "dev-partner",
                [Role::Partner],
                ["finnish-red-cross".to_owned()],
                None,
            ),
        ),
        (
            Role::Analyst,
            Principal::new(
                "dev-analyst",
                [Role::Analyst],
                [],
                Some("employment".to_owned()),
            ),
        ),
        (
            Role::Auditor,
            Principal::new("dev-auditor", [Role::Auditor], [], None),
        ),
        (
            Role::Admin,
            Principal::new("dev-admin", [Role::Admin], [], None),
        ),
        (
            Role::Importer,
            Principal::new(
                "dev-importer",
                [Role::Importer],
                [],
                Some("education".to_owned()),
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(settings: &[(&str, &str)]) -> kotohub_config::Config {
        let mut env = vec![
            ("KOTOHUB__AUTH__MODE".to_owned(), "oidc".to_owned()),
            (
                "KOTOHUB__AUTH__JWKS_URL".to_owned(),
                "https://login.example.fi/jwks".to_owned(),
            ),
        ];
        env.extend(
            settings
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        kotohub_config::Config::load_from(None, env).unwrap()
    }

    #[test]
    fn the_consoles_provider_is_configured_whole_or_not_at_all() {
        let dir = std::env::temp_dir();
        let none = config(&[]);
        assert!(matches!(
            console_sign_in(&none.auth, &none.console, &dir).unwrap(),
            kotohub_console::SignIn::Unavailable
        ));
        let whole = config(&[
            ("KOTOHUB__CONSOLE__CLIENT_ID", "kotohub-console"),
            (
                "KOTOHUB__CONSOLE__AUTHORIZATION_URL",
                "https://login.example.fi/authorize",
            ),
            (
                "KOTOHUB__CONSOLE__TOKEN_URL",
                "https://login.example.fi/token",
            ),
        ]);
        assert!(matches!(
            console_sign_in(&whole.auth, &whole.console, &dir).unwrap(),
            kotohub_console::SignIn::Oidc(_)
        ));
        let partial = config(&[("KOTOHUB__CONSOLE__CLIENT_ID", "kotohub-console")]);
        assert!(console_sign_in(&partial.auth, &partial.console, &dir).is_err());
        let plain_http = config(&[
            ("KOTOHUB__CONSOLE__CLIENT_ID", "kotohub-console"),
            (
                "KOTOHUB__CONSOLE__AUTHORIZATION_URL",
                "http://login.example.fi/authorize",
            ),
            (
                "KOTOHUB__CONSOLE__TOKEN_URL",
                "http://login.example.fi/token",
            ),
        ]);
        assert!(console_sign_in(&plain_http.auth, &plain_http.console, &dir).is_err());
    }

    #[test]
    fn lifetimes_parse_with_units_and_bounds() {
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(2 * 86_400)));
        for bad in [
            "",
            "h",
            "8",
            "0h",
            "31d",
            "8w",
            "-1h",
            "99999999999999999999h",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
