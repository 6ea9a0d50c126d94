//! `cargo run --release -p masque-mpc --example bench_mpc -- [eyes] [queries]`: the same
//! measurement as `masque bench mpc`, without building the CLI.

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let eyes = args.next().and_then(Result::ok).unwrap_or(20_000);
    let queries = args.next().and_then(Result::ok).unwrap_or(1);
    match masque_mpc::bench::run(eyes, queries, 1) {
        Ok(r) => println!("{r:#?}"),
        Err(e) => eprintln!("benchmark failed: {e}"),
    }
}
