//! Command-line interface (clap): argument parsing and output formatting only; every command
//! calls a `guichet::desk` use-case. Every command has `--help`; output follows `--lang`.

mod replies;
mod triage;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

use guichet::config::{Config, Overrides};
use guichet::crypto::SealingKey;
use guichet::desk::mailboxes::{MailboxInput, MailboxTest};
use guichet::desk::shops::ContactInput;
use guichet::desk::sync::SyncPass;
use guichet::desk::{Desk, DeskError};
use guichet::intake::imap::Security;
use guichet::intake::sync::{BarProgress, FolderSummary, LogProgress, Progress};
use guichet::model::{Status, UiLang};
use guichet::runtime::{RuntimeOptions, Supervisor};
use guichet::store::{MailboxRow, Store};
use guichet::t;

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

impl MailboxAddArgs {
    fn into_input(self) -> MailboxInput {
        MailboxInput {
            email: self.email,
            provider: self.provider,
            imap_host: self.imap_host,
            imap_port: self.imap_port,
            imap_security: self.imap_security,
            accept_invalid_certs: self.accept_invalid_certs,
            username: self.username,
            folders: self.folders,
            delete_after_import: self.delete_after_import,
            mark_as_read: self.mark_as_read,
            smtp_host: self.smtp_host,
            smtp_port: self.smtp_port,
            smtp_security: self.smtp_security,
            contact: self.contact,
            skip_test: self.no_test,
        }
    }
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

/// The desk this run works on, and the language it speaks.
struct App {
    desk: Desk,
    lang: UiLang,
}

impl std::ops::Deref for App {
    type Target = Desk;
    fn deref(&self) -> &Desk {
        &self.desk
    }
}

/// A desk error in the user's language, for the binary to print.
trait Say<T> {
    fn say(self, lang: UiLang) -> Result<T>;
}

impl<T> Say<T> for Result<T, DeskError> {
    fn say(self, lang: UiLang) -> Result<T> {
        self.map_err(|e| anyhow!(e.localized(lang)))
    }
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
    let lang = cli.lang.unwrap_or(config.lang);
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        t!(
            lang,
            "cli.cannot_create_data_dir",
            path = config.data_dir.display()
        )
    })?;
    let key = match &config.secret_key_hex {
        Some(hex_key) => SealingKey::from_hex(hex_key)?,
        None => SealingKey::load_or_create(&config.key_file)?,
    };
    let store = Store::open(&config.database_url, &config.data_dir.join("blobs"))
        .await
        .context(t!(lang, "cli.cannot_open_database"))?;
    Ok(App {
        desk: Desk {
            store,
            key,
            config,
            lang,
        },
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
        return std::io::read_to_string(std::io::stdin())
            .context(t!(lang, "cli.cannot_read_stdin"));
    }
    std::fs::read_to_string(path)
        .with_context(|| t!(lang, "cli.cannot_read", path = path.display()))
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn exit_code(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn sync_once(ctx: &App, json: bool) -> Result<ExitCode> {
    let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
        Box::new(BarProgress::default())
    } else {
        Box::new(LogProgress::default())
    };
    let pass = ctx.sync_once(progress.as_ref()).await.say(ctx.lang)?;
    if json {
        print_json(&pass.folders)?;
    } else {
        print_sync_summary(ctx.lang, &pass);
        replies::print_answer_run(&pass.answers, ctx.lang);
    }
    Ok(exit_code(!pass.failed()))
}

fn print_sync_summary(lang: UiLang, pass: &SyncPass) {
    let summaries = &pass.folders;
    if summaries.is_empty() {
        println!("{}", t!(lang, "sync.no_mailbox"));
    }
    for s in summaries {
        let folder = if s.folder.is_empty() {
            String::new()
        } else {
            format!(" {}", s.folder)
        };
        println!("{} {}{}:", s.shop, s.mailbox, folder);
        println!(
            "  {}",
            t!(
                lang,
                "sync.folder_line",
                new_messages = s.filed.new_messages,
                new_tickets = s.filed.new_tickets,
                duplicates = s.filed.duplicates,
                own = s.own_skipped,
                raw = s.parse_errors
            )
        );
        if let Some(error) = &s.error {
            println!("  {}", t!(lang, "sync.error", error = error));
        }
    }
    let total = |f: fn(&FolderSummary) -> u64| summaries.iter().map(f).sum::<u64>();
    println!(
        "{}",
        t!(
            lang,
            "sync.total",
            new_messages = total(|s| s.filed.new_messages),
            new_tickets = total(|s| s.filed.new_tickets),
            duplicates = total(|s| s.filed.duplicates),
            errors = summaries.iter().filter(|s| s.error.is_some()).count()
        )
    );
    if pass.jobs > 0 {
        println!("{}", t!(lang, "sync.jobs_run", jobs = pass.jobs));
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

async fn shop(ctx: &App, command: ShopCommand) -> Result<ExitCode> {
    let lang = ctx.lang;
    match command {
        ShopCommand::Add { name } => {
            let shop = ctx.add_shop(&name).await.say(lang)?;
            println!("{}", t!(lang, "shop.added", name = shop.name));
        }
        ShopCommand::List { json } => {
            let shops = ctx.shops().await.say(lang)?;
            if json {
                print_json(&shops)?;
            } else if shops.is_empty() {
                println!("{}", t!(lang, "shop.none"));
            } else {
                for s in shops {
                    match s.retention_months {
                        Some(months) => println!(
                            "{}",
                            t!(
                                lang,
                                "shop.line_with_retention",
                                name = s.name,
                                months = months
                            )
                        ),
                        None => println!("{}", s.name),
                    }
                }
            }
        }
        ShopCommand::Set {
            name,
            retention_months,
            answers,
        } => {
            let shop = ctx.shop_named(&name).await.say(lang)?;
            let change = answers.into_change(retention_months);
            ctx.change_settings(&shop, &change).await.say(lang)?;
            println!("{}", t!(lang, "shop.updated", name = shop.name));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn contact(ctx: &App, command: ContactCommand) -> Result<ExitCode> {
    let lang = ctx.lang;
    match command {
        ContactCommand::Add {
            shop,
            name,
            email,
            description,
            not_customer_service,
        } => {
            let shop = ctx.shop_named(&shop).await.say(lang)?;
            let input = ContactInput {
                name,
                email,
                description,
                customer_service: !not_customer_service,
            };
            let added = ctx.add_contact(&shop, input).await.say(lang)?;
            println!(
                "{}",
                t!(
                    lang,
                    "contact.added",
                    name = added.name,
                    email = added.email
                )
            );
        }
        ContactCommand::List { shop, json } => {
            let shop = ctx.shop_named(&shop).await.say(lang)?;
            let contacts = ctx.contacts(&shop).await.say(lang)?;
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

fn read_password_from_stdin(lang: UiLang) -> Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context(t!(lang, "mailbox.cannot_read_password"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(anyhow!(t!(lang, "mailbox.empty_password")));
    }
    Ok(SecretString::from(password))
}

/// Prints a mailbox test in plain words; true when it worked.
fn print_mailbox_test(test: &MailboxTest, lang: UiLang) -> bool {
    match &test.outcome {
        Ok(report) => {
            println!("{}: {}", test.email, t!(lang, "mailbox.imap_works"));
            println!("  {report}");
            true
        }
        Err(e) => {
            println!("{}: {}", test.email, e.localized(lang));
            false
        }
    }
}

fn mailbox_state(m: &MailboxRow, lang: UiLang) -> String {
    match (&m.last_error, m.last_sync_at) {
        (Some(e), _) => t!(lang, "mailbox.state_error", error = e),
        (None, Some(at)) => t!(
            lang,
            "mailbox.state_synced",
            at = guichet::store::rfc3339(at)
        ),
        (None, None) => t!(lang, "mailbox.state_never").into(),
    }
}

async fn mailbox(ctx: &App, command: MailboxCommand) -> Result<ExitCode> {
    let lang = ctx.lang;
    match command {
        MailboxCommand::Add(args) => {
            let shop = ctx.shop_named(&args.shop).await.say(lang)?;
            let input = args.into_input();
            // Incomplete settings are said before the password is asked for.
            guichet::desk::mailboxes::plan_servers(&input)
                .map_err(DeskError::from)
                .say(lang)?;
            let password = read_password_from_stdin(lang)?;
            match ctx.add_mailbox(&shop, &input, password).await {
                Ok((_, test)) => {
                    if let Some(test) = &test {
                        print_mailbox_test(test, lang);
                    }
                    println!(
                        "{}",
                        t!(
                            lang,
                            "mailbox.added",
                            email = input.email.trim().to_lowercase()
                        )
                    );
                }
                Err(DeskError::MailboxTest(test)) => {
                    print_mailbox_test(&test, lang);
                    return Err(anyhow!(t!(lang, "mailbox.not_saved")));
                }
                Err(other) => return Err(anyhow!(other.localized(lang))),
            }
        }
        MailboxCommand::Remove { shop, email } => {
            let shop = ctx.shop_named(&shop).await.say(lang)?;
            ctx.remove_mailbox(&shop, &email).await.say(lang)?;
            println!("{}", t!(lang, "mailbox.removed", email = email));
        }
        MailboxCommand::List { json } => {
            let mailboxes = ctx.mailboxes().await.say(lang)?;
            if json {
                print_json(&mailboxes)?;
            } else if mailboxes.is_empty() {
                println!("{}", t!(lang, "mailbox.none"));
            } else {
                for m in mailboxes {
                    println!(
                        "{} {} imap {}:{} ({}) [{}] - {}",
                        m.shop_name,
                        m.email,
                        m.imap_host,
                        m.imap_port,
                        m.imap_security,
                        m.folders.join(", "),
                        mailbox_state(&m, lang)
                    );
                }
            }
        }
        MailboxCommand::Test { shop, email } => {
            let tests = ctx
                .test_mailboxes(shop.as_deref(), email.as_deref())
                .await
                .say(lang)?;
            let mut all_work = true;
            for test in &tests {
                all_work &= print_mailbox_test(test, lang);
            }
            return Ok(exit_code(all_work));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn tickets(ctx: &App, command: TicketsCommand) -> Result<ExitCode> {
    let lang = ctx.lang;
    match command {
        TicketsCommand::List { shop, json } => {
            let shop = match &shop {
                Some(name) => Some(ctx.shop_named(name).await.say(lang)?),
                None => None,
            };
            let tickets = ctx.tickets(shop.as_ref()).await.say(lang)?;
            if json {
                print_json(&tickets)?;
            } else if tickets.is_empty() {
                println!("{}", t!(lang, "tickets.none"));
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
            let shop = ctx.choose_shop(shop.as_deref()).await.say(lang)?;
            let detail = ctx.ticket(&shop, number).await.say(lang)?;
            if json {
                print_json(&detail)?;
            } else {
                print_ticket(&detail, lang)?;
            }
        }
        TicketsCommand::Delete { number, shop } => {
            let shop = ctx.choose_shop(shop.as_deref()).await.say(lang)?;
            ctx.delete_ticket(&shop, number).await.say(lang)?;
            println!("{}", t!(lang, "tickets.deleted", number = number));
        }
        TicketsCommand::Status {
            number,
            status,
            shop,
        } => {
            let shop = ctx.choose_shop(shop.as_deref()).await.say(lang)?;
            ctx.set_status(&shop, number, status).await.say(lang)?;
            println!("[{number}] {}", status);
        }
        TicketsCommand::Reply { number, file, shop } => {
            let body = read_input(&file, lang)?;
            let shop = ctx.choose_shop(shop.as_deref()).await.say(lang)?;
            let reply = ctx.reply(&shop, number, &body).await.say(lang)?;
            replies::print_reply_line(&reply, lang);
            if let Some(error) = &reply.error {
                println!("  {error}");
            }
            return Ok(exit_code(reply.state == "sent"));
        }
        TicketsCommand::Raw { message_id } => {
            let raw = ctx.raw_message(message_id).await.say(lang)?;
            std::io::stdout().lock().write_all(&raw)?;
        }
        TicketsCommand::Attachment { sha256 } => {
            let data = ctx.attachment(&sha256).say(lang)?;
            std::io::stdout().lock().write_all(&data)?;
        }
        TicketsCommand::Search { query, shop, json } => {
            let shop = ctx.choose_shop(shop.as_deref()).await.say(lang)?;
            let numbers = ctx.search(&shop, &query).await.say(lang)?;
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

fn print_ticket(detail: &guichet::desk::tickets::TicketDetail, lang: UiLang) -> Result<()> {
    let ticket = &detail.ticket;
    println!(
        "[{}] {} — {} ({})",
        ticket.number, ticket.subject, ticket.customer_email, ticket.status
    );
    for m in &detail.messages {
        println!(
            "\n--- {} {} {}",
            m.date.as_deref().unwrap_or("?"),
            m.from,
            m.subject
        );
        if let Some(error) = &m.parse_error {
            println!("({}: {error})", t!(lang, "tickets.malformed"));
        }
        println!("{}", m.new_text);
        if let Some(triage) = &m.triage {
            print!("{}", triage::describe(triage, lang, "  » "));
        }
        if let Some(why) = m
            .decision
            .as_ref()
            .and_then(|d| replies::describe_decision(d, lang))
        {
            println!("  » {}: {why}", t!(lang, "tickets.automatic_answer"));
        }
        for a in &m.attachments {
            println!(
                "  📎 {}",
                t!(
                    lang,
                    "tickets.attachment_line",
                    name = a.filename.as_deref().unwrap_or("-"),
                    content_type = a.content_type,
                    size = a.size
                )
            );
        }
    }
    if !detail.replies.is_empty() {
        println!("\n--- {}", t!(lang, "tickets.automatic_answers"));
        for reply in &detail.replies {
            replies::print_reply_line(reply, lang);
        }
    }
    if let Some(case_file) = &detail.case_file {
        println!(
            "\n--- {}\n{}",
            t!(lang, "tickets.case_file"),
            serde_json::to_string_pretty(case_file)?
        );
    }
    Ok(())
}

async fn demo(ctx: &App) -> Result<ExitCode> {
    let (shop, outcome) = guichet::demo::load_demo(&ctx.store).await?;
    let lang = ctx.lang;
    println!(
        "{}",
        t!(lang, "demo.data_dir", path = ctx.config.data_dir.display())
    );
    println!(
        "{}",
        t!(
            lang,
            "demo.filed",
            shop = shop.name,
            new_messages = outcome.new_messages,
            new_tickets = outcome.new_tickets,
            duplicates = outcome.duplicates
        )
    );
    for t in ctx.tickets(Some(&shop)).await.say(lang)? {
        println!(
            "  [{}] {} msg  {}  {}",
            t.number, t.message_count, t.customer_email, t.subject
        );
    }
    println!("{}", t!(lang, "demo.next"));
    Ok(ExitCode::SUCCESS)
}
