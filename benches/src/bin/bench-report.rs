//! Writes the results table of `docs/benchmarks.md` from this run's figures: criterion's
//! estimates and the JSON files of the other benchmark programs. The table goes between the
//! `<!-- results -->` and `<!-- /results -->` markers; the rest of the file is prose kept by
//! hand. `bench-report <path-to-benchmarks.md>`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use serde_json::Value;

const BEGIN: &str = "<!-- results -->";
const END: &str = "<!-- /results -->";

struct Figures {
    all: BTreeMap<String, Value>,
    criterion: PathBuf,
}

impl Figures {
    fn get(&self, key: &str) -> Option<f64> {
        self.all.get(key).and_then(Value::as_f64)
    }

    fn text(&self, key: &str) -> String {
        match self.all.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "n/a".into(),
        }
    }

    /// Criterion's median time per call, in ns; the mean with the `-again` measurement
    /// when there is one (see `order` in benches/inprocess.rs).
    fn criterion_ns(&self, group: &str, sdk: &str) -> Option<f64> {
        let first = self.criterion_median(group, sdk)?;
        Some(
            match self.criterion_median(group, &format!("{sdk}-again")) {
                Some(again) => (first + again) / 2.0,
                None => first,
            },
        )
    }

    fn criterion_median(&self, group: &str, id: &str) -> Option<f64> {
        let path = self
            .criterion
            .join(group)
            .join(id)
            .join("new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let value: Value = serde_json::from_str(&text).ok()?;
        value["median"]["point_estimate"].as_f64()
    }
}

/// One table row: what, ours, official, ratio, target, verdict.
struct Row {
    what: String,
    ours: String,
    official: String,
    ratio: String,
    target: String,
    verdict: &'static str,
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**pass**",
        Some(false) => "**MISS**",
        None => "not measured",
    }
}

fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn ratio_row(
    what: &str,
    ours: Option<f64>,
    official: Option<f64>,
    unit: fn(f64) -> String,
    max: f64,
    target: &str,
) -> Row {
    let ratio = match (ours, official) {
        (Some(o), Some(f)) if f > 0.0 => Some(o / f),
        _ => None,
    };
    Row {
        what: what.into(),
        ours: ours.map(unit).unwrap_or_else(|| "n/a".into()),
        official: official.map(unit).unwrap_or_else(|| "n/a".into()),
        ratio: ratio
            .map(|r| format!("1/{:.1} ({r:.3})", 1.0 / r))
            .unwrap_or_else(|| "n/a".into()),
        target: target.into(),
        verdict: verdict(ratio.map(|r| r <= max)),
    }
}

