//! Masking secrets in a command line before it leaves the machine.
//!
//! Command lines carry secrets more often than they should (`--password hunter2`,
//! `API_TOKEN=...`, `postgres://app:secret@db/`). The rules are simple on purpose, so that
//! a user can predict them:
//!
//! * the value of an option whose name says it is secret: `--password X`, `--token=X`,
//!   `-p`-style short options are not guessed at;
//! * the value of a `name=value` word whose name says it is secret: `DB_PASSWORD=X`;
//! * the password of a URL: `https://user:X@host/`.
//!
//! A name says it is secret when it contains `pass`, `pwd`, `secret`, `token`, `auth`,
//! `credential`, `private`, `session`, `cookie` or `signature`, or has `key` as one of its
//! `-`/`_`-separated words (`--api-key`, `aws_access_key_id`). Masked values read
//! `[Filtered]`, as Sentry's own scrubbing writes them.

/// What replaces a secret.
pub const FILTERED: &str = "[Filtered]";

const SECRET_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "auth",
    "credential",
    "private",
    "session",
    "cookie",
    "signature",
];

/// Whether an option or variable name names a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.trim_start_matches('-').to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
        || name
            .split(['-', '_', '.'])
            .any(|part| part == "key" || part == "apikey")
}

/// The command line with secrets masked, one string per argument.
pub fn scrub_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for arg in args {
        if mask_next {
            mask_next = false;
            out.push(FILTERED.to_owned());
            continue;
        }
        if arg.starts_with('-') && !arg.contains('=') && is_secret_name(arg) {
            // `--password X`: the next argument is the secret, unless it is another option.
            mask_next = true;
            out.push(arg.clone());
            continue;
        }
        out.push(scrub_word(arg));
    }
    // An option given last has no value to mask; `mask_next` simply ends unused.
    out
}

/// One argument: `name=value` and URL passwords.
fn scrub_word(arg: &str) -> String {
    if let Some((name, _)) = arg.split_once('=')
        && !name.contains("://")
        && is_secret_name(name)
    {
        return format!("{name}={FILTERED}");
    }
    scrub_url_password(arg)
}

/// `scheme://user:password@host` becomes `scheme://user:[Filtered]@host`, anywhere in `text`.
fn scrub_url_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, after) = rest.split_at(start + 3);
        out.push_str(before);
        let authority_end = after.find(['/', ' ', '?', '#']).unwrap_or(after.len());
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(FILTERED);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// The scrubbed command line as one string, arguments quoted where a shell would need it.
pub fn display_command(args: &[String]) -> String {
    scrub_args(args)
        .iter()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%[]".contains(c));
            if plain {
                arg.clone()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(args: &[&str]) -> Vec<String> {
        scrub_args(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn option_values_and_assignments_are_masked() {
        assert_eq!(
            scrub(&[
                "backup",
                "--password",
                "hunter2",
                "--api-key=abc",
                "--token",
                "t0k",
                "DB_PASSWORD=pw",
                "aws_access_key_id=AKIA",
                "--verbose",
                "--keyboard=us",
                "mode=fast",
            ]),
            [
                "backup",
                "--password",
                FILTERED,
                "--api-key=[Filtered]",
                "--token",
                FILTERED,
                "DB_PASSWORD=[Filtered]",
                "aws_access_key_id=[Filtered]",
                "--verbose",
                "--keyboard=us",
                "mode=fast",
            ]
        );
    }

    #[test]
    fn url_passwords_are_masked_and_the_rest_kept() {
        assert_eq!(
            scrub(&[
                "postgres://app:s3cret@db:5432/x",
                "https://example.com/a:b@c"
            ]),
            [
                "postgres://app:[Filtered]@db:5432/x",
                "https://example.com/a:b@c"
            ]
        );
        assert_eq!(
            scrub(&["--url=https://u:p@h/"]),
            ["--url=https://u:[Filtered]@h/"]
        );
    }

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let args: Vec<String> = ["sh", "-c", "kill -SEGV $$", "--password", "x"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            display_command(&args),
            "sh -c 'kill -SEGV $$' --password [Filtered]"
        );
    }
}
