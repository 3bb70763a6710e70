//! One typed configuration: a TOML file (`--config PATH`) with `GUICHET_*` environment overrides,
//! validated at start. Errors name the key and say what is wrong.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::model::UiLang;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    Syntax { path: String, message: String },
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error(
        "no data directory: set `data_dir` or GUICHET_DATA_DIR (no per-user default exists here)"
    )]
    NoDataDir,
}

/// The file as written by the user; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    key_file: Option<PathBuf>,
    lang: Option<String>,
    #[serde(default)]
    sync: FileSync,
    #[serde(default)]
    smtp: FileSmtp,
    #[serde(default)]
    cluster: FileCluster,
    #[serde(default)]
    web: FileWeb,
    #[serde(default)]
    shop: FileShop,
    #[serde(default)]
    shop_connections: Vec<FileShopConnection>,
    #[serde(default)]
    metrics: FileMetrics,
    #[serde(default)]
    oauth: FileOAuth,
    #[serde(default)]
    blobs: FileBlobs,
}

/// `[blobs]`: where attachments are kept. The secret access key only sealed or as the name of
/// an environment variable.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBlobs {
    url: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key_env: Option<String>,
    secret_access_key_sealed: Option<String>,
    allow_http: Option<bool>,
    timeout: Option<String>,
}

/// Where attachments are kept (`[blobs]`): a local directory (default: `blobs` in the data dir)
/// or an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct BlobsConfig {
    pub location: crate::store::BlobLocation,
    /// How to reach the bucket; the secret here when it came from the environment.
    pub s3: crate::store::S3Settings,
    /// The secret access key sealed with the desk's key (`blobs.secret_access_key_sealed`),
    /// opened when the desk opens.
    pub secret_sealed: Option<Vec<u8>>,
}

