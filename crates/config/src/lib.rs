//! Kotohub's configuration, read once at start by the `kotohub` binary and handed to the
//! parts it wires together. Layers, later winning: the defaults built in from
//! `deploy/config/kotohub.toml`, an optional file, then `KOTOHUB__SECTION__KEY`
//! environment variables (or `KOTOHUB__SECTION__KEY_FILE` naming a file that holds the
//! value, as secrets are mounted in a cluster). Unknown keys are refused so that a misspelt setting fails at
//! start; secrets (database URLs carry passwords) never appear in `Debug` output.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

/// The defaults, the same file operators copy and edit.
pub const DEFAULTS: &str = include_str!("../../../deploy/config/kotohub.toml");

/// Prefix of the environment variables that override settings.
pub const ENV_PREFIX: &str = "KOTOHUB__";
/// Suffix of an environment variable naming a file that holds the setting's value:
/// `KOTOHUB__AUTH__INTERNAL_SECRET_FILE=/run/secrets/kotohub/internal-secret`.
pub const FILE_SUFFIX: &str = "_FILE";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub serve: Serve,
    pub subgraphs: Subgraphs,
    pub gateway: Gateway,
    pub auth: Auth,
    pub audit: Audit,
    pub access: Access,
    pub cache: Cache,
    pub rate_limits: RateLimits,
    pub log: Log,
    pub console: Console,
}

/// The web console's sign-in with `auth.mode = "oidc"`: the console is a public client of
/// the identity provider (authorization code with PKCE, no client secret). Unset, the
/// console says that sign-in is not configured; `dev` needs none of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Console {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub authorization_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    /// The scopes asked for, separated by spaces.
    pub scope: String,
}

/// How many requests callers may make (token buckets, shared in Redis when there is one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub enabled: bool,
    /// Every request from one client address, signed in or not.
    #[serde(default)]
    pub address: Option<RateLimit>,
    /// A principal's requests, by role; the most generous of its roles applies.
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, RateLimit>,
}

/// A steady rate and the burst above it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

/// Where the gateway's shared caches live, and for how long answers are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    /// `redis://host:port/db`; with `cluster`, the comma-separated URLs of some of the
    /// cluster's nodes. Unset: caches live in the process (the embedded default).
    #[serde(default)]
    pub redis_url: Option<Secret>,
    #[serde(default)]
    pub cluster: bool,
    /// The longest a Redis call may take before the process answers without it.
    pub timeout_ms: u64,
    /// How long an analyst's answer is kept, unless data changes first.
    pub response_ttl_seconds: u64,
    /// Answers kept in process memory at most (when there is no Redis, or it is away).
    pub memory_entries: u64,
}

/// How long the access log keeps events (where it is kept is `subgraphs.audit`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audit {
    /// Events older than this many days are removed by `kotohub audit prune`.
    pub retention_days: u32,
    /// How often the hub signs the chain's head (seconds; 0: only `kotohub audit seal`).
    pub seal_every_seconds: u64,
    /// The Ed25519 seed the chain's heads are signed with, 64 hexadecimal characters;
    /// unset: a key file under `serve.data_dir`, made on first use. Keep it where the
    /// access log's database administrators cannot read it: whoever holds it can seal
    /// a rewritten chain.
    #[serde(default)]
    pub signing_key: Option<Secret>,
    /// An RFC 3161 time-stamping authority each new seal is sent to, so that its time is
    /// attested by someone other than the hub; unset: seals are not time-stamped.
    #[serde(default)]
    pub timestamp_url: Option<String>,
}

/// What an officer must state to read person-level data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// The purposes an officer may give for a person-level read (`Kotohub-Purpose`),
    /// by id, with what each covers; the access log records the one given.
    pub purposes: std::collections::BTreeMap<String, String>,
    /// How long an emergency access to one client outside the officer's own bodies
    /// lasts once opened (minutes).
    pub emergency_minutes: u32,
}

