//! Command-line flags, named as in Prometheus exporters, each with an environment fallback.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Default path of the configuration file.
pub const DEFAULT_CONFIG_FILE: &str = "config/connect-exporter.yaml";
/// Default listen address: every interface, port 10061.
pub const DEFAULT_LISTEN_ADDRESS: &str = ":10061";

/// Prometheus exporter for Amazon Connect real-time agent and contact data.
#[derive(Debug, Parser)]
#[command(name = "amazon-connect-exporter", version, about, long_about = None)]
pub struct Cli {
    /// Path to the YAML configuration file.
    #[arg(long = "config.file", env = "CONNECT_EXPORTER_CONFIG_FILE", default_value = DEFAULT_CONFIG_FILE, global = true)]
    pub config_file: PathBuf,

    /// Address to listen on for HTTP requests (`:port` means all interfaces).
    #[arg(long = "web.listen-address", env = "CONNECT_EXPORTER_WEB_LISTEN_ADDRESS", default_value = DEFAULT_LISTEN_ADDRESS)]
    pub listen_address: String,

    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", env = "CONNECT_EXPORTER_WEB_TELEMETRY_PATH", default_value = "/metrics", value_parser = parse_telemetry_path)]
    pub telemetry_path: String,

    /// Path to a web configuration file (exporter-toolkit format) enabling TLS and/or basic
    /// authentication.
    #[arg(long = "web.config.file", env = "CONNECT_EXPORTER_WEB_CONFIG_FILE")]
    pub web_config_file: Option<PathBuf>,

    /// Connections served at once; more wait until one closes. A connection is closed after
    /// 90 s idle between requests, 10 s without complete request headers, or 60 s into a
    /// response.
    #[arg(long = "web.max-connections", env = "CONNECT_EXPORTER_WEB_MAX_CONNECTIONS", default_value_t = crate::web::server::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(usize))]
    pub max_connections: usize,

    /// Enable the lifecycle API, as in Prometheus: `POST /-/reload` reloads the configuration.
    /// Without it `/-/reload` answers 403; SIGHUP always reloads.
    #[arg(
        long = "web.enable-lifecycle",
        env = "CONNECT_EXPORTER_WEB_ENABLE_LIFECYCLE"
    )]
    pub enable_lifecycle: bool,

    /// Poll only this replica's share of the configured instances: N/M (1 <= N <= M) with M
    /// replicas sharing one configuration; each instance goes to exactly one replica, chosen
    /// by a stable hash of its name.
    #[arg(long = "shard", env = "CONNECT_EXPORTER_SHARD", value_name = "N/M")]
    pub shard: Option<crate::config::shard::Shard>,

    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", env = "CONNECT_EXPORTER_LOG_LEVEL", value_enum, default_value_t = LogLevel::Info, global = true)]
    pub log_level: LogLevel,

    /// Output format of log messages.
    #[arg(long = "log.format", env = "CONNECT_EXPORTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Logfmt, global = true)]
    pub log_format: LogFormat,

    /// Start the built-in Connect simulator and poll it with the bundled demo configuration:
    /// no AWS account needed. Cannot be combined with --config.file on the command line;
    /// CONNECT_EXPORTER_CONFIG_FILE is ignored.
    #[arg(long)]
    pub demo: bool,

    /// What to do instead of running the exporter.
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses `args` (the program name first), as [`Parser::try_parse_from`] does, except that
    /// `--demo` conflicts with `--config.file` only when that is given on the command line: a
    /// demo must also start on a host whose environment names the production config file.
    pub fn try_parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = Self::command();
        let matches = command.try_get_matches_from_mut(args)?;
        let cli = Self::from_arg_matches(&matches)?;
        if cli.demo && matches.value_source("config_file") == Some(ValueSource::CommandLine) {
            return Err(command.error(
                ErrorKind::ArgumentConflict,
                "--demo runs the bundled demo configuration and cannot be combined with --config.file",
            ));
        }
        Ok(cli)
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a configuration file and exit 0 if it is valid, 1 if not.
    CheckConfig {
        /// The file to check (defaults to --config.file).
        file: Option<PathBuf>,
        /// Also run the checks that need AWS: every name resolves, and each API action the
        /// configuration needs is allowed (one cheap request per operation, with the AWS
        /// credential chain).
        #[arg(long)]
        online: bool,
    },
    /// Run the Connect API simulator on its own (for the demo, tests and benchmarks).
    Simulate(SimulateArgs),
}

