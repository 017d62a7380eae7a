//! Reads the identity of an ELF file on disk: its GNU build id, and, for files without one,
//! the hash of its code that symbolic uses in its place.
//!
//! Only the few pieces needed are read (headers, note segments, the section name table and
//! the first page of `.text`), so identifying a large binary stays cheap. Every offset and
//! size comes from the file itself and is checked before use: a corrupt file yields "no
//! build id" or "no text", never a panic or a huge allocation.
//!
//! Where symbolic's behaviour has corner cases (notes are matched by type alone, a section
//! with file offset 0 ends the `.text` search), this reader does the same, because a debug
//! id only helps if it equals the one the server computes from the uploaded file.

use std::io::{self, Read, Seek, SeekFrom};

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;

const PT_NOTE: u32 = 4;
const SHT_PROGBITS: u32 = 1;
const SHT_NOTE: u32 = 7;
const SHT_MIPS_DWARF: u32 = 0x7000_001e;
const SHN_XINDEX: u32 = 0xffff;
const NT_GNU_BUILD_ID: u32 = 3;

/// How much of `.text` symbolic hashes when a file has no build id.
const TEXT_HASH_LEN: u64 = 4096;
/// Upper bound for any single table or note area read from a file; real ones are far smaller.
const MAX_READ: u64 = 16 << 20;

/// What identifies an ELF file, before formatting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawElfIds {
    /// The descriptor of the first `NT_GNU_BUILD_ID` note, possibly empty.
    pub build_id: Option<Vec<u8>>,
    /// The XOR of the first page of `.text` folded into 16 bytes, when `.text` exists.
    pub text_hash: Option<[u8; 16]>,
    /// Whether the file is little-endian, which decides the GUID byte order.
    pub little_endian: bool,
}

/// Reads the ids of the ELF file behind `reader`; `Ok(None)` when it is not an ELF file.
pub(crate) fn read_elf_ids<R: Read + Seek>(reader: R) -> io::Result<Option<RawElfIds>> {
    let Some(mut elf) = ElfReader::new(reader)? else {
        return Ok(None);
    };
    let build_id = elf.build_id()?;
    // Like symbolic, only look at the code when there is no build id at all.
    let text_hash = match build_id {
        Some(_) => None,
        None => elf.text_first_page()?.map(|page| fold_into_16_bytes(&page)),
    };
    Ok(Some(RawElfIds {
        build_id,
        text_hash,
        little_endian: elf.layout.little_endian,
    }))
}

/// XORs `data` into 16 bytes, byte `i` into position `i % 16`: symbolic's fallback hash.
pub(crate) fn fold_into_16_bytes(data: &[u8]) -> [u8; 16] {
    let mut hash = [0u8; 16];
    for (i, byte) in data.iter().enumerate() {
        hash[i % 16] ^= byte;
    }
    hash
}

/// Word size and byte order of a file: everything needed to decode its fields.
#[derive(Debug, Clone, Copy)]
struct Layout {
    is_64: bool,
    little_endian: bool,
}

impl Layout {
    fn u16(self, bytes: &[u8], at: usize) -> Option<u64> {
        let raw: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(u64::from(if self.little_endian {
            u16::from_le_bytes(raw)
        } else {
            u16::from_be_bytes(raw)
        }))
    }

    fn u32(self, bytes: &[u8], at: usize) -> Option<u64> {
        let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u64::from(if self.little_endian {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        }))
    }

    fn u64(self, bytes: &[u8], at: usize) -> Option<u64> {
        let raw: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(if self.little_endian {
            u64::from_le_bytes(raw)
        } else {
            u64::from_be_bytes(raw)
        })
    }

    /// An address-sized field: 4 bytes in ELF32, 8 in ELF64.
    fn word(self, bytes: &[u8], at: usize) -> Option<u64> {
        if self.is_64 {
            self.u64(bytes, at)
        } else {
            self.u32(bytes, at)
        }
    }
}

/// A table of fixed-size entries in the file: program or section headers.
#[derive(Debug, Clone, Copy)]
struct Table {
    offset: u64,
    entry_size: u64,
    count: u64,
}

#[derive(Debug)]
struct ProgramHeader {
    kind: u32,
    offset: u64,
    file_size: u64,
    align: u64,
}

#[derive(Debug)]
struct SectionHeader {
    name: u64,
    kind: u32,
    offset: u64,
    size: u64,
    align: u64,
}

struct ElfReader<R> {
    inner: R,
    file_len: u64,
    layout: Layout,
    programs: Table,
    sections: Table,
    /// Index of the section holding section names; `None` when the file has none.
    names_index: Option<u64>,
}

/// What the ELF header says about the file's layout.
struct FileHeader {
    layout: Layout,
    programs: Table,
    sections: Table,
    names_index: u64,
}

