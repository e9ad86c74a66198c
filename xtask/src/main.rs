//! `cargo xtask`: see the crate docs of `xtask`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::apis::{self, Api, APIS};
use xtask::{index, regen, spec, workspace_root};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Spec validation, normalization and client generation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate the client crates from the bundled specs.
    Regen {
        /// Write nothing; fail with a diff if any generated file is stale.
        #[arg(long)]
        check: bool,
        /// APIs to regenerate (default: all).
        apis: Vec<String>,
    },
    /// Check every spec and print a summary table.
    Specs,
    /// Pin the current sha256 of the given specs (default: all) in the lock file.
    Lock { apis: Vec<String> },
    /// List the normalization rules with their docs.
    Rules,
}

fn select(names: &[String]) -> Result<Vec<&'static Api>, String> {
    if names.is_empty() {
        return Ok(APIS.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            apis::find(n).ok_or_else(|| {
                format!(
                    "unknown api `{n}` (known: {})",
                    APIS.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
                )
            })
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    let root = workspace_root();
    match command {
        Command::Regen { check, apis } => {
            let selected = select(&apis)?;
            let lock = spec::read_lock(&root).map_err(|e| e.to_string())?;
            let mut stale = Vec::new();
            for api in &selected {
                let started = std::time::Instant::now();
                let outcome = regen::regen_one(&root, api, &lock).map_err(|e| e.to_string())?;
                let lines = outcome.generated.code.lines().count();
                let fired = outcome.generated.report.fired().join(", ");
                if check {
                    if let Some(diff) = &outcome.diff {
                        print!("{}", truncate(diff, 200));
                        stale.push(api.name);
                    }
                } else {
                    let wrote = regen::write(&root, &outcome).map_err(|e| e.to_string())?;
                    println!(
                        "{:<10} {} ({lines} lines, {:.1}s) rules: {}",
                        api.name,
                        if wrote { "written  " } else { "unchanged" },
                        started.elapsed().as_secs_f64(),
                        if fired.is_empty() { "none" } else { &fired }
                    );
                }
            }
            if !stale.is_empty() {
                eprintln!(
                    "stale generated code for: {}; run `cargo xtask regen {}`",
                    stale.join(", "),
                    stale.join(" ")
                );
                return Ok(ExitCode::FAILURE);
            }
            if check {
                println!(
                    "generated code is fresh for: {}",
                    selected.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Specs => {
            let (table, ok) = index::summary(&root);
            print!("{table}");
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Lock { apis } => {
            for (name, sha) in regen::lock(&root, &select(&apis)?).map_err(|e| e.to_string())? {
                println!("pinned {name} = {sha}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules => {
            for rule in xtask::rules::all() {
                println!("{:<34} {}", rule.name, rule.doc);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn truncate(diff: &str, max_lines: usize) -> String {
    let total = diff.lines().count();
    let mut out: String = diff.lines().take(max_lines).map(|l| format!("{l}\n")).collect();
    if total > max_lines {
        out.push_str(&format!("... ({} more diff lines)\n", total - max_lines));
    }
    out
}
