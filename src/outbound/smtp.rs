//! SMTP sending that says whether a failure could have delivered the message.
//!
//! An automatic reply is sent at most once, so the caller must know which side of DATA a
//! failure fell on. Everything up to the server's 354 answer to DATA (connecting, TLS, EHLO,
//! AUTH, MAIL FROM, RCPT TO, DATA itself) sends no message: a failure there is a
//! [`SendError::Refused`], safe to retry when not permanent. Once the first byte of the message
//! has been written, a failure without a clear answer (connection cut, no final reply in time,
//! a temporary 4xx) is [`SendError::Uncertain`]: the server may have queued it, so the caller
//! must not resend it by itself. A clear permanent refusal of the message (5xx after the final
//! dot) means the server took no responsibility for it: `Refused { permanent: true }`.
//!
//! lettre's connection API is driven step by step for this; its high-level transport hides the
//! phase. Passwords go to lettre's AUTH and nowhere else: no error or log carries them.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use secrecy::ExposeSecret;

use crate::intake::imap::{
    self, Credential, ImapError, MailStream, Protocol, ProviderHint, Security,
    connection_problem_text,
};
use crate::intake::providers;
use crate::model::UiLang;
use crate::oauth::sasl::BearerMechanism;

/// Where and how to send: the mailbox's SMTP settings.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub accept_invalid_certs: bool,
    /// Empty: no AUTH (a relay that trusts the network, like a local Postfix).
    pub username: String,
    pub credential: Credential,
    /// The name to greet the server with (`smtp.helo_name`); None: the sender's domain.
    pub helo_name: Option<String>,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .field("username", &self.username)
            .field("helo_name", &self.helo_name)
            .finish()
    }
}

/// Why a message was not sent, known before any of it reached the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
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
    #[error("{host} does not offer STARTTLS")]
    StarttlsUnavailable { host: String },
    #[error("the server refused the user name or password ({reply})")]
    AuthenticationFailed {
        reply: String,
        hint: Option<ProviderHint>,
    },
    #[error(
        "the server offers no authentication Guichet can use (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER)"
    )]
    AuthenticationUnavailable,
    #[error("the server refused the sender {address} ({reply})")]
    SenderRefused { address: String, reply: String },
    #[error("the server refused the recipient {address} ({reply})")]
    RecipientRefused { address: String, reply: String },
    #[error("invalid address {address:?}")]
    InvalidAddress { address: String },
    #[error("the server refused the message ({reply})")]
    MessageRefused { reply: String },
    #[error("connection lost: {0}")]
    Connection(String),
    #[error("unexpected SMTP exchange: {0}")]
    Protocol(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Not delivered. Retry later when not `permanent`; a human must act when it is.
    #[error("message not sent ({}): {reason}", if *.permanent { "permanent" } else { "temporary" })]
    Refused { permanent: bool, reason: Refusal },
    /// Failed during or after the transfer of the message: it may have been delivered. Never
    /// resend it automatically.
    #[error("message possibly sent: {reason}")]
    Uncertain { reason: String },
}

impl SendError {
    fn refused(permanent: bool, reason: Refusal) -> Self {
        SendError::Refused { permanent, reason }
    }

    /// Whether sending again later, automatically, is safe and may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SendError::Refused {
                permanent: false,
                ..
            }
        )
    }

    /// The message shown to the shop, in its language.
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            SendError::Refused { permanent, reason } => {
                let explanation = reason.localized(lang);
                if *permanent {
                    crate::t!(lang, "smtp.refused_permanent", explanation = explanation)
                } else {
                    crate::t!(lang, "smtp.refused_temporary", explanation = explanation)
                }
            }
            SendError::Uncertain { reason } => crate::t!(lang, "smtp.uncertain", reason = reason),
        }
    }
}

