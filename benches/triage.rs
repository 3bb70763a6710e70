//! Triage speed and quality, side by side with scikit-learn's TF-IDF + LogisticRegression on
//! the same data, in one run:
//! - `corpus`: the shipped corpus, trained on 80 %, measured on the fixed 20 % it never saw;
//! - `heldout`: trained on the whole corpus, measured on `corpus/heldout/intents.jsonl`, written
//!   separately from the training corpus;
//! - `bitext`: the public Bitext benchmark's own train/test split (from `../shared/data`);
//! - `train20k`: 20,000 training examples (corpus and Bitext's training part, then again with
//!   words dropped), for the training time; measured on the held-out set.
//!
//! Classification speed is one core, one message at a time for Guichet (vectorising included),
//! the whole test set in one call for scikit-learn (its fastest way).
//! Run: `cargo bench --bench triage` (needs python3 with scikit-learn: `pip install scikit-learn`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use guichet::triage::Triager;
use guichet::triage::classifier::{Example, Model, TrainOptions, message_text};
use guichet::triage::corpus::{self, Record};
use guichet::triage::eval::{self, Outcome};

struct Dataset {
    name: &'static str,
    train: Vec<(String, String)>,
    test: Vec<(String, String)>,
}

fn labelled(records: Vec<Record>) -> Vec<(String, String)> {
    records
        .into_iter()
        .filter_map(|r| {
            let text = message_text(r.subject(), &r.text);
            r.intent.map(|intent| (text, intent))
        })
        .collect()
}

fn read(path: &Path) -> Option<Vec<(String, String)>> {
    let content = std::fs::read_to_string(path).ok()?;
    Some(labelled(
        corpus::parse_jsonl(&content).expect("valid JSON lines"),
    ))
}

