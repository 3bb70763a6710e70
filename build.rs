//! Trains the shipped intent model from `corpus/intents/*.jsonl` at build time, so the binary
//! carries a ready model and never trains at start-up. Also bundles the corpus itself, which a
//! shop's retraining (with its employees' corrections) starts from.

// The build script uses only training and serialisation of the classifier.
#[allow(dead_code)]
#[path = "src/triage/classifier.rs"]
mod classifier;

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=corpus/intents");
    println!("cargo:rerun-if-changed=src/triage/classifier.rs");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut files: Vec<_> = std::fs::read_dir("corpus/intents")
        .expect("corpus/intents must exist")
        .map(|entry| entry.expect("readable corpus directory").path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut corpus = String::new();
    for file in &files {
        let content = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        for (number, line) in content.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            if let Err(e) = serde_json::from_str::<serde_json::Value>(line) {
                panic!("{}:{}: not JSON: {e}", file.display(), number + 1);
            }
            corpus.push_str(line.trim());
            corpus.push('\n');
        }
    }
    // (subject + text, intent, language) of every line.
    let records: Vec<(String, String, String)> = corpus
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("checked above");
            let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or("");
            (
                classifier::message_text(field("subject"), field("text")),
                field("intent").to_string(),
                field("lang").to_string(),
            )
        })
        .collect();
    let out = Path::new(&out_dir);
    std::fs::write(out.join("corpus.jsonl"), &corpus).expect("write OUT_DIR");
    train_and_write(&records, |r| &r.1, &out.join("base_model.bin"));
    // Customers' short messages (SMS style, no accents) need a judge that knows shop mail.
    train_and_write(&records, |r| &r.2, &out.join("language_model.bin"));
}

fn train_and_write(
    records: &[(String, String, String)],
    label: fn(&(String, String, String)) -> &String,
    path: &Path,
) {
    let examples: Vec<classifier::Example<'_>> = records
        .iter()
        .filter(|r| !label(r).is_empty())
        .map(|r| classifier::Example {
            text: &r.0,
            label: label(r),
            weight: 1.0,
        })
        .collect();
    let model = classifier::Model::train(&examples, &classifier::TrainOptions::default())
        .unwrap_or_else(|e| panic!("cannot train {}: {e}", path.display()));
    std::fs::write(path, model.to_bytes()).expect("write OUT_DIR");
}
