//! The administrators' settings pages over real HTTP: every change is stored (read back
//! through the desk), a bad value changes nothing and says why, employees who are not admins
//! get nothing, and the mailbox test talks to the real Dovecot.

use guichet::model::UiLang;
use guichet::replies::{Mode, PlanName};

use secrecy::ExposeSecret;

use crate::support::web::{TestWeb, web_tests};
use crate::support::{Dialect, MailServer};

/// Posts `fields` (with the CSRF token) to `path`, expects 303 back to `page`, and returns the
/// page it leads to, with its flash message.
async fn post_and_follow(
    web: &TestWeb,
    client: &reqwest::Client,
    csrf: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> String {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", csrf));
    let response = client.post(web.url(path)).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303, "POST {path}");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let location = location.split('#').next().unwrap().to_string();
    let page = client.get(web.url(&location)).send().await.unwrap();
    assert_eq!(page.status(), 200, "GET {location}");
    page.text().await.unwrap()
}

/// The text of the page's flash message.
fn flash(page: &str) -> String {
    let start = page
        .find("class=\"flash ")
        .unwrap_or_else(|| panic!("no flash message in {page}"));
    let rest = &page[start..];
    let text = &rest[rest.find('>').unwrap() + 1..];
    let end = text.find("</p>").unwrap();
    text[..end].to_string()
}

fn flash_ok(page: &str) -> bool {
    page.contains("class=\"flash ok\"")
}

const SETTINGS_GETS: &[&str] = &[
    "/settings",
    "/settings/mailboxes",
    "/settings/contacts",
    "/settings/templates",
    "/settings/answers",
    "/settings/employees",
    "/settings/predefined-message",
    "/settings/contact-form",
];