/// Flags of the `simulate` subcommand.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Address to serve the simulated Connect API on.
    #[arg(long = "listen-address", default_value = "127.0.0.1:8808")]
    pub listen_address: String,
    /// Number of agents.
    #[arg(long, default_value_t = 200)]
    pub agents: usize,
    /// Number of STANDARD queues.
    #[arg(long, default_value_t = 12)]
    pub queues: usize,
    /// Number of routing profiles.
    #[arg(long = "routing-profiles", default_value_t = 10)]
    pub routing_profiles: usize,
    /// Seed of the generated contact centre.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Freeze the data after warm-up, for exact tests.
    #[arg(long)]
    pub frozen: bool,
    /// How much simulated time one step covers.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub tick: Duration,
    /// Fault: share of requests answered 429 ThrottlingException (0 to 1).
    #[arg(long = "fault.throttle-rate", default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Fault: share of requests answered 500 InternalServiceException.
    #[arg(long = "fault.server-error-rate", default_value_t = 0.0)]
    pub server_error_rate: f64,
    /// Fault: delay before every answer.
    #[arg(long = "fault.latency", default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// Fault: share of requests answered with truncated JSON.
    #[arg(long = "fault.malformed-rate", default_value_t = 0.0)]
    pub malformed_rate: f64,
    /// Fault: share of connections closed without an answer.
    #[arg(long = "fault.reset-rate", default_value_t = 0.0)]
    pub reset_rate: f64,
    /// Fault: share of contacts given an initiation method no SDK knows.
    #[arg(long = "fault.unknown-enum-rate", default_value_t = 0.0)]
    pub unknown_enum_rate: f64,
    /// Throttle GetCurrentUserData beyond this many requests per second, like the real quota.
    #[arg(long = "quota.rate")]
    pub quota_rate: Option<f64>,
    /// Burst of that quota.
    #[arg(long = "quota.burst", default_value_t = 5.0, requires = "quota_rate")]
    pub quota_burst: f64,
    /// Also serve the agent event stream `connect-agent-events` (Kinesis, two shards) on the
    /// same address, publishing every agent change.
    #[arg(long = "agent-events")]
    pub agent_events: bool,
}

/// Log severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Everything, including each poll.
    Debug,
    /// Start, stop, recoveries.
    Info,
    /// Failed polls.
    Warn,
    /// Only what stops the exporter or its metrics.
    Error,
}

impl LogLevel {
    /// The `tracing` directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `key=value` pairs, one event a line.
    Logfmt,
    /// One JSON object a line.
    Json,
}

fn parse_telemetry_path(path: &str) -> Result<String, String> {
    if path.starts_with('/') && !path.contains(char::is_whitespace) && path != "/" {
        Ok(path.to_string())
    } else {
        Err("must start with / and name a path other than / (e.g. /metrics)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_exporter_conventions() {
        let cli = Cli::try_parse_from(["amazon-connect-exporter"]).unwrap();
        assert_eq!(cli.config_file, PathBuf::from(DEFAULT_CONFIG_FILE));
        assert_eq!(cli.listen_address, ":10061");
        assert_eq!(cli.telemetry_path, "/metrics");
        assert_eq!(cli.log_format, LogFormat::Logfmt);
        assert!(!cli.demo);
        assert!(
            !cli.enable_lifecycle,
            "the lifecycle API is off unless asked for"
        );
        let cli = Cli::try_parse_from(["x", "--web.enable-lifecycle"]).unwrap();
        assert!(cli.enable_lifecycle);
    }

    #[test]
    fn check_config_takes_a_file_or_the_global_flag() {
        let cli = Cli::try_parse_from(["x", "check-config", "a.yaml"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::CheckConfig { file: Some(ref f), online: false }) if f == &PathBuf::from("a.yaml"))
        );
        let cli = Cli::try_parse_from(["x", "check-config", "--config.file", "b.yaml"]).unwrap();
        assert_eq!(cli.config_file, PathBuf::from("b.yaml"));
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(Cli::try_parse_from(["x", "--web.telemetry-path", "metrics"]).is_err());
        assert!(Cli::try_parse_from(["x", "--log.format", "xml"]).is_err());
    }

    #[test]
    fn demo_refuses_a_config_file_flag_but_not_the_environment_variable() {
        let error = Cli::try_parse_args(["x", "--demo", "--config.file", "a.yaml"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ArgumentConflict);
        assert!(error.to_string().contains("--config.file"), "{error}");
        assert!(Cli::try_parse_args(["x", "--demo"]).unwrap().demo);
        assert!(Cli::try_parse_args(["x", "--config.file", "a.yaml"]).is_ok());
    }
}
