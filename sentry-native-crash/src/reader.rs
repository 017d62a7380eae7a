//! Reading reports back (ordinary code, run on the next start; never in a signal handler).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::format::{Fnv64, MAGIC, REPORT_EXTENSION, signal_name};

/// Reports larger than this are rejected without being read: the writer caps the scope and
/// image blobs and the frame count, so a bigger file is not one of ours.
pub const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// How the frames after the first (the pc) were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackWalk {
    /// Following the frame-pointer chain: exact when the code keeps frame pointers.
    FramePointers,
    /// Scanning stack memory for values inside executable mappings: may contain stale
    /// addresses, used when the frame-pointer chain gave (almost) nothing.
    Scan,
    /// Only the pc is known.
    None,
}

/// A crash report read back from disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashReport {
    /// Format version from the header.
    pub version: u32,
    /// Signal number (e.g. 11 for SIGSEGV).
    pub signal: i32,
    /// `si_code` of the signal: how it was raised (kernel fault kind, or sent by a process).
    pub code: i32,
    /// Signal name as written by the handler (e.g. `SIGSEGV`).
    pub signal_name: String,
    /// `si_addr`: the faulting address for SIGSEGV/SIGBUS, the instruction for SIGILL/SIGFPE.
    pub fault_address: u64,
    /// Id of the process that crashed.
    pub pid: u32,
    /// Kernel thread id (`gettid`) of the crashing thread.
    pub thread_id: u64,
    /// Name of the crashing thread (at most 15 bytes on Linux), if it has one.
    pub thread_name: Option<String>,
    /// Registers of the crashing thread, by name, in the order they were written.
    pub registers: Vec<(String, u64)>,
    /// Bounds `(low, high)` of the crashing thread's stack mapping, if it was found.
    pub stack_range: Option<(u64, u64)>,
    /// Instruction addresses of the crashing thread, innermost first; the first is the pc.
    pub frames: Vec<u64>,
    /// How `frames` after the first were found.
    pub stack_walk: StackWalk,
    /// The scope snapshot given to `set_scope`, byte for byte.
    pub scope: Vec<u8>,
    /// The image list given to `set_images`, byte for byte.
    pub images: Vec<u8>,
    /// The breadcrumbs given to `push_breadcrumb` that were kept, oldest first, byte for byte.
    pub breadcrumbs: Vec<Vec<u8>>,
    /// Wall-clock time of the crash: seconds and nanoseconds since the Unix epoch.
    pub timestamp: (u64, u32),
}

impl CrashReport {
    /// A register's value by name (`rip`, `rsp`, … on x86_64; `pc`, `sp`, `x0`… on aarch64).
    pub fn register(&self, name: &str) -> Option<u64> {
        self.registers
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }

    /// A sentence for people, e.g. `Segmentation fault: address not mapped at 0x0`.
    pub fn description(&self) -> String {
        describe(self.signal, self.code, self.fault_address)
    }
}