/// How callers prove who they are, and the keys involved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    pub mode: AuthMode,
    /// The `iss` every accepted token must carry.
    pub issuer: String,
    /// The `aud` every accepted token must carry.
    pub audience: String,
    /// Where the identity provider publishes its keys (`oidc` only).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The HS256 secret of development tokens (`dev` only); unset: a key file under
    /// `serve.data_dir`, made on first use.
    #[serde(default)]
    pub dev_secret: Option<Secret>,
    /// The key the gateway signs forwarded principals with, shared with every subgraph;
    /// unset: a key file under `serve.data_dir`, made on first use.
    #[serde(default)]
    pub internal_secret: Option<Secret>,
    /// The key client ids are derived from identity codes with when importing; unset: a
    /// key file under `serve.data_dir`, made on first use. Changing it gives every
    /// imported client a new id, so it is kept like the others and never rotated casually.
    #[serde(default)]
    pub identity_secret: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// HS256 tokens signed with a local secret: the embedded default.
    Dev,
    /// Tokens from an OpenID Connect provider, verified with its JWKS (RS256, ES256).
    Oidc,
    /// No authentication: `kotohub gateway` on loopback only, for development and
    /// conformance testing against subgraphs that are not Kotohub's.
    Off,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    pub subgraph_timeout_ms: u64,
    pub max_body_bytes: usize,
    pub max_tokens: usize,
    pub max_recursion: usize,
    pub max_depth: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    /// Timeouts of particular subgraphs, by name, overriding `subgraph_timeout_ms`.
    #[serde(default)]
    pub subgraph_timeouts_ms: std::collections::BTreeMap<String, u64>,
    /// Only saved queries and registered persisted operations run, except for admins.
    #[serde(default)]
    pub safelist: bool,
    /// A persisted-operation manifest (Apollo's JSON format: operations with `id`, the
    /// SHA-256 of `body`): operations clients may send by id.
    #[serde(default)]
    pub persisted_operations: Option<PathBuf>,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// How often `kotohub gateway --supergraph FILE` looks for a changed file, in
    /// seconds; 0 leaves reloading to SIGHUP alone.
    pub reload_seconds: u64,
    /// After SIGTERM, how long `kotohub gateway` answers `/ready` with 503 while still
    /// serving, before it stops taking requests: time for the balancer to notice.
    pub drain_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub seed_clients: u32,
    pub seed: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subgraphs {
    pub programme: Subgraph,
    pub employment: Subgraph,
    pub education: Subgraph,
    pub social: Subgraph,
    pub culture: Subgraph,
    /// Partner organisations outside the City: sponsor groups, sponsorships.
    pub partners: Subgraph,
    /// The access log: the gateway writes it, auditors read it through this subgraph.
    pub audit: Subgraph,
    /// Saved queries: officers save and share them here, the gateway runs them.
    pub queries: Subgraph,
}

