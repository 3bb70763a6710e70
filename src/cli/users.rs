//! The back office's employees from the command line: add, list, reset a password, change a
//! role, remove, and API tokens (the same desk calls as the settings page).

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use guichet::desk::employees::{EmployeeInput, generate_password};
use guichet::desk::{Desk, input};
use guichet::model::Role;
use guichet::store::Employee;
use guichet::t;
use guichet::views::{self, role_label};

use super::{Say, print_list, say};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an employee to a shop; the password is read from standard input. The employee
    /// reads the back office in the language of `--lang` (default: GUICHET_LANG, the
    /// configuration, then LANG); they can change it in the back office.
    Add {
        #[arg(long)]
        shop: String,
        #[arg(long)]
        email: String,
        /// Shown in the back office (default: the address's local part).
        #[arg(long)]
        name: Option<String>,
        /// May change the shop's settings and its employees.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(
            long,
            required_unless_present = "generate_password",
            conflicts_with = "generate_password"
        )]
        password_stdin: bool,
        /// Generate a password and print it once, for you to hand over.
        #[arg(long)]
        generate_password: bool,
    },
    /// Give an employee a new password (read from standard input, or generated and printed
    /// once); their open sessions end.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(
            long,
            required_unless_present = "generate_password",
            conflicts_with = "generate_password"
        )]
        password_stdin: bool,
        #[arg(long)]
        generate_password: bool,
    },
    /// Make an employee an administrator or a plain employee (a shop keeps one administrator).
    SetRole {
        #[arg(long)]
        email: String,
        /// admin or employee.
        #[arg(long)]
        role: Role,
    },
    /// Remove an employee: their tickets become unassigned, their sessions and API tokens
    /// stop working (a shop keeps one administrator).
    Remove {
        #[arg(long)]
        email: String,
    },
    /// List employees (of one shop, or of every shop).
    List {
        #[arg(long)]
        shop: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Create an API token acting as an employee; it is printed once and never again.
    Token {
        #[arg(long)]
        email: String,
        /// What the token is for, e.g. "helpdesk sync".
        #[arg(long)]
        label: String,
    },
}

pub async fn user_command(desk: &Desk, command: UserCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    match command {
        UserCommand::Add {
            shop,
            email,
            name,
            admin,
            password_stdin: _,
            generate_password,
        } => {
            let shop = desk.shop_named(&shop).await.say(lang)?;
            let password = new_password(generate_password, lang)?;
            let input = EmployeeInput {
                email,
                name,
                admin,
                lang,
                password: password.clone(),
            };
            let employee = desk.add_employee(&shop, input).await.say(lang)?;
            say(t!(
                lang,
                "employees.added",
                email = employee.email,
                shop = shop.name,
                role = role_label(employee.role, lang)
            ));
            show_generated(generate_password, &password, lang);
        }
        UserCommand::ResetPassword {
            email,
            password_stdin: _,
            generate_password,
        } => {
            let (shop, employee) = employee_and_shop(desk, &email).await?;
            let password = new_password(generate_password, lang)?;
            desk.reset_password(&shop, employee.id, &password)
                .await
                .say(lang)?;
            say(t!(
                lang,
                "web_settings_more.password_reset",
                email = employee.email
            ));
            show_generated(generate_password, &password, lang);
        }
        UserCommand::SetRole { email, role } => {
            let (shop, employee) = employee_and_shop(desk, &email).await?;
            let employee = desk
                .set_role(&shop, employee.id, role, None)
                .await
                .say(lang)?;
            say(t!(
                lang,
                "web_settings_more.role_set",
                email = employee.email,
                role = role_label(employee.role, lang)
            ));
        }
        UserCommand::Remove { email } => {
            let (shop, employee) = employee_and_shop(desk, &email).await?;
            let employee = desk
                .remove_employee(&shop, employee.id, None)
                .await
                .say(lang)?;
            say(t!(
                lang,
                "web_settings_more.removed",
                email = employee.email
            ));
        }
        UserCommand::List { shop, json } => {
            let employees = match shop {
                Some(name) => {
                    let shop = desk.shop_named(&name).await.say(lang)?;
                    desk.employees(&shop).await.say(lang)?
                }
                None => desk.all_employees().await.say(lang)?,
            };
            let line = |e: &Employee| {
                format!(
                    "{} <{}> {} {}",
                    e.name,
                    e.email,
                    role_label(e.role, lang),
                    e.lang
                )
            };
            print_list::<_, views::EmployeeJson>(
                &employees,
                json,
                line,
                Some(t!(lang, "employees.none")),
            )?;
        }
        UserCommand::Token { email, label } => {
            let employee = desk.employee_by_email(&email).await.say(lang)?;
            let token = desk.create_api_token(&employee, &label).await.say(lang)?;
            say(t!(
                lang,
                "employees.token_created",
                label = label.trim(),
                email = employee.email
            ));
            say(token.expose_secret());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The employee with this address and their shop.
async fn employee_and_shop(desk: &Desk, email: &str) -> Result<(guichet::store::Shop, Employee)> {
    let lang = desk.lang;
    let employee = desk.employee_by_email(email).await.say(lang)?;
    let shop = desk.shop_of(&employee).await.say(lang)?;
    Ok((shop, employee))
}

/// A generated password, or the first line of standard input.
fn new_password(generate: bool, lang: guichet::model::UiLang) -> Result<SecretString> {
    if generate {
        return Ok(generate_password());
    }
    input::read_password(std::io::stdin().lock()).say(lang)
}

/// A generated password is printed once, on a line of its own (scripts read it from there).
fn show_generated(generated: bool, password: &SecretString, lang: guichet::model::UiLang) {
    if generated {
        say(t!(lang, "web_settings_more.generated_password"));
        say(password.expose_secret());
    }
}
