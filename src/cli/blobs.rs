//! `guichet blobs`: copy the attachments to another store, seal the S3 secret for the file.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Subcommand;

use guichet::desk::Desk;
use guichet::intake::sync::{BarProgress, LogProgress, Progress};
use guichet::t;

use super::{Say, print_json};

#[derive(Debug, Subcommand)]
pub enum BlobsCommand {
    /// Copy every attachment the database references to another store (resumable: what the
    /// target has is skipped; hashes are checked), then point `blobs.url` at it.
    Migrate {
        /// The store to copy from (default: the configured `blobs.url`).
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// The store to copy to: file:///path or s3://bucket/prefix.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Seal the S3 secret access key read from the standard input, for
    /// `blobs.secret_access_key_sealed`.
    SealSecret,
}

pub async fn blobs_command(desk: &Desk, command: BlobsCommand) -> Result<ExitCode> {
    let lang = desk.lang;
    match command {
        BlobsCommand::Migrate { from, to, json } => {
            let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
                Box::new(BarProgress::default())
            } else {
                Box::new(LogProgress::default())
            };
            let report = desk
                .migrate_blobs(from.as_deref(), &to, progress.as_ref())
                .await
                .say(lang)?;
            if json {
                print_json(&report)?;
            } else {
                for hash in &report.missing {
                    println!("  {}", t!(lang, "blobs.missing_blob", hash = hash));
                }
                for hash in &report.corrupt {
                    println!("  {}", t!(lang, "blobs.corrupt_blob", hash = hash));
                }
                println!(
                    "{}",
                    t!(
                        lang,
                        "blobs.migrated",
                        from = report.from,
                        to = report.to,
                        referenced = report.referenced,
                        copied = report.copied,
                        already_there = report.already_there,
                        missing = report.missing.len(),
                        corrupt = report.corrupt.len()
                    )
                );
            }
            let complete = report.missing.is_empty() && report.corrupt.is_empty();
            Ok(if complete {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        BlobsCommand::SealSecret => {
            if std::io::stdin().is_terminal() {
                eprintln!("{}", t!(lang, "blobs.secret_prompt"));
            }
            let mut secret = String::new();
            std::io::stdin().read_to_string(&mut secret)?;
            let secret = secret.trim();
            if secret.is_empty() {
                return Err(anyhow!(t!(lang, "blobs.empty_secret").to_string()));
            }
            let sealed = desk.seal_blob_secret(&secrecy::SecretString::from(secret.to_string()));
            eprintln!("{}", t!(lang, "blobs.sealed"));
            println!("secret_access_key_sealed = \"{sealed}\"");
            Ok(ExitCode::SUCCESS)
        }
    }
}