/// Parses the ELF header (the first 52 or 64 bytes); `None` when it is not one.
fn parse_file_header(header: &[u8]) -> Option<FileHeader> {
    if header.get(..4)? != ELF_MAGIC {
        return None;
    }
    let (is_64, little_endian) = match (header.get(4)?, header.get(5)?) {
        (&ELFCLASS32, &ELFDATA2LSB) => (false, true),
        (&ELFCLASS32, &ELFDATA2MSB) => (false, false),
        (&ELFCLASS64, &ELFDATA2LSB) => (true, true),
        (&ELFCLASS64, &ELFDATA2MSB) => (true, false),
        _ => return None,
    };
    let l = Layout {
        is_64,
        little_endian,
    };
    // After e_entry the fields of the two classes sit at different offsets.
    let (phoff, shoff, sizes_at) = if is_64 {
        (l.u64(header, 0x20)?, l.u64(header, 0x28)?, 0x36)
    } else {
        (l.u32(header, 0x1c)?, l.u32(header, 0x20)?, 0x2a)
    };
    // e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx: consecutive u16 fields.
    let field = |n: usize| l.u16(header, sizes_at + 2 * n);
    Some(FileHeader {
        layout: l,
        programs: Table {
            offset: phoff,
            entry_size: field(0)?,
            count: field(1)?,
        },
        sections: Table {
            offset: shoff,
            entry_size: field(2)?,
            count: field(3)?,
        },
        names_index: field(4)?,
    })
}

impl<R: Read + Seek> ElfReader<R> {
    fn new(mut inner: R) -> io::Result<Option<Self>> {
        let file_len = inner.seek(SeekFrom::End(0))?;
        let mut header = [0u8; 64];
        let header = &mut header[..file_len.min(64) as usize];
        inner.seek(SeekFrom::Start(0))?;
        inner.read_exact(header)?;
        let Some(parsed) = parse_file_header(header) else {
            return Ok(None);
        };
        let mut elf = ElfReader {
            inner,
            file_len,
            layout: parsed.layout,
            programs: parsed.programs,
            sections: parsed.sections,
            names_index: Some(parsed.names_index),
        };
        elf.apply_extended_numbering()?;
        Ok(Some(elf))
    }

    /// Files with 0xff00 sections or more keep the real section count and name-table index
    /// in section 0 (`sh_size` and `sh_link`).
    fn apply_extended_numbering(&mut self) -> io::Result<()> {
        let needs_count = self.sections.count == 0 && self.sections.offset != 0;
        let needs_index = self.names_index == Some(u64::from(SHN_XINDEX));
        if !needs_count && !needs_index {
            return Ok(());
        }
        let first = self.read_at(self.sections.offset, self.sections.entry_size)?;
        let l = self.layout;
        let (size_at, link_at) = if l.is_64 { (32, 40) } else { (20, 24) };
        let first = first.as_deref().unwrap_or_default();
        if needs_count {
            self.sections.count = l.word(first, size_at).unwrap_or(0);
        }
        if needs_index {
            self.names_index = l.u32(first, link_at);
        }
        Ok(())
    }

