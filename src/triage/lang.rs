//! Language of a customer's words, among the languages shops write to us in.

use std::sync::LazyLock;

use whatlang::{Detector, Lang};

use super::classifier::Model;

/// Languages Guichet tells apart. Limiting the choice to these makes short messages far more
/// reliable than asking among the 70 languages whatlang knows.
const LANGUAGES: [(Lang, &str); 7] = [
    (Lang::Fra, "fr"),
    (Lang::Eng, "en"),
    (Lang::Deu, "de"),
    (Lang::Spa, "es"),
    (Lang::Ita, "it"),
    (Lang::Nld, "nl"),
    (Lang::Por, "pt"),
];

/// Trained at build time on the corpus's languages (fr, en, de, es, it): it knows how
/// customers write to shops, SMS style included, where whatlang's general statistics hesitate.
static CORPUS_MODEL: LazyLock<Model> = LazyLock::new(|| {
    Model::from_bytes(include_bytes!(concat!(
        env!("OUT_DIR"),
        "/language_model.bin"
    )))
    .expect("the build script wrote a valid model")
});

/// Characters looked at.
const MAX_CHARS: usize = 1500;

/// How sure the corpus model must be to overrule an unreliable whatlang guess.
const CORPUS_MODEL_CONFIDENCE: f32 = 0.6;

/// ISO 639-1 code of the text's language, or None when it has no words to judge by.
pub fn detect(text: &str) -> Option<&'static str> {
    if !text.chars().any(char::is_alphabetic) {
        return None;
    }
    // A few hundred words tell the language as well as a whole long message, for less time.
    let text = match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    let detector = Detector::with_allowlist(LANGUAGES.iter().map(|(lang, _)| *lang).collect());
    let info = detector.detect(text)?;
    let whatlang = LANGUAGES
        .iter()
        .find(|(known, _)| *known == info.lang())
        .map(|(_, code)| *code);
    if info.is_reliable() {
        return whatlang;
    }
    let (best, confidence) = CORPUS_MODEL.predict(text).best();
    if confidence >= CORPUS_MODEL_CONFIDENCE {
        let label = &CORPUS_MODEL.labels()[best];
        if let Some((_, code)) = LANGUAGES.iter().find(|(_, code)| code == label) {
            return Some(code);
        }
    }
    whatlang
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn tells_the_shops_languages_apart() {
        let cases = [
            (
                "Bonjour, je n'ai toujours pas reçu ma commande passée il y a dix jours.",
                "fr",
            ),
            (
                "Hello, my order still hasn't arrived and it has been ten days.",
                "en",
            ),
            (
                "Hallo, meine Bestellung ist nach zehn Tagen immer noch nicht angekommen.",
                "de",
            ),
            (
                "Hola, mi pedido todavía no ha llegado y ya han pasado diez días.",
                "es",
            ),
            (
                "Buongiorno, il mio ordine non è ancora arrivato dopo dieci giorni.",
                "it",
            ),
            (
                "Hallo, mijn bestelling is na tien dagen nog steeds niet aangekomen.",
                "nl",
            ),
            (
                "Olá, a minha encomenda ainda não chegou e já passaram dez dias.",
                "pt",
            ),
            ("bjr jai tjr pa recu ma commande c normal ?", "fr"),
        ];
        for (text, expected) in cases {
            assert_eq!(detect(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn no_words_no_language() {
        assert_eq!(detect(""), None);
        assert_eq!(detect("#1042 06 12 34 56 78 :)"), None);
    }
}
