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

    // One name for "the native crash handler exists in this build": the feature is on and
    // the target is one the handler supports. The code says `cfg(native_crash)` instead of
    // repeating the three conditions.
    println!("cargo::rustc-check-cfg=cfg(native_crash)");
    let feature = std::env::var_os("CARGO_FEATURE_NATIVE_CRASH").is_some();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if feature && os == "linux" && (arch == "x86_64" || arch == "aarch64") {
        println!("cargo:rustc-cfg=native_crash");
    }
}