    /// Reads `len` bytes at `offset`; `None` when the range is not inside the file.
    fn read_at(&mut self, offset: u64, len: u64) -> io::Result<Option<Vec<u8>>> {
        let in_file = offset
            .checked_add(len)
            .is_some_and(|end| end <= self.file_len);
        if !in_file || len > MAX_READ {
            return Ok(None);
        }
        self.inner.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0; len as usize];
        self.inner.read_exact(&mut buf)?;
        Ok(Some(buf))
    }

    /// Reads a whole header table; `None` when it does not fit in the file.
    fn read_table(&mut self, table: Table, min_entry: u64) -> io::Result<Option<Vec<u8>>> {
        if table.count == 0 || table.entry_size < min_entry {
            return Ok(None);
        }
        match table.count.checked_mul(table.entry_size) {
            Some(len) => self.read_at(table.offset, len),
            None => Ok(None),
        }
    }

    fn program_headers(&mut self) -> io::Result<Vec<ProgramHeader>> {
        let l = self.layout;
        let min_entry = if l.is_64 { 56 } else { 32 };
        let table = self.programs;
        let Some(bytes) = self.read_table(table, min_entry)? else {
            return Ok(Vec::new());
        };
        let headers = bytes
            .chunks_exact(table.entry_size as usize)
            .filter_map(|e| {
                let (offset, file_size, align) = if l.is_64 {
                    (l.u64(e, 8)?, l.u64(e, 32)?, l.u64(e, 48)?)
                } else {
                    (l.u32(e, 4)?, l.u32(e, 16)?, l.u32(e, 28)?)
                };
                let kind = l.u32(e, 0)? as u32;
                Some(ProgramHeader {
                    kind,
                    offset,
                    file_size,
                    align,
                })
            })
            .collect();
        Ok(headers)
    }

    fn section_headers(&mut self) -> io::Result<Vec<SectionHeader>> {
        let l = self.layout;
        let min_entry = if l.is_64 { 64 } else { 40 };
        let table = self.sections;
        let Some(bytes) = self.read_table(table, min_entry)? else {
            return Ok(Vec::new());
        };
        let headers = bytes
            .chunks_exact(table.entry_size as usize)
            .filter_map(|e| {
                let (offset, size, align) = if l.is_64 {
                    (l.u64(e, 24)?, l.u64(e, 32)?, l.u64(e, 48)?)
                } else {
                    (l.u32(e, 16)?, l.u32(e, 20)?, l.u32(e, 32)?)
                };
                Some(SectionHeader {
                    name: l.u32(e, 0)?,
                    kind: l.u32(e, 4)? as u32,
                    offset,
                    size,
                    align,
                })
            })
            .collect();
        Ok(headers)
    }

    /// The section name table, empty when the file has none.
    fn section_names(&mut self, sections: &[SectionHeader]) -> io::Result<Vec<u8>> {
        let Some(table) = self
            .names_index
            .and_then(|i| sections.get(usize::try_from(i).ok()?))
        else {
            return Ok(Vec::new());
        };
        let (offset, size) = (table.offset, table.size);
        Ok(self.read_at(offset, size)?.unwrap_or_default())
    }

    /// The build id as symbolic finds it: the first `NT_GNU_BUILD_ID` note of the `PT_NOTE`
    /// segments, else of the `.note.gnu.build-id` sections.
    fn build_id(&mut self) -> io::Result<Option<Vec<u8>>> {
        let l = self.layout;
        let programs = self.program_headers()?;
        for program in programs.iter().filter(|p| p.kind == PT_NOTE) {
            let Some(notes) = self.read_at(program.offset, program.file_size)? else {
                break;
            };
            match find_build_id_note(&notes, program.align, l) {
                NoteSearch::Found(id) => return Ok(Some(id.to_vec())),
                NoteSearch::NotFound => {}
                // symbolic stops at the first malformed note and moves on to the sections.
                NoteSearch::Malformed => break,
            }
        }

        let sections = self.section_headers()?;
        let names = self.section_names(&sections)?;
        for section in &sections {
            let is_build_id = section.kind == SHT_NOTE
                && name_at(&names, section.name) == Some(".note.gnu.build-id");
            if !is_build_id {
                continue;
            }
            let Some(notes) = self.read_at(section.offset, section.size)? else {
                break;
            };
            match find_build_id_note(&notes, section.align, l) {
                NoteSearch::Found(id) => return Ok(Some(id.to_vec())),
                NoteSearch::NotFound => {}
                NoteSearch::Malformed => break,
            }
        }
        Ok(None)
    }

    /// The first page of `.text`, found the way symbolic's `raw_section("text")` does.
    fn text_first_page(&mut self) -> io::Result<Option<Vec<u8>>> {
        let sections = self.section_headers()?;
        let names = self.section_names(&sections)?;
        for section in &sections {
            if !matches!(section.kind, SHT_PROGBITS | SHT_MIPS_DWARF) {
                continue;
            }
            let Some(name) = name_at(&names, section.name) else {
                continue;
            };
            // No real section starts at file offset 0; symbolic treats one as the sign of a
            // stripped phantom header and gives up the search there.
            if section.offset == 0 {
                return Ok(None);
            }
            if name.is_empty() {
                continue;
            }
            let bare = name.strip_prefix(".z").or_else(|| name.get(1..));
            if bare != Some("text") {
                continue;
            }
            let in_file = section
                .offset
                .checked_add(section.size)
                .is_some_and(|end| end <= self.file_len);
            if !in_file {
                return Ok(None);
            }
            return self.read_at(section.offset, section.size.min(TEXT_HASH_LEN));
        }
        Ok(None)
    }
}

/// The NUL-terminated name at `offset` of a name table, when it is valid UTF-8.
fn name_at(names: &[u8], offset: u64) -> Option<&str> {
    let rest = names.get(usize::try_from(offset).ok()?..)?;
    if rest.is_empty() {
        return None;
    }
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).ok()
}

enum NoteSearch<'a> {
    Found(&'a [u8]),
    NotFound,
    Malformed,
}

