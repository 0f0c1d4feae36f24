//! The `amazon-connect-exporter` binary: parses flags, sets up logging and reports errors.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use tracing::{error, info};

use std::sync::Arc;

use amazon_connect_exporter::app::{ConfigLoader, Exporter, Settings};
use amazon_connect_exporter::cli::{Cli, Command, SimulateArgs};
use amazon_connect_exporter::config::shard;
use amazon_connect_exporter::web::config::{self as web_config, WebConfig};
use amazon_connect_exporter::{config, demo, logging, online_check};
use connect_simulator::{
    AgentEventStreamOptions, Faults, Quota, RunningSimulator, SimulatorOptions,
};

/// See the note on `mimalloc` in Cargo.toml: less memory held and less CPU per round at scale.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    no_transparent_huge_pages();
    purge_freed_memory_at_once();
    let cli = Cli::try_parse_args(std::env::args_os()).unwrap_or_else(|error| error.exit());
    if let Err(problem) = logging::init(cli.log_level, cli.log_format) {
        let _ = writeln!(std::io::stderr(), "error: cannot set up logging: {problem}");
        return ExitCode::FAILURE;
    }
    match &cli.command {
        Some(Command::CheckConfig { file, online }) => {
            let file = file.as_ref().unwrap_or(&cli.config_file);
            if *online {
                check_config_online(file)
            } else {
                check_config(file)
            }
        }
        Some(Command::Simulate(args)) => run_async(simulate(args.clone())),
        None => run_async(run_exporter(cli)),
    }
}

/// Transparent huge pages off for this process: on a host whose THP setting is `always` the
/// kernel would back every 2 MiB region of the allocator's arena that is touched at all with a
/// whole huge page, as it does with `madvise` when the allocator asks (which `no_thp` stops,
/// see Cargo.toml): at 50 agents 26 MiB of the 42 MiB peak were huge pages holding a few
/// kilobytes each. Failure (an old kernel) only costs memory.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

// mimalloc's options (its `mimalloc.h`): the index of `mi_option_purge_delay`, the same in
// mimalloc 2 and 3.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Memory the allocator no longer uses goes back to the system when it is freed, not a second
/// (ten, for whole arena chunks) later: a round frees the pages of the API's answers and the
/// last exposition's text while the next is being built, and with the delay both were held at
/// the peak. 47 → 36 MiB peak at 5,000 agents, 145 → 129 MiB at 50,000, for no measurable CPU.
fn purge_freed_memory_at_once() {
    // SAFETY: sets one integer option of the allocator; mimalloc reads it at each purge.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

fn run_async(task: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(problem) => {
            error!(error = %problem, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            error!(error = %problem, "exiting");
            ExitCode::FAILURE
        }
    }
}

/// `check-config`: the verdict goes to standard output, problems to standard error.
fn check_config(file: &std::path::Path) -> ExitCode {
    match config::load(file) {
        Ok(config) => {
            let sets: usize = config.instances.iter().map(|i| i.queue_sets.len()).sum();
            let _ = writeln!(
                std::io::stdout(),
                "{}: valid: {} instance(s), {sets} queue set(s)",
                file.display(),
                config.instances.len()
            );
            ExitCode::SUCCESS
        }
        Err(problem) => {
            let _ = writeln!(std::io::stderr(), "{problem}");
            ExitCode::FAILURE
        }
    }
}

/// `check-config --online`: the file's own checks, then the AWS-side ones; what passed goes to
/// standard output, problems to standard error, exit 1 on any problem.
fn check_config_online(file: &std::path::Path) -> ExitCode {
    let config = match config::load(file) {
        Ok(config) => config,
        Err(problem) => {
            let _ = writeln!(std::io::stderr(), "{problem}");
            return ExitCode::FAILURE;
        }
    };
    let mut problems = 0;
    let checked = run_async(async {
        let report = online_check::check_online(&config, None).await;
        let mut out = std::io::stdout();
        for line in &report.passed {
            let _ = writeln!(out, "ok: {line}");
        }
        let mut err = std::io::stderr();
        for line in &report.problems {
            let _ = writeln!(err, "problem: {line}");
        }
        problems = report.problems.len();
        Ok(())
    });
    if checked != ExitCode::SUCCESS {
        return checked;
    }
    if problems == 0 {
        let _ = writeln!(
            std::io::stdout(),
            "{}: valid, and every check against AWS passed",
            file.display()
        );
        ExitCode::SUCCESS
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "{}: {problems} problem(s) found against AWS",
            file.display()
        );
        ExitCode::FAILURE
    }
}

