//! Command-line interface (clap). Every command has `--help`; output follows `--lang`.

mod replies;
mod triage;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

use guichet::config::{Config, Overrides};
use guichet::crypto::SealingKey;
use guichet::intake::imap::{self, ImapSettings, Security};
use guichet::intake::providers;
use guichet::intake::sync::{self, BarProgress, FolderSummary, LogProgress, Progress, SyncOptions};
use guichet::model::{Status, UiLang};
use guichet::runtime::{RuntimeOptions, Supervisor};
use guichet::store::{NewContact, NewMailbox, Shop, Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "guichet",
    version,
    about = "Customer-service email desk for online shops"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "GUICHET_CONFIG")]
    config: Option<PathBuf>,
    /// Directory holding the SQLite database, the key file and attachments.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data dir).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Language of messages (default: from GUICHET_LANG, the config, then LANG).
    #[arg(long, global = true, value_enum)]
    lang: Option<UiLang>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run continuously: sync every mailbox (IDLE or polling) and run due jobs.
    Serve,
    /// Fetch and file new mail of every configured mailbox.
    Sync {
        /// Sync once, run due jobs, print a summary and exit (non-zero exit code on errors).
        #[arg(long)]
        once: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage shops.
    #[command(subcommand)]
    Shop(ShopCommand),
    /// Manage a shop's contacts (the addresses customers write to).
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Manage support mailboxes.
    #[command(subcommand)]
    Mailbox(MailboxCommand),
    /// Read and manage tickets.
    #[command(subcommand)]
    Tickets(TicketsCommand),
    /// Triage messages: language, intent, confidence and facts; `triage eval` measures it.
    Triage(triage::TriageArgs),
    /// A shop's intents: list, disable, add its own, keyword rules, corrections, retraining.
    #[command(subcommand)]
    Intents(triage::IntentsCommand),
    /// Automatic answers: scheduled, sent, failed, uncertain; cancel, send now, edit.
    #[command(subcommand)]
    Replies(replies::RepliesCommand),
    /// Reply templates per intent and language: list, show, set, reset.
    #[command(subcommand)]
    Templates(replies::TemplatesCommand),
    /// The shop's orders, which answers describe (status, items, tracking).
    #[command(subcommand)]
    Orders(replies::OrdersCommand),
    /// Run automatic answering on past mail without sending: an HTML and JSON report.
    Replay(replies::ReplayArgs),
    /// Create a demo shop with sample mail in the data dir and show what was filed.
    Demo,
}

#[derive(Debug, Subcommand)]
enum ShopCommand {
    /// Add a shop.
    Add { name: String },
    /// List shops.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a shop's settings.
    Set {
        name: String,
        /// Delete tickets not updated for this many months (0: keep forever).
        #[arg(long)]
        retention_months: Option<i64>,
        #[command(flatten)]
        answers: Box<replies::AnswerSettingsArgs>,
    },
}

#[derive(Debug, Subcommand)]
enum ContactCommand {
    /// Add a contact, e.g. "Service client" or "Webmaster".
    Add {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Messages to this contact are not customer-service tickets.
        #[arg(long)]
        not_customer_service: bool,
    },
    /// List a shop's contacts.
    List {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
struct MailboxAddArgs {
    #[arg(long)]
    shop: String,
    /// The support address, e.g. sav@boutique.fr.
    #[arg(long)]
    email: String,
    /// Known provider whose settings to use when the domain does not tell (gmail, outlook, ovh...).
    #[arg(long)]
    provider: Option<String>,
    #[arg(long)]
    imap_host: Option<String>,
    #[arg(long)]
    imap_port: Option<u16>,
    #[arg(long, value_enum)]
    imap_security: Option<Security>,
    /// Accept a self-signed or otherwise invalid certificate.
    #[arg(long)]
    accept_invalid_certs: bool,
    /// Login name (default: the email address).
    #[arg(long)]
    username: Option<String>,
    /// Folder to watch; repeat for several (default: INBOX).
    #[arg(long = "folder")]
    folders: Vec<String>,
    /// Delete messages from the server once filed.
    #[arg(long)]
    delete_after_import: bool,
    /// Mark messages as read on the server once filed.
    #[arg(long)]
    mark_as_read: bool,
    #[arg(long)]
    smtp_host: Option<String>,
    #[arg(long)]
    smtp_port: Option<u16>,
    #[arg(long, value_enum)]
    smtp_security: Option<Security>,
    /// Contact (by name) whose tickets this mailbox files.
    #[arg(long)]
    contact: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long, required = true)]
    password_stdin: bool,
    /// Save without testing the connection first.
    #[arg(long)]
    no_test: bool,
}