/// Why a file is not a readable report.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReportError {
    /// The file could not be read.
    Io(std::io::Error),
    /// Larger than [`MAX_REPORT_BYTES`].
    TooLarge(u64),
    /// Not a report, or a report of a version this reader does not know.
    BadHeader,
    /// No intact `end` line: the report was cut short (a crash while writing, a full disk).
    Truncated,
    /// The length or checksum in the `end` line does not match the content.
    Corrupt(&'static str),
    /// A line could not be parsed.
    Malformed {
        /// Byte offset of the line in the file.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A required key is absent.
    Missing(&'static str),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Io(e) => write!(f, "cannot read crash report: {e}"),
            ReportError::TooLarge(n) => write!(f, "crash report too large ({n} bytes)"),
            ReportError::BadHeader => f.write_str("not a crash report (bad header or version)"),
            ReportError::Truncated => f.write_str("crash report is truncated (no end marker)"),
            ReportError::Corrupt(what) => write!(f, "crash report is corrupt: {what}"),
            ReportError::Malformed { offset, reason } => {
                write!(f, "crash report is malformed at byte {offset}: {reason}")
            }
            ReportError::Missing(key) => write!(f, "crash report lacks `{key}`"),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads and verifies the report at `path`.
pub fn read_report(path: impl AsRef<Path>) -> Result<CrashReport, ReportError> {
    let path = path.as_ref();
    let len = std::fs::metadata(path).map_err(ReportError::Io)?.len();
    if len > MAX_REPORT_BYTES {
        return Err(ReportError::TooLarge(len));
    }
    let bytes = std::fs::read(path).map_err(ReportError::Io)?;
    parse_report(&bytes)
}

/// Finished reports (`*.crash`) in `dir`, oldest name first; `*.tmp` files (reports whose
/// writing never finished) and anything else are ignored. A missing directory has none.
pub fn pending_reports(dir: impl AsRef<Path>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == REPORT_EXTENSION))
        .collect();
    out.sort();
    out
}

/// Parses and verifies a report held in memory. Never panics, whatever the bytes.
pub fn parse_report(bytes: &[u8]) -> Result<CrashReport, ReportError> {
    if !bytes.starts_with(MAGIC) {
        return Err(ReportError::BadHeader);
    }
    let body_end = verify_end(bytes)?;
    let mut r = CrashReport {
        version: 1,
        signal: 0,
        code: 0,
        signal_name: String::new(),
        fault_address: 0,
        pid: 0,
        thread_id: 0,
        thread_name: None,
        registers: Vec::new(),
        stack_range: None,
        frames: Vec::new(),
        stack_walk: StackWalk::None,
        scope: Vec::new(),
        images: Vec::new(),
        breadcrumbs: Vec::new(),
        timestamp: (0, 0),
    };
    let (mut seen_signal, mut seen_tid, mut seen_time) = (false, false, false);
    let mut pos = MAGIC.len();
    while pos < body_end {
        let line_end = find_newline(bytes, pos, body_end).ok_or(ReportError::Malformed {
            offset: pos,
            reason: "unterminated line",
        })?;
        let line = &bytes[pos..line_end];
        let bad = |reason| ReportError::Malformed {
            offset: pos,
            reason,
        };
        let (key, value) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        let mut next = line_end + 1;
        match key {
            b"signal" => {
                r.signal = hex_i32(value).ok_or(bad("bad signal"))?;
                seen_signal = true;
            }
            b"code" => r.code = hex(value).ok_or(bad("bad code"))? as i64 as i32,
            b"name" => r.signal_name = text(value),
            b"addr" => r.fault_address = hex(value).ok_or(bad("bad addr"))?,
            b"pid" => {
                r.pid = hex(value)
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or(bad("bad pid"))?
            }
            b"tid" => {
                r.thread_id = hex(value).ok_or(bad("bad tid"))?;
                seen_tid = true;
            }
            b"thread" => r.thread_name = Some(text(value)),
            b"time" => {
                let (s, ns) = two_hex(value).ok_or(bad("bad time"))?;
                let ns = u32::try_from(ns).map_err(|_| bad("bad time"))?;
                r.timestamp = (s, ns);
                seen_time = true;
            }
            b"reg" => {
                let i = value
                    .iter()
                    .position(|&b| b == b' ')
                    .ok_or(bad("bad reg"))?;
                let v = hex(&value[i + 1..]).ok_or(bad("bad reg"))?;
                r.registers.push((text(&value[..i]), v));
            }
            b"stack" => r.stack_range = Some(two_hex(value).ok_or(bad("bad stack"))?),
            b"frame" => r.frames.push(hex(value).ok_or(bad("bad frame"))?),
            b"walk" => {
                r.stack_walk = match value {
                    b"fp" => StackWalk::FramePointers,
                    b"scan" => StackWalk::Scan,
                    _ => StackWalk::None,
                }
            }
            b"scope" | b"images" | b"crumb" => {
                let len = hex(value).ok_or(bad("bad blob length"))?;
                let len = usize::try_from(len).map_err(|_| bad("bad blob length"))?;
                let start = next;
                let stop = start
                    .checked_add(len)
                    .filter(|&s| s < body_end)
                    .ok_or(bad("blob runs past the end"))?;
                if bytes[stop] != b'\n' {
                    return Err(bad("blob not followed by a newline"));
                }
                let data = bytes[start..stop].to_vec();
                match key {
                    b"scope" => r.scope = data,
                    b"images" => r.images = data,
                    _ => r.breadcrumbs.push(data),
                }
                next = stop + 1;
            }
            _ => {} // a key from a later minor addition: skipped on purpose
        }
        pos = next;
    }
    if !seen_signal {
        return Err(ReportError::Missing("signal"));
    }
    if !seen_tid {
        return Err(ReportError::Missing("tid"));
    }
    if !seen_time {
        return Err(ReportError::Missing("time"));
    }
    if r.signal_name.is_empty() {
        r.signal_name = signal_name(r.signal).unwrap_or("UNKNOWN").to_owned();
    }
    Ok(r)
}

/// Checks the `end` line; returns where it starts (the end of the body).
fn verify_end(bytes: &[u8]) -> Result<usize, ReportError> {
    if bytes.last() != Some(&b'\n') {
        return Err(ReportError::Truncated);
    }
    let body = &bytes[..bytes.len() - 1];
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let last = &body[start..];
    let Some(rest) = last.strip_prefix(b"end ") else {
        return Err(ReportError::Truncated);
    };
    let (len, sum) = two_hex(rest).ok_or(ReportError::Truncated)?;
    if len != start as u64 {
        return Err(ReportError::Corrupt("length mismatch"));
    }
    let mut fnv = Fnv64::new();
    fnv.update(&bytes[..start]);
    if fnv.value() != sum {
        return Err(ReportError::Corrupt("checksum mismatch"));
    }
    Ok(start)
}

fn find_newline(bytes: &[u8], from: usize, to: usize) -> Option<usize> {
    bytes[from..to]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| from + i)
}