fn datasets() -> Vec<Dataset> {
    let shipped = corpus::shipped();
    let (held, kept): (Vec<Record>, Vec<Record>) = shipped
        .iter()
        .cloned()
        .partition(|r| corpus::in_holdout(&r.text, 20));
    let mut sets = vec![Dataset {
        name: "corpus",
        train: labelled(kept),
        test: labelled(held),
    }];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(test) = read(&root.join("corpus/heldout/intents.jsonl")) {
        sets.push(Dataset {
            name: "heldout",
            train: labelled(shipped.clone()),
            test,
        });
    }
    let bitext = root.join("../shared/data/benchmarks");
    let bitext_train = read(&bitext.join("bitext_en_train.jsonl"));
    if let (Some(train), Some(test)) = (
        bitext_train.clone(),
        read(&bitext.join("bitext_en_test.jsonl")),
    ) {
        sets.push(Dataset {
            name: "bitext",
            train,
            test,
        });
    } else {
        println!("(../shared/data/benchmarks not found: no Bitext figures)");
    }
    // 20,000 examples: the corpus and Bitext's training part, then again with every third
    // word dropped, so repeats are not identical texts.
    let pool: Vec<(String, String)> = labelled(shipped)
        .into_iter()
        .chain(bitext_train.unwrap_or_default())
        .collect();
    let train20k: Vec<(String, String)> = (0..20_000)
        .map(|i| {
            let (text, intent) = &pool[i % pool.len()];
            let round = i / pool.len();
            let text = if round == 0 {
                text.clone()
            } else {
                text.split_whitespace()
                    .enumerate()
                    .filter(|(k, _)| !(k + round).is_multiple_of(3))
                    .map(|(_, w)| w)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            (text, intent.clone())
        })
        .collect();
    // Measured on the independent held-out set, which none of the 20,000 comes from.
    let test = sets
        .iter()
        .find(|s| s.name == "heldout")
        .unwrap_or(&sets[0])
        .test
        .clone();
    sets.push(Dataset {
        name: "train20k",
        train: train20k,
        test,
    });
    sets
}

struct Figures {
    train_seconds: f64,
    messages_per_second: f64,
    triage_per_second: f64,
    macro_f1: f64,
    precision_coverage: String,
}

fn measure(set: &Dataset) -> Figures {
    let examples: Vec<Example<'_>> = set
        .train
        .iter()
        .map(|(text, label)| Example {
            text,
            label,
            weight: 1.0,
        })
        .collect();
    let started = Instant::now();
    let model = Model::train(&examples, &TrainOptions::default()).expect("trains");
    let train_seconds = started.elapsed().as_secs_f64();
    let labels = model.labels().to_vec();
    let started = Instant::now();
    let predictions: Vec<(usize, f32)> = set
        .test
        .iter()
        .map(|(text, _)| model.predict(text).best())
        .collect();
    let messages_per_second = set.test.len() as f64 / started.elapsed().as_secs_f64();
    let triager = Triager::new(std::sync::Arc::new(model), Default::default(), Vec::new());
    let started = Instant::now();
    for (text, _) in &set.test {
        std::hint::black_box(triager.triage("", text));
    }
    let triage_per_second = set.test.len() as f64 / started.elapsed().as_secs_f64();
    let outcomes: Vec<Outcome> = set
        .test
        .iter()
        .zip(&predictions)
        .map(|((_, expected), (best, confidence))| Outcome {
            expected: expected.clone(),
            predicted: labels[*best].clone(),
            confidence: *confidence,
        })
        .collect();
    let report = eval::evaluate(&outcomes);
    // The lowest threshold reaching 97 % precision, and how much it answers.
    let precision_coverage = report
        .curve
        .iter()
        .find(|p| p.precision >= 0.97 && p.coverage > 0.0)
        .map(|p| {
            format!(
                "t={:.3}: {:.1} % answered at {:.1} %",
                p.threshold,
                p.coverage * 100.0,
                p.precision * 100.0
            )
        })
        .unwrap_or_else(|| "never 97 %".into());
    Figures {
        train_seconds,
        messages_per_second,
        triage_per_second,
        macro_f1: report.macro_f1,
        precision_coverage,
    }
}

fn write_jsonl(path: &Path, rows: &[(String, String)]) {
    let mut out = String::new();
    for (text, intent) in rows {
        out.push_str(&serde_json::json!({ "text": text, "intent": intent }).to_string());
        out.push('\n');
    }
    std::fs::write(path, out).expect("write temp file");
}

fn main() {
    let sets = datasets();
    let dir = tempfile::tempdir().expect("temp dir");
    for set in &sets {
        write_jsonl(
            &dir.path().join(format!("{}.train.jsonl", set.name)),
            &set.train,
        );
        write_jsonl(
            &dir.path().join(format!("{}.test.jsonl", set.name)),
            &set.test,
        );
    }
    println!(
        "{:<9} {:>7} {:>6} | {:>8} {:>9} {:>10} {:>8} | {:>8} {:>9} {:>8} | {:>6} | Guichet precision >= 97 %",
        "dataset",
        "train",
        "test",
        "train s",
        "msg/s",
        "triage/s",
        "macroF1",
        "sk train",
        "sk msg/s",
        "sk F1",
        "speed"
    );
    let sklearn = run_sklearn(dir.path());
    for set in &sets {
        let ours = measure(set);
        let theirs = sklearn.as_ref().and_then(|s| s.get(set.name));
        let field = |name: &str| theirs.and_then(|t| t[name].as_f64()).unwrap_or(f64::NAN);
        println!(
            "{:<9} {:>7} {:>6} | {:>8.2} {:>9.0} {:>10.0} {:>8.4} | {:>8.2} {:>9.0} {:>8.4} | {:>5.1}x | {}",
            set.name,
            set.train.len(),
            set.test.len(),
            ours.train_seconds,
            ours.messages_per_second,
            ours.triage_per_second,
            ours.macro_f1,
            field("train_seconds"),
            field("messages_per_second"),
            field("macro_f1"),
            ours.messages_per_second / field("messages_per_second"),
            ours.precision_coverage
        );
    }
    println!("msg/s: intent model alone; triage/s: language + facts + intent, as intake runs it.");
    if sklearn.is_none() {
        eprintln!("scikit-learn figures missing: pip install scikit-learn, then run again");
        std::process::exit(1);
    }
}

fn run_sklearn(dir: &Path) -> Option<serde_json::Value> {
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sklearn_triage.py");
    let output = Command::new("python3").arg(script).arg(dir).output().ok()?;
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}
