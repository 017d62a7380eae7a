//! Listing the modules mapped in this process and describing each as a [`DebugImage`].

use crate::protocol::DebugImage;

use super::ImageList;

/// Scans the modules loaded now. Images already in `previous` (same file at the same
/// address) are reused as they are, so files without a build id are read from disk only
/// once per load.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn scan_loaded_images(previous: &ImageList) -> Vec<DebugImage> {
    linux::loaded_modules()
        .into_iter()
        .map(|module| module.into_image(previous))
        .collect()
}

/// Other systems are not supported yet: their frames are sent without images.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn scan_loaded_images(_previous: &ImageList) -> Vec<DebugImage> {
    Vec::new()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use findshlibs::{Segment, SharedLibrary, SharedLibraryId, TargetSharedLibrary};

    use super::super::{
        ImageList, NIL_DEBUG_ID, current_arch, debug_id_for_file, debug_id_from_build_id, hex,
    };
    use crate::protocol::DebugImage;

    /// What the dynamic loader tells about one module, copied out of its callback.
    pub(super) struct LoadedModule {
        path: String,
        /// Where the first loadable segment (holding the ELF header) is mapped.
        start: u64,
        /// One past the last byte of the highest loadable segment.
        end: u64,
        build_id: Option<Vec<u8>>,
    }

    /// The modules the dynamic loader knows, main executable first.
    pub(super) fn loaded_modules() -> Vec<LoadedModule> {
        let mut modules = Vec::new();
        // The loader holds its lock while calling back: only copy data here, and leave
        // reading files to the caller so a concurrent dlopen is never kept waiting on disk.
        TargetSharedLibrary::each(|library| {
            let is_main = modules.is_empty();
            if let Some(module) = LoadedModule::from_library(library, is_main) {
                modules.push(module);
            }
        });
        modules
    }

    impl LoadedModule {
        fn from_library(library: &TargetSharedLibrary<'_>, is_main: bool) -> Option<Self> {
            let bias = library.virtual_memory_bias().0 as u64;
            let (mut start, mut end) = (u64::MAX, 0u64);
            for segment in library.segments().filter(|s| s.is_load()) {
                let addr = bias.wrapping_add(segment.stated_virtual_memory_address().0 as u64);
                start = start.min(addr);
                end = end.max(addr.saturating_add(segment.len() as u64));
            }
            if start >= end {
                return None;
            }
            let mut path = library.name().to_string_lossy().into_owned();
            if path.is_empty() && is_main {
                // The loader reports the main program without a name.
                path = std::env::current_exe()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| "/proc/self/exe".to_owned());
            }
            let build_id = match library.id() {
                Some(SharedLibraryId::GnuBuildId(id)) => Some(id),
                _ => None,
            };
            Some(LoadedModule {
                path,
                start,
                end,
                build_id,
            })
        }

        pub(super) fn into_image(self, previous: &ImageList) -> DebugImage {
            let image_addr = format!("{:#x}", self.start);
            let (debug_id, code_id) = match &self.build_id {
                Some(id) if !id.is_empty() => (debug_id_from_build_id(id), Some(hex(id))),
                _ => {
                    let known = previous
                        .images()
                        .iter()
                        .find(|i| i.code_file == self.path && i.image_addr == image_addr);
                    match known {
                        Some(image) => (image.debug_id.clone(), image.code_id.clone()),
                        None => ids_from_disk(&self.path),
                    }
                }
            };
            DebugImage {
                ty: "elf".to_owned(),
                code_file: self.path,
                code_id,
                debug_id,
                image_addr,
                image_size: self.end - self.start,
                arch: Some(current_arch().to_owned()),
            }
        }
    }

    /// The ids of a module whose memory holds no build id: from its file, the way symbolic
    /// computes them. Modules without a file (like the vDSO) get the nil id.
    fn ids_from_disk(path: &str) -> (String, Option<String>) {
        if path.starts_with('/')
            && let Ok(Some(ids)) = debug_id_for_file(path)
        {
            return (ids.debug_id, ids.code_id);
        }
        (NIL_DEBUG_ID.to_owned(), None)
    }
}