async fn settings_are_for_admins_only(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let admin = web
        .employee("boutique", "admin@boutique.example", true)
        .await;
    let clerk = web
        .employee("boutique", "clerk@boutique.example", false)
        .await;
    let (admin_client, _) = web.signed_in(&admin).await;
    for path in SETTINGS_GETS {
        let page = admin_client.get(web.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
    }
    let template = web.desk.templates(&admin.shop).await.unwrap().remove(0);
    let template_path = format!(
        "/settings/templates/{}/{}",
        template.intent,
        template.lang.code()
    );
    let page = admin_client
        .get(web.url(&template_path))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    let (client, csrf) = web.signed_in(&clerk).await;
    let every_route = guichet::web::route_table();
    let settings: Vec<_> = every_route
        .iter()
        .filter(|r| r.path.starts_with("/settings"))
        .collect();
    assert!(settings.len() >= 12, "{settings:?}");
    for route in settings {
        assert_eq!(route.access, guichet::web::Access::Admin, "{}", route.path);
        let path = route
            .path
            .replace("{id}", "1")
            .replace("{intent}", &template.intent)
            .replace("{lang}", template.lang.code());
        let response = client
            .request(route.method.clone(), web.url(&path))
            .form(&[
                ("csrf", csrf.as_str()),
                ("section", "retention"),
                ("retention_months", "3"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{} {path}", route.method);
    }
    let shop = web.desk.shop_named("boutique").await.unwrap();
    assert_eq!(
        web.desk
            .current_settings(&shop)
            .await
            .unwrap()
            .retention_months,
        None,
        "the employee changed nothing"
    );
}

async fn an_admin_changes_every_setting(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let admin = web
        .employee("boutique", "admin@boutique.example", true)
        .await;
    let (client, csrf) = web.signed_in(&admin).await;
    let shop = &admin.shop;

    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/answers",
        &[
            ("section", "answers"),
            ("mode", "shadow"),
            ("reply_delay", "90m"),
            ("reply_spread", "20m"),
            ("business_hours", "mon-fri 09:00-18:00 Europe/Paris"),
            ("time_zone", "Europe/Paris"),
            ("threshold", "0.8"),
            ("intent_thresholds", "refund=0.95"),
        ],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert!(page.contains("value=\"1h30m\""), "current delay shown");
    let now = web.desk.current_settings(shop).await.unwrap();
    let a = &now.answers;
    assert_eq!(a.auto_answers, Mode::Shadow);
    assert_eq!(
        (a.reply_delay_ms, a.reply_spread_ms),
        (5_400_000, 1_200_000)
    );
    assert!(a.business_hours.as_deref().unwrap().contains("09:00"));
    assert_eq!(a.threshold, 0.8);
    assert_eq!(a.intent_thresholds["refund"], 0.95);

    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/answers",
        &[("section", "plan"), ("plan", "custom"), ("quota", "300")],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert!(page.contains("0 of 300"), "quota used this month shown");
    let now = web.desk.current_settings(shop).await.unwrap();
    assert_eq!(
        (now.answers.plan, now.answers.plan_quota, now.monthly_quota),
        (PlanName::Custom, Some(300), Some(300))
    );
    post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/answers",
        &[("section", "plan"), ("plan", "plus"), ("quota", "300")],
    )
    .await;
    let now = web.desk.current_settings(shop).await.unwrap();
    assert_eq!(
        (now.answers.plan, now.monthly_quota),
        (PlanName::Plus, Some(1000))
    );

    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/answers",
        &[("section", "retention"), ("retention_months", "18")],
    )
    .await;
    assert!(flash_ok(&page));
    assert_eq!(
        web.desk
            .current_settings(shop)
            .await
            .unwrap()
            .retention_months,
        Some(18)
    );

    post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/answers",
        &[
            ("section", "branding"),
            ("display_name", "La Boutique"),
            ("signature", "L'équipe\r\nLa Boutique"),
            ("logo_url", "https://boutique.example/logo.png"),
            ("brand_color", "#1d4ed8"),
            ("footer", "12 rue des Lilas"),
        ],
    )
    .await;
    let a = web.desk.current_settings(shop).await.unwrap().answers;
    assert_eq!(a.display_name.as_deref(), Some("La Boutique"));
    assert_eq!(a.signature, "L'équipe\nLa Boutique");
    assert_eq!(a.brand_color.as_deref(), Some("#1d4ed8"));

    // Contacts.
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/contacts",
        &[
            ("name", "Webmaster"),
            ("email", "Web@Boutique.example"),
            ("description", "the site"),
        ],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert!(page.contains("web@boutique.example"));
    let contacts = web.desk.contacts(shop).await.unwrap();
    let webmaster = contacts.iter().find(|c| c.name == "Webmaster").unwrap();
    assert_eq!(webmaster.email, "web@boutique.example");
    assert!(!webmaster.customer_service, "box left unticked");
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        &format!("/settings/contacts/{}", webmaster.id),
        &[
            ("name", "Site"),
            ("email", "site@boutique.example"),
            ("description", "the web site"),
            ("customer_service", "1"),
        ],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    let contacts = web.desk.contacts(shop).await.unwrap();
    assert_eq!(contacts.len(), 1);
    let site = &contacts[0];
    assert_eq!(
        (
            site.name.as_str(),
            site.email.as_str(),
            site.customer_service
        ),
        ("Site", "site@boutique.example", true)
    );
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        &format!("/settings/contacts/{}/remove", site.id),
        &[],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert!(web.desk.contacts(shop).await.unwrap().is_empty());
    // Another shop's contact is out of reach.
    let other = web.desk.add_shop("ailleurs").await.unwrap();
    let theirs = web
        .desk
        .add_contact(
            &other,
            guichet::desk::shops::ContactInput {
                name: "SAV".into(),
                email: "sav@ailleurs.example".into(),
                description: String::new(),
                customer_service: true,
            },
        )
        .await
        .unwrap();
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        &format!("/settings/contacts/{}/remove", theirs.id),
        &[],
    )
    .await;
    assert!(!flash_ok(&page));
    assert_eq!(web.desk.contacts(&other).await.unwrap().len(), 1);

    // Templates: save, then reset.
    let template = web.desk.templates(shop).await.unwrap().remove(0);
    let path = format!(
        "/settings/templates/{}/{}",
        template.intent,
        template.lang.code()
    );
    let body = "Bonjour {{ customer_name }}, ticket {{ ticket_number }}.\n{{ signature }}\n";
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        &path,
        &[
            ("body", body),
            ("action", "save"),
            ("when_complete", "answer"),
        ],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert_eq!(
        web.desk
            .template(shop, &template.intent, template.lang)
            .await
            .unwrap(),
        body
    );
    let page = post_and_follow(&web, &client, &csrf, &format!("{path}/reset"), &[]).await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert_eq!(
        web.desk
            .template(shop, &template.intent, template.lang)
            .await
            .unwrap(),
        template.body
    );
}

