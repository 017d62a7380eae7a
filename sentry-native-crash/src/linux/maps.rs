//! Reading `/proc/self/maps` inside the signal handler, with a fixed buffer.
//!
//! It is read at crash time, not at install, because the interesting mappings change: thread
//! stacks are mapped when threads start, libraries when they are loaded. Reading it needs
//! only `open`/`read`/`close`, which are async-signal-safe; the parser is a byte-at-a-time state
//! machine so lines may straddle reads and no line buffer is needed.

/// Largest distance between a stack pointer below its stack mapping and that mapping: the
/// kernel keeps a 1 MiB gap below a growing main-thread stack, and an overflowing function can
/// move `sp` a frame further before touching memory.
const MAX_GAP_BELOW_STACK: u64 = (1 << 20) + (256 << 10);

/// What the handler learns from the maps.
pub(super) struct MapsInfo {
    /// How many entries of the `exec` slice were filled with executable ranges.
    pub(super) exec_count: usize,
    /// The readable mapping that holds (or, after an overflow, lies just above) `sp`.
    pub(super) stack: Option<(u64, u64)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Start,
    End,
    Perms,
    Rest,
}

/// Parses `start-end perms ...` lines fed in arbitrary pieces.
pub(super) struct Parser {
    field: Field,
    start: u64,
    end: u64,
    perm_index: u8,
    readable: bool,
    executable: bool,
    broken: bool,
}

impl Parser {
    pub(super) const fn new() -> Self {
        Parser {
            field: Field::Start,
            start: 0,
            end: 0,
            perm_index: 0,
            readable: false,
            executable: false,
            broken: false,
        }
    }

    /// Feeds bytes; calls `entry(start, end, readable, executable)` for each complete line.
    pub(super) fn feed(&mut self, bytes: &[u8], mut entry: impl FnMut(u64, u64, bool, bool)) {
        for &b in bytes {
            if b == b'\n' {
                if !self.broken && self.field != Field::Start && self.end > self.start {
                    entry(self.start, self.end, self.readable, self.executable);
                }
                *self = Parser::new();
                continue;
            }
            match self.field {
                Field::Start | Field::End => {
                    let digit = match b {
                        b'0'..=b'9' => Some(b - b'0'),
                        b'a'..=b'f' => Some(b - b'a' + 10),
                        _ => None,
                    };
                    match (digit, self.field, b) {
                        (Some(d), Field::Start, _) => {
                            self.start = self.start.wrapping_shl(4) | u64::from(d)
                        }
                        (Some(d), _, _) => self.end = self.end.wrapping_shl(4) | u64::from(d),
                        (None, Field::Start, b'-') => self.field = Field::End,
                        (None, Field::End, b' ') => self.field = Field::Perms,
                        _ => self.broken = true,
                    }
                }
                Field::Perms => {
                    match (self.perm_index, b) {
                        (0, b'r') => self.readable = true,
                        (2, b'x') => self.executable = true,
                        (_, b' ') => self.field = Field::Rest,
                        _ => {}
                    }
                    self.perm_index = self.perm_index.saturating_add(1);
                }
                Field::Rest => {}
            }
        }
    }
}

/// Picks the stack mapping for `sp` among entries seen in ascending order.
pub(super) struct StackFinder {
    sp: u64,
    found: Option<(u64, u64)>,
}

impl StackFinder {
    pub(super) fn new(sp: u64) -> Self {
        StackFinder { sp, found: None }
    }

    pub(super) fn offer(&mut self, start: u64, end: u64, readable: bool) {
        if self.found.is_some() || !readable || end <= self.sp {
            return;
        }
        // Either the mapping holds sp, or sp ran below the mapping into its guard area (stack
        // overflow) and this is the first readable mapping above.
        if start <= self.sp || start - self.sp <= MAX_GAP_BELOW_STACK {
            self.found = Some((start, end));
        }
    }

    pub(super) fn result(&self) -> Option<(u64, u64)> {
        self.found
    }
}

/// Reads `/proc/self/maps` with `buf`, storing executable ranges into `exec` (as many as fit)
/// and finding the stack around `sp`. Async-signal-safe. `None` if the file cannot be read.
pub(super) fn read(buf: &mut [u8], exec: &mut [(u64, u64)], sp: u64) -> Option<MapsInfo> {
    // SAFETY: the path is a NUL-terminated literal; open has no other preconditions.
    let fd = unsafe {
        libc::open(
            c"/proc/self/maps".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    let mut parser = Parser::new();
    let mut finder = StackFinder::new(sp);
    let mut count = 0;
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && super::writer::errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            break;
        }
        parser.feed(&buf[..n as usize], |start, end, r, x| {
            if x && count < exec.len() {
                exec[count] = (start, end);
                count += 1;
            }
            finder.offer(start, end, r);
        });
    }
    // SAFETY: `fd` is ours and closed once.
    unsafe {
        libc::close(fd);
    }
    Some(MapsInfo {
        exec_count: count,
        stack: finder.result(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &[u8] = b"55d0c0000000-55d0c0010000 r--p 00000000 08:01 123 /bin/x\n\
55d0c0010000-55d0c0020000 r-xp 00010000 08:01 123 /bin/x\n\
7f0000000000-7f0000001000 ---p 00000000 00:00 0 \n\
7f0000001000-7f0000801000 rw-p 00000000 00:00 0 \n\
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n\
garbage line\n\
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

    type Range = (u64, u64);

    fn parse_in_pieces(piece: usize, sp: u64) -> (Vec<Range>, Option<Range>) {
        let mut p = Parser::new();
        let mut f = StackFinder::new(sp);
        let mut exec = Vec::new();
        for chunk in MAPS.chunks(piece) {
            p.feed(chunk, |s, e, r, x| {
                if x {
                    exec.push((s, e));
                }
                f.offer(s, e, r);
            });
        }
        (exec, f.result())
    }

    #[test]
    fn parses_whatever_the_read_sizes() {
        for piece in [1, 3, 7, 64, 4096] {
            let (exec, stack) = parse_in_pieces(piece, 0x7ffd_0000_1000);
            assert_eq!(
                exec,
                vec![
                    (0x55d0_c001_0000, 0x55d0_c002_0000),
                    (0xffff_ffff_ff60_0000, 0xffff_ffff_ff60_1000)
                ]
            );
            assert_eq!(stack, Some((0x7ffd_0000_0000, 0x7ffd_0002_1000)));
        }
    }

    #[test]
    fn sp_in_a_guard_page_finds_the_stack_above() {
        let (_, stack) = parse_in_pieces(4096, 0x7f00_0000_0ff8);
        assert_eq!(stack, Some((0x7f00_0000_1000, 0x7f00_0080_1000)));
        // Below the main stack, in the kernel's gap.
        let (_, stack) = parse_in_pieces(4096, 0x7ffc_fff8_0000);
        assert_eq!(stack, Some((0x7ffd_0000_0000, 0x7ffd_0002_1000)));
        // Far from any mapping: nothing.
        let (_, stack) = parse_in_pieces(4096, 0x1000);
        assert_eq!(stack, None);
    }
}