#[derive(Debug, Subcommand)]
enum MailboxCommand {
    /// Add a mailbox (its settings are found from the address for common providers).
    Add(Box<MailboxAddArgs>),
    /// Connect to mailboxes and report what works, in plain words.
    Test {
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// List mailboxes and their last sync.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop watching a mailbox and forget its settings; its tickets stay. A running `serve`
    /// stops watching it within seconds.
    Remove {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum TicketsCommand {
    /// List tickets, most recently updated first.
    List {
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a ticket and its messages.
    Show {
        number: i64,
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a ticket with its messages, search entries and attachments.
    Delete {
        number: i64,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Set a ticket's status.
    Status {
        number: i64,
        #[arg(value_enum)]
        status: Status,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Answer a ticket's customer with the text of FILE ("-": stdin), now; its scheduled
    /// automatic answers are cancelled.
    Reply {
        number: i64,
        file: PathBuf,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Write a message exactly as received (by its `id` in `tickets show --json`) to stdout.
    Raw { message_id: i64 },
    /// Write an attachment (by its `sha256` in `tickets show --json`) to stdout.
    Attachment { sha256: String },
    /// Full-text search; prints matching ticket numbers.
    Search {
        query: String,
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

struct App {
    config: Config,
    store: Store,
    key: SealingKey,
    lang: UiLang,
}

fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GUICHET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter))
        // async-imap traces every command it sends, LOGIN with its password included.
        .add_directive("async_imap=info".parse().expect("static directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn load_config(cli: &Cli) -> Result<Config> {
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    Ok(Config::load(
        cli.config.as_deref(),
        |k| std::env::var(k).ok(),
        &overrides,
    )?)
}

async fn open(cli: &Cli) -> Result<App> {
    let config = load_config(cli)?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let key = match &config.secret_key_hex {
        Some(hex_key) => SealingKey::from_hex(hex_key)?,
        None => SealingKey::load_or_create(&config.key_file)?,
    };
    let store = Store::open(&config.database_url, &config.data_dir.join("blobs"))
        .await
        .context("cannot open the database")?;
    let lang = cli.lang.unwrap_or(config.lang);
    Ok(App {
        config,
        store,
        key,
        lang,
    })
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let verbose = matches!(
        cli.command,
        Command::Serve | Command::Sync { .. } | Command::Demo
    );
    init_logging(if verbose { "info" } else { "warn" });
    // Triage with the shipped model needs no database: it runs anywhere, touching nothing.
    if let Command::Triage(args) = &cli.command
        && !args.needs_store()
    {
        let lang = cli.lang.unwrap_or(load_config(&cli)?.lang);
        let Command::Triage(args) = cli.command else {
            unreachable!("matched above")
        };
        return triage::triage(None, lang, args).await;
    }
    let ctx = open(&cli).await?;
    let result = match cli.command {
        Command::Serve => serve(&ctx, true).await,
        Command::Sync { once: false, .. } => serve(&ctx, false).await,
        Command::Sync { once: true, json } => sync_once(&ctx, json).await,
        Command::Shop(command) => shop(&ctx, command).await,
        Command::Contact(command) => contact(&ctx, command).await,
        Command::Mailbox(command) => mailbox(&ctx, command).await,
        Command::Tickets(command) => tickets(&ctx, command).await,
        Command::Triage(args) => triage::triage(Some(&ctx), ctx.lang, args).await,
        Command::Intents(command) => triage::intents(&ctx, command).await,
        Command::Replies(command) => replies::replies_command(&ctx, command).await,
        Command::Templates(command) => replies::templates_command(&ctx, command).await,
        Command::Orders(command) => replies::orders_command(&ctx, command).await,
        Command::Replay(args) => replies::replay(&ctx, args).await,
        Command::Demo => demo(&ctx).await,
    };
    ctx.store.close().await;
    result
}

/// The text of FILE, or of standard input for "-".
fn read_input(path: &std::path::Path, lang: UiLang) -> Result<String> {
    if path.as_os_str() == "-" {
        return std::io::read_to_string(std::io::stdin()).context(lang.pick(
            "lecture de l'entrée standard impossible",
            "cannot read standard input",
        ));
    }
    std::fs::read_to_string(path).with_context(|| {
        tr(
            lang,
            format!("impossible de lire {}", path.display()),
            format!("cannot read {}", path.display()),
        )
    })
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn sync_options(ctx: &App) -> SyncOptions {
    SyncOptions {
        batch_size: ctx.config.sync.batch_size,
        node_name: ctx.config.sync.node_name.clone(),
        lang: ctx.lang,
        attempts: 4,
    }
}

async fn sync_once(ctx: &App, json: bool) -> Result<ExitCode> {
    let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
        Box::new(BarProgress::default())
    } else {
        Box::new(LogProgress::default())
    };
    let summaries =
        sync::sync_all_once(&ctx.store, &ctx.key, &sync_options(ctx), progress.as_ref()).await?;
    let jobs = guichet::worker::run_due_jobs(&ctx.store, &ctx.config.sync.node_name).await?;
    let answers = guichet::answering::run(&ctx.store, &ctx.key, ctx.lang).await?;
    let failed = summaries.iter().any(|s| s.error.is_some());
    if json {
        print_json(&summaries)?;
    } else {
        print_sync_summary(ctx.lang, &summaries, jobs);
        replies::print_answer_run(&answers, ctx.lang);
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_sync_summary(lang: UiLang, summaries: &[FolderSummary], jobs: usize) {
    if summaries.is_empty() {
        println!(
            "{}",
            lang.pick(
                "Aucune boîte aux lettres configurée (guichet mailbox add).",
                "No mailbox configured (guichet mailbox add)."
            )
        );
    }
    for s in summaries {
        let folder = if s.folder.is_empty() {
            String::new()
        } else {
            format!(" {}", s.folder)
        };
        println!("{} {}{}:", s.shop, s.mailbox, folder);
        println!(
            "  {}: {}, {}: {}, {}: {}, {}: {}, {}: {}",
            lang.pick("nouveaux messages", "new messages"),
            s.filed.new_messages,
            lang.pick("nouveaux tickets", "new tickets"),
            s.filed.new_tickets,
            lang.pick("doublons ignorés", "skipped duplicates"),
            s.filed.duplicates,
            lang.pick("nos propres envois ignorés", "own mail skipped"),
            s.own_skipped,
            lang.pick(
                "messages illisibles gardés bruts",
                "unreadable messages kept raw"
            ),
            s.parse_errors,
        );
        if let Some(error) = &s.error {
            println!("  {}: {error}", lang.pick("erreur", "error"));
        }
    }
    let total = |f: fn(&FolderSummary) -> u64| summaries.iter().map(f).sum::<u64>();
    println!(
        "{}: {} {}, {} {}, {} {}, {} {}",
        lang.pick("Total", "Total"),
        total(|s| s.filed.new_messages),
        lang.pick("nouveaux messages", "new messages"),
        total(|s| s.filed.new_tickets),
        lang.pick("nouveaux tickets", "new tickets"),
        total(|s| s.filed.duplicates),
        lang.pick("doublons ignorés", "skipped duplicates"),
        summaries.iter().filter(|s| s.error.is_some()).count(),
        lang.pick("erreurs", "errors"),
    );
    if jobs > 0 {
        println!("{}: {jobs}", lang.pick("Tâches exécutées", "Jobs run"));
    }
}

/// Syncs every mailbox until SIGTERM or Ctrl-C (IDLE when offered, polling otherwise) and,
/// with `workers`, runs due jobs and automatic answers; mailboxes added, changed or removed
/// meanwhile are followed.
async fn serve(ctx: &App, workers: bool) -> Result<ExitCode> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    };
    let options = RuntimeOptions {
        workers,
        ..RuntimeOptions::from_config(&ctx.config, ctx.lang)
    };
    Supervisor::new(ctx.store.clone(), ctx.key.clone(), options)
        .run(shutdown)
        .await;
    Ok(ExitCode::SUCCESS)
}

async fn shop_named(ctx: &App, name: &str) -> Result<Shop> {
    let lang = ctx.lang;
    ctx.store.shop_by_name(name).await.map_err(|e| match e {
        StoreError::NotFound(_) => anyhow!(tr(
            lang,
            format!("aucune boutique nommée « {name} » (guichet shop list)"),
            format!("no shop named `{name}` (guichet shop list)")
        )),
        other => localized_store_error(other, lang),
    })
}

/// The shop to act on: the named one, or the only one.
async fn chosen_shop(ctx: &App, name: Option<&str>) -> Result<Shop> {
    let lang = ctx.lang;
    match name {
        Some(name) => shop_named(ctx, name).await,
        None => {
            let mut shops = ctx.store.shops().await?;
            match shops.len() {
                1 => Ok(shops.remove(0)),
                0 => bail!(lang.pick(
                    "aucune boutique : guichet shop add NOM",
                    "no shop yet: guichet shop add NAME"
                )),
                _ => bail!(lang.pick(
                    "plusieurs boutiques existent : précisez --shop NOM",
                    "several shops exist: say which with --shop NAME"
                )),
            }
        }
    }
}

async fn shop(ctx: &App, command: ShopCommand) -> Result<ExitCode> {
    match command {
        ShopCommand::Add { name } => {
            let name = name.trim();
            if name.is_empty() {
                bail!(
                    ctx.lang
                        .pick("une boutique a besoin d'un nom", "a shop needs a name")
                );
            }
            let shop = ctx
                .store
                .add_shop(name)
                .await
                .map_err(|e| localized_store_error(e, ctx.lang))?;
            println!(
                "{} {}",
                ctx.lang.pick("Boutique ajoutée :", "Shop added:"),
                shop.name
            );
        }
        ShopCommand::List { json } => {
            let shops = ctx.store.shops().await?;
            if json {
                print_json(&shops)?;
            } else if shops.is_empty() {
                println!("{}", ctx.lang.pick("Aucune boutique.", "No shops."));
            } else {
                for s in shops {
                    let retention = s.retention_months.map(|m| {
                        format!(
                            " ({m} {})",
                            ctx.lang.pick("mois de rétention", "months retention")
                        )
                    });
                    println!("{}{}", s.name, retention.unwrap_or_default());
                }
            }
        }
        ShopCommand::Set {
            name,
            retention_months,
            answers,
        } => {
            let shop = shop_named(ctx, &name).await?;
            if !answers.is_empty() {
                replies::apply_answer_settings(ctx, &shop, *answers).await?;
            }
            if let Some(months) = retention_months {
                if months < 0 {
                    bail!(ctx.lang.pick(
                        "--retention-months doit valoir 0 (conserver toujours) ou plus",
                        "--retention-months must be 0 (keep forever) or more"
                    ));
                }
                ctx.store
                    .set_retention(shop.id, (months > 0).then_some(months))
                    .await?;
            }
            println!(
                "{} {}",
                ctx.lang.pick("Boutique mise à jour :", "Shop updated:"),
                shop.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn contact(ctx: &App, command: ContactCommand) -> Result<ExitCode> {
    match command {
        ContactCommand::Add {
            shop,
            name,
            email,
            description,
            not_customer_service,
        } => {
            let shop = shop_named(ctx, &shop).await?;
            if !email.contains('@') {
                bail!(tr(
                    ctx.lang,
                    format!("« {email} » n'est pas une adresse e-mail"),
                    format!("`{email}` is not an email address")
                ));
            }
            let contact = NewContact {
                name,
                email,
                description,
                customer_service: !not_customer_service,
            };
            let added = ctx
                .store
                .add_contact(shop.id, &contact)
                .await
                .map_err(|e| localized_store_error(e, ctx.lang))?;
            println!(
                "{} {} <{}>",
                ctx.lang.pick("Contact ajouté :", "Contact added:"),
                added.name,
                added.email
            );
        }
        ContactCommand::List { shop, json } => {
            let shop = shop_named(ctx, &shop).await?;
            let contacts = ctx.store.contacts(shop.id).await?;
            if json {
                print_json(&contacts)?;
            } else {
                for c in contacts {
                    println!("{} <{}> {}", c.name, c.email, c.description);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn default_port(security: Security, imap: bool) -> u16 {
    match (imap, security) {
        (true, Security::Tls) => 993,
        (true, _) => 143,
        (false, Security::Tls) => 465,
        (false, Security::Starttls) => 587,
        (false, Security::None) => 25,
    }
}

fn security_name(security: Security) -> &'static str {
    match security {
        Security::Tls => "tls",
        Security::Starttls => "starttls",
        Security::None => "none",
    }
}

fn read_password_from_stdin(lang: UiLang) -> Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!(lang.pick(
            "--password-stdin : l'entrée standard a donné un mot de passe vide",
            "--password-stdin: standard input gave an empty password"
        ));
    }
    Ok(SecretString::from(password))
}

async fn mailbox(ctx: &App, command: MailboxCommand) -> Result<ExitCode> {
    match command {
        MailboxCommand::Add(args) => mailbox_add(ctx, *args).await,
        MailboxCommand::Remove { shop, email } => {
            let shop = shop_named(ctx, &shop).await?;
            ctx.store
                .remove_mailbox(shop.id, &email)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(_) => anyhow!(tr(
                        ctx.lang,
                        format!(
                            "aucune boîte {email} dans {} (guichet mailbox list)",
                            shop.name
                        ),
                        format!("no mailbox {email} in {} (guichet mailbox list)", shop.name)
                    )),
                    other => other.into(),
                })?;
            println!(
                "{} {email}",
                ctx.lang
                    .pick("Boîte aux lettres retirée :", "Mailbox removed:")
            );
            Ok(ExitCode::SUCCESS)
        }
        MailboxCommand::List { json } => {
            let mailboxes = ctx.store.mailboxes().await?;
            if json {
                print_json(&mailboxes)?;
            } else if mailboxes.is_empty() {
                println!(
                    "{}",
                    ctx.lang.pick("Aucune boîte aux lettres.", "No mailboxes.")
                );
            } else {
                for m in mailboxes {
                    let state = match (&m.last_error, m.last_sync_at) {
                        (Some(e), _) => format!("{}: {e}", ctx.lang.pick("erreur", "error")),
                        (None, Some(at)) => format!(
                            "{} {}",
                            ctx.lang.pick("synchronisée le", "synced at"),
                            guichet::store::rfc3339(at)
                        ),
                        (None, None) => ctx.lang.pick("jamais synchronisée", "never synced").into(),
                    };
                    println!(
                        "{} {} imap {}:{} ({}) [{}] - {state}",
                        m.shop_name,
                        m.email,
                        m.imap_host,
                        m.imap_port,
                        m.imap_security,
                        m.folders.join(", ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MailboxCommand::Test { shop, email } => {
            let mut failed = false;
            let mailboxes = ctx.store.mailboxes().await?;
            let chosen: Vec<_> = mailboxes
                .into_iter()
                .filter(|m| shop.as_deref().is_none_or(|s| m.shop_name == s))
                .filter(|m| {
                    email
                        .as_deref()
                        .is_none_or(|e| m.email.eq_ignore_ascii_case(e))
                })
                .collect();
            if chosen.is_empty() {
                bail!(ctx.lang.pick(
                    "aucune boîte aux lettres ne correspond (guichet mailbox list)",
                    "no mailbox matches (guichet mailbox list)"
                ));
            }
            for m in chosen {
                let settings = sync::imap_settings(&m, &ctx.key)?;
                failed |= !report_mailbox_test(ctx.lang, &m.email, &settings, &m.folders).await;
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Tests a connection and prints the outcome; true when everything works.
async fn report_mailbox_test(
    lang: UiLang,
    email: &str,
    settings: &ImapSettings,
    folders: &[String],
) -> bool {
    match imap::test_mailbox(settings, folders).await {
        Ok(report) => {
            println!(
                "{email}: {}",
                lang.pick("connexion IMAP réussie", "IMAP connection works")
            );
            println!("  {report}");
            true
        }
        Err(e) => {
            println!("{email}: {}", e.localized(lang));
            false
        }
    }
}

async fn mailbox_add(ctx: &App, args: MailboxAddArgs) -> Result<ExitCode> {
    let shop = shop_named(ctx, &args.shop).await?;
    let email = args.email.trim().to_lowercase();
    if !email.contains('@') {
        bail!(tr(
            ctx.lang,
            format!("--email : « {email} » n'est pas une adresse e-mail"),
            format!("--email: `{email}` is not an email address")
        ));
    }
    let known = match &args.provider {
        Some(name) => Some(providers::by_name(name).ok_or_else(|| {
            anyhow!(tr(
                ctx.lang,
                format!("--provider : fournisseur « {name} » inconnu"),
                format!("--provider: unknown provider `{name}`")
            ))
        })?),
        None => providers::for_email(&email),
    };
    let imap_security = args.imap_security.or(known.map(|p| p.imap.security));
    let imap_host = args
        .imap_host
        .clone()
        .or(known.map(|p| p.imap.host.to_string()));
    let (Some(imap_host), Some(imap_security)) = (
        imap_host,
        imap_security.or(args.imap_host.as_ref().map(|_| Security::Tls)),
    ) else {
        bail!(
            "{}",
            ctx.lang.pick(
                "fournisseur inconnu pour ce domaine : indiquez --imap-host, --imap-port, --imap-security et --smtp-host, --smtp-port, --smtp-security (ou --provider NOM)",
                "unknown provider for this domain: give --imap-host, --imap-port, --imap-security and --smtp-host, --smtp-port, --smtp-security (or --provider NAME)"
            )
        );
    };
    let imap_port = args
        .imap_port
        .or(known
            .filter(|p| p.imap.host == imap_host)
            .map(|p| p.imap.port))
        .unwrap_or(default_port(imap_security, true));
    let smtp_security = args
        .smtp_security
        .or(known.map(|p| p.smtp.security))
        .unwrap_or(Security::Starttls);
    let smtp_host = args
        .smtp_host
        .clone()
        .or(known.map(|p| p.smtp.host.to_string()))
        .unwrap_or_else(|| imap_host.clone());
    let smtp_port = args
        .smtp_port
        .or(known
            .filter(|p| p.smtp.host == smtp_host)
            .map(|p| p.smtp.port))
        .unwrap_or(default_port(smtp_security, false));
    let folders = if args.folders.is_empty() {
        vec!["INBOX".to_string()]
    } else {
        args.folders.clone()
    };
    let password = read_password_from_stdin(ctx.lang)?;
    let settings = ImapSettings {
        host: imap_host.clone(),
        port: imap_port,
        security: imap_security,
        accept_invalid_certs: args.accept_invalid_certs,
        username: args.username.clone().unwrap_or_else(|| email.clone()),
        password,
    };
    if !args.no_test && !report_mailbox_test(ctx.lang, &email, &settings, &folders).await {
        bail!(
            "{}",
            ctx.lang.pick(
                "boîte non enregistrée ; corrigez les réglages ou ajoutez --no-test",
                "mailbox not saved; fix the settings or add --no-test"
            )
        );
    }
    let contact_id = match &args.contact {
        Some(name) => Some(
            ctx.store
                .contacts(shop.id)
                .await?
                .into_iter()
                .find(|c| &c.name == name)
                .ok_or_else(|| {
                    anyhow!(tr(
                        ctx.lang,
                        format!("--contact : aucun contact nommé « {name} »"),
                        format!("--contact: no contact named `{name}`")
                    ))
                })?
                .id,
        ),
        None => None,
    };
    let mailbox = NewMailbox {
        email: email.clone(),
        imap_host,
        imap_port,
        imap_security: security_name(imap_security).into(),
        accept_invalid_certs: args.accept_invalid_certs,
        username: settings.username.clone(),
        password_sealed: ctx.key.seal(&settings.password, sync::PASSWORD_PURPOSE),
        folders,
        delete_after_import: args.delete_after_import,
        mark_as_read: args.mark_as_read,
        smtp_host,
        smtp_port,
        smtp_security: security_name(smtp_security).into(),
        contact_id,
    };
    ctx.store
        .add_mailbox(shop.id, &mailbox)
        .await
        .map_err(|e| localized_store_error(e, ctx.lang))?;
    println!(
        "{} {email}",
        ctx.lang
            .pick("Boîte aux lettres ajoutée :", "Mailbox added:")
    );
    Ok(ExitCode::SUCCESS)
}

async fn tickets(ctx: &App, command: TicketsCommand) -> Result<ExitCode> {
    match command {
        TicketsCommand::List { shop, json } => {
            let shop_id = match &shop {
                Some(name) => Some(shop_named(ctx, name).await?.id),
                None => None,
            };
            let tickets = ctx.store.tickets(shop_id).await?;
            if json {
                print_json(&tickets)?;
            } else if tickets.is_empty() {
                println!("{}", ctx.lang.pick("Aucun ticket.", "No tickets."));
            } else {
                for t in tickets {
                    println!(
                        "[{}] {:<9} {:>3} msg  {}  {}  ({})",
                        t.number,
                        t.status,
                        t.message_count,
                        t.customer_email,
                        t.subject,
                        t.updated_at
                    );
                }
            }
        }
        TicketsCommand::Show { number, shop, json } => {
            let shop = chosen_shop(ctx, shop.as_deref()).await?;
            let (ticket, messages) = ctx
                .store
                .ticket(shop.id, number)
                .await
                .map_err(|e| ticket_error(e, number, ctx.lang))?;
            let (case_file, answers) = ctx.store.ticket_answers(shop.id, number).await?;
            let case_file: Option<serde_json::Value> =
                case_file.and_then(|json| serde_json::from_str(&json).ok());
            if json {
                print_json(&serde_json::json!({
                    "ticket": ticket, "messages": messages, "replies": answers, "case_file": case_file
                }))?;
            } else {
                println!(
                    "[{}] {} — {} ({})",
                    ticket.number, ticket.subject, ticket.customer_email, ticket.status
                );
                for m in messages {
                    println!(
                        "\n--- {} {} {}",
                        m.date.as_deref().unwrap_or("?"),
                        m.from,
                        m.subject
                    );
                    if let Some(error) = &m.parse_error {
                        println!(
                            "({}: {error})",
                            ctx.lang.pick(
                                "message mal formé, gardé brut",
                                "malformed message, kept raw"
                            )
                        );
                    }
                    println!("{}", m.new_text);
                    if let Some(triage) = &m.triage {
                        print!("{}", triage::describe(triage, ctx.lang, "  » "));
                    }
                    if let Some(why) = m
                        .decision
                        .as_ref()
                        .and_then(|d| replies::describe_decision(d, ctx.lang))
                    {
                        println!(
                            "  » {}: {why}",
                            ctx.lang.pick("réponse automatique", "automatic answer")
                        );
                    }
                    for a in &m.attachments {
                        println!(
                            "  📎 {} ({}, {} {})",
                            a.filename.as_deref().unwrap_or("-"),
                            a.content_type,
                            a.size,
                            ctx.lang.pick("octets", "bytes")
                        );
                    }
                }
                if !answers.is_empty() {
                    println!(
                        "\n--- {}",
                        ctx.lang.pick("Réponses automatiques", "Automatic answers")
                    );
                    for reply in &answers {
                        replies::print_reply_line(reply, ctx.lang);
                    }
                }
                if let Some(case_file) = &case_file {
                    println!(
                        "\n--- {}\n{}",
                        ctx.lang.pick("Dossier client", "Case file"),
                        serde_json::to_string_pretty(case_file)?
                    );
                }
            }
        }
        TicketsCommand::Delete { number, shop } => {
            let shop = chosen_shop(ctx, shop.as_deref()).await?;
            ctx.store
                .delete_ticket(shop.id, number)
                .await
                .map_err(|e| ticket_error(e, number, ctx.lang))?;
            println!(
                "{} {number}",
                ctx.lang.pick("Ticket supprimé :", "Ticket deleted:")
            );
        }
        TicketsCommand::Status {
            number,
            status,
            shop,
        } => {
            let shop = chosen_shop(ctx, shop.as_deref()).await?;
            ctx.store
                .set_status(shop.id, number, status)
                .await
                .map_err(|e| ticket_error(e, number, ctx.lang))?;
            println!("[{number}] {}", status.as_str());
        }
        TicketsCommand::Reply { number, file, shop } => {
            let body = read_input(&file, ctx.lang)?;
            if body.trim().is_empty() {
                bail!(
                    ctx.lang
                        .pick("texte vide : rien n'est envoyé", "empty text: nothing sent")
                );
            }
            let shop = chosen_shop(ctx, shop.as_deref()).await?;
            let reply = guichet::answering::employee_reply(
                &ctx.store, &ctx.key, shop.id, number, &body, ctx.lang,
            )
            .await
            .map_err(|e| match e {
                guichet::answering::AnsweringError::Store(StoreError::NotFound(_)) => anyhow!(tr(
                    ctx.lang,
                    format!("pas de message client dans le ticket {number} (guichet tickets list)"),
                    format!("no customer message in ticket {number} (guichet tickets list)")
                )),
                other => other.into(),
            })?;
            replies::print_reply_line(&reply, ctx.lang);
            if let Some(error) = &reply.error {
                println!("  {error}");
            }
            if reply.state != "sent" {
                return Ok(ExitCode::FAILURE);
            }
        }
        TicketsCommand::Raw { message_id } => {
            let raw = ctx
                .store
                .raw_message(message_id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(_) => anyhow!(tr(
                        ctx.lang,
                        format!("pas de message {message_id}"),
                        format!("no message {message_id}")
                    )),
                    other => other.into(),
                })?;
            std::io::stdout().lock().write_all(&raw)?;
        }
        TicketsCommand::Attachment { sha256 } => {
            let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
            let data = valid
                .then(|| ctx.store.blobs().get(&sha256.to_ascii_lowercase()).ok())
                .flatten();
            let Some(data) = data else {
                bail!(tr(
                    ctx.lang,
                    format!("pas de pièce jointe {sha256}"),
                    format!("no attachment {sha256}")
                ));
            };
            std::io::stdout().lock().write_all(&data)?;
        }
        TicketsCommand::Search { query, shop, json } => {
            let shop = chosen_shop(ctx, shop.as_deref()).await?;
            let numbers = ctx.store.search(shop.id, &query).await?;
            if json {
                print_json(&numbers)?;
            } else {
                for n in numbers {
                    println!("{n}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// French or English, chosen at run time.
fn tr(lang: UiLang, fr: String, en: String) -> String {
    match lang {
        UiLang::Fr => fr,
        UiLang::En => en,
    }
}

fn ticket_error(error: StoreError, number: i64, lang: UiLang) -> anyhow::Error {
    match error {
        StoreError::NotFound(_) => anyhow!(tr(
            lang,
            format!("pas de ticket {number} (guichet tickets list)"),
            format!("no ticket {number} (guichet tickets list)")
        )),
        other => localized_store_error(other, lang),
    }
}

fn localized_store_error(error: StoreError, lang: UiLang) -> anyhow::Error {
    match error {
        StoreError::AlreadyExists(what) => anyhow!(tr(
            lang,
            format!("{what} existe déjà"),
            format!("{what} already exists")
        )),
        other => other.into(),
    }
}

async fn demo(ctx: &App) -> Result<ExitCode> {
    let (shop, outcome) = guichet::demo::load_demo(&ctx.store).await?;
    let lang = ctx.lang;
    println!(
        "{}: {}",
        lang.pick("Dossier de données", "Data directory"),
        ctx.config.data_dir.display()
    );
    println!(
        "{}: {} {}, {} {}, {} {}",
        tr(
            lang,
            format!("Boutique de démonstration « {} » ", shop.name),
            format!("Demo shop \"{}\"", shop.name)
        ),
        outcome.new_messages,
        lang.pick("messages classés", "messages filed"),
        outcome.new_tickets,
        lang.pick("nouveaux tickets", "new tickets"),
        outcome.duplicates,
        lang.pick("doublons ignorés", "duplicates skipped"),
    );
    for t in ctx.store.tickets(Some(shop.id)).await? {
        println!(
            "  [{}] {} msg  {}  {}",
            t.number, t.message_count, t.customer_email, t.subject
        );
    }
    println!(
        "{}",
        lang.pick(
            "Voir un ticket : guichet tickets show 1001 ; brancher une vraie boîte : guichet mailbox add --help",
            "See a ticket: guichet tickets show 1001; connect a real mailbox: guichet mailbox add --help"
        )
    );
    Ok(ExitCode::SUCCESS)
}