async fn bad_values_change_nothing_and_say_why(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let admin = web
        .employee("boutique", "admin@boutique.example", true)
        .await;
    let (client, csrf) = web.signed_in(&admin).await;
    let shop = &admin.shop;
    let before = web.desk.current_settings(shop).await.unwrap();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("section", "answers"),
                ("mode", "on"),
                ("reply_delay", "soon"),
            ],
            "--reply-delay",
        ),
        (
            &[("section", "answers"), ("time_zone", "Mars/Olympus")],
            "--time-zone",
        ),
        (
            &[("section", "plan"), ("plan", "custom"), ("quota", "lots")],
            "quota",
        ),
        (
            &[("section", "retention"), ("retention_months", "-2")],
            "--retention-months",
        ),
        (
            &[
                ("section", "branding"),
                ("logo_url", "http://insecure.example/logo.png"),
            ],
            "--logo-url",
        ),
    ];
    for (fields, named) in cases {
        let page = post_and_follow(&web, &client, &csrf, "/settings/answers", fields).await;
        assert!(!flash_ok(&page), "{fields:?} accepted");
        let said = flash(&page);
        assert!(said.contains(named), "{fields:?}: {said}");
        let after = web.desk.current_settings(shop).await.unwrap();
        assert_eq!(
            after.answers, before.answers,
            "{fields:?} changed something"
        );
        assert_eq!(after.retention_months, before.retention_months);
    }
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/contacts",
        &[("name", "X"), ("email", "not-an-address")],
    )
    .await;
    assert!(
        !flash_ok(&page) && flash(&page).contains("not-an-address"),
        "{}",
        flash(&page)
    );
    assert!(web.desk.contacts(shop).await.unwrap().is_empty());

    let template = web.desk.templates(shop).await.unwrap().remove(0);
    let path = format!(
        "/settings/templates/{}/{}",
        template.intent,
        template.lang.code()
    );
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        &path,
        &[("body", "{% if %}"), ("action", "save")],
    )
    .await;
    assert!(!flash_ok(&page), "a broken template is refused");
    assert_eq!(
        web.desk
            .template(shop, &template.intent, template.lang)
            .await
            .unwrap(),
        template.body
    );
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/mailboxes",
        &[("email", "sav@boutique.example"), ("password", "x")],
    )
    .await;
    assert!(!flash_ok(&page), "unknown domain without servers");
    assert!(!flash(&page).is_empty());
}