fn hex(s: &[u8]) -> Option<u64> {
    let digits = s.strip_prefix(b"0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut v = 0u64;
    for &d in digits {
        // Lowercase only, as the writer writes: one spelling per value, so that no changed
        // byte can leave the meaning intact.
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(n);
    }
    Some(v)
}

fn hex_i32(s: &[u8]) -> Option<i32> {
    hex(s).and_then(|v| i32::try_from(v).ok())
}

fn two_hex(s: &[u8]) -> Option<(u64, u64)> {
    let i = s.iter().position(|&b| b == b' ')?;
    Some((hex(&s[..i])?, hex(&s[i + 1..])?))
}

fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// A sentence describing a signal and its `si_code` (Linux values), e.g.
/// `Segmentation fault: address not mapped at 0x0`.
pub fn describe(signal: i32, code: i32, address: u64) -> String {
    let what = match signal {
        4 => "Illegal instruction",
        5 => "Trace/breakpoint trap",
        6 => "Aborted",
        7 => "Bus error",
        8 => "Floating-point exception",
        11 => "Segmentation fault",
        _ => {
            return format!(
                "Signal {signal} ({})",
                signal_name(signal).unwrap_or("unknown")
            );
        }
    };
    // si_code <= 0 means another process or the thread itself sent the signal (kill, raise,
    // abort); then the address is meaningless.
    let sent = match code {
        0 => Some("sent by kill"),
        -1 => Some("sent by sigqueue"),
        -6 => Some("sent by tkill/raise"),
        c if c < 0 => Some("sent by a process"),
        _ => None,
    };
    if let Some(sent) = sent {
        return format!("{what}: {sent}");
    }
    let detail = match (signal, code) {
        (11, 1) => "address not mapped",
        (11, 2) => "invalid permissions for mapped object",
        (11, 3) => "failed address bound checks",
        (11, 4) => "failed protection key checks",
        (7, 1) => "invalid address alignment",
        (7, 2) => "nonexistent physical address",
        (7, 3) => "object-specific hardware error",
        (4, 1) => "illegal opcode",
        (4, 2) => "illegal operand",
        (4, 3) => "illegal addressing mode",
        (4, 4) => "illegal trap",
        (4, 5) => "privileged opcode",
        (4, 6) => "privileged register",
        (4, 7) => "coprocessor error",
        (4, 8) => "internal stack error",
        (8, 1) => "integer divide by zero",
        (8, 2) => "integer overflow",
        (8, 3) => "floating-point divide by zero",
        (8, 4) => "floating-point overflow",
        (8, 5) => "floating-point underflow",
        (8, 6) => "floating-point inexact result",
        (8, 7) => "floating-point invalid operation",
        (5, 1) => "breakpoint",
        (5, 2) => "trace trap",
        (_, 0x80) => "raised by the kernel",
        _ => return format!("{what} (code {code}) at {address:#x}"),
    };
    format!("{what}: {detail} at {address:#x}")
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
