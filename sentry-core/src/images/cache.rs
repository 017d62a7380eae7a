//! The process-wide image list: scanned once, shared by every event, and rescanned only
//! when a stack points outside every known module.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::ImageList;
use super::scan::scan_loaded_images;
use crate::protocol::DebugImage;

/// The page size used to remember addresses no module covers; the real page size does not
/// matter, it only groups nearby addresses (JIT code, garbage pointers) together.
const MISS_PAGE_SHIFT: u32 = 12;
/// How many such pages are remembered at most, so a flood of odd addresses can't grow it.
const MAX_REMEMBERED_MISSES: usize = 1024;

static PROCESS_IMAGES: ImageCache = ImageCache::new();

/// The modules loaded in the process, scanned on first use and cached.
///
/// Cheap after the first call: it returns a shared pointer to the cached list.
pub fn loaded_images() -> Arc<ImageList> {
    PROCESS_IMAGES.get(scan_loaded_images)
}

/// The cached image list, rescanned first when some address in `addrs` lies outside every
/// cached module (a library loaded since the last scan).
///
/// Addresses still outside every module after a rescan are remembered, so a stack with
/// JIT or bogus addresses costs one rescan, not one per event. Call it with the
/// instruction addresses of the stack about to be sent.
pub fn images_covering(addrs: impl IntoIterator<Item = u64>) -> Arc<ImageList> {
    PROCESS_IMAGES.covering(addrs, scan_loaded_images)
}

/// Rescans the loaded modules now and replaces the cached list.
pub fn refresh_loaded_images() -> Arc<ImageList> {
    PROCESS_IMAGES.rescan(scan_loaded_images)
}

/// A cached image list and the bookkeeping to refresh it. The scanner is a parameter so the
/// refresh rules can be tested without touching the real process.
pub(super) struct ImageCache {
    current: RwLock<Option<Arc<ImageList>>>,
    /// Held while scanning, so concurrent callers wait for one scan instead of each doing it.
    /// It guards the pages that the latest scan did not cover, sorted (a small sorted list
    /// rather than a set type: one less collection compiled into every build).
    scanning: Mutex<Vec<u64>>,
}

