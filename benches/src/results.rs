//! Where the benchmark programs put their figures: one JSON object per program in the results
//! directory (`$BENCH_RESULTS`, default `$CARGO_TARGET_DIR/bench-results`), merged by the
//! `bench-report` program into `docs/benchmarks.md`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

/// The results directory, created if missing.
pub fn dir() -> PathBuf {
    let dir = match std::env::var_os("BENCH_RESULTS") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
            PathBuf::from(target).join("bench-results")
        }
    };
    std::fs::create_dir_all(&dir).expect("create the results directory");
    dir
}

/// Figures of one program, written when [`Results::save`] is called.
#[derive(Debug, Default)]
pub struct Results {
    values: BTreeMap<String, Value>,
}

impl Results {
    /// Records `key = value` and echoes it on stdout.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let (key, value) = (key.into(), value.into());
        println!("{key} = {value}");
        self.values.insert(key, value);
    }

    /// Writes `<name>.json` in the results directory.
    pub fn save(&self, name: &str) {
        let path = dir().join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&self.values).expect("serialize results");
        std::fs::write(&path, text).expect("write results");
        println!("wrote {}", path.display());
    }
}

/// Every saved figure, from every program, keyed `<program>.<key>`.
pub fn load_all() -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir()) else {
        return all;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) {
            for (key, value) in map {
                all.insert(format!("{name}.{key}"), value);
            }
        }
    }
    all
}
