//! `wws-host up`: the `spin up` of the wasmtime deployment.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use wws_host::{HostOptions, Server};

#[derive(Parser)]
#[command(
    name = "wws-host",
    version,
    about = "Serve the composed WWS component on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application described by a Spin manifest.
    Up {
        /// The Spin manifest.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Spin runtime configuration (key-value stores).
        #[arg(long)]
        runtime_config_file: Option<PathBuf>,
        /// Set a variable: `--variable name=value` (repeatable).
        #[arg(long = "variable", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
        /// Folder for the default SQLite store (default: `.spin` beside the manifest).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Start built-in mock providers and identity provider on loopback
        /// and point WWS at them: try it without any account or key.
        #[arg(long)]
        demo: bool,
    },
}

fn parse_variable(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected name=value, got {text:?}"))?;
    Ok((name.trim().to_string(), value.to_string()))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "wws_host=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(error) = run(Cli::parse()).await {
        eprintln!("Error: {error:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let Command::Up {
        manifest,
        listen,
        runtime_config_file,
        variables,
        state_dir,
        demo,
    } = cli.command;
    let mut variables = variables.into_iter().collect::<HashMap<_, _>>();
    if demo {
        // Explicit --variable values still win over the demo's.
        for (name, value) in wws_host::demo::start().await? {
            variables.entry(name).or_insert(value);
        }
    }
    let options = HostOptions {
        kv_faults: None,
        manifest,
        runtime_config: runtime_config_file,
        variables,
        process_variables: true,
        state_dir,
    };
    let server = Arc::new(Server::load(&options).await?);
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    println!("Serving http://{}", listener.local_addr()?);
    if demo {
        println!(
            "Demo mode: built-in mock providers; authenticate with `Authorization: Bearer {}`",
            wws_host::demo::DEMO_TOKEN
        );
    }
    server.serve(listener, shutdown_signal()).await?;
    println!("Shut down cleanly");
    Ok(())
}

/// SIGINT (Ctrl-C) or SIGTERM (docker stop, systemd).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}
