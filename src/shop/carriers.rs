//! The carriers shops ship with: who a tracking number belongs to, and the public page where a
//! customer follows the parcel. Pure: no I/O.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Carriers French and European shops ship with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    Colissimo,
    LaPoste,
    Chronopost,
    MondialRelay,
    Dhl,
    Ups,
    Fedex,
    Gls,
    Dpd,
}

impl Carrier {
    pub const ALL: [Carrier; 9] = [
        Carrier::Colissimo,
        Carrier::LaPoste,
        Carrier::Chronopost,
        Carrier::MondialRelay,
        Carrier::Dhl,
        Carrier::Ups,
        Carrier::Fedex,
        Carrier::Gls,
        Carrier::Dpd,
    ];

    /// The carrier a shop's order names, as shops and platforms write it ("Colissimo",
    /// "mondial relay", "DHL Express", "La Poste - Lettre suivie"): the known name the text
    /// starts with, case, spaces and punctuation ignored.
    pub fn from_name(text: &str) -> Option<Carrier> {
        let folded = fold_name(text);
        if folded.is_empty() {
            return None;
        }
        Carrier::ALL
            .into_iter()
            .find(|carrier| folded.starts_with(&fold_name(carrier.name())))
    }

    /// The name customers and agents know the carrier by.
    pub fn name(self) -> &'static str {
        match self {
            Carrier::Colissimo => "Colissimo",
            Carrier::LaPoste => "La Poste",
            Carrier::Chronopost => "Chronopost",
            Carrier::MondialRelay => "Mondial Relay",
            Carrier::Dhl => "DHL",
            Carrier::Ups => "UPS",
            Carrier::Fedex => "FedEx",
            Carrier::Gls => "GLS",
            Carrier::Dpd => "DPD",
        }
    }

    /// The carrier's public tracking page for `number`. Only the number's ASCII letters and
    /// digits go into the URL: customers write numbers with spaces, and anything else could
    /// change the URL's meaning.
    pub fn tracking_url(self, number: &str) -> String {
        let n = compact(number);
        match self {
            Carrier::Colissimo | Carrier::LaPoste => {
                format!("https://www.laposte.fr/outils/suivre-vos-envois?code={n}")
            }
            Carrier::Chronopost => {
                format!("https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={n}")
            }
            Carrier::MondialRelay => {
                format!("https://www.mondialrelay.fr/suivi-de-colis/?NumeroExpedition={n}")
            }
            Carrier::Dhl => format!("https://www.dhl.com/fr-fr/home/tracking.html?tracking-id={n}"),
            Carrier::Ups => format!("https://www.ups.com/track?tracknum={n}"),
            Carrier::Fedex => format!("https://www.fedex.com/fedextrack/?trknbr={n}"),
            Carrier::Gls => format!("https://gls-group.com/FR/fr/suivi-colis?match={n}"),
            Carrier::Dpd => format!("https://trace.dpd.fr/fr/trace/{n}"),
        }
    }
}

/// Best guess of the carrier from the number alone. Several formats are shared (12 digits are
/// used by FedEx and, less often, Mondial Relay), so when the message names the carrier, trust
/// the message. International UPU numbers (`LA123456789FR`) are guessed by who delivers them in
/// France: EMS (`E…`, and Chronopost's `X…`) by Chronopost, parcels (`C…`) by Colissimo, the
/// rest (letters, registered mail) by La Poste.
pub fn carrier_of(tracking_number: &str) -> Option<Carrier> {
    let n = compact(tracking_number).to_ascii_uppercase();
    let b = n.as_bytes();
    if is_s10(b) {
        let from_france = &n[11..] == "FR";
        return Some(match b[0] {
            b'E' => Carrier::Chronopost,
            b'X' if from_france => Carrier::Chronopost,
            b'C' => Carrier::Colissimo,
            _ => Carrier::LaPoste,
        });
    }
    if is_laposte13(b) {
        // Colissimo parcels start 5 to 9 (6A, 8R, 9V…); lower digits are tracked letters.
        return Some(if b[0] >= b'5' {
            Carrier::Colissimo
        } else {
            Carrier::LaPoste
        });
    }
    if is_two_letters_11_digits(b) {
        return Some(Carrier::LaPoste);
    }
    if is_ups(b) {
        return Some(Carrier::Ups);
    }
    if is_dhl_prefixed(b) {
        return Some(Carrier::Dhl);
    }
    if all_digits(b) {
        return match b.len() {
            8 => Some(Carrier::MondialRelay),
            10 | 20 => Some(Carrier::Dhl),
            11 => Some(Carrier::Gls),
            12 | 15 | 22 => Some(Carrier::Fedex),
            14 => Some(Carrier::Dpd),
            _ => None,
        };
    }
    if is_gls_alnum(b) {
        return Some(Carrier::Gls);
    }
    None
}

