//! `guichet triage` (classify files or JSON lines, evaluate on a dataset) and `guichet intents`
//! (a shop's intents, keyword rules and retrained model).

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use guichet::intake::parse::parse_message;
use guichet::intake::reply_text::extract_new_text;
use guichet::model::UiLang;
use guichet::store::StoreError;
use guichet::triage::classifier::{Model, message_text};
use guichet::triage::corpus::{self, Record};
use guichet::triage::eval::{self, ExtractionScore, Outcome, Report};
use guichet::triage::{self, Facts, Reason, Triage, Triager};

use super::{App, chosen_shop, print_json, read_input, tr};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TriageArgs {
    #[command(subcommand)]
    command: Option<TriageCommand>,
    /// Messages to triage (.eml files).
    files: Vec<PathBuf>,
    /// Print a JSON array, one object per file.
    #[arg(long, conflicts_with = "jsonl")]
    json: bool,
    /// Read JSON lines {"subject", "text"} on stdin, write one JSON line per input.
    #[arg(long)]
    jsonl: bool,
    /// Use this shop's model, disabled intents and keyword rules (default: the shipped model).
    #[arg(long)]
    shop: Option<String>,
}

impl TriageArgs {
    /// Whether the command needs the database (a shop's settings).
    pub fn needs_store(&self) -> bool {
        match &self.command {
            Some(TriageCommand::Eval(eval)) => eval.shop.is_some(),
            None => self.shop.is_some(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum TriageCommand {
    /// Measure triage on a labelled dataset: per-intent precision, recall, F1, macro-F1,
    /// confusion matrix, precision/coverage curve, language accuracy, fact extraction.
    Eval(EvalArgs),
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// JSON lines {"text", "intent", "lang", "subject"?, "order_refs"?, "tracking_numbers"?}.
    dataset: Option<PathBuf>,
    /// Train a fresh model on this dataset (same format) instead of using the shipped one.
    #[arg(long, conflicts_with_all = ["holdout", "shop"])]
    train: Option<PathBuf>,
    /// Train on the shipped corpus minus a fixed PERCENT of it, and evaluate on that part
    /// (or on DATASET when given).
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u64).range(1..=90), conflicts_with = "shop")]
    holdout: Option<u64>,
    /// Evaluate this shop's model and settings.
    #[arg(long)]
    shop: Option<String>,
    #[arg(long)]
    json: bool,
}

/// One triaged file, as `triage --json` prints it.
#[derive(Debug, Serialize)]
struct FileTriage<'a> {
    file: String,
    subject: String,
    #[serde(flatten)]
    triage: &'a Triage,
}

/// One answer of `triage --jsonl`: a stable interface.
#[derive(Debug, Serialize)]
struct LineTriage<'a> {
    lang: Option<&'a str>,
    intent: &'a str,
    confidence: f32,
    facts: &'a Facts,
}

#[derive(Debug, serde::Deserialize)]
struct LineInput {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
}

