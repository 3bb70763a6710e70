//! Automatic answers from the command line: a shop's answer settings (`shop set`), the outbox
//! (`replies`), templates, orders, and `replay`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use guichet::answering::{self, RecordedDecision, ShopAnswering};
use guichet::model::UiLang;
use guichet::replies::templates::{Need, ReplyTemplate, WhenComplete, check_template};
use guichet::replies::{self, Decision, QuotaState};
use guichet::store::{
    OrderItem, OrderRow, ReplyAction, ReplyView, Shop, StoreError, StoredTemplate,
};

use super::{App, chosen_shop, print_json, read_input, tr};

/// `shop set` options for automatic answers and branding.
#[derive(Debug, Args, Default)]
pub struct AnswerSettingsArgs {
    /// on: answer; shadow: decide and draft without sending; off: never answer.
    #[arg(long, value_parser = ["on", "shadow", "off"])]
    auto_answers: Option<String>,
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
    #[arg(long, value_parser = ["basic", "plus", "custom", "trial"])]
    plan: Option<String>,
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
    pub fn is_empty(&self) -> bool {
        self.auto_answers.is_none()
            && self.reply_delay.is_none()
            && self.reply_spread.is_none()
            && self.business_hours.is_none()
            && self.time_zone.is_none()
            && self.plan.is_none()
            && self.quota.is_none()
            && self.threshold.is_none()
            && self.intent_thresholds.is_empty()
            && self.display_name.is_none()
            && self.signature.is_none()
            && self.logo_url.is_none()
            && self.brand_color.is_none()
            && self.footer.is_none()
    }
}

