//! IMAP client: connection (implicit TLS, STARTTLS, plain), UID-based fetch, IDLE, and errors a
//! shop owner can act on.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use futures::{StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::intake::providers;
use crate::model::UiLang;
use crate::oauth::sasl::BearerMechanism;

/// How the connection to a mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Implicit TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS; refusing to go on without it.
    Starttls,
    /// No encryption (loopback or trusted networks only).
    None,
}

// The names stored in mailbox rows and accepted by `--imap-security`.
crate::serde_names!(Security);

#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub accept_invalid_certs: bool,
    pub username: String,
    pub credential: Credential,
}

/// What proves to a mail server (IMAP and SMTP alike) that we may use the mailbox.
#[derive(Debug, Clone)]
pub enum Credential {
    /// IMAP LOGIN, SMTP AUTH PLAIN or LOGIN.
    Password(SecretString),
    /// An OAuth2 access token, sent with SASL OAUTHBEARER when the server offers it, else
    /// XOAUTH2 (see [`crate::oauth::sasl`]).
    AccessToken(SecretString),
}

impl Credential {
    pub fn password(password: impl Into<String>) -> Credential {
        Credential::Password(SecretString::from(password.into()))
    }
}

/// OAUTHBEARER or XOAUTH2 over IMAP AUTHENTICATE: the initial response first; when the
/// server refuses, it sends an error challenge (a JSON status) that the client acknowledges.
struct Bearer {
    mechanism: BearerMechanism,
    initial_response: String,
    answered: bool,
}

impl async_imap::Authenticator for Bearer {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.answered, true) {
            self.mechanism.error_acknowledgement().to_string()
        } else {
            std::mem::take(&mut self.initial_response)
        }
    }
}

/// The SASL mechanisms the server offers before sign-in (`AUTH=` capabilities), asked with
/// CAPABILITY (after STARTTLS the greeting's list may be stale).
async fn offered_mechanisms(
    client: &mut async_imap::Client<MailStream>,
) -> Result<Vec<String>, async_imap::error::Error> {
    let (sender, receiver) = async_channel::bounded(16);
    client
        .run_command_and_check_ok("CAPABILITY", Some(sender))
        .await?;
    let mut mechanisms = Vec::new();
    while let Ok(response) = receiver.try_recv() {
        if let async_imap::types::UnsolicitedResponse::Other(data) = response
            && let async_imap::imap_proto::Response::Capabilities(capabilities) = data.parsed()
        {
            for capability in capabilities {
                if let async_imap::imap_proto::Capability::Auth(name) = capability {
                    mechanisms.push(name.to_string());
                }
            }
        }
    }
    Ok(mechanisms)
}

/// State of a selected folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderState {
    pub uid_validity: u32,
    pub uid_next: Option<u32>,
    pub exists: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    pub uid: u32,
    pub raw: Vec<u8>,
}

/// A folder as LIST shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFolder {
    /// The name as the server spells it (modified UTF-7): what SELECT and APPEND take.
    pub name: String,
    /// The name for people (decoded from modified UTF-7).
    pub display_name: String,
    /// Attributes as sent, e.g. `\Sent` (RFC 6154 special use), `\Noselect`, `\HasChildren`.
    pub attributes: Vec<String>,
}

impl ListedFolder {
    pub fn has_attribute(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }
}

/// A provider's advice when it refuses a password: its catalogue key (`providers.*`).
pub type ProviderHint = &'static str;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot resolve host {host}")]
    Dns { host: String },
    #[error("connection refused by {host}:{port}")]
    ConnectionRefused { host: String, port: u16 },
    #[error("timed out talking to {host}:{port}")]
    Timeout { host: String, port: u16 },
    #[error("TLS certificate of {host} rejected: {reason}")]
    Certificate { host: String, reason: String },
    #[error("TLS failure with {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("the server refused the user name or password")]
    AuthenticationFailed { hint: Option<ProviderHint> },
    /// An OAuth mailbox whose provider no longer gives access tokens: a person must connect it
    /// again (nothing was tried on the server).
    #[error("the provider no longer accepts this mailbox's authorization: reconnect needed")]
    ReconnectNeeded,
    #[error("folder {folder} does not exist")]
    FolderMissing { folder: String },
    #[error("connection lost: {0}")]
    Connection(String),
    #[error("IMAP protocol error: {0}")]
    Protocol(String),
}

