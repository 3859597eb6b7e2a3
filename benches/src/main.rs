//! `pricing-bench`: the engineer's CLI. Parses flags, calls the library, maps errors to the exit
//! code: 0 when every file worked, 1 when any failed, 2 for a usage error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pricing_bench::{accuracy, analyze, generate, load, materials, quote, run};
use pricing_engine::mesh::{Limits, LoadOptions, Unit};
use pricing_engine::pipeline::{Objective, OrientationMode, QuoteOptions};
use pricing_engine::pricing::{PriceBook, Priority, QuoteRequest};

#[derive(Parser)]
#[command(
    name = "pricing-bench",
    version,
    about = "Quote, analyse, benchmark and generate 3D models for the pricing engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct LoadFlags {
    /// The unit of files that do not declare one (STL, OBJ); 3MF files declare their own
    #[arg(long, default_value = "mm", value_parser = ["mm", "cm", "m", "in"])]
    unit: String,
    /// Refuse inputs larger than this many bytes
    #[arg(long, default_value_t = Limits::default().max_input_bytes)]
    max_bytes: u64,
    /// Refuse models with more triangles than this
    #[arg(long, default_value_t = Limits::default().max_triangles)]
    max_triangles: u64,
}

impl LoadFlags {
    fn options(&self) -> anyhow::Result<LoadOptions> {
        let unit: Unit = self.unit.parse().map_err(anyhow::Error::msg)?;
        Ok(LoadOptions {
            unit,
            limits: Limits {
                max_input_bytes: self.max_bytes,
                max_triangles: self.max_triangles,
            },
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Price models: orientation search, supports, slicing-based estimate, itemised quote.
    ///
    /// Every candidate orientation that fits the material's machine is estimated and priced in
    /// parallel; the best by --objective is the quote and the next ones are listed as
    /// alternatives. A file that cannot be quoted is reported on its own line and the others
    /// still run; the exit code is 1 when any file failed.
    Quote {
        /// Model files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Material id of the price book (`pricing-bench materials` lists them)
        #[arg(long, default_value = "pla")]
        material: String,
        /// Pieces
        #[arg(long, default_value_t = 1)]
        quantity: u32,
        #[arg(long, default_value = "regular", value_parser = ["regular", "high"])]
        priority: String,
        /// Lead time id of the price book (default: its first)
        #[arg(long)]
        lead_time: Option<String>,
        /// `auto` searches the orientations; `keep` prices the part as the file places it
        #[arg(long, default_value = "auto", value_parser = ["auto", "keep"])]
        orientation: String,
        /// What the orientation search minimises
        #[arg(long, default_value = "price", value_parser = ["price", "time", "support"])]
        objective: String,
        /// `auto`: supports where the technology needs them; `off`: none
        #[arg(long, default_value = "auto", value_parser = ["auto", "off"])]
        supports: String,
        /// Next-best orientations to list
        #[arg(long, default_value_t = 3)]
        alternatives: usize,
        /// A price book in TOML (default: the built-in one)
        #[arg(long)]
        price_book: Option<PathBuf>,
        /// One JSON object per line per file, for scripts
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        load: LoadFlags,
    },
    /// Measure models exactly: volume, area, bounding box, shells, watertightness, defects.
    ///
    /// The format is detected from the content (binary or ASCII STL, OBJ, 3MF). A file that
    /// cannot be read is reported on its own line and the others still run; the exit code is 1
    /// when any file failed.
    Analyze {
        /// Model files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line per file, for scripts
        #[arg(long)]
        json: bool,
        /// Only volume, area and bounding box, straight from the triangles: no welding or
        /// topology (the fastest measure of a large file)
        #[arg(long)]
        quick: bool,
        #[command(flatten)]
        load: LoadFlags,
    },
    /// Benchmark every model in a folder: per-stage times (read, parse, quick, weld, analyse),
    /// triangles/s and MB/s.
    Run {
        /// Folder of models (searched recursively for .stl, .obj and .3mf files)
        dir: PathBuf,
        /// Timed repetitions per file (the median is reported)
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// One JSON object per file
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV with a header row
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        load: LoadFlags,
    },
    /// Drive a running pricing-server: throughput, p50/p90/p99 per priority class, shed rate,
    /// errors by status.
    ///
    /// Without --baseline: --concurrency clients in a closed loop for --duration seconds. With
    /// --baseline, three phases side by side: idle (one client, high priority only), capacity
    /// (a closed loop of --concurrency clients), then an open loop offering --overload times
    /// that capacity for --duration seconds, --high-share of it high priority. A server that
    /// requires API keys gets them from --high-key and --regular-key.
    Load {
        /// The server's gRPC address
        #[arg(long, default_value = "127.0.0.1:50051")]
        target: String,
        /// The model every request quotes
        #[arg(long, default_value = "fixtures/models/uv_sphere_r10.stl")]
        model: PathBuf,
        #[arg(long, default_value = "pla")]
        material: String,
        /// Clients in the closed loops
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Seconds of the (main) run
        #[arg(long, default_value_t = 20.0)]
        duration: f64,
        /// The share of high-priority requests
        #[arg(long, default_value_t = 0.1)]
        high_share: f64,
        /// API key for high-priority requests (also PRICING_HIGH_KEY)
        #[arg(long, env = "PRICING_HIGH_KEY")]
        high_key: Option<String>,
        /// API key for regular requests (also PRICING_REGULAR_KEY)
        #[arg(long, env = "PRICING_REGULAR_KEY")]
        regular_key: Option<String>,
        /// Each request's deadline, in seconds
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// Measure idle latency and capacity first, then offer --overload times the capacity
        #[arg(long)]
        baseline: bool,
        /// With --baseline: the offered load, as a multiple of the measured capacity
        #[arg(long, default_value_t = 3.0)]
        overload: f64,
        /// Sample this process's resident memory (the server's) during the run
        #[arg(long)]
        server_pid: Option<u32>,
        /// One JSON object per phase and class, then a summary
        #[arg(long)]
        json: bool,
    },
    /// Compare the FDM estimate with PrusaSlicer's print time, filament and support mass for the
    /// reference models, supports off and on (the built-in book's FDM process = the reference
    /// profile).
    Accuracy {
        /// PrusaSlicer's figures (tools/slicer/run_batch.py output)
        #[arg(long, default_value = "../shared/refs/dev_slicer_reference.json")]
        reference: PathBuf,
        /// The folder of the models the reference names; repeat it for several (each model is
        /// read from the first that has it)
        #[arg(long, default_value = "../shared/models")]
        models: Vec<PathBuf>,
        /// One JSON object per model, then a summary object
        #[arg(long)]
        json: bool,
    },
    /// List the materials of the price book: machine, technology, density, price.
    Materials {
        /// A price book in TOML (default: the built-in one)
        #[arg(long)]
        price_book: Option<PathBuf>,
        /// One JSON object per line per material
        #[arg(long)]
        json: bool,
    },
    /// Write synthetic models.
    Gen {
        #[command(subcommand)]
        what: GenCommand,
    },
}

#[derive(Subcommand)]
enum GenCommand {
    /// Write the test fixtures (fixtures/models) and their expected analyses.
    Fixtures {
        /// Output folder
        #[arg(default_value = "fixtures/models")]
        out: PathBuf,
    },
    /// Write a closed UV sphere with about N triangles, as binary STL.
    Sphere {
        /// Output file
        out: PathBuf,
        /// Approximate triangle count
        #[arg(long, default_value_t = 1_000_000)]
        triangles: u64,
        /// Radius in mm
        #[arg(long, default_value_t = 50.0)]
        radius: f64,
    },
}

/// Large blocks on transparent huge pages: see `pricing_engine::memory`.
#[global_allocator]
static ALLOCATOR: pricing_engine::memory::LargePages = pricing_engine::memory::LargePages;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Quotes rebuild the same buffers for every candidate orientation; `analyze` streams to
    // keep its peak memory near the file's size, which kept memory would raise.
    if matches!(
        cli.command,
        Command::Quote { .. } | Command::Accuracy { .. }
    ) {
        pricing_engine::memory::keep_freed_memory();
    }
    match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("pricing-bench: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn load_book(path: Option<&std::path::Path>) -> anyhow::Result<PriceBook> {
    Ok(match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            PriceBook::from_toml(&text).with_context(|| format!("{} is refused", path.display()))?
        }
        None => PriceBook::built_in(),
    })
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Quote {
            files,
            material,
            quantity,
            priority,
            lead_time,
            orientation,
            objective,
            supports,
            alternatives,
            price_book,
            json,
            load,
        } => {
            let load = load.options()?;
            let book = load_book(price_book.as_deref())?;
            let objective = match objective.as_str() {
                "time" => Objective::Time,
                "support" => Objective::Support,
                _ => Objective::Price,
            };
            let options = QuoteOptions {
                request: QuoteRequest {
                    material,
                    quantity,
                    priority: if priority == "high" {
                        Priority::High
                    } else {
                        Priority::Regular
                    },
                    lead_time,
                },
                orientation: if orientation == "keep" {
                    OrientationMode::Keep
                } else {
                    OrientationMode::Auto(objective)
                },
                supports: supports == "auto",
                alternatives,
            };
            let mut stdout = std::io::stdout().lock();
            let mut failed = false;
            for path in &files {
                let name = path.display().to_string();
                match (quote::quote_file(path, &load, &options, &book), json) {
                    (Ok(q), true) => {
                        writeln!(stdout, "{}", quote::quote_json(&name, &q, &options))?
                    }
                    (Ok(q), false) => write!(stdout, "{}", quote::quote_text(&name, &q, &book))?,
                    (Err(err), true) => {
                        failed = true;
                        writeln!(stdout, "{}", quote::error_json(&name, &err))?;
                    }
                    (Err(err), false) => {
                        failed = true;
                        writeln!(stdout, "{name}\n  error         {err}")?;
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Analyze {
            files,
            json,
            quick,
            load,
        } => {
            let options = load.options()?;
            let mut stdout = std::io::stdout().lock();
            let mut failed = false;
            for path in &files {
                let name = path.display().to_string();
                let line = if quick {
                    match analyze::quick_measure_file(path, &options) {
                        Ok((format, measure)) => analyze::quick_json(&name, format, &measure),
                        Err(err) => {
                            failed = true;
                            analyze::error_json(&name, &err)
                        }
                    }
                } else {
                    match analyze::analyze_file(path, &options) {
                        Ok(analysis) if !json => {
                            write!(stdout, "{}", analyze::analysis_text(&name, &analysis))?;
                            continue;
                        }
                        Ok(analysis) => analyze::analysis_json(&name, &analysis),
                        Err(err) if !json => {
                            failed = true;
                            writeln!(stdout, "{name}\n  error         {err}")?;
                            continue;
                        }
                        Err(err) => {
                            failed = true;
                            analyze::error_json(&name, &err)
                        }
                    }
                };
                writeln!(stdout, "{line}")?;
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Run {
            dir,
            repeat,
            json,
            csv,
            load,
        } => {
            let options = load.options()?;
            let format = if json {
                run::Output::Json
            } else if csv {
                run::Output::Csv
            } else {
                run::Output::Table
            };
            let failed =
                run::run(&dir, repeat.max(1), &options, format).context("benchmark failed")?;
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Load {
            target,
            model,
            material,
            concurrency,
            duration,
            high_share,
            high_key,
            regular_key,
            timeout,
            baseline,
            overload,
            server_pid,
            json,
        } => {
            if !(0.0..=1.0).contains(&high_share) {
                anyhow::bail!("--high-share must be between 0 and 1, got {high_share}");
            }
            if !(duration > 0.0 && timeout > 0.0 && overload > 0.0) || concurrency == 0 {
                anyhow::bail!(
                    "--duration, --timeout, --overload and --concurrency must be above 0"
                );
            }
            let bytes = std::fs::read(&model)
                .with_context(|| format!("cannot read {}", model.display()))?;
            let target = load::Target {
                address: target,
                model: std::sync::Arc::new(bytes),
                material,
                high_key,
                regular_key,
                timeout: std::time::Duration::from_secs_f64(timeout),
            };
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(run_load(
                target,
                concurrency,
                duration,
                high_share,
                baseline,
                overload,
                server_pid,
                json,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Accuracy {
            reference,
            models,
            json,
        } => {
            let rows = accuracy::rows(&reference, &models)?;
            print!("{}", accuracy::report(&rows, json));
            Ok(ExitCode::SUCCESS)
        }
        Command::Materials { price_book, json } => {
            let book = load_book(price_book.as_deref())?;
            print!("{}", materials::listing(&book, json));
            Ok(ExitCode::SUCCESS)
        }
        Command::Gen { what } => {
            match what {
                GenCommand::Fixtures { out } => {
                    let written = generate::write_fixtures(&out)?;
                    eprintln!(
                        "wrote {} fixtures and expected.json to {}",
                        written,
                        out.display()
                    );
                }
                GenCommand::Sphere {
                    out,
                    triangles,
                    radius,
                } => {
                    let n = generate::write_sphere_stl(&out, triangles, radius)?;
                    eprintln!("wrote {} triangles to {}", n, out.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_load(
    target: load::Target,
    concurrency: usize,
    duration: f64,
    high_share: f64,
    baseline: bool,
    overload: f64,
    server_pid: Option<u32>,
    json: bool,
) -> anyhow::Result<()> {
    use std::time::Duration;
    let memory = server_pid.map(load::sample_memory);
    let main = Duration::from_secs_f64(duration);
    let mut phases: Vec<(&str, load::Outcomes)> = Vec::new();
    let mut offered = None;
    if baseline {
        let short = Duration::from_secs_f64((duration / 3.0).max(5.0));
        eprintln!(
            "idle: one client, high priority, {:.0} s",
            short.as_secs_f64()
        );
        phases.push(("idle", load::closed_loop(&target, 1, short, 1.0).await?));
        eprintln!(
            "capacity: {concurrency} clients, {:.0} s",
            short.as_secs_f64()
        );
        let capacity = load::closed_loop(&target, concurrency, short, 0.0).await?;
        let rate = capacity.throughput() * overload;
        phases.push(("capacity", capacity));
        eprintln!("load: {rate:.1} requests/s ({overload}x capacity), {duration:.0} s");
        offered = Some(rate);
        phases.push((
            "load",
            load::open_loop(&target, rate, main, high_share, 100_000).await?,
        ));
    } else {
        eprintln!("closed loop: {concurrency} clients, {duration:.0} s");
        phases.push((
            "run",
            load::closed_loop(&target, concurrency, main, high_share).await?,
        ));
    }
    let rss = match memory {
        Some((stop, task)) => {
            let _ = stop.send(true);
            Some(task.await?)
        }
        None => None,
    };
    let ratio = match (phases.first(), phases.last()) {
        (Some(("idle", idle)), Some(("load", loaded))) => loaded
            .quantile_ms(load::Class::High, 0.99)
            .zip(idle.quantile_ms(load::Class::High, 0.99))
            .map(|(l, i)| l / i),
        _ => None,
    };
    let (rss_min, rss_max) = rss
        .as_ref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            (
                s.iter().copied().fold(f64::INFINITY, f64::min),
                s.iter().copied().fold(0.0, f64::max),
            )
        })
        .unzip();
    if json {
        for (phase, outcomes) in &phases {
            for row in load::rows_json(phase, outcomes) {
                println!("{row}");
            }
        }
        println!(
            "{}",
            serde_json::json!({"summary": {"offered_per_s": offered, "high_p99_load_over_idle": ratio,
                "server_rss_mib_min": rss_min, "server_rss_mib_max": rss_max}})
        );
    } else {
        let refs: Vec<(&str, &load::Outcomes)> = phases.iter().map(|(p, o)| (*p, o)).collect();
        print!("{}", load::table(&refs));
        if let Some(rate) = offered {
            println!("offered load: {rate:.1} requests/s");
        }
        if let Some(ratio) = ratio {
            println!("high-priority p99 under load / idle: {ratio:.2}x");
        }
        if let (Some(min), Some(max)) = (rss_min, rss_max) {
            println!("server resident memory: {min:.0} to {max:.0} MiB");
        }
    }
    Ok(())
}