/// Walks the notes of one note segment or section looking for a build id.
///
/// Each note is a 12-byte header (name size, descriptor size, type), then the name and
/// the descriptor, each padded to the area's alignment (4 unless it says 8).
fn find_build_id_note(notes: &[u8], align: u64, l: Layout) -> NoteSearch<'_> {
    let align = match align {
        0..=4 => 4,
        8 => 8,
        _ => return NoteSearch::Malformed,
    };
    // Offsets are aligned within the area, which itself starts aligned; this matches how
    // 8-aligned notes (such as `.note.gnu.property`) lay out their 12-byte header.
    let align_up = |n: usize| n.checked_next_multiple_of(align);
    let mut at = 0usize;
    while at < notes.len() {
        let (Some(name_size), Some(desc_size), Some(kind)) =
            (l.u32(notes, at), l.u32(notes, at + 4), l.u32(notes, at + 8))
        else {
            return NoteSearch::Malformed;
        };
        let Some(found) = note_parts(notes, at, name_size as usize, desc_size as usize, align_up)
        else {
            return NoteSearch::Malformed;
        };
        let (desc, next) = found;
        if kind == u64::from(NT_GNU_BUILD_ID) {
            return NoteSearch::Found(desc);
        }
        at = next;
    }
    NoteSearch::NotFound
}

/// The descriptor of the note at `at` and the offset of the next one, when both fit.
fn note_parts(
    notes: &[u8],
    at: usize,
    name_size: usize,
    desc_size: usize,
    align_up: impl Fn(usize) -> Option<usize>,
) -> Option<(&[u8], usize)> {
    let name_start = at.checked_add(12)?;
    // The name size counts a terminating NUL, so a note needs at least one byte of name,
    // and the name itself must be text (symbolic parses it as a string).
    let name_end = name_start.checked_add(name_size.checked_sub(1)?)?;
    std::str::from_utf8(notes.get(name_start..name_end)?).ok()?;
    let desc_start = align_up(name_end + 1)?;
    let desc_end = desc_start.checked_add(desc_size)?;
    let desc = notes.get(desc_start..desc_end)?;
    Some((desc, align_up(desc_end)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const LE64: Layout = Layout {
        is_64: true,
        little_endian: true,
    };

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(name);
        out.resize(out.len().div_ceil(4) * 4, 0);
        out.extend_from_slice(desc);
        out.resize(out.len().div_ceil(4) * 4, 0);
        out
    }

    #[test]
    fn build_id_note_is_found_after_other_notes() {
        let mut notes = note(b"GNU\0", 1, &[0, 0, 0, 0, 3, 0, 0, 0]);
        notes.extend(note(b"GNU\0", NT_GNU_BUILD_ID, &[0xab, 0xcd, 0xef]));
        match find_build_id_note(&notes, 4, LE64) {
            NoteSearch::Found(id) => assert_eq!(id, [0xab, 0xcd, 0xef]),
            _ => panic!("build id not found"),
        }
    }

    #[test]
    fn truncated_or_nameless_notes_are_malformed() {
        let notes = note(b"GNU\0", NT_GNU_BUILD_ID, &[1; 20]);
        assert!(matches!(
            find_build_id_note(&notes[..notes.len() - 4], 4, LE64),
            NoteSearch::Malformed
        ));
        let nameless = note(b"", NT_GNU_BUILD_ID, &[1; 4]);
        assert!(matches!(
            find_build_id_note(&nameless, 4, LE64),
            NoteSearch::Malformed
        ));
        assert!(matches!(
            find_build_id_note(&[], 4, LE64),
            NoteSearch::NotFound
        ));
    }

    #[test]
    fn fold_xors_bytes_into_sixteen_positions() {
        let mut data = vec![0u8; 40];
        data[0] = 0x0f;
        data[16] = 0xf0;
        data[33] = 0x01;
        let hash = fold_into_16_bytes(&data);
        assert_eq!(hash[0], 0xff);
        assert_eq!(hash[1], 0x01);
        assert!(hash[2..].iter().all(|&b| b == 0));
    }

    #[test]
    fn non_elf_input_is_not_an_elf_file() {
        for input in [
            &b""[..],
            b"\x7fEL",
            b"MZ\x90\0 not an elf file at all, just text....",
        ] {
            assert_eq!(read_elf_ids(Cursor::new(input)).unwrap(), None);
        }
    }

    #[test]
    fn truncated_and_corrupted_files_never_panic() {
        let files: [&[u8]; 2] = [
            include_bytes!("../../tests/fixtures/elf/lib_sha1.so"),
            include_bytes!("../../tests/fixtures/elf/lib32_noid.so"),
        ];
        for file in files {
            for len in (0..file.len()).step_by(61).chain(0..128) {
                let _ = read_elf_ids(Cursor::new(&file[..len])).unwrap();
            }
            // Saturate each header byte in turn: offsets and counts become huge.
            for at in 0..64 {
                let mut corrupt = file.to_vec();
                corrupt[at] = 0xff;
                let _ = read_elf_ids(Cursor::new(corrupt)).unwrap();
            }
        }
    }
}
