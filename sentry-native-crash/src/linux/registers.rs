//! Registers of the interrupted thread, from the `ucontext_t` the kernel passes the handler.

use crate::format::{ReportWriter, Sink};

/// The registers the stack walk starts from.
#[derive(Clone, Copy, Default)]
pub(super) struct WalkStart {
    pub(super) pc: u64,
    pub(super) sp: u64,
    pub(super) fp: u64,
}

#[cfg(target_arch = "x86_64")]
const NAMES: [(&[u8], libc::c_int); 18] = [
    (b"rax", libc::REG_RAX),
    (b"rbx", libc::REG_RBX),
    (b"rcx", libc::REG_RCX),
    (b"rdx", libc::REG_RDX),
    (b"rsi", libc::REG_RSI),
    (b"rdi", libc::REG_RDI),
    (b"rbp", libc::REG_RBP),
    (b"rsp", libc::REG_RSP),
    (b"r8", libc::REG_R8),
    (b"r9", libc::REG_R9),
    (b"r10", libc::REG_R10),
    (b"r11", libc::REG_R11),
    (b"r12", libc::REG_R12),
    (b"r13", libc::REG_R13),
    (b"r14", libc::REG_R14),
    (b"r15", libc::REG_R15),
    (b"rip", libc::REG_RIP),
    (b"eflags", libc::REG_EFL),
];

/// Writes one `reg NAME VALUE` line per register and returns where the walk starts.
#[cfg(target_arch = "x86_64")]
pub(super) fn write<S: Sink>(w: &mut ReportWriter<'_, S>, uc: &libc::ucontext_t) -> WalkStart {
    let gregs = &uc.uc_mcontext.gregs;
    for (name, index) in NAMES {
        reg_line(w, name, gregs[index as usize] as u64);
    }
    WalkStart {
        pc: gregs[libc::REG_RIP as usize] as u64,
        sp: gregs[libc::REG_RSP as usize] as u64,
        fp: gregs[libc::REG_RBP as usize] as u64,
    }
}

/// Writes one `reg NAME VALUE` line per register and returns where the walk starts.
#[cfg(target_arch = "aarch64")]
pub(super) fn write<S: Sink>(w: &mut ReportWriter<'_, S>, uc: &libc::ucontext_t) -> WalkStart {
    const X: [&[u8]; 31] = [
        b"x0", b"x1", b"x2", b"x3", b"x4", b"x5", b"x6", b"x7", b"x8", b"x9", b"x10", b"x11",
        b"x12", b"x13", b"x14", b"x15", b"x16", b"x17", b"x18", b"x19", b"x20", b"x21", b"x22",
        b"x23", b"x24", b"x25", b"x26", b"x27", b"x28", b"x29", b"x30",
    ];
    let mc = &uc.uc_mcontext;
    for (name, value) in X.iter().zip(mc.regs.iter()) {
        reg_line(w, name, *value);
    }
    reg_line(w, b"sp", mc.sp);
    reg_line(w, b"pc", mc.pc);
    reg_line(w, b"pstate", mc.pstate);
    WalkStart {
        pc: mc.pc,
        sp: mc.sp,
        fp: mc.regs[29],
    }
}

fn reg_line<S: Sink>(w: &mut ReportWriter<'_, S>, name: &[u8], value: u64) {
    w.bytes(b"reg ");
    w.bytes(name);
    w.bytes(b" ");
    w.hex(value);
    w.bytes(b"\n");
}
