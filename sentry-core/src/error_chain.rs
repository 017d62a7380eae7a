//! Turning a Rust error and its `source()` chain into the protocol's exceptions.
//!
//! Rust erases the type of an error's sources (`&dyn Error`), so a type name has to be
//! recovered: the outermost error's type is known statically; for sources the SDK
//! recognises the standard library's error types by downcasting and otherwise takes the
//! type from the `Debug` output (`ConfigError { .. }` names `ConfigError`), the way every
//! Rust error reporter does.

use std::error::Error;

use crate::protocol::{Exception, Exceptions, Mechanism};

/// The exceptions for `error` and its causes: the root cause first, `error` last.
pub(crate) fn exceptions_from_error<E: Error + ?Sized>(error: &E) -> Exceptions {
    let outer_type = static_type_name::<E>();
    // Most chains are short; one allocation instead of growing from empty.
    let mut values = Vec::with_capacity(4);
    let mut depth = 0;
    // The outermost error may not be 'static, so it is handled before walking sources.
    values.push(exception_for(error, outer_type));
    let mut next = error.source();
    while let Some(source) = next {
        depth += 1;
        if depth > MAX_CHAIN {
            break;
        }
        values.push(exception_for(source, known_std_type(source)));
        next = source.source();
    }
    values.reverse();
    if let Some(outermost) = values.last_mut() {
        outermost.mechanism = Some(Mechanism {
            ty: "generic".into(),
            handled: Some(true),
            ..Default::default()
        });
    }
    Exceptions { values }
}

/// Chains longer than this are cut; a cycle in a buggy `source()` must not loop forever.
const MAX_CHAIN: usize = 32;

fn exception_for<E: Error + ?Sized>(error: &E, known: Option<String>) -> Exception {
    let full = known.unwrap_or_else(|| debug_type_name(error));
    let (module, ty) = split_path(full);
    Exception {
        ty,
        value: Some(error.to_string()),
        module,
        ..Default::default()
    }
}

/// The type name of `E` when it says something (not a trait object or a box of one).
fn static_type_name<E: ?Sized>() -> Option<String> {
    let name = std::any::type_name::<E>();
    if name.contains("dyn ") {
        return None;
    }
    Some(strip_generics_paths(name))
}

/// Standard library errors named as a user knows them.
fn known_std_type(error: &(dyn Error + 'static)) -> Option<String> {
    macro_rules! known {
        ($($ty:ty => $name:literal),* $(,)?) => {
            $(if error.is::<$ty>() { return Some($name.to_owned()); })*
        };
    }
    known! {
        std::io::Error => "std::io::Error",
        std::num::ParseIntError => "std::num::ParseIntError",
        std::num::ParseFloatError => "std::num::ParseFloatError",
        std::num::TryFromIntError => "std::num::TryFromIntError",
        std::str::Utf8Error => "std::str::Utf8Error",
        std::string::FromUtf8Error => "std::string::FromUtf8Error",
        std::str::ParseBoolError => "std::str::ParseBoolError",
        std::char::ParseCharError => "std::char::ParseCharError",
        std::fmt::Error => "std::fmt::Error",
        std::net::AddrParseError => "std::net::AddrParseError",
        std::env::VarError => "std::env::VarError",
        std::time::SystemTimeError => "std::time::SystemTimeError",
        std::sync::mpsc::RecvError => "std::sync::mpsc::RecvError",
        std::array::TryFromSliceError => "std::array::TryFromSliceError",
        std::ffi::NulError => "std::ffi::NulError",
        serde_json::Error => "serde_json::Error",
    }
    None
}

/// The type name the `Debug` output starts with: `Timeout { after: 3s }` gives `Timeout`.
/// An error whose `Debug` does not start with a name is called `Error`.
fn debug_type_name<E: Error + ?Sized>(error: &E) -> String {
    // Only the leading name is wanted: formatting stops at the first character after it
    // instead of rendering the whole `Debug` output (which, for a derived `Debug`, includes
    // every nested source) into a growing string on the capturing thread.
    let mut name = NamePrefix::default();
    let _ = std::fmt::write(&mut name, format_args!("{error:?}"));
    let mut name = name.text;
    name.truncate(name.trim_end_matches(':').len());
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        "Error".to_owned()
    } else {
        name
    }
}

