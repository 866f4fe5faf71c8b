//! Fused vs one-query-per-segment: the whole shipped library evaluated as one plan, and each
//! segment as its own query, on the same generated lake. Prints both times and the ratio.
//!
//! ```sh
//! cargo bench -p segmint-benches --bench fused_vs_separate    # ~10M events (31,000 users)
//! SEGMINT_BENCH_USERS=3000 cargo bench -p segmint-benches --bench fused_vs_separate
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use segmint_lakegen::{LakeGenConfig, generate_lake};

fn main() {
    let users: usize = std::env::var("SEGMINT_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(31_000);
    let root = std::env::temp_dir().join(format!("segmint-bench-{users}"));
    let config = LakeGenConfig {
        users,
        ..LakeGenConfig::default()
    };
    let t = Instant::now();
    let report = generate_lake(&root.join("lake"), &config).unwrap();
    println!(
        "lake: {} events, {} users, {} files ({:.1} MB) generated in {:.1}s",
        report.events,
        report.users,
        report.files,
        report.bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let segments = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../segments");
    segmint_lakegen::demo::write_project(&root, &segments.display().to_string()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let session = segmint_engine::ProjectSession::builder(root.join("segmint.yaml"))
            .open()
            .await
            .unwrap();
        let names: Vec<String> = session
            .checked
            .segments
            .iter()
            .map(|s| s.name.clone())
            .collect();
        // Warm the OS page cache once.
        let warm = segmint_engine::compile_for(&session, config.end, &[], false).unwrap();
        segmint_engine::execute(&session, &warm).await.unwrap();

        let t = Instant::now();
        let fused = segmint_engine::compile_for(&session, config.end, &[], false).unwrap();
        let rows: usize = segmint_engine::execute(&session, &fused)
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        let fused_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        for name in &names {
            let one = segmint_engine::compile_for(
                &session,
                config.end,
                std::slice::from_ref(name),
                false,
            )
            .unwrap();
            segmint_engine::execute(&session, &one).await.unwrap();
        }
        let separate_s = t.elapsed().as_secs_f64();
        println!("segments: {}, fused result rows: {rows}", names.len());
        println!("fused (one plan):            {fused_s:.2}s");
        println!("separate (one per segment):  {separate_s:.2}s");
        println!("separate / fused:            {:.2}x", separate_s / fused_s);
    });
}
