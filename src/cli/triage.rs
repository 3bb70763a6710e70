//! `guichet triage` (classify files or JSON lines, evaluate on a dataset) and `guichet intents`
//! (a shop's intents, keyword rules and retrained model).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use serde::Serialize;

use guichet::desk::DeskResult;
use guichet::desk::triage::{
    self as desk_triage, CustomIntent, EvalModel, EvalReport, MessageTriage,
};
use guichet::model::UiLang;
use guichet::t;
use guichet::triage::corpus::{self, Record};
use guichet::triage::eval::Report;
use guichet::triage::{self, Reason, Triage};

use super::{App, Say, exit_code, print_json, read_input};

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
    #[serde(flatten)]
    triage: &'a MessageTriage,
}

pub async fn triage(app: Option<&App>, lang: UiLang, args: TriageArgs) -> Result<ExitCode> {
    if let Some(TriageCommand::Eval(eval)) = args.command {
        return evaluate(app, lang, eval).await;
    }
    let triager = match (app, &args.shop) {
        (Some(app), Some(name)) => {
            let shop = app.choose_shop(Some(name)).await.say(lang)?;
            app.triager(Some(&shop)).await.say(lang)?
        }
        _ => guichet::triage::Triager::default(),
    };
    if args.jsonl {
        return triage_lines(&triager, lang);
    }
    if args.files.is_empty() {
        return Err(anyhow!(t!(lang, "triage.nothing")));
    }
    let mut results = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let raw = std::fs::read(file)
            .with_context(|| t!(lang, "cli.cannot_read", path = file.display()))?;
        results.push((
            file.display().to_string(),
            desk_triage::triage_raw(&triager, &raw),
        ));
    }
    if args.json {
        let views: Vec<FileTriage<'_>> = results
            .iter()
            .map(|(file, triage)| FileTriage {
                file: file.clone(),
                triage,
            })
            .collect();
        print_json(&views)?;
    } else {
        for (file, result) in &results {
            println!("{file}: {}", result.subject);
            print!("{}", describe(&result.triage, lang, "  "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Streams JSON lines: one answer per input line, in order. A bad line gets an error line in
/// its place, so answers stay aligned with inputs, and the exit code says something failed.
fn triage_lines(triager: &guichet::triage::Triager, lang: UiLang) -> Result<ExitCode> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = false;
    // Bytes, not `lines()`: a line that is not UTF-8 gets its own error answer instead of
    // stopping the whole stream.
    for (index, line) in stdin.split(b'\n').enumerate() {
        let line = line.context(t!(lang, "cli.cannot_read_stdin"))?;
        let line = String::from_utf8_lossy(&line);
        if line.trim().is_empty() {
            continue;
        }
        match desk_triage::triage_line(triager, &line) {
            Ok(answer) => serde_json::to_writer(&mut out, &answer)?,
            Err(error) => {
                failed = true;
                let message = t!(lang, "triage.bad_line", line = index + 1, reason = error);
                serde_json::to_writer(&mut out, &serde_json::json!({ "error": message }))?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(exit_code(!failed))
}

/// A triage in a few indented lines, for people.
pub fn describe(triage: &Triage, lang: UiLang, indent: &str) -> String {
    let label = triage::builtin_label(&triage.intent, lang).unwrap_or(&triage.intent);
    let mut out = format!(
        "{indent}{}\n",
        t!(
            lang,
            "triage.summary",
            lang_code = triage.lang.as_deref().unwrap_or("?"),
            label = label,
            intent = triage.intent,
            confidence = format!("{:.0}", triage.confidence * 100.0)
        )
    );
    let why = match &triage.reason {
        Reason::Model { features } => {
            t!(lang, "triage.why_model", features = features.join(", "))
        }
        Reason::Rule { rule_id, keyword } => {
            t!(lang, "triage.why_rule", id = rule_id, keyword = keyword)
        }
        Reason::Correction { by } => t!(lang, "triage.why_correction", by = by),
    };
    out.push_str(&format!("{indent}{}\n", t!(lang, "triage.why", why = why)));
    let facts = &triage.facts;
    let lists: [(&str, &[String]); 6] = [
        (t!(lang, "facts.orders"), &facts.order_refs),
        (t!(lang, "facts.tracking"), &facts.tracking_numbers),
        (t!(lang, "facts.emails"), &facts.emails),
        (t!(lang, "facts.phones"), &facts.phones),
        (t!(lang, "facts.amounts"), &facts.amounts),
        ("IBAN", &facts.ibans),
    ];
    for (name, values) in lists {
        if !values.is_empty() {
            out.push_str(&format!("{indent}{name}: {}\n", values.join(", ")));
        }
    }
    out
}

async fn evaluate(app: Option<&App>, lang: UiLang, args: EvalArgs) -> Result<ExitCode> {
    let read_dataset = |path: &Path| -> Result<Vec<Record>> {
        let content = std::fs::read_to_string(path)
            .with_context(|| t!(lang, "cli.cannot_read", path = path.display()))?;
        corpus::parse_jsonl(&content).with_context(|| path.display().to_string())
    };
    let dataset = args.dataset.as_deref().map(read_dataset).transpose()?;
    let model = match (&args.train, args.holdout) {
        (Some(train), _) => EvalModel::TrainedOn {
            name: train.display().to_string(),
            records: read_dataset(train)?,
        },
        (None, Some(percent)) => EvalModel::Holdout { percent },
        (None, None) => EvalModel::Current {
            shop: match (app, &args.shop) {
                (Some(app), Some(name)) => Some(app.choose_shop(Some(name)).await.say(lang)?),
                _ => None,
            },
        },
    };
    if matches!(model, EvalModel::TrainedOn { .. }) && dataset.is_none() {
        return Err(anyhow!(t!(lang, "triage.train_needs_dataset")));
    }
    let report = desk_triage::evaluate(app.map(|a| &a.desk), model, dataset)
        .await
        .say(lang)?;
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report, lang);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &EvalReport, lang: UiLang) {
    println!("{}", t!(lang, "eval.model", model = report.model));
    if let Some(seconds) = report.training_seconds {
        println!(
            "{}",
            t!(lang, "eval.training", seconds = format!("{seconds:.2}"))
        );
    }
    if let Some(intents) = &report.intents {
        print_intent_report(intents, lang);
    }
    print_language_and_facts(report, lang);
}

fn print_intent_report(r: &Report, lang: UiLang) {
    println!(
        "{}",
        t!(
            lang,
            "eval.headline",
            messages = r.messages,
            accuracy = format!("{:.4}", r.accuracy),
            macro_f1 = format!("{:.4}", r.macro_f1)
        )
    );
    println!(
        "\n{:<24} {:>9} {:>9} {:>9} {:>8}",
        t!(lang, "eval.intent"),
        t!(lang, "eval.precision"),
        t!(lang, "eval.recall"),
        "F1",
        t!(lang, "eval.support")
    );
    for score in &r.intents {
        println!(
            "{:<24} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            score.intent, score.precision, score.recall, score.f1, score.support
        );
    }
    println!("\n{}", t!(lang, "eval.confusion"));
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
    println!("\n{}", t!(lang, "eval.curve"));
    println!(
        "{:>9} {:>10} {:>10}",
        t!(lang, "eval.threshold"),
        t!(lang, "eval.coverage"),
        t!(lang, "eval.precision")
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
        let long = report
            .language_accuracy_20_words
            .map(|a| t!(lang, "eval.language_long", accuracy = format!("{a:.4}")))
            .unwrap_or_default();
        println!(
            "\n{}",
            t!(
                lang,
                "eval.language",
                accuracy = format!("{accuracy:.4}"),
                long = long
            )
        );
    }
    for (name, score) in [
        (t!(lang, "eval.order_refs"), &report.order_refs),
        (t!(lang, "eval.tracking_numbers"), &report.tracking_numbers),
    ] {
        if let Some(s) = score {
            println!(
                "{}",
                t!(
                    lang,
                    "eval.extraction",
                    name = name,
                    precision = format!("{:.3}", s.precision),
                    recall = format!("{:.3}", s.recall),
                    f1 = format!("{:.3}", s.f1),
                    expected = s.expected,
                    found = s.found
                )
            );
        }
    }
    println!(
        "{}",
        t!(
            lang,
            "eval.speed",
            rate = format!("{:.0}", report.messages_per_second)
        )
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
    let shop = |name: Option<String>| async move { app.choose_shop(name.as_deref()).await };
    let done = |result: DeskResult<()>, key_text: String| -> Result<ExitCode> {
        result.say(lang)?;
        println!("{key_text}");
        Ok(ExitCode::SUCCESS)
    };
    match command {
        IntentsCommand::List { shop: name, json } => {
            let shop = shop(name).await.say(lang)?;
            let view = app.intents(&shop).await.say(lang)?;
            if json {
                print_json(&view.intents)?;
                return Ok(ExitCode::SUCCESS);
            }
            for intent in &view.intents {
                let state = if intent.enabled {
                    t!(lang, "intents.enabled")
                } else {
                    t!(lang, "intents.disabled")
                };
                let own = if intent.custom {
                    t!(lang, "intents.own", examples = intent.examples)
                } else {
                    String::new()
                };
                println!("{:<24} {:<32} {state}{own}", intent.id, intent.label);
            }
            if let Some(info) = view.model {
                println!(
                    "{}",
                    t!(
                        lang,
                        "intents.model",
                        at = guichet::store::rfc3339(info.trained_at),
                        examples = info.examples,
                        corrections = info.corrections
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        IntentsCommand::Disable { intent, shop: name } => {
            let shop = shop(name).await.say(lang)?;
            done(
                app.set_intent_enabled(&shop, &intent, false).await,
                t!(lang, "intents.disabled_now", intent = intent),
            )
        }
        IntentsCommand::Enable { intent, shop: name } => {
            let shop = shop(name).await.say(lang)?;
            done(
                app.set_intent_enabled(&shop, &intent, true).await,
                t!(lang, "intents.enabled_now", intent = intent),
            )
        }
        IntentsCommand::Add {
            id,
            label_fr,
            label_en,
            examples,
            shop: name,
        } => {
            let examples = read_input(&examples, lang)?;
            let shop = shop(name).await.say(lang)?;
            let intent = CustomIntent {
                id: id.clone(),
                label_fr,
                label_en,
                examples,
            };
            let count = app.add_custom_intent(&shop, &intent).await.say(lang)?;
            println!("{}", t!(lang, "intents.added", id = id, count = count));
            Ok(ExitCode::SUCCESS)
        }
        IntentsCommand::RuleAdd {
            intent,
            keywords,
            shop: name,
        } => {
            let shop = shop(name).await.say(lang)?;
            let id = app
                .add_intent_rule(&shop, &intent, &keywords)
                .await
                .say(lang)?;
            println!("{}", t!(lang, "intents.rule_added", id = id));
            Ok(ExitCode::SUCCESS)
        }
        IntentsCommand::Rules { shop: name, json } => {
            let shop = shop(name).await.say(lang)?;
            let rules = app.intent_rules(&shop).await.say(lang)?;
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
            Ok(ExitCode::SUCCESS)
        }
        IntentsCommand::RuleDelete { id, shop: name } => {
            let shop = shop(name).await.say(lang)?;
            done(
                app.delete_intent_rule(&shop, id).await,
                t!(lang, "intents.rule_deleted", id = id),
            )
        }
        IntentsCommand::Correct {
            message_id,
            intent,
            by,
            shop: name,
        } => {
            let shop = shop(name).await.say(lang)?;
            done(
                app.correct_intent(&shop, message_id, &intent, &by).await,
                t!(lang, "intents.corrected", id = message_id, intent = intent),
            )
        }
        IntentsCommand::Retrain { shop: name } => {
            let shop = shop(name).await.say(lang)?;
            let started = Instant::now();
            let trained = app.retrain(&shop).await.say(lang)?;
            println!(
                "{}",
                t!(
                    lang,
                    "intents.retrained",
                    shop = shop.name,
                    seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
                    total = trained.total,
                    examples = trained.examples,
                    corrections = trained.corrections
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
