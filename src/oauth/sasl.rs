//! The two SASL mechanisms that carry an OAuth2 access token to IMAP and SMTP servers:
//! OAUTHBEARER, the standard one (RFC 7628), and XOAUTH2, Google's and Microsoft's older
//! one. Guichet uses OAUTHBEARER when the server offers it, XOAUTH2 otherwise (Microsoft 365
//! offers only XOAUTH2; Gmail and Dovecot both).

use secrecy::{ExposeSecret, SecretString};

/// A SASL mechanism that sends a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerMechanism {
    /// RFC 7628.
    OAuthBearer,
    /// <https://developers.google.com/gmail/imap/xoauth2-protocol>
    XOAuth2,
}

impl BearerMechanism {
    /// The mechanism's name, as servers list it and AUTHENTICATE / AUTH take it.
    pub fn name(self) -> &'static str {
        match self {
            BearerMechanism::OAuthBearer => "OAUTHBEARER",
            BearerMechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// OAUTHBEARER when the server offers it (its list of mechanisms, any case), else
    /// XOAUTH2, which providers that list neither still take.
    pub fn choose<'a>(offered: impl IntoIterator<Item = &'a str>) -> BearerMechanism {
        let mut offered = offered.into_iter();
        if offered.any(|m| m.eq_ignore_ascii_case("OAUTHBEARER")) {
            BearerMechanism::OAuthBearer
        } else {
            BearerMechanism::XOAuth2
        }
    }

    /// The client's first message (before base64): who signs in, where, with which token.
    pub fn initial_response(
        self,
        username: &str,
        host: &str,
        port: u16,
        access_token: &SecretString,
    ) -> String {
        let token = access_token.expose_secret();
        match self {
            // RFC 7628 §3.1: a GS2 header naming the user (`,` and `=` escaped as RFC 5801
            // §4 says), then key=value pairs each ended by ^A, the whole by ^A^A.
            BearerMechanism::OAuthBearer => format!(
                "n,a={},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01",
                username.replace('=', "=3D").replace(',', "=2C")
            ),
            // `user=` the mailbox, `auth=Bearer` the token, each ended by ^A, the whole by ^A^A.
            BearerMechanism::XOAuth2 => format!("user={username}\x01auth=Bearer {token}\x01\x01"),
        }
    }

    /// What the client answers to the server's error challenge (a JSON status) before the
    /// server's final refusal: ^A for OAUTHBEARER (RFC 7628 §3.2.3), an empty line for XOAUTH2.
    pub fn error_acknowledgement(self) -> &'static str {
        match self {
            BearerMechanism::OAuthBearer => "\x01",
            BearerMechanism::XOAuth2 => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauthbearer_sends_the_rfc_7628_initial_response() {
        let token = SecretString::from("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==".to_string());
        assert_eq!(
            BearerMechanism::OAuthBearer.initial_response(
                "user@example.com",
                "server.example.com",
                143,
                &token
            ),
            "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01\
             auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        assert_eq!(
            BearerMechanism::OAuthBearer.initial_response("a,b=c@x.test", "h", 1, &token),
            format!(
                "n,a=a=2Cb=3Dc@x.test,\x01host=h\x01port=1\x01auth=Bearer {}\x01\x01",
                token.expose_secret()
            )
        );
        assert_eq!(
            BearerMechanism::XOAuth2.initial_response("someuser@example.com", "h", 993, &token),
            format!(
                "user=someuser@example.com\x01auth=Bearer {}\x01\x01",
                token.expose_secret()
            )
        );
    }

    #[test]
    fn oauthbearer_is_preferred_when_offered() {
        use BearerMechanism::*;
        assert_eq!(
            BearerMechanism::choose(["PLAIN", "XOAUTH2", "OAUTHBEARER"]),
            OAuthBearer
        );
        assert_eq!(BearerMechanism::choose(["oauthbearer"]), OAuthBearer);
        assert_eq!(
            BearerMechanism::choose(["PLAIN", "LOGIN", "XOAUTH2"]),
            XOAuth2
        );
        assert_eq!(BearerMechanism::choose([]), XOAuth2);
        assert_eq!(OAuthBearer.error_acknowledgement(), "\x01");
        assert_eq!(XOAuth2.error_acknowledgement(), "");
    }
}
