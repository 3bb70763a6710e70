//! The use-cases every edge shares: the command line today, the back office and its API next.
//! Each takes typed input and returns typed results or a [`DeskError`]; none prints. The
//! edges only parse requests and format what comes back.

pub mod actions;
pub mod blobs;
pub mod contact_form;
pub mod demo;
pub mod employees;
pub mod input;
pub mod mailboxes;
pub mod message_sources;
pub mod oauth;
pub mod orders;
pub mod replay;
pub mod replies;
pub mod settings;
pub mod shop_connections;
pub mod shops;
pub mod stats;
pub mod status;
pub mod sync;
pub mod templates;
pub mod ticket_list;
pub mod tickets;
pub mod triage;

use crate::answering::AnsweringError;
use crate::config::Config;
use crate::crypto::{CryptoError, SealingKey};
use crate::intake::sync::SyncError;
use crate::model::UiLang;
use crate::store::{Shop, Store, StoreError};
use crate::t;

pub use settings::SettingError;

/// What the use-cases work on: the store, the key that opens sealed secrets, and the settings
/// of this node.
#[derive(Clone)]
pub struct Desk {
    pub store: Store,
    pub key: SealingKey,
    pub config: Config,
    /// Language of what the desk writes for people (answers' explanations, notices).
    pub lang: UiLang,
    /// The shops' platform clients, kept while their connection is unchanged.
    pub shop_clients: crate::shop::live::ShopClients,
}

