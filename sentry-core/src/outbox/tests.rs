use super::*;

/// The names in `dir` but the lock file, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lock")
        .collect();
    names.sort();
    names
}

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sentry-outbox-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

#[test]
fn store_read_remove() {
    let db = temp_db("basic");
    let outbox = Outbox::open(&db, Limits::default()).unwrap();
    let (a, evicted) = outbox.store(b"first").unwrap();
    assert!(evicted.is_empty());
    let (b, _) = outbox.store(b"second").unwrap();
    assert_eq!(outbox.pending(), [a.clone(), b.clone()]);
    assert_eq!(outbox.read(&a).unwrap(), b"first");
    outbox.remove(&a);
    assert_eq!(outbox.pending(), [b]);
    fs::remove_dir_all(&db).unwrap();
}

#[test]
fn oldest_are_evicted_beyond_the_limits() {
    let db = temp_db("limits");
    let outbox = Outbox::open(
        &db,
        Limits {
            max_files: 3,
            max_bytes: 1000,
        },
    )
    .unwrap();
    let mut evicted = 0;
    for i in 0..5 {
        evicted += outbox
            .store(format!("envelope {i}").as_bytes())
            .unwrap()
            .1
            .len();
    }
    assert_eq!(evicted, 2);
    let left: Vec<_> = outbox
        .pending()
        .iter()
        .map(|e| outbox.read(e).unwrap())
        .collect();
    assert_eq!(
        left,
        [
            b"envelope 2".to_vec(),
            b"envelope 3".to_vec(),
            b"envelope 4".to_vec()
        ]
    );
    let (_, evicted) = outbox.store(&[0u8; 2000]).unwrap();
    assert_eq!(
        evicted.len(),
        4,
        "everything, the oversized one included, is gone"
    );
    fs::remove_dir_all(&db).unwrap();
}

#[test]
fn a_live_run_is_not_adopted_and_a_dead_one_is() {
    let db = temp_db("adopt");
    let first = Outbox::open(&db, Limits::default()).unwrap();
    first.store(b"from first").unwrap();
    // Leftovers of a writer that died mid-write are never taken for envelopes.
    fs::write(
        first.run_dir.join("0000000000000-000009.envelope.tmp"),
        b"half",
    )
    .unwrap();
    let second = Outbox::open(&db, Limits::default()).unwrap();
    assert!(second.pending().is_empty(), "the first process is alive");
    drop(first);
    let third = Outbox::open(&db, Limits::default()).unwrap();
    let adopted = third.pending();
    assert_eq!(adopted.len(), 1);
    assert_eq!(third.read(&adopted[0]).unwrap(), b"from first");
    drop((second, third));
    fs::remove_dir_all(&db).unwrap();
}

#[test]
fn held_envelopes_wait_for_their_replacement_here_and_are_sent_by_the_next_start() {
    let db = temp_db("held");
    let first = Outbox::open(&db, Limits::default()).unwrap();
    let held = first.store_held(b"addresses only").unwrap();
    assert!(first.pending().is_empty(), "not sent by this process");
    let (complete, _) = first.replace_held(&held, b"complete").unwrap();
    assert_eq!(first.pending(), std::slice::from_ref(&complete));
    assert_eq!(first.read(&complete).unwrap(), b"complete");
    let files = || fs::read_dir(&first.run_dir).unwrap().count();
    assert_eq!(files(), 2, "the lock and one envelope: {:?}", first.run_dir);

    let other = first.store_held(b"never completed").unwrap();
    first.release_held(&other);
    assert_eq!(first.pending(), [complete.clone(), other]);

    // A held copy whose process died is adopted by the next start and sent.
    let orphan = first.store_held(b"left behind").unwrap();
    drop(first);
    let next = Outbox::open(&db, Limits::default()).unwrap();
    let pending = next.pending();
    assert_eq!(pending.len(), 3);
    assert!(pending.iter().any(|e| e.name() == orphan.name()));
    drop(next);
    fs::remove_dir_all(&db).unwrap();
}