/// The protocol a connection problem is about: it names the server and its usual ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Smtp,
}

/// How a problem of reaching a server reads, the same for IMAP and SMTP: unknown host,
/// connection refused, timeout, certificate, TLS. Other errors get their own words elsewhere.
pub fn connection_problem_text(error: &ImapError, protocol: Protocol, lang: UiLang) -> String {
    let (name, tls_port, starttls_port) = match protocol {
        Protocol::Imap => ("IMAP", 993, 143),
        Protocol::Smtp => ("SMTP", 465, 587),
    };
    match error {
        ImapError::Dns { host } => {
            crate::t!(
                lang,
                "intake.server_not_found",
                host = host,
                protocol = name
            )
        }
        ImapError::ConnectionRefused { host, port } => crate::t!(
            lang,
            "intake.connection_refused",
            host = host,
            port = port,
            tls_port = tls_port,
            starttls_port = starttls_port
        ),
        ImapError::Timeout { host, port } => {
            crate::t!(lang, "intake.timed_out", host = host, port = port)
        }
        ImapError::Certificate { host, reason } => {
            crate::t!(
                lang,
                "intake.invalid_certificate",
                host = host,
                reason = reason
            )
        }
        ImapError::Tls { host, reason } => {
            crate::t!(lang, "intake.tls_failed", host = host, reason = reason)
        }
        other => other.to_string(),
    }
}

impl ImapError {
    /// The message shown to the shop, in its language.
    pub fn localized(&self, lang: UiLang) -> String {
        match (self, lang) {
            (
                ImapError::Dns { .. }
                | ImapError::ConnectionRefused { .. }
                | ImapError::Timeout { .. }
                | ImapError::Certificate { .. }
                | ImapError::Tls { .. },
                lang,
            ) => connection_problem_text(self, Protocol::Imap, lang),
            (ImapError::AuthenticationFailed { hint }, lang) => {
                let base = crate::t!(lang, "intake.authentication_refused");
                match hint {
                    Some(key) => format!("{base} {}", crate::i18n::text(lang, key)),
                    None => base.to_string(),
                }
            }
            (ImapError::ReconnectNeeded, lang) => {
                crate::t!(lang, "oauth.reconnect_needed").to_string()
            }
            (ImapError::FolderMissing { folder }, lang) => {
                crate::t!(lang, "intake.folder_missing", folder = folder)
            }
            (ImapError::Connection(reason), lang) => {
                crate::t!(lang, "intake.connection_lost", reason = reason)
            }
            (ImapError::Protocol(reason), lang) => {
                crate::t!(lang, "intake.unexpected_imap_response", reason = reason)
            }
        }
    }

    /// Whether retrying later may succeed (network trouble) rather than needing a human.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ImapError::Timeout { .. }
                | ImapError::Connection(_)
                | ImapError::ConnectionRefused { .. }
        )
    }
}

/// One stream type for the three security modes, so one session type covers them.
#[derive(Debug)]
pub enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Opens a TCP (and, per `security`, TLS) connection to a mail server. Shared with SMTP later.
pub async fn open_stream(
    host: &str,
    port: u16,
    security: Security,
    accept_invalid_certs: bool,
) -> Result<MailStream, ImapError> {
    let timeout_error = || ImapError::Timeout {
        host: host.to_string(),
        port,
    };
    let addresses: Vec<_> =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| timeout_error())?
            .map_err(|_| ImapError::Dns {
                host: host.to_string(),
            })?
            .collect();
    if addresses.is_empty() {
        return Err(ImapError::Dns {
            host: host.to_string(),
        });
    }
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addresses[..]))
        .await
        .map_err(|_| timeout_error())?
        .map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => ImapError::ConnectionRefused {
                host: host.to_string(),
                port,
            },
            _ => ImapError::Connection(e.to_string()),
        })?;
    tcp.set_nodelay(true).ok();
    match security {
        Security::Tls => Ok(MailStream::Tls(Box::new(
            tls_handshake(tcp, host, accept_invalid_certs).await?,
        ))),
        Security::Starttls | Security::None => Ok(MailStream::Plain(tcp)),
    }
}

