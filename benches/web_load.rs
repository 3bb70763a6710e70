//! Back-office speed: a shop of 100,000 tickets and 1,000,000 messages, then the ticket list,
//! a ticket page and a search under Debian's `wrk` on loopback, each printed as p50/p99, and
//! the server's memory afterwards. The server is the real one (`guichet::web`), in this
//! process, with a signed-in session; the data goes in through the store's seeding function.
//!
//! `cargo bench --bench web_load` runs SQLite, then PostgreSQL (a database of its own, dropped
//! afterwards; `GUICHET_BENCH_PG=0` skips it, `GUICHET_TEST_PG` is the admin URL).
//! `GUICHET_BENCH_TICKETS` changes the size (10 messages per ticket on average),
//! `GUICHET_BENCH_SECONDS` the length of each load run. `GUICHET_BENCH_KEEP=1` keeps the
//! databases (the SQLite one's folder is printed); `GUICHET_BENCH_PG_DATABASE=NAME` measures a
//! PostgreSQL database kept that way instead of loading a new one.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use guichet::config::{Config, Overrides};
use guichet::desk::Desk;
use guichet::model::{ReplyState, Status, UiLang};
use guichet::store::{
    IncomingAttachment, ListRequest, SeedMessage, SeedReply, SeedTicket, Store, TicketSort, now_ms,
};

const HOUR: i64 = 3600 * 1000;

/// A small deterministic generator (xorshift), so every run loads the same shop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Camille", "Léa", "Zoé", "Hugo", "Louis", "Chloé", "Inès", "Jules", "Manon", "Théo", "Emma",
    "Lucas", "Sarah", "Nathan", "Élise", "Gabriel", "Anaïs", "Raphaël", "Juliette", "Noé",
];
const LAST: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "García", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet",
];
const SUBJECTS: &[&str] = &[
    "Où est ma commande ?",
    "Colis non reçu",
    "Demande de remboursement",
    "Produit abîmé à la livraison",
    "Changer mon adresse de livraison",
    "Facture introuvable",
    "Question sur un article",
    "Retour d'un article",
    "Erreur dans ma commande",
    "Code promo refusé",
];
/// Common words: most messages are made of them.
const WORDS: &[&str] = &[
    "bonjour",
    "commande",
    "colis",
    "livraison",
    "merci",
    "reçu",
    "toujours",
    "pas",
    "depuis",
    "semaine",
    "numéro",
    "suivi",
    "transporteur",
    "adresse",
    "article",
    "taille",
    "couleur",
    "retour",
    "échange",
    "remboursement",
    "facture",
    "paiement",
    "carte",
    "délai",
    "date",
    "possible",
    "rapidement",
    "réponse",
    "cordialement",
    "vous",
    "pouvez",
    "savoir",
    "quand",
    "arrivera",
    "indiqué",
    "site",
    "produit",
    "qualité",
    "problème",
    "message",
    "aide",
    "svp",
];
/// Rarer words, each in about one message in a hundred: what an employee searches for.
const RARE: &[&str] = &[
    "théière",
    "parapluie",
    "lampe",
    "trottinette",
    "aquarelle",
    "boussole",
    "tabouret",
    "édredon",
    "harmonica",
    "sablier",
];

fn text(rng: &mut Rng, words: usize) -> String {
    let mut out = String::with_capacity(words * 8);
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        if rng.below(400) == 0 {
            out.push_str(rng.pick(RARE));
        } else {
            out.push_str(rng.pick(WORDS));
        }
    }
    out
}

