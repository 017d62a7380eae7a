//! The on-disk outbox: envelopes that are not yet known to be delivered.
//!
//! Every envelope is written here before it is sent and removed once the server accepted
//! it (or refused it for good), so an event survives a network outage, a server that is
//! down, and the process being killed at any moment; it is sent again later in this run or
//! on the next start. Delivery is therefore at least once: the stable event id lets the
//! server drop a duplicate.
//!
//! Layout of the database directory:
//!
//! ```text
//! <database>/runs/<run>/lock                 locked by the process that owns the run
//! <database>/runs/<run>/<time>-<seq>.envelope  one envelope each
//! <database>/corrupt/                        files that could not be read, set aside
//! ```
//!
//! Each process writes only into its own run directory and holds an exclusive lock on its
//! `lock` file for its whole life. At start a process adopts the files of runs whose lock
//! it can take (their owner has exited or crashed), so two live processes of one
//! application never send each other's files. Files are written to a temporary name and
//! renamed, which is atomic: a file with the final name is always complete.

mod database;

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

pub use database::database_path_for;
pub(crate) use database::{default_database_path, ensure_private_dir};

/// How much the outbox may hold; beyond it the oldest envelopes are evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_files: usize,
    pub(crate) max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 100,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// One envelope in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    name: String,
    size: u64,
}

impl Entry {
    /// The file name, which sorts in the order the envelopes were stored.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// This process's outbox.
pub(crate) struct Outbox {
    root: PathBuf,
    run_dir: PathBuf,
    limits: Limits,
    /// Held for the life of the process: the lock tells other processes this run is alive.
    _lock: File,
    entries: Mutex<VecDeque<Entry>>,
    /// An empty temporary file created ahead of time (see [`prepare_spare`](Self::prepare_spare)).
    spare: Mutex<Option<(File, PathBuf)>>,
    next_seq: AtomicU64,
    adopted: std::sync::Once,
}

const EXTENSION: &str = "envelope";
const TEMP_SUFFIX: &str = ".tmp";

impl Outbox {
    /// Opens the outbox under `database`: creates this process's run directory, locks it,
    /// and adopts the envelopes of runs whose process is gone.
    pub(crate) fn open(database: &Path, limits: Limits) -> io::Result<Outbox> {
        let outbox = Outbox::create(database, limits)?;
        outbox.adopt()?;
        Ok(outbox)
    }

    /// Creates and locks this process's run directory without adopting anything yet: what
    /// `init` does when the crash handler needs the directory at once; [`Outbox::adopt`]
    /// follows on the worker.
    pub(crate) fn create(database: &Path, limits: Limits) -> io::Result<Outbox> {
        ensure_private_dir(database)?;
        let runs = database.join("runs");
        ensure_private_dir(&runs)?;
        let run_name = format!(
            "{:013}-{}-{:08x}",
            unix_millis(),
            std::process::id(),
            crate::random::next_u64() as u32
        );
        let run_dir = runs.join(run_name);
        ensure_private_dir(&run_dir)?;
        let lock = File::create(run_dir.join("lock"))?;
        lock.try_lock()
            .map_err(|e| io::Error::other(format!("cannot lock {}: {e}", run_dir.display())))?;
        let outbox = Outbox {
            root: database.to_owned(),
            run_dir,
            limits,
            _lock: lock,
            entries: Mutex::new(VecDeque::new()),
            spare: Mutex::new(None),
            next_seq: AtomicU64::new(0),
            adopted: std::sync::Once::new(),
        };
        Ok(outbox)
    }

    /// Adopts the files of dead runs and indexes this run's envelopes; only the first call
    /// does anything.
    pub(crate) fn adopt(&self) -> io::Result<()> {
        let mut result = Ok(());
        self.adopted.call_once(|| {
            self.adopt_orphans(&self.root.join("runs"));
            result = self.rescan();
        });
        result
    }

    #[cfg_attr(not(native_crash), allow(dead_code))]
    /// This process's run directory (where the crash handler writes its reports).
    pub(crate) fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    #[cfg_attr(not(native_crash), allow(dead_code))]
    /// The locked `lock` file of this run.
    pub(crate) fn lock_file(&self) -> &File {
        &self._lock
    }