/// Applies `shop set` answer options, each checked before anything is saved.
pub async fn apply_answer_settings(app: &App, shop: &Shop, args: AnswerSettingsArgs) -> Result<()> {
    let lang = app.lang;
    let mut settings = app.store.reply_settings(shop.id).await?;
    if let Some(mode) = args.auto_answers {
        settings.auto_answers = mode;
    }
    let duration = |text: &str, flag: &str| {
        replies::parse_duration(text).map_err(|e| anyhow!("{flag}: {}", e.explain(lang)))
    };
    if let Some(delay) = &args.reply_delay {
        settings.reply_delay_ms = duration(delay, "--reply-delay")?;
    }
    if let Some(spread) = &args.reply_spread {
        settings.reply_spread_ms = duration(spread, "--reply-spread")?;
    }
    if let Some(hours) = &args.business_hours {
        settings.business_hours = if hours == "none" {
            None
        } else {
            let parsed = replies::BusinessHours::parse(hours)
                .map_err(|e| anyhow!("--business-hours: {}", e.explain(lang)))?;
            Some(parsed.to_string())
        };
    }
    if let Some(zone) = args.time_zone {
        if jiff::tz::TimeZone::get(&zone).is_err() {
            bail!(tr(
                lang,
                format!("--time-zone : fuseau inconnu « {zone} » (ex. Europe/Paris)"),
                format!("--time-zone: unknown zone \"{zone}\" (e.g. Europe/Paris)")
            ));
        }
        settings.time_zone = zone;
    }
    if let Some(plan) = args.plan {
        if plan == "trial" && settings.plan != "trial" {
            bail!(lang.pick(
                "l'essai de 14 jours ne se choisit pas : il commence à la création de la boutique",
                "the 14-day trial cannot be chosen: it starts when the shop is created"
            ));
        }
        settings.plan = plan;
    }
    if let Some(quota) = args.quota {
        if settings.plan != "custom" {
            bail!(lang.pick(
                "--quota ne s'applique qu'à l'abonnement custom (--plan custom --quota N)",
                "--quota only applies to the custom plan (--plan custom --quota N)"
            ));
        }
        settings.plan_quota = (quota > 0).then_some(quota as i64);
    }
    let check_threshold = |value: f64, flag: &str| {
        if (0.0..=1.0).contains(&value) {
            Ok(value)
        } else {
            Err(anyhow!(tr(
                lang,
                format!("{flag} : un nombre entre 0 et 1 (ex. 0.9)"),
                format!("{flag}: a number between 0 and 1 (e.g. 0.9)")
            )))
        }
    };
    if let Some(threshold) = args.threshold {
        settings.threshold = check_threshold(threshold, "--threshold")?;
    }
    for entry in &args.intent_thresholds {
        let (intent, value) = entry.split_once('=').ok_or_else(|| {
            anyhow!(lang.pick(
                "--intent-threshold attend INTENTION=SEUIL, ex. refund=0.95",
                "--intent-threshold expects INTENT=THRESHOLD, e.g. refund=0.95"
            ))
        })?;
        let value: f64 = value
            .parse()
            .map_err(|_| anyhow!("--intent-threshold {entry}"))?;
        if guichet::triage::builtin_intent(intent).is_none() {
            bail!(tr(
                lang,
                format!("intention inconnue : {intent} (guichet intents list)"),
                format!("unknown intent: {intent} (guichet intents list)")
            ));
        }
        settings.intent_thresholds.insert(
            intent.to_string(),
            check_threshold(value, "--intent-threshold")?,
        );
    }
    if let Some(name) = args.display_name {
        settings.display_name = Some(name).filter(|n| !n.is_empty());
    }
    if let Some(signature) = args.signature {
        settings.signature = signature.replace("\\n", "\n");
    }
    if let Some(url) = args.logo_url {
        if !url.is_empty() && !url.starts_with("https://") {
            bail!(lang.pick(
                "--logo-url : une adresse https://",
                "--logo-url: an https:// address"
            ));
        }
        settings.logo_url = Some(url).filter(|u| !u.is_empty());
    }
    if let Some(colour) = args.brand_color {
        let valid = colour.len() == 7
            && colour.starts_with('#')
            && colour[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            bail!(lang.pick(
                "--brand-color : une couleur #rrggbb, ex. #1d4ed8",
                "--brand-color: a #rrggbb colour, e.g. #1d4ed8"
            ));
        }
        settings.brand_color = Some(colour);
    }
    if let Some(footer) = args.footer {
        settings.footer = footer.replace("\\n", "\n");
    }
    app.store.save_reply_settings(shop.id, &settings).await?;
    Ok(())
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
    let not_found = |e: StoreError, id: i64| match e {
        StoreError::NotFound(_) => anyhow!(tr(
            lang,
            format!("pas de réponse {id} (guichet replies list)"),
            format!("no reply {id} (guichet replies list)")
        )),
        other => other.into(),
    };
    match command {
        RepliesCommand::List { shop, state, json } => {
            let shop_id = match shop {
                Some(name) => Some(chosen_shop(app, Some(&name)).await?.id),
                None => None,
            };
            let replies = app.store.replies(shop_id, None, state.as_deref()).await?;
            if json {
                print_json(&replies)?;
            } else {
                for reply in &replies {
                    print_reply_line(reply, lang);
                }
                if replies.is_empty() {
                    println!("{}", lang.pick("Aucune réponse.", "No replies."));
                }
            }
        }
        RepliesCommand::Show { id, json } => {
            let reply = app.store.reply(id).await.map_err(|e| not_found(e, id))?;
            if json {
                print_json(&reply)?;
            } else {
                print_reply_line(&reply, lang);
                if let Some(error) = &reply.error {
                    println!("  {}: {error}", lang.pick("raison", "reason"));
                }
                println!(
                    "{}: {}\n\n{}",
                    lang.pick("Objet", "Subject"),
                    reply.subject,
                    reply.body
                );
            }
        }
        RepliesCommand::Cancel { id } => act(app, id, ReplyAction::Cancel, not_found).await?,
        RepliesCommand::SendNow { id } => {
            act(app, id, ReplyAction::SendNow, not_found).await?;
            let sent = answering::send::send_due(&app.store, &app.key, lang).await?;
            let reply = app.store.reply(id).await?;
            println!(
                "{} {id}: {} ({} {})",
                lang.pick("Réponse", "Reply"),
                state_label(&reply.state, lang),
                sent.sent,
                lang.pick("envoyée(s) à l'instant", "sent just now")
            );
            if reply.state != "sent" {
                return Ok(ExitCode::FAILURE);
            }
        }
        RepliesCommand::Edit { id, file } => {
            let body = read_input(&file, lang)?;
            if body.trim().is_empty() {
                bail!(lang.pick(
                    "texte vide : rien n'est changé",
                    "empty text: nothing changed"
                ));
            }
            act(app, id, ReplyAction::Edit(&body), not_found).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn act(
    app: &App,
    id: i64,
    action: ReplyAction<'_>,
    not_found: impl Fn(StoreError, i64) -> anyhow::Error,
) -> Result<()> {
    let lang = app.lang;
    let reply = app.store.reply(id).await.map_err(|e| not_found(e, id))?;
    if !app.store.act_on_reply(id, action).await? {
        bail!(tr(
            lang,
            format!(
                "la réponse {id} est {} : impossible maintenant",
                state_label(&reply.state, lang)
            ),
            format!(
                "reply {id} is {}: not possible now",
                state_label(&reply.state, lang)
            )
        ));
    }
    if !matches!(action, ReplyAction::SendNow) {
        println!(
            "{} {id}",
            lang.pick("Réponse mise à jour :", "Reply updated:")
        );
    }
    Ok(())
}

pub fn state_label(state: &str, lang: UiLang) -> &str {
    match state {
        "scheduled" => lang.pick("programmée", "scheduled"),
        "sending" => lang.pick("en cours d'envoi", "sending"),
        "sent" => lang.pick("envoyée", "sent"),
        "failed" => lang.pick("échec", "failed"),
        "cancelled" => lang.pick("annulée", "cancelled"),
        "uncertain" => lang.pick(
            "incertaine (peut-être reçue)",
            "uncertain (may have arrived)",
        ),
        "shadow" => lang.pick("simulée (mode observation)", "shadow (not sent)"),
        other => other,
    }
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
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
        language: Lang,
        #[arg(long)]
        shop: Option<String>,
    },
    /// Replace a template by the minijinja source in FILE ("-": stdin); it is checked first.
    Set {
        intent: String,
        /// fr or en.
        #[arg(value_enum, value_name = "LANG")]
        language: Lang,
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
        language: Lang,
        #[arg(long)]
        shop: Option<String>,
    },
}

#[derive(Debug, Serialize)]
struct TemplateView {
    intent: String,
    lang: String,
    needs: Vec<&'static str>,
    when_complete: WhenComplete,
    edited: bool,
    body: String,
}

pub async fn templates_command(app: &App, command: TemplatesCommand) -> Result<ExitCode> {
    let lang = app.lang;
    match command {
        TemplatesCommand::List { shop, json } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            let answering = ShopAnswering::load(&app.store, shop.id, lang).await?;
            let edited = app.store.shop_templates(shop.id).await?;
            let views: Vec<TemplateView> = answering
                .templates
                .iter()
                .map(|t| TemplateView {
                    intent: t.intent.clone(),
                    lang: t.lang.clone(),
                    needs: t.needs.iter().map(|n| n.id()).collect(),
                    when_complete: t.when_complete,
                    edited: edited
                        .iter()
                        .any(|e| e.intent == t.intent && e.lang == t.lang),
                    body: t.body.clone(),
                })
                .collect();
            if json {
                print_json(&views)?;
            } else {
                for view in views {
                    println!(
                        "{:<24} {} {:<10} {}: {}",
                        view.intent,
                        view.lang,
                        if view.edited {
                            lang.pick("modifié", "edited")
                        } else {
                            lang.pick("d'origine", "shipped")
                        },
                        lang.pick("demande", "asks for"),
                        if view.needs.is_empty() {
                            "-".to_string()
                        } else {
                            view.needs.join(", ")
                        }
                    );
                }
            }
        }
        TemplatesCommand::Show {
            intent,
            language: template_lang,
            shop,
        } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            let answering = ShopAnswering::load(&app.store, shop.id, lang).await?;
            let template = replies::templates::find_template(
                &answering.templates,
                &intent,
                template_lang.code(),
            )
            .ok_or_else(|| {
                anyhow!(tr(
                    lang,
                    format!(
                        "pas de modèle {intent} en {} (guichet templates list)",
                        template_lang.code()
                    ),
                    format!(
                        "no {intent} template in {} (guichet templates list)",
                        template_lang.code()
                    )
                ))
            })?;
            print!("{}", template.body);
        }
        TemplatesCommand::Set {
            intent,
            language: template_lang,
            file,
            needs,
            when_complete,
            shop,
        } => {
            if guichet::triage::builtin_intent(&intent).is_none() {
                bail!(tr(
                    lang,
                    format!("intention inconnue : {intent} (guichet intents list)"),
                    format!("unknown intent: {intent} (guichet intents list)")
                ));
            }
            let body = read_input(&file, lang)?;
            let parsed_needs = needs
                .iter()
                .map(|n| {
                    Need::from_id(n).ok_or_else(|| {
                        anyhow!(tr(
                            lang,
                            format!("--need {n} : order_ref, photo, new_address ou product_name"),
                            format!("--need {n}: order_ref, photo, new_address or product_name")
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let template = ReplyTemplate {
                intent: intent.clone(),
                lang: template_lang.code().into(),
                needs: parsed_needs,
                when_complete: if when_complete == "answer" {
                    WhenComplete::Answer
                } else {
                    WhenComplete::HandOver
                },
                needs_order_data: false,
                body: body.clone(),
            };
            check_template(&template).map_err(|e| {
                anyhow!(tr(
                    lang,
                    format!("modèle refusé, rien n'est enregistré : {}", e.explain(lang)),
                    format!("template refused, nothing saved: {}", e.explain(lang))
                ))
            })?;
            let shop = chosen_shop(app, shop.as_deref()).await?;
            app.store
                .save_template(
                    shop.id,
                    &StoredTemplate {
                        intent: intent.clone(),
                        lang: template_lang.code().into(),
                        body,
                        needs,
                        when_complete,
                    },
                )
                .await?;
            println!(
                "{} {intent} ({})",
                lang.pick("Modèle enregistré :", "Template saved:"),
                template_lang.code()
            );
        }
        TemplatesCommand::Reset {
            intent,
            language: template_lang,
            shop,
        } => {
            let shop = chosen_shop(app, shop.as_deref()).await?;
            let reset = app
                .store
                .reset_template(shop.id, &intent, template_lang.code())
                .await?;
            println!(
                "{}",
                if reset {
                    lang.pick("Modèle d'origine rétabli.", "Shipped template restored.")
                } else {
                    lang.pick(
                        "Ce modèle n'était pas modifié.",
                        "That template was not edited.",
                    )
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Import orders from a CSV file with the header
    /// reference,customer_email,status,ordered_at,items,carrier,tracking_number
    /// (items: "2 x Mug; 1 x Teapot"; ordered_at: RFC 3339 or YYYY-MM-DD).
    Import {
        file: PathBuf,
        #[arg(long)]
        shop: Option<String>,
    },
}

pub async fn orders_command(app: &App, command: OrdersCommand) -> Result<ExitCode> {
    let lang = app.lang;
    let OrdersCommand::Import { file, shop } = command;
    let content = std::fs::read_to_string(&file).with_context(|| {
        tr(
            lang,
            format!("impossible de lire {}", file.display()),
            format!("cannot read {}", file.display()),
        )
    })?;
    let orders = parse_orders_csv(&content).map_err(|(line, what)| {
        anyhow!(tr(
            lang,
            format!("{} ligne {line} : {what}", file.display()),
            format!("{} line {line}: {what}", file.display())
        ))
    })?;
    let shop = chosen_shop(app, shop.as_deref()).await?;
    let count = app.store.import_orders(shop.id, &orders).await?;
    println!(
        "{} {count}",
        lang.pick("Commandes importées :", "Orders imported:")
    );
    Ok(ExitCode::SUCCESS)
}

/// Parses the orders CSV; an error names the line and the field.
fn parse_orders_csv(content: &str) -> Result<Vec<OrderRow>, (usize, String)> {
    const HEADER: [&str; 7] = [
        "reference",
        "customer_email",
        "status",
        "ordered_at",
        "items",
        "carrier",
        "tracking_number",
    ];
    let mut lines = content
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    if columns != HEADER {
        return Err((1, format!("header must be {}", HEADER.join(","))));
    }
    lines
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != HEADER.len() {
                return Err((
                    index + 1,
                    format!("{} fields expected, {} found", HEADER.len(), fields.len()),
                ));
            }
            let ordered_at = match fields[3] {
                "" => None,
                text => Some(parse_date(text).ok_or((index + 1, format!("bad date {text}")))?),
            };
            let items = fields[4]
                .split(';')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .map(|item| match item.split_once(" x ") {
                    Some((quantity, name)) => OrderItem {
                        name: name.trim().to_string(),
                        quantity: quantity.trim().parse().unwrap_or(1),
                    },
                    None => OrderItem {
                        name: item.to_string(),
                        quantity: 1,
                    },
                })
                .collect();
            let optional = |text: &str| Some(text.to_string()).filter(|t| !t.is_empty());
            Ok(OrderRow {
                reference: fields[0].to_string(),
                customer_email: fields[1].to_lowercase(),
                status: fields[2].to_string(),
                ordered_at,
                items,
                carrier: optional(fields[5]),
                tracking_number: optional(fields[6]),
            })
        })
        .collect()
}

fn parse_date(text: &str) -> Option<i64> {
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    let date: jiff::civil::Date = text.parse().ok()?;
    Some(
        date.to_zoned(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_millisecond(),
    )
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

/// One replayed message.
#[derive(Debug, Serialize)]
struct ReplayItem {
    ticket: i64,
    message_id: i64,
    from: String,
    subject: String,
    date: String,
    intent: String,
    confidence: f32,
    #[serde(flatten)]
    decision: RecordedDecision,
    /// The drafted email, when one would be sent.
    draft: Option<ReplayDraft>,
}

#[derive(Debug, Serialize)]
struct ReplayDraft {
    subject: String,
    body: String,
    due_at: String,
}

#[derive(Debug, Serialize, Default)]
struct IntentCounts {
    messages: usize,
    answered: usize,
    asked: usize,
    handed_over: usize,
}

#[derive(Debug, Serialize)]
struct ReplayReport {
    shop: String,
    since: String,
    messages: usize,
    would_send: usize,
    by_intent: std::collections::BTreeMap<String, IntentCounts>,
    items: Vec<ReplayItem>,
}

/// Runs the decision on past mail without sending anything nor writing to the database.
pub async fn replay(app: &App, args: ReplayArgs) -> Result<ExitCode> {
    let lang = app.lang;
    let since = parse_date(&args.since).ok_or_else(|| {
        anyhow!(tr(
            lang,
            format!("--since : date invalide « {} » (AAAA-MM-JJ)", args.since),
            format!("--since: invalid date \"{}\" (YYYY-MM-DD)", args.since)
        ))
    })?;
    let shop = chosen_shop(app, args.shop.as_deref()).await?;
    let answering = ShopAnswering::load(&app.store, shop.id, lang).await?;
    let messages = app.store.messages_since(shop.id, since).await?;
    let mut items = Vec::with_capacity(messages.len());
    let mut by_intent: std::collections::BTreeMap<String, IntentCounts> = Default::default();
    // Each ticket's answers within the replay, for the 24-hour rule.
    let mut last_answer: std::collections::HashMap<i64, i64> = Default::default();
    // Each address's answers within the replay, for the per-sender cap across tickets.
    let mut answers_to: std::collections::HashMap<String, Vec<i64>> = Default::default();
    for message in &messages {
        let moment = message.date_ms.unwrap_or(message.received_at);
        let order = match &message.triage {
            Some(triage) => {
                app.store
                    .order_for(shop.id, &message.from_email, &triage.facts.order_refs)
                    .await?
            }
            None => None,
        };
        let sender = message.from_email.trim().to_lowercase();
        let earlier = answering::plan::EarlierAnswers {
            on_ticket_ms: last_answer.get(&message.ticket_id).copied(),
            to_sender: answers_to.get(&sender).map_or(0, |times| {
                times
                    .iter()
                    .filter(|&&at| at > moment - replies::safety::SENDER_WINDOW_MS)
                    .count() as u32
            }),
        };
        let draft = answering::plan::draft_for(
            &answering,
            message,
            order.as_ref(),
            QuotaState::Available { left: None },
            earlier,
            moment,
            true,
        );
        let intent = message
            .triage
            .as_ref()
            .map(|t| t.intent.clone())
            .unwrap_or_else(|| "other".into());
        let counts = by_intent.entry(intent.clone()).or_default();
        counts.messages += 1;
        match &draft.decision.decision {
            Decision::Answer { .. } => counts.answered += 1,
            Decision::AskForMissing { .. } => counts.asked += 1,
            Decision::HandOver { .. } => counts.handed_over += 1,
        }
        if let Some(reply) = &draft.reply {
            last_answer.insert(message.ticket_id, reply.due_at);
            answers_to.entry(sender).or_default().push(reply.due_at);
        }
        items.push(ReplayItem {
            ticket: message.ticket_number,
            message_id: message.id,
            from: message.from_email.clone(),
            subject: message.subject.clone(),
            date: guichet::store::rfc3339(moment),
            intent,
            confidence: message.triage.as_ref().map_or(0.0, |t| t.confidence),
            draft: draft.reply.as_ref().map(|r| ReplayDraft {
                subject: r.subject.clone(),
                body: r.body_text.clone(),
                due_at: guichet::store::rfc3339(r.due_at),
            }),
            decision: draft.decision,
        });
    }
    let report = ReplayReport {
        shop: shop.name.clone(),
        since: guichet::store::rfc3339(since),
        messages: items.len(),
        would_send: items.iter().filter(|i| i.draft.is_some()).count(),
        by_intent,
        items,
    };
    let html_path = args.html.unwrap_or_else(|| PathBuf::from("replay.html"));
    std::fs::write(&html_path, replay_html(&report, &answering, lang)).with_context(|| {
        tr(
            lang,
            format!("impossible d'écrire {}", html_path.display()),
            format!("cannot write {}", html_path.display()),
        )
    })?;
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "{}",
            tr(
                lang,
                format!(
                    "{} messages depuis le {} : {} réponses automatiques auraient été envoyées. Rapport : {}",
                    report.messages,
                    args.since,
                    report.would_send,
                    html_path.display()
                ),
                format!(
                    "{} messages since {}: {} automatic answers would have been sent. Report: {}",
                    report.messages,
                    args.since,
                    report.would_send,
                    html_path.display()
                )
            )
        );
        for (intent, counts) in &report.by_intent {
            println!(
                "  {intent:<24} {:>5} · {} {:>4} · {} {:>4} · {} {:>4}",
                counts.messages,
                lang.pick("réponses", "answered"),
                counts.answered,
                lang.pick("demandes", "asked"),
                counts.asked,
                lang.pick("équipe", "to team"),
                counts.handed_over
            );
        }
    }
    if let Some(quota) = answering.plan.monthly_quota()
        && report.would_send > quota as usize
    {
        eprintln!(
            "{}",
            tr(
                lang,
                format!(
                    "attention : c'est plus que les {quota} réponses par mois de l'abonnement {}",
                    answering.plan.name()
                ),
                format!(
                    "note: that is more than the {quota} answers a month of the {} plan",
                    answering.plan.name()
                )
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn replay_html(report: &ReplayReport, shop: &ShopAnswering, lang: UiLang) -> String {
    use guichet::replies::html::escape_html as e;
    let mut html = format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2937}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #d1d5db;padding:.3rem .6rem;text-align:right}}\
         th:first-child,td:first-child{{text-align:left}}article{{border:1px solid #e5e7eb;border-radius:.5rem;padding:1rem;margin:1rem 0}}\
         pre{{white-space:pre-wrap;background:#f9fafb;padding:.8rem;border-radius:.4rem}}.why{{color:#6b7280}}</style></head><body>\
         <h1>{title}</h1><p>{summary}</p><table><tr><th>{intent}</th><th>{messages}</th><th>{answered}</th><th>{asked}</th><th>{team}</th></tr>",
        code = replies::templates::lang_code(lang),
        title = e(&tr(
            lang,
            format!("Rejeu des réponses automatiques — {}", shop.shop_name),
            format!("Automatic answers replay — {}", shop.shop_name)
        )),
        summary = e(&tr(
            lang,
            format!(
                "{} messages depuis le {} ; {} réponses auraient été envoyées. Rien n'a été envoyé.",
                report.messages, report.since, report.would_send
            ),
            format!(
                "{} messages since {}; {} answers would have been sent. Nothing was sent.",
                report.messages, report.since, report.would_send
            )
        )),
        intent = lang.pick("Intention", "Intent"),
        messages = lang.pick("Messages", "Messages"),
        answered = lang.pick("Réponses", "Answered"),
        asked = lang.pick("Demandes d'infos", "Asked for info"),
        team = lang.pick("Pour l'équipe", "To the team"),
    );
    for (intent, counts) in &report.by_intent {
        let label = guichet::triage::builtin_label(intent, lang).unwrap_or(intent);
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(label),
            counts.messages,
            counts.answered,
            counts.asked,
            counts.handed_over
        ));
    }
    html.push_str("</table>");
    for item in &report.items {
        let why = match lang {
            UiLang::Fr => &item.decision.explanation_fr,
            UiLang::En => &item.decision.explanation_en,
        };
        html.push_str(&format!(
            "<article><h3>[{}] {}</h3><p>{} · {} · {} ({:.0} %)</p><p class=\"why\">{}</p>",
            item.ticket,
            e(&item.subject),
            e(&item.from),
            e(&item.date),
            e(guichet::triage::builtin_label(&item.intent, lang).unwrap_or(&item.intent)),
            item.confidence * 100.0,
            e(why)
        ));
        if let Some(draft) = &item.draft {
            html.push_str(&format!(
                "<p><strong>{}</strong> — {} {}</p><pre>{}</pre>",
                e(&draft.subject),
                lang.pick("partirait le", "would go out"),
                e(&draft.due_at),
                e(&draft.body)
            ));
        }
        html.push_str("</article>");
    }
    html.push_str("</body></html>");
    html
}

/// What `sync --once` did about automatic answers, when it did anything.
pub fn print_answer_run(run: &answering::AnswerRun, lang: UiLang) {
    let (plan, sent) = (&run.planned, &run.sent);
    if plan.decided + sent.sent + sent.retried + sent.failed + sent.uncertain == 0 {
        return;
    }
    println!(
        "{}: {} {}, {} {}, {} {}, {} {}, {} {}, {} {}",
        lang.pick("Réponses automatiques", "Automatic answers"),
        plan.scheduled,
        lang.pick("programmées", "scheduled"),
        plan.shadow,
        lang.pick("simulées", "shadow"),
        plan.handed_over,
        lang.pick("laissées à l'équipe", "left to the team"),
        sent.sent,
        lang.pick("envoyées", "sent"),
        sent.retried + sent.failed,
        lang.pick("refusées par le serveur", "refused by the server"),
        sent.uncertain,
        lang.pick("incertaines", "uncertain"),
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
        tr(
            lang,
            format!("(observation) {why}"),
            format!("(shadow) {why}"),
        )
    } else {
        why
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_csv_is_read_and_errors_name_the_line() {
        let csv = "reference,customer_email,status,ordered_at,items,carrier,tracking_number\n\
                   1042,Marie@Client.example,shipped,2026-11-20,2 x Mug; 1 x Teapot,Colissimo,6A12345678901\n";
        let orders = parse_orders_csv(csv).unwrap();
        assert_eq!(orders[0].customer_email, "marie@client.example");
        assert_eq!(
            orders[0].items[0],
            OrderItem {
                name: "Mug".into(),
                quantity: 2
            }
        );
        assert!(orders[0].ordered_at.is_some());
        let bad = "reference,customer_email,status,ordered_at,items,carrier,tracking_number\n1,a@b,shipped,yesterday,,,\n";
        assert_eq!(parse_orders_csv(bad).unwrap_err().0, 2);
        assert!(parse_orders_csv("ref,email\n").is_err());
    }
}
