//! The crash report format, shared by the writer (signal handler) and the reader.
//!
//! A report is line-based text so that it can be written with nothing but `write(2)` and a
//! fixed buffer, and read back by a human with `less`:
//!
//! ```text
//! SENTRY-NATIVE-CRASH 1                 header: magic and format version
//! signal 0xb                            signal number
//! code 0x1                              si_code (two's complement, 64-bit hex)
//! name SIGSEGV                          signal name
//! addr 0x0                              si_addr
//! pid 0x4d2                             process id
//! tid 0x4d2                             crashing thread id (gettid)
//! thread main                           crashing thread name (bytes 0x20..0x7e; others are '?')
//! time 0x65f0a1b2 0x1dcd6500            CLOCK_REALTIME seconds and nanoseconds
//! reg rip 0x55d0c0ffee00                one line per register
//! stack 0x7ffd0000 0x7ffe0000           bounds of the crashing thread's stack mapping
//! frame 0x55d0c0ffee00                  instruction addresses, innermost first, first is the pc
//! walk fp                               how frames after the pc were found: fp, scan or none
//! scope 0x1c                            opaque blob: hex length, newline, that many bytes, newline
//! ...28 bytes...
//! crumb 0x12                            one per breadcrumb kept, oldest first, same framing
//! ...18 bytes...
//! images 0x0                            opaque blob, same framing
//!
//! end 0x1f3 0x8c2fa3e0d91b0c55          length of everything before this line, FNV-1a 64 of it
//! ```
//!
//! The `end` line is last and the file ends with its newline: a report that was cut short
//! anywhere, or altered, fails the length or checksum check. Unknown keys are skipped by the
//! reader so that version 1 can gain keys without breaking older readers.

/// First line of every report, including its newline.
pub(crate) const MAGIC: &[u8] = b"SENTRY-NATIVE-CRASH 1\n";

/// Suffix of a finished report; files with any other suffix are not reports.
pub const REPORT_EXTENSION: &str = "crash";

/// Suffix of a report being written; never read back.
pub const TEMP_EXTENSION: &str = "tmp";

/// FNV-1a 64-bit, the report checksum: cheap, allocation-free and good enough to tell a
/// damaged file from an intact one (it is not meant to resist tampering).
#[derive(Clone, Copy)]
pub(crate) struct Fnv64(u64);

impl Fnv64 {
    pub(crate) const fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub(crate) fn value(self) -> u64 {
        self.0
    }
}

/// Where the report writer puts bytes. The handler writes to a file descriptor; tests write
/// to memory.
pub(crate) trait Sink {
    /// Writes all of `bytes`; false when that failed, after which the report is abandoned.
    fn write_all(&mut self, bytes: &[u8]) -> bool;
}

#[cfg(test)]
impl Sink for Vec<u8> {
    fn write_all(&mut self, bytes: &[u8]) -> bool {
        self.extend_from_slice(bytes);
        true
    }
}

/// Streams a report into a [`Sink`] without allocating, keeping the running length and
/// checksum for the `end` line. The first write failure sticks: later writes are no-ops and
/// [`ReportWriter::finish`] reports failure.
pub(crate) struct ReportWriter<'a, S: Sink> {
    sink: S,
    /// Staging buffer, borrowed so that the handler can use static memory instead of the
    /// (possibly 8 KiB) alternate signal stack.
    buf: &'a mut [u8],
    used: usize,
    total: u64,
    sum: Fnv64,
    ok: bool,
}

impl<'a, S: Sink> ReportWriter<'a, S> {
    /// Starts a report, writing the header. `buf` must not be empty.
    pub(crate) fn new(sink: S, buf: &'a mut [u8]) -> Self {
        let mut w = ReportWriter {
            sink,
            buf,
            used: 0,
            total: 0,
            sum: Fnv64::new(),
            ok: true,
        };
        w.bytes(MAGIC);
        w
    }

    fn flush(&mut self) {
        if self.ok && self.used > 0 {
            self.ok = self.sink.write_all(&self.buf[..self.used]);
        }
        self.used = 0;
    }

