//! The server's command-line flags.
//!
//! Every flag is documented here, once: clap turns these doc comments into
//! `--help`, and the README points at `--help` rather than repeating it. The
//! defaults are clap's too, so [`Config::default`] is "no flags given".

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use clap::builder::TypedValueParser as _;

use crate::capacity::CapacityLimits;
use crate::fault::{FaultProfile, FaultSettings};
use crate::idempotency::IdempotencyConfig;
use crate::load::LoadLimits;
use crate::rules::key_value::StoreLimits;
use crate::session::SessionSettings;
use crate::transport::connections::ConnectionSettings;

/// The address the lab listens on when no `--listen` is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// RPC Resilience Lab server: a gRPC calculator, key-value store and bank
/// account for learning how remote calls fail and how to make them safe.
///
/// One port serves native gRPC (HTTP/2 without TLS, for grpcurl and grpcio
/// clients), gRPC-Web (HTTP/1.1, for the browser page), the standard
/// grpc.health.v1.Health service and server reflection. Stop it with Ctrl-C
/// (or SIGTERM): calls in flight are allowed to finish first.
///
/// Requests may carry `idempotency-key` (executed once, then replayed) and the
/// fault headers `x-fault-fail`, `x-fault-drop`, `x-fault-delay-ms`; the flags
/// below bound both. Log verbosity follows the RUST_LOG environment variable
/// (default "info"; try RUST_LOG=debug).
#[derive(Clone, Debug, Parser)]
#[command(name = "rpc-lab-server", version)]
pub struct Config {
    /// Address and port to listen on. The default accepts connections from this
    /// machine only; use 0.0.0.0:PORT to let other machines (a class) connect.
    /// Port 0 picks a free port; the chosen address is printed on start.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Seed for the random fault decisions. Each lab session draws from its own
    /// stream derived from this seed and the session's name, so the same seed
    /// and the same requests give the same faults. Without it, a seed is picked
    /// at start and logged.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// How long an idempotency key's outcome is kept after the call completes.
    /// A retry later than this executes again: clients must retry within it.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub idempotency_ttl_secs: u64,

    /// Most idempotency keys kept on the whole server. When full, the oldest
    /// completed outcomes are forgotten first (a very late retry of one of them
    /// would execute again); keys of calls still running are never dropped.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub idempotency_max_keys: usize,

    /// Most memory, in MiB, for stored idempotent outcomes (same eviction rule).
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub idempotency_max_mib: usize,

    /// Ignore the x-fault-* request headers: only the server-wide profile below
    /// applies (for a class where the teacher sets the faults).
    #[arg(long)]
    pub no_header_faults: bool,

    /// Server-wide probability (0 to 1) of failing a request before executing
    /// it, for requests without an x-fault-fail header.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub fault_fail: f64,

    /// Server-wide probability (0 to 1) of executing a request and then
    /// dropping its reply, for requests without an x-fault-drop header.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub fault_drop: f64,

    /// Server-wide delay before executing, in milliseconds, for requests
    /// without an x-fault-delay-ms header.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub fault_delay_ms: u64,

    /// Largest probability a fault header may ask for; larger values are lowered.
    #[arg(long, value_name = "P", default_value_t = 1.0, value_parser = probability)]
    pub max_fault_probability: f64,

    /// Longest delay x-fault-delay-ms may ask for; longer delays are shortened.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub max_fault_delay_ms: u64,

    /// Most lab sessions (x-lab-session) kept at once; when a new one needs room,
    /// the least recently used session is forgotten with its data and keys.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub max_sessions: usize,

    /// Most keys (values and lists) and most accounts in one session.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_keys_per_session: usize,

    /// Most items in one list (Append).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_list_len: usize,

    /// Most list items in all of one session's lists together.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_list_items_per_session: usize,

