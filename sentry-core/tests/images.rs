//! Debug images: ids computed like symbolic, and the modules of this very process.

use std::path::{Path, PathBuf};
use std::process::Command;

use sentry_core::images::{
    NIL_DEBUG_ID, debug_id_for_file, debug_id_from_build_id, images_covering, loaded_images,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/elf")
        .join(name)
}

/// Expected ids as `symbolic.Archive.open(path).iter_objects()` reported them (symbolic
/// Python package, see fixtures/elf/build.sh).
const SYMBOLIC_IDS: &[(&str, &str, Option<&str>)] = &[
    // No build id, .text larger than one page: hash of the first 4096 bytes only.
    ("lib_noid.so", "3c1dc335-0eff-6561-8ea3-81e5ecd0bbb8", None),
    // No build id, short .text.
    ("exe_noid", "3fbcaec4-7279-c469-f1c2-70978197f969", None),
    // ELF32 without build id.
    (
        "lib32_noid.so",
        "f6a22ae9-228c-5e0d-34f7-bf051d7f546e",
        None,
    ),
    // 20-byte SHA-1 build id: truncated to 16 bytes for the debug id.
    (
        "lib_sha1.so",
        "0740df9b-9e5b-8faf-5a49-86421fa68a83",
        Some("9bdf40075b9eaf8f5a4986421fa68a837e102f0d"),
    ),
    // 6-byte build id: zero-padded.
    (
        "exe_shortid",
        "67452301-ab89-0000-0000-000000000000",
        Some("0123456789ab"),
    ),
    // ELF32 with a 16-byte md5 build id.
    (
        "lib32_md5.so",
        "8ac3b132-0ce6-be7a-243a-321b704d51c9",
        Some("32b1c38ae60c7abe243a321b704d51c9"),
    ),
];

#[test]
fn fixture_ids_match_symbolic() {
    for &(name, debug_id, code_id) in SYMBOLIC_IDS {
        let ids = debug_id_for_file(fixture(name))
            .unwrap()
            .unwrap_or_else(|| panic!("{name} not read as ELF"));
        assert_eq!(ids.debug_id, debug_id, "debug id of {name}");
        assert_eq!(ids.code_id.as_deref(), code_id, "code id of {name}");
    }
}

#[test]
fn build_id_conversion_matches_symbolic() {
    let sha1 = hex_bytes("9bdf40075b9eaf8f5a4986421fa68a837e102f0d");
    assert_eq!(
        debug_id_from_build_id(&sha1),
        "0740df9b-9e5b-8faf-5a49-86421fa68a83"
    );
    assert_eq!(
        debug_id_from_build_id(&hex_bytes("0123456789ab")),
        "67452301-ab89-0000-0000-000000000000"
    );
}

#[test]
fn non_elf_files_have_no_ids() {
    let source = fixture("fixture_lib.c");
    assert_eq!(debug_id_for_file(source).unwrap(), None);
    assert!(debug_id_for_file(fixture("does-not-exist")).is_err());
}

