//! Automatic answers from the command line: a shop's answer settings (`shop set`), the outbox
//! (`replies`), templates, orders, and `replay`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use serde::Deserialize;

use guichet::answering::{self, RecordedDecision};
use guichet::desk::replay::{parse_date, replay_html};
use guichet::desk::replies::state_label;
use guichet::desk::settings::SettingsChange;
use guichet::desk::templates::TemplateInput;
use guichet::model::UiLang;
use guichet::replies::templates::WhenComplete;
use guichet::store::ReplyView;
use guichet::t;

use super::{App, Say, exit_code, print_json, read_input};

/// `shop set` options for automatic answers and branding.
#[derive(Debug, Args, Default)]
pub struct AnswerSettingsArgs {
    /// on: answer; shadow: decide and draft without sending; off: never answer.
    #[arg(long)]
    auto_answers: Option<guichet::replies::Mode>,
    /// Delay before an answer goes out, e.g. 3h, 90m, 0s.
    #[arg(long)]
    reply_delay: Option<String>,
    /// Random spread around the delay, e.g. 20m (0s for none).
    #[arg(long)]
    reply_spread: Option<String>,
    /// Answers go out only then, e.g. "mon-fri 09:00-18:00 Europe/Paris" ("none": any time).
    #[arg(long)]
    business_hours: Option<String>,
    /// IANA time zone of the shop (months, dates in answers), e.g. Europe/Paris.
    #[arg(long)]
    time_zone: Option<String>,
    #[arg(long)]
    plan: Option<guichet::replies::PlanName>,
    /// Monthly automatic answers of the custom plan (0: unlimited).
    #[arg(long)]
    quota: Option<u32>,
    /// Confidence needed to answer, 0 to 1 (default 0.9).
    #[arg(long)]
    threshold: Option<f64>,
    /// Threshold of one intent, e.g. refund=0.95; repeat for several.
    #[arg(long = "intent-threshold", value_name = "INTENT=T")]
    intent_thresholds: Vec<String>,
    /// Name customers see in From (default: the shop's name).
    #[arg(long)]
    display_name: Option<String>,
    /// Closing lines of answers.
    #[arg(long)]
    signature: Option<String>,
    /// https URL of the logo shown in HTML answers.
    #[arg(long)]
    logo_url: Option<String>,
    /// Brand colour of HTML answers, #rrggbb.
    #[arg(long)]
    brand_color: Option<String>,
    /// Small print under answers (address, legal mentions).
    #[arg(long)]
    footer: Option<String>,
}

