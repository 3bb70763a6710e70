//! What the edges hand to a use-case from outside: a text or a file's bytes (`-` for standard
//! input) and a password line, read once here for the command line, the jobs and tests alike.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::model::UiLang;
use crate::t;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read standard input")]
    Stdin(#[source] std::io::Error),
    #[error("cannot read the password")]
    Password(#[source] std::io::Error),
    #[error("empty password")]
    EmptyPassword,
}

impl InputError {
    pub fn localized(&self, lang: UiLang) -> String {
        match self {
            InputError::File { path, .. } => t!(lang, "cli.cannot_read", path = path.display()),
            InputError::Stdin(_) => t!(lang, "cli.cannot_read_stdin").into(),
            InputError::Password(_) => t!(lang, "mailbox.cannot_read_password").into(),
            InputError::EmptyPassword => t!(lang, "mailbox.empty_password").into(),
        }
    }
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The text of the file at `path`, or of standard input for `-`.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    if is_stdin(path) {
        return std::io::read_to_string(std::io::stdin()).map_err(InputError::Stdin);
    }
    std::fs::read_to_string(path).map_err(|source| InputError::File {
        path: path.to_path_buf(),
        source,
    })
}

/// The bytes of the file at `path`.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|source| InputError::File {
        path: path.to_path_buf(),
        source,
    })
}

/// A password from the first line of `input`, without its line end; never empty.
pub fn read_password(mut input: impl BufRead) -> Result<SecretString, InputError> {
    let mut line = String::new();
    input.read_line(&mut line).map_err(InputError::Password)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(InputError::EmptyPassword);
    }
    Ok(SecretString::from(password.to_string()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_password_is_its_first_line_and_never_empty() {
        let password = read_password("s3cret\r\nrest\n".as_bytes()).unwrap();
        assert_eq!(password.expose_secret(), "s3cret");
        assert!(matches!(
            read_password("\n".as_bytes()),
            Err(InputError::EmptyPassword)
        ));
        assert!(matches!(
            read_password("".as_bytes()),
            Err(InputError::EmptyPassword)
        ));
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let error = read_text(Path::new("/nonexistent/guichet.txt")).unwrap_err();
        assert_eq!(
            error.localized(UiLang::En),
            "cannot read /nonexistent/guichet.txt"
        );
        assert!(std::error::Error::source(&error).is_some());
    }
}