/// Builds fresh files with gcc and compares with symbolic run live. Runs only when
/// `SYMBOLIC_PYTHON` names a Python with the `symbolic` package; skipped otherwise.
#[test]
fn freshly_built_files_match_live_symbolic() {
    let Some(python) = std::env::var_os("SYMBOLIC_PYTHON") else {
        eprintln!("SYMBOLIC_PYTHON not set: skipping the live symbolic comparison");
        return;
    };
    let dir = std::env::temp_dir().join(format!("sentry-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = fixture("fixture_lib.c");
    let variants: &[(&str, &[&str])] = &[
        ("noid.so", &["-shared", "-Wl,--build-id=none"]),
        ("sha1.so", &["-shared", "-Wl,--build-id=sha1"]),
        ("md5.so", &["-shared", "-Wl,--build-id=md5"]),
        ("uuid.so", &["-shared", "-Wl,--build-id=uuid"]),
        ("short.so", &["-shared", "-Wl,--build-id=0xbeef01"]),
        (
            "noid-O0.so",
            &["-O0", "-g", "-shared", "-Wl,--build-id=none"],
        ),
    ];
    let mut paths = Vec::new();
    for (name, flags) in variants {
        let out = dir.join(name);
        let status = Command::new("gcc")
            .args(["-fPIC", "-o"])
            .arg(&out)
            .args(*flags)
            .arg(&source)
            .status();
        match status {
            Ok(s) if s.success() => paths.push(out),
            _ => {
                eprintln!("gcc unavailable or failed: skipping the live symbolic comparison");
                return;
            }
        }
    }
    let script = "import sys, symbolic\n\
        for p in sys.argv[1:]:\n\
        \x20   o = next(iter(symbolic.Archive.open(p).iter_objects()))\n\
        \x20   print(p, o.debug_id, o.code_id or '-')\n";
    let output = Command::new(&python)
        .args(["-c", script])
        .args(&paths)
        .output()
        .expect("running SYMBOLIC_PYTHON");
    assert!(output.status.success(), "{output:?}");
    let report = String::from_utf8(output.stdout).unwrap();
    assert_eq!(report.lines().count(), paths.len());
    for line in report.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let ids = debug_id_for_file(fields[0]).unwrap().unwrap();
        assert_eq!(ids.debug_id, fields[1], "debug id of {}", fields[0]);
        let code_id = ids.code_id.as_deref().unwrap_or("-");
        assert_eq!(code_id, fields[2], "code id of {}", fields[0]);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The build id `readelf -n` prints for a file, when readelf is installed.
fn readelf_build_id(path: &str) -> Option<String> {
    let output = Command::new("readelf").arg("-n").arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))?;
    Some(line.trim().to_owned())
}

/// Start addresses of the mappings at file offset 0 (the ELF header), by file, from
/// `/proc/self/maps`.
fn header_mappings() -> Vec<(u64, PathBuf)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (range, offset, path) = (fields[0], fields[2], *fields.get(5)?);
            let start = range.split('-').next()?;
            (u64::from_str_radix(offset, 16).ok()? == 0)
                .then(|| Some((u64::from_str_radix(start, 16).ok()?, PathBuf::from(path))))?
        })
        .collect()
}

#[test]
#[cfg(target_os = "linux")]
fn this_process_lists_main_executable_and_libc_with_their_build_ids() {
    let images = loaded_images();
    let exe = std::env::current_exe().unwrap();
    let main = &images.images()[0];
    assert_eq!(Path::new(&main.code_file), exe, "main executable first");
    let libc = images
        .images()
        .iter()
        .find(|i| i.code_file.contains("/libc.so"))
        .expect("libc is loaded");
    let maps = header_mappings();

    for image in [main, libc] {
        assert_eq!(image.ty, "elf");
        assert_eq!(image.arch.as_deref(), Some(expected_arch()));
        // The ids from memory agree with the file on disk...
        let on_disk = debug_id_for_file(&image.code_file).unwrap().unwrap();
        assert_eq!(image.code_id, on_disk.code_id, "{}", image.code_file);
        assert_eq!(image.debug_id, on_disk.debug_id, "{}", image.code_file);
        // ...and with readelf, when it is there.
        let code_id = image.code_id.clone().expect("build id");
        if let Some(readelf) = readelf_build_id(&image.code_file) {
            assert_eq!(code_id, readelf, "{}", image.code_file);
        }
        assert_eq!(image.debug_id, debug_id_from_build_id(&hex_bytes(&code_id)));
        // image_addr is where the kernel mapped the file's first byte.
        let real_path = std::fs::canonicalize(&image.code_file).unwrap();
        let addr = u64::from_str_radix(image.image_addr.trim_start_matches("0x"), 16).unwrap();
        assert!(
            maps.iter()
                .any(|(start, path)| *start == addr && *path == real_path),
            "{} not mapped at {}",
            image.code_file,
            image.image_addr
        );
        assert!(image.image_size > 0);
    }

    // Code of this test lies inside the main executable's range.
    let test_fn: fn() = this_process_lists_main_executable_and_libc_with_their_build_ids;
    let here = test_fn as usize as u64;
    assert_eq!(
        images.find(here).map(|i| &i.code_file),
        Some(&main.code_file)
    );
}

#[test]
fn images_are_cached_and_shared() {
    let first = loaded_images();
    let test_fn: fn() = images_are_cached_and_shared;
    let here = test_fn as usize as u64;
    let covering = images_covering([here]);
    assert!(std::sync::Arc::ptr_eq(&first, &covering) || covering.covers(here));
    assert!(!first.images().iter().any(|i| i.debug_id.is_empty()));
    // Every listed module has a real debug id except, possibly, file-less ones like the vDSO.
    for image in first.images() {
        if image.debug_id == NIL_DEBUG_ID {
            assert!(!image.code_file.starts_with('/'), "{image:?}");
        }
    }
}

fn expected_arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else if cfg!(target_arch = "x86") {
        "x86"
    } else {
        std::env::consts::ARCH
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