impl Subgraphs {
    /// Every subgraph by name: the data subgraphs, then the access log and saved queries.
    pub fn all(&self) -> [(&'static str, &Subgraph); 8] {
        let [a, b, c, d, e, f] = self.iter();
        [
            a,
            b,
            c,
            d,
            e,
            f,
            ("audit", &self.audit),
            ("queries", &self.queries),
        ]
    }

    /// The data subgraphs by name, in the order they are started.
    pub fn iter(&self) -> [(&'static str, &Subgraph); 6] {
        [
            ("programme", &self.programme),
            ("employment", &self.employment),
            ("education", &self.education),
            ("social", &self.social),
            ("culture", &self.culture),
            ("partners", &self.partners),
        ]
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subgraph {
    pub listen: SocketAddr,
    #[serde(default)]
    pub database_url: Option<Secret>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    /// Which events are logged.
    pub filter: String,
    pub format: LogFormat,
    /// Which spans and events go into traces, when traces are exported (the standard
    /// `OTEL_EXPORTER_OTLP_*` variables) or logs are JSON.
    pub trace_filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A value that must not be printed: `Debug` shows only that it is set.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid TOML: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {name}: {reason}")]
    Env { name: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(Box<toml::de::Error>),
    #[error("invalid configuration: {0}")]
    Inconsistent(String),
}

impl Config {
    /// Reads the layers: defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: Table = DEFAULTS.parse().map_err(|source| ConfigError::Parse {
            path: PathBuf::from("(built-in defaults)"),
            source: Box::new(source),
        })?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            let overlay: Table = text.parse().map_err(|source| ConfigError::Parse {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
            merge(&mut table, overlay);
        }
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        // Sorted so that the result does not depend on the environment's order.
        env.sort();
        for (name, value) in &env {
            match name.strip_suffix(FILE_SUFFIX) {
                // A secret mounted as a file (a Kubernetes Secret volume) rather than
                // handed over in the environment, where every child process sees it.
                Some(setting) => {
                    if env.iter().any(|(other, _)| other == setting) {
                        return Err(ConfigError::Env {
                            name: name.clone(),
                            reason: format!("{setting} is set as well; set one of them"),
                        });
                    }
                    let text = std::fs::read_to_string(value).map_err(|e| ConfigError::Env {
                        name: name.clone(),
                        reason: format!("cannot read {value}: {e}"),
                    })?;
                    apply_env(&mut table, setting, text.trim_end_matches(['\n', '\r']))?;
                }
                None => apply_env(&mut table, name, value)?,
            }
        }
        let config = Config::deserialize(Value::Table(table))
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        if config.auth.mode == AuthMode::Oidc
            && config.auth.jwks_url.as_deref().is_none_or(str::is_empty)
        {
            return Err(ConfigError::Inconsistent(
                "auth.mode = \"oidc\" needs auth.jwks_url".to_owned(),
            ));
        }
        if config.access.purposes.is_empty() {
            return Err(ConfigError::Inconsistent(
                "access.purposes must list at least one purpose: officers cannot read person-level data without one".to_owned(),
            ));
        }
        if let Some(id) = config.access.purposes.keys().find(|id| !is_purpose_id(id)) {
            return Err(ConfigError::Inconsistent(format!(
                "access.purposes: {id:?} is not a purpose id (lower-case letters, digits and hyphens)"
            )));
        }
        if !(1..=24 * 60).contains(&config.access.emergency_minutes) {
            return Err(ConfigError::Inconsistent(
                "access.emergency_minutes must be between 1 and 1440".to_owned(),
            ));
        }
        Ok(config)
    }
}

/// Purpose ids travel in a header and in the access log: short slugs only.
fn is_purpose_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Merges `overlay` into `base`, key by key, recursing into tables.
fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_table)), Value::Table(overlay_table)) => {
                merge(base_table, overlay_table)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Sets the key named by `KOTOHUB__A__B__C` to `raw`, typed like the value it replaces
/// (so `"4101"` stays a string where a string is expected and becomes a number where a
/// number is).
fn apply_env(table: &mut Table, name: &str, raw: &str) -> Result<(), ConfigError> {
    let env_error = |reason: String| ConfigError::Env {
        name: name.to_owned(),
        reason,
    };
    let path: Vec<String> = name[ENV_PREFIX.len()..]
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(env_error("names a setting with an empty part".into()));
    }
    let (leaf, parents) = path.split_last().expect("split yields at least one part");
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        current = match entry {
            Value::Table(t) => t,
            _ => return Err(env_error(format!("{part} is a value, not a section"))),
        };
    }
    let value = match current.get(leaf) {
        Some(Value::Integer(_)) => raw
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| env_error(format!("expected a whole number, got {raw:?}")))?,
        Some(Value::Boolean(_)) => raw
            .parse::<bool>()
            .map(Value::Boolean)
            .map_err(|_| env_error(format!("expected true or false, got {raw:?}")))?,
        Some(Value::Table(_)) => return Err(env_error("names a section, not a setting".into())),
        // A list of text, comma-separated: `KOTOHUB__GATEWAY__TRUSTED_PROXIES=10.0.0.0/8,fd00::/8`.
        Some(Value::Array(_)) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        ),
        Some(_) => Value::String(raw.to_owned()),
        // A key the defaults do not list (a subgraph's timeout, a database URL): a whole
        // number or a boolean if it reads as one, else text.
        None => raw
            .parse::<i64>()
            .map(Value::Integer)
            .or_else(|_| raw.parse::<bool>().map(Value::Boolean))
            .unwrap_or_else(|_| Value::String(raw.to_owned())),
    };
    current.insert(leaf.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load() {
        let config = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(config.serve.seed_clients, 10_000);
        assert_eq!(config.subgraphs.employment.listen.port(), 4102);
        assert!(config.subgraphs.programme.database_url.is_none());
    }

    /// The deployment files' configuration files, and every `KOTOHUB__…` variable their
    /// manifests set, name settings that exist: a misspelt one would stop a pod at start.
    #[test]
    fn the_deployment_files_name_real_settings() {
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        let mut manifests = vec![deploy.join("compose.yaml")];
        let mut configs = Vec::new();
        let mut dirs = vec![deploy.join("k8s")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                match path.extension().and_then(|e| e.to_str()) {
                    _ if path.is_dir() => dirs.push(path),
                    Some("yaml") => manifests.push(path),
                    Some("toml") => configs.push(path),
                    _ => {}
                }
            }
        }
        assert!(
            configs.len() >= 2 && manifests.len() >= 8,
            "{configs:?} {manifests:?}"
        );
        let value_file = std::env::temp_dir().join(format!("kotohub-value-{}", std::process::id()));
        std::fs::write(
            &value_file,
            "postgres://kotohub:secret@db/kotohub-0123456789",
        )
        .unwrap();
        let mut variables = std::collections::BTreeSet::new();
        for manifest in &manifests {
            let text = std::fs::read_to_string(manifest).unwrap();
            for (at, _) in text.match_indices(ENV_PREFIX) {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                variables.insert(name);
            }
        }
        assert!(variables.len() > 10, "{variables:?}");
        for config in &configs {
            for name in &variables {
                // One at a time: X and X_FILE may both appear across the files.
                let value = if name.ends_with(FILE_SUFFIX) {
                    value_file.display().to_string()
                } else {
                    // Typed like the default it replaces: a number, a flag or text.
                    match name.as_str() {
                        n if n.ends_with("SECONDS") || n.ends_with("_MS") => "1".to_owned(),
                        _ => "postgres://kotohub:secret@db/kotohub-0123456789".to_owned(),
                    }
                };
                let loaded = Config::load_from(Some(config), vec![(name.clone(), value)]);
                assert!(
                    loaded.is_ok(),
                    "{} with {name}: {loaded:?}",
                    config.display()
                );
            }
        }
        std::fs::remove_file(&value_file).unwrap();
    }

    #[test]
    fn settings_are_read_from_files_named_in_the_environment() {
        let dir = std::env::temp_dir().join(format!("kotohub-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("internal-secret");
        std::fs::write(&secret, "from-a-mounted-secret-0123456789abcdef\n").unwrap();
        let url = dir.join("database-url");
        std::fs::write(&url, "postgres://kotohub:pw@db/kotohub").unwrap();
        let named = |name: &str, path: &Path| (name.to_owned(), path.display().to_string());
        let config = Config::load_from(
            None,
            vec![
                named("KOTOHUB__AUTH__INTERNAL_SECRET_FILE", &secret),
                named("KOTOHUB__SUBGRAPHS__AUDIT__DATABASE_URL_FILE", &url),
            ],
        )
        .unwrap();
        assert_eq!(
            config.auth.internal_secret.unwrap().expose(),
            "from-a-mounted-secret-0123456789abcdef",
            "the file's text without its line end"
        );
        assert_eq!(
            config.subgraphs.audit.database_url.unwrap().expose(),
            "postgres://kotohub:pw@db/kotohub"
        );
        let both = Config::load_from(
            None,
            vec![
                named("KOTOHUB__AUTH__INTERNAL_SECRET_FILE", &secret),
                ("KOTOHUB__AUTH__INTERNAL_SECRET".into(), "x".repeat(32)),
            ],
        );
        assert!(matches!(both, Err(ConfigError::Env { .. })), "{both:?}");
        let missing = Config::load_from(
            None,
            vec![named(
                "KOTOHUB__AUTH__INTERNAL_SECRET_FILE",
                &dir.join("none"),
            )],
        );
        assert!(
            matches!(missing, Err(ConfigError::Env { .. })),
            "{missing:?}"
        );
        let unknown = Config::load_from(None, vec![named("KOTOHUB__AUTH__NO_SUCH_FILE", &url)]);
        assert!(
            unknown.is_err(),
            "an unknown setting is refused from a file too"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lists_are_set_from_the_environment_comma_separated() {
        let config = Config::load_from(
            None,
            env(&[(
                "KOTOHUB__GATEWAY__TRUSTED_PROXIES",
                "10.0.0.0/8, fd00::/8,,192.0.2.10",
            )]),
        )
        .unwrap();
        assert_eq!(
            config.gateway.trusted_proxies,
            ["10.0.0.0/8", "fd00::/8", "192.0.2.10"]
        );
        let none = Config::load_from(None, env(&[("KOTOHUB__GATEWAY__TRUSTED_PROXIES", "")]));
        assert!(none.unwrap().gateway.trusted_proxies.is_empty());
    }

    #[test]
    fn environment_overrides_with_types() {
        let config = Config::load_from(
            None,
            env(&[
                ("KOTOHUB__SERVE__SEED_CLIENTS", "500"),
                ("KOTOHUB__SUBGRAPHS__SOCIAL__LISTEN", "127.0.0.1:5104"),
                (
                    "KOTOHUB__SUBGRAPHS__SOCIAL__DATABASE_URL",
                    "postgres://u:pw@h/db",
                ),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.serve.seed_clients, 500);
        assert_eq!(config.subgraphs.social.listen.port(), 5104);
        assert_eq!(
            config
                .subgraphs
                .social
                .database_url
                .as_ref()
                .unwrap()
                .expose(),
            "postgres://u:pw@h/db"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let err =
            Config::load_from(None, env(&[("KOTOHUB__SERVE__SEED_CLEINTS", "5")])).unwrap_err();
        assert!(err.to_string().contains("seed_cleints"), "{err}");
        let err = Config::load_from(None, env(&[("KOTOHUB__SERVE__SEED", "many")])).unwrap_err();
        assert!(err.to_string().contains("KOTOHUB__SERVE__SEED"), "{err}");
    }

    #[test]
    fn per_subgraph_timeouts_come_from_the_environment() {
        let config = Config::load_from(
            None,
            env(&[("KOTOHUB__GATEWAY__SUBGRAPH_TIMEOUTS_MS__EMPLOYMENT", "250")]),
        )
        .unwrap();
        assert_eq!(config.gateway.subgraph_timeouts_ms["employment"], 250);
        assert_eq!(config.gateway.subgraph_timeout_ms, 10_000);
    }

    #[test]
    fn a_file_overrides_defaults() {
        let path = std::env::temp_dir().join(format!("kotohub-config-{}.toml", std::process::id()));
        std::fs::write(&path, "[serve]\nseed = 7\n").unwrap();
        let config = Config::load_from(Some(&path), env(&[])).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(config.serve.seed, 7);
        assert_eq!(config.serve.seed_clients, 10_000);
    }

    #[test]
    fn secrets_are_not_printed() {
        let config = Config::load_from(
            None,
            env(&[(
                "KOTOHUB__SUBGRAPHS__CULTURE__DATABASE_URL",
                "postgres://u:hunter2@h/db",
            )]),
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        let config = Config::load_from(
            None,
            env(&[("KOTOHUB__AUTH__INTERNAL_SECRET", "s3cret-s3cret-s3cret")]),
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(
            config.auth.internal_secret.unwrap().expose(),
            "s3cret-s3cret-s3cret"
        );
    }

    #[test]
    fn auth_defaults_to_dev_tokens_and_oidc_needs_a_jwks_url() {
        let config = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(config.auth.mode, AuthMode::Dev);
        let error = Config::load_from(None, env(&[("KOTOHUB__AUTH__MODE", "oidc")])).unwrap_err();
        assert!(error.to_string().contains("jwks_url"), "{error}");
        let config = Config::load_from(
            None,
            env(&[
                ("KOTOHUB__AUTH__MODE", "oidc"),
                ("KOTOHUB__AUTH__JWKS_URL", "https://idp/jwks"),
            ]),
        )
        .unwrap();
        assert_eq!(config.auth.mode, AuthMode::Oidc);
        assert!(Config::load_from(None, env(&[("KOTOHUB__AUTH__MODE", "none")])).is_err());
    }
}
