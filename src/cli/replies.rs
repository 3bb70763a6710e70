//! Automatic answers from the command line: a shop's answer settings (`shop set`), the outbox
//! (`replies`), templates, orders, and `replay`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};

use guichet::desk::templates::{TemplateInput, TemplateView};
use guichet::desk::{Desk, input};
use guichet::model::{ReplyState, UiLang};
use guichet::replies::templates::WhenComplete;
use guichet::store::ReplyView;
use guichet::t;
use guichet::views::{self, state_label};

use super::{Say, chosen, exit_code, named, print_json, print_list, read_input, say};

#[derive(Debug, Subcommand)]
pub enum RepliesCommand {
    /// Automatic answers: scheduled, sent, failed, uncertain, cancelled, shadow.
    List {
        #[arg(long)]
        shop: Option<String>,
        #[arg(long, value_enum)]
        state: Option<ReplyState>,
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

pub async fn replies_command(desk: &Desk, command: RepliesCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    match command {
        RepliesCommand::List { shop, state, json } => {
            let shop = named(desk, shop.as_deref()).await?;
            let replies = desk.replies(shop.as_ref(), state).await.say(lang)?;
            let line = |r: &ReplyView| reply_line(r, lang);
            print_list::<_, views::ReplyJson>(
                &replies,
                json,
                line,
                Some(t!(lang, "replies.none")),
            )?;
        }
        RepliesCommand::Show { id, json } => {
            let reply = desk.reply_by_id(id).await.say(lang)?;
            if json {
                return print_json(&views::ReplyJson::from(&reply)).map(|_| ExitCode::SUCCESS);
            }
            println!("{}", reply_line(&reply, lang));
            if let Some(error) = &reply.error {
                println!("  {}", t!(lang, "replies.reason", reason = error));
            }
            let subject = t!(lang, "replies.subject", subject = reply.subject);
            println!("{subject}\n\n{}", reply.body);
        }
        RepliesCommand::Cancel { id } => {
            desk.cancel_reply(id).await.say(lang)?;
            say(t!(lang, "replies.updated", id = id));
        }
        RepliesCommand::SendNow { id } => {
            let (reply, sent) = desk.send_reply_now(id).await.say(lang)?;
            let state = state_label(reply.state, lang);
            say(t!(
                lang,
                "replies.sent_now",
                id = id,
                state = state,
                sent = sent.sent
            ));
            return Ok(exit_code(reply.state == ReplyState::Sent));
        }
        RepliesCommand::Edit { id, file } => {
            let body = read_input(&file, lang)?;
            desk.edit_reply(id, &body).await.say(lang)?;
            say(t!(lang, "replies.updated", id = id));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One answer in a line: id, ticket, state, when (sent or due), to whom, what, subject.
pub fn reply_line(reply: &ReplyView, lang: UiLang) -> String {
    let when = match reply.state {
        ReplyState::Sent => reply.sent_at.map(views::rfc3339).unwrap_or_default(),
        _ => views::rfc3339(reply.due_at),
    };
    let ticket = reply.ticket.map_or_else(|| "-".into(), |n| n.to_string());
    let kind = reply.kind.to_string();
    let what = reply.intent.as_deref().unwrap_or(&kind);
    let state = state_label(reply.state, lang);
    format!(
        "{:>5} [{ticket}] {state:<24} {when} → {} · {what} · {}",
        reply.id, reply.to, reply.subject
    )
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

pub async fn templates_command(desk: &Desk, command: TemplatesCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    match command {
        TemplatesCommand::List { shop, json } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            let templates = desk.templates(&shop).await.say(lang)?;
            let line = |view: &TemplateView| {
                let origin = match view.edited {
                    true => t!(lang, "templates.edited"),
                    false => t!(lang, "templates.shipped"),
                };
                let needs = match view.needs.is_empty() {
                    true => "-".to_string(),
                    false => view.needs.join(", "),
                };
                let asks_for = t!(lang, "templates.asks_for", needs = needs);
                format!("{:<24} {} {origin:<10} {asks_for}", view.intent, view.lang)
            };
            print_list::<_, &TemplateView>(&templates, json, line, None)?;
        }
        TemplatesCommand::Show {
            intent,
            language,
            shop,
        } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            print!(
                "{}",
                desk.template(&shop, &intent, language).await.say(lang)?
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
            let shop = chosen(desk, shop.as_deref()).await?;
            let when_complete = match when_complete.as_str() {
                "answer" => WhenComplete::Answer,
                _ => WhenComplete::HandOver,
            };
            let input = TemplateInput {
                intent: intent.clone(),
                lang: language,
                body,
                needs,
                when_complete,
            };
            desk.save_template(&shop, input).await.say(lang)?;
            say(t!(
                lang,
                "templates.saved",
                intent = intent,
                lang = language.code()
            ));
        }
        TemplatesCommand::Reset {
            intent,
            language,
            shop,
        } => {
            let shop = chosen(desk, shop.as_deref()).await?;
            match desk
                .reset_template(&shop, &intent, language)
                .await
                .say(lang)?
            {
                true => say(t!(lang, "templates.restored")),
                false => say(t!(lang, "templates.not_edited")),
            }
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

pub async fn orders_command(desk: &Desk, command: OrdersCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    let OrdersCommand::Import { file, shop } = command;
    let content = input::read_bytes(&file).say(lang)?;
    let shop = chosen(desk, shop.as_deref()).await?;
    let report = desk
        .import_orders(&shop, &content)
        .await
        .map_err(|e| anyhow!("{}: {}", file.display(), e.localized(lang)))?;
    say(t!(lang, "orders.imported", count = report.imported));
    for row in &report.rejected {
        eprintln!("{}: {}", file.display(), row.explain(lang));
    }
    if report.rejected.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let skipped = report.rejected.len();
    eprintln!("{}", t!(lang, "orders.rows_skipped", count = skipped));
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
pub async fn replay(desk: &Desk, args: ReplayArgs) -> Result<ExitCode> {
    let lang = desk.lang;
    let html = args.html.unwrap_or_else(|| PathBuf::from("replay.html"));
    let report = desk
        .replay_to(args.shop.as_deref(), &args.since, &html)
        .await
        .say(lang)?;
    if args.json {
        print_json(&report)?;
    } else {
        let (messages, would_send, path) = (report.messages, report.would_send, html.display());
        say(t!(
            lang,
            "replay.done",
            messages = messages,
            since = args.since,
            would_send = would_send,
            path = path
        ));
        let answered = t!(lang, "replay.col_answered");
        let (asked, team) = (t!(lang, "replay.col_asked"), t!(lang, "replay.col_team"));
        for (intent, c) in &report.by_intent {
            let (n, a, q, h) = (c.messages, c.answered, c.asked, c.handed_over);
            println!("  {intent:<24} {n:>5} · {answered} {a:>4} · {asked} {q:>4} · {team} {h:>4}");
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