#[test]
fn a_spare_file_is_used_by_the_next_store_and_deleted_by_the_next_start() {
    let db = temp_db("spare");
    let first = Outbox::open(&db, Limits::default()).unwrap();
    let files = |outbox: &Outbox| names_in(&outbox.run_dir);
    first.prepare_spare();
    first.prepare_spare();
    assert_eq!(files(&first).len(), 1, "one spare at most");
    let (entry, _) = first.store(b"into the spare").unwrap();
    assert_eq!(files(&first), [entry.name().to_owned()]);
    assert_eq!(first.read(&entry).unwrap(), b"into the spare");
    // Without a spare, storing creates its own file.
    let (other, _) = first.store(b"own file").unwrap();
    assert_eq!(first.read(&other).unwrap(), b"own file");

    first.prepare_spare();
    let dead_dir = first.run_dir.clone();
    drop(first);
    let left = names_in(&dead_dir);
    assert!(
        left.iter().all(|n| !n.ends_with(TEMP_SUFFIX)),
        "the unused spare goes with the outbox: {left:?}"
    );
    let next = Outbox::open(&db, Limits::default()).unwrap();
    assert!(!dead_dir.exists());
    assert_eq!(next.pending().len(), 2, "the spare is not an envelope");
    assert_eq!(
        files(&next).len(),
        2,
        "the spare is deleted: {:?}",
        files(&next)
    );
    drop(next);
    fs::remove_dir_all(&db).unwrap();
}

#[test]
fn unreadable_files_are_set_aside() {
    let db = temp_db("aside");
    let outbox = Outbox::open(&db, Limits::default()).unwrap();
    let (entry, _) = outbox.store(b"garbage").unwrap();
    outbox.set_aside(&entry);
    assert!(outbox.pending().is_empty());
    assert!(db.join("corrupt").join(entry.name()).exists());
    fs::remove_dir_all(&db).unwrap();
}

/// What a process whose crash handler failed leaves in its run: the handler's `.tmp` (named
/// as the handler names it, see sentry-native-crash's writer) beside a finished `.crash` of an
/// earlier crash. Adoption moves the report and deletes the `.tmp`, so it is never read and
/// does not pile up run after run.
#[test]
fn adoption_keeps_crash_reports_and_removes_stale_temp_files() {
    let db = temp_db("crash-tmp");
    let dead = Outbox::open(&db, Limits::default()).unwrap();
    let dead_dir = dead.run_dir.clone();
    let report = "crash-000000006b01c338-7326-7326.crash";
    let stale = "crash-000000006b01c338-7327-7327.tmp";
    fs::write(dead_dir.join(report), b"SENTRY-NATIVE-CRASH 1\n").unwrap();
    fs::write(
        dead_dir.join(stale),
        b"SENTRY-NATIVE-CRASH 1\nwhole but never renamed",
    )
    .unwrap();
    drop(dead);

    let next = Outbox::open(&db, Limits::default()).unwrap();
    assert!(!dead_dir.exists(), "the dead run is gone");
    assert!(next.run_dir.join(report).exists(), "the report is adopted");
    assert!(
        !next.run_dir.join(stale).exists(),
        "the .tmp is not adopted"
    );
    let left = names_in(&next.run_dir);
    assert_eq!(left, [report]);
    #[cfg(native_crash)]
    assert_eq!(
        sentry_native_crash::pending_reports(&next.run_dir),
        [next.run_dir.join(report)]
    );
    drop(next);
    fs::remove_dir_all(&db).unwrap();
}

/// The outbox recognizes the crash handler's temporary files by the suffix it uses for its own.
#[cfg(feature = "native-crash")]
#[test]
fn temp_suffix_matches_the_crash_handler() {
    assert_eq!(
        TEMP_SUFFIX,
        format!(".{}", sentry_native_crash::TEMP_EXTENSION)
    );
    assert_ne!(sentry_native_crash::REPORT_EXTENSION, "tmp");
}