async fn run_exporter(cli: Cli) -> Result<(), String> {
    let mut simulator = None;
    let (config_loader, credentials): (ConfigLoader, _) = if cli.demo {
        // The demo's instance reads the agent event stream too (config/demo.yaml).
        let options = SimulatorOptions {
            agent_events: Some(AgentEventStreamOptions::default()),
            ..SimulatorOptions::default()
        };
        let running = RunningSimulator::start(options, "127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let endpoint_url = running.endpoint_url();
        info!(%endpoint_url, "demo: simulated Connect API started");
        simulator = Some(running);
        (
            Arc::new(move || demo::config(&endpoint_url)),
            Some(demo::credentials()),
        )
    } else {
        let file = cli.config_file.clone();
        (Arc::new(move || config::load(&file)), None)
    };
    let config_loader: ConfigLoader = match cli.shard {
        Some(shard) => Arc::new(move || config_loader().map(|config| shard::select(config, shard))),
        None => config_loader,
    };
    let web = match &cli.web_config_file {
        Some(file) => web_config::load(file).map_err(|e| e.to_string())?,
        None => WebConfig::default(),
    };
    let exporter = Exporter::start(Settings {
        config_loader,
        listen_address: cli.listen_address.clone(),
        telemetry_path: cli.telemetry_path.clone(),
        credentials,
        max_connections: cli.max_connections,
        web,
        clock: Default::default(),
        enable_lifecycle: cli.enable_lifecycle,
    })
    .await
    .map_err(|e| e.to_string())?;
    if cli.demo {
        info!(
            url = %format!("http://{}{}", browsable(exporter.address()), cli.telemetry_path),
            status_page = %format!("http://{}/", browsable(exporter.address())),
            "demo: open the metrics in a browser or with curl; Ctrl-C stops"
        );
    }
    exporter
        .run(async {
            shutdown_signal().await;
            info!("shutting down");
        })
        .await;
    if let Some(running) = simulator {
        running.stop().await;
    }
    Ok(())
}

async fn simulate(args: SimulateArgs) -> Result<(), String> {
    let options = SimulatorOptions {
        agents: args.agents,
        queues: args.queues,
        routing_profiles: args.routing_profiles,
        seed: args.seed,
        frozen: args.frozen,
        tick: args.tick,
        faults: Faults {
            throttle_rate: args.throttle_rate,
            server_error_rate: args.server_error_rate,
            latency: args.latency,
            malformed_rate: args.malformed_rate,
            reset_rate: args.reset_rate,
            unknown_enum_rate: args.unknown_enum_rate,
            rate_limit: args.quota_rate.map(|rate| Quota {
                rate,
                burst: args.quota_burst,
            }),
        },
        agent_events: args.agent_events.then(AgentEventStreamOptions::default),
        ..SimulatorOptions::default()
    };
    let running = RunningSimulator::start(options, &args.listen_address)
        .await
        .map_err(|e| e.to_string())?;
    info!(
        endpoint_url = %running.endpoint_url(),
        instance_id = running.simulator().instance_id(),
        agents = args.agents,
        queues = args.queues,
        frozen = args.frozen,
        "simulated Connect API serving; Ctrl-C stops"
    );
    shutdown_signal().await;
    running.stop().await;
    Ok(())
}

/// A wildcard address is not something to type into a browser.
fn browsable(address: SocketAddr) -> String {
    if address.ip().is_unspecified() {
        format!("localhost:{}", address.port())
    } else {
        address.to_string()
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(problem) = tokio::signal::ctrl_c().await {
            error!(error = %problem, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(problem) => {
                error!(error = %problem, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_set() {
        purge_freed_memory_at_once();
        // SAFETY: reads one integer option of the allocator.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, 0);
    }
}
