//! Command-line interface (clap): argument parsing and output formatting only; every command
//! calls a `guichet::desk` use-case and prints what comes back, as text in `--lang` or as the
//! JSON shapes of `guichet::views`.

mod blobs;
mod replies;
mod shop;
mod status;
mod triage;
mod users;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Args, Parser, Subcommand};

use guichet::config::{Config, Overrides};
use guichet::desk::mailboxes::{MailboxInput, MailboxTest, SyncState, plan_servers};
use guichet::desk::settings::SettingsChange;
use guichet::desk::shops::ContactInput;
use guichet::desk::sync::{SyncPass, termination};
use guichet::desk::{Desk, DeskError, input};
use guichet::intake::sync::{BarProgress, LogProgress, Progress};
use guichet::model::{Status, UiLang};
use guichet::t;
use guichet::views;

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
    /// Run continuously: sync every mailbox (IDLE or polling), run due jobs and answers, and
    /// serve the back office, the API and the contact forms.
    Serve(ListenArgs),
    /// Fetch and file new mail of every configured mailbox.
    Sync {
        /// Sync once, run due jobs, print a summary and exit (non-zero exit code on errors).
        #[arg(long)]
        once: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The cluster's state: nodes and their heartbeat, who syncs each mailbox, each folder's
    /// lag, queue depths and the last errors (exit code 1 when no node is alive).
    Status {
        /// Print it as JSON (the shape README documents).
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
    /// The back office's employees: add, list, API tokens.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Where attachments are kept: copy them to another store, seal the S3 secret.
    #[command(subcommand)]
    Blobs(blobs::BlobsCommand),
    /// The newcomer's tour: a demo shop with sample mail, orders and shadow answers, an admin
    /// employee, and the back office served until Ctrl-C.
    Demo {
        #[command(flatten)]
        listen: ListenArgs,
        /// Only create the demo data and print it, then exit (for scripts).
        #[arg(long)]
        no_serve: bool,
    },
}

#[derive(Debug, Args)]
struct ListenArgs {
    /// Address and port of the back office (default: `web.listen`, GUICHET_WEB_LISTEN, then
    /// 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<std::net::SocketAddr>,
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
        #[command(flatten)]
        change: Box<SettingsChange>,
    },
    /// Connect a shop to its platform (Shopify, PrestaShop, WooCommerce) or to CSV files.
    /// Secrets are read from standard input, one per line in the order of the flags, or from
    /// the environment variable named; never from the command line.
    Connect(Box<shop::ConnectArgs>),
    /// Check the shop's connection: exit code 1 when it does not work.
    TestConnection {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove the shop's connection; the data already fetched stays.
    Disconnect { name: String },
    /// Import customers and orders from CSV files: `email,first_name,last_name,created_at`
    /// and `reference,customer_email,created_at,status,total,currency,carrier,
    /// tracking_number,tracking_url` (extra columns ignored; bad rows listed and skipped,
    /// exit code 1 then; a re-import updates).
    Import {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        customers: Option<PathBuf>,
        #[arg(long)]
        orders: Option<PathBuf>,
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
    /// Change a contact, found by its current name; what is left out stays.
    Set {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        new_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// true: messages to it are customer-service tickets; false: they are not.
        #[arg(long)]
        customer_service: Option<bool>,
    },
    /// Remove a contact; its tickets and mailboxes stay, no longer filed under it.
    Remove {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        name: String,
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
    #[command(flatten)]
    input: MailboxInput,
    /// Read the password from the first line of standard input.
    #[arg(long, required_unless_present = "oauth", conflicts_with = "oauth")]
    password_stdin: bool,
    /// Connect through the provider's consent screen instead of a password (Gmail / Google
    /// Workspace, Microsoft 365). Prints the address to open and waits for the answer on a
    /// loopback port, or for the final address pasted on standard input. Again on an existing
    /// mailbox: reconnects it.
    #[arg(long, value_enum)]
    oauth: Option<guichet::oauth::Provider>,
    /// The loopback port the provider's answer comes back to (default: any free port).
    #[arg(long, requires = "oauth")]
    callback_port: Option<u16>,
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

/// A desk error in the user's language, with what lies under it, for the binary to print.
#[derive(Debug)]
struct Said(String, DeskError);

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Said {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.1.cause()
    }
}

trait Say<T> {
    fn say(self, lang: UiLang) -> Result<T>;
}

impl<T, E: Into<DeskError>> Say<T> for Result<T, E> {
    fn say(self, lang: UiLang) -> Result<T> {
        self.map_err(|e| {
            let error = e.into();
            Said(error.localized(lang), error).into()
        })
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
    let env = |k: &str| std::env::var(k).ok();
    Ok(Config::load(cli.config.as_deref(), env, &overrides)?)
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let verbose = matches!(
        cli.command,
        Command::Serve(_) | Command::Sync { .. } | Command::Demo { .. }
    );
    init_logging(if verbose { "info" } else { "warn" });
    let config = load_config(&cli)?;
    let lang = cli.lang.unwrap_or(config.lang);
    // Triage with the shipped model needs no database: it runs anywhere, touching nothing.
    if let Command::Triage(args) = &cli.command
        && !args.needs_store()
    {
        return triage::triage(None, lang, args).await;
    }
    let desk = Desk::open(config, lang).await.say(lang)?;
    let result = match cli.command {
        Command::Serve(args) => serve_web(&desk, args.listen).await,
        Command::Sync { once: false, .. } => serve(&desk, false).await,
        Command::Sync { once: true, json } => sync_once(&desk, json).await,
        Command::Status { json } => status::status(&desk, json).await,
        Command::Shop(command) => shop(&desk, command).await,
        Command::Contact(command) => contact(&desk, command).await,
        Command::Mailbox(command) => mailbox(&desk, command).await,
        Command::Tickets(command) => tickets(&desk, command).await,
        Command::Triage(args) => triage::triage(Some(&desk), lang, &args).await,
        Command::Intents(command) => triage::intents(&desk, command).await,
        Command::Replies(command) => replies::replies_command(&desk, command).await,
        Command::Templates(command) => replies::templates_command(&desk, command).await,
        Command::Orders(command) => replies::orders_command(&desk, command).await,
        Command::Replay(args) => replies::replay(&desk, args).await,
        Command::User(command) => users::user_command(&desk, command).await,
        Command::Blobs(command) => blobs::blobs_command(&desk, command).await,
        Command::Demo { listen, no_serve } => {
            demo(&desk).await?;
            if no_serve {
                Ok(ExitCode::SUCCESS)
            } else {
                serve_web(&desk, listen.listen).await
            }
        }
    };
    desk.store.close().await;
    result
}

/// The text of FILE, or of standard input for "-".
fn read_input(path: &std::path::Path, lang: UiLang) -> Result<String> {
    input::read_text(path).say(lang)
}

/// Prints one text for people, e.g. `say(t!(lang, "shop.added", name = shop.name))`.
fn say(text: impl std::fmt::Display) {
    println!("{text}");
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints `rows` one per line, or `none` when there is none.
fn print_rows(rows: impl IntoIterator<Item = String>, none: Option<&str>) {
    let mut any = false;
    for row in rows {
        println!("{row}");
        any = true;
    }
    if let (false, Some(none)) = (any, none) {
        println!("{none}");
    }
}

/// Prints the JSON shape `J` of `items` or, for people, a text line per item (`none` when
/// there is none).
fn print_list<'a, T, J: From<&'a T> + serde::Serialize>(
    items: &'a [T],
    json: bool,
    line: impl Fn(&T) -> String,
    none: Option<&str>,
) -> Result<()> {
    if json {
        return print_json(&views::list::<T, J>(items));
    }
    print_rows(items.iter().map(line), none);
    Ok(())
}

fn exit_code(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn sync_once(desk: &Desk, json: bool) -> Result<ExitCode> {
    let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
        Box::new(BarProgress::default())
    } else {
        Box::new(LogProgress::default())
    };
    let pass = desk.sync_once(progress.as_ref()).await.say(desk.lang)?;
    if json {
        print_json(&views::list::<_, views::SyncFolderJson>(&pass.folders))?;
    } else {
        print_sync_summary(desk.lang, &pass);
    }
    Ok(exit_code(!pass.failed()))
}

fn print_sync_summary(lang: UiLang, pass: &SyncPass) {
    if pass.folders.is_empty() {
        say(t!(lang, "sync.no_mailbox"));
    }
    for s in &pass.folders {
        let folder = if s.folder.is_empty() { "" } else { " " };
        println!("{} {}{folder}{}:", s.shop, s.mailbox, s.folder);
        let f = &s.filed;
        let (own, raw) = (s.own_skipped, s.parse_errors);
        let line = t!(
            lang,
            "sync.folder_line",
            new_messages = f.new_messages,
            new_tickets = f.new_tickets,
            duplicates = f.duplicates,
            own = own,
            raw = raw
        );
        println!("  {line}");
        if let Some(error) = &s.error {
            println!("  {}", t!(lang, "sync.error", error = error));
        }
    }
    let (f, errors) = pass.totals();
    say(t!(
        lang,
        "sync.total",
        new_messages = f.new_messages,
        new_tickets = f.new_tickets,
        duplicates = f.duplicates,
        errors = errors
    ));
    if pass.jobs > 0 {
        say(t!(lang, "sync.jobs_run", jobs = pass.jobs));
    }
    if pass.answered_anything() {
        let (plan, sent) = (&pass.answers.planned, &pass.answers.sent);
        let refused = sent.retried + sent.failed;
        say(t!(
            lang,
            "sync.answers",
            scheduled = plan.scheduled,
            shadow = plan.shadow,
            handed_over = plan.handed_over,
            sent = sent.sent,
            refused = refused,
            uncertain = sent.uncertain
        ));
    }
}

/// Runs until SIGTERM or Ctrl-C; with `workers`, jobs and automatic answers too.
async fn serve(desk: &Desk, workers: bool) -> Result<ExitCode> {
    desk.serve(workers, termination()?).await;
    Ok(ExitCode::SUCCESS)
}

/// Runs everything (sync, jobs, answers and the back office) until SIGTERM or Ctrl-C.
async fn serve_web(desk: &Desk, listen: Option<std::net::SocketAddr>) -> Result<ExitCode> {
    use futures::FutureExt;
    let lang = desk.lang;
    let address = listen.unwrap_or(desk.config.web.listen);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow!(t!(lang, "web.cannot_listen", address = address, reason = e)))?;
    let bound = listener.local_addr()?;
    say(t!(lang, "web.listening", url = format!("http://{bound}/")));
    let shutdown = termination()?.shared();
    let web = guichet::web::serve(desk.clone(), listener, shutdown.clone());
    let ((), served) = tokio::join!(desk.serve(true, shutdown), web);
    served.map_err(|e| anyhow!(t!(lang, "web.stopped", reason = e)))?;
    Ok(ExitCode::SUCCESS)
}

async fn shop(desk: &Desk, command: ShopCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    match command {
        ShopCommand::Add { name } => {
            let shop = desk.add_shop(&name).await.say(lang)?;
            say(t!(lang, "shop.added", name = shop.name));
        }
        ShopCommand::List { json } => {
            let shops = desk.shops().await.say(lang)?;
            let line = |s: &guichet::store::Shop| match s.retention_months {
                Some(months) => t!(
                    lang,
                    "shop.line_with_retention",
                    name = s.name,
                    months = months
                ),
                None => s.name.clone(),
            };
            print_list::<_, views::ShopJson>(&shops, json, line, Some(t!(lang, "shop.none")))?;
        }
        ShopCommand::Set { name, change } => {
            let shop = desk.shop_named(&name).await.say(lang)?;
            desk.change_settings(&shop, &change).await.say(lang)?;
            say(t!(lang, "shop.updated", name = shop.name));
        }
        ShopCommand::Connect(args) => return shop::connect(desk, *args).await,
        ShopCommand::TestConnection { name, json } => {
            return shop::test_connection(desk, &name, json).await;
        }
        ShopCommand::Disconnect { name } => return shop::disconnect(desk, &name).await,
        ShopCommand::Import {
            shop,
            customers,
            orders,
        } => return shop::import(desk, &shop, customers, orders).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn contact(desk: &Desk, command: ContactCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    match command {
        ContactCommand::Add {
            shop,
            name,
            email,
            description,
            not_customer_service,
        } => {
            let shop = desk.shop_named(&shop).await.say(lang)?;
            let customer_service = !not_customer_service;
            let input = ContactInput {
                name,
                email,
                description,
                customer_service,
            };
            let added = desk.add_contact(&shop, input).await.say(lang)?;
            say(t!(
                lang,
                "contact.added",
                name = added.name,
                email = added.email
            ));
        }
        ContactCommand::Set {
            shop,
            name,
            new_name,
            email,
            description,
            customer_service,
        } => {
            let shop = desk.shop_named(&shop).await.say(lang)?;
            let current = contact_named(desk, &shop, &name).await?;
            let input = ContactInput {
                name: new_name.unwrap_or(current.name),
                email: email.unwrap_or(current.email),
                description: description.unwrap_or(current.description),
                customer_service: customer_service.unwrap_or(current.customer_service),
            };
            let (name, email) = (input.name.clone(), input.email.trim().to_lowercase());
            desk.change_contact(&shop, current.id, input)
                .await
                .say(lang)?;
            say(t!(lang, "contact.changed", name = name, email = email));
        }
        ContactCommand::Remove { shop, name } => {
            let shop = desk.shop_named(&shop).await.say(lang)?;
            let current = contact_named(desk, &shop, &name).await?;
            desk.remove_contact(&shop, current.id).await.say(lang)?;
            say(t!(lang, "contact.removed", name = current.name));
        }
        ContactCommand::List { shop, json } => {
            let shop = desk.shop_named(&shop).await.say(lang)?;
            let contacts = desk.contacts(&shop).await.say(lang)?;
            let line =
                |c: &guichet::store::Contact| format!("{} <{}> {}", c.name, c.email, c.description);
            print_list::<_, views::ContactJson>(&contacts, json, line, None)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The shop's contact called `name`.
async fn contact_named(
    desk: &Desk,
    shop: &guichet::store::Shop,
    name: &str,
) -> Result<guichet::store::Contact> {
    desk.contacts(shop)
        .await
        .say(desk.lang)?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or(DeskError::NoContactNamed(name.to_string()))
        .say(desk.lang)
}

/// Prints a mailbox test in plain words; true when it worked.
fn print_mailbox_test(test: &MailboxTest, lang: UiLang) -> bool {
    match &test.outcome {
        Ok(report) => println!(
            "{}: {}\n  {report}",
            test.email,
            t!(lang, "mailbox.imap_works")
        ),
        Err(e) => println!("{}: {}", test.email, e.localized(lang)),
    }
    test.outcome.is_ok()
}

/// `mailbox add --oauth`: the address to open, then the provider's answer from the loopback
/// port or pasted on standard input, whichever comes first.
async fn connect_oauth(
    desk: &Desk,
    shop: &guichet::store::Shop,
    provider: guichet::oauth::Provider,
    callback_port: Option<u16>,
    input: MailboxInput,
) -> Result<ExitCode> {
    use guichet::oauth::loopback;
    let lang = desk.lang;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", callback_port.unwrap_or(0))).await?;
    let redirect = format!(
        "http://127.0.0.1:{}{}",
        listener.local_addr()?.port(),
        loopback::CALLBACK_PATH
    );
    let (url, connection) = desk.start_oauth(provider, &redirect, input).say(lang)?;
    say(t!(lang, "oauth.open_url", url = url, redirect = redirect));
    // A plain thread: blocked on a terminal, it must not keep the process from ending.
    let (pasted_tx, pasted) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if let Some(pairs) = loopback::callback_pairs(&line) {
                let _ = pasted_tx.send(pairs);
                return;
            }
        }
    });
    let pairs = tokio::select! {
        received = loopback::next_callback(&listener, lang) => received?,
        Ok(pairs) = pasted => pairs,
    };
    match desk.finish_oauth(shop, &connection, &pairs).await {
        Ok(done) => {
            if let Some(test) = &done.test {
                print_mailbox_test(test, lang);
            }
            say(done.sentence(provider, lang));
            Ok(ExitCode::SUCCESS)
        }
        Err(DeskError::MailboxTest(test)) => {
            print_mailbox_test(&test, lang);
            Err(anyhow!(t!(lang, "mailbox.not_saved")))
        }
        Err(other) => Err(other).say(lang),
    }
}

async fn mailbox(desk: &Desk, command: MailboxCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    match command {
        MailboxCommand::Add(args) if args.oauth.is_some() => {
            let shop = desk.shop_named(&args.shop).await.say(lang)?;
            let provider = args.oauth.expect("checked by the match guard");
            return connect_oauth(desk, &shop, provider, args.callback_port, args.input).await;
        }
        MailboxCommand::Add(args) => {
            let shop = desk.shop_named(&args.shop).await.say(lang)?;
            // Incomplete settings are said before the password is asked for.
            plan_servers(&args.input).say(lang)?;
            let password = input::read_password(std::io::stdin().lock()).say(lang)?;
            match desk.add_mailbox(&shop, &args.input, password).await {
                Ok((_, test)) => {
                    if let Some(test) = &test {
                        print_mailbox_test(test, lang);
                    }
                    say(t!(
                        lang,
                        "mailbox.added",
                        email = args.input.email.trim().to_lowercase()
                    ));
                }
                Err(DeskError::MailboxTest(test)) => {
                    print_mailbox_test(&test, lang);
                    return Err(anyhow!(t!(lang, "mailbox.not_saved")));
                }
                Err(other) => return Err(other).say(lang),
            }
        }
        MailboxCommand::Remove { shop, email } => {
            let shop = desk.shop_named(&shop).await.say(lang)?;
            desk.remove_mailbox(&shop, &email).await.say(lang)?;
            say(t!(lang, "mailbox.removed", email = email));
        }
        MailboxCommand::List { json } => {
            let mailboxes = desk.mailboxes().await.say(lang)?;
            let line = |m: &guichet::store::MailboxRow| {
                let state = views::sync_state_label(SyncState::of(m), lang);
                let folders = m.folders.join(", ");
                format!(
                    "{} {} imap {}:{} ({}) [{folders}] - {state}",
                    m.shop_name, m.email, m.imap_host, m.imap_port, m.imap_security
                )
            };
            print_list::<_, views::MailboxJson>(
                &mailboxes,
                json,
                line,
                Some(t!(lang, "mailbox.none")),
            )?;
        }
        MailboxCommand::Test { shop, email } => {
            let tests = desk
                .test_mailboxes(shop.as_deref(), email.as_deref())
                .await
                .say(lang)?;
            let worked: Vec<bool> = tests
                .iter()
                .map(|test| print_mailbox_test(test, lang))
                .collect();
            return Ok(exit_code(worked.iter().all(|w| *w)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The named shop, or None for every shop.
async fn named(desk: &Desk, shop: Option<&str>) -> Result<Option<guichet::store::Shop>> {
    match shop {
        Some(name) => desk.shop_named(name).await.map(Some).say(desk.lang),
        None => Ok(None),
    }
}

/// The named shop, or the only one.
async fn chosen(desk: &Desk, shop: Option<&str>) -> Result<guichet::store::Shop> {
    desk.choose_shop(shop).await.say(desk.lang)
}

async fn tickets(desk: &Desk, command: TicketsCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    match command {
        TicketsCommand::List { shop, json } => {
            let shop = named(desk, shop.as_deref()).await?;
            let tickets = desk.tickets(shop.as_ref()).await.say(lang)?;
            let line = |t: &guichet::store::TicketView| {
                format!(
                    "[{}] {:<9} {:>3} msg  {}  {}  ({})",
                    t.number,
                    t.status.to_string(),
                    t.message_count,
                    t.customer_email,
                    t.subject,
                    views::rfc3339(t.updated_at)
                )
            };
            print_list::<_, views::TicketJson>(
                &tickets,
                json,
                line,
                Some(t!(lang, "tickets.none")),
            )?;
        }
        TicketsCommand::Show { number, shop, json } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            let detail = desk.ticket(&shop, number).await.say(lang)?;
            if json {
                let customer = desk
                    .customer_panel(&shop, &detail.ticket.customer_email)
                    .await
                    .say(lang)?;
                print_json(&views::TicketDetailJson::new(&detail, &customer, lang))?;
            } else {
                print_ticket(&detail, lang)?;
            }
        }
        TicketsCommand::Delete { number, shop } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            desk.delete_ticket(&shop, number).await.say(lang)?;
            say(t!(lang, "tickets.deleted", number = number));
        }
        TicketsCommand::Status {
            number,
            status,
            shop,
        } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            desk.set_status(&shop, number, status).await.say(lang)?;
            println!("[{number}] {}", status);
        }
        TicketsCommand::Reply { number, file, shop } => {
            let body = read_input(&file, lang)?;
            let shop = chosen(desk, shop.as_deref()).await?;
            let reply = desk.reply(&shop, number, &body).await.say(lang)?;
            println!("{}", replies::reply_line(&reply, lang));
            if let Some(error) = &reply.error {
                println!("  {error}");
            }
            return Ok(exit_code(reply.state == guichet::model::ReplyState::Sent));
        }
        TicketsCommand::Raw { message_id } => {
            let raw = desk.raw_message(message_id).await.say(lang)?;
            std::io::stdout().lock().write_all(&raw)?;
        }
        TicketsCommand::Attachment { sha256 } => {
            let data = desk.attachment(&sha256).await.say(lang)?;
            std::io::stdout().lock().write_all(&data)?;
        }
        TicketsCommand::Search { query, shop, json } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            let numbers = desk.search(&shop, &query).await.say(lang)?;
            print_list::<_, &i64>(&numbers, json, i64::to_string, None)?;
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
            m.date.map_or_else(|| "?".into(), views::rfc3339),
            m.from,
            m.subject
        );
        if let Some(error) = &m.parse_error {
            println!("({}: {error})", t!(lang, "tickets.malformed"));
        }
        println!("{}", m.new_text);
        let triage = m.triage.iter().flat_map(|t| views::triage_lines(t, lang));
        print_rows(triage.map(|line| format!("  » {line}")), None);
        if let Some(decision) = guichet::desk::tickets::recorded_decision(m) {
            println!(
                "  » {}: {}",
                t!(lang, "tickets.automatic_answer"),
                views::decision_label(&decision, lang)
            );
        }
        for a in &m.attachments {
            let name = a.filename.as_deref().unwrap_or("-");
            let line = t!(
                lang,
                "tickets.attachment_line",
                name = name,
                content_type = a.content_type,
                size = a.size
            );
            println!("  📎 {line}");
        }
    }
    if !detail.replies.is_empty() {
        println!("\n--- {}", t!(lang, "tickets.automatic_answers"));
        print_rows(
            detail.replies.iter().map(|r| replies::reply_line(r, lang)),
            None,
        );
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

async fn demo(desk: &Desk) -> Result<ExitCode> {
    let lang = desk.lang;
    let demo = desk.demo().await.say(lang)?;
    say(t!(
        lang,
        "demo.data_dir",
        path = desk.config.data_dir.display()
    ));
    let f = &demo.filed;
    say(t!(
        lang,
        "demo.filed",
        shop = demo.shop.name,
        new_messages = f.new_messages,
        new_tickets = f.new_tickets,
        duplicates = f.duplicates
    ));
    let line = |t: &guichet::store::TicketView| {
        format!(
            "  [{}] {} msg  {}  {}",
            t.number, t.message_count, t.customer_email, t.subject
        )
    };
    print_rows(demo.tickets.iter().map(line), None);
    say(t!(
        lang,
        "demo.orders_and_answers",
        orders = demo.orders,
        shadow = demo.shadow_answers
    ));
    say(t!(
        lang,
        "demo.sign_in",
        email = demo.admin_email,
        password = secrecy::ExposeSecret::expose_secret(&demo.admin_password)
    ));
    say(t!(lang, "demo.next"));
    Ok(ExitCode::SUCCESS)
}