impl ImageCache {
    pub(super) const fn new() -> Self {
        ImageCache {
            current: RwLock::new(None),
            scanning: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn get(&self, scan: impl Fn(&ImageList) -> Vec<DebugImage>) -> Arc<ImageList> {
        if let Some(list) = self.current.read().as_ref() {
            return list.clone();
        }
        let _scanning = self.scanning.lock();
        if let Some(list) = self.current.read().as_ref() {
            return list.clone();
        }
        self.store(scan(&ImageList::default()))
    }

    pub(super) fn covering(
        &self,
        addrs: impl IntoIterator<Item = u64>,
        scan: impl Fn(&ImageList) -> Vec<DebugImage>,
    ) -> Arc<ImageList> {
        let list = self.get(&scan);
        let mut outside: Vec<u64> = addrs.into_iter().filter(|&a| !list.covers(a)).collect();
        if outside.is_empty() {
            return list;
        }
        let mut missed_pages = self.scanning.lock();
        // Another thread may have rescanned while this one waited for the lock.
        let list = self.current.read().clone().unwrap_or(list);
        outside.retain(|&a| {
            !list.covers(a) && missed_pages.binary_search(&(a >> MISS_PAGE_SHIFT)).is_err()
        });
        if outside.is_empty() {
            return list;
        }
        let fresh = self.store(scan(&list));
        missed_pages.clear();
        for addr in outside.into_iter().filter(|&a| !fresh.covers(a)) {
            if missed_pages.len() >= MAX_REMEMBERED_MISSES {
                break;
            }
            let page = addr >> MISS_PAGE_SHIFT;
            if let Err(at) = missed_pages.binary_search(&page) {
                missed_pages.insert(at, page);
            }
        }
        fresh
    }

    pub(super) fn rescan(&self, scan: impl Fn(&ImageList) -> Vec<DebugImage>) -> Arc<ImageList> {
        let mut missed_pages = self.scanning.lock();
        let previous = self.current.read().clone().unwrap_or_default();
        missed_pages.clear();
        self.store(scan(&previous))
    }

    fn store(&self, images: Vec<DebugImage>) -> Arc<ImageList> {
        let list = Arc::new(ImageList::new(images));
        *self.current.write() = Some(list.clone());
        list
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::images::NIL_DEBUG_ID;

    fn image(addr: u64, size: u64) -> DebugImage {
        DebugImage {
            ty: "elf".into(),
            code_file: format!("/lib/at-{addr:x}.so"),
            code_id: None,
            debug_id: NIL_DEBUG_ID.into(),
            image_addr: format!("{addr:#x}"),
            image_size: size,
            arch: None,
        }
    }

    /// A fake process: the modules loaded, which a test can change, and a scan counter.
    struct FakeProcess {
        modules: Mutex<Vec<DebugImage>>,
        scans: AtomicUsize,
    }

    impl FakeProcess {
        fn new(modules: Vec<DebugImage>) -> Self {
            FakeProcess {
                modules: Mutex::new(modules),
                scans: AtomicUsize::new(0),
            }
        }

        fn scan(&self) -> impl Fn(&ImageList) -> Vec<DebugImage> + '_ {
            |_previous| {
                self.scans.fetch_add(1, Ordering::SeqCst);
                self.modules.lock().clone()
            }
        }

        fn scans(&self) -> usize {
            self.scans.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn scans_once_and_shares_the_list() {
        let process = FakeProcess::new(vec![image(0x1000, 0x1000)]);
        let cache = ImageCache::new();
        let first = cache.get(process.scan());
        let second = cache.get(process.scan());
        assert!(Arc::ptr_eq(&first, &second));
        let covered = cache.covering([0x1000, 0x1fff], process.scan());
        assert!(Arc::ptr_eq(&first, &covered));
        assert_eq!(process.scans(), 1);
    }

    #[test]
    fn rescans_when_an_address_is_outside_every_image() {
        let process = FakeProcess::new(vec![image(0x1000, 0x1000)]);
        let cache = ImageCache::new();
        assert_eq!(cache.get(process.scan()).len(), 1);
        // A library gets loaded later, as with dlopen.
        process.modules.lock().push(image(0x9000, 0x1000));
        let list = cache.covering([0x1000, 0x9abc], process.scan());
        assert_eq!(process.scans(), 2);
        assert!(list.covers(0x9abc));
        // Now both are known: no further scan.
        cache.covering([0x9abc], process.scan());
        assert_eq!(process.scans(), 2);
    }

    #[test]
    fn addresses_no_module_covers_cost_only_one_rescan() {
        let process = FakeProcess::new(vec![image(0x1000, 0x1000)]);
        let cache = ImageCache::new();
        cache.covering([0x1000, 0x5_0000], process.scan());
        assert_eq!(process.scans(), 2);
        cache.covering([0x5_0010], process.scan());
        cache.covering([0x1000, 0x5_0000], process.scan());
        assert_eq!(process.scans(), 2);
        // A different unknown page is worth another look.
        cache.covering([0x7_0000], process.scan());
        assert_eq!(process.scans(), 3);
    }

    #[test]
    fn every_missed_page_is_remembered_whatever_the_order() {
        let process = FakeProcess::new(vec![image(0x1000, 0x1000)]);
        let cache = ImageCache::new();
        // Pages missed out of order, with a repeat: all are remembered (the list is kept
        // sorted for its binary search), once each.
        cache.covering([0x9_0000, 0x3_0000, 0x6_0000, 0x3_0000], process.scan());
        assert_eq!(process.scans(), 2);
        for addr in [0x3_0008, 0x6_0000, 0x9_0ff0] {
            cache.covering([addr], process.scan());
        }
        assert_eq!(process.scans(), 2);
        assert_eq!(
            *cache.scanning.lock(),
            [0x30, 0x60, 0x90],
            "one entry per page, sorted"
        );
    }

    #[test]
    fn refresh_replaces_the_list() {
        let process = FakeProcess::new(vec![image(0x1000, 0x1000)]);
        let cache = ImageCache::new();
        let before = cache.get(process.scan());
        process.modules.lock().clear();
        let after = cache.rescan(process.scan());
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(after.is_empty());
        assert!(cache.get(process.scan()).is_empty());
    }
}