/// Why a use-case did not happen, in terms a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("no shop named {0}")]
    NoShopNamed(String),
    #[error("a shop needs a name")]
    ShopNeedsName,
    #[error("no contact named {0}")]
    NoContactNamed(String),
    #[error(transparent)]
    Period(stats::PeriodError),
    #[error(transparent)]
    ContactForm(#[from] contact_form::ContactFormError),
    #[error(transparent)]
    NotAnAddress(#[from] shops::NotAnAddress),
    #[error(transparent)]
    MailboxSettings(#[from] mailboxes::MailboxSettingsError),
    #[error("mailbox test failed")]
    MailboxTest(Box<mailboxes::MailboxTest>),
    #[error("OAuth connection: {0}")]
    OAuth(crate::oauth::OAuthError),
    #[error("the provider confirmed {confirmed}, not {asked}")]
    OAuthOtherAddress { asked: String, confirmed: String },
    #[error("no {intent} template in {lang:?}")]
    NoTemplate { intent: String, lang: UiLang },
    #[error(transparent)]
    Template(#[from] templates::TemplateRefusal),
    #[error("an evaluation dataset is needed")]
    DatasetNeeded,
    #[error(transparent)]
    Eval(#[from] triage::EvalError),
    #[error("the intent other cannot be disabled")]
    OtherStaysOn,
    #[error("invalid intent identifier")]
    BadIntentId,
    #[error("only {0} examples")]
    TooFewExamples(usize),
    #[error("no customer message {0} in this shop")]
    NoShopMessage(i64),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Csv(crate::shop::CsvError),
    #[error("no shop yet")]
    NoShopYet,
    #[error("several shops exist")]
    SeveralShops,
    #[error("no ticket {0}")]
    NoTicket(i64),
    #[error("no customer message in ticket {0}")]
    NoCustomerMessage(i64),
    #[error("no message {0}")]
    NoMessage(i64),
    #[error("no attachment {0}")]
    NoAttachment(String),
    #[error("no reply {0}")]
    NoReply(i64),
    #[error("no rule {0}")]
    NoRule(i64),
    #[error("no mailbox {email} in {shop}")]
    NoMailboxInShop { email: String, shop: String },
    #[error("no mailbox matches")]
    NoMailboxMatches,
    #[error("unknown intent {0}")]
    UnknownIntent(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("reply {id} is {state}")]
    ReplyNotActionable {
        id: i64,
        state: crate::model::ReplyState,
    },
    #[error("empty text")]
    EmptyText,
    #[error("invalid setting: {0}")]
    Setting(#[from] SettingError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Answering(#[from] AnsweringError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Input(#[from] input::InputError),
    #[error("cannot create the data directory {path}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] CryptoError),
    #[error("cannot open the database")]
    OpenDatabase(#[source] StoreError),
    #[error("blob store URL: {0}")]
    BlobUrl(String),
    #[error("cannot write {path}: {source}")]
    CannotWrite {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: unreadable dataset")]
    Dataset {
        path: std::path::PathBuf,
        source: crate::triage::corpus::DatasetError,
    },
    #[error("a model trained on a file is evaluated on a dataset")]
    TrainNeedsDataset,
    #[error("bad date {0}")]
    BadSince(String),
    /// Unknown address or wrong password: the same refusal, so it tells neither.
    #[error("sign-in refused")]
    SignInRefused,
    #[error("too many failed sign-ins; retry in {retry_after_secs} s")]
    SignInThrottled { retry_after_secs: u64 },
    #[error("a password needs at least {min} characters")]
    PasswordTooShort { min: usize },
    #[error("cannot hash the password")]
    PasswordHashing,
    #[error("no employee {0}")]
    NoEmployee(i64),
    #[error("no employee {0}")]
    NoEmployeeNamed(String),
    #[error("an API token needs a label")]
    TokenNeedsLabel,
    #[error("no API token {0}")]
    NoApiToken(i64),
    #[error("the shop must keep an administrator")]
    LastAdmin,
    #[error("an administrator cannot take away their own role or account")]
    OwnAccount,
    #[error(transparent)]
    Action(#[from] actions::ActionError),
    #[error("this list page is out of date or not one")]
    BadCursor,
    #[error(transparent)]
    ShopConnection(#[from] shop_connections::ShopConnectionError),
}

impl From<StoreError> for DeskError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::AlreadyExists(what) => DeskError::AlreadyExists(what),
            other => DeskError::Store(other),
        }
    }
}

impl DeskError {
    /// The error for a person, in their language.
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            DeskError::NoShopNamed(name) => t!(lang, "error.no_shop_named", name = name),
            DeskError::NoShopYet => t!(lang, "error.no_shop_yet").into(),
            DeskError::SeveralShops => t!(lang, "error.several_shops").into(),
            DeskError::NoTicket(number) => t!(lang, "error.no_ticket", number = number),
            DeskError::NoCustomerMessage(number) => {
                t!(lang, "error.no_customer_message", number = number)
            }
            DeskError::NoMessage(id) => t!(lang, "error.no_message", id = id),
            DeskError::NoAttachment(sha) => t!(lang, "error.no_attachment", sha = sha),
            DeskError::NoReply(id) => t!(lang, "error.no_reply", id = id),
            DeskError::NoRule(id) => t!(lang, "error.no_rule", id = id),
            DeskError::NoMailboxInShop { email, shop } => {
                t!(lang, "error.no_mailbox_in_shop", email = email, shop = shop)
            }
            DeskError::NoMailboxMatches => t!(lang, "error.no_mailbox_matches").into(),
            DeskError::OAuth(error) => error.localized(lang),
            DeskError::OAuthOtherAddress { asked, confirmed } => t!(
                lang,
                "oauth.other_address",
                asked = asked,
                confirmed = confirmed
            ),
            DeskError::UnknownIntent(intent) => t!(lang, "error.unknown_intent", intent = intent),
            DeskError::AlreadyExists(what) => t!(lang, "error.already_exists", what = what),
            DeskError::ReplyNotActionable { id, state } => t!(
                lang,
                "error.reply_not_actionable",
                id = id,
                state = replies::state_label(*state, lang)
            ),
            DeskError::EmptyText => t!(lang, "error.empty_text").into(),
            DeskError::Setting(error) => error.localized(lang),
            DeskError::ShopNeedsName => t!(lang, "error.shop_needs_name").into(),
            DeskError::NoContactNamed(name) => t!(lang, "error.no_contact_named", name = name),
            DeskError::Period(error) => stats::explain_period_error(error, lang),
            DeskError::ContactForm(error) => error.localized(lang),
            DeskError::NotAnAddress(error) => t!(lang, "error.not_an_address", address = error.0),
            DeskError::MailboxSettings(error) => match error {
                mailboxes::MailboxSettingsError::NotAnAddress(address) => {
                    t!(lang, "error.not_an_address", address = address)
                }
                mailboxes::MailboxSettingsError::UnknownProvider(name) => {
                    t!(lang, "error.unknown_provider", name = name)
                }
                mailboxes::MailboxSettingsError::UnknownDomain => {
                    t!(lang, "error.unknown_domain").into()
                }
            },
            DeskError::MailboxTest(test) => match &test.outcome {
                Err(error) => t!(
                    lang,
                    "error.mailbox_not_saved",
                    reason = error.localized(lang)
                ),
                Ok(_) => t!(lang, "error.mailbox_not_saved", reason = "?"),
            },
            DeskError::NoTemplate {
                intent,
                lang: template_lang,
            } => t!(
                lang,
                "error.no_template",
                intent = intent,
                lang = template_lang.code()
            ),
            DeskError::Template(templates::TemplateRefusal::UnknownNeed(need)) => {
                t!(lang, "error.unknown_need", need = need)
            }
            DeskError::Template(templates::TemplateRefusal::Invalid(error)) => {
                t!(lang, "error.template_refused", reason = error.explain(lang))
            }
            DeskError::DatasetNeeded => t!(lang, "error.dataset_needed").into(),
            DeskError::Eval(triage::EvalError::NothingLabelled) => {
                t!(lang, "error.nothing_labelled").into()
            }
            DeskError::Eval(triage::EvalError::Training(reason)) => reason.clone(),
            DeskError::OtherStaysOn => t!(lang, "error.other_stays_on").into(),
            DeskError::BadIntentId => t!(lang, "error.bad_intent_id").into(),
            DeskError::TooFewExamples(count) => t!(
                lang,
                "error.too_few_examples",
                count = count,
                min = triage::MIN_EXAMPLES
            ),
            DeskError::NoShopMessage(id) => t!(lang, "error.no_shop_message", id = id),
            DeskError::Render(error) => error.to_string(),
            DeskError::Csv(error) => error.explain(lang),
            DeskError::ShopConnection(error) => error.localized(lang),
            DeskError::Sync(error) => error.localized(lang),
            DeskError::Answering(error) => error.to_string(),
            DeskError::Store(StoreError::ObjectStore { location, failure }) => {
                failure.localized(location, lang)
            }
            DeskError::Store(error) => error.to_string(),
            DeskError::BlobUrl(reason) => t!(lang, "blobs.bad_url", reason = reason),
            DeskError::Input(error) => error.localized(lang),
            DeskError::DataDir { path, .. } => {
                t!(lang, "cli.cannot_create_data_dir", path = path.display())
            }
            DeskError::Key(error) => error.to_string(),
            DeskError::OpenDatabase(_) => t!(lang, "cli.cannot_open_database").into(),
            DeskError::CannotWrite { path, source } => {
                t!(lang, "cli.cannot_write", path = path, reason = source)
            }
            DeskError::Dataset { path, .. } => path.display().to_string(),
            DeskError::TrainNeedsDataset => t!(lang, "triage.train_needs_dataset").into(),
            DeskError::BadSince(since) => t!(lang, "replay.bad_since", since = since),
            DeskError::SignInRefused => t!(lang, "employees.sign_in_refused").into(),
            DeskError::SignInThrottled { retry_after_secs } => t!(
                lang,
                "employees.sign_in_throttled",
                minutes = retry_after_secs.div_ceil(60)
            ),
            DeskError::PasswordTooShort { min } => {
                t!(lang, "employees.password_too_short", min = min)
            }
            DeskError::PasswordHashing => t!(lang, "employees.password_hashing").into(),
            DeskError::NoEmployee(id) => t!(lang, "employees.no_employee", id = id),
            DeskError::NoEmployeeNamed(email) => {
                t!(lang, "employees.no_employee_named", email = email)
            }
            DeskError::TokenNeedsLabel => t!(lang, "employees.token_needs_label").into(),
            DeskError::NoApiToken(id) => t!(lang, "employees.no_api_token", id = id),
            DeskError::LastAdmin => t!(lang, "web_settings_more.last_admin").into(),
            DeskError::OwnAccount => t!(lang, "web_settings_more.own_account").into(),
            DeskError::Action(error) => error.localized(lang),
            DeskError::BadCursor => t!(lang, "ticket_list.bad_cursor").into(),
        }
    }

    /// What lies under the localized text and is worth showing beside it (an I/O or database
    /// error), for the edges that print a cause chain.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + 'static)> {
        use std::error::Error;
        match self {
            DeskError::Input(error) => error.source(),
            DeskError::DataDir { source, .. } => Some(source),
            DeskError::Key(error) => error.source(),
            DeskError::OpenDatabase(error) => Some(error),
            DeskError::Dataset { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type DeskResult<T> = Result<T, DeskError>;

impl Desk {
    /// What reads the shops' data live: the store, the key, the clients kept, the cache.
    pub fn shop_data(&self) -> crate::shop::live::ShopData {
        crate::shop::live::ShopData {
            store: self.store.clone(),
            key: self.key.clone(),
            clients: self.shop_clients.clone(),
            settings: crate::shop::live::LiveSettings::from_config(&self.config.shop),
        }
    }

    /// The shop's data source: the store, and its platform when connected.
    pub async fn live_shop(&self, shop_id: i64) -> DeskResult<crate::shop::live::LiveShop> {
        Ok(self.shop_data().live(shop_id).await?)
    }

    /// How answers go out, from the configuration.
    pub(crate) fn send_options(&self) -> crate::answering::send::SendOptions {
        crate::answering::send::SendOptions::from_config(&self.config)
    }

    /// The desk a configuration describes: its data directory (created when missing), its
    /// sealing key (given, or read from the key file, created the first time) and its store.
    pub async fn open(config: Config, lang: UiLang) -> DeskResult<Desk> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| DeskError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let key = match &config.secret_key_hex {
            Some(hex_key) => SealingKey::from_hex(hex_key)?,
            None => SealingKey::load_or_create(&config.key_file)?,
        };
        let blobs = blobs::open_blob_store(&config.blobs, &config.blobs.location, &key)?;
        let store = Store::open_with_blobs(&config.database_url, blobs)
            .await
            .map_err(DeskError::OpenDatabase)?;
        let desk = Desk {
            store,
            key,
            config,
            lang,
            shop_clients: Default::default(),
        };
        desk.apply_configured_connections().await?;
        Ok(desk)
    }

    /// The shop called `name`.
    pub async fn shop_named(&self, name: &str) -> DeskResult<Shop> {
        self.store.shop_by_name(name).await.map_err(|e| match e {
            StoreError::NotFound(_) => DeskError::NoShopNamed(name.to_string()),
            other => other.into(),
        })
    }

    /// The shop to act on: the named one, or the only one.
    pub async fn choose_shop(&self, name: Option<&str>) -> DeskResult<Shop> {
        if let Some(name) = name {
            return self.shop_named(name).await;
        }
        let mut shops = self.store.shops().await?;
        match shops.len() {
            1 => Ok(shops.remove(0)),
            0 => Err(DeskError::NoShopYet),
            _ => Err(DeskError::SeveralShops),
        }
    }

    /// The id of the named shop, or None for every shop.
    pub async fn shop_filter(&self, name: Option<&str>) -> DeskResult<Option<i64>> {
        Ok(match name {
            Some(name) => Some(self.shop_named(name).await?.id),
            None => None,
        })
    }
}

/// Maps a store's "not found" to the desk error that names what was asked for.
fn not_found(error: StoreError, missing: DeskError) -> DeskError {
    match error {
        StoreError::NotFound(_) => missing,
        other => other.into(),
    }
}
