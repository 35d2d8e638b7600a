//! `workflow-server`: the HTTP server and the command-line verbs used by scripts and CI.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use workflow_contracts::{
    markdown::catalog_markdown, starter_graph, validate, Family, Graph, Registry,
};

#[derive(Parser)]
#[command(
    name = "workflow-server",
    version,
    about = "Workflow Studio backend and command-line tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the node registry as JSON (or the catalog table with --markdown).
    Contracts {
        /// Print the Markdown catalog that docs/contracts.md holds.
        #[arg(long)]
        markdown: bool,
    },
    /// Print the canonical starter graph of a family (cad_file or order_line).
    Starter { family: Family },
    /// Validate a graph file ("-" reads standard input). Exit 0 valid, 1 invalid, 2 unreadable.
    Validate { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    let registry = Registry::builtin();
    match command {
        Command::Contracts { markdown: true } => print!("{}", catalog_markdown(&registry)),
        Command::Contracts { markdown: false } => print_json(&registry)?,
        Command::Starter { family } => print_json(&starter_graph(family, &registry))?,
        Command::Validate { file } => return validate_file(&file, &registry),
    }
    Ok(ExitCode::SUCCESS)
}

fn validate_file(file: &PathBuf, registry: &Registry) -> anyhow::Result<ExitCode> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        s
    } else {
        match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(err) => {
                let message = format!("cannot read {}: {err}", file.display());
                return unreadable(
                    "unreadable_file",
                    &message,
                    serde_json::json!({"path": file}),
                );
            }
        }
    };
    let graph = match Graph::from_json(&text) {
        Ok(g) => g,
        Err(err) => {
            let message = format!("{}: {err}", file.display());
            let details = serde_json::json!({"line": err.line(), "column": err.column()});
            return unreadable("malformed_json", &message, details);
        }
    };
    let report = validate(&graph, registry);
    print_json(&report)?;
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Exit 2 with our structured error body on stdout and a plain message on stderr.
fn unreadable(code: &str, message: &str, details: serde_json::Value) -> anyhow::Result<ExitCode> {
    print_json(
        &serde_json::json!({"error": {"code": code, "message": message, "details": details}}),
    )?;
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
