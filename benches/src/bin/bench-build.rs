//! Build figures: a clean release build of a hello-world using each SDK with default
//! features, each in a fresh target directory, one after the other in the same run, with the
//! benchmark workspace's `Cargo.lock` (so both resolve to the versions the rest of the run used) and
//! `--offline` (the sources are already downloaded; downloading is not building).
//!
//! Each is built six times, in three rounds of official, ours, ours, official; the figure
//! is the mean (`BENCH_BUILD_ROUNDS` sets the number of rounds). One round is not enough
//! on a shared VM: two identical builds of the same crate have differed by 30% within a
//! round (41.1 and 31.2 s), from the machine's speed moving, not from the builds.
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
    // Order official, ours, ours, official (ABBA) in each round: the load of a shared
    // machine drifts over minutes, and this order cancels a steady drift from the
    // comparison.
    let rounds: usize = std::env::var("BENCH_BUILD_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut seconds: [Vec<f64>; 2] = Default::default();
    for index in std::iter::repeat_n([0, 1, 1, 0], rounds).flatten() {
        let (name, dependency, body) = &cases[index];
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
        // The benchmark workspace's lock: it holds both SDKs' dependency graphs.
        let lock = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
        std::fs::copy(lock, dir.join("Cargo.lock")).expect("copy the lock");
        let target = dir.join("target");
        // A build writes 150-300 MiB, which the kernel would write back to disk during the
        // next build (30 s later); flushed first, each build starts from a quiet disk, as
        // with hyperfine's `--prepare sync`.
        let _ = Command::new("sync").status();
        let start = Instant::now();
        let output = cargo(&dir, &target)
            .args(["build", "--release", "--offline"])
            .output()
            .expect("run cargo build");
        let elapsed = start.elapsed().as_secs_f64();
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "build of hello-{name} failed:\n{log}"
        );
        let units = log
            .lines()
            .filter(|l| l.trim_start().starts_with("Compiling "))
            .count();
        println!("{name}: {elapsed:.1} s");
        seconds[index].push(elapsed);
        results.set(format!("{name}.compiled_units"), units);
        results.set(format!("{name}.packages"), packages(&dir, &target));
    }
    for (index, (name, _, _)) in cases.iter().enumerate() {
        let mean = seconds[index].iter().sum::<f64>() / seconds[index].len() as f64;
        results.set(format!("{name}.seconds"), mean);
        results.set(format!("{name}.seconds_each"), seconds[index].clone());
    }
    // Each round's own ratio, to show how far one round can be from the mean.
    let round_ratios: Vec<f64> = seconds[1]
        .chunks(2)
        .zip(seconds[0].chunks(2))
        .map(|(ours, official)| ours.iter().sum::<f64>() / official.iter().sum::<f64>())
        .collect();
    println!("ratio per round: {round_ratios:.3?}");
    results.set("round_ratios", round_ratios);
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
