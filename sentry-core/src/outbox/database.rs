//! The per-application database directory: where the outbox and crash reports live.
//!
//! Resolution: the `database_path` option, else `SENTRY_DATABASE_PATH`, else
//! `$XDG_CACHE_HOME/sentry-rs/<app>` (or `~/.cache/sentry-rs/<app>`), where `<app>` is the
//! executable's name, so two programs never mix their files. The directory is created with
//! owner-only permissions; a symbolic link in its place is refused, since following it would
//! let another user redirect the SDK's writes.

use std::io;
use std::path::{Path, PathBuf};

/// The default database directory of this program.
pub(crate) fn default_database_path() -> PathBuf {
    let app = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "app".to_owned());
    database_path_for(&app)
}

/// The default database directory of the program named `app` (its executable's file name):
/// `$XDG_CACHE_HOME/sentry-rs/<app>`, or `~/.cache/sentry-rs/<app>`. A supervisor such as
/// sentry-wrap uses it to find what a program it runs leaves behind.
///
/// ```
/// let dir = sentry_core::database_path_for("my-app");
/// assert!(dir.ends_with("sentry-rs/my-app"));
/// ```
pub fn database_path_for(app: &str) -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("sentry-rs").join(sanitize(app))
}

/// Keeps a file name safe to use as one path component.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Creates `path` (and its parents) if missing, owner-only, and checks it is a real
/// directory, not a link.
pub(crate) fn ensure_private_dir(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(io::Error::other(format!(
                "{} is a symbolic link; the SDK does not follow links for its database",
                path.display()
            )));
        }
        Ok(meta) if !meta.is_dir() => {
            return Err(io::Error::other(format!(
                "{} exists and is not a directory",
                path.display()
            )));
        }
        Ok(_) => return Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_per_application() {
        let path = default_database_path();
        assert!(
            path.ends_with(sanitize(
                &std::env::current_exe()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
            ))
        );
        assert!(path.to_string_lossy().contains("sentry-rs"));
    }

    #[cfg(unix)]
    #[test]
    fn created_private_and_links_refused() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("sentry-db-test-{}", std::process::id()));
        let dir = base.join("a/b");
        ensure_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let link = base.join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let error = ensure_private_dir(&link).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
