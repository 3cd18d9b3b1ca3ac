//! `quiver`: the command-line tool that ships with Quiver (the contract is TOOLS.md).
//!
//! One module per command group; this file holds the arguments (clap's derive API) and
//! the one place where every failure becomes a diagnostic and an exit code (`fail.rs`).

mod backup;
mod export;
mod fail;
mod import;
mod inspect;
mod jsonl;
mod progress;
mod stage;
mod wal;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use fail::Fail;
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  operation failed (I/O, disk full, internal, interrupted, the database or backup
     to create already exists, no such database)
  2  usage error
  3  data problem (check found problems, verify mismatch or missing manifest, corrupt
     or unknown format)
  4  database in use (locked by another process, busy)
  5  input rejected (import or load: bad header, bad row, duplicate id, missing endpoint,
     truncated dump, digest mismatch)";

/// Inspect, check, dump, load, import, export, back up and compact Quiver databases.
#[derive(Parser)]
#[command(name = "quiver", version, after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// The arguments of a command that reads or rewrites a whole database (check, compact).
#[derive(clap::Args)]
struct WholeDb {
    /// The database directory.
    db: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Format version, counts, file sizes, log and checkpoint positions, last recovery.
    #[command(after_help = EXIT_CODES)]
    Info {
        /// The database directory.
        db: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Also count nodes per label and edges per type (reads every record).
        #[arg(long)]
        labels: bool,
    },
    /// Run the integrity check; exit 3 naming the first problem if it finds any.
    #[command(after_help = EXIT_CODES)]
    Check(WholeDb),
    /// Write the database as Quiver JSON Lines from one snapshot.
    #[command(after_help = EXIT_CODES)]
    Dump {
        /// The database directory.
        db: PathBuf,
        /// Write to FILE instead of stdout (replaced only when the dump is complete).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Create DB (which must not exist) from a Quiver JSON Lines file; ids are kept.
    #[command(after_help = EXIT_CODES)]
    Load {
        /// The database directory to create.
        db: PathBuf,
        /// The dump to read (`-` for stdin).
        file: PathBuf,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Create DB (which must not exist) from Neo4j admin-import CSV files.
    ///
    /// Each FILE belongs to the `--nodes` or `--relationships` before it:
    /// `quiver import g.qv --nodes=Person people.csv --relationships=KNOWS knows.csv`.
    /// Node files are read first, then relationship files, each in the order given.
    #[command(after_help = EXIT_CODES)]
    Import(import::ImportArgs),
    /// Write `nodes_<Label>.csv` and `relationships_<TYPE>.csv` that import reads back.
    #[command(after_help = EXIT_CODES)]
    Export {
        /// The database directory.
        db: PathBuf,
        /// The output format (only `neo4j-csv`).
        #[arg(long, value_parser = ["neo4j-csv"])]
        format: String,
        /// The directory to write the files into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Write all nodes to nodes.csv and all relationships to relationships.csv, in id
        /// order, so that import keeps the ids even when labels or types interleave.
        #[arg(long)]
        one_file: bool,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Copy a database to DEST (a new directory) with a manifest holding its digest.
    ///
    /// DB is opened read-only, so no other process may hold it (exit 4). The copy is built
    /// in a hidden directory beside DEST and renamed into place, with DEST/backup.json,
    /// only when complete; an existing DEST is never replaced (exit 1). Ctrl-C cancels and
    /// leaves nothing behind.
    #[command(after_help = EXIT_CODES)]
    Backup {
        /// The database directory.
        db: PathBuf,
        /// The copy to create (must not exist; its parent must).
        dest: PathBuf,
        /// Write live data only (drops superseded and deleted property blobs).
        #[arg(long)]
        compact: bool,
        /// Print one JSON object (the manifest, DEST and timings).
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Check a backup and compare its digest with its manifest; exit 3 on any mismatch.
    ///
    /// Opens DEST read-only, runs the integrity check, computes the content digest and
    /// compares it (and the transaction, LSN and counts) with DEST/backup.json. A missing
    /// or unreadable manifest, a check problem or a difference is exit 3, naming the first.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// The copy to verify.
        dest: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// No progress output.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Rewrite DB with live data only: a compact copy, checked, then swapped in.
    ///
    /// Holds DB's lock throughout, writes the copy into a hidden directory beside it,
    /// checks it and compares its digest with DB's, then exchanges the two directories in
    /// one step (renameat2 RENAME_EXCHANGE) and removes the original. Needs free space for
    /// the copy. A kill at any point leaves the original or the compacted database at DB;
    /// the next run removes the hidden directory a killed run left.
    #[command(after_help = EXIT_CODES)]
    Compact(WholeDb),
    /// Run a checkpoint (moves committed changes from the log into the data files).
    #[command(after_help = EXIT_CODES)]
    Checkpoint {
        /// The database directory.
        db: PathBuf,
    },
    /// List the log segments and the transactions in them, changing nothing.
    #[command(after_help = EXIT_CODES)]
    Wal {
        /// The database directory.
        db: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn run(cmd: Cmd, matches: &clap::ArgMatches) -> Result<(), Fail> {
    match cmd {
        Cmd::Info { db, json, labels } => inspect::info(&db, json, labels),
        Cmd::Check(a) => inspect::check(&a.db, a.json, a.quiet),
        Cmd::Dump { db, output, quiet } => jsonl::dump(&db, output.as_deref(), quiet),
        Cmd::Load { db, file, quiet } => jsonl::load(&db, &file, quiet),
        Cmd::Import(args) => {
            let sub = matches
                .subcommand_matches("import")
                .ok_or_else(|| Fail::Internal("import arguments missing".into()))?;
            import::import(&args, sub)
        }
        Cmd::Export {
            db,
            out,
            one_file,
            quiet,
            ..
        } => export::export(&db, &out, one_file, quiet),
        Cmd::Backup {
            db,
            dest,
            compact,
            json,
            quiet,
        } => backup::backup(&db, &dest, compact, json, quiet),
        Cmd::Verify { dest, json, quiet } => backup::verify(&dest, json, quiet),
        Cmd::Compact(a) => backup::compact(&a.db, a.json, a.quiet),
        Cmd::Checkpoint { db } => inspect::checkpoint(&db),
        Cmd::Wal { db, json } => wal::list(&db, json),
    }
}

/// mimalloc rather than glibc's malloc: an import's three threads (CSV reader, writer,
/// checkpoint) allocate and free millions of record versions and lists, and glibc's
/// arenas spent a noticeable share of the time consolidating them (relationships/s 11%
/// to 19% higher with mimalloc; PERFORMANCE.md, "quiver import").
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli.cmd, &matches) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.report(),
    }
}