/// The `[blobs]` settings, `GUICHET_BLOBS_*` variables over the file's keys, checked together.
fn blobs_config(
    data_dir: &Path,
    file: FileBlobs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<BlobsConfig, ConfigError> {
    use crate::store::{BlobLocation, S3Settings};
    let var = |name: &str| {
        env(&format!("GUICHET_BLOBS_{name}"))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let location = match var("URL").or(file.url) {
        Some(url) => BlobLocation::parse(&url).map_err(|e| invalid("blobs.url", e))?,
        None => BlobLocation::Local(data_dir.join("blobs")),
    };
    let allow_http = match var("ALLOW_HTTP") {
        Some(v) => matches!(v.as_str(), "1" | "true" | "yes" | "on"),
        None => file.allow_http.unwrap_or(false),
    };
    let endpoint = var("ENDPOINT")
        .or(file.endpoint)
        .map(|e| e.trim().trim_end_matches('/').to_string());
    if let Some(endpoint) = &endpoint {
        let parsed = url::Url::parse(endpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"));
        match parsed {
            None => {
                return Err(invalid(
                    "blobs.endpoint",
                    format!("`{endpoint}` is not an http(s) URL"),
                ));
            }
            Some(u) if u.scheme() == "http" && !allow_http => {
                return Err(invalid(
                    "blobs.endpoint",
                    format!(
                        "`{endpoint}` is plain HTTP: set blobs.allow_http = true, only for a server on loopback or a private network"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let secret = match var("SECRET_ACCESS_KEY") {
        Some(secret) => Some(secrecy::SecretString::from(secret)),
        None => match &file.secret_access_key_env {
            Some(name) => Some(
                env(name)
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .map(secrecy::SecretString::from)
                    .ok_or_else(|| {
                        invalid(
                            "blobs.secret_access_key_env",
                            format!("the environment variable {name} is not set"),
                        )
                    })?,
            ),
            None => None,
        },
    };
    let secret_sealed = match (&secret, file.secret_access_key_sealed) {
        (None, Some(text)) => Some(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.trim())
                .map_err(|_| {
                    invalid(
                        "blobs.secret_access_key_sealed",
                        "not what `guichet blobs seal-secret` prints (base64)",
                    )
                })?,
        ),
        _ => None,
    };
    let access_key_id = var("ACCESS_KEY_ID").or(file.access_key_id);
    if access_key_id.is_some() != (secret.is_some() || secret_sealed.is_some()) {
        return Err(invalid(
            "blobs.access_key_id",
            "give both the access key id and its secret access key (secret_access_key_env or secret_access_key_sealed), or neither",
        ));
    }
    let timeout = duration_of_a_second_or_more(
        "blobs.timeout",
        var("TIMEOUT").or(file.timeout),
        "30s",
        "30s, 2m",
    )?;
    Ok(BlobsConfig {
        location,
        s3: S3Settings {
            endpoint,
            region: var("REGION")
                .or(file.region)
                .unwrap_or_else(|| S3Settings::default().region),
            access_key_id,
            secret_access_key: secret,
            allow_http,
            timeout,
        },
        secret_sealed,
    })
}

/// `[oauth.google]` and `[oauth.microsoft]`: the operator's own OAuth applications. The
/// secret only as the name of an environment variable, like the shop connections' secrets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOAuth {
    #[serde(default)]
    google: FileOAuthProvider,
    #[serde(default)]
    microsoft: FileOAuthProvider,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMetrics {
    token_sha256: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOAuthProvider {
    client_id: Option<String>,
    client_secret_env: Option<String>,
    /// Microsoft only: the directory (`common`, `organizations`, a tenant id or domain).
    tenant: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
}

/// One provider's settings: `GUICHET_OAUTH_<PROVIDER>_*` variables over the file's keys, the
/// endpoints defaulting to the provider's public ones (overridable for national clouds).
fn oauth_provider(
    provider: crate::oauth::Provider,
    file: FileOAuthProvider,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<crate::oauth::ProviderSettings, ConfigError> {
    let upper = provider.to_string().to_uppercase();
    let var = |name: &str| env(&format!("GUICHET_OAUTH_{upper}_{name}"));
    let tenant = var("TENANT").or(file.tenant);
    if provider == crate::oauth::Provider::Google && tenant.is_some() {
        return Err(invalid(
            "oauth.google.tenant",
            "only Microsoft has tenants; remove it",
        ));
    }
    let defaults =
        crate::oauth::ProviderSettings::defaults(provider, tenant.as_deref().unwrap_or("common"));
    let secret = match var("CLIENT_SECRET") {
        Some(secret) => Some(secret),
        None => match &file.client_secret_env {
            Some(name) => Some(env(name).ok_or_else(|| {
                invalid(
                    &format!("oauth.{provider}.client_secret_env"),
                    format!("the environment variable {name} is not set"),
                )
            })?),
            None => None,
        },
    };
    let endpoint = |key: &str, given: Option<String>, default: String| {
        let value = given.unwrap_or(default);
        url::Url::parse(&value)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .map(|_| value.clone())
            .ok_or_else(|| {
                invalid(
                    &format!("oauth.{provider}.{key}"),
                    format!("`{value}` is not an http(s) URL"),
                )
            })
    };
    Ok(crate::oauth::ProviderSettings {
        client_id: var("CLIENT_ID")
            .or(file.client_id)
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty()),
        client_secret: secret.map(secrecy::SecretString::from),
        authorize_url: endpoint(
            "authorize_url",
            var("AUTHORIZE_URL").or(file.authorize_url),
            defaults.authorize_url,
        )?,
        token_url: endpoint(
            "token_url",
            var("TOKEN_URL").or(file.token_url),
            defaults.token_url,
        )?,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShop {
    cache_ttl: Option<String>,
    request_timeout: Option<String>,
    poll_interval: Option<String>,
}

/// A `[[shop_connections]]` entry: secrets only as names of environment variables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShopConnection {
    shop: String,
    platform: String,
    store_url: Option<String>,
    api_version: Option<String>,
    client_id: Option<String>,
    tracking_meta_key: Option<String>,
    access_token_env: Option<String>,
    client_secret_env: Option<String>,
    api_key_env: Option<String>,
    consumer_key_env: Option<String>,
    consumer_secret_env: Option<String>,
    webhook_secret_env: Option<String>,
}

/// Shop data from the platforms (`[shop]`).
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// How long what a platform said of a customer is used without asking again. Default 5 min.
    pub cache_ttl: Duration,
    /// Each request to a platform. Default 10 s.
    pub request_timeout: Duration,
    /// How often polled platforms (PrestaShop) are asked for changed orders. Default 5 min.
    pub poll_interval: Duration,
    /// Connections the file declares, applied when the desk opens.
    pub connections: Vec<ShopConnectionConfig>,
}

/// A connection from the file, its secrets read from the environment variables it names.
#[derive(Debug, Clone)]
pub struct ShopConnectionConfig {
    pub shop: String,
    pub settings: crate::shop::connector::ConnectorSettings,
    pub secrets: crate::shop::connector::ConnectorSecrets,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWeb {
    listen: Option<String>,
    session_idle: Option<String>,
    session_lifetime: Option<String>,
    secure_cookies: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSmtp {
    helo_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCluster {
    lease: Option<String>,
    renew_every: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSync {
    batch_size: Option<i64>,
    poll_interval: Option<String>,
    idle: Option<bool>,
    node_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Messages per `UID FETCH` and per database transaction.
    pub batch_size: usize,
    /// How often mailboxes without IDLE are polled, and the longest an IDLE lasts.
    pub poll_interval: Duration,
    pub idle: bool,
    /// Name of this node in mailbox and job leases.
    pub node_name: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `sqlite://…` (default: `guichet.db` in the data dir) or `postgres://…`.
    pub database_url: String,
    pub key_file: PathBuf,
    /// Key given directly (64 hex digits), preferred over the key file.
    pub secret_key_hex: Option<String>,
    pub lang: UiLang,
    pub sync: SyncConfig,
    pub smtp: SmtpConfig,
    /// How long a node's mailbox, job and sending leases last unrenewed, and how often they
    /// are renewed while the work goes on (`[cluster]`, default 10 s and 3 s).
    pub cluster: crate::runtime::LeaseTimings,
    pub web: WebConfig,
    /// A back-office session unused this long is over. Default 12 h (`web.session_idle`).
    pub session_idle: Duration,
    /// A back-office session is over this long after sign-in, used or not. Default 7 days
    /// (`web.session_lifetime`).
    pub session_lifetime: Duration,
    pub shop: ShopConfig,
    /// SHA-256 of the bearer token that opens `/metrics` (`metrics.token_sha256`, 64 hex
    /// digits); None: `/metrics` refuses everyone.
    pub metrics_token_sha256: Option<[u8; 32]>,
    /// The OAuth applications Gmail and Microsoft 365 mailboxes connect through (`[oauth]`).
    pub oauth: crate::oauth::OAuthConfig,
    pub blobs: BlobsConfig,
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where `serve` answers HTTP (the back office, the API, the contact forms).
    pub listen: std::net::SocketAddr,
    /// Always mark the session cookie `Secure` (TLS ends in front of us without saying so
    /// with `X-Forwarded-Proto: https`). `web.secure_cookies`, default false.
    pub secure_cookies: bool,
}

/// The back office's address when none is set: this machine only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Clone, Default)]
pub struct SmtpConfig {
    /// The host name given in EHLO; None: the domain of the sending address.
    pub helo_name: Option<String>,
}

/// Overrides given on the command line; they win over the environment and the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Parses durations such as `90s`, `5m`, `3h`, `2d`, `250ms`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" | "min" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

/// A duration setting (`default` when not given) of at least one second.
fn duration_of_a_second_or_more(
    key: &str,
    given: Option<String>,
    default: &str,
    examples: &str,
) -> Result<Duration, ConfigError> {
    let text = given.unwrap_or_else(|| default.into());
    parse_duration(&text)
        .filter(|d| *d >= Duration::from_secs(1))
        .ok_or_else(|| {
            invalid(
                key,
                format!("`{text}` is not a duration of at least 1s (examples: {examples})"),
            )
        })
}

/// The host name: stable across restarts, so a restarted node takes back its own leases at once.
fn default_node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "guichet".into())
}

impl Config {
    /// Loads the file (when given), applies `GUICHET_*` variables from `env`, then `overrides`.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let file_config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Syntax {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?
            }
            None => FileConfig::default(),
        };

        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env("GUICHET_DATA_DIR").map(PathBuf::from))
            .or(file_config.data_dir)
            .or_else(|| {
                directories::ProjectDirs::from("", "", "guichet")
                    .map(|d| d.data_dir().to_path_buf())
            })
            .ok_or(ConfigError::NoDataDir)?;

        let database_url = overrides
            .database_url
            .clone()
            .or_else(|| env("GUICHET_DATABASE_URL"))
            .or(file_config.database_url)
            .unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("guichet.db").display()
                )
            });
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }

        let key_file = env("GUICHET_KEY_FILE")
            .map(PathBuf::from)
            .or(file_config.key_file)
            .unwrap_or_else(|| data_dir.join("secret.key"));
        let secret_key_hex = env("GUICHET_SECRET_KEY");
        if let Some(hex_key) = &secret_key_hex {
            crate::crypto::SealingKey::from_hex(hex_key)
                .map_err(|e| invalid("GUICHET_SECRET_KEY", e.to_string()))?;
        }

        let lang = match env("GUICHET_LANG").or(file_config.lang) {
            None => env("LANG")
                .map(|l| UiLang::from_locale(&l))
                .unwrap_or_default(),
            Some(l) => l.parse().map_err(|_| {
                let known: Vec<&str> = UiLang::ALL.iter().map(|lang| lang.code()).collect();
                invalid(
                    "lang",
                    format!("`{l}` is not a supported language ({})", known.join(", ")),
                )
            })?,
        };

        let batch_size = match env("GUICHET_SYNC_BATCH_SIZE") {
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| invalid("sync.batch_size", format!("`{v}` is not a number")))?,
            None => file_config.sync.batch_size.unwrap_or(500),
        };
        if !(1..=10_000).contains(&batch_size) {
            return Err(invalid(
                "sync.batch_size",
                format!("{batch_size} is out of range (1 to 10000)"),
            ));
        }
        let poll_interval = duration_of_a_second_or_more(
            "sync.poll_interval",
            env("GUICHET_SYNC_POLL_INTERVAL").or(file_config.sync.poll_interval),
            "60s",
            "30s, 5m",
        )?;
        let idle = match env("GUICHET_SYNC_IDLE") {
            Some(v) => matches!(v.as_str(), "1" | "true" | "yes" | "on"),
            None => file_config.sync.idle.unwrap_or(true),
        };
        let node_name = env("GUICHET_NODE_NAME")
            .or(file_config.sync.node_name)
            .unwrap_or_else(default_node_name);

        let helo_name = env("GUICHET_SMTP_HELO_NAME")
            .or(file_config.smtp.helo_name)
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty());
        if let Some(name) = &helo_name
            && !crate::outbound::smtp::is_valid_helo_name(name)
        {
            return Err(invalid(
                "smtp.helo_name",
                format!("`{name}` is not a host name (example: mail.example.com)"),
            ));
        }
        let cluster = cluster_timings(&env, file_config.cluster)?;
        let blobs = blobs_config(&data_dir, file_config.blobs, &env)?;

        let listen_text = env("GUICHET_WEB_LISTEN")
            .or(file_config.web.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen = listen_text.trim().parse().map_err(|_| {
            invalid(
                "web.listen",
                format!("`{listen_text}` is not an address and port (example: 127.0.0.1:8080)"),
            )
        })?;
        let session_idle = duration_of_a_second_or_more(
            "web.session_idle",
            env("GUICHET_WEB_SESSION_IDLE").or(file_config.web.session_idle),
            "12h",
            "12h, 30m",
        )?;
        let session_lifetime = duration_of_a_second_or_more(
            "web.session_lifetime",
            env("GUICHET_WEB_SESSION_LIFETIME").or(file_config.web.session_lifetime),
            "7d",
            "7d, 24h",
        )?;

        let metrics_token_sha256 = env("GUICHET_METRICS_TOKEN_SHA256")
            .or(file_config.metrics.token_sha256)
            .map(|text| {
                let mut digest = [0u8; 32];
                hex::decode_to_slice(text.trim(), &mut digest).map(|()| digest).map_err(|_| {
                    invalid(
                        "metrics.token_sha256",
                        "not a SHA-256 in hex (64 digits, e.g. from `printf %s TOKEN | sha256sum`)",
                    )
                })
            })
            .transpose()?;

        Ok(Config {
            data_dir,
            database_url,
            key_file,
            secret_key_hex,
            lang,
            sync: SyncConfig {
                batch_size: batch_size as usize,
                poll_interval,
                idle,
                node_name,
            },
            smtp: SmtpConfig { helo_name },
            cluster,
            web: WebConfig {
                listen,
                secure_cookies: match env("GUICHET_WEB_SECURE_COOKIES") {
                    Some(v) => matches!(v.as_str(), "1" | "true" | "yes" | "on"),
                    None => file_config.web.secure_cookies.unwrap_or(false),
                },
            },
            session_idle,
            session_lifetime,
            shop: ShopConfig {
                cache_ttl: duration_of_a_second_or_more(
                    "shop.cache_ttl",
                    env("GUICHET_SHOP_CACHE_TTL").or(file_config.shop.cache_ttl),
                    "5m",
                    "5m, 90s",
                )?,
                request_timeout: duration_of_a_second_or_more(
                    "shop.request_timeout",
                    env("GUICHET_SHOP_REQUEST_TIMEOUT").or(file_config.shop.request_timeout),
                    "10s",
                    "10s, 30s",
                )?,
                poll_interval: duration_of_a_second_or_more(
                    "shop.poll_interval",
                    env("GUICHET_SHOP_POLL_INTERVAL").or(file_config.shop.poll_interval),
                    "5m",
                    "5m, 60s",
                )?,
                connections: file_config
                    .shop_connections
                    .into_iter()
                    .enumerate()
                    .map(|(index, entry)| shop_connection(index, entry, &env))
                    .collect::<Result<_, _>>()?,
            },
            metrics_token_sha256,
            oauth: crate::oauth::OAuthConfig {
                google: oauth_provider(
                    crate::oauth::Provider::Google,
                    file_config.oauth.google,
                    &env,
                )?,
                microsoft: oauth_provider(
                    crate::oauth::Provider::Microsoft,
                    file_config.oauth.microsoft,
                    &env,
                )?,
            },
            blobs,
        })
    }
}

/// The `[cluster]` lease timings, checked together: renewals well within the lease.
fn cluster_timings(
    env: &impl Fn(&str) -> Option<String>,
    file: FileCluster,
) -> Result<crate::runtime::LeaseTimings, ConfigError> {
    let defaults = crate::runtime::LeaseTimings::default();
    let read =
        |key: &str, variable: &str, given: Option<String>, default: Duration| match env(variable)
            .or(given)
        {
            None => Ok(default),
            Some(text) => parse_duration(&text).ok_or_else(|| {
                invalid(
                    key,
                    format!("`{text}` is not a duration (examples: 10s, 500ms)"),
                )
            }),
        };
    let lease = read(
        "cluster.lease",
        "GUICHET_CLUSTER_LEASE",
        file.lease,
        defaults.lease,
    )?;
    let renew_every = read(
        "cluster.renew_every",
        "GUICHET_CLUSTER_RENEW_EVERY",
        file.renew_every,
        defaults.renew_every,
    )?;
    crate::runtime::LeaseTimings::new(lease, renew_every)
        .map_err(|e| invalid("cluster.renew_every", e.to_string()))
}

/// A file's connection made whole: the settings checked, each secret read from its variable.
fn shop_connection(
    index: usize,
    entry: FileShopConnection,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ShopConnectionConfig, ConfigError> {
    use crate::shop::connector::{
        ConnectorSecrets, ConnectorSettings, PrestaShopSettings, SHOPIFY_API_VERSION,
        ShopifySettings, WOOCOMMERCE_TRACKING_META, WooCommerceSettings,
    };
    use crate::shop::platform::Platform;
    let key = |name: &str| format!("shop_connections[{index}].{name}");
    let secret = |name: &str, variable: &Option<String>| -> Result<_, ConfigError> {
        variable
            .as_deref()
            .map(|variable| {
                env(variable)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| secrecy::SecretString::from(value.trim().to_string()))
                    .ok_or_else(|| {
                        invalid(
                            &key(name),
                            format!("the environment variable {variable} is not set"),
                        )
                    })
            })
            .transpose()
    };
    let platform = Platform::parse(&entry.platform).ok_or_else(|| {
        invalid(
            &key("platform"),
            format!(
                "`{}` is not a platform (shopify, prestashop, woocommerce, csv)",
                entry.platform
            ),
        )
    })?;
    let store_url = || {
        entry
            .store_url
            .clone()
            .map(|url| url.trim().trim_end_matches('/').to_string())
            .filter(|url| !url.is_empty())
            .ok_or_else(|| invalid(&key("store_url"), "is required for this platform"))
    };
    let settings = match platform {
        Platform::Csv => ConnectorSettings::Csv,
        Platform::Shopify => ConnectorSettings::Shopify(ShopifySettings {
            store_url: store_url()?,
            api_version: entry
                .api_version
                .clone()
                .unwrap_or_else(|| SHOPIFY_API_VERSION.into()),
            client_id: entry.client_id.clone(),
        }),
        Platform::PrestaShop => ConnectorSettings::PrestaShop(PrestaShopSettings {
            store_url: store_url()?,
        }),
        Platform::WooCommerce => ConnectorSettings::WooCommerce(WooCommerceSettings {
            store_url: store_url()?,
            tracking_meta_key: entry
                .tracking_meta_key
                .clone()
                .unwrap_or_else(|| WOOCOMMERCE_TRACKING_META.into()),
        }),
    };
    let secrets = ConnectorSecrets {
        access_token: secret("access_token_env", &entry.access_token_env)?,
        client_secret: secret("client_secret_env", &entry.client_secret_env)?,
        api_key: secret("api_key_env", &entry.api_key_env)?,
        consumer_key: secret("consumer_key_env", &entry.consumer_key_env)?,
        consumer_secret: secret("consumer_secret_env", &entry.consumer_secret_env)?,
        webhook_secret: secret("webhook_secret_env", &entry.webhook_secret_env)?,
    };
    Ok(ShopConnectionConfig {
        shop: entry.shop,
        settings,
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn with_data_dir() -> Overrides {
        Overrides {
            data_dir: Some("/tmp/g".into()),
            database_url: None,
        }
    }

    #[test]
    fn defaults_point_into_the_data_dir() {
        let c = Config::load(None, no_env, &with_data_dir()).unwrap();
        assert_eq!(c.database_url, "sqlite:///tmp/g/guichet.db?mode=rwc");
        assert_eq!(c.key_file, PathBuf::from("/tmp/g/secret.key"));
        assert_eq!(c.sync.batch_size, 500);
        assert_eq!(c.sync.poll_interval, Duration::from_secs(60));
        assert_eq!(c.cluster, crate::runtime::LeaseTimings::default());
    }

    #[test]
    fn the_metrics_token_is_given_as_its_sha256() {
        assert_eq!(
            Config::load(None, no_env, &with_data_dir())
                .unwrap()
                .metrics_token_sha256,
            None
        );
        let env = |k: &str| (k == "GUICHET_METRICS_TOKEN_SHA256").then(|| "ab".repeat(32));
        let c = Config::load(None, env, &with_data_dir()).unwrap();
        assert_eq!(c.metrics_token_sha256, Some([0xab; 32]));
        let env = |k: &str| (k == "GUICHET_METRICS_TOKEN_SHA256").then(|| "secret".to_string());
        let err = Config::load(None, env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics.token_sha256"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn cluster_leases_are_set_together_and_renewals_stay_well_under_the_lease() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, "[cluster]\nlease = \"30s\"\nrenew_every = \"5s\"\n").unwrap();
        let c = Config::load(Some(&path), no_env, &with_data_dir()).unwrap();
        assert_eq!(
            (c.cluster.lease, c.cluster.renew_every),
            (Duration::from_secs(30), Duration::from_secs(5))
        );
        let env = |k: &str| (k == "GUICHET_CLUSTER_LEASE").then(|| "20s".to_string());
        let c = Config::load(None, env, &with_data_dir()).unwrap();
        assert_eq!(c.cluster.lease, Duration::from_secs(20));
        let env = |k: &str| (k == "GUICHET_CLUSTER_RENEW_EVERY").then(|| "5s".to_string());
        let err = Config::load(None, env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(err.contains("cluster.renew_every"), "{err}");
        let env = |k: &str| (k == "GUICHET_CLUSTER_LEASE").then(|| "soon".to_string());
        let err = Config::load(None, env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(err.contains("cluster.lease"), "{err}");
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            "lang = \"fr\"\n[sync]\nbatch_size = 100\npoll_interval = \"5m\"\n",
        )
        .unwrap();
        let env = |k: &str| (k == "GUICHET_SYNC_BATCH_SIZE").then(|| "200".to_string());
        let c = Config::load(Some(&path), env, &with_data_dir()).unwrap();
        assert_eq!(c.lang, UiLang::Fr);
        assert_eq!(c.sync.batch_size, 200);
        assert_eq!(c.sync.poll_interval, Duration::from_secs(300));
    }

    #[test]
    fn errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, "[sync]\npoll_interval = \"soon\"\n").unwrap();
        let err = Config::load(Some(&path), no_env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sync.poll_interval") && err.contains("soon"),
            "{err}"
        );

        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        let err = Config::load(Some(&path), no_env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");

        let env = |k: &str| (k == "GUICHET_SYNC_BATCH_SIZE").then(|| "0".to_string());
        let err = Config::load(None, env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(err.contains("sync.batch_size"), "{err}");

        let env = |k: &str| (k == "GUICHET_DATABASE_URL").then(|| "mysql://x".to_string());
        let err = Config::load(None, env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(err.contains("database_url"), "{err}");

        let env = |k: &str| (k == "GUICHET_SMTP_HELO_NAME").then(|| "mail example".to_string());
        let err = Config::load(None, env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(err.contains("smtp.helo_name"), "{err}");
    }

    #[test]
    fn helo_name_from_the_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, "[smtp]\nhelo_name = \"mx.boutique.example\"\n").unwrap();
        let c = Config::load(Some(&path), no_env, &with_data_dir()).unwrap();
        assert_eq!(c.smtp.helo_name.as_deref(), Some("mx.boutique.example"));
        let env = |k: &str| (k == "GUICHET_SMTP_HELO_NAME").then(|| "relay.example".to_string());
        let c = Config::load(Some(&path), env, &with_data_dir()).unwrap();
        assert_eq!(c.smtp.helo_name.as_deref(), Some("relay.example"));
        let c = Config::load(None, no_env, &with_data_dir()).unwrap();
        assert_eq!(c.smtp.helo_name, None);
    }

    #[test]
    fn the_back_office_listens_on_loopback_unless_told() {
        let c = Config::load(None, no_env, &with_data_dir()).unwrap();
        assert_eq!(c.web.listen.to_string(), DEFAULT_LISTEN);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, "[web]\nlisten = \"0.0.0.0:9000\"\n").unwrap();
        let c = Config::load(Some(&path), no_env, &with_data_dir()).unwrap();
        assert_eq!(c.web.listen.to_string(), "0.0.0.0:9000");
        let env = |k: &str| (k == "GUICHET_WEB_LISTEN").then(|| "localhost".to_string());
        let err = Config::load(Some(&path), env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("web.listen") && err.contains("localhost"),
            "{err}"
        );
    }

    #[test]
    fn sessions_last_12_hours_idle_and_a_week_at_most_unless_told() {
        let c = Config::load(None, no_env, &with_data_dir()).unwrap();
        assert_eq!(c.session_idle, Duration::from_secs(12 * 3600));
        assert_eq!(c.session_lifetime, Duration::from_secs(7 * 86_400));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            "[web]\nsession_idle = \"30m\"\nsession_lifetime = \"1d\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), no_env, &with_data_dir()).unwrap();
        assert_eq!(c.session_idle, Duration::from_secs(1800));
        assert_eq!(c.session_lifetime, Duration::from_secs(86_400));
        let env = |k: &str| (k == "GUICHET_WEB_SESSION_LIFETIME").then(|| "2h".to_string());
        let c = Config::load(Some(&path), env, &with_data_dir()).unwrap();
        assert_eq!(c.session_lifetime, Duration::from_secs(7200));
        assert!(!c.web.secure_cookies);
        let env = |k: &str| (k == "GUICHET_WEB_SECURE_COOKIES").then(|| "true".to_string());
        assert!(
            Config::load(None, env, &with_data_dir())
                .unwrap()
                .web
                .secure_cookies
        );
        let env = |k: &str| (k == "GUICHET_WEB_SESSION_IDLE").then(|| "forever".to_string());
        let err = Config::load(None, env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("web.session_idle") && err.contains("forever"),
            "{err}"
        );
    }

    #[test]
    fn shop_settings_and_declared_connections_read_secrets_from_named_variables() {
        let c = Config::load(None, no_env, &with_data_dir()).unwrap();
        assert_eq!(c.shop.cache_ttl, Duration::from_secs(300));
        assert_eq!(c.shop.request_timeout, Duration::from_secs(10));
        assert_eq!(c.shop.poll_interval, Duration::from_secs(300));
        assert!(c.shop.connections.is_empty());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            "[shop]\ncache_ttl = \"90s\"\n\n[[shop_connections]]\nshop = \"boutique\"\n\
             platform = \"shopify\"\nstore_url = \"https://boutique.myshopify.com/\"\n\
             access_token_env = \"SHOPIFY_TOKEN\"\n",
        )
        .unwrap();
        let env = |k: &str| match k {
            "SHOPIFY_TOKEN" => Some("shpat_secret_value".to_string()),
            "GUICHET_SHOP_REQUEST_TIMEOUT" => Some("3s".to_string()),
            _ => None,
        };
        let c = Config::load(Some(&path), env, &with_data_dir()).unwrap();
        assert_eq!(c.shop.cache_ttl, Duration::from_secs(90));
        assert_eq!(c.shop.request_timeout, Duration::from_secs(3));
        let declared = &c.shop.connections[0];
        assert_eq!(declared.shop, "boutique");
        match &declared.settings {
            crate::shop::connector::ConnectorSettings::Shopify(s) => {
                assert_eq!(s.store_url, "https://boutique.myshopify.com");
                assert_eq!(s.api_version, crate::shop::connector::SHOPIFY_API_VERSION);
            }
            other => panic!("not Shopify: {other:?}"),
        }
        use secrecy::ExposeSecret;
        assert_eq!(
            declared
                .secrets
                .access_token
                .as_ref()
                .unwrap()
                .expose_secret(),
            "shpat_secret_value"
        );
        assert!(
            !format!("{c:?}").contains("shpat_secret_value"),
            "Debug never shows a secret"
        );

        // A variable named but not set is an error naming the key, not a silent empty secret.
        let err = Config::load(Some(&path), no_env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("shop_connections[0].access_token_env") && err.contains("SHOPIFY_TOKEN"),
            "{err}"
        );
        std::fs::write(
            &path,
            "[[shop_connections]]\nshop = \"boutique\"\nplatform = \"magento\"\n",
        )
        .unwrap();
        let err = Config::load(Some(&path), no_env, &with_data_dir())
            .unwrap_err()
            .to_string();
        assert!(err.contains("magento"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3h"), Some(Duration::from_secs(3 * 3600)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("12"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
    }

    #[test]
    fn oauth_applications_come_from_the_file_and_the_environment() {
        use crate::oauth::Provider;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            "[oauth.google]\nclient_id = \"g-app\"\nclient_secret_env = \"G_SECRET\"\n\
             [oauth.microsoft]\nclient_id = \"m-app\"\ntenant = \"contoso.example\"\n",
        )
        .unwrap();
        let env = |name: &str| match name {
            "G_SECRET" => Some("s3cret".to_string()),
            "GUICHET_OAUTH_MICROSOFT_TOKEN_URL" => Some("http://127.0.0.1:9/token".to_string()),
            _ => None,
        };
        let c = Config::load(Some(&path), env, &with_data_dir()).unwrap();
        assert_eq!(c.oauth.client_id(Provider::Google), Ok("g-app"));
        assert!(c.oauth.google.client_secret.is_some());
        assert!(!format!("{:?}", c.oauth).contains("s3cret"));
        assert_eq!(
            c.oauth.microsoft.authorize_url,
            "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/authorize"
        );
        assert_eq!(c.oauth.microsoft.token_url, "http://127.0.0.1:9/token");

        let unset = Config::load(Some(&path), no_env, &with_data_dir()).unwrap_err();
        assert!(
            unset.to_string().contains("oauth.google.client_secret_env"),
            "{unset}"
        );
        std::fs::write(&path, "[oauth.google]\ntenant = \"x\"\n").unwrap();
        let tenant = Config::load(Some(&path), no_env, &with_data_dir()).unwrap_err();
        assert!(
            tenant.to_string().contains("oauth.google.tenant"),
            "{tenant}"
        );
        let defaults = Config::load(None, no_env, &with_data_dir()).unwrap();
        assert!(defaults.oauth.client_id(Provider::Microsoft).is_err());
    }

    #[test]
    fn blobs_default_to_the_data_dir_and_take_an_s3_bucket_with_its_secret_from_the_environment() {
        use crate::store::BlobLocation;
        use secrecy::ExposeSecret;
        let defaults = Config::load(None, no_env, &with_data_dir()).unwrap();
        assert_eq!(
            defaults.blobs.location,
            BlobLocation::Local("/tmp/g/blobs".into())
        );
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        let s3 = Config::load(
            None,
            env(&[
                ("GUICHET_BLOBS_URL", "s3://attachments/prod"),
                ("GUICHET_BLOBS_ENDPOINT", "https://s3.fr-par.scw.cloud/"),
                ("GUICHET_BLOBS_REGION", "fr-par"),
                ("GUICHET_BLOBS_ACCESS_KEY_ID", "SCW123"),
                ("GUICHET_BLOBS_SECRET_ACCESS_KEY", "s3cr3t"),
            ]),
            &with_data_dir(),
        )
        .unwrap()
        .blobs;
        assert_eq!(
            s3.location,
            BlobLocation::S3 {
                bucket: "attachments".into(),
                prefix: "prod".into()
            }
        );
        assert_eq!(
            s3.s3.endpoint.as_deref(),
            Some("https://s3.fr-par.scw.cloud")
        );
        assert_eq!(s3.s3.region, "fr-par");
        assert_eq!(
            s3.s3.secret_access_key.as_ref().map(|s| s.expose_secret()),
            Some("s3cr3t")
        );
        assert!(
            !format!("{s3:?}").contains("s3cr3t"),
            "the secret stays out of Debug"
        );

        let refused = |vars: &'static [(&'static str, &'static str)]| match Config::load(
            None,
            env(vars),
            &with_data_dir(),
        ) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("refused expected, got {other:?}"),
        };
        assert_eq!(refused(&[("GUICHET_BLOBS_URL", "ftp://x/y")]), "blobs.url");
        assert_eq!(
            refused(&[("GUICHET_BLOBS_ENDPOINT", "http://10.0.0.5:9000")]),
            "blobs.endpoint",
            "plain HTTP only when allowed"
        );
        assert_eq!(
            refused(&[("GUICHET_BLOBS_ACCESS_KEY_ID", "AKIA")]),
            "blobs.access_key_id",
            "a key id without its secret"
        );
        assert_eq!(refused(&[("GUICHET_BLOBS_TIMEOUT", "0s")]), "blobs.timeout");
        let allowed = Config::load(
            None,
            env(&[
                ("GUICHET_BLOBS_ENDPOINT", "http://127.0.0.1:9000"),
                ("GUICHET_BLOBS_ALLOW_HTTP", "true"),
            ]),
            &with_data_dir(),
        )
        .unwrap();
        assert!(allowed.blobs.s3.allow_http);
    }
}
