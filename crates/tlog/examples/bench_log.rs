//! Same measurement as `masque bench log`, runnable without the CLI:
//! `cargo run --release -p masque-tlog --example bench_log -- [entries] [batch]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let entries: u64 = args.next().map_or(500_000, |a| a.parse().expect("entries"));
    let batch: usize = args.next().map_or(4096, |a| a.parse().expect("batch"));
    let dir = std::env::current_dir()
        .unwrap()
        .join(format!("masque-bench-log-{}", std::process::id()));
    let r = masque_tlog::bench::run_log_bench(&dir, entries, batch, 256, 20_000);
    std::fs::remove_dir_all(&dir).ok();
    let r = r.expect("benchmark run");
    println!(
        "log bench: {} entries of {} bytes, batches of {}",
        r.entries, r.entry_size, r.batch
    );
    println!("durable appends/s:          {:.0}", r.appends_per_sec);
    println!("inclusion proof builds/s:   {:.0}", r.proof_builds_per_sec);
    println!("inclusion verifications/s:  {:.0}", r.verifications_per_sec);
    println!("bytes on disk per entry:    {:.1}", r.bytes_per_entry);
}
