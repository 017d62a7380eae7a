//! Finding the crashing thread's instruction addresses without ever faulting.
//!
//! First the frame-pointer chain from the interrupted `rbp`/`x29`: exact when the code keeps
//! frame pointers (build with `-C force-frame-pointers=yes`; Rust release builds omit them by
//! default). When that chain gives fewer than [`MIN_FP_FRAMES`] frames, the stack is also
//! scanned upwards from `sp` for words that fall inside executable mappings, which finds return
//! addresses (and some stale ones) whatever the code was compiled with.
//!
//! Memory is only read inside the crashing thread's own stack mapping (found in
//! `/proc/self/maps`), which cannot be unmapped while that thread sits in the handler.

use super::registers::WalkStart;
use crate::reader::StackWalk;

/// A chain shorter than this is treated as "no frame pointers here" and the scan is added.
const MIN_FP_FRAMES: usize = 2;

/// Most stack bytes the scan looks at.
const MAX_SCAN_BYTES: u64 = 256 * 1024;

/// Walks from the interrupted registers, emitting at most `max` addresses (the first is `pc`).
/// `stack` is the readable range around `sp`, `exec` the executable ranges, and `read` reads
/// one aligned word of `stack` (it is only ever called with addresses inside `stack`).
pub(super) fn walk(
    WalkStart { pc, sp, fp }: WalkStart,
    stack: Option<(u64, u64)>,
    exec: &[(u64, u64)],
    max: usize,
    read: impl Fn(u64) -> u64,
    mut emit: impl FnMut(u64),
) -> StackWalk {
    emit(pc);
    let mut count = 1;
    let Some((lo, hi)) = stack else {
        return StackWalk::None;
    };
    let in_exec = |a: u64| exec.iter().any(|&(s, e)| a >= s && a < e);
    // The chain is judged before any of it is emitted: in code without frame pointers `fp`
    // may hold a stale but valid-looking record (of `main`'s caller, say), and emitting it
    // before falling back to the scan would put a frame that is not on the stack next to
    // the crash.
    let chain_frames = |mut emit: Option<&mut dyn FnMut(u64)>, limit: usize| {
        let mut frame = fp;
        let mut chain = 0;
        while chain < limit {
            // A frame record is two words inside the stack, 8-aligned, above the stack pointer.
            if frame % 8 != 0 || frame < lo.max(sp) || frame > hi.saturating_sub(16) {
                break;
            }
            let next = read(frame);
            let ret = read(frame + 8);
            if ret == 0 || !in_exec(ret) {
                break;
            }
            if let Some(emit) = emit.as_mut() {
                emit(ret);
            }
            chain += 1;
            // Records must move towards the stack base, or a corrupt chain could loop.
            if next <= frame {
                break;
            }
            frame = next;
        }
        chain
    };
    if chain_frames(None, MIN_FP_FRAMES) >= MIN_FP_FRAMES {
        chain_frames(Some(&mut emit), max - count);
        return StackWalk::FramePointers;
    }
    let start = sp.max(lo).next_multiple_of(8);
    let stop = hi.min(start.saturating_add(MAX_SCAN_BYTES));
    let mut at = start;
    while at + 8 <= stop && count < max {
        let word = read(at);
        if in_exec(word) {
            emit(word);
            count += 1;
        }
        at += 8;
    }
    StackWalk::Scan
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const EXEC: &[(u64, u64)] = &[(0x1000, 0x2000)];

    fn run(mem: &HashMap<u64, u64>, fp: u64, max: usize) -> (Vec<u64>, StackWalk) {
        let mut out = Vec::new();
        let start = WalkStart {
            pc: 0x1111,
            sp: 0x8000,
            fp,
        };
        let how = walk(
            start,
            Some((0x8000, 0x9000)),
            EXEC,
            max,
            |a| {
                assert!(
                    (0x8000..0x9000).contains(&a),
                    "read outside the stack: {a:#x}"
                );
                mem.get(&a).copied().unwrap_or(0)
            },
            |a| out.push(a),
        );
        (out, how)
    }

    #[test]
    fn follows_the_chain() {
        let mem = HashMap::from([
            (0x8100, 0x8200),
            (0x8108, 0x1500),
            (0x8200, 0x8300),
            (0x8208, 0x1600),
            (0x8300, 0),
            (0x8308, 0x1700),
        ]);
        let (frames, how) = run(&mem, 0x8100, 100);
        assert_eq!(frames, vec![0x1111, 0x1500, 0x1600, 0x1700]);
        assert_eq!(how, StackWalk::FramePointers);
        let (frames, _) = run(&mem, 0x8100, 2);
        assert_eq!(frames, vec![0x1111, 0x1500]);
    }

    #[test]
    fn loops_and_wild_pointers_fall_back_to_scanning() {
        // A record pointing to itself, then a frame pointer outside the stack.
        let mem = HashMap::from([(0x8100, 0x8100), (0x8108, 0x1500), (0x8010, 0x1abc)]);
        let (frames, how) = run(&mem, 0x8100, 100);
        assert_eq!(how, StackWalk::Scan);
        // The one-record chain is not emitted ahead of the scan: in code without frame
        // pointers such a record is stale (a real frame, but not the crash's caller).
        assert_eq!(frames, vec![0x1111, 0x1abc, 0x1500]);
        let (frames, how) = run(&mem, 0xdead_0000, 100);
        assert_eq!(how, StackWalk::Scan);
        assert_eq!(frames, vec![0x1111, 0x1abc, 0x1500]);
        let (_, how) = run(&mem, 0x8ff8, 100);
        assert_eq!(
            how,
            StackWalk::Scan,
            "a record may not straddle the stack end"
        );
    }

    #[test]
    fn no_stack_means_only_the_pc() {
        let mut out = Vec::new();
        let start = WalkStart {
            pc: 7,
            sp: 8,
            fp: 9,
        };
        let how = walk(start, None, EXEC, 10, |_| unreachable!(), |a| out.push(a));
        assert_eq!((out, how), (vec![7], StackWalk::None));
    }
}