/// A `fmt::Write` that keeps the leading run of name characters (alphanumerics, `_`, `:`)
/// and ends the formatting with an error at the first other character.
#[derive(Default)]
struct NamePrefix {
    text: String,
}

impl std::fmt::Write for NamePrefix {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(s.len());
        self.text.push_str(&s[..end]);
        if end < s.len() {
            Err(std::fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Shortens the paths inside generic arguments: `alloc::vec::Vec<my::T>` stays readable.
fn strip_generics_paths(name: &str) -> String {
    if !name.contains("alloc::") {
        return name.to_owned();
    }
    name.replace("alloc::string::", "")
        .replace("alloc::boxed::", "")
}

/// Splits `my_app::config::ConfigError` into (`my_app::config`, `ConfigError`), looking
/// only at the path outside generic arguments. Standard library types are reported under
/// their public path (`core::num::error::ParseIntError` is `std::num::ParseIntError`).
fn split_path(mut full: String) -> (Option<String>, String) {
    let outer_end = full.find('<').unwrap_or(full.len());
    let Some(pos) = full[..outer_end].rfind("::") else {
        return (None, full);
    };
    let module = &full[..pos];
    let mut segments = module.split("::");
    let module = match (segments.next(), segments.next()) {
        (Some("core" | "alloc" | "std"), Some(second)) => format!("std::{second}"),
        _ => module.to_owned(),
    };
    // The type name is the rest of `full`, kept in its own buffer (capturing thread).
    full.drain(..pos + 2);
    (Some(module), full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct ConfigError {
        source: std::io::Error,
    }
    impl fmt::Display for ConfigError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("could not load config")
        }
    }
    impl Error for ConfigError {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.source)
        }
    }

    #[derive(Debug)]
    enum StartupError {
        Config(ConfigError),
    }
    impl fmt::Display for StartupError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("startup failed")
        }
    }
    impl Error for StartupError {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            let StartupError::Config(inner) = self;
            Some(inner)
        }
    }

    #[test]
    fn whole_chain_root_cause_first() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "config.toml not found");
        let error = StartupError::Config(ConfigError { source: io });
        let values = exceptions_from_error(&error).values;
        let types: Vec<_> = values.iter().map(|e| e.ty.as_str()).collect();
        assert_eq!(types, ["Error", "ConfigError", "StartupError"]);
        assert_eq!(values[0].module.as_deref(), Some("std::io"));
        assert_eq!(values[0].value.as_deref(), Some("config.toml not found"));
        assert_eq!(
            values[2].module.as_deref(),
            Some("sentry_core::error_chain::tests")
        );
        assert_eq!(values[2].value.as_deref(), Some("startup failed"));
        let mechanism = values[2].mechanism.as_ref().unwrap();
        assert_eq!(
            (mechanism.ty.as_str(), mechanism.handled),
            ("generic", Some(true))
        );
        assert!(values[0].mechanism.is_none());
    }

    #[test]
    fn boxed_errors_are_named_from_their_debug_output() {
        let error: Box<dyn Error> = Box::new(ConfigError {
            source: std::io::Error::other("disk on fire"),
        });
        let values = exceptions_from_error(&*error).values;
        assert_eq!(values[1].ty, "ConfigError");
        assert_eq!(values[0].ty, "Error");
        assert_eq!(values[0].module.as_deref(), Some("std::io"));
    }

    /// A `Debug` that writes its name in pieces and then a long body.
    struct Pieces;
    impl fmt::Debug for Pieces {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Time")?;
            f.write_str("out")?;
            f.write_str(" { after: 3s, ")?;
            unreachable!("formatting goes on after the name")
        }
    }
    impl fmt::Display for Pieces {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("timed out")
        }
    }
    impl Error for Pieces {}

    #[test]
    fn debug_names_stop_at_the_end_of_the_name() {
        assert_eq!(debug_type_name(&Pieces), "Timeout");
    }

    #[test]
    fn parse_errors_keep_their_std_names() {
        let error = "x".parse::<u32>().unwrap_err();
        let values = exceptions_from_error(&error).values;
        assert_eq!(values[0].ty, "ParseIntError");
        assert_eq!(values[0].module.as_deref(), Some("std::num"));
    }
}
