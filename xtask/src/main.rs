//! `cargo xtask`: see the crate docs of `xtask`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::apis::{self, ApiEntry, APIS};
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
    /// Pin specs that have no lock entry yet (default: all); a changed spec is refused (use
    /// `spec import`).
    Lock { apis: Vec<String> },
    /// Spec versions: import a vendor document, diff two versions, the semver gate.
    Spec {
        #[command(subcommand)]
        command: SpecCommand,
    },
    /// Print a document as the generator sees it: validated, down-converted and normalized
    /// (JSON). The pointers of generation errors point into this document.
    Normalize {
        /// The document (`.json`, `.yaml`, `.yml`).
        file: std::path::PathBuf,
        /// Apply the per-API options of this bundled API (default: none, as `corpus` does).
        #[arg(long)]
        api: Option<String>,
        /// Write it here instead of to standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// List the normalization rules with their docs.
    Rules,
    /// Benchmarks (`cargo xtask bench all [--quick]`, or one of them).
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Release checks of the library crates (README "Releasing").
    Release {
        #[command(subcommand)]
        what: ReleaseCommand,
    },
    /// Run the whole pipeline on vendor documents nobody here wrote (`../shared/corpus/` by
    /// default): generate each into a scratch workspace, build it, and report.
    Corpus {
        /// The directory of documents (`.json`, `.yaml`, `.yml`).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// Generate only; do not build.
        #[arg(long)]
        no_build: bool,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Every benchmark (the facade's http, pagination and realtime benches, regen, build
    /// cost), written with the machine and date to `bench/results.md`.
    All {
        /// Fewer rounds and requests: a smoke run (written to `target/bench-quick.md`).
        #[arg(long)]
        quick: bool,
    },
    /// The clean debug build of each generated client crate: time and peak memory.
    Build,
    /// How regeneration scales: the bundled specs warm, then synthetic documents of growing
    /// size, each in a child process (time and peak memory), against the targets.
    Regen {
        /// Synthetic document sizes in operations.
        #[arg(long, value_delimiter = ',', default_values_t = [160, 1000, 5000])]
        sizes: Vec<usize>,
    },
    /// Internal: generate one document and print `ms peak_kib lines`.
    #[command(hide = true)]
    Child { file: std::path::PathBuf },
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Fail when a locked dependency declares a newer `rust-version` than the workspace.
    Msrv,
    /// `cargo package --workspace` (each crate built from its tarball) and the package sizes.
    Package,
    /// Build `tests/consumer` from the packaged crates and run it against the stand-in.
    Consumer,
    /// `cargo doc` with each crate's docs.rs settings, warnings denied.
    Docs,
}

#[derive(Subcommand)]
enum SpecCommand {
    /// Accept a new document (JSON or YAML) as the current spec of an API: validate, normalize
    /// and generate first, and refuse what the `specs` gate would; then keep the old version,
    /// record provenance, bump the client crate as the diff requires, regenerate and append to the
    /// changelog, and `cargo check` the workspace. On any failure nothing is left written.
    Import {
        /// The API.
        api: String,
        /// The document (`.json`, `.yaml` or `.yml`).
        file: std::path::PathBuf,
        /// Version label (default: the document's `info.version`).
        #[arg(long = "version")]
        label: Option<String>,
        /// Where the document came from (default: the file name).
        #[arg(long)]
        source: Option<String>,
        /// Import even when the `specs` gate refuses the new client or hand-written code (the
        /// facade, examples, tests) no longer compiles against it; what broke is printed.
        #[arg(long)]
        allow_broken: bool,
    },
    /// What changed between two versions (labels from the lock, or files), classified for a
    /// consumer of the generated client. Without OLD/NEW: the previous version → the current one.
    Diff {
        /// The API (default with --check: all).
        api: Option<String>,
        /// The old version: a label or a file.
        old: Option<String>,
        /// The new version: a label or a file.
        new: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The semver gate: fail when a client crate's version bump is smaller than its spec
        /// change needs, or its build metadata does not name the current spec.
        #[arg(long)]
        check: bool,
    },
}

fn select(names: &[String]) -> Result<Vec<&'static ApiEntry>, String> {
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
            let mut outcomes = Vec::new();
            for api in &selected {
                let started = std::time::Instant::now();
                let outcome = regen::regen_one(&root, api, &lock).map_err(|e| e.to_string())?;
                println!(
                    "{:<10} {} ({} lines, {:.1}s) rules: {}",
                    api.name,
                    match (outcome.stale.is_empty(), check) {
                        (true, _) => "fresh    ",
                        (false, true) => "STALE    ",
                        (false, false) => "written  ",
                    },
                    outcome.generated.code.lines().count(),
                    started.elapsed().as_secs_f64(),
                    outcome.generated.report.fired().join(", ")
                );
                outcomes.push(outcome);
            }
            let stale: Vec<&str> = outcomes
                .iter()
                .filter(|o| !o.stale.is_empty())
                .map(|o| o.api.name)
                .collect();
            let shared = regen::shared_stale(&root).map_err(|e| e.to_string())?;
            if !check {
                // Every API generated before anything is written: all files change, or none.
                regen::write(&root, &outcomes, &shared).map_err(|e| e.to_string())?;
                for file in &shared {
                    println!("{:<10} written   {}", "(shared)", file.path);
                }
                return Ok(ExitCode::SUCCESS);
            }
            for file in &shared {
                let current = std::fs::read_to_string(root.join(&file.path)).unwrap_or_default();
                print!(
                    "{}",
                    truncate(&regen::bounded_diff(&file.path, &current, &file.text), 200)
                );
            }
            if !stale.is_empty() || !shared.is_empty() {
                for outcome in outcomes.iter().filter(|o| !o.stale.is_empty()) {
                    print!("{}", truncate(&outcome.diff(&root), 200));
                }
                // Shared files are written by every regen, so naming APIs would not be enough.
                let command = if shared.is_empty() {
                    format!("cargo xtask regen {}", stale.join(" "))
                } else {
                    "cargo xtask regen".to_owned()
                };
                let what: Vec<&str> = stale
                    .iter()
                    .copied()
                    .chain(shared.iter().map(|f| f.path.as_str()))
                    .collect();
                eprintln!("stale generated code for: {}; run `{command}`", what.join(", "));
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "generated code is fresh for: {}",
                selected.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Specs => {
            let (table, ok) = index::summary(&root);
            print!("{table}");
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Lock { apis } => {
            for (name, sha) in regen::lock(&root, &select(&apis)?).map_err(|e| e.to_string())? {
                println!("pinned {name}: {sha}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Spec { command } => run_spec(&root, command),
        Command::Bench { what } => match what {
            BenchCommand::All { quick } => {
                let (report, ok) = xtask::bench::all(&root, quick)?;
                print!("{report}");
                Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
            }
            BenchCommand::Build => {
                let (table, ok) = xtask::bench::build(&root)?;
                print!("{table}");
                Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
            }
            BenchCommand::Regen { sizes } => {
                let (table, ok) = xtask::bench::run(&root, &sizes)?;
                print!("{table}");
                Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
            }
            BenchCommand::Child { file } => {
                println!("{}", xtask::bench::child(&file)?);
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Corpus { dir, no_build } => {
            let dir = dir.unwrap_or_else(|| root.join("../shared/corpus"));
            let entries = xtask::corpus::run(&root, &dir, !no_build)?;
            let (table, ok) = xtask::corpus::render(&entries);
            print!("{table}");
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Release { what } => run_release(&root, what).map_err(|e| e.to_string()),
        Command::Normalize { file, api, out } => {
            let options = match api {
                Some(name) => apis::find(&name).ok_or(format!("unknown API `{name}`"))?.options,
                None => xtask::rules::Options::default(),
            };
            let name = file.display().to_string();
            let bytes = std::fs::read(&file).map_err(|e| format!("{name}: {e}"))?;
            let doc = spec::parse_document(&name, &bytes).map_err(|e| e.to_string())?;
            let normalized = index::normalize(&name, doc, &options).map_err(|e| e.to_string())?;
            for warning in &normalized.warnings {
                eprintln!("warning: {warning}");
            }
            let text = serde_json::to_string_pretty(&normalized.doc).map_err(|e| e.to_string())? + "\n";
            match out {
                Some(out) => std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?,
                None => print!("{text}"),
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

fn run_release(root: &std::path::Path, what: ReleaseCommand) -> Result<ExitCode, xtask::release::ReleaseError> {
    use xtask::release::{consumer, docs, msrv, package, Metadata};
    let metadata = Metadata::load(root)?;
    match what {
        ReleaseCommand::Msrv => {
            let report = msrv::check(&metadata)?;
            print!("{}", report.render());
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ReleaseCommand::Package => {
            package::package(root, &metadata)?;
            let packaged = package::packaged(&metadata)?;
            package::check_contents(root, &packaged)?;
            let (table, ok) = package::sizes(&packaged, package::REGISTRY_LIMIT);
            print!("{table}");
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        ReleaseCommand::Consumer => {
            let packaged = package::packaged(&metadata)?;
            package::check_fresh(&metadata, &packaged)?;
            let printed = consumer::run_consumer(root, &metadata, &packaged)?;
            print!("{printed}");
            Ok(ExitCode::SUCCESS)
        }
        ReleaseCommand::Docs => {
            docs::build(root, &docs::Plan::from_metadata(&metadata)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_spec(root: &std::path::Path, command: SpecCommand) -> Result<ExitCode, String> {
    match command {
        SpecCommand::Import {
            api,
            file,
            label,
            source,
            allow_broken,
        } => {
            let api = select(&[api])?[0];
            let options = xtask::import::Options {
                label,
                source,
                allow_broken,
                ..Default::default()
            };
            let imported = xtask::import::import(root, api, &file, &options).map_err(|e| e.to_string())?;
            print!("{}", imported.report.render());
            println!(
                "imported {} as {}; {} is now {}; wrote {}",
                file.display(),
                imported.label,
                api.package,
                imported.crate_version,
                imported.written.join(", ")
            );
            for error in &imported.gate_errors {
                println!("broken (the specs gate refuses it): {error}");
            }
            for broken in &imported.broken {
                println!("broken (no longer compiles): {broken}");
            }
            Ok(ExitCode::SUCCESS)
        }
        SpecCommand::Diff {
            api,
            old,
            new,
            json,
            check,
        } => {
            if check {
                if old.is_some() || new.is_some() {
                    return Err(
                        "--check compares each API's previous version with its current one; it takes no OLD or NEW"
                            .into(),
                    );
                }
                let selected = select(&api.into_iter().collect::<Vec<_>>())?;
                let verdicts = xtask::gate::check(root, &selected).map_err(|e| e.to_string())?;
                let mut ok = true;
                for v in &verdicts {
                    println!("{} {}", if v.ok { "ok  " } else { "FAIL" }, v.message);
                    ok &= v.ok;
                }
                return Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
            }
            let api = select(&[api.ok_or("which API? `cargo xtask spec diff <api> [old new]`")?])?[0];
            let report = diff_versions(root, api, old.as_deref(), new.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            } else {
                print!("{}", report.render());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads a version by label (from the lock) or by file path, with the crate version that went
/// with it when known.
fn load_version(
    root: &std::path::Path,
    api: &ApiEntry,
    which: &str,
) -> Result<(serde_json::Value, Option<xtask::versions::Version>), String> {
    let lock = spec::read_lock(root).map_err(|e| e.to_string())?;
    if let Some(entry) = lock.get(api.name).and_then(|l| l.versions.get(which).map(|e| (l, e))) {
        let (api_lock, entry) = entry;
        let loaded = spec::load(root, &api_lock.file_of(api, which)).map_err(|e| e.to_string())?;
        return Ok((loaded.doc, xtask::versions::Version::parse(&entry.crate_version)));
    }
    let bytes = std::fs::read(which)
        .map_err(|e| format!("{which}: not a version label of {} nor a readable file: {e}", api.name))?;
    Ok((spec::parse_document(which, &bytes).map_err(|e| e.to_string())?, None))
}

fn diff_versions(
    root: &std::path::Path,
    api: &'static ApiEntry,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<xtask::diff::Report, String> {
    let lock = spec::read_lock(root).map_err(|e| e.to_string())?;
    let api_lock = lock.get(api.name);
    let current = api_lock.map(|l| l.current.clone());
    let previous = api_lock
        .and_then(|l| l.current_entry())
        .and_then(|e| e.previous.clone());
    let (old, new) = match (old, new) {
        (Some(o), Some(n)) => (o.to_owned(), n.to_owned()),
        (Some(o), None) => (o.to_owned(), current.ok_or("no current version")?),
        (None, _) => (
            previous.ok_or(format!("{} has no earlier version; pass OLD and NEW", api.name))?,
            current.ok_or("no current version")?,
        ),
    };
    let (old_doc, old_version) = load_version(root, api, &old)?;
    let (new_doc, _) = load_version(root, api, &new)?;
    xtask::diff::diff(api, (&old, &old_doc), (&new, &new_doc), old_version.as_ref()).map_err(|e| e.to_string())
}

fn truncate(diff: &str, max_lines: usize) -> String {
    let total = diff.lines().count();
    let mut out: String = diff.lines().take(max_lines).map(|l| format!("{l}\n")).collect();
    if total > max_lines {
        out.push_str(&format!("... ({} more diff lines)\n", total - max_lines));
    }
    out
}