    /// The database directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Moves the files of dead runs into this run. Errors are logged, not fatal: an orphan
    /// that cannot be adopted now is tried again on the next start.
    fn adopt_orphans(&self, runs: &Path) {
        let Ok(dirs) = fs::read_dir(runs) else { return };
        for dir in dirs.flatten() {
            let path = dir.path();
            if path == self.run_dir || !dir.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            // A run whose lock cannot be taken belongs to a live process: leave it alone.
            let lock = File::options()
                .read(true)
                .write(true)
                .open(path.join("lock"));
            let guard = match lock {
                Ok(file) => match file.try_lock() {
                    Ok(()) => Some(file),
                    Err(_) => continue,
                },
                // No lock file: the run died while being created.
                Err(_) => None,
            };
            self.take_files_of(&path);
            drop(guard);
            let _ = fs::remove_file(path.join("lock"));
            if let Err(error) = fs::remove_dir(&path) {
                crate::debug::sdk_debug!("outbox: could not remove {}: {error}", path.display());
            }
        }
    }

    fn take_files_of(&self, dir: &Path) {
        let Ok(files) = fs::read_dir(dir) else { return };
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let from = file.path();
            if name == "lock" {
                continue;
            }
            if name.ends_with(TEMP_SUFFIX) {
                // Half-written by a process that died mid-write: never a report.
                let _ = fs::remove_file(&from);
                continue;
            }
            if let Err(error) = fs::rename(&from, self.run_dir.join(&name)) {
                crate::debug::sdk_debug!("outbox: could not adopt {}: {error}", from.display());
            }
        }
    }

    /// Rebuilds the in-memory index from this run's directory.
    fn rescan(&self) -> io::Result<()> {
        let mut found = Vec::new();
        for file in fs::read_dir(&self.run_dir)?.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.ends_with(&format!(".{EXTENSION}")) {
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                found.push(Entry { name, size });
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        *self.entries.lock() = found.into();
        Ok(())
    }

    /// Stores an envelope and returns its entry and the entries evicted to make room.
    pub(crate) fn store(&self, bytes: &[u8]) -> io::Result<(Entry, Vec<Entry>)> {
        let entry = self.write_new(bytes)?;
        let evicted = self.index(entry.clone());
        Ok((entry, evicted))
    }

    /// Stores an envelope that this process does not send (it is left out of
    /// [`pending`](Self::pending)) until [`replace_held`](Self::replace_held) or
    /// [`release_held`](Self::release_held): a panic's first, incomplete copy, kept while the
    /// complete one is prepared. Should the process end first, the next start adopts and
    /// sends it like any other envelope.
    #[cfg_attr(not(feature = "panic"), allow(dead_code))]
    pub(crate) fn store_held(&self, bytes: &[u8]) -> io::Result<Entry> {
        self.write_new(bytes)
    }

    /// Puts `bytes` in the place of the held envelope `held` in one rename, so that the
    /// directory never holds both copies nor neither, and makes it pending.
    #[cfg_attr(not(feature = "panic"), allow(dead_code))]
    pub(crate) fn replace_held(
        &self,
        held: &Entry,
        bytes: &[u8],
    ) -> io::Result<(Entry, Vec<Entry>)> {
        let path = self.run_dir.join(&held.name);
        let temp = self.run_dir.join(format!("{}{TEMP_SUFFIX}", held.name));
        put_in_place(File::create(&temp)?, &temp, &path, bytes)?;
        let entry = Entry {
            name: held.name.clone(),
            size: bytes.len() as u64,
        };
        let evicted = self.index(entry.clone());
        Ok((entry, evicted))
    }

    /// Makes a held envelope pending as it is (its complete copy could not be made).
    #[cfg_attr(not(feature = "panic"), allow(dead_code))]
    pub(crate) fn release_held(&self, held: &Entry) -> Vec<Entry> {
        self.index(held.clone())
    }

    /// Writes `bytes` under a new name, through a temporary file so that a file with the
    /// final name is always complete.
    fn write_new(&self, bytes: &[u8]) -> io::Result<Entry> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("{:013}-{seq:06}.{EXTENSION}", unix_millis());
        let path = self.run_dir.join(&name);
        // Not waiting for a spare being put in place: creating one here is as fast.
        let spare = self.spare.try_lock().and_then(|mut spare| spare.take());
        let (file, temp) = match spare {
            Some(spare) => spare,
            None => {
                let temp = self.run_dir.join(format!("{name}{TEMP_SUFFIX}"));
                (File::create(&temp)?, temp)
            }
        };
        put_in_place(file, &temp, &path, bytes)?;
        Ok(Entry {
            name,
            size: bytes.len() as u64,
        })
    }

