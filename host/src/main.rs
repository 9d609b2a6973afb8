//! `wws-host`: the `spin up` of the wasmtime deployment, and `wws-host
//! check`, which validates a deployment without serving it.

mod cli;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio::net::TcpListener;
use wws_host::{HostOptions, Limits, Platform, Server};

#[derive(Parser)]
#[command(
    name = "wws-host",
    version,
    about = "Serve the composed WWS component on wasmtime, with Spin's host interfaces",
    long_about = "Serve the composed WWS component (target/wws.wasm) on wasmtime with exactly \
the host interfaces Spin provides: wasi:http 0.2, wasi:keyvalue 0.2.0-draft2 (SQLite, Redis or \
memory) and wasi:config. The same spin.toml and runtime config files work with `spin up`.",
    after_help = "Examples:\n  \
wws-host up                                       # spin.toml here, SQLite in .spin/, port 3000\n  \
wws-host up --demo                                # built-in mock providers, token demo-token\n  \
wws-host up --listen 0.0.0.0:80 --runtime-config-file runtime-config-redis.toml\n  \
wws-host check --runtime-config-file runtime-config-redis.toml\n  \
wws-host up -f spin-akamai.toml --platform akamai    # as Akamai Functions: its interfaces and quotas\n\n\
Variables come from --variable, then SPIN_VARIABLE_<NAME> in the environment, then \
SPIN_VARIABLE_<NAME> lines of .env in the working directory (as spin up reads them), then \
the manifest's defaults. Logs: one JSON line per request on stderr \
(from the component); RUST_LOG=wws_host=debug adds the host's own."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application described by a Spin manifest (like `spin up`).
    Up {
        #[command(flatten)]
        app: AppArgs,
        /// Address and port to listen on; 0.0.0.0:<port> to accept
        /// connections from other machines (as in a container).
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// Start built-in mock providers and identity provider on loopback
        /// and point WWS at them: try it without any account or key.
        /// Authenticate with `Authorization: Bearer demo-token`.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        limits: LimitArgs,
        /// Benchmark mode: charge the component's host calls what Spin 4.0.2
        /// charges them (its SQLite store's defaults and blocking calls, a
        /// blocking environment lookup per variable read, every variable
        /// resolved again for an instance's first outgoing request), so a run
        /// shows what they cost under `spin up`. Slower on purpose.
        #[arg(long)]
        spin_costs: bool,
    },
    /// Validate the manifest, runtime config, variables and component, open
    /// the stores, and ask the component's health check whether the store
    /// and its atomics answer; exits 1 on any problem, without serving.
    Check {
        #[command(flatten)]
        app: AppArgs,
    },
}

/// What `up` and `check` both load.
#[derive(Args)]
struct AppArgs {
    /// The Spin manifest (spin.toml); relative paths in it are taken from
    /// its folder.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    manifest: PathBuf,
    /// Spin runtime configuration file choosing the key-value store
    /// (`[key_value_store.default]` with `type = "spin"` (SQLite, the
    /// default), `"redis"` plus `url`, or `"memory"`).
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// Set a variable, highest priority: `--variable name=value`
    /// (repeatable). Prefer SPIN_VARIABLE_<NAME> for secrets, so they stay
    /// out of the process list.
    #[arg(long = "variable", value_parser = parse_variable)]
    variables: Vec<(String, String)>,
    /// Folder for the default SQLite store (default: `.spin` next to the
    /// manifest).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Behave as this platform: link only the host interfaces it provides
    /// (akamai and fermyon-cloud have no wasi:keyvalue/atomics) and hold
    /// the app to its published quotas (key and value sizes, key-value
    /// reads and writes per second, memory, a 30 s handler). Each breach
    /// prints a line starting `wws-host: platform quota exceeded:`.
    #[arg(long, value_enum, default_value_t = PlatformArg(Platform::Spin))]
    platform: PlatformArg,
}

/// `--platform`'s values, named and listed by the library's [`Platform`].
#[derive(Clone, Copy)]
struct PlatformArg(Platform);

impl ValueEnum for PlatformArg {
    fn value_variants<'a>() -> &'a [Self] {
        const VARIANTS: [PlatformArg; 3] = [
            PlatformArg(Platform::ALL[0]),
            PlatformArg(Platform::ALL[1]),
            PlatformArg(Platform::ALL[2]),
        ];
        &VARIANTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.spec().title))
    }
}