pub async fn tls_handshake(
    tcp: TcpStream,
    host: &str,
    accept_invalid_certs: bool,
) -> Result<TlsStream<TcpStream>, ImapError> {
    let config = tls_config(accept_invalid_certs);
    let server_name =
        rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| ImapError::Tls {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        TlsConnector::from(config).connect(server_name, tcp),
    )
    .await
    .map_err(|_| ImapError::Timeout {
        host: host.to_string(),
        port: 0,
    })?
    .map_err(|e| classify_tls_error(host, e))
}

fn classify_tls_error(host: &str, error: io::Error) -> ImapError {
    let reason = error.to_string();
    let certificate_problem = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)));
    if certificate_problem {
        ImapError::Certificate {
            host: host.to_string(),
            reason,
        }
    } else {
        ImapError::Tls {
            host: host.to_string(),
            reason,
        }
    }
}

fn tls_config(accept_invalid_certs: bool) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let config = if accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Arc::new(config)
}

/// Accepts any certificate (self-signed servers the shop chose to trust) but still checks
/// that the server owns the key it presents.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn protocol_error(error: async_imap::error::Error) -> ImapError {
    use async_imap::error::Error;
    match error {
        Error::Io(e) => ImapError::Connection(e.to_string()),
        Error::ConnectionLost => ImapError::Connection("the server closed the connection".into()),
        other => ImapError::Protocol(other.to_string()),
    }
}

/// `1:5,7,9:10` from sorted or unsorted UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// A folder name as people read it, from IMAP's modified UTF-7 (RFC 3501 section 5.1.3):
/// `Envoy&AOk-s` → `Envoyés`, `&-` → `&`. Malformed sequences are kept as they are.
pub fn decode_modified_utf7(name: &str) -> String {
    fn decode_segment(segment: &str) -> Option<String> {
        let mut bits: u32 = 0;
        let mut bit_count = 0;
        let mut units = Vec::new();
        let mut pending = Vec::new();
        for c in segment.bytes() {
            let value = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b',' => 63,
                _ => return None,
            };
            bits = (bits << 6) | u32::from(value);
            bit_count += 6;
            if bit_count >= 8 {
                bit_count -= 8;
                pending.push((bits >> bit_count) as u8);
                bits &= (1 << bit_count) - 1;
                if pending.len() == 2 {
                    units.push(u16::from_be_bytes([pending[0], pending[1]]));
                    pending.clear();
                }
            }
        }
        String::from_utf16(&units).ok()
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('-') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let segment = &after[..end];
        if segment.is_empty() {
            out.push('&');
        } else {
            match decode_segment(segment) {
                Some(decoded) => out.push_str(&decoded),
                None => out.push_str(&rest[start..start + 1 + end + 1]),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// What `mailbox test` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxReport {
    pub idle: bool,
    /// (folder, number of messages)
    pub folders: Vec<(String, u32)>,
}

impl fmt::Display for MailboxReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let folders: Vec<String> = self
            .folders
            .iter()
            .map(|(name, n)| format!("{name}: {n} messages"))
            .collect();
        write!(
            f,
            "{}; IDLE {}",
            folders.join(", "),
            if self.idle { "yes" } else { "no" }
        )
    }
}

/// Connects, logs in and checks every folder.
pub async fn test_mailbox(
    settings: &ImapSettings,
    folders: &[String],
) -> Result<MailboxReport, ImapError> {
    let mut client = ImapClient::connect(settings).await?;
    let mut report = MailboxReport {
        idle: client.supports_idle(),
        folders: Vec::new(),
    };
    for folder in folders {
        let state = client.select(folder).await?;
        report.folders.push((folder.clone(), state.exists));
    }
    client.logout().await;
    Ok(report)
}

pub struct ImapClient {
    session: async_imap::Session<MailStream>,
    idle_capable: bool,
    uidplus: bool,
    host: String,
    port: u16,
}