/// Lower-case letters and digits only, so "Mondial-Relay" and "mondial relay" compare equal.
fn fold_name(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tracking number formats, on the number's letters and digits only. Triage's extraction of
// tracking numbers from messages is built on them.

/// Lengths of all-digit numbers that carriers use: Mondial Relay 8, DHL Express 10, GLS 11,
/// FedEx 12/15/22, DPD 14, DHL Paket 20.
pub(crate) const TRACKING_DIGIT_LENGTHS: [usize; 8] = [8, 10, 11, 12, 14, 15, 20, 22];

pub(crate) fn compact(number: &str) -> String {
    number.chars().filter(char::is_ascii_alphanumeric).collect()
}

pub(crate) fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

fn all_upper(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_uppercase)
}

/// Formats no other number has, safe to take without a keyword.
pub(crate) fn is_distinctive_tracking(b: &[u8]) -> bool {
    is_s10(b) || is_laposte13(b) || is_ups(b) || is_dhl_prefixed(b)
}

/// UPU S10, used by every postal operator: LA123456789FR.
fn is_s10(b: &[u8]) -> bool {
    b.len() == 13 && all_upper(&b[..2]) && all_digits(&b[2..11]) && all_upper(&b[11..])
}

/// Colissimo and La Poste domestic numbers: 6A12345678901, 8R…, 1K….
fn is_laposte13(b: &[u8]) -> bool {
    b.len() == 13 && b[0].is_ascii_digit() && b[1].is_ascii_uppercase() && all_digits(&b[2..])
}

/// Older La Poste numbers; also the shape of a French VAT number, hence keyword-only.
pub(crate) fn is_two_letters_11_digits(b: &[u8]) -> bool {
    b.len() == 13 && all_upper(&b[..2]) && all_digits(&b[2..])
}

fn is_ups(b: &[u8]) -> bool {
    b.len() == 18
        && b.starts_with(b"1Z")
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[2..].iter().any(u8::is_ascii_digit)
}

fn is_dhl_prefixed(b: &[u8]) -> bool {
    let digits_after = |prefix: &[u8], lengths: Range<usize>| {
        b.starts_with(prefix)
            && lengths.contains(&(b.len() - prefix.len()))
            && all_digits(&b[prefix.len()..])
    };
    digits_after(b"JJD", 16..21) || digits_after(b"JVGL", 6..21) || digits_after(b"GM", 16..23)
}

/// GLS Track ID: eight capitals and digits, both present.
pub(crate) fn is_gls_alnum(b: &[u8]) -> bool {
    b.len() == 8
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_guesses_and_links() {
        assert_eq!(carrier_of("hello"), None);
        assert_eq!(carrier_of(""), None);
        assert_eq!(carrier_of("123"), None);
        assert_eq!(carrier_of("la123456789fr"), Some(Carrier::LaPoste));
        assert_eq!(Carrier::MondialRelay.name(), "Mondial Relay");
        assert_eq!(
            Carrier::Ups.tracking_url("1Z 999 AA1 01 2345 6784"),
            "https://www.ups.com/track?tracknum=1Z999AA10123456784"
        );
        assert_eq!(
            Carrier::Colissimo.tracking_url("6A12345678901&x=<y>"),
            "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901xy"
        );
        for carrier in Carrier::ALL {
            assert!(carrier.tracking_url("X1").starts_with("https://"));
            assert!(carrier.tracking_url("X1").contains("X1"));
        }
        assert_eq!(
            serde_json::to_string(&Carrier::MondialRelay).unwrap(),
            "\"mondial_relay\""
        );
        assert_eq!(
            serde_json::from_str::<Carrier>("\"la_poste\"").unwrap(),
            Carrier::LaPoste
        );
    }

    #[test]
    fn carriers_are_known_by_the_names_shops_write() {
        for (text, carrier) in [
            ("Colissimo", Carrier::Colissimo),
            ("mondial relay", Carrier::MondialRelay),
            ("Mondial-Relay", Carrier::MondialRelay),
            ("DHL Express", Carrier::Dhl),
            ("La Poste - Lettre suivie", Carrier::LaPoste),
            ("UPS Standard", Carrier::Ups),
            ("fedex", Carrier::Fedex),
        ] {
            assert_eq!(Carrier::from_name(text), Some(carrier), "{text}");
        }
        for text in ["", "  ", "Transporteur maison", "Retrait en magasin"] {
            assert_eq!(Carrier::from_name(text), None, "{text}");
        }
    }
}