async fn preview_on_a_real_ticket(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let demo = web.desk.demo().await.unwrap();
    let admin = web
        .employee(&demo.shop.name, "admin@demo.example", true)
        .await;
    let (client, csrf) = web.signed_in(&admin).await;
    let ticket = demo.tickets[0].number.to_string();
    let template = web.desk.templates(&demo.shop).await.unwrap().remove(0);
    let path = format!(
        "/settings/templates/{}/{}",
        template.intent,
        template.lang.code()
    );
    let body = "Ticket n°{{ ticket_number }} chez {{ shop_name }}.";
    // htmx: the fragment only.
    let fragment = client
        .post(web.url(&format!("{path}/preview")))
        .header("X-CSRF-Token", &csrf)
        .form(&[("body", body), ("ticket", ticket.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status(), 200);
    let fragment = fragment.text().await.unwrap();
    assert!(
        fragment.contains(&format!("Ticket n°{ticket} chez")),
        "{fragment}"
    );
    assert!(!fragment.contains("<html"), "a fragment: {fragment}");
    // Without JS: the whole page, with the preview and the text being edited.
    let page = client
        .post(web.url(&path))
        .form(&[
            ("body", body),
            ("ticket", ticket.as_str()),
            ("action", "preview"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let status = page.status();
    let page = page.text().await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<html") && page.contains(&format!("Ticket n°{ticket} chez")),
        "{page}"
    );
    assert_eq!(
        web.desk
            .template(&demo.shop, &template.intent, template.lang)
            .await
            .unwrap(),
        template.body,
        "a preview saves nothing"
    );
    // A ticket of no shop of ours is said, not shown.
    let fragment = client
        .post(web.url(&format!("{path}/preview")))
        .header("X-CSRF-Token", &csrf)
        .form(&[("body", body), ("ticket", "987654")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fragment.contains("flash error"), "{fragment}");
}

async fn mailbox_test_against_dovecot(dialect: Dialect) {
    let server = tokio::task::spawn_blocking(MailServer::shared)
        .await
        .unwrap();
    let good = server.new_mailbox("webset");
    let bad = server.new_mailbox("websetbad");
    let web = TestWeb::start(dialect).await;
    let admin = web
        .employee("boutique", "admin@boutique.example", true)
        .await;
    let (client, csrf) = web.signed_in(&admin).await;
    let port = server.imaps_port.to_string();
    let smtp_port = server.smtp_port.to_string();
    let fields = |email: &'static str, password: &'static str, skip: bool| {
        let mut f = vec![
            ("email", email),
            ("password", password),
            ("imap_host", "127.0.0.1"),
            ("imap_security", "tls"),
            ("accept_invalid_certs", "1"),
            ("smtp_host", "127.0.0.1"),
            ("smtp_security", "none"),
            ("folders", "INBOX"),
            ("mark_as_read", "1"),
        ];
        if skip {
            f.push(("skip_test", "1"));
        }
        f
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let (good_email, good_password) = (leak(good.email.clone()), leak(good.password.clone()));
    let bad_email = leak(bad.email.clone());
    let with_ports = |mut f: Vec<(&'static str, &'static str)>| {
        f.push(("imap_port", leak(port.clone())));
        f.push(("smtp_port", leak(smtp_port.clone())));
        f
    };

    // A wrong password: tested before saving, refused in plain words, nothing saved.
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/mailboxes",
        &with_ports(fields(good_email, "wrong-password", false)),
    )
    .await;
    let said = flash(&page);
    assert!(!flash_ok(&page));
    assert!(
        said.contains(guichet::t!(UiLang::En, "intake.authentication_refused")),
        "{said}"
    );
    assert!(
        !page.contains("wrong-password"),
        "the password never comes back"
    );
    assert!(web.desk.mailboxes().await.unwrap().is_empty());

    // The right one: tested and saved.
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/mailboxes",
        &with_ports(fields(good_email, good_password, false)),
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert!(flash(&page).contains(guichet::t!(UiLang::En, "mailbox.imap_works")));
    assert!(!page.contains(good_password));
    let saved = web.desk.mailboxes().await.unwrap();
    assert_eq!(saved.len(), 1);
    assert!(
        saved[0].mark_as_read && saved[0].accept_invalid_certs && !saved[0].delete_after_import
    );
    assert_eq!(saved[0].imap_port, server.imaps_port);

    // The "test connection" button.
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/mailboxes/test",
        &[("email", good_email)],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert!(flash(&page).contains(guichet::t!(UiLang::En, "mailbox.imap_works")));

    // A mailbox saved untested with a wrong password: the button says why.
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/mailboxes",
        &with_ports(fields(bad_email, "wrong-password", true)),
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/mailboxes/test",
        &[("email", bad_email)],
    )
    .await;
    assert!(!flash_ok(&page));
    assert!(
        flash(&page).contains(guichet::t!(UiLang::En, "intake.authentication_refused")),
        "{}",
        flash(&page)
    );

    // Remove.
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/mailboxes/remove",
        &[("email", bad_email)],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    let left: Vec<String> = web
        .desk
        .mailboxes()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.email)
        .collect();
    assert_eq!(left, vec![good.email.clone()]);
}

web_tests!(settings_are_for_admins_only => settings_admin_only_sqlite, settings_admin_only_postgres);
web_tests!(an_admin_changes_every_setting => settings_changed_sqlite, settings_changed_postgres);
web_tests!(bad_values_change_nothing_and_say_why => settings_bad_values_sqlite, settings_bad_values_postgres);
web_tests!(preview_on_a_real_ticket => settings_preview_sqlite, settings_preview_postgres);
web_tests!(mailbox_test_against_dovecot => settings_mailbox_test_sqlite, settings_mailbox_test_postgres);

/// The command line changes and removes contacts as the settings page does.
#[test]
fn contacts_change_and_go_from_the_command_line() {
    use crate::support::cli::{empty_shop, guichet, ok, run};
    let dir = empty_shop();
    let add = [
        "contact",
        "add",
        "--shop",
        "boutique",
        "--name",
        "SAV",
        "--email",
        "sav@boutique.example",
    ];
    ok(guichet(dir.path(), &add));
    let changed = ok(guichet(
        dir.path(),
        &[
            "contact",
            "set",
            "--shop",
            "boutique",
            "--name",
            "SAV",
            "--new-name",
            "Service",
            "--email",
            "Service@Boutique.example",
            "--customer-service",
            "false",
        ],
    ));
    assert!(changed.contains("service@boutique.example"), "{changed}");
    let listed = ok(guichet(
        dir.path(),
        &["contact", "list", "--shop", "boutique", "--json"],
    ));
    let contacts: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(contacts[0]["name"], "Service");
    assert_eq!(contacts[0]["customer_service"], false);
    let missing = run(guichet(
        dir.path(),
        &["contact", "remove", "--shop", "boutique", "--name", "SAV"],
    ));
    assert!(!missing.status.success(), "the old name is gone");
    ok(guichet(
        dir.path(),
        &[
            "contact", "remove", "--shop", "boutique", "--name", "Service",
        ],
    ));
    let listed = ok(guichet(
        dir.path(),
        &["contact", "list", "--shop", "boutique", "--json"],
    ));
    assert_eq!(listed.trim(), "[]");
}

/// The password a page shows once.
fn shown_password(page: &str) -> String {
    let marker = "class=\"shown-password\">";
    let start = page.find(marker).expect("a password shown once") + marker.len();
    let end = page[start..].find('<').unwrap();
    page[start..start + end].to_string()
}

async fn signs_in(web: &TestWeb, email: &str, password: &str) -> bool {
    let response = web
        .client()
        .post(web.url("/sign-in"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    response.status() == 303
}

async fn an_admin_runs_the_team(dialect: Dialect) {
    use guichet::model::Role;
    let web = TestWeb::start(dialect).await;
    let ada = web.employee("boutique", "ada@boutique.example", true).await;
    let bob = web
        .employee("boutique", "bob@boutique.example", false)
        .await;
    let shop = &ada.shop;
    let (client, csrf) = web.signed_in(&ada).await;
    let (as_bob, _) = web.signed_in(&bob).await;
    let bob_token = web
        .desk
        .create_api_token(&bob.employee, "sync")
        .await
        .unwrap();
    let number =
        crate::web_security::ticket_in(&web, shop, "Lost parcel", "carl@client.example").await;
    web.desk
        .assign(shop, ada.employee.id, number, Some(bob.employee.id))
        .await
        .unwrap();

    let page = client
        .get(web.url("/settings/employees"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("bob@boutique.example") && page.contains("<time datetime="),
        "{page}"
    );
    let index = web.page(&client, "/settings").await;
    for link in [
        "/settings/employees",
        "/settings/predefined-message",
        "/settings/contact-form",
    ] {
        assert!(index.contains(link), "the index links {link}");
    }

    // Added with a typed password, in French.
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/employees",
        &[
            ("name", "Chloé Martin"),
            ("email", "Chloe@Boutique.example"),
            ("role", "employee"),
            ("lang", "fr"),
            ("password", "un mot de passe tapé"),
        ],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    let chloe = web
        .desk
        .employee_by_email("chloe@boutique.example")
        .await
        .unwrap();
    assert_eq!(
        (chloe.name.as_str(), chloe.role, chloe.lang),
        ("Chloé Martin", Role::Employee, UiLang::Fr)
    );
    assert!(signs_in(&web, "chloe@boutique.example", "un mot de passe tapé").await);
    // Too short: refused, nobody added.
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/employees",
        &[
            ("email", "dan@boutique.example"),
            ("role", "employee"),
            ("password", "court"),
        ],
    )
    .await;
    assert!(
        !flash_ok(&page) && flash(&page).contains("at least 10"),
        "{}",
        flash(&page)
    );
    assert!(!page.contains("court"), "the password is not repeated");
    // Added with a generated password, shown once.
    let added = client
        .post(web.url("/settings/employees"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "dan@boutique.example"),
            ("role", "admin"),
            ("password", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let generated = shown_password(&added.text().await.unwrap());
    assert!(generated.len() >= 10, "{generated}");
    assert!(signs_in(&web, "dan@boutique.example", &generated).await);
    let dan = web
        .desk
        .employee_by_email("dan@boutique.example")
        .await
        .unwrap();
    assert_eq!(dan.role, Role::Admin);
    let again = web.page(&client, "/settings/employees").await;
    assert!(!again.contains(&generated), "shown once only");

    // Bob's password reset (generated): his session ends, the new password works.
    let reset = client
        .post(web.url(&format!("/settings/employees/{}/password", bob.employee.id)))
        .form(&[("csrf", csrf.as_str()), ("password", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let new_password = shown_password(&reset.text().await.unwrap());
    let tickets = as_bob.get(web.url("/tickets")).send().await.unwrap();
    assert_eq!(tickets.status(), 303, "Bob's old session is closed");
    assert!(!signs_in(&web, "bob@boutique.example", &bob.password).await);
    assert!(signs_in(&web, "bob@boutique.example", &new_password).await);

    // Roles: Bob becomes an admin and back; Ada cannot drop her own role.
    let bob_role = format!("/settings/employees/{}/role", bob.employee.id);
    let page = post_and_follow(&web, &client, &csrf, &bob_role, &[("role", "admin")]).await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert_eq!(
        web.desk.employee(shop, bob.employee.id).await.unwrap().role,
        Role::Admin
    );
    post_and_follow(&web, &client, &csrf, &bob_role, &[("role", "employee")]).await;
    assert_eq!(
        web.desk.employee(shop, bob.employee.id).await.unwrap().role,
        Role::Employee
    );
    let own = format!("/settings/employees/{}/role", ada.employee.id);
    let page = post_and_follow(&web, &client, &csrf, &own, &[("role", "employee")]).await;
    assert!(
        !flash_ok(&page) && flash(&page).contains("your own"),
        "{}",
        flash(&page)
    );
    let page = post_and_follow(&web, &client, &csrf, &bob_role, &[("role", "boss")]).await;
    assert!(!flash_ok(&page), "an unknown role is refused");
    assert_eq!(
        web.desk.employee(shop, ada.employee.id).await.unwrap().role,
        Role::Admin
    );
    // The shop keeps an administrator, whoever asks (here the command line's desk call).
    web.desk.remove_employee(shop, dan.id, None).await.unwrap();
    let last = web
        .desk
        .set_role(shop, ada.employee.id, Role::Employee, None)
        .await;
    assert!(
        matches!(last, Err(guichet::desk::DeskError::LastAdmin)),
        "{last:?}"
    );
    let last = web.desk.remove_employee(shop, ada.employee.id, None).await;
    assert!(
        matches!(last, Err(guichet::desk::DeskError::LastAdmin)),
        "{last:?}"
    );

    // Bob removed: his ticket unassigned, his sessions and token dead, the timeline kept.
    let (as_bob, _) = web
        .signed_in(&crate::support::web::TestEmployee {
            employee: bob.employee.clone(),
            shop: shop.clone(),
            password: new_password.clone(),
        })
        .await;
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        &format!("/settings/employees/{}/remove", bob.employee.id),
        &[],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert!(!page.contains("bob@boutique.example<"), "no longer listed");
    assert!(web.desk.employee(shop, bob.employee.id).await.is_err());
    let ticket = web.desk.ticket(shop, number).await.unwrap();
    assert_eq!(ticket.ticket.assignee, None, "unassigned");
    let timeline = web.desk.timeline(shop, number).await.unwrap();
    assert!(!timeline.is_empty());
    assert_eq!(
        as_bob
            .get(web.url("/tickets"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let api = web
        .client()
        .get(web.url("/api/v1/me"))
        .bearer_auth(bob_token.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401, "his API token is revoked");
    assert!(!signs_in(&web, "bob@boutique.example", &new_password).await);
    let own = format!("/settings/employees/{}/remove", ada.employee.id);
    let page = post_and_follow(&web, &client, &csrf, &own, &[]).await;
    assert!(!flash_ok(&page), "nobody removes themselves");
    assert_eq!(web.desk.employees(shop).await.unwrap().len(), 2);
}

web_tests!(an_admin_runs_the_team => team_sqlite, team_postgres);

async fn the_predefined_message_is_checked_and_previewed(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let ada = web.employee("boutique", "ada@boutique.example", true).await;
    let shop = &ada.shop;
    let (client, csrf) = web.signed_in(&ada).await;
    let number =
        crate::web_security::ticket_in(&web, shop, "Lost parcel", "carl@client.example").await;

    let page = client
        .get(web.url("/settings/predefined-message"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("customer_name") && page.contains("order.tracking_url"),
        "variables listed"
    );
    assert!(
        page.contains(&format!("value=\"{number}\"")),
        "a ticket to preview on"
    );

    let body = "Bonjour {{ customer_name }}, au sujet du ticket {{ ticket_number }} :";
    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/predefined-message/fr",
        &[("body", body), ("action", "save")],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    assert_eq!(
        web.desk.predefined_message(shop, UiLang::Fr).await.unwrap(),
        body
    );
    assert_ne!(
        web.desk.predefined_message(shop, UiLang::En).await.unwrap(),
        body
    );

    // Broken: refused, said, and the text stays in the form.
    let broken = "Hello {% if customer_name %}there";
    let refused = client
        .post(web.url("/settings/predefined-message/en"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("body", broken),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("Hello {% if customer_name %}there"),
        "the text is kept"
    );
    assert!(page.contains("class=\"flash error\""), "the error is shown");
    assert!(
        !web.desk
            .predefined_message(shop, UiLang::En)
            .await
            .unwrap()
            .contains("there")
    );

    // Previewed on the shop's ticket, without JavaScript and as the htmx fragment.
    let preview = "Ticket {{ ticket_number }} of {{ shop_name }}";
    let ticket = number.to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("body", preview),
        ("ticket", ticket.as_str()),
        ("action", "preview"),
    ];
    let page = client
        .post(web.url("/settings/predefined-message/en"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let rendered = format!("Ticket {number} of boutique");
    assert!(page.contains(&rendered), "{page}");
    assert!(
        page.contains("Ticket {{ ticket_number }}"),
        "the text is kept"
    );
    let fragment = client
        .post(web.url("/settings/predefined-message/en/preview"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fragment.contains(&rendered) && !fragment.contains("<html"),
        "{fragment}"
    );
    assert!(
        !web.desk
            .predefined_message(shop, UiLang::En)
            .await
            .unwrap()
            .contains("of {{"),
        "a preview saves nothing"
    );
    // Another shop's ticket is no preview.
    let other = web.employee("ailleurs", "eve@ailleurs.example", true).await;
    // Ticket numbers count per shop: the other shop's second ticket has no twin here.
    crate::web_security::ticket_in(&web, &other.shop, "Elsewhere first", "zed@x.example").await;
    let foreign =
        crate::web_security::ticket_in(&web, &other.shop, "Elsewhere secret", "zed@x.example")
            .await;
    let fragment = client
        .post(web.url("/settings/predefined-message/en/preview"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("body", preview),
            ("ticket", &foreign.to_string()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fragment.contains("flash error") && !fragment.contains("ailleurs"),
        "{fragment}"
    );
}

web_tests!(the_predefined_message_is_checked_and_previewed => predefined_sqlite, predefined_postgres);

async fn the_contact_form_settings_and_embedding(dialect: Dialect) {
    let web = TestWeb::start(dialect).await;
    let ada = web
        .employee("Boutique Thé", "ada@boutique.example", true)
        .await;
    let shop = &ada.shop;
    web.desk
        .add_contact(
            shop,
            guichet::desk::shops::ContactInput {
                name: "SAV".into(),
                email: "sav@boutique.example".into(),
                description: String::new(),
                customer_service: true,
            },
        )
        .await
        .unwrap();
    let (client, csrf) = web.signed_in(&ada).await;

    let page = client
        .get(web.url("/settings/contact-form"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "the settings page is never framed"
    );
    let page = page.text().await.unwrap();
    let public = web.url("/contact/boutique-the");
    let escaped = public.replace('/', "&#x2f;");
    assert!(page.contains(&escaped), "the public address: {page}");
    assert!(
        page.contains(&format!("&lt;iframe src=&quot;{escaped}&quot;")),
        "the embed snippet"
    );

    let page = post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/contact-form",
        &[
            ("enabled", "1"),
            ("attachments", "1"),
            ("max_megabytes", "2"),
            ("allowed_types", "image/png\r\napplication/pdf"),
        ],
    )
    .await;
    assert!(flash_ok(&page), "{}", flash(&page));
    let saved = web.desk.contact_form_settings(shop).await.unwrap();
    assert!(saved.enabled && saved.attachments);
    assert_eq!(saved.max_attachment_bytes, 2 * 1024 * 1024);
    assert_eq!(saved.allowed_types, ["image/png", "application/pdf"]);
    for (field, value) in [
        ("max_megabytes", "100"),
        ("allowed_types", "png"),
        ("max_megabytes", "-1"),
    ] {
        let mut fields = vec![
            ("enabled", "1"),
            ("attachments", "1"),
            ("allowed_types", "image/png"),
        ];
        fields.retain(|(k, _)| *k != field);
        fields.push((field, value));
        let page = post_and_follow(&web, &client, &csrf, "/settings/contact-form", &fields).await;
        assert!(!flash_ok(&page), "{field}={value} refused");
        assert_eq!(
            web.desk.contact_form_settings(shop).await.unwrap(),
            saved,
            "unchanged"
        );
    }
    // Attachments off: the public form has no file field any more.
    post_and_follow(
        &web,
        &client,
        &csrf,
        "/settings/contact-form",
        &[
            ("enabled", "1"),
            ("max_megabytes", "2"),
            ("allowed_types", "image/png"),
        ],
    )
    .await;
    assert!(
        !web.desk
            .contact_form_settings(shop)
            .await
            .unwrap()
            .attachments
    );
    let form = web.client().get(&public).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let policy = form.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("frame-ancestors *"), "embeddable: {policy}");
    assert!(form.headers().get("x-frame-options").is_none());
    let form = form.text().await.unwrap();
    assert!(!form.contains("type=\"file\""), "no attachment field");
}

web_tests!(the_contact_form_settings_and_embedding => contact_form_settings_sqlite, contact_form_settings_postgres);

/// In a real Chromium: the settings pages on a desktop and a phone (screenshots kept as
/// artefacts, nothing wider than the phone), and the embed snippet pasted in a page of another
/// origin (the shop's site, a local server) shows the working form in its frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_pages_in_a_browser_and_the_form_embedded_elsewhere() {
    use crate::support::browser::Browser;
    let web = TestWeb::start(Dialect::Sqlite).await;
    let ada = web.employee("boutique", "ada@boutique.example", true).await;
    web.employee("boutique", "bob@boutique.example", false)
        .await;
    web.desk
        .add_contact(
            &ada.shop,
            guichet::desk::shops::ContactInput {
                name: "SAV".into(),
                email: "sav@boutique.example".into(),
                description: "Orders and returns".into(),
                customer_service: true,
            },
        )
        .await
        .unwrap();
    crate::web_security::ticket_in(&web, &ada.shop, "Lost parcel", "carl@client.example").await;

    let browser = Browser::start().await;
    browser
        .sign_in(&web.base, &ada.employee.email, &ada.password)
        .await;
    for (path, name) in [
        ("/settings/employees", "settings-employees"),
        ("/settings/predefined-message", "settings-predefined"),
        ("/settings/contact-form", "settings-contact-form"),
    ] {
        for phone in [false, true] {
            if phone {
                browser.phone().await;
            } else {
                browser.desktop().await;
            }
            browser.goto(&web.url(path)).await;
            browser.wait_for("main").await;
            let label = if phone { "phone" } else { "desktop" };
            let file = browser.screenshot(&format!("{name}-{label}")).await;
            assert!(std::fs::metadata(&file).unwrap().len() > 1000, "{file:?}");
            if phone {
                let overflow = browser
                    .script("return document.documentElement.scrollWidth - window.innerWidth")
                    .await;
                assert!(
                    overflow.as_i64().unwrap_or(0) <= 0,
                    "{path} overflows the phone: {overflow}"
                );
            }
        }
    }
    browser.desktop().await;
    let snippet = browser
        .script("return document.querySelector('.embed-snippet').value")
        .await;
    let snippet = snippet.as_str().expect("the snippet").to_string();
    assert!(
        snippet.starts_with("<iframe src=\"http://127.0.0.1:"),
        "{snippet}"
    );

    // The shop's site: another origin (another port), one page with the snippet pasted in.
    let site_page = format!(
        "<!doctype html><html><head><title>Shop</title></head><body><h1>Contact us</h1>{snippet}</body></html>"
    );
    let site = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = site_page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_url = format!("http://{}/", listener.local_addr().unwrap());
    let served = tokio::spawn(async move { axum::serve(listener, site).await });
    browser.goto(&site_url).await;
    browser.wait_for("iframe").await;
    let inside = browser
        .in_frame(
            0,
            "return [location.pathname, !!document.querySelector('form textarea[name=message]'), \
             document.querySelector('select[name=contact], input[name=contact]') !== null]",
        )
        .await;
    assert_eq!(
        inside,
        serde_json::json!(["/contact/boutique", true, true]),
        "the form shows in the frame"
    );
    browser.screenshot("contact-form-embedded").await;
    served.abort();
}