/// The shop's tickets from `first` on: 1 to 19 messages each (10 on average), customers
/// answered or waiting, most tickets read, some with an attachment or an automatic answer.
fn tickets(
    rng: &mut Rng,
    first: usize,
    count: usize,
    contacts: &[i64],
    employees: &[i64],
    attachment: &IncomingAttachment,
    start: i64,
) -> Vec<SeedTicket> {
    (first..first + count)
        .map(|i| {
            let customer = (i * 7919) % 30_000;
            let name = format!(
                "{} {}",
                FIRST[customer % FIRST.len()],
                LAST[(customer / FIRST.len()) % LAST.len()]
            );
            let email = format!("client{customer}@exemple.test");
            let opened = start + (i as i64) * 5 * 60 * 1000;
            let n = 1 + rng.below(19) as usize;
            let mut at = opened;
            let messages: Vec<SeedMessage> = (0..n)
                .map(|k| {
                    let outgoing = k % 2 == 1;
                    at += 1 + rng.below(20) as i64 * HOUR / 4;
                    let words = 20 + rng.below(40) as usize;
                    SeedMessage {
                        outgoing,
                        from_email: if outgoing {
                            "sav@boutique.test".into()
                        } else {
                            email.clone()
                        },
                        subject: rng.pick(SUBJECTS).to_string(),
                        received_at: at,
                        text: text(rng, words),
                        attachment: (!outgoing && rng.below(12) == 0).then(|| attachment.clone()),
                    }
                })
                .collect();
            let last = messages.last().map_or(opened, |m| m.received_at);
            let status = match rng.below(20) {
                0..=5 => Status::Open,
                6..=7 => Status::Pending1,
                8 => Status::Pending2,
                _ => Status::Closed,
            };
            let auto_answer = match rng.below(10) {
                0..=2 => Some(SeedReply {
                    state: ReplyState::Sent,
                    due_at: opened + 3 * HOUR,
                    sent_at: Some(opened + 3 * HOUR),
                    text: "Bonjour, votre colis est en route.".into(),
                }),
                3 => Some(SeedReply {
                    state: ReplyState::Shadow,
                    due_at: opened + 3 * HOUR,
                    sent_at: None,
                    text: "Bonjour, votre colis est en route.".into(),
                }),
                _ => None,
            };
            SeedTicket {
                customer_email: email,
                customer_name: Some(name),
                subject: messages[0].subject.clone(),
                contact_id: Some(contacts[i % contacts.len()]),
                language: Some(if rng.below(5) == 0 { "en" } else { "fr" }.into()),
                intent: Some(
                    ["order_status", "refund", "return", "invoice", "other"][rng.below(5) as usize]
                        .into(),
                ),
                status,
                assignee_id: (rng.below(5) < 3)
                    .then(|| employees[rng.below(employees.len() as u64) as usize]),
                seen_at: (rng.below(10) < 9).then_some(last + 1),
                messages,
                auto_answer,
            }
        })
        .collect()
}

struct Loaded {
    desk: Desk,
    shop: guichet::store::Shop,
    /// The signed-in employee's address and password.
    email: String,
    password: String,
    messages: usize,
}