impl ImapClient {
    pub async fn connect(settings: &ImapSettings) -> Result<Self, ImapError> {
        let (host, port) = (settings.host.as_str(), settings.port);
        let stream =
            open_stream(host, port, settings.security, settings.accept_invalid_certs).await?;
        let mut client = async_imap::Client::new(stream);
        timed_greeting(&mut client, host, port).await?;
        if settings.security == Security::Starttls {
            within(host, port, async {
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| match e {
                        async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                            ImapError::Tls {
                                host: host.to_string(),
                                reason: "the server does not offer STARTTLS".into(),
                            }
                        }
                        other => protocol_error(other),
                    })
            })
            .await?;
            let MailStream::Plain(tcp) = client.into_inner() else {
                unreachable!("STARTTLS starts from a plain stream")
            };
            let tls = tls_handshake(tcp, host, settings.accept_invalid_certs).await?;
            client = async_imap::Client::new(MailStream::Tls(Box::new(tls)));
        }
        let login = tokio::time::timeout(COMMAND_TIMEOUT, async {
            match &settings.credential {
                Credential::Password(password) => {
                    client
                        .login(&settings.username, password.expose_secret())
                        .await
                }
                Credential::AccessToken(token) => {
                    let mechanism = match offered_mechanisms(&mut client).await {
                        Ok(offered) => BearerMechanism::choose(offered.iter().map(String::as_str)),
                        Err(e) => return Err((e, client)),
                    };
                    tracing::debug!(mechanism = mechanism.name(), "IMAP sign-in with a token");
                    let authenticator = Bearer {
                        mechanism,
                        initial_response: mechanism.initial_response(
                            &settings.username,
                            host,
                            port,
                            token,
                        ),
                        answered: false,
                    };
                    client.authenticate(mechanism.name(), authenticator).await
                }
            }
        })
        .await
        .map_err(|_| ImapError::Timeout {
            host: host.to_string(),
            port,
        })?;
        let mut session = match login {
            Ok(session) => session,
            Err((async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_), _)) => {
                if let Credential::AccessToken(token) = &settings.credential {
                    crate::oauth::forget_access_token(token);
                }
                return Err(ImapError::AuthenticationFailed {
                    hint: providers::for_email(&settings.username).and_then(|p| p.auth_hint),
                });
            }
            Err((other, _)) => return Err(protocol_error(other)),
        };
        let capabilities = within(host, port, async {
            session.capabilities().await.map_err(protocol_error)
        })
        .await?;
        let idle_capable = capabilities.has_str("IDLE");
        let uidplus = capabilities.has_str("UIDPLUS");
        Ok(ImapClient {
            session,
            idle_capable,
            uidplus,
            host: host.to_string(),
            port,
        })
    }

    pub async fn select(&mut self, folder: &str) -> Result<FolderState, ImapError> {
        let mailbox = within(&self.host, self.port, async {
            self.session.select(folder).await.map_err(|e| match e {
                async_imap::error::Error::No(_) => ImapError::FolderMissing {
                    folder: folder.to_string(),
                },
                other => protocol_error(other),
            })
        })
        .await?;
        Ok(FolderState {
            uid_validity: mailbox.uid_validity.unwrap_or(0),
            uid_next: mailbox.uid_next,
            exists: mailbox.exists,
        })
    }

    /// UIDs greater than `last_uid` in the selected folder, ascending.
    pub async fn uids_after(&mut self, last_uid: u32) -> Result<Vec<u32>, ImapError> {
        let found = self
            .uid_search(&format!("UID {}:*", last_uid.saturating_add(1)))
            .await?;
        // "n:*" always includes the highest UID, even when it is below n.
        Ok(found.into_iter().filter(|&uid| uid > last_uid).collect())
    }

    /// UIDs up to `last_uid` still on the server, only the unread ones when `unseen_only`.
    pub async fn uids_up_to(
        &mut self,
        last_uid: u32,
        unseen_only: bool,
    ) -> Result<Vec<u32>, ImapError> {
        if last_uid == 0 {
            return Ok(Vec::new());
        }
        let flag = if unseen_only { " UNSEEN" } else { "" };
        self.uid_search(&format!("UID 1:{last_uid}{flag}")).await
    }

    /// `UID SEARCH`, sorted.
    async fn uid_search(&mut self, criteria: &str) -> Result<Vec<u32>, ImapError> {
        let found = within(&self.host, self.port, async {
            self.session
                .uid_search(criteria)
                .await
                .map_err(protocol_error)
        })
        .await?;
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// `UID FETCH <uids> BODY.PEEK[]`: one command, responses streamed; never sets \Seen.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<FetchedMessage>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uid_set(uids);
        let timeout = || ImapError::Timeout {
            host: self.host.clone(),
            port: self.port,
        };
        let mut stream = tokio::time::timeout(
            COMMAND_TIMEOUT,
            self.session.uid_fetch(&set, "(UID BODY.PEEK[])"),
        )
        .await
        .map_err(|_| timeout())?
        .map_err(protocol_error)?;
        // The deadline is per response, not for the whole batch: a batch of big messages on a
        // slow link may take long, but a server that stops answering does not hold us forever.
        let mut messages = Vec::with_capacity(uids.len());
        while let Some(fetch) = tokio::time::timeout(COMMAND_TIMEOUT, stream.next())
            .await
            .map_err(|_| timeout())?
        {
            let fetch = fetch.map_err(protocol_error)?;
            if let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) {
                messages.push(FetchedMessage {
                    uid,
                    raw: body.to_vec(),
                });
            }
        }
        messages.sort_by_key(|m| m.uid);
        Ok(messages)
    }

    pub async fn mark_seen(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        self.store_flags(uids, "+FLAGS.SILENT (\\Seen)").await
    }

    /// Flags \Deleted and expunges exactly these UIDs (UID EXPUNGE when offered).
    pub async fn delete(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        self.store_flags(uids, "+FLAGS.SILENT (\\Deleted)").await?;
        let set = uid_set(uids);
        let uidplus = self.uidplus;
        within(&self.host, self.port, async {
            let expunged: Vec<_> = if uidplus {
                self.session
                    .uid_expunge(&set)
                    .await
                    .map_err(protocol_error)?
                    .try_collect()
                    .await
            } else {
                self.session
                    .expunge()
                    .await
                    .map_err(protocol_error)?
                    .try_collect()
                    .await
            }
            .map_err(protocol_error)?;
            tracing::debug!(expunged = expunged.len(), "messages deleted after import");
            Ok(())
        })
        .await
    }

    async fn store_flags(&mut self, uids: &[u32], change: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        within(&self.host, self.port, async {
            let stream = self
                .session
                .uid_store(&set, change)
                .await
                .map_err(protocol_error)?;
            let _: Vec<_> = stream.try_collect().await.map_err(protocol_error)?;
            Ok(())
        })
        .await
    }

    /// Stores a message in `folder` (a copy of a sent reply in "Sent", a test fixture...).
    pub async fn append(&mut self, folder: &str, raw: &[u8], seen: bool) -> Result<(), ImapError> {
        let flags = seen.then_some("(\\Seen)");
        within(&self.host, self.port, async {
            self.session
                .append(folder, flags, None, raw)
                .await
                .map_err(protocol_error)
        })
        .await
    }

    /// Every folder (`LIST "" "*"`), with its attributes.
    pub async fn list_folders(&mut self) -> Result<Vec<ListedFolder>, ImapError> {
        use async_imap::imap_proto::NameAttribute;
        within(&self.host, self.port, async {
            let names: Vec<_> = self
                .session
                .list(Some(""), Some("*"))
                .await
                .map_err(protocol_error)?
                .try_collect()
                .await
                .map_err(protocol_error)?;
            Ok(names
                .iter()
                .map(|name| ListedFolder {
                    name: name.name().to_string(),
                    display_name: decode_modified_utf7(name.name()),
                    attributes: name
                        .attributes()
                        .iter()
                        .map(|attribute| match attribute {
                            NameAttribute::NoInferiors => "\\Noinferiors".to_string(),
                            NameAttribute::NoSelect => "\\Noselect".to_string(),
                            NameAttribute::Marked => "\\Marked".to_string(),
                            NameAttribute::Unmarked => "\\Unmarked".to_string(),
                            NameAttribute::All => "\\All".to_string(),
                            NameAttribute::Archive => "\\Archive".to_string(),
                            NameAttribute::Drafts => "\\Drafts".to_string(),
                            NameAttribute::Flagged => "\\Flagged".to_string(),
                            NameAttribute::Junk => "\\Junk".to_string(),
                            NameAttribute::Sent => "\\Sent".to_string(),
                            NameAttribute::Trash => "\\Trash".to_string(),
                            NameAttribute::Extension(other) => other.to_string(),
                            other => format!("{other:?}"),
                        })
                        .collect(),
                })
                .collect())
        })
        .await
    }

    /// Creates a folder (`name` as the server spells it).
    pub async fn create_folder(&mut self, name: &str) -> Result<(), ImapError> {
        within(&self.host, self.port, async {
            self.session.create(name).await.map_err(protocol_error)
        })
        .await
    }

    pub fn supports_idle(&self) -> bool {
        self.idle_capable
    }

    /// Waits in IDLE until the server reports a change or `timeout` passes. Returns true on change.
    pub async fn idle(self, timeout: Duration) -> Result<(Self, bool), ImapError> {
        let ImapClient {
            session,
            idle_capable,
            uidplus,
            host,
            port,
        } = self;
        let mut handle = session.idle();
        handle.init().await.map_err(protocol_error)?;
        let (wait, _stop) = handle.wait_with_timeout(timeout);
        let changed = match wait.await.map_err(protocol_error)? {
            IdleResponse::NewData(_) => true,
            IdleResponse::Timeout | IdleResponse::ManualInterrupt => false,
        };
        let session = tokio::time::timeout(COMMAND_TIMEOUT, handle.done())
            .await
            .map_err(|_| ImapError::Timeout {
                host: host.clone(),
                port,
            })?
            .map_err(protocol_error)?;
        Ok((
            ImapClient {
                session,
                idle_capable,
                uidplus,
                host,
                port,
            },
            changed,
        ))
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

async fn timed_greeting(
    client: &mut async_imap::Client<MailStream>,
    host: &str,
    port: u16,
) -> Result<(), ImapError> {
    let greeting = tokio::time::timeout(CONNECT_TIMEOUT, client.read_response())
        .await
        .map_err(|_| ImapError::Timeout {
            host: host.to_string(),
            port,
        })?
        .map_err(|e| ImapError::Connection(e.to_string()))?;
    match greeting {
        Some(_) => Ok(()),
        None => Err(ImapError::Connection(
            "the server closed the connection before greeting".into(),
        )),
    }
}

/// Runs an IMAP command with the command deadline.
async fn within<T>(
    host: &str,
    port: u16,
    fut: impl Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(COMMAND_TIMEOUT, fut)
        .await
        .map_err(|_| ImapError::Timeout {
            host: host.to_string(),
            port,
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compressed() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[9, 3, 4, 3]), "3:4,9");
        assert_eq!(uid_set(&[42]), "42");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn folder_names_are_decoded_from_modified_utf7() {
        assert_eq!(decode_modified_utf7("INBOX.Sent"), "INBOX.Sent");
        assert_eq!(decode_modified_utf7("Envoy&AOk-s"), "Envoyés");
        assert_eq!(
            decode_modified_utf7("&AMk-l&AOk-ments envoy&AOk-s"),
            "Éléments envoyés"
        );
        assert_eq!(decode_modified_utf7("Tom &- Jerry"), "Tom & Jerry");
        assert_eq!(decode_modified_utf7("&ZeVnLIqe-"), "日本語");
        assert_eq!(decode_modified_utf7("broken &AOk"), "broken &AOk");
    }

    #[test]
    fn every_error_reads_differently_in_each_language() {
        let errors = [
            ImapError::Dns {
                host: "imap.x".into(),
            },
            ImapError::ConnectionRefused {
                host: "imap.x".into(),
                port: 993,
            },
            ImapError::Timeout {
                host: "imap.x".into(),
                port: 993,
            },
            ImapError::Certificate {
                host: "imap.x".into(),
                reason: "self-signed".into(),
            },
            ImapError::Tls {
                host: "imap.x".into(),
                reason: "bad record".into(),
            },
            ImapError::AuthenticationFailed {
                hint: providers::for_email("a@gmail.com").and_then(|p| p.auth_hint),
            },
            ImapError::FolderMissing {
                folder: "Support".into(),
            },
            ImapError::Connection("reset".into()),
            ImapError::Protocol("garbage".into()),
        ];
        for error in errors {
            let (fr, en) = (error.localized(UiLang::Fr), error.localized(UiLang::En));
            assert!(!fr.is_empty() && !en.is_empty());
            assert_ne!(fr, en, "{error:?}");
        }
        let gmail = ImapError::AuthenticationFailed {
            hint: providers::for_email("a@gmail.com").and_then(|p| p.auth_hint),
        };
        assert!(
            gmail
                .localized(UiLang::Fr)
                .contains("mot de passe d'application")
        );
        assert!(gmail.localized(UiLang::En).contains("app password"));
    }
}
