use super::*;

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
fn unreadable_files_are_set_aside() {
    let db = temp_db("aside");
    let outbox = Outbox::open(&db, Limits::default()).unwrap();
    let (entry, _) = outbox.store(b"garbage").unwrap();
    outbox.set_aside(&entry);
    assert!(outbox.pending().is_empty());
    assert!(db.join("corrupt").join(entry.name()).exists());
    fs::remove_dir_all(&db).unwrap();
}
