//! `guichet shop connect|test-connection|disconnect|import`: a shop's platform connection and
//! its CSV data. Secrets come from standard input (one per line, in the order of the flags) or
//! from an environment variable, never from the command line, where `ps` shows them.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use secrecy::SecretString;

use guichet::desk::{Desk, input};
use guichet::model::UiLang;
use guichet::shop::connector::{
    ConnectorSecrets, ConnectorSettings, PrestaShopSettings, SHOPIFY_API_VERSION, ShopifySettings,
    WOOCOMMERCE_TRACKING_META, WooCommerceSettings,
};
use guichet::shop::{ImportReport, platform::ConnectionReport};
use guichet::t;

use super::{Say, print_json, say};

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The shop to connect.
    name: String,
    #[command(subcommand)]
    platform: PlatformArgs,
}

/// Where a secret comes from: the next line of standard input, or a variable.
#[derive(Debug, Clone, Copy)]
enum SecretSource<'a> {
    Stdin,
    Env(&'a str),
}

#[derive(Debug, Subcommand)]
enum PlatformArgs {
    /// Shopify's Admin GraphQL API: a static access token (`--token-stdin`), or a current
    /// app's client credentials (`--client-id ID --client-secret-stdin`).
    Shopify {
        /// https://NAME.myshopify.com
        #[arg(long)]
        store_url: String,
        /// The Admin API version (default: a recent stable one).
        #[arg(long)]
        api_version: Option<String>,
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        token_stdin: bool,
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        #[arg(long)]
        client_secret_stdin: bool,
        #[arg(long, value_name = "VAR")]
        client_secret_env: Option<String>,
        #[command(flatten)]
        webhook: WebhookSecretArgs,
    },
    /// PrestaShop's Webservice, with its key.
    Prestashop {
        #[arg(long)]
        store_url: String,
        #[arg(long)]
        key_stdin: bool,
        #[arg(long, value_name = "VAR")]
        key_env: Option<String>,
    },
    /// WooCommerce's REST API v3, with a consumer key and secret.
    Woocommerce {
        #[arg(long)]
        store_url: String,
        #[arg(long)]
        consumer_key_stdin: bool,
        #[arg(long, value_name = "VAR")]
        consumer_key_env: Option<String>,
        #[arg(long)]
        consumer_secret_stdin: bool,
        #[arg(long, value_name = "VAR")]
        consumer_secret_env: Option<String>,
        /// The order meta key holding tracking numbers (default: Shipment Tracking's).
        #[arg(long)]
        tracking_meta_key: Option<String>,
        #[command(flatten)]
        webhook: WebhookSecretArgs,
    },
    /// No API: customers and orders come from CSV files (`guichet shop import`).
    Csv,
}

#[derive(Debug, Args)]
struct WebhookSecretArgs {
    /// The key webhooks are signed with.
    #[arg(long)]
    webhook_secret_stdin: bool,
    #[arg(long, value_name = "VAR")]
    webhook_secret_env: Option<String>,
}

/// Reads the secrets in the order given, each from its source; `None` when neither flag is.
struct Secrets<R> {
    stdin: R,
    lang: UiLang,
}

impl<R: BufRead> Secrets<R> {
    fn read(
        &mut self,
        stdin: bool,
        env: &Option<String>,
        what: &str,
    ) -> Result<Option<SecretString>> {
        let source = match (stdin, env.as_deref()) {
            (true, _) => SecretSource::Stdin,
            (false, Some(variable)) => SecretSource::Env(variable),
            (false, None) => return Ok(None),
        };
        let value = match source {
            SecretSource::Stdin => {
                let mut line = String::new();
                self.stdin.read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).trim().to_string()
            }
            SecretSource::Env(variable) => std::env::var(variable)
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        if value.is_empty() {
            return Err(anyhow!(t!(
                self.lang,
                "shop_connect.secret_missing_input",
                what = what
            )));
        }
        Ok(Some(SecretString::from(value)))
    }
}

