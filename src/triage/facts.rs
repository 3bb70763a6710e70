//! TEMPORARY placeholder until the extractor lands.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    pub order_refs: Vec<String>,
    pub tracking_numbers: Vec<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub amounts: Vec<String>,
    pub ibans: Vec<String>,
}
pub fn extract_facts(_subject: &str, _text: &str) -> Facts {
    Facts::default()
}
pub fn mask_ibans(text: &str) -> String {
    text.to_string()
}