fn main() {
    let doc = PathBuf::from(std::env::args().nth(1).expect("path to benchmarks.md"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "target".into());
    let f = Figures {
        all: sentry_benches::results::load_all(),
        criterion: target.join("criterion"),
    };
    let ms = |v: f64| format!("{v:.1} ms");
    let us = |v: f64| format!("{v:.0} µs");
    let count = |v: f64| format!("{v:.1}");
    let mut rows = Vec::new();
    let inprocess = [
        (
            "capture_message_100_breadcrumbs_10_tags",
            "capture_message, 100 breadcrumbs + 10 tags",
            0.1,
            "≤ 1/10",
        ),
        (
            "capture_message_empty_scope",
            "capture_message, empty scope",
            1.0 / 3.0,
            "≤ 1/3",
        ),
        (
            "capture_error_3_level_chain",
            "capture_error, 3-level cause chain",
            1.0 / 3.0,
            "≤ 1/3",
        ),
        (
            "add_breadcrumb",
            "add_breadcrumb (building it included)",
            0.5,
            "≤ 1/2",
        ),
        (
            "configure_scope_set_tag",
            "configure_scope + set_tag",
            0.5,
            "≤ 1/2",
        ),
    ];
    for (id, what, max, target) in inprocess {
        let ours = f.criterion_ns(id, "ours");
        let official = f.criterion_ns(id, "official");
        rows.push(ratio_row(
            &format!("{what}: wall time per call, calling thread"),
            ours,
            official,
            time,
            max,
            target,
        ));
        let (ao, af) = (
            f.get(&format!("allocs.{id}.ours.allocs")),
            f.get(&format!("allocs.{id}.official.allocs")),
        );
        let mut row = ratio_row(
            &format!("{what}: allocations per call, calling thread"),
            ao,
            af,
            count,
            f64::INFINITY,
            "reported",
        );
        if id == "capture_message_100_breadcrumbs_10_tags" {
            row.target = "≤ 10 (ours)".into();
            row.verdict = verdict(ao.map(|a| a <= 10.0));
        } else {
            row.verdict = "";
        }
        rows.push(row);
        let (co, cf) = (
            f.get(&format!("allocs.{id}.ours.cpu_ns")),
            f.get(&format!("allocs.{id}.official.cpu_ns")),
        );
        let mut row = ratio_row(
            &format!("{what}: CPU time per call, calling thread"),
            co,
            cf,
            time,
            f64::INFINITY,
            "reported",
        );
        row.verdict = "";
        rows.push(row);
    }
    // References: figures that explain a row, with no target of their own.
    for (group, what) in [
        (
            "reference_build_breadcrumb",
            "reference: building and dropping that breadcrumb alone, no SDK call",
        ),
        (
            "reference_set_tag_changing_value",
            "reference: configure_scope + set_tag giving the tag a different value every call",
        ),
    ] {
        let mut reference = ratio_row(
            what,
            f.criterion_ns(group, "ours"),
            f.criterion_ns(group, "official"),
            time,
            f64::INFINITY,
            "reported",
        );
        reference.verdict = "";
        rows.push(reference);
    }
    rows.push(ratio_row(
        "init + 1 event + shutdown, whole process, reachable local sink (median)",
        f.get("process.hello.reachable.ours.median_ms"),
        f.get("process.hello.reachable.official.median_ms"),
        ms,
        0.1,
        "≤ 1/10",
    ));
    for case in ["refused", "hanging"] {
        let shown = |sdk: &str| {
            let total = f.get(&format!("process.hello.{case}.{sdk}.max_ms"));
            let shutdown = f.get(&format!("process.hello.{case}.{sdk}.shutdown_max_ms"));
            match (total, shutdown) {
                (Some(t), _) if t >= 30_000.0 => "did not exit; killed at 30 s".to_owned(),
                (Some(t), Some(s)) => format!("{t:.0} ms (shutdown {s:.0} ms)"),
                (Some(t), None) => format!("{t:.0} ms"),
                _ => "n/a".to_owned(),
            }
        };
        let ours = f.get(&format!("process.hello.{case}.ours.shutdown_max_ms"));
        rows.push(Row {
            what: format!("same, server {case}: slowest of 3 runs, whole process (shutdown part)"),
            ours: shown("ours"),
            official: shown("official"),
            ratio: String::new(),
            target: "ours exits within shutdown_timeout (2 s)".into(),
            verdict: verdict(ours.map(|v| v <= 2000.0)),
        });
    }
    rows.push(ratio_row(
        "clean release build of a hello-world, default features",
        f.get("build.ours.seconds"),
        f.get("build.official.seconds"),
        |v| format!("{v:.0} s"),
        0.5,
        "≤ 1/2",
    ));
    rows.push(ratio_row(
        "  … crates compiled (`Compiling` lines)",
        f.get("build.ours.compiled_units"),
        f.get("build.official.compiled_units"),
        |v| format!("{v:.0}"),
        0.5,
        "≤ 1/2",
    ));
    let mut packages = ratio_row(
        "  … unique packages (`cargo tree -e normal,build`)",
        f.get("build.ours.packages"),
        f.get("build.official.packages"),
        |v| format!("{v:.0}"),
        0.5,
        "≤ 1/2",
    );
    packages.verdict = verdict(
        f.get("build.ours.packages")
            .zip(f.get("build.official.packages"))
            .map(|(o, of)| o <= of / 2.0),
    );
    rows.push(packages);
    for (key, what) in [
        (
            "first_after_0ms",
            "panic in a spawned thread → join: first panic, right after init",
        ),
        ("first_after_1000ms", "  … first panic, 1 s after init"),
        (
            "steady",
            "  … steady state, the same panic again (median of 500)",
        ),
        (
            "steady_distinct",
            "  … steady state, a different message each time (median of 500)",
        ),
    ] {
        let mut row = ratio_row(
            what,
            f.get(&format!("process.panic.{key}.ours.median_us")),
            f.get(&format!("process.panic.{key}.official.median_us")),
            us,
            1.0 / 3.0,
            "≤ 1/3",
        );
        row.official += &format!(
            " (no SDK: {})",
            f.get(&format!("process.panic.{key}.none.median_us"))
                .map(us)
                .unwrap_or_default()
        );
        rows.push(row);
    }
    let to_report = f.get("native.signal_to_report_ms");
    rows.push(Row {
        what: format!(
            "native crash: signal → report complete on disk, {} libraries dlopened (median of 20)",
            f.text("native.libraries_loaded")
        ),
        ours: to_report
            .map(|v| format!("{v:.2} ms"))
            .unwrap_or_else(|| "n/a".into()),
        official: "no native crash capture".into(),
        ratio: String::new(),
        target: "≤ 5 ms".into(),
        verdict: verdict(to_report.map(|v| v <= 5.0)),
    });
    let (with, without) = (
        f.get("native.child_cpu_with_handler_ms"),
        f.get("native.child_cpu_without_handler_ms"),
    );
    rows.push(Row {
        what: "  … CPU time of the whole crashing process (dlopen of the libraries, install, snapshots, crash), with handler / without (median)".into(),
        ours: match (with, without) {
            (Some(w), Some(o)) => format!("{w:.2} ms / {o:.2} ms"),
            _ => "n/a".into(),
        },
        official: String::new(),
        ratio: String::new(),
        target: "reported".into(),
        verdict: "",
    });
    let size = f.get("native.report_bytes");
    rows.push(Row {
        what: "  … report size".into(),
        ours: size
            .map(|v| format!("{:.1} KiB", v / 1024.0))
            .unwrap_or_else(|| "n/a".into()),
        official: String::new(),
        ratio: String::new(),
        target: "≤ 256 KiB".into(),
        verdict: verdict(size.map(|v| v <= 256.0 * 1024.0)),
    });
    let mut tp = ratio_row(
        "delivery throughput to a local keep-alive sink, one worker (events/s)",
        f.get("throughput-ours.events_per_second"),
        f.get("throughput-official.events_per_second"),
        |v| format!("{v:.0}/s"),
        f64::INFINITY,
        "reported",
    );
    tp.ratio = tp.ratio.replace("1/", "×1/");
    tp.verdict = "";
    rows.push(tp);
    let rss: Vec<String> = [0, 250, 500, 750, 1000]
        .iter()
        .map(|k| {
            f.get(&format!("memory.rss_kib_at_{k}k"))
                .map(|v| format!("{:.1}", v / 1024.0))
                .unwrap_or_else(|| "n/a".into())
        })
        .collect();
    let flat = (0..5)
        .map(|i| f.get(&format!("memory.rss_kib_at_{}k", i * 250)))
        .collect::<Option<Vec<f64>>>()
        .map(|v| v[4] <= v[1] * 1.1 + 1024.0);
    rows.push(Row {
        what: "RSS over 1,000,000 captures, server down (MiB at 0/250k/500k/750k/1M)".into(),
        ours: rss.join(" / "),
        official: String::new(),
        ratio: String::new(),
        target: "flat".into(),
        verdict: verdict(flat),
    });

    let mut table = String::new();
    let _ = writeln!(table, "{BEGIN}\n");
    let _ = writeln!(
        table,
        "Run of {} on {} cores; load average {} at the start, {} at the end.\n",
        f.text("load.date"),
        f.text("load.cores"),
        f.text("load.start"),
        f.text("load.end"),
    );
    let _ = writeln!(
        table,
        "| benchmark | ours | official | ours/official | target | result |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|");
    for r in &rows {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} |",
            r.what, r.ours, r.official, r.ratio, r.target, r.verdict
        );
    }
    let _ = writeln!(
        table,
        "\nOther figures of this run: memory run dropped {} events as queue_overflow and {} as cache_overflow, {} files left in the outbox; the throughput runs delivered {} (ours) and {} (official) of 20000 events; panic sink answered {} requests; native child: {}.\n",
        f.text("memory.dropped_queue_overflow"),
        f.text("memory.dropped_cache_overflow"),
        f.text("memory.outbox_files_after_close"),
        f.text("throughput-ours.delivered"),
        f.text("throughput-official.delivered"),
        f.text("process.panic.sink_answered"),
        f.text("native.child_says"),
    );
    let _ = write!(table, "{END}");

    let old = std::fs::read_to_string(&doc).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{table}{}", &old[..b], &old[e + END.len()..]),
        _ => format!("{old}\n{table}\n"),
    };
    std::fs::write(&doc, new).expect("write the document");
    println!("{table}");
}