    /// Requests each lab session's log keeps (Lab/WatchRequests streams it):
    /// the most recent ones; older ones are dropped and counted. A record
    /// takes about 200 bytes (2 MB a session at the default), at worst about
    /// 840 (a client inventing a new user agent and method name on every
    /// request), and the server keeps at most --max-sessions logs. 0 keeps
    /// none (watchers still see each request as it completes).
    #[arg(long, value_name = "N", default_value_t = crate::request_log::DEFAULT_CAPACITY,
          value_parser = clap::value_parser!(u64).range(0..=1_000_000).map(|n| n as usize))]
    pub request_log_capacity: usize,

    /// Most workers (executions at once) a lab session may ask for with
    /// Lab/SetCapacity, inside a brownout too.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_capacity_workers: u32,

    /// Most requests one lab session's queue may hold (Lab/SetCapacity). A
    /// queued request costs the server little beyond the request itself, but
    /// under the FINISH policy it stays queued after its client has gone.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_capacity_queue: u32,

    /// Longest service time a lab session may ask for with Lab/SetCapacity, in
    /// milliseconds; also the longest any one execution's service time may
    /// grow to with slowdown and brownout.
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    pub max_service_ms: u64,

    /// Most virtual clients one load run (Lab/RunLoad) may have in closed
    /// loop, and most calls one open-loop run may have in flight at once.
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    pub max_load_clients: u32,

    /// Highest open-loop rate of one load run, in calls per second.
    #[arg(long, value_name = "CALLS_PER_S", default_value_t = 5_000.0, value_parser = positive_rate)]
    pub max_load_rate: f64,

    /// Longest load run, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 120_000)]
    pub max_load_duration_ms: u64,

    /// Most load runs at once on the whole server (one per session).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_load_runs: usize,

    /// Most time for a request's HTTP/1.1 headers to arrive; a slower client
    /// is disconnected. Counted from when the server starts waiting, so an
    /// idle HTTP/1.1 keep-alive connection is closed this long after its last
    /// reply (browsers then simply open a new one).
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = at_least_one_ms())]
    pub header_read_timeout_ms: u64,

    /// Most time for a request body to arrive in full once the server starts
    /// reading it; a slower client gets an error and is disconnected.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = at_least_one_ms())]
    pub body_read_timeout_ms: u64,

    /// A connection with no call in flight for this long is closed (an HTTP/2
    /// client is told with GOAWAY and reconnects when it next needs to).
    /// A call in flight is never cut short.
    #[arg(long, value_name = "MS", default_value_t = 60_000, value_parser = at_least_one_ms())]
    pub idle_timeout_ms: u64,

    /// Most calls in flight at once on one HTTP/2 connection; a client that
    /// wants more waits for one to finish (it can open more connections).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_streams: u32,

    /// Also serve the lab's page from DIR, a release build of it
    /// (`trunk build --release --offline --dist DIR`), at / on this same port:
    /// one address for a class, no `trunk serve` needed. The files are read
    /// at start and compressed in memory (gzip and brotli); the page's calls
    /// under /rpc reach the lab as they do through Trunk's proxy. `./lab class`
    /// builds the page and starts the server this way.
    #[arg(long, value_name = "DIR")]
    pub page: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config::parse_from(["rpc-lab-server"])
    }
}

impl Config {
    pub fn fault_settings(&self) -> FaultSettings {
        FaultSettings {
            headers_enabled: !self.no_header_faults,
            default: FaultProfile {
                fail: self.fault_fail,
                drop: self.fault_drop,
                delay: Duration::from_millis(self.fault_delay_ms),
            },
            max_probability: self.max_fault_probability,
            max_delay: Duration::from_millis(self.max_fault_delay_ms),
        }
    }

    pub fn idempotency_config(&self) -> IdempotencyConfig {
        IdempotencyConfig {
            ttl: Duration::from_secs(self.idempotency_ttl_secs),
            max_keys: self.idempotency_max_keys,
            max_bytes: self.idempotency_max_mib.saturating_mul(1024 * 1024),
        }
    }

    pub fn session_settings(&self, seed: u64) -> SessionSettings {
        SessionSettings {
            max_sessions: self.max_sessions,
            store: StoreLimits {
                max_keys: self.max_keys_per_session,
                max_list_len: self.max_list_len,
                max_list_items: self.max_list_items_per_session,
            },
            seed,
            request_log_capacity: self.request_log_capacity,
        }
    }

    pub fn capacity_limits(&self) -> CapacityLimits {
        CapacityLimits {
            max_workers: self.max_capacity_workers,
            max_queue: self.max_capacity_queue,
            max_service: Duration::from_millis(self.max_service_ms),
        }
    }

    pub fn load_limits(&self) -> LoadLimits {
        LoadLimits {
            max_clients: self.max_load_clients,
            max_rate: self.max_load_rate,
            max_duration: Duration::from_millis(self.max_load_duration_ms),
            max_runs: self.max_load_runs,
        }
    }

    pub fn connection_settings(&self) -> ConnectionSettings {
        ConnectionSettings {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(self.body_read_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            max_concurrent_streams: self.max_concurrent_streams,
        }
    }
}

/// A limit in milliseconds: zero would refuse every client at once.
fn at_least_one_ms() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..)
}

fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{text:?} is not a probability between 0 and 1")),
    }
}

