//! `standin <invent|agentiv|archastro> [--port N] [--seed N] [--collection-size N]`: serves one
//! bundled spec on 127.0.0.1 until Ctrl-C, printing the base URL.

use agentapis_standin::{Api, Standin};
use clap::Parser;

/// Serve a local stand-in for one of the bundled APIs.
#[derive(Parser)]
#[command(name = "standin")]
struct Args {
    /// Which API: invent, agentiv or archastro.
    api: String,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed for generated values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Entries in each paginated collection.
    #[arg(long, default_value_t = 25)]
    collection_size: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let Some(api) = Api::from_name(&args.api) else {
        let known: Vec<&str> = Api::ALL.iter().map(|a| a.name()).collect();
        eprintln!("unknown API {:?}: use one of {}", args.api, known.join(", "));
        std::process::exit(2);
    };
    let server = Standin::builder(api)
        .seed(args.seed)
        .collection_size(args.collection_size)
        .start_on(args.port)
        .await?;
    println!("{api:?} stand-in listening on {}", server.base_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