impl AnswerSettingsArgs {
    /// The settings change these options ask for, with `shop set --retention-months`.
    pub fn into_change(self, retention_months: Option<i64>) -> SettingsChange {
        SettingsChange {
            retention_months,
            auto_answers: self.auto_answers,
            reply_delay: self.reply_delay,
            reply_spread: self.reply_spread,
            business_hours: self.business_hours,
            time_zone: self.time_zone,
            plan: self.plan,
            quota: self.quota,
            threshold: self.threshold,
            intent_thresholds: self.intent_thresholds,
            display_name: self.display_name,
            signature: self.signature,
            logo_url: self.logo_url,
            brand_color: self.brand_color,
            footer: self.footer,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum RepliesCommand {
    /// Automatic answers: scheduled, sent, failed, uncertain, cancelled, shadow.
    List {
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One answer in full.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a scheduled (or shadow) answer.
    Cancel { id: i64 },
    /// Send now: a scheduled answer at once, or again one that failed or is uncertain.
    SendNow { id: i64 },
    /// Replace the text of an answer not sent yet (FILE, "-" for stdin).
    Edit { id: i64, file: PathBuf },
}

pub async fn replies_command(app: &App, command: RepliesCommand) -> Result<ExitCode> {
    let lang = app.lang;
    match command {
        RepliesCommand::List { shop, state, json } => {
            let shop = match shop {
                Some(name) => Some(app.shop_named(&name).await.say(lang)?),
                None => None,
            };
            let replies = app
                .replies(shop.as_ref(), state.as_deref())
                .await
                .say(lang)?;
            if json {
                print_json(&replies)?;
            } else {
                for reply in &replies {
                    print_reply_line(reply, lang);
                }
                if replies.is_empty() {
                    println!("{}", t!(lang, "replies.none"));
                }
            }
        }
        RepliesCommand::Show { id, json } => {
            let reply = app.reply_by_id(id).await.say(lang)?;
            if json {
                print_json(&reply)?;
            } else {
                print_reply_line(&reply, lang);
                if let Some(error) = &reply.error {
                    println!("  {}", t!(lang, "replies.reason", reason = error));
                }
                println!(
                    "{}\n\n{}",
                    t!(lang, "replies.subject", subject = reply.subject),
                    reply.body
                );
            }
        }
        RepliesCommand::Cancel { id } => {
            app.cancel_reply(id).await.say(lang)?;
            println!("{}", t!(lang, "replies.updated", id = id));
        }
        RepliesCommand::SendNow { id } => {
            let (reply, sent) = app.send_reply_now(id).await.say(lang)?;
            println!(
                "{}",
                t!(
                    lang,
                    "replies.sent_now",
                    id = id,
                    state = state_label(&reply.state, lang),
                    sent = sent.sent
                )
            );
            return Ok(exit_code(reply.state == "sent"));
        }
        RepliesCommand::Edit { id, file } => {
            let body = read_input(&file, lang)?;
            app.edit_reply(id, &body).await.say(lang)?;
            println!("{}", t!(lang, "replies.updated", id = id));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_reply_line(reply: &ReplyView, lang: UiLang) {
    let when = if reply.state == "sent" {
        reply
            .sent_at
            .map(guichet::store::rfc3339)
            .unwrap_or_default()
    } else {
        guichet::store::rfc3339(reply.due_at)
    };
    println!(
        "{:>5} [{}] {:<24} {} → {} · {} · {}",
        reply.id,
        reply
            .ticket
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into()),
        state_label(&reply.state, lang),
        when,
        reply.to,
        reply.intent.as_deref().unwrap_or(&reply.kind),
        reply.subject
    );
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Templates per intent and language (shipped or edited by the shop).
    List {
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a template's source.
    Show {
        intent: String,
        /// fr or en.
        #[arg(value_enum, value_name = "LANG")]
        language: UiLang,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Replace a template by the minijinja source in FILE ("-": stdin); it is checked first.
    Set {
        intent: String,
        /// fr or en.
        #[arg(value_enum, value_name = "LANG")]
        language: UiLang,
        file: PathBuf,
        /// Information the answer needs: order_ref, photo, new_address, product_name (repeat).
        #[arg(long = "need")]
        needs: Vec<String>,
        /// Once the customer brings it: answer again, or hand over to an employee.
        #[arg(long, value_parser = ["answer", "hand_over"], default_value = "hand_over")]
        when_complete: String,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Back to the shipped template.
    Reset {
        intent: String,
        /// fr or en.
        #[arg(value_enum, value_name = "LANG")]
        language: UiLang,
        #[arg(long)]
        shop: Option<String>,
    },
}

pub async fn templates_command(app: &App, command: TemplatesCommand) -> Result<ExitCode> {
    let lang = app.lang;
    match command {
        TemplatesCommand::List { shop, json } => {
            let shop = app.choose_shop(shop.as_deref()).await.say(lang)?;
            let views = app.templates(&shop).await.say(lang)?;
            if json {
                print_json(&views)?;
            } else {
                for view in views {
                    let origin = if view.edited {
                        t!(lang, "templates.edited")
                    } else {
                        t!(lang, "templates.shipped")
                    };
                    let needs = if view.needs.is_empty() {
                        "-".to_string()
                    } else {
                        view.needs.join(", ")
                    };
                    println!(
                        "{:<24} {} {:<10} {}",
                        view.intent,
                        view.lang,
                        origin,
                        t!(lang, "templates.asks_for", needs = needs)
                    );
                }
            }
        }
        TemplatesCommand::Show {
            intent,
            language,
            shop,
        } => {
            let shop = app.choose_shop(shop.as_deref()).await.say(lang)?;
            print!(
                "{}",
                app.template(&shop, &intent, language).await.say(lang)?
            );
        }
        TemplatesCommand::Set {
            intent,
            language,
            file,
            needs,
            when_complete,
            shop,
        } => {
            let body = read_input(&file, lang)?;
            let shop = app.choose_shop(shop.as_deref()).await.say(lang)?;
            let input = TemplateInput {
                intent: intent.clone(),
                lang: language,
                body,
                needs,
                when_complete: if when_complete == "answer" {
                    WhenComplete::Answer
                } else {
                    WhenComplete::HandOver
                },
            };
            app.save_template(&shop, input).await.say(lang)?;
            println!(
                "{}",
                t!(
                    lang,
                    "templates.saved",
                    intent = intent,
                    lang = language.code()
                )
            );
        }
        TemplatesCommand::Reset {
            intent,
            language,
            shop,
        } => {
            let shop = app.choose_shop(shop.as_deref()).await.say(lang)?;
            let reset = app
                .reset_template(&shop, &intent, language)
                .await
                .say(lang)?;
            println!(
                "{}",
                if reset {
                    t!(lang, "templates.restored")
                } else {
                    t!(lang, "templates.not_edited")
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Import orders from a CSV file (separated by , or ;) with the columns reference,
    /// customer_email, status and optionally ordered_at, items, carrier, tracking_number, in any
    /// order (items: "2 x Mug; 1 x Teapot"; ordered_at: YYYY-MM-DD, DD/MM/YYYY or RFC 3339).
    /// Bad rows are skipped and listed, and the exit code is then 1.
    Import {
        file: PathBuf,
        #[arg(long)]
        shop: Option<String>,
    },
}

pub async fn orders_command(app: &App, command: OrdersCommand) -> Result<ExitCode> {
    let lang = app.lang;
    let OrdersCommand::Import { file, shop } = command;
    let content = std::fs::read(&file)
        .map_err(|e| anyhow!(t!(lang, "cli.cannot_read", path = file.display())).context(e))?;
    let shop = app.choose_shop(shop.as_deref()).await.say(lang)?;
    let report = app
        .import_orders(&shop, &content)
        .await
        .map_err(|e| anyhow!("{}: {}", file.display(), e.localized(lang)))?;
    println!("{}", t!(lang, "orders.imported", count = report.imported));
    for row in &report.rejected {
        eprintln!("{}: {}", file.display(), row.explain(lang));
    }
    if report.rejected.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "{}",
        t!(lang, "orders.rows_skipped", count = report.rejected.len())
    );
    Ok(ExitCode::FAILURE)
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// First day to replay (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    since: String,
    #[arg(long)]
    shop: Option<String>,
    /// Write the HTML report there (default: replay.html in the current directory).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the decision on past mail without sending anything nor writing to the database.
pub async fn replay(app: &App, args: ReplayArgs) -> Result<ExitCode> {
    let lang = app.lang;
    let since = parse_date(&args.since)
        .ok_or_else(|| anyhow!(t!(lang, "replay.bad_since", since = args.since)))?;
    let shop = app.choose_shop(args.shop.as_deref()).await.say(lang)?;
    let report = app.replay(&shop, since).await.say(lang)?;
    let html_path = args.html.unwrap_or_else(|| PathBuf::from("replay.html"));
    let html = replay_html(&report, lang)?;
    std::fs::write(&html_path, html).map_err(|e| {
        anyhow!(t!(
            lang,
            "cli.cannot_write",
            path = html_path.display(),
            reason = e
        ))
    })?;
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "{}",
            t!(
                lang,
                "replay.done",
                messages = report.messages,
                since = args.since,
                would_send = report.would_send,
                path = html_path.display()
            )
        );
        for (intent, counts) in &report.by_intent {
            println!(
                "  {intent:<24} {:>5} · {} {:>4} · {} {:>4} · {} {:>4}",
                counts.messages,
                t!(lang, "replay.col_answered"),
                counts.answered,
                t!(lang, "replay.col_asked"),
                counts.asked,
                t!(lang, "replay.col_team"),
                counts.handed_over
            );
        }
    }
    if let Some((quota, plan)) = report.over_quota {
        eprintln!(
            "{}",
            t!(lang, "replay.over_quota", quota = quota, plan = plan)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What `sync --once` did about automatic answers, when it did anything.
pub fn print_answer_run(run: &answering::AnswerRun, lang: UiLang) {
    let (plan, sent) = (&run.planned, &run.sent);
    if plan.decided + sent.sent + sent.retried + sent.failed + sent.uncertain == 0 {
        return;
    }
    println!(
        "{}",
        t!(
            lang,
            "sync.answers",
            scheduled = plan.scheduled,
            shadow = plan.shadow,
            handed_over = plan.handed_over,
            sent = sent.sent,
            refused = sent.retried + sent.failed,
            uncertain = sent.uncertain
        )
    );
}

/// The decision beside a message in `tickets show`.
pub fn describe_decision(json: &serde_json::Value, lang: UiLang) -> Option<String> {
    let decision = RecordedDecision::deserialize(json).ok()?;
    let why = match lang {
        UiLang::Fr => decision.explanation_fr,
        UiLang::En => decision.explanation_en,
    };
    Some(if decision.shadow {
        t!(lang, "tickets.shadow_decision", why = why)
    } else {
        why
    })
}
