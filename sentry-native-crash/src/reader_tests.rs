//! Reader tests: round trips through the real writer, and property tests that no input makes
//! the reader panic and no damaged report is accepted.

use super::*;
use crate::format::ReportWriter;
use proptest::prelude::*;

fn sample(scope: &[u8], images: &[u8], frames: &[u64]) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut w = ReportWriter::new(Vec::new(), &mut buf);
    w.hex_line(b"signal", 11);
    w.hex_line(b"code", 1);
    w.text_line(b"name", b"SIGSEGV");
    w.hex_line(b"addr", 0);
    w.hex_line(b"pid", 1234);
    w.hex_line(b"tid", 1235);
    w.text_line(b"thread", b"worker 1");
    w.bytes(b"time ");
    w.hex(1_700_000_000);
    w.bytes(b" ");
    w.hex(123_456_789);
    w.bytes(b"\n");
    w.bytes(b"reg rip ");
    w.hex(0x5555_0000_1234);
    w.bytes(b"\n");
    w.bytes(b"stack 0x7000 0x9000\n");
    for &f in frames {
        w.hex_line(b"frame", f);
    }
    w.text_line(b"walk", b"fp");
    w.blob(b"scope", scope);
    w.blob(b"images", images);
    w.text_line(b"future-key", b"ignored");
    w.finish().0
}

#[test]
fn round_trip() {
    let bytes = sample(b"{\"marker\":1}\nend 0x0 0x0\n", b"", &[1, 2, 3]);
    let r = parse_report(&bytes).unwrap();
    assert_eq!(r.signal, 11);
    assert_eq!(r.code, 1);
    assert_eq!(r.signal_name, "SIGSEGV");
    assert_eq!(r.pid, 1234);
    assert_eq!(r.thread_id, 1235);
    assert_eq!(r.thread_name.as_deref(), Some("worker 1"));
    assert_eq!(r.timestamp, (1_700_000_000, 123_456_789));
    assert_eq!(r.register("rip"), Some(0x5555_0000_1234));
    assert_eq!(r.stack_range, Some((0x7000, 0x9000)));
    assert_eq!(r.frames, vec![1, 2, 3]);
    assert_eq!(r.stack_walk, StackWalk::FramePointers);
    assert_eq!(r.scope, b"{\"marker\":1}\nend 0x0 0x0\n");
    assert!(r.images.is_empty());
    assert_eq!(
        r.description(),
        "Segmentation fault: address not mapped at 0x0"
    );
}

#[test]
fn negative_si_code_round_trips() {
    let mut buf = [0u8; 64];
    let mut w = ReportWriter::new(Vec::new(), &mut buf);
    w.hex_line(b"signal", 6);
    w.hex_line(b"code", (-6i64) as u64);
    w.hex_line(b"tid", 1);
    w.bytes(b"time 0x1 0x2\n");
    let r = parse_report(&w.finish().0).unwrap();
    assert_eq!(r.code, -6);
    assert_eq!(r.signal_name, "SIGABRT");
    assert_eq!(r.description(), "Aborted: sent by tkill/raise");
}

#[test]
fn every_truncation_is_rejected() {
    let bytes = sample(b"scope", b"images", &[0x10, 0x20]);
    for cut in 0..bytes.len() {
        assert!(
            parse_report(&bytes[..cut]).is_err(),
            "accepted a cut at {cut}"
        );
    }
}

#[test]
fn missing_required_key_is_an_error() {
    let mut buf = [0u8; 64];
    let mut w = ReportWriter::new(Vec::new(), &mut buf);
    w.hex_line(b"signal", 11);
    let out = w.finish().0;
    assert!(matches!(parse_report(&out), Err(ReportError::Missing(_))));
}

#[test]
fn descriptions() {
    assert_eq!(
        describe(7, 2, 0x10),
        "Bus error: nonexistent physical address at 0x10"
    );
    assert_eq!(
        describe(8, 1, 0x400),
        "Floating-point exception: integer divide by zero at 0x400"
    );
    assert_eq!(
        describe(4, 2, 0x1),
        "Illegal instruction: illegal operand at 0x1"
    );
    assert_eq!(
        describe(5, 0x80, 0),
        "Trace/breakpoint trap: raised by the kernel at 0x0"
    );
    assert_eq!(describe(6, 0, 0), "Aborted: sent by kill");
    assert_eq!(describe(99, 1, 0), "Signal 99 (unknown)");
}

#[test]
fn pending_reports_ignores_temporaries() {
    let dir = std::env::temp_dir().join(format!("snc-pending-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("b.crash"), b"x").unwrap();
    std::fs::write(dir.join("a.crash"), b"x").unwrap();
    std::fs::write(dir.join("c.tmp"), b"x").unwrap();
    std::fs::write(dir.join("d.txt"), b"x").unwrap();
    let found = pending_reports(&dir);
    assert_eq!(found, vec![dir.join("a.crash"), dir.join("b.crash")]);
    assert!(pending_reports(dir.join("absent")).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_report(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_magic_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&tail);
        let _ = parse_report(&bytes);
    }

    #[test]
    fn blobs_and_frames_round_trip(
        scope in proptest::collection::vec(any::<u8>(), 0..1500),
        images in proptest::collection::vec(any::<u8>(), 0..1500),
        frames in proptest::collection::vec(any::<u64>(), 0..64),
    ) {
        let r = parse_report(&sample(&scope, &images, &frames)).unwrap();
        prop_assert_eq!(r.scope, scope);
        prop_assert_eq!(r.images, images);
        prop_assert_eq!(r.frames, frames);
    }

    #[test]
    fn mutated_reports_are_rejected_or_parsed_without_panic(
        scope in proptest::collection::vec(any::<u8>(), 0..256),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let good = sample(&scope, b"[]", &[1, 2]);
        let mut flipped = good.clone();
        let i = at.index(flipped.len());
        let changed = flipped[i] != byte;
        flipped[i] = byte;
        let result = parse_report(&flipped);
        // Any change to one byte breaks either the header, the end line or the checksum.
        if changed {
            prop_assert!(result.is_err());
        }
        let cut = cut.index(good.len());
        prop_assert!(parse_report(&good[..cut]).is_err());
    }
}