fn settings_and_secrets(
    platform: PlatformArgs,
    secrets: &mut Secrets<impl BufRead>,
) -> Result<(ConnectorSettings, ConnectorSecrets)> {
    let lang = secrets.lang;
    let url = |url: String| url.trim().trim_end_matches('/').to_string();
    Ok(match platform {
        PlatformArgs::Shopify {
            store_url,
            api_version,
            client_id,
            token_stdin,
            token_env,
            client_secret_stdin,
            client_secret_env,
            webhook,
        } => (
            ConnectorSettings::Shopify(ShopifySettings {
                store_url: url(store_url),
                api_version: api_version.unwrap_or_else(|| SHOPIFY_API_VERSION.into()),
                client_id,
            }),
            ConnectorSecrets {
                access_token: secrets.read(
                    token_stdin,
                    &token_env,
                    &t!(lang, "shop_connect.secret_access_token"),
                )?,
                client_secret: secrets.read(
                    client_secret_stdin,
                    &client_secret_env,
                    &t!(lang, "shop_connect.secret_client_secret"),
                )?,
                webhook_secret: secrets.read(
                    webhook.webhook_secret_stdin,
                    &webhook.webhook_secret_env,
                    &t!(lang, "shop_connect.secret_webhook_secret"),
                )?,
                ..ConnectorSecrets::default()
            },
        ),
        PlatformArgs::Prestashop {
            store_url,
            key_stdin,
            key_env,
        } => (
            ConnectorSettings::PrestaShop(PrestaShopSettings {
                store_url: url(store_url),
            }),
            ConnectorSecrets {
                api_key: secrets.read(
                    key_stdin,
                    &key_env,
                    &t!(lang, "shop_connect.secret_api_key"),
                )?,
                ..ConnectorSecrets::default()
            },
        ),
        PlatformArgs::Woocommerce {
            store_url,
            consumer_key_stdin,
            consumer_key_env,
            consumer_secret_stdin,
            consumer_secret_env,
            tracking_meta_key,
            webhook,
        } => (
            ConnectorSettings::WooCommerce(WooCommerceSettings {
                store_url: url(store_url),
                tracking_meta_key: tracking_meta_key
                    .unwrap_or_else(|| WOOCOMMERCE_TRACKING_META.into()),
            }),
            ConnectorSecrets {
                consumer_key: secrets.read(
                    consumer_key_stdin,
                    &consumer_key_env,
                    &t!(lang, "shop_connect.secret_consumer_key"),
                )?,
                consumer_secret: secrets.read(
                    consumer_secret_stdin,
                    &consumer_secret_env,
                    &t!(lang, "shop_connect.secret_consumer_secret"),
                )?,
                webhook_secret: secrets.read(
                    webhook.webhook_secret_stdin,
                    &webhook.webhook_secret_env,
                    &t!(lang, "shop_connect.secret_webhook_secret"),
                )?,
                ..ConnectorSecrets::default()
            },
        ),
        PlatformArgs::Csv => (ConnectorSettings::Csv, ConnectorSecrets::default()),
    })
}

pub async fn connect(desk: &Desk, args: ConnectArgs) -> Result<ExitCode> {
    let lang = desk.lang;
    let shop = desk.shop_named(&args.name).await.say(lang)?;
    let mut secrets = Secrets {
        stdin: std::io::stdin().lock(),
        lang,
    };
    let (settings, secrets) = settings_and_secrets(args.platform, &mut secrets)?;
    desk.connect_shop(&shop, &settings, &secrets)
        .await
        .say(lang)?;
    say(t!(
        lang,
        "shop_connect.connected",
        shop = shop.name,
        platform = settings.platform().name()
    ));
    Ok(ExitCode::SUCCESS)
}

pub async fn test_connection(desk: &Desk, name: &str, json: bool) -> Result<ExitCode> {
    let lang = desk.lang;
    let shop = desk.shop_named(name).await.say(lang)?;
    let outcome = desk.test_shop_connection(&shop).await.say(lang)?;
    if json {
        print_json(&match &outcome {
            Ok(report) => serde_json::json!({ "ok": true, "report": report }),
            Err(error) => serde_json::json!({
                "ok": false,
                "error": error,
                "message": error.explain(lang),
            }),
        })?;
    } else {
        match &outcome {
            Ok(report) => print_report(report, lang),
            Err(error) => eprintln!(
                "{}",
                t!(
                    lang,
                    "shop_connect.check_failed",
                    error = error.explain(lang)
                )
            ),
        }
    }
    Ok(if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(report: &ConnectionReport, lang: UiLang) {
    say(t!(
        lang,
        "shop_connect.check_ok",
        platform = report.platform.name()
    ));
    if let Some(name) = &report.shop_name {
        say(t!(lang, "shop_connect.check_shop_name", name = name));
    }
    for warning in &report.warnings {
        say(t!(
            lang,
            "shop_connect.check_warning",
            warning = warning.explain(lang)
        ));
    }
}

pub async fn disconnect(desk: &Desk, name: &str) -> Result<ExitCode> {
    let lang = desk.lang;
    let shop = desk.shop_named(name).await.say(lang)?;
    desk.disconnect_shop(&shop).await.say(lang)?;
    say(t!(lang, "shop_connect.disconnected", shop = shop.name));
    Ok(ExitCode::SUCCESS)
}

pub async fn import(
    desk: &Desk,
    shop: &str,
    customers: Option<PathBuf>,
    orders: Option<PathBuf>,
) -> Result<ExitCode> {
    let lang = desk.lang;
    let shop = desk.shop_named(shop).await.say(lang)?;
    if customers.is_none() && orders.is_none() {
        return Err(anyhow!(t!(lang, "shop_connect.nothing_to_import")));
    }
    let mut skipped = 0;
    let mut report_on = |file: &PathBuf, report: &ImportReport, line: String| {
        say(line);
        for row in &report.rejected {
            eprintln!("{}: {}", file.display(), row.explain(lang));
        }
        skipped += report.rejected.len();
    };
    if let Some(file) = &customers {
        let content = input::read_bytes(file).say(lang)?;
        let report = desk
            .import_customers(&shop, &content)
            .await
            .map_err(|e| anyhow!("{}: {}", file.display(), e.localized(lang)))?;
        let line = t!(
            lang,
            "shop_connect.customers_imported",
            count = report.imported
        );
        report_on(file, &report, line);
    }
    if let Some(file) = &orders {
        let content = input::read_bytes(file).say(lang)?;
        let report = desk
            .import_orders(&shop, &content)
            .await
            .map_err(|e| anyhow!("{}: {}", file.display(), e.localized(lang)))?;
        let line = t!(lang, "orders.imported", count = report.imported);
        report_on(file, &report, line);
    }
    if skipped == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{}", t!(lang, "orders.rows_skipped", count = skipped));
    Ok(ExitCode::FAILURE)
}