impl Refusal {
    /// The cause, in the shop's language.
    pub fn localized(&self, lang: UiLang) -> String {
        let connection = |error: ImapError| connection_problem_text(&error, Protocol::Smtp, lang);
        match self {
            Refusal::Dns { host } => connection(ImapError::Dns { host: host.clone() }),
            Refusal::ConnectionRefused { host, port } => connection(ImapError::ConnectionRefused {
                host: host.clone(),
                port: *port,
            }),
            Refusal::Timeout { host, port } => connection(ImapError::Timeout {
                host: host.clone(),
                port: *port,
            }),
            Refusal::Certificate { host, reason } => connection(ImapError::Certificate {
                host: host.clone(),
                reason: reason.clone(),
            }),
            Refusal::Tls { host, reason } => connection(ImapError::Tls {
                host: host.clone(),
                reason: reason.clone(),
            }),
            Refusal::StarttlsUnavailable { host } => {
                crate::t!(lang, "smtp.starttls_unavailable", host = host)
            }
            Refusal::AuthenticationFailed { hint, .. } => {
                let base = crate::t!(lang, "smtp.authentication_refused");
                match hint {
                    Some(key) => format!("{base} {}", crate::i18n::text(lang, key)),
                    None => base.to_string(),
                }
            }
            Refusal::AuthenticationUnavailable => {
                crate::t!(lang, "smtp.authentication_unavailable").to_string()
            }
            Refusal::SenderRefused { address, reply } => {
                crate::t!(lang, "smtp.sender_refused", from = address, reply = reply)
            }
            Refusal::RecipientRefused { address, reply } => {
                crate::t!(lang, "smtp.recipient_refused", to = address, reply = reply)
            }
            Refusal::InvalidAddress { address } => {
                crate::t!(lang, "smtp.invalid_address", address = address)
            }
            Refusal::MessageRefused { reply } => {
                crate::t!(lang, "smtp.message_refused", reply = reply)
            }
            Refusal::Connection(reason) => crate::t!(lang, "smtp.connection_lost", reason = reason),
            Refusal::Protocol(reason) => {
                crate::t!(lang, "smtp.unexpected_response", reason = reason)
            }
        }
    }
}

/// Deadline for each exchange before the message (greeting, EHLO, STARTTLS, AUTH, MAIL...).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Deadline for writing the message and reading the final reply (RFC 5321 suggests 10 min for
/// the reply; a server that needs more is treated as uncertain, never resent).
const DATA_TIMEOUT: Duration = Duration::from_secs(300);

impl AsyncTokioStream for MailStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            MailStream::Plain(tcp) => tcp.peer_addr(),
            MailStream::Tls(tls) => tls.get_ref().0.peer_addr(),
        }
    }
}

fn from_imap_error(error: ImapError) -> SendError {
    let reason = match error {
        ImapError::Dns { host } => Refusal::Dns { host },
        ImapError::ConnectionRefused { host, port } => Refusal::ConnectionRefused { host, port },
        ImapError::Timeout { host, port } => Refusal::Timeout { host, port },
        ImapError::Certificate { host, reason } => Refusal::Certificate { host, reason },
        ImapError::Tls { host, reason } => Refusal::Tls { host, reason },
        ImapError::Connection(reason) => Refusal::Connection(reason),
        other => Refusal::Protocol(other.to_string()),
    };
    // A wrong host name or certificate will not fix itself; a refused or lost connection may.
    let permanent = matches!(
        reason,
        Refusal::Dns { .. } | Refusal::Certificate { .. } | Refusal::Tls { .. }
    );
    SendError::refused(permanent, reason)
}

/// The server's reply text of a negative answer (`550 5.1.1 ...`), or lettre's description.
fn reply_text(error: &lettre::transport::smtp::Error) -> String {
    let text = error.to_string();
    // "permanent error (550): 5.1.1 mailbox unavailable" -> "550 5.1.1 mailbox unavailable"
    match (error.status(), text.split_once("): ")) {
        (Some(code), Some((_, rest))) => format!("{code} {rest}"),
        _ => text,
    }
}

/// The rustls error somewhere in the error's causes, if any (io::Error hides its inner error
/// from `source()`, so look inside it too).
fn rustls_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&'a (dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        let rustls_error = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if rustls_error.is_some() {
            return rustls_error;
        }
        current = e.source().or_else(|| {
            e.downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .map(|inner| inner as &(dyn std::error::Error + 'static))
        });
    }
    None
}

/// A failure before any byte of the message was written.
fn before_data(error: lettre::transport::smtp::Error) -> SendError {
    if error.is_permanent() || error.is_transient() {
        return SendError::refused(error.is_permanent(), Refusal::Protocol(reply_text(&error)));
    }
    if error.is_timeout() {
        return SendError::refused(false, Refusal::Connection("timed out".into()));
    }
    SendError::refused(false, Refusal::Connection(error.to_string()))
}