async fn load(url: &str, dir: &Path, ticket_count: usize) -> Loaded {
    let config = Config::load(
        None,
        |_| None,
        &Overrides {
            data_dir: Some(dir.to_path_buf()),
            database_url: Some(url.to_string()),
        },
    )
    .expect("config");
    let desk = Desk::open(config, UiLang::Fr).await.expect("desk");
    let store: &Store = &desk.store;
    let password = "un mot de passe assez long".to_string();
    if let Ok(shop) = store.shop_by_name("boutique").await {
        // A database kept by an earlier run (`GUICHET_BENCH_PG_DATABASE`): measured as it is.
        let messages = store
            .count_messages(shop.id)
            .await
            .expect("messages counted") as usize;
        println!("  reusing the loaded shop: {messages} messages");
        return Loaded {
            desk,
            shop,
            email: "alice@boutique.test".into(),
            password,
            messages,
        };
    }
    let shop = store.add_shop("boutique").await.unwrap();
    let mut contacts = Vec::new();
    for name in ["Service client", "Retours", "Grossistes"] {
        let contact = store
            .add_contact(
                shop.id,
                &guichet::store::NewContact {
                    name: name.into(),
                    email: format!("{}@boutique.test", name.len()),
                    description: String::new(),
                    customer_service: true,
                },
            )
            .await
            .unwrap();
        contacts.push(contact.id);
    }
    let mut employees = Vec::new();
    for (k, name) in ["Alice", "Bruno", "Chantal", "Driss", "Eva"]
        .iter()
        .enumerate()
    {
        let employee = desk
            .add_employee(
                &shop,
                guichet::desk::employees::EmployeeInput {
                    email: format!("{}@boutique.test", name.to_lowercase()),
                    name: Some(name.to_string()),
                    admin: k == 0,
                    lang: UiLang::Fr,
                    password: secrecy::SecretString::from(password.clone()),
                },
            )
            .await
            .expect("employee");
        employees.push(employee.id);
    }
    let blob = store
        .blobs()
        .put(b"%PDF-1.4 a small invoice")
        .await
        .unwrap();
    let attachment = IncomingAttachment {
        blob_hash: blob,
        filename: Some("facture.pdf".into()),
        content_type: "application/pdf".into(),
        content_id: None,
        inline: false,
        size: 25,
    };
    let started = Instant::now();
    let start = now_ms() - (ticket_count as i64) * 5 * 60 * 1000 - 30 * 24 * HOUR;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut messages = 0;
    const BATCH: usize = 2_000;
    for first in (0..ticket_count).step_by(BATCH) {
        let batch = tickets(
            &mut rng,
            first,
            BATCH.min(ticket_count - first),
            &contacts,
            &employees,
            &attachment,
            start,
        );
        messages += batch.iter().map(|t| t.messages.len()).sum::<usize>();
        store.seed_tickets(shop.id, &batch).await.expect("seeded");
    }
    store.analyze().await.expect("analyze");
    println!(
        "  loaded {ticket_count} tickets, {messages} messages in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Loaded {
        desk,
        shop,
        email: "alice@boutique.test".into(),
        password,
        messages,
    }
}

/// The `wrk` script: each request carries the session cookie; at the end it prints one line
/// of figures that [`run_wrk`] reads.
const WRK_SCRIPT: &str = r#"
wrk.headers["Cookie"] = os.getenv("GUICHET_BENCH_COOKIE")
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FIGURES p50=%.2f p99=%.2f max=%.2f requests=%d seconds=%.1f errors=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"#;

struct Figures {
    p50_ms: f64,
    p99_ms: f64,
    requests_per_s: f64,
    errors: u64,
}