    /// Creates the empty temporary file that the next [`store`](Self::store) or
    /// [`store_held`](Self::store_held) writes into, unless one is ready: creating a file is
    /// the slowest part of storing (the file system allocates an inode), and a panicking
    /// thread should not wait for it. Called by the worker; a spare left when the process
    /// ends is a `.tmp` file, which the next start deletes.
    pub(crate) fn prepare_spare(&self) {
        if self.spare.lock().is_some() {
            return;
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let temp = self
            .run_dir
            .join(format!("spare-{seq:06}.{EXTENSION}{TEMP_SUFFIX}"));
        let Ok(file) = File::create(&temp) else {
            return;
        };
        let mut spare = self.spare.lock();
        if spare.is_none() {
            *spare = Some((file, temp));
        } else {
            drop(spare);
            let _ = fs::remove_file(&temp);
        }
    }

    /// Adds a written envelope to the pending ones; evicts the oldest beyond the limits and
    /// returns them (the new one among them when it alone is over the byte limit).
    fn index(&self, entry: Entry) -> Vec<Entry> {
        let mut entries = self.entries.lock();
        entries.push_back(entry.clone());
        let mut evicted = Vec::new();
        while entries.len() > self.limits.max_files
            || entries.iter().map(|e| e.size).sum::<u64>() > self.limits.max_bytes
        {
            let Some(oldest) = entries.pop_front() else {
                break;
            };
            let _ = fs::remove_file(self.run_dir.join(&oldest.name));
            if oldest == entry {
                // The new envelope alone is over the byte limit: it was not kept.
                evicted.push(oldest);
                break;
            }
            evicted.push(oldest);
        }
        evicted
    }

    /// Reads an envelope back.
    pub(crate) fn read(&self, entry: &Entry) -> io::Result<Vec<u8>> {
        fs::read(self.run_dir.join(&entry.name))
    }

    /// Forgets an envelope: it was delivered or refused for good.
    pub(crate) fn remove(&self, entry: &Entry) {
        self.entries.lock().retain(|e| e != entry);
        if let Err(error) = fs::remove_file(self.run_dir.join(&entry.name))
            && error.kind() != io::ErrorKind::NotFound
        {
            crate::debug::sdk_debug!("outbox: could not remove {}: {error}", entry.name);
        }
    }

    /// Moves an unreadable envelope aside to `<database>/corrupt/`, where it can be looked
    /// at but is never sent.
    pub(crate) fn set_aside(&self, entry: &Entry) {
        self.entries.lock().retain(|e| e != entry);
        self.set_aside_file(&entry.name);
    }

    /// Moves the file `name` of this run (an envelope or a crash report) to
    /// `<database>/corrupt/`; removes it when that fails.
    pub(crate) fn set_aside_file(&self, name: &str) {
        let corrupt = self.root.join("corrupt");
        let from = self.run_dir.join(name);
        let moved =
            ensure_private_dir(&corrupt).and_then(|()| fs::rename(&from, corrupt.join(name)));
        if let Err(error) = moved {
            crate::debug::sdk_debug!("outbox: could not set {name} aside ({error}); removing it");
            let _ = fs::remove_file(&from);
        }
    }

    /// The envelopes waiting, oldest first.
    pub(crate) fn pending(&self) -> Vec<Entry> {
        self.entries.lock().iter().cloned().collect()
    }
}

impl Drop for Outbox {
    /// The spare file nobody used goes with the outbox, rather than waiting in the run
    /// directory for the next start to delete it.
    fn drop(&mut self) {
        if let Some((file, temp)) = self.spare.get_mut().take() {
            drop(file);
            let _ = fs::remove_file(temp);
        }
    }
}

/// Writes `bytes` into `file` (created at `temp`), then renames it to `path`, so that a
/// file with the final name is always complete; on failure the temporary file is removed.
fn put_in_place(mut file: File, temp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let write = file.write_all(bytes).and_then(|()| {
        drop(file);
        fs::rename(temp, path)
    });
    if write.is_err() {
        let _ = fs::remove_file(temp);
    }
    write
}

fn unix_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