/// A rate of calls per second: a finite number above zero (clap's own f64
/// parser would take `-5` or `NaN`, and every run would then be refused).
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("{text:?} is not a rate above 0 calls per second")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_rate_cap_must_be_a_positive_number() {
        for bad in ["-5", "0", "NaN", "inf", "fast"] {
            // `=` so that clap does not take "-5" for a flag.
            let flag = format!("--max-load-rate={bad}");
            let error = Config::try_parse_from(["rpc-lab-server", flag.as_str()]).expect_err(bad);
            assert!(
                error.to_string().contains("not a rate above 0"),
                "{bad}: {error}"
            );
        }
        let config =
            Config::try_parse_from(["rpc-lab-server", "--max-load-rate", "250.5"]).unwrap();
        assert_eq!(config.max_load_rate, 250.5);
    }

    #[test]
    fn listens_on_loopback_by_default() {
        let config = Config::try_parse_from(["rpc-lab-server"]).unwrap();
        assert_eq!(config.listen, "127.0.0.1:50051".parse().unwrap());
        assert_eq!(config.listen, Config::default().listen);
    }

    #[test]
    fn listen_takes_host_and_port() {
        let config =
            Config::try_parse_from(["rpc-lab-server", "--listen", "0.0.0.0:9000"]).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
    }

    #[test]
    fn a_malformed_value_is_a_clear_error() {
        let error =
            Config::try_parse_from(["rpc-lab-server", "--listen", "localhost"]).unwrap_err();
        assert!(error.to_string().contains("--listen"), "{error}");
        let error = Config::try_parse_from(["rpc-lab-server", "--fault-fail", "2"]).unwrap_err();
        assert!(error.to_string().contains("not a probability"), "{error}");
    }

    #[test]
    fn defaults_are_a_quiet_server() {
        let config = Config::default();
        let faults = config.fault_settings();
        assert!(faults.headers_enabled);
        assert_eq!(faults.default, FaultProfile::default());
        assert_eq!(faults.max_probability, 1.0);
        assert!(
            faults.max_delay >= Duration::from_secs(10),
            "the contract promises at least 10 000 ms"
        );
        assert_eq!(config.idempotency_config(), IdempotencyConfig::default());
        assert_eq!(config.capacity_limits(), CapacityLimits::default());
        assert_eq!(config.load_limits(), LoadLimits::default());
    }

    #[test]
    fn a_teacher_can_make_the_whole_server_flaky() {
        let config = Config::try_parse_from([
            "rpc-lab-server",
            "--fault-fail",
            "0.2",
            "--fault-delay-ms",
            "300",
            "--no-header-faults",
        ])
        .unwrap();
        let faults = config.fault_settings();
        assert_eq!(faults.default.fail, 0.2);
        assert_eq!(faults.default.delay, Duration::from_millis(300));
        assert!(!faults.headers_enabled);
    }

    #[test]
    fn every_wait_on_a_client_is_bounded_by_default() {
        let connections = Config::default().connection_settings();
        assert_eq!(connections.header_read_timeout, Duration::from_secs(10));
        assert_eq!(connections.body_read_timeout, Duration::from_secs(10));
        assert_eq!(connections.idle_timeout, Duration::from_secs(60));
        assert_eq!(connections.max_concurrent_streams, 100);
        let error = Config::try_parse_from(["rpc-lab-server", "--max-concurrent-streams", "0"])
            .unwrap_err();
        assert!(
            error.to_string().contains("max-concurrent-streams"),
            "{error}"
        );
    }

    #[test]
    fn the_request_log_keeps_ten_thousand_unless_told() {
        assert_eq!(Config::default().request_log_capacity, 10_000);
        let config =
            Config::try_parse_from(["rpc-lab-server", "--request-log-capacity", "0"]).unwrap();
        assert_eq!(config.session_settings(1).request_log_capacity, 0);
        let error = Config::try_parse_from(["rpc-lab-server", "--request-log-capacity", "2000000"])
            .unwrap_err();
        assert!(
            error.to_string().contains("request-log-capacity"),
            "{error}"
        );
    }

    #[test]
    fn the_page_is_served_only_when_asked() {
        assert_eq!(Config::default().page, None);
        let config = Config::try_parse_from(["rpc-lab-server", "--page", "target/page"]).unwrap();
        assert_eq!(config.page, Some(PathBuf::from("target/page")));
    }

    #[test]
    fn help_explains_every_flag() {
        use clap::CommandFactory;
        let help = Config::command().render_long_help().to_string();
        for argument in Config::command().get_arguments() {
            let flag = format!("--{}", argument.get_long().unwrap());
            assert!(help.contains(&flag), "--help does not mention {flag}");
            assert!(
                argument.get_long_help().or(argument.get_help()).is_some(),
                "{flag} has no explanation"
            );
        }
        for words in [
            "--help",
            "--version",
            "RUST_LOG",
            "idempotency-key",
            "x-fault-fail",
        ] {
            assert!(help.contains(words), "--help does not mention {words}");
        }
    }
}