/// How long a client may take and how much it may hold (see `Limits`).
#[derive(Args)]
struct LimitArgs {
    /// Seconds a client has to send a whole request head.
    #[arg(long, default_value_t = Limits::default().header_read.as_secs())]
    header_timeout_secs: u64,
    /// Longest pause, in seconds, inside a request body.
    #[arg(long, default_value_t = Limits::default().body_idle.as_secs())]
    body_idle_timeout_secs: u64,
    /// Seconds the component has to start its answer; then 504.
    #[arg(long, default_value_t = Limits::default().response_head.as_secs())]
    response_timeout_secs: u64,
    /// Seconds one request may run in all, streamed answer included.
    #[arg(long, default_value_t = Limits::default().request.as_secs())]
    request_timeout_secs: u64,
    /// Open connections per client address (0: no cap). Behind a proxy
    /// every client has the proxy's address: raise it there.
    #[arg(long, default_value_t = Limits::default().connections_per_client)]
    max_connections_per_client: usize,
    /// Requests in progress per client address (0: no cap).
    #[arg(long, default_value_t = Limits::default().requests_per_client)]
    max_requests_per_client: usize,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            header_read: Duration::from_secs(self.header_timeout_secs),
            body_idle: Duration::from_secs(self.body_idle_timeout_secs),
            response_head: Duration::from_secs(self.response_timeout_secs),
            request: Duration::from_secs(self.request_timeout_secs),
            connections_per_client: self.max_connections_per_client,
            requests_per_client: self.max_requests_per_client,
            ..Limits::default()
        }
    }
}

impl AppArgs {
    fn options(self, extra: HashMap<String, String>) -> HostOptions {
        let mut variables = self.variables.into_iter().collect::<HashMap<_, _>>();
        // Explicit --variable values win over the demo's.
        for (name, value) in extra {
            variables.entry(name).or_insert(value);
        }
        HostOptions {
            #[cfg(feature = "fault-injection")]
            kv_faults: None,
            spin_http_semantics: false,
            manifest: self.manifest,
            runtime_config: self.runtime_config_file,
            variables,
            process_variables: true,
            state_dir: self.state_dir,
            limits: Limits::default(),
            spin_costs: false,
            platform: self.platform.0,
        }
    }
}

fn parse_variable(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected name=value, got {text:?}"))?;
    Ok((name.trim().to_string(), value.to_string()))
}

fn main() {
    keep_backtraces_for_panics_only();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Error: starting the async runtime: {error}");
            std::process::exit(1);
        }
    };
    runtime.block_on(run());
}

/// `RUST_BACKTRACE=1` (common in containers) also makes every `anyhow`
/// error capture a backtrace, and the first one printed loads the binary's
/// debug info: one request whose body timed out added ~200 MiB of RSS for
/// good. Panics keep their backtraces; errors skip them unless
/// `RUST_LIB_BACKTRACE` asks for them.
fn keep_backtraces_for_panics_only() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called first thing in `main`, before any other thread
        // exists that could read the environment.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}

async fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "wws_host=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let outcome = match Cli::parse().command {
        Command::Up {
            app,
            listen,
            demo,
            limits,
            spin_costs,
        } => up(app, listen, demo, limits.limits(), spin_costs).await,
        Command::Check { app } => cli::check::run(&app.options(HashMap::new())).await,
    };
    if let Err(error) = outcome {
        eprintln!("Error: {error:#}");
        std::process::exit(1);
    }
}

async fn up(
    app: AppArgs,
    listen: SocketAddr,
    demo: bool,
    limits: Limits,
    spin_costs: bool,
) -> Result<()> {
    let demo_variables = if demo {
        wws_host::demo::start().await?
    } else {
        HashMap::new()
    };
    let options = HostOptions {
        limits,
        spin_costs,
        ..app.options(demo_variables)
    };
    let server = Arc::new(Server::load(&options).await?);
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    // Scripts read the first line for the address; the rest is for people.
    println!("Serving {url}");
    print!("{}", cli::banner::render(server.summary(), &url));
    if demo {
        println!(
            "Demo mode: built-in mock providers; authenticate with `Authorization: Bearer {}`",
            wws_host::demo::DEMO_TOKEN
        );
    }
    if server.platform() != Platform::Spin {
        println!("{}", cli::platform::banner_line(server.platform()));
    }
    server.clone().serve(listener, shutdown_signal()).await?;
    if let Some(summary) = cli::platform::breach_summary(&server) {
        eprintln!("{summary}");
    }
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