async fn step<T>(
    settings: &SmtpSettings,
    fut: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
) -> Result<Result<T, lettre::transport::smtp::Error>, SendError> {
    tokio::time::timeout(COMMAND_TIMEOUT, fut)
        .await
        .map_err(|_| {
            SendError::refused(
                false,
                Refusal::Timeout {
                    host: settings.host.clone(),
                    port: settings.port,
                },
            )
        })
}

fn parse_address(address: &str) -> Result<Address, SendError> {
    address.trim().parse().map_err(|_| {
        SendError::refused(
            true,
            Refusal::InvalidAddress {
                address: address.to_string(),
            },
        )
    })
}

/// The name Guichet gives in EHLO: the configured one, else the domain of the sending address.
/// Servers that check the greeting refuse a bare `localhost`; the sender's domain is a fully
/// qualified name the shop owns, which is what they want to see.
pub fn helo_name(configured: Option<&str>, sender: &Address) -> ClientId {
    match configured.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => ClientId::Domain(name.to_string()),
        None => {
            let domain = sender.domain();
            match domain
                .strip_prefix('[')
                .and_then(|literal| literal.strip_suffix(']'))
                .and_then(|literal| literal.parse::<std::net::IpAddr>().ok())
            {
                Some(std::net::IpAddr::V4(ip)) => ClientId::Ipv4(ip),
                Some(std::net::IpAddr::V6(ip)) => ClientId::Ipv6(ip),
                None => ClientId::Domain(domain.to_ascii_lowercase()),
            }
        }
    }
}

/// Whether `name` may be given as `smtp.helo_name`: a host name (letters, digits, hyphens,
/// dots), as EHLO wants it.
pub fn is_valid_helo_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Sends `raw` (a whole RFC 5322 message) from the envelope sender `from` to every address in
/// `to`, in one SMTP transaction on a connection of its own. See the module documentation for
/// what each error means.
pub async fn send(
    settings: &SmtpSettings,
    from: &str,
    to: &[String],
    raw: &[u8],
) -> Result<(), SendError> {
    let mut session = SmtpSession::new(settings.clone());
    let result = session.send(from, to, raw).await;
    session.close().await;
    result
}

/// One SMTP connection used for several messages in a row (one transaction each): what a
/// sending pass uses per mailbox, so that each answer does not pay for TCP, TLS, EHLO and AUTH.
/// The connection opens on the first message and again after any failure.
pub struct SmtpSession {
    settings: SmtpSettings,
    connection: Option<AsyncSmtpConnection>,
}

impl SmtpSession {
    pub fn new(settings: SmtpSettings) -> SmtpSession {
        SmtpSession {
            settings,
            connection: None,
        }
    }

    /// One transaction, on the open connection if there is one. A connection the server
    /// closed while it waited (a failure before DATA with no SMTP reply) is opened again once:
    /// nothing of the message was sent.
    pub async fn send(&mut self, from: &str, to: &[String], raw: &[u8]) -> Result<(), SendError> {
        let sender = parse_address(from)?;
        let recipients = to
            .iter()
            .map(|address| parse_address(address).map(|parsed| (address, parsed)))
            .collect::<Result<Vec<_>, _>>()?;
        if recipients.is_empty() {
            return Err(SendError::refused(
                true,
                Refusal::InvalidAddress {
                    address: String::new(),
                },
            ));
        }
        let reused = self.connection.is_some();
        let mut result = self.attempt(&sender, &recipients, raw).await;
        if reused
            && matches!(
                &result,
                Err(SendError::Refused {
                    reason: Refusal::Connection(_),
                    ..
                })
            )
        {
            result = self.attempt(&sender, &recipients, raw).await;
        }
        match &result {
            Ok(()) => tracing::info!(
                host = %self.settings.host,
                recipients = recipients.len(),
                bytes = raw.len(),
                "message sent"
            ),
            Err(SendError::Refused { permanent, reason }) => {
                tracing::warn!(host = %self.settings.host, permanent, %reason, "message not sent")
            }
            Err(SendError::Uncertain { reason }) => {
                tracing::warn!(host = %self.settings.host, %reason, "message possibly sent")
            }
        }
        result
    }

