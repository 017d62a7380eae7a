//! Records the compiler version for the `rust` context of events.

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default();
    // "rustc 1.95.0 (59807616e 2026-04-14)" -> version "1.95.0", description the whole line.
    let line = version.trim();
    let number = line.split_whitespace().nth(1).unwrap_or("unknown");
    println!("cargo:rustc-env=SENTRY_RUSTC_VERSION={number}");
    println!("cargo:rustc-env=SENTRY_RUSTC_DESCRIPTION={line}");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
