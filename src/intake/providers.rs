//! IMAP/SMTP settings of well-known mail providers, found from the email domain.

use crate::intake::imap::Security;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub host: &'static str,
    pub port: u16,
    pub security: Security,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Short name accepted by `mailbox add --provider`.
    pub name: &'static str,
    pub domains: &'static [&'static str],
    pub imap: ServerSettings,
    pub smtp: ServerSettings,
    /// What to tell the user when the password is refused (app password, OAuth...): the
    /// catalogue key of the text, under `[providers]`.
    pub auth_hint: Option<&'static str>,
}

const fn tls(host: &'static str, port: u16) -> ServerSettings {
    ServerSettings {
        host,
        port,
        security: Security::Tls,
    }
}

const fn starttls(host: &'static str, port: u16) -> ServerSettings {
    ServerSettings {
        host,
        port,
        security: Security::Starttls,
    }
}

const APP_PASSWORD_GOOGLE: &str = "providers.google_hint";
const APP_PASSWORD_MICROSOFT: &str = "providers.microsoft_hint";
const APP_PASSWORD_YAHOO: &str = "providers.yahoo_hint";
const APP_PASSWORD_APPLE: &str = "providers.apple_hint";
const APP_PASSWORD_ZOHO: &str = "providers.zoho_hint";

pub static PROVIDERS: &[Provider] = &[
    Provider {
        name: "gmail",
        domains: &["gmail.com", "googlemail.com"],
        imap: tls("imap.gmail.com", 993),
        smtp: tls("smtp.gmail.com", 465),
        auth_hint: Some(APP_PASSWORD_GOOGLE),
    },
    Provider {
        name: "outlook",
        domains: &[
            "outlook.com",
            "outlook.fr",
            "hotmail.com",
            "hotmail.fr",
            "live.com",
            "live.fr",
            "msn.com",
        ],
        imap: tls("outlook.office365.com", 993),
        smtp: starttls("smtp.office365.com", 587),
        auth_hint: Some(APP_PASSWORD_MICROSOFT),
    },
    Provider {
        name: "yahoo",
        domains: &["yahoo.com", "yahoo.fr", "ymail.com"],
        imap: tls("imap.mail.yahoo.com", 993),
        smtp: tls("smtp.mail.yahoo.com", 465),
        auth_hint: Some(APP_PASSWORD_YAHOO),
    },
    Provider {
        name: "icloud",
        domains: &["icloud.com", "me.com", "mac.com"],
        imap: tls("imap.mail.me.com", 993),
        smtp: starttls("smtp.mail.me.com", 587),
        auth_hint: Some(APP_PASSWORD_APPLE),
    },
    // OVH hosts the shop's own domain: chosen with --provider ovh.
    Provider {
        name: "ovh",
        domains: &[],
        imap: tls("ssl0.ovh.net", 993),
        smtp: tls("ssl0.ovh.net", 465),
        auth_hint: None,
    },
    Provider {
        name: "orange",
        domains: &["orange.fr", "wanadoo.fr"],
        imap: tls("imap.orange.fr", 993),
        smtp: tls("smtp.orange.fr", 465),
        auth_hint: None,
    },
    Provider {
        name: "free",
        domains: &["free.fr"],
        imap: tls("imap.free.fr", 993),
        smtp: tls("smtp.free.fr", 465),
        auth_hint: None,
    },
    Provider {
        name: "sfr",
        domains: &["sfr.fr", "neuf.fr", "cegetel.net"],
        imap: tls("imap.sfr.fr", 993),
        smtp: tls("smtp.sfr.fr", 465),
        auth_hint: None,
    },
    Provider {
        name: "laposte",
        domains: &["laposte.net"],
        imap: tls("imap.laposte.net", 993),
        smtp: tls("smtp.laposte.net", 465),
        auth_hint: None,
    },
    Provider {
        name: "ionos",
        domains: &["ionos.fr", "ionos.com", "ionos.de", "1and1.fr", "1and1.com"],
        imap: tls("imap.ionos.fr", 993),
        smtp: starttls("smtp.ionos.fr", 587),
        auth_hint: None,
    },
    Provider {
        name: "gmx",
        domains: &["gmx.fr", "gmx.com", "gmx.de", "gmx.net"],
        imap: tls("imap.gmx.com", 993),
        smtp: starttls("mail.gmx.com", 587),
        auth_hint: None,
    },
    Provider {
        name: "zoho",
        domains: &["zoho.com", "zohomail.com", "zohomail.eu", "zoho.eu"],
        imap: tls("imap.zoho.eu", 993),
        smtp: tls("smtp.zoho.eu", 465),
        auth_hint: Some(APP_PASSWORD_ZOHO),
    },
];

/// The provider serving `email`'s domain, if known (case-insensitive).
pub fn for_email(email: &str) -> Option<&'static Provider> {
    let domain = email.rsplit_once('@')?.1.trim().to_ascii_lowercase();
    PROVIDERS
        .iter()
        .find(|p| p.domains.contains(&domain.as_str()))
}

/// The provider called `name` (`gmail`, `outlook`, `ovh`...).
pub fn by_name(name: &str) -> Option<&'static Provider> {
    PROVIDERS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UiLang;

    /// Hints are catalogue keys held in data, out of reach of the i18n test that reads `t!`
    /// calls: each must have a text in every language.
    #[test]
    fn every_provider_hint_has_a_text_in_every_language() {
        for provider in PROVIDERS {
            if let Some(key) = provider.auth_hint {
                assert!(key.starts_with("providers."), "{key}");
                for &lang in UiLang::ALL {
                    assert!(
                        crate::i18n::lookup(lang, key).is_some(),
                        "{} hint {key} has no {} text",
                        provider.name,
                        lang.code()
                    );
                }
            }
        }
    }

    #[test]
    fn finds_providers_by_domain_and_name() {
        assert_eq!(
            for_email("Boutique@GMAIL.com").unwrap().imap.host,
            "imap.gmail.com"
        );
        assert_eq!(for_email("sav@hotmail.fr").unwrap().name, "outlook");
        assert_eq!(for_email("x@wanadoo.fr").unwrap().name, "orange");
        assert_eq!(for_email("x@laposte.net").unwrap().smtp.port, 465);
        assert!(for_email("sav@ma-boutique.fr").is_none());
        assert!(for_email("not an address").is_none());
        assert_eq!(by_name("OVH").unwrap().imap.host, "ssl0.ovh.net");
        assert!(by_name("nonexistent").is_none());
    }

    #[test]
    fn every_named_provider_of_the_brief_is_known() {
        for name in [
            "gmail", "outlook", "yahoo", "icloud", "ovh", "orange", "free", "sfr", "laposte",
            "ionos", "gmx", "zoho",
        ] {
            let p = by_name(name).unwrap_or_else(|| panic!("{name}"));
            assert!(p.imap.port == 993 || p.imap.port == 143);
        }
    }
}
