//! The modules (executable and shared libraries) loaded in the process, as the
//! [`DebugImage`]s a server needs to symbolicate native frames.
//!
//! Scanning is done once and cached for the whole process: every event shares the same
//! [`ImageList`]. [`images_covering`] rescans only when a stack holds an address outside every
//! known module, which is how libraries opened later with `dlopen` get picked up without
//! paying for a scan on every event.
//!
//! Each image's `debug_id` is computed exactly as symbolic (and so `sentry-cli` and the
//! server) computes it from the file, so uploaded debug files match:
//!
//! * from the GNU build id when the module has one: its first 16 bytes as a GUID;
//! * otherwise from the first page of the module's `.text` section, read from disk.
//!
//! Only Linux (and Android) ELF modules are listed for now; on other systems the list is empty.

mod cache;
mod elf;
mod scan;

use std::fs::File;
use std::io;
use std::path::Path;

use crate::protocol::DebugImage;

pub use cache::{images_covering, loaded_images, refresh_loaded_images};

/// The debug id of a module without any identifier: symbolic's empty debug id.
pub const NIL_DEBUG_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A list of loaded modules with a fast lookup of the module containing an address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageList {
    images: Vec<DebugImage>,
    /// `(start, end, index into images)`, sorted by start, for binary search.
    ranges: Vec<(u64, u64, usize)>,
}

impl ImageList {
    /// Builds a list from images; their `image_addr` and `image_size` define the lookup.
    pub fn new(images: Vec<DebugImage>) -> Self {
        let mut ranges: Vec<(u64, u64, usize)> = images
            .iter()
            .enumerate()
            .filter_map(|(index, image)| {
                let start = parse_hex_addr(&image.image_addr)?;
                let end = start.checked_add(image.image_size)?;
                Some((start, end, index))
            })
            .collect();
        ranges.sort_unstable();
        ImageList { images, ranges }
    }

    /// The images, in the order the system reported them (the main executable first).
    pub fn images(&self) -> &[DebugImage] {
        &self.images
    }

    /// The image whose mapped range contains `addr`.
    pub fn find(&self, addr: u64) -> Option<&DebugImage> {
        // The last range starting at or before addr is the only candidate: modules don't overlap.
        let after = self.ranges.partition_point(|&(start, _, _)| start <= addr);
        let &(_, end, index) = self.ranges.get(after.checked_sub(1)?)?;
        (addr < end).then(|| &self.images[index])
    }

    /// Whether some image contains `addr`.
    pub fn covers(&self, addr: u64) -> bool {
        self.find(addr).is_some()
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }
}

/// The identity of an ELF file as a server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfIds {
    /// The debug id, a GUID formatted lowercase with dashes.
    pub debug_id: String,
    /// The full GNU build id as lowercase hex; `None` when the file has none.
    pub code_id: Option<String>,
}

/// Converts a GNU build id into the debug id symbolic computes for it.
///
/// The first 16 bytes (zero-padded when shorter) are read as a GUID: on little-endian
/// systems the first three fields are byte-swapped (bytes 0..4, 4..6, 6..8). The result is
/// lowercase with dashes, e.g. `0740df9b-9e5b-8faf-5a49-86421fa68a83`. The byte order used is
/// the running system's, which is the byte order of every module loaded in it.
pub fn debug_id_from_build_id(build_id: &[u8]) -> String {
    guid_from_identifier(build_id, cfg!(target_endian = "little"))
}

/// Reads an ELF file and computes its debug id and code id as symbolic does.
///
/// `Ok(None)` when the file is not ELF. A file with neither a build id nor a `.text`
/// section gets [`NIL_DEBUG_ID`], as in symbolic. Only the headers, notes and the first page
/// of code are read, so this is cheap even for large binaries.
pub fn debug_id_for_file(path: impl AsRef<Path>) -> io::Result<Option<ElfIds>> {
    let file = io::BufReader::new(File::open(path)?);
    let Some(raw) = elf::read_elf_ids(file)? else {
        return Ok(None);
    };
    let ids = match (raw.build_id, raw.text_hash) {
        (Some(build_id), _) => ElfIds {
            debug_id: guid_from_identifier(&build_id, raw.little_endian),
            code_id: (!build_id.is_empty()).then(|| hex(&build_id)),
        },
        (None, Some(hash)) => ElfIds {
            debug_id: guid_from_identifier(&hash, raw.little_endian),
            code_id: None,
        },
        (None, None) => ElfIds {
            debug_id: NIL_DEBUG_ID.to_owned(),
            code_id: None,
        },
    };
    Ok(Some(ids))
}

/// Formats the first 16 bytes of `identifier` as a GUID the way symbolic does.
///
/// symbolic treats the bytes of a little-endian file as a little-endian GUID and converts
/// it to the big-endian (network order) form Breakpad expects; big-endian files are used as is.
fn guid_from_identifier(identifier: &[u8], little_endian: bool) -> String {
    let mut bytes = [0u8; 16];
    let len = identifier.len().min(16);
    bytes[..len].copy_from_slice(&identifier[..len]);
    if little_endian {
        bytes[0..4].reverse();
        bytes[4..6].reverse();
        bytes[6..8].reverse();
    }
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Parses a `0x`-prefixed hex address as the protocol writes them (`image_addr`,
/// `instruction_addr`).
pub fn parse_hex_addr(text: &str) -> Option<u64> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}

/// The protocol's name for the architecture this program was built for.
fn current_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "powerpc" => "ppc",
        "powerpc64" => "ppc64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(addr: u64, size: u64, file: &str) -> DebugImage {
        DebugImage {
            ty: "elf".into(),
            code_file: file.into(),
            code_id: None,
            debug_id: NIL_DEBUG_ID.into(),
            image_addr: format!("{addr:#x}"),
            image_size: size,
            arch: None,
        }
    }

    #[test]
    fn find_returns_the_image_containing_the_address() {
        let list = ImageList::new(vec![
            image(0x7000, 0x1000, "/lib/b.so"),
            image(0x1000, 0x2000, "/bin/a"),
        ]);
        assert_eq!(list.find(0x1000).unwrap().code_file, "/bin/a");
        assert_eq!(list.find(0x2fff).unwrap().code_file, "/bin/a");
        assert!(list.find(0x3000).is_none());
        assert!(list.find(0xfff).is_none());
        assert_eq!(list.find(0x7abc).unwrap().code_file, "/lib/b.so");
        assert!(list.find(0x8000).is_none());
        assert!(ImageList::default().find(0x1000).is_none());
    }

    #[test]
    fn guid_swaps_the_first_three_fields_only_for_little_endian() {
        let id: Vec<u8> = (0u8..20).collect();
        assert_eq!(
            guid_from_identifier(&id, true),
            "03020100-0504-0706-0809-0a0b0c0d0e0f"
        );
        assert_eq!(
            guid_from_identifier(&id, false),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        // Shorter identifiers are padded with zeros before swapping.
        assert_eq!(
            guid_from_identifier(&[1, 2, 3, 4, 5], true),
            "04030201-0005-0000-0000-000000000000"
        );
        assert_eq!(guid_from_identifier(&[], true), NIL_DEBUG_ID);
    }

    #[test]
    fn hex_and_addresses_round_trip() {
        assert_eq!(hex(&[0x01, 0xab, 0xff]), "01abff");
        assert_eq!(parse_hex_addr("0x7f00abc"), Some(0x7f00abc));
        assert_eq!(parse_hex_addr("7f00"), None);
    }
}