    async fn attempt(
        &mut self,
        sender: &Address,
        recipients: &[(&String, Address)],
        raw: &[u8],
    ) -> Result<(), SendError> {
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                let hello = helo_name(self.settings.helo_name.as_deref(), sender);
                connect(&self.settings, &hello).await?
            }
        };
        match transaction(&self.settings, &mut connection, sender, recipients, raw).await {
            Ok(()) => {
                self.connection = Some(connection);
                Ok(())
            }
            Err(error) => {
                abort(&mut connection).await;
                Err(error)
            }
        }
    }

    /// QUIT, without waiting long.
    pub async fn close(mut self) {
        if let Some(mut connection) = self.connection.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.quit()).await;
        }
    }
}

/// Says QUIT when the connection still works, and closes it; never waits long.
async fn abort(connection: &mut AsyncSmtpConnection) {
    let _ = tokio::time::timeout(Duration::from_secs(5), connection.abort()).await;
}

/// Connects, secures the connection as `settings` say and logs in. Nothing sent yet.
async fn connect(
    settings: &SmtpSettings,
    hello: &ClientId,
) -> Result<AsyncSmtpConnection, SendError> {
    let (host, port) = (settings.host.as_str(), settings.port);
    let stream = imap::open_stream(host, port, settings.security, settings.accept_invalid_certs)
        .await
        .map_err(from_imap_error)?;
    let mut connection = step(
        settings,
        AsyncSmtpConnection::connect_with_transport(Box::new(stream), hello),
    )
    .await?
    .map_err(before_data)?;

    if settings.security == Security::Starttls {
        if !connection.can_starttls() {
            abort(&mut connection).await;
            return Err(SendError::refused(
                true,
                Refusal::StarttlsUnavailable {
                    host: host.to_string(),
                },
            ));
        }
        let tls = TlsParameters::builder(host.to_string())
            // Like IMAP: a certificate the shop chose to trust is trusted whatever its name.
            .dangerous_accept_invalid_certs(settings.accept_invalid_certs)
            .dangerous_accept_invalid_hostnames(settings.accept_invalid_certs)
            .build_rustls()
            .map_err(|e| {
                SendError::refused(
                    true,
                    Refusal::Tls {
                        host: host.to_string(),
                        reason: e.to_string(),
                    },
                )
            })?;
        if let Err(error) = step(settings, connection.starttls(tls, hello)).await? {
            let cause = rustls_cause(&error);
            let reason = cause.map_or_else(|| error.to_string(), |e| e.to_string());
            let refusal = if matches!(cause, Some(rustls::Error::InvalidCertificate(_))) {
                Refusal::Certificate {
                    host: host.to_string(),
                    reason,
                }
            } else {
                Refusal::Tls {
                    host: host.to_string(),
                    reason,
                }
            };
            // No QUIT: after a failed handshake lettre's stream is gone (writing to it panics
            // in debug builds); dropping the connection closes the socket.
            return Err(SendError::refused(true, refusal));
        }
    }

    if !settings.username.is_empty() {
        let result = match &settings.credential {
            Credential::Password(password) => {
                let mechanisms = [Mechanism::Plain, Mechanism::Login];
                let offered = mechanisms
                    .iter()
                    .any(|&m| connection.server_info().supports_auth_mechanism(m));
                if !offered {
                    abort(&mut connection).await;
                    return Err(SendError::refused(true, Refusal::AuthenticationUnavailable));
                }
                let credentials = Credentials::new(
                    settings.username.clone(),
                    password.expose_secret().to_string(),
                );
                step(settings, connection.auth(&mechanisms, &credentials)).await?
            }
            Credential::AccessToken(token) => {
                bearer_auth(settings, &mut connection, hello, token).await?
            }
        };
        if let Err(error) = result {
            abort(&mut connection).await;
            // A refused token answers 334 with an error challenge, which lettre reports as a
            // client error: it is the server refusing the token all the same.
            let token_refused =
                matches!(settings.credential, Credential::AccessToken(_)) && error.is_client();
            if let Credential::AccessToken(token) = &settings.credential
                && (error.is_permanent() || token_refused)
            {
                crate::oauth::forget_access_token(token);
            }
            let refusal = if error.is_permanent() || token_refused {
                Refusal::AuthenticationFailed {
                    reply: reply_text(&error),
                    hint: providers::for_email(&settings.username).and_then(|p| p.auth_hint),
                }
            } else {
                return Err(before_data(error));
            };
            return Err(SendError::refused(true, refusal));
        }
    }
    Ok(connection)
}

