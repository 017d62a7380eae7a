//! What the SDK gathers about the machine and the program for every event: the `os`,
//! `device`, `rust` and `app` contexts and the server name.
//!
//! All of it is read once, by the background worker as soon as it starts (see
//! `Processor::host` in client.rs), so `init` stays fast and no capturing thread pays for it.

use std::time::SystemTime;

use crate::protocol::{Context, Contexts, Value};

/// Builds the default contexts.
pub(crate) fn default_contexts() -> Contexts {
    let system = SystemStat::read();
    let mut contexts = Contexts::new();
    contexts.insert("os".into(), os_context());
    contexts.insert("device".into(), device_context(&system));
    contexts.insert("rust".into(), rust_context());
    contexts.insert("app".into(), app_context(process_start_time(&system)));
    contexts
}

/// What /proc/stat tells: the boot time and the CPUs. Read once for both, since every file
/// read costs the short program that sends one event and exits (see `benches/`).
#[derive(Debug, Default)]
struct SystemStat {
    /// Seconds since the Unix epoch.
    boot_time: Option<u64>,
    /// The online CPUs (lines `cpu0`, `cpu1`, ...).
    cpus: Option<usize>,
}

impl SystemStat {
    fn read() -> SystemStat {
        read_small_file("/proc/stat")
            .map(|text| SystemStat::parse(&text))
            .unwrap_or_default()
    }

    fn parse(text: &str) -> SystemStat {
        let boot_time = text
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|t| t.trim().parse().ok());
        let cpus = text
            .lines()
            .filter(|l| {
                l.strip_prefix("cpu")
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        SystemStat {
            boot_time,
            cpus: (cpus > 0).then_some(cpus),
        }
    }
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

/// `processor_count` is the machine's CPUs, from /proc/stat on Linux. Not
/// `available_parallelism`, which is what this process may use (affinity, cgroup quota) and
/// reads four more files to find out.
fn device_context(system: &SystemStat) -> Context {
    let mut device = context(
        "device",
        [("arch", Some(std::env::consts::ARCH.to_owned()))],
    );
    let cpus = system
        .cpus
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()));
    if let Some(cpus) = cpus {
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
fn process_start_time(system: &SystemStat) -> SystemTime {
    linux_process_start(system).unwrap_or_else(SystemTime::now)
}

/// The process start time is the boot time plus the start tick of /proc/self/stat. Linux
/// reports ticks at USER_HZ, which is 100 on every architecture Rust targets.
fn linux_process_start(system: &SystemStat) -> Option<SystemTime> {
    let btime = system.boot_time?;
    let stat = read_small_file("/proc/self/stat")?;
    // The command name may contain spaces and parentheses; fields resume after the last ')'.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let start_ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let millis = btime * 1000 + start_ticks * 10;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(millis))
}

/// The most read from one file: /proc/stat of a machine with hundreds of CPUs is larger,
/// and its tail is not needed (a count of CPUs cut short is low; a `btime` cut off makes
/// the start time fall back to the first call).
const SMALL_FILE: u64 = 64 * 1024;

/// A file of a few KiB at most, read whole in as few system calls as it takes: open, a
/// read, the read that finds the end, close. `read_to_string` on a `File` first asks for
/// the size and the position, two more calls per file (files under /proc report a size of
/// 0 anyway); reading through `take` asks for neither.
fn read_small_file(path: &str) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(16 * 1024);
    std::fs::File::open(path)
        .ok()?
        .take(SMALL_FILE)
        .read_to_end(&mut bytes)
        .ok()?;
    String::from_utf8(bytes).ok()
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
        let contexts = default_contexts();
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
            // The machine's online CPUs, counted from /proc/stat.
            assert_eq!(
                contexts["device"]["processor_count"].as_u64(),
                SystemStat::read().cpus.map(|n| n as u64)
            );
        }
    }

    #[test]
    fn system_stat_counts_cpu_lines_and_reads_boot_time() {
        let text = "cpu  1 2 3\ncpu0 1 2 3\ncpu1 4 5 6\nintr 7\nctxt 8\nbtime 1700000000\n";
        let stat = SystemStat::parse(text);
        assert_eq!(stat.cpus, Some(2));
        assert_eq!(stat.boot_time, Some(1_700_000_000));
        let empty = SystemStat::parse("");
        assert_eq!((empty.cpus, empty.boot_time), (None, None));
    }

    #[test]
    fn process_started_before_now() {
        let start = process_start_time(&SystemStat::read());
        let age = SystemTime::now().duration_since(start).unwrap();
        assert!(age.as_secs() < 24 * 3600, "process age {age:?}");
    }
}
