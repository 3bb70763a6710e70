//! The back office's employees from the command line: add, list, and API tokens.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use secrecy::ExposeSecret;

use guichet::desk::employees::EmployeeInput;
use guichet::desk::{Desk, input};
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
        #[arg(long, required = true)]
        password_stdin: bool,
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
        } => {
            let shop = desk.shop_named(&shop).await.say(lang)?;
            let password = input::read_password(std::io::stdin().lock()).say(lang)?;
            let input = EmployeeInput {
                email,
                name,
                admin,
                lang,
                password,
            };
            let employee = desk.add_employee(&shop, input).await.say(lang)?;
            say(t!(
                lang,
                "employees.added",
                email = employee.email,
                shop = shop.name,
                role = role_label(employee.role, lang)
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