fn run_wrk(script: &Path, url: &str, cookie: &str, seconds: u64) -> Figures {
    let output = Command::new("wrk")
        .args(["-t2", "-c8", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script)
        .arg(url)
        .env("GUICHET_BENCH_COOKIE", cookie)
        .output()
        .expect("wrk runs (Debian package wrk; scripts/install-test-deps installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("FIGURES"))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no figures: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    Figures {
        p50_ms: field("p50"),
        p99_ms: field("p99"),
        requests_per_s: field("requests") / field("seconds"),
        errors: field("errors") as u64,
    }
}

/// VmRSS and VmHWM of this process (the server runs in it), in MB.
fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

async fn bench(dialect: &str, url: &str, ticket_count: usize, seconds: u64) {
    println!("{dialect}:");
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(url, dir.path(), ticket_count).await;
    let (rss_loaded, _) = memory_mb();
    let store = &loaded.desk.store;
    // The plans of the pages measured below.
    let open = ListRequest {
        status: Some(Status::Open),
        limit: 50,
        ..Default::default()
    };
    for (label, request) in [
        ("list", open.clone()),
        (
            "search",
            ListRequest {
                search: Some("client123@exemple.test".into()),
                ..open.clone()
            },
        ),
        (
            "word search",
            ListRequest {
                search: Some("tabouret".into()),
                limit: 50,
                ..Default::default()
            },
        ),
    ] {
        let plan = store
            .explain_ticket_list(loaded.shop.id, &request)
            .await
            .unwrap();
        println!("  plan of the {label}: {}", plan.join(" | "));
    }

    if std::env::var_os("GUICHET_BENCH_PROFILE").is_some() {
        let employee = loaded.desk.employee_by_email(&loaded.email).await.unwrap();
        for _ in 0..3 {
            let t = Instant::now();
            let page = store
                .ticket_list(loaded.shop.id, &open, now_ms())
                .await
                .unwrap();
            let a = t.elapsed();
            let t = Instant::now();
            store.unread_by_contact(loaded.shop.id).await.unwrap();
            let b = t.elapsed();
            let t = Instant::now();
            loaded.desk.employees(&loaded.shop).await.unwrap();
            let c = t.elapsed();
            let t = Instant::now();
            let query = guichet::desk::ticket_list::TicketQuery {
                status: Some(Status::Open),
                ..Default::default()
            };
            loaded
                .desk
                .ticket_list(&loaded.shop, employee.id, &query)
                .await
                .unwrap();
            let d = t.elapsed();
            let t = Instant::now();
            let word = ListRequest {
                search: Some("tabouret".into()),
                limit: 50,
                ..Default::default()
            };
            store
                .ticket_list(loaded.shop.id, &word, now_ms())
                .await
                .unwrap();
            let e = t.elapsed();
            println!(
                "  list {a:?} ({} rows) sections {b:?} employees {c:?} desk {d:?} word search {e:?}",
                page.rows.len()
            );
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(guichet::web::serve(loaded.desk.clone(), listener, async {
        let _ = stopped.await;
    }));
    let signed = loaded
        .desk
        .sign_in(
            &loaded.email,
            &secrecy::SecretString::from(loaded.password.clone()),
            "127.0.0.1".parse().unwrap(),
        )
        .await
        .expect("signed in");
    let cookie = format!(
        "{}={}",
        guichet::web::auth::SESSION_COOKIE,
        secrecy::ExposeSecret::expose_secret(&signed.session_token)
    );
    let script = dir.path().join("figures.lua");
    std::fs::write(&script, WRK_SCRIPT).unwrap();

    // A ticket in the middle of the shop, with its messages.
    let middle = 1001 + (ticket_count as i64) / 2;
    if std::env::var_os("GUICHET_BENCH_PROFILE").is_some() {
        profile_ticket_page(&loaded.desk, &loaded.shop, middle).await;
    }
    let base = format!("http://{address}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pages = [
        ("ticket list (open, latest first)", "/tickets".to_string()),
        ("ticket list, page 20", String::new()),
        ("ticket page", format!("/tickets/{middle}")),
        (
            "search by customer address",
            "/tickets?status=any&q=client123%40exemple.test".into(),
        ),
        ("search by a word", "/tickets?status=any&q=tabouret".into()),
    ];
    // Page 20 of the open tickets: follow 19 cursors.
    let mut request = ListRequest {
        status: Some(Status::Open),
        sort: TicketSort::Recent,
        limit: 50,
        ..Default::default()
    };
    for _ in 0..19 {
        request.after = store
            .ticket_list(loaded.shop.id, &request, now_ms())
            .await
            .unwrap()
            .next;
    }
    let page20 = request
        .after
        .map(|c| {
            format!(
                "/tickets?after={}",
                guichet::desk::ticket_list::encode_cursor(TicketSort::Recent, &c)
            )
        })
        .unwrap_or_else(|| "/tickets".into());
    for (label, path) in pages {
        let path = if path.is_empty() {
            page20.clone()
        } else {
            path
        };
        let code = client
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if code != 200 {
            println!(
                "  {label:<34} {path}: HTTP {code}, not measured (no such page on this build)"
            );
            continue;
        }
        let figures = run_wrk(&script, &format!("{base}{path}"), &cookie, seconds);
        println!(
            "  {label:<34} p50 {:6.2} ms  p99 {:6.2} ms  {:7.0} req/s  errors {}",
            figures.p50_ms, figures.p99_ms, figures.requests_per_s, figures.errors
        );
    }
    let (rss, hwm) = memory_mb();
    println!(
        "  server RSS after the load: {rss:.0} MB (after loading the data: {rss_loaded:.0} MB; peak, loading included: {hwm:.0} MB)"
    );
    println!("  ({} messages)", loaded.messages);
    let _ = stop.send(());
    let _ = server.await;
    loaded.desk.store.close().await;
}

fn psql(admin: &str, sql: &str) -> bool {
    Command::new("psql")
        .arg(admin)
        .args(["-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn main() {
    let ticket_count: usize = std::env::var("GUICHET_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let seconds: u64 = std::env::var("GUICHET_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("Back-office speed: {ticket_count} tickets, wrk -t2 -c8 for {seconds} s per page");
    if std::env::var("GUICHET_BENCH_SQLITE").as_deref() != Ok("0") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        runtime.block_on(bench("SQLite", &url, ticket_count, seconds));
        if std::env::var_os("GUICHET_BENCH_KEEP").is_some() {
            println!("  SQLite database kept in {}", dir.keep().display());
        }
    }
    if std::env::var("GUICHET_BENCH_PG").as_deref() != Ok("0") {
        let admin = std::env::var("GUICHET_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let reused = std::env::var("GUICHET_BENCH_PG_DATABASE").ok();
        let name = reused
            .clone()
            .unwrap_or_else(|| format!("guichet_bench_{}", std::process::id()));
        assert!(
            reused.is_some() || psql(&admin, &format!("CREATE DATABASE {name}")),
            "PostgreSQL at {admin} is needed (GUICHET_BENCH_PG=0 skips it)"
        );
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        runtime.block_on(bench("PostgreSQL", &url, ticket_count, seconds));
        if std::env::var_os("GUICHET_BENCH_KEEP").is_none() && reused.is_none() {
            psql(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// Where a ticket page's time goes: each use-case it calls, timed alone.
async fn profile_ticket_page(desk: &guichet::desk::Desk, shop: &guichet::store::Shop, number: i64) {
    let t = Instant::now();
    desk.ticket(shop, number).await.unwrap();
    let ticket = t.elapsed();
    let t = Instant::now();
    let (detail, _) = desk.ticket_with_timeline(shop, number).await.unwrap();
    let timeline = t.elapsed();
    let t = Instant::now();
    desk.reply_prefill_for(shop, &detail).await.ok();
    let prefill = t.elapsed();
    let t = Instant::now();
    desk.neighbour_tickets(shop, number).await.unwrap();
    let neighbours = t.elapsed();
    let t = Instant::now();
    desk.customer_panel(shop, &detail.ticket.customer_email)
        .await
        .unwrap();
    let panel = t.elapsed();
    let employee = desk.employees(shop).await.unwrap()[0].id;
    let t = Instant::now();
    desk.touch_presence(shop, employee, number, guichet::store::Activity::Viewing)
        .await
        .unwrap();
    let touch = t.elapsed();
    let t = Instant::now();
    desk.presence(shop, employee, number).await.unwrap();
    let presence = t.elapsed();
    let t = Instant::now();
    desk.store.ticket_state(shop.id, number).await.unwrap();
    desk.store.reply_settings(shop.id).await.unwrap();
    desk.store.employees_of_shop(shop.id).await.unwrap();
    desk.store.shop_intents(shop.id, desk.lang).await.unwrap();
    let rest = t.elapsed();
    println!(
        "  ticket page parts: ticket alone {ticket:?}, ticket with its timeline {timeline:?}, prefill {prefill:?}, \
         neighbours {neighbours:?}, customer panel {panel:?}, presence written {touch:?}, \
         read {presence:?}, state/settings/employees/intents {rest:?}"
    );
}