/// AUTH with an access token: OAUTHBEARER when the EHLO answer lists it, else XOAUTH2.
/// lettre knows only XOAUTH2 and keeps no unknown mechanism, so EHLO is asked again here to
/// read the list (RFC 5321 §4.1.4 allows it; it changes nothing else).
async fn bearer_auth(
    settings: &SmtpSettings,
    connection: &mut AsyncSmtpConnection,
    hello: &ClientId,
    token: &secrecy::SecretString,
) -> Result<
    Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error>,
    SendError,
> {
    let ehlo = step(settings, connection.command(Ehlo::new(hello.clone())))
        .await?
        .map_err(before_data)?;
    let offered: Vec<String> = ehlo
        .message()
        .filter_map(|line| line.strip_prefix("AUTH "))
        .flat_map(|list| list.split_whitespace().map(str::to_string))
        .collect();
    if !offered
        .iter()
        .any(|m| m.eq_ignore_ascii_case("XOAUTH2") || m.eq_ignore_ascii_case("OAUTHBEARER"))
    {
        abort(connection).await;
        return Err(SendError::refused(true, Refusal::AuthenticationUnavailable));
    }
    let mechanism = BearerMechanism::choose(offered.iter().map(String::as_str));
    tracing::debug!(mechanism = mechanism.name(), "SMTP sign-in with a token");
    let initial =
        mechanism.initial_response(&settings.username, &settings.host, settings.port, token);
    let command = format!("AUTH {} {}\r\n", mechanism.name(), BASE64.encode(initial));
    let first = step(settings, connection.command(command)).await?;
    match first {
        // The error challenge (RFC 7628 §3.2.2): acknowledged, then the server's refusal.
        Ok(response) if response.has_code(334) => {
            let ack = format!("{}\r\n", BASE64.encode(mechanism.error_acknowledgement()));
            match step(settings, connection.command(ack)).await? {
                Ok(response) => {
                    abort(connection).await;
                    Err(SendError::refused(
                        true,
                        Refusal::Protocol(format!(
                            "{} after an error challenge: {}",
                            response.code(),
                            response.first_line().unwrap_or_default()
                        )),
                    ))
                }
                Err(error) => Ok(Err(error)),
            }
        }
        other => Ok(other),
    }
}

