//! What the SDK gathers about the machine and the program for every event: the `os`,
//! `device`, `rust` and `app` contexts and the server name.
//!
//! All of it is read once, by the background worker as soon as it starts (see
//! `Processor::host` in client.rs), so `init` stays fast and no capturing thread pays for it.

use std::time::SystemTime;

use crate::protocol::{Context, Contexts, Value};

/// Builds the default contexts. `start_time` is when the process started.
pub(crate) fn default_contexts(start_time: SystemTime) -> Contexts {
    let mut contexts = Contexts::new();
    contexts.insert("os".into(), os_context());
    contexts.insert("device".into(), device_context());
    contexts.insert("rust".into(), rust_context());
    contexts.insert("app".into(), app_context(start_time));
    contexts
}

fn context(ty: &str, fields: impl IntoIterator<Item = (&'static str, Option<String>)>) -> Context {
    let mut context = Context::new();
    context.insert("type".into(), Value::String(ty.into()));
    for (key, value) in fields {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            context.insert(key.into(), Value::String(value));
        }
    }
    context
}

fn os_context() -> Context {
    let (name, version, build) = os_name_version_build();
    context(
        "os",
        [
            ("name", Some(name)),
            ("version", version),
            ("kernel_version", kernel_version()),
            ("build", build),
        ],
    )
}

/// On Linux, from `os-release`: `os_info` runs `lsb_release -a` there, a shell script that
/// starts a dozen processes and cost about 45 ms of the first event (and of every short
/// program's shutdown) in the benchmarks.
#[cfg(target_os = "linux")]
fn os_name_version_build() -> (String, Option<String>, Option<String>) {
    let text = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|path| read_small_file(path))
        .unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
            .filter(|v| !v.is_empty())
    };
    let name = field("NAME").unwrap_or_else(|| "Linux".to_owned());
    (name, field("VERSION_ID"), field("VERSION_CODENAME"))
}

#[cfg(not(target_os = "linux"))]
fn os_name_version_build() -> (String, Option<String>, Option<String>) {
    let info = os_info::get();
    let name = match info.os_type() {
        os_info::Type::Unknown => std::env::consts::OS.to_owned(),
        ty => ty.to_string(),
    };
    let version = match info.version() {
        os_info::Version::Unknown => None,
        version => Some(version.to_string()),
    };
    (name, version, info.codename().map(str::to_owned))
}

fn kernel_version() -> Option<String> {
    read_trimmed("/proc/sys/kernel/osrelease")
}

fn device_context() -> Context {
    let mut device = context(
        "device",
        [("arch", Some(std::env::consts::ARCH.to_owned()))],
    );
    if let Some(cpus) = std::thread::available_parallelism().ok().map(|n| n.get()) {
        device.insert("processor_count".into(), cpus.into());
    }
    if let Some(bytes) = total_memory() {
        device.insert("memory_size".into(), bytes.into());
    }
    device
}

/// Total memory from /proc/meminfo, in bytes.
fn total_memory() -> Option<u64> {
    let meminfo = read_small_file("/proc/meminfo")?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn rust_context() -> Context {
    context(
        "runtime",
        [
            ("name", Some("rustc".to_owned())),
            ("version", Some(env!("SENTRY_RUSTC_VERSION").to_owned())),
            (
                "raw_description",
                Some(env!("SENTRY_RUSTC_DESCRIPTION").to_owned()),
            ),
        ],
    )
}

fn app_context(start_time: SystemTime) -> Context {
    let exe = std::env::current_exe().ok();
    let name = exe
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    context(
        "app",
        [
            ("app_name", name),
            (
                "app_start_time",
                Some(crate::time::format_utc_millis(start_time)),
            ),
        ],
    )
}

/// The host name, for the event's `server_name`.
pub(crate) fn server_name() -> Option<String> {
    read_trimmed("/proc/sys/kernel/hostname")
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|name| !name.is_empty())
}

/// When the process started: from /proc on Linux, else the time of the first call.
pub(crate) fn process_start_time() -> SystemTime {
    linux_process_start().unwrap_or_else(SystemTime::now)
}

/// The process start time is the boot time plus the start tick of /proc/self/stat. Linux
/// reports ticks at USER_HZ, which is 100 on every architecture Rust targets.
fn linux_process_start() -> Option<SystemTime> {
    let stat = read_small_file("/proc/self/stat")?;
    // The command name may contain spaces and parentheses; fields resume after the last ')'.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let start_ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot = read_small_file("/proc/stat")?;
    let btime: u64 = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let millis = btime * 1000 + start_ticks * 10;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(millis))
}

/// A file of a few KiB at most, read whole. Files under /proc and /sys report a size of 0,
/// so reading them with [`std::fs::read_to_string`] starts from 32 bytes and doubles: nine
/// reads for /proc/stat. With room for 16 KiB up front, it takes one read and the one that
/// finds the end.
fn read_small_file(path: &str) -> Option<String> {
    use std::io::Read;
    let mut text = String::with_capacity(16 * 1024);
    std::fs::File::open(path)
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = read_small_file(path)?;
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_have_their_types_and_key_fields() {
        let contexts = default_contexts(process_start_time());
        assert_eq!(contexts["os"]["type"], "os");
        assert!(contexts["os"]["name"].is_string());
        assert_eq!(contexts["device"]["arch"], std::env::consts::ARCH);
        assert_eq!(contexts["rust"]["type"], "runtime");
        assert!(
            contexts["rust"]["version"]
                .as_str()
                .unwrap()
                .starts_with("1.")
        );
        assert!(
            contexts["app"]["app_start_time"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        if cfg!(target_os = "linux") {
            assert!(contexts["os"]["kernel_version"].is_string());
        }
    }

    #[test]
    fn process_started_before_now() {
        let start = process_start_time();
        let age = SystemTime::now().duration_since(start).unwrap();
        assert!(age.as_secs() < 24 * 3600, "process age {age:?}");
    }
}
