//! `guichet triage` (classify files or JSON lines, evaluate on a dataset) and `guichet intents`
//! (a shop's intents, keyword rules and retrained model).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};

use guichet::desk::triage::{self as desk_triage, CustomIntent, EvalRequest};
use guichet::desk::{Desk, DeskResult};
use guichet::model::UiLang;
use guichet::t;
use guichet::triage::KeywordRule;
use guichet::views;

use super::{Say, chosen, exit_code, print_json, print_list, read_input, say};

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

pub async fn triage(desk: Option<&Desk>, lang: UiLang, args: &TriageArgs) -> Result<ExitCode> {
    if let Some(TriageCommand::Eval(eval)) = &args.command {
        let request = EvalRequest {
            dataset: eval.dataset.as_deref(),
            train: eval.train.as_deref(),
            holdout: eval.holdout,
            shop: eval.shop.as_deref(),
        };
        let report = desk_triage::evaluate_request(desk, request)
            .await
            .say(lang)?;
        match eval.json {
            true => print_json(&report)?,
            false => print!("{}", views::eval_report_text(&report, lang)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let triager = match (desk, &args.shop) {
        (Some(desk), Some(name)) => {
            let shop = chosen(desk, Some(name)).await?;
            desk.triager(Some(&shop)).await.say(lang)?
        }
        _ => guichet::triage::Triager::default(),
    };
    if args.jsonl {
        let (input, output) = (std::io::stdin().lock(), std::io::stdout().lock());
        let output = std::io::BufWriter::new(output);
        let all_triaged = desk_triage::triage_stream(&triager, input, output, lang).say(lang)?;
        return Ok(exit_code(all_triaged));
    }
    if args.files.is_empty() {
        return Err(anyhow!(t!(lang, "triage.nothing")));
    }
    let results = desk_triage::triage_files(&triager, &args.files).say(lang)?;
    let lines = |r: &desk_triage::FileTriage| {
        let triage = views::triage_lines(&r.triage.triage, lang);
        let triage = triage.iter().map(|line| format!("\n  {line}"));
        format!(
            "{}: {}{}",
            r.file,
            r.triage.subject,
            triage.collect::<String>()
        )
    };
    print_list::<_, &desk_triage::FileTriage>(&results, args.json, lines, None)?;
    Ok(ExitCode::SUCCESS)
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

pub async fn intents(desk: &Desk, command: IntentsCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    let done = |result: DeskResult<()>, text: String| -> Result<ExitCode> {
        result.say(lang)?;
        say(text);
        Ok(ExitCode::SUCCESS)
    };
    match command {
        IntentsCommand::List { shop, json } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            let view = desk.intents(&shop).await.say(lang)?;
            let line = |intent: &guichet::store::IntentSetting| {
                let state = match intent.enabled {
                    true => t!(lang, "intents.enabled"),
                    false => t!(lang, "intents.disabled"),
                };
                let own = match intent.custom {
                    true => t!(lang, "intents.own", examples = intent.examples),
                    false => String::new(),
                };
                format!("{:<24} {:<32} {state}{own}", intent.id, intent.label)
            };
            print_list::<_, views::IntentJson>(&view.intents, json, line, None)?;
            if let (false, Some(info)) = (json, view.model) {
                let at = views::rfc3339(info.trained_at);
                let (examples, corrections) = (info.examples, info.corrections);
                say(t!(
                    lang,
                    "intents.model",
                    at = at,
                    examples = examples,
                    corrections = corrections
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        IntentsCommand::Disable { intent, shop } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            done(
                desk.set_intent_enabled(&shop, &intent, false).await,
                t!(lang, "intents.disabled_now", intent = intent),
            )
        }
        IntentsCommand::Enable { intent, shop } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            done(
                desk.set_intent_enabled(&shop, &intent, true).await,
                t!(lang, "intents.enabled_now", intent = intent),
            )
        }
        IntentsCommand::Add {
            id,
            label_fr,
            label_en,
            examples,
            shop,
        } => {
            let examples = read_input(&examples, lang)?;
            let shop = chosen(desk, shop.as_deref()).await?;
            let intent = CustomIntent {
                id: id.clone(),
                label_fr,
                label_en,
                examples,
            };
            let count = desk.add_custom_intent(&shop, &intent).await.say(lang)?;
            say(t!(lang, "intents.added", id = id, count = count));
            Ok(ExitCode::SUCCESS)
        }
        IntentsCommand::RuleAdd {
            intent,
            keywords,
            shop,
        } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            let id = desk
                .add_intent_rule(&shop, &intent, &keywords)
                .await
                .say(lang)?;
            say(t!(lang, "intents.rule_added", id = id));
            Ok(ExitCode::SUCCESS)
        }
        IntentsCommand::Rules { shop, json } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            let rules = desk.intent_rules(&shop).await.say(lang)?;
            let line = |rule: &KeywordRule| {
                format!(
                    "{:>4} {:<24} {}",
                    rule.id,
                    rule.intent,
                    rule.keywords.join(" | ")
                )
            };
            print_list::<_, &KeywordRule>(&rules, json, line, None)?;
            Ok(ExitCode::SUCCESS)
        }
        IntentsCommand::RuleDelete { id, shop } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            done(
                desk.delete_intent_rule(&shop, id).await,
                t!(lang, "intents.rule_deleted", id = id),
            )
        }
        IntentsCommand::Correct {
            message_id,
            intent,
            by,
            shop,
        } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            done(
                desk.correct_intent(&shop, message_id, &intent, &by).await,
                t!(lang, "intents.corrected", id = message_id, intent = intent),
            )
        }
        IntentsCommand::Retrain { shop } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            let started = Instant::now();
            let trained = desk.retrain(&shop).await.say(lang)?;
            let seconds = format!("{:.1}", started.elapsed().as_secs_f64());
            let (total, examples, corrections) =
                (trained.total, trained.examples, trained.corrections);
            say(t!(
                lang,
                "intents.retrained",
                shop = shop.name,
                seconds = seconds,
                total = total,
                examples = examples,
                corrections = corrections
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}