/// MAIL FROM, RCPT TO for each recipient, DATA, the message. Refused up to DATA's 354;
/// uncertain from the first byte of the message on, unless the server clearly refuses it.
async fn transaction(
    settings: &SmtpSettings,
    connection: &mut AsyncSmtpConnection,
    sender: &Address,
    recipients: &[(&String, Address)],
    raw: &[u8],
) -> Result<(), SendError> {
    let mut parameters = Vec::new();
    if !raw.is_ascii() {
        if !connection
            .server_info()
            .supports_feature(Extension::EightBitMime)
        {
            return Err(SendError::refused(
                true,
                Refusal::MessageRefused {
                    reply: "8-bit message but the server does not accept 8BITMIME".into(),
                },
            ));
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    if let Err(error) = step(
        settings,
        connection.command(Mail::new(Some(sender.clone()), parameters)),
    )
    .await?
    {
        return Err(match error.status() {
            Some(_) => SendError::refused(
                error.is_permanent(),
                Refusal::SenderRefused {
                    address: sender.to_string(),
                    reply: reply_text(&error),
                },
            ),
            None => before_data(error),
        });
    }
    for (written, address) in recipients {
        if let Err(error) = step(
            settings,
            connection.command(Rcpt::new(address.clone(), vec![])),
        )
        .await?
        {
            return Err(match error.status() {
                Some(_) => SendError::refused(
                    error.is_permanent(),
                    Refusal::RecipientRefused {
                        address: written.to_string(),
                        reply: reply_text(&error),
                    },
                ),
                None => before_data(error),
            });
        }
    }
    if let Err(error) = step(settings, connection.command(Data)).await? {
        return Err(match error.status() {
            Some(_) => SendError::refused(
                error.is_permanent(),
                Refusal::MessageRefused {
                    reply: reply_text(&error),
                },
            ),
            None => before_data(error),
        });
    }

    // From here on the server may have the message.
    match tokio::time::timeout(DATA_TIMEOUT, connection.message(raw)).await {
        Err(_) => Err(SendError::Uncertain {
            reason: format!(
                "no answer from {}:{} after the message was sent",
                settings.host, settings.port
            ),
        }),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) if error.is_permanent() => Err(SendError::refused(
            true,
            Refusal::MessageRefused {
                reply: reply_text(&error),
            },
        )),
        Ok(Err(error)) if error.is_transient() => Err(SendError::Uncertain {
            reason: format!(
                "temporary refusal after the message: {}",
                reply_text(&error)
            ),
        }),
        Ok(Err(error)) => Err(SendError::Uncertain {
            reason: format!("connection lost during the message: {error}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_reads_differently_in_each_language() {
        let refusals = [
            Refusal::Dns { host: "x".into() },
            Refusal::ConnectionRefused {
                host: "x".into(),
                port: 587,
            },
            Refusal::Timeout {
                host: "x".into(),
                port: 587,
            },
            Refusal::Certificate {
                host: "x".into(),
                reason: "self-signed".into(),
            },
            Refusal::Tls {
                host: "x".into(),
                reason: "bad record".into(),
            },
            Refusal::StarttlsUnavailable { host: "x".into() },
            Refusal::AuthenticationFailed {
                reply: "535 5.7.8 failed".into(),
                hint: providers::for_email("a@gmail.com").and_then(|p| p.auth_hint),
            },
            Refusal::AuthenticationUnavailable,
            Refusal::SenderRefused {
                address: "a@b.c".into(),
                reply: "553".into(),
            },
            Refusal::RecipientRefused {
                address: "a@b.c".into(),
                reply: "550".into(),
            },
            Refusal::InvalidAddress {
                address: "nope".into(),
            },
            Refusal::MessageRefused {
                reply: "554".into(),
            },
            Refusal::Connection("reset".into()),
            Refusal::Protocol("garbage".into()),
        ];
        for reason in refusals {
            for permanent in [false, true] {
                let error = SendError::Refused {
                    permanent,
                    reason: reason.clone(),
                };
                let (fr, en) = (error.localized(UiLang::Fr), error.localized(UiLang::En));
                assert_ne!(fr, en, "{error:?}");
                assert_eq!(error.is_retryable(), !permanent);
            }
        }
        let uncertain = SendError::Uncertain {
            reason: "reset".into(),
        };
        assert!(!uncertain.is_retryable());
        assert!(uncertain.localized(UiLang::Fr).contains("peut-être"));
        assert!(uncertain.localized(UiLang::En).contains("may have arrived"));
        let gmail = Refusal::AuthenticationFailed {
            reply: String::new(),
            hint: providers::for_email("a@gmail.com").and_then(|p| p.auth_hint),
        };
        assert!(gmail.localized(UiLang::En).contains("app password"));
    }

    #[test]
    fn settings_never_show_the_password() {
        let settings = SmtpSettings {
            host: "smtp.x".into(),
            port: 587,
            security: Security::Starttls,
            accept_invalid_certs: false,
            username: "me".into(),
            credential: Credential::password("hunter2-secret"),
            helo_name: None,
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn greeting_names_the_configured_host_or_the_sender_domain() {
        let sender: Address = "sav@Boutique-Eleonore.example".parse().unwrap();
        let greeting = |configured: Option<&str>| helo_name(configured, &sender).to_string();
        assert_eq!(greeting(None), "boutique-eleonore.example");
        assert_eq!(greeting(Some("  ")), "boutique-eleonore.example");
        assert_eq!(
            greeting(Some("mail.guichet.example")),
            "mail.guichet.example"
        );
        let literal: Address = "sav@[192.0.2.7]".parse().unwrap();
        assert_eq!(helo_name(None, &literal).to_string(), "[192.0.2.7]");
        for good in ["mail.example.com", "localhost", "a-b.example"] {
            assert!(is_valid_helo_name(good), "{good}");
        }
        for bad in [
            "",
            "mail example.com",
            "-x.example",
            "x..example",
            "x.example\r\nQUIT",
        ] {
            assert!(!is_valid_helo_name(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn bad_addresses_are_refused_before_connecting() {
        let settings = SmtpSettings {
            host: "127.0.0.1".into(),
            port: 1,
            security: Security::None,
            accept_invalid_certs: false,
            username: String::new(),
            credential: Credential::password(""),
            helo_name: None,
        };
        let error = send(&settings, "not an address", &["a@b.c".into()], b"x")
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            SendError::Refused {
                permanent: true,
                reason: Refusal::InvalidAddress { .. }
            }
        ));
        let error = send(&settings, "a@b.c", &[], b"x").await.unwrap_err();
        assert!(matches!(
            error,
            SendError::Refused {
                permanent: true,
                ..
            }
        ));
    }
}