pub async fn triage(app: Option<&App>, lang: UiLang, args: TriageArgs) -> Result<ExitCode> {
    if let Some(TriageCommand::Eval(eval)) = args.command {
        return evaluate(app, lang, eval).await;
    }
    let triager = triager_for(app, args.shop.as_deref()).await?;
    if args.jsonl {
        return triage_lines(&triager, lang);
    }
    if args.files.is_empty() {
        bail!(lang.pick(
            "rien à trier : donnez des fichiers .eml, ou --jsonl avec des lignes JSON sur l'entrée standard",
            "nothing to triage: give .eml files, or --jsonl with JSON lines on standard input"
        ));
    }
    let mut results = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let raw = std::fs::read(file).with_context(|| {
            tr(
                lang,
                format!("impossible de lire {}", file.display()),
                format!("cannot read {}", file.display()),
            )
        })?;
        let parsed = parse_message(&raw);
        let triage = triager.triage(&parsed.subject, &parsed.new_text);
        results.push((file.display().to_string(), parsed.subject, triage));
    }
    if args.json {
        let views: Vec<FileTriage<'_>> = results
            .iter()
            .map(|(file, subject, triage)| FileTriage {
                file: file.clone(),
                subject: subject.clone(),
                triage,
            })
            .collect();
        print_json(&views)?;
    } else {
        for (file, subject, triage) in &results {
            println!("{file}: {subject}");
            print!("{}", describe(triage, lang, "  "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn triager_for(app: Option<&App>, shop: Option<&str>) -> Result<Triager> {
    match (app, shop) {
        (Some(app), Some(_)) => {
            let shop = chosen_shop(app, shop).await?;
            Ok(app.store.shop_triager(shop.id).await?)
        }
        _ => Ok(Triager::default()),
    }
}

/// Streams JSON lines: one answer per input line, in order. A bad line gets an error line in
/// its place, so answers stay aligned with inputs, and the exit code says something failed.
fn triage_lines(triager: &Triager, lang: UiLang) -> Result<ExitCode> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = false;
    // Bytes, not `lines()`: a line that is not UTF-8 gets its own error answer instead of
    // stopping the whole stream.
    for (index, line) in stdin.split(b'\n').enumerate() {
        let line = line.context(lang.pick(
            "lecture de l'entrée standard impossible",
            "cannot read standard input",
        ))?;
        let line = String::from_utf8_lossy(&line);
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<LineInput>(&line) {
            Ok(input) => {
                let triage = triager.triage(&input.subject, &extract_new_text(&input.text));
                serde_json::to_writer(
                    &mut out,
                    &LineTriage {
                        lang: triage.lang.as_deref(),
                        intent: &triage.intent,
                        confidence: triage.confidence,
                        facts: &triage.facts,
                    },
                )?;
            }
            Err(error) => {
                failed = true;
                let message = tr(
                    lang,
                    format!("ligne {} : JSON invalide ({error})", index + 1),
                    format!("line {}: invalid JSON ({error})", index + 1),
                );
                serde_json::to_writer(&mut out, &serde_json::json!({ "error": message }))?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A triage in a few indented lines, for people.
pub fn describe(triage: &Triage, lang: UiLang, indent: &str) -> String {
    let label = triage::builtin_label(&triage.intent, lang).unwrap_or(&triage.intent);
    let mut out = format!(
        "{indent}{}: {} · {}: {} ({}) · {}: {:.0} %\n",
        lang.pick("langue", "language"),
        triage.lang.as_deref().unwrap_or("?"),
        lang.pick("intention", "intent"),
        label,
        triage.intent,
        lang.pick("confiance", "confidence"),
        triage.confidence * 100.0
    );
    let why = match &triage.reason {
        Reason::Model { features } => tr(
            lang,
            format!("modèle, surtout : {}", features.join(", ")),
            format!("model, mostly: {}", features.join(", ")),
        ),
        Reason::Rule { rule_id, keyword } => tr(
            lang,
            format!("règle {rule_id} (« {keyword} »)"),
            format!("rule {rule_id} (\"{keyword}\")"),
        ),
        Reason::Correction { by } => tr(
            lang,
            format!("corrigée par {by}"),
            format!("corrected by {by}"),
        ),
    };
    out.push_str(&format!(
        "{indent}{}: {why}\n",
        lang.pick("pourquoi", "why")
    ));
    let facts = &triage.facts;
    let lists: [(&str, &str, &[String]); 6] = [
        ("commandes", "orders", &facts.order_refs),
        ("suivi colis", "tracking", &facts.tracking_numbers),
        ("e-mails", "emails", &facts.emails),
        ("téléphones", "phones", &facts.phones),
        ("montants", "amounts", &facts.amounts),
        ("IBAN", "IBAN", &facts.ibans),
    ];
    for (fr, en, values) in lists {
        if !values.is_empty() {
            out.push_str(&format!(
                "{indent}{}: {}\n",
                lang.pick(fr, en),
                values.join(", ")
            ));
        }
    }
    out
}

/// The figures `triage eval` prints, also as JSON.
#[derive(Debug, Serialize)]
struct EvalReport {
    model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    training_seconds: Option<f64>,
    /// Absent when the dataset has languages only.
    #[serde(flatten)]
    intents: Option<Report>,
    /// Share of messages whose language is right, among those labelled with one.
    language_accuracy: Option<f64>,
    /// The same among messages of 20 words or more.
    language_accuracy_20_words: Option<f64>,
    order_refs: Option<ExtractionScore>,
    tracking_numbers: Option<ExtractionScore>,
    messages_per_second: f64,
}

async fn evaluate(app: Option<&App>, lang: UiLang, args: EvalArgs) -> Result<ExitCode> {
    let read_dataset = |path: &Path| -> Result<Vec<Record>> {
        let content = std::fs::read_to_string(path).with_context(|| {
            tr(
                lang,
                format!("impossible de lire {}", path.display()),
                format!("cannot read {}", path.display()),
            )
        })?;
        corpus::parse_jsonl(&content).with_context(|| path.display().to_string())
    };
    let mut training_seconds = None;
    let (triager, model_name, records) = match (&args.train, args.holdout) {
        (Some(train), _) => {
            let dataset = args.dataset.as_deref().ok_or_else(|| {
                anyhow!(lang.pick(
                    "--train demande aussi le jeu d'évaluation DATASET",
                    "--train also needs the evaluation DATASET"
                ))
            })?;
            let training = read_dataset(train)?;
            let started = Instant::now();
            let model = train_on(&training, lang)?;
            training_seconds = Some(started.elapsed().as_secs_f64());
            (
                Triager::new(Arc::new(model), HashSet::new(), Vec::new()),
                format!("trained on {}", train.display()),
                read_dataset(dataset)?,
            )
        }
        (None, Some(percent)) => {
            let (held_out, training): (Vec<Record>, Vec<Record>) = corpus::shipped()
                .into_iter()
                .partition(|r| corpus::in_holdout(&r.text, percent));
            let started = Instant::now();
            let model = train_on(&training, lang)?;
            training_seconds = Some(started.elapsed().as_secs_f64());
            let records = match &args.dataset {
                Some(dataset) => read_dataset(dataset)?,
                None => held_out,
            };
            (
                Triager::new(Arc::new(model), HashSet::new(), Vec::new()),
                format!("shipped corpus minus {percent} % held out"),
                records,
            )
        }
        (None, None) => {
            let dataset = args.dataset.as_deref().ok_or_else(|| {
                anyhow!(lang.pick(
                    "donnez le jeu d'évaluation DATASET (ou --holdout POURCENT)",
                    "give the evaluation DATASET (or --holdout PERCENT)"
                ))
            })?;
            let name = match &args.shop {
                Some(shop) => format!("shop {shop}"),
                None => "shipped".to_string(),
            };
            (
                triager_for(app, args.shop.as_deref()).await?,
                name,
                read_dataset(dataset)?,
            )
        }
    };
    let labelled: Vec<&Record> = records
        .iter()
        .filter(|r| r.intent.is_some() || r.lang.is_some())
        .collect();
    if labelled.is_empty() {
        bail!(lang.pick(
            "aucune ligne du jeu d'évaluation n'a de champ \"intent\" ni \"lang\"",
            "no line of the dataset has an \"intent\" or \"lang\" field"
        ));
    }
    let started = Instant::now();
    let triages: Vec<Triage> = labelled
        .iter()
        .map(|r| triager.triage(r.subject(), &extract_new_text(&r.text)))
        .collect();
    let messages_per_second = labelled.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let outcomes: Vec<Outcome> = labelled
        .iter()
        .zip(&triages)
        .filter_map(|(record, triage)| {
            Some(Outcome {
                expected: record.intent.clone()?,
                predicted: triage.intent.clone(),
                confidence: triage.confidence,
            })
        })
        .collect();
    let language = |min_words: usize| {
        let judged: Vec<bool> = labelled
            .iter()
            .zip(&triages)
            .filter(|(r, _)| r.lang.is_some() && r.text.split_whitespace().count() >= min_words)
            .map(|(r, t)| r.lang == t.lang)
            .collect();
        (!judged.is_empty())
            .then(|| judged.iter().filter(|ok| **ok).count() as f64 / judged.len() as f64)
    };
    let extraction = |expected: fn(&Record) -> Option<&Vec<String>>,
                      found: fn(&Facts) -> &Vec<String>| {
        let pairs: Vec<(&[String], &[String])> = labelled
            .iter()
            .zip(&triages)
            .filter_map(|(r, t)| expected(r).map(|e| (e.as_slice(), found(&t.facts).as_slice())))
            .collect();
        (!pairs.is_empty()).then(|| eval::score_extraction(pairs))
    };
    let report = EvalReport {
        model: model_name,
        training_seconds,
        intents: (!outcomes.is_empty()).then(|| eval::evaluate(&outcomes)),
        language_accuracy: language(0),
        language_accuracy_20_words: language(20),
        order_refs: extraction(|r| r.order_refs.as_ref(), |f| &f.order_refs),
        tracking_numbers: extraction(|r| r.tracking_numbers.as_ref(), |f| &f.tracking_numbers),
        messages_per_second,
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report, lang);
    }
    Ok(ExitCode::SUCCESS)
}

fn train_on(records: &[Record], lang: UiLang) -> Result<Model> {
    let texts: Vec<(String, &str)> = records
        .iter()
        .filter_map(|r| {
            r.intent
                .as_deref()
                .map(|intent| (message_text(r.subject(), &r.text), intent))
        })
        .collect();
    eprintln!(
        "{}",
        tr(
            lang,
            format!("entraînement sur {} exemples…", texts.len()),
            format!("training on {} examples…", texts.len())
        )
    );
    let examples: Vec<_> = texts
        .iter()
        .map(|(text, intent)| triage::classifier::Example {
            text,
            label: intent,
            weight: 1.0,
        })
        .collect();
    Model::train(&examples, &Default::default()).map_err(|e| anyhow!(e))
}

fn print_report(report: &EvalReport, lang: UiLang) {
    println!("{}: {}", lang.pick("modèle", "model"), report.model);
    if let Some(seconds) = report.training_seconds {
        println!("{}: {seconds:.2} s", lang.pick("entraînement", "training"));
    }
    if let Some(intents) = &report.intents {
        print_intent_report(intents, lang);
    }
    print_language_and_facts(report, lang);
}

fn print_intent_report(r: &Report, lang: UiLang) {
    println!(
        "{} {} · {}: {:.4} · macro-F1: {:.4}",
        r.messages,
        lang.pick("messages", "messages"),
        lang.pick("exactitude", "accuracy"),
        r.accuracy,
        r.macro_f1
    );
    println!(
        "\n{:<24} {:>9} {:>9} {:>9} {:>8}",
        lang.pick("intention", "intent"),
        lang.pick("précision", "precision"),
        lang.pick("rappel", "recall"),
        "F1",
        lang.pick("effectif", "support")
    );
    for score in &r.intents {
        println!(
            "{:<24} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            score.intent, score.precision, score.recall, score.f1, score.support
        );
    }
    println!(
        "\n{}",
        lang.pick(
            "Matrice de confusion (lignes : attendu, colonnes : prédit)",
            "Confusion matrix (rows: expected, columns: predicted)"
        )
    );
    print!("{:<24}", "");
    for (i, _) in r.labels.iter().enumerate() {
        print!(" {:>4}", i + 1);
    }
    println!();
    for (i, row) in r.confusion.iter().enumerate() {
        print!("{:<24}", format!("{:>2} {}", i + 1, r.labels[i]));
        for count in row {
            print!(" {count:>4}");
        }
        println!();
    }
    println!(
        "\n{}",
        lang.pick(
            "Réponse automatique si confiance >= seuil",
            "Auto-answer when confidence >= threshold"
        )
    );
    println!(
        "{:>9} {:>10} {:>10}",
        lang.pick("seuil", "threshold"),
        lang.pick("couverture", "coverage"),
        lang.pick("précision", "precision")
    );
    for point in &r.curve {
        println!(
            "{:>9.3} {:>9.1} % {:>9.1} %",
            point.threshold,
            point.coverage * 100.0,
            point.precision * 100.0
        );
    }
}

fn print_language_and_facts(report: &EvalReport, lang: UiLang) {
    if let Some(accuracy) = report.language_accuracy {
        println!(
            "\n{}: {:.4}{}",
            lang.pick("langue, exactitude", "language accuracy"),
            accuracy,
            report
                .language_accuracy_20_words
                .map(|a| tr(
                    lang,
                    format!(" (messages de 20 mots ou plus : {a:.4})"),
                    format!(" (messages of 20+ words: {a:.4})")
                ))
                .unwrap_or_default()
        );
    }
    for (name, score) in [
        (
            lang.pick("références de commande", "order references"),
            &report.order_refs,
        ),
        (
            lang.pick("numéros de suivi", "tracking numbers"),
            &report.tracking_numbers,
        ),
    ] {
        if let Some(s) = score {
            println!(
                "{name}: {} {:.3} · {} {:.3} · F1 {:.3} ({} {}, {} {})",
                lang.pick("précision", "precision"),
                s.precision,
                lang.pick("rappel", "recall"),
                s.recall,
                s.f1,
                s.expected,
                lang.pick("attendus", "expected"),
                s.found,
                lang.pick("trouvés", "found")
            );
        }
    }
    println!(
        "{}: {:.0} messages/s",
        lang.pick("vitesse", "speed"),
        report.messages_per_second
    );
}

#[derive(Debug, Subcommand)]
pub enum IntentsCommand {
    /// List the shop's intents (built-in and its own), enabled or not.
    List {
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Stop using an intent: its messages go to "other" (an employee).
    Disable {
        intent: String,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Use an intent again.
    Enable {
        intent: String,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Add the shop's own intent, taught by examples (one per line of FILE, "-" for stdin).
    Add {
        /// Identifier: lowercase letters, digits and underscores, e.g. "wholesale".
        id: String,
        #[arg(long)]
        label_fr: String,
        #[arg(long)]
        label_en: String,
        #[arg(long, value_name = "FILE")]
        examples: PathBuf,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Add a keyword rule: a message containing any KEYWORD gets INTENT, whatever the model says.
    RuleAdd {
        intent: String,
        #[arg(required = true)]
        keywords: Vec<String>,
        #[arg(long)]
        shop: Option<String>,
    },
    /// List keyword rules.
    Rules {
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete a keyword rule.
    RuleDelete {
        id: i64,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Set the intent of a message (its `id` in `tickets show --json`); the shop's model
    /// learns from it at its next retraining.
    Correct {
        message_id: i64,
        intent: String,
        /// Who corrects (shown beside the intent).
        #[arg(long, default_value = "cli")]
        by: String,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Retrain the shop's model now from the shipped corpus, its examples and corrections.
    Retrain {
        #[arg(long)]
        shop: Option<String>,
    },
}

pub async fn intents(app: &App, command: IntentsCommand) -> Result<ExitCode> {
    let lang = app.lang;
    let unknown_intent = |error: StoreError, intent: &str| match error {
        StoreError::NotFound(_) => anyhow!(tr(
            lang,
            format!("intention inconnue : {intent} (guichet intents list)"),
            format!("unknown intent: {intent} (guichet intents list)")
        )),
        other => super::localized_store_error(other, lang),
    };
    match command {
        IntentsCommand::List { shop, json } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            let intents = app.store.shop_intents(shop.id, lang).await?;
            if json {
                print_json(&intents)?;
            } else {
                for intent in intents {
                    println!(
                        "{:<24} {:<32} {}{}",
                        intent.id,
                        intent.label,
                        if intent.enabled {
                            lang.pick("active", "enabled")
                        } else {
                            lang.pick("désactivée", "disabled")
                        },
                        if intent.custom {
                            tr(
                                lang,
                                format!(" · propre à la boutique, {} exemples", intent.examples),
                                format!(" · shop's own, {} examples", intent.examples),
                            )
                        } else {
                            String::new()
                        }
                    );
                }
                if let Some(info) = app.store.shop_model_info(shop.id).await? {
                    println!(
                        "{}",
                        tr(
                            lang,
                            format!(
                                "Modèle de la boutique : entraîné le {} ({} exemples propres, {} corrections)",
                                guichet::store::rfc3339(info.trained_at),
                                info.examples,
                                info.corrections
                            ),
                            format!(
                                "Shop model: trained {} ({} own examples, {} corrections)",
                                guichet::store::rfc3339(info.trained_at),
                                info.examples,
                                info.corrections
                            )
                        )
                    );
                }
            }
        }
        IntentsCommand::Disable { intent, shop } | IntentsCommand::Enable { intent, shop }
            if intent == triage::OTHER =>
        {
            let _ = shop;
            bail!(lang.pick(
                "l'intention « other » ne peut pas être désactivée : c'est celle des messages laissés aux employés",
                "the intent \"other\" cannot be disabled: it is where messages left to employees go"
            ));
        }
        IntentsCommand::Disable { intent, shop } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            app.store
                .set_intent_enabled(shop.id, &intent, false)
                .await
                .map_err(|e| unknown_intent(e, &intent))?;
            println!(
                "{} {intent}",
                lang.pick("Intention désactivée :", "Intent disabled:")
            );
        }
        IntentsCommand::Enable { intent, shop } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            app.store
                .set_intent_enabled(shop.id, &intent, true)
                .await
                .map_err(|e| unknown_intent(e, &intent))?;
            println!(
                "{} {intent}",
                lang.pick("Intention activée :", "Intent enabled:")
            );
        }
        IntentsCommand::Add {
            id,
            label_fr,
            label_en,
            examples,
            shop,
        } => {
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                bail!(lang.pick(
                    "identifiant invalide : lettres minuscules, chiffres et _ seulement (ex. grossiste)",
                    "invalid identifier: lowercase letters, digits and _ only (e.g. wholesale)"
                ));
            }
            let content = read_input(&examples, lang)?;
            let lines: Vec<String> = content
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            const MIN_EXAMPLES: usize = 5;
            if lines.len() < MIN_EXAMPLES {
                bail!(tr(
                    lang,
                    format!(
                        "{} exemple(s) seulement : il en faut au moins {MIN_EXAMPLES} (un par ligne) pour apprendre une intention",
                        lines.len()
                    ),
                    format!(
                        "only {} example(s): at least {MIN_EXAMPLES} (one per line) are needed to learn an intent",
                        lines.len()
                    )
                ));
            }
            let shop = chosen_shop(app, shop.as_deref()).await?;
            app.store
                .add_custom_intent(shop.id, &id, &label_fr, &label_en, &lines)
                .await
                .map_err(|e| super::localized_store_error(e, lang))?;
            println!(
                "{}",
                tr(
                    lang,
                    format!(
                        "Intention {id} ajoutée avec {} exemples ; le modèle de la boutique sera réentraîné par la prochaine tâche (guichet sync --once, guichet serve) ou tout de suite avec guichet intents retrain.",
                        lines.len()
                    ),
                    format!(
                        "Intent {id} added with {} examples; the shop's model is retrained by the next job run (guichet sync --once, guichet serve) or now with guichet intents retrain.",
                        lines.len()
                    )
                )
            );
        }
        IntentsCommand::RuleAdd {
            intent,
            keywords,
            shop,
        } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            let id = app
                .store
                .add_intent_rule(shop.id, &intent, &keywords)
                .await
                .map_err(|e| unknown_intent(e, &intent))?;
            println!("{} {id}", lang.pick("Règle ajoutée :", "Rule added:"));
        }
        IntentsCommand::Rules { shop, json } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            let rules = app.store.intent_rules(shop.id).await?;
            if json {
                print_json(&rules)?;
            } else {
                for rule in rules {
                    println!(
                        "{:>4} {:<24} {}",
                        rule.id,
                        rule.intent,
                        rule.keywords.join(" | ")
                    );
                }
            }
        }
        IntentsCommand::RuleDelete { id, shop } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            app.store
                .delete_intent_rule(shop.id, id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(_) => anyhow!(tr(
                        lang,
                        format!("pas de règle {id} (guichet intents rules)"),
                        format!("no rule {id} (guichet intents rules)")
                    )),
                    other => super::localized_store_error(other, lang),
                })?;
            println!("{} {id}", lang.pick("Règle supprimée :", "Rule deleted:"));
        }
        IntentsCommand::Correct {
            message_id,
            intent,
            by,
            shop,
        } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            app.store
                .correct_intent(shop.id, message_id, &intent, &by)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(what) if what.starts_with("message") => anyhow!(tr(
                        lang,
                        format!("pas de message client {message_id} dans cette boutique (son id dans guichet tickets show --json)"),
                        format!("no customer message {message_id} in this shop (its id in guichet tickets show --json)")
                    )),
                    other => unknown_intent(other, &intent),
                })?;
            println!(
                "{}",
                tr(
                    lang,
                    format!(
                        "Message {message_id} : intention {intent}. Correction gardée pour le prochain entraînement."
                    ),
                    format!(
                        "Message {message_id}: intent {intent}. Correction kept for the next training."
                    )
                )
            );
        }
        IntentsCommand::Retrain { shop } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            let started = Instant::now();
            let trained = guichet::worker::retrain_shop_model(&app.store, shop.id).await?;
            println!(
                "{}",
                tr(
                    lang,
                    format!(
                        "Modèle de {} entraîné en {:.1} s sur {} exemples ({} propres à la boutique, {} corrections).",
                        shop.name,
                        started.elapsed().as_secs_f64(),
                        trained.total,
                        trained.examples,
                        trained.corrections
                    ),
                    format!(
                        "Model of {} trained in {:.1} s on {} examples ({} of the shop's own, {} corrections).",
                        shop.name,
                        started.elapsed().as_secs_f64(),
                        trained.total,
                        trained.examples,
                        trained.corrections
                    )
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