    /// Appends raw bytes, counting them into the length and checksum.
    pub(crate) fn bytes(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        self.sum.update(bytes);
        while !bytes.is_empty() {
            if self.used == self.buf.len() {
                self.flush();
            }
            let n = (self.buf.len() - self.used).min(bytes.len());
            self.buf[self.used..self.used + n].copy_from_slice(&bytes[..n]);
            self.used += n;
            bytes = &bytes[n..];
        }
    }

    /// Appends `0x` and the lowercase hex digits of `value`.
    pub(crate) fn hex(&mut self, value: u64) {
        let mut digits = [0u8; 18];
        let text = format_hex(value, &mut digits);
        self.bytes(text);
    }

    /// Appends `key value\n` with a hex value.
    pub(crate) fn hex_line(&mut self, key: &[u8], value: u64) {
        self.bytes(key);
        self.bytes(b" ");
        self.hex(value);
        self.bytes(b"\n");
    }

    /// Appends `key text\n`, replacing bytes outside printable ASCII with `?` so that the
    /// text can never break the line structure.
    pub(crate) fn text_line(&mut self, key: &[u8], text: &[u8]) {
        self.bytes(key);
        self.bytes(b" ");
        for &b in text {
            let b = if (0x20..0x7f).contains(&b) { b } else { b'?' };
            self.bytes(&[b]);
        }
        self.bytes(b"\n");
    }

    /// Appends a length-prefixed blob: `key 0xLEN\n`, the bytes, `\n`.
    pub(crate) fn blob(&mut self, key: &[u8], data: &[u8]) {
        self.hex_line(key, data.len() as u64);
        self.bytes(data);
        self.bytes(b"\n");
    }

    /// Writes the `end` line and flushes; returns the sink and whether every write succeeded.
    pub(crate) fn finish(mut self) -> (S, bool) {
        let (total, sum) = (self.total, self.sum.value());
        self.bytes(b"end ");
        self.hex(total);
        self.bytes(b" ");
        self.hex(sum);
        self.bytes(b"\n");
        self.flush();
        (self.sink, self.ok)
    }
}

/// Formats `value` as `0x` plus lowercase hex into `out`, returning the used part.
pub(crate) fn format_hex(value: u64, out: &mut [u8; 18]) -> &[u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut tmp = [0u8; 16];
    let mut n = 0;
    let mut v = value;
    loop {
        tmp[n] = DIGITS[(v & 0xf) as usize];
        n += 1;
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out[0] = b'0';
    out[1] = b'x';
    for i in 0..n {
        out[2 + i] = tmp[n - 1 - i];
    }
    &out[..2 + n]
}

/// Formats `value` as lowercase hex without prefix (for file names).
pub(crate) fn format_hex_bare(value: u64, out: &mut [u8; 18]) -> &[u8] {
    &format_hex(value, out)[2..]
}

/// The conventional name of a signal number on Linux, or `None` for one without a name here.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_formatting() {
        let mut b = [0u8; 18];
        assert_eq!(format_hex(0, &mut b), b"0x0");
        assert_eq!(format_hex(0xdead_beef, &mut b), b"0xdeadbeef");
        assert_eq!(format_hex(u64::MAX, &mut b), b"0xffffffffffffffff");
        assert_eq!(format_hex_bare(0x1a, &mut b), b"1a");
    }

    #[test]
    fn writer_spans_many_buffers_and_ends_with_checksum() {
        let mut buf = [0u8; 100];
        let mut w = ReportWriter::new(Vec::new(), &mut buf);
        let big = vec![7u8; 3 * 100 + 5];
        w.blob(b"scope", &big);
        w.text_line(b"thread", b"a\nb\x00c");
        let (out, ok) = w.finish();
        assert!(ok);
        let end = out[..out.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        let mut sum = Fnv64::new();
        sum.update(&out[..end]);
        let expected = format!("end {:#x} {:#x}\n", end, sum.value());
        assert_eq!(&out[end..], expected.as_bytes());
        assert!(
            out.windows(13).any(|w| w == b"thread a?b?c\n"),
            "control bytes replaced"
        );
    }
}
