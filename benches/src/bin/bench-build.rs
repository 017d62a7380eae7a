//! Build figures: a clean release build of a hello-world using each SDK with default
//! features, each in a fresh target directory, one after the other in the same run, with the
//! workspace's `Cargo.lock` (so both resolve to the versions the rest of the run used) and
//! `--offline` (the sources are already downloaded; downloading is not building).
//!
//! Counted: wall time of `cargo build --release`, the compiled units (`Compiling` lines:
//! one per package, build scripts included in their package), and the unique packages of
//! `cargo tree -e normal,build` (the hello-world itself included).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sentry_benches::results::Results;
use sentry_benches::scratch_dir;

fn main() {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf();
    let sentry_core = workspace.join("sentry-core");
    let mut results = Results::default();
    let cases = [
        (
            "official",
            "sentry = \"0.49\"".to_owned(),
            "let _guard = sentry::init(\"http://public@127.0.0.1:9/1\");\n    \
             sentry::capture_message(\"hello\", sentry::Level::Info);",
        ),
        (
            "ours",
            format!(
                "sentry-core = {{ path = {:?} }}",
                sentry_core.display().to_string()
            ),
            "let _guard = sentry_core::init(\"http://public@127.0.0.1:9/1\");\n    \
             sentry_core::capture_message(\"hello\", sentry_core::protocol::Level::Info);",
        ),
    ];
    for (name, dependency, body) in cases {
        let dir = scratch_dir(&format!("build-{name}"));
        std::fs::create_dir_all(dir.join("src")).expect("create src");
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"hello-{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\n{dependency}\n\n# Not part of any workspace around it.\n[workspace]\n"
            ),
        )
        .expect("write Cargo.toml");
        std::fs::write(
            dir.join("src/main.rs"),
            format!("fn main() {{\n    {body}\n}}\n"),
        )
        .expect("write main.rs");
        std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy the lock");
        let target = dir.join("target");
        let start = Instant::now();
        let output = cargo(&dir, &target)
            .args(["build", "--release", "--offline"])
            .output()
            .expect("run cargo build");
        let seconds = start.elapsed().as_secs_f64();
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "build of hello-{name} failed:\n{log}"
        );
        let units = log
            .lines()
            .filter(|l| l.trim_start().starts_with("Compiling "))
            .count();
        results.set(format!("{name}.seconds"), seconds);
        results.set(format!("{name}.compiled_units"), units);
        results.set(format!("{name}.packages"), packages(&dir, &target));
    }
    results.save("build");
}

fn cargo(dir: &Path, target: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    command
}

fn packages(dir: &Path, target: &Path) -> usize {
    let output = cargo(dir, target)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .output()
        .expect("run cargo tree");
    let text = String::from_utf8_lossy(&output.stdout);
    let unique: BTreeSet<String> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect();
    unique.len()
}
