//! The server's command-line flags.
//!
//! Every flag is documented here, once: clap turns these doc comments into
//! `--help`, and the README points at `--help` rather than repeating it.

use std::net::SocketAddr;

use clap::Parser;

/// The address the lab listens on when no `--listen` is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// RPC Resilience Lab server: a gRPC calculator for learning how remote calls
/// fail and how to make them safe.
///
/// One port serves native gRPC (HTTP/2 without TLS, for grpcurl and grpcio
/// clients), gRPC-Web (HTTP/1.1, for the browser page), the standard
/// grpc.health.v1.Health service and server reflection. Stop it with Ctrl-C
/// (or SIGTERM): calls in flight are allowed to finish first.
///
/// Log verbosity follows the RUST_LOG environment variable (default "info";
/// try RUST_LOG=debug).
#[derive(Clone, Debug, Parser)]
#[command(name = "rpc-lab-server", version)]
pub struct Config {
    /// Address and port to listen on. The default accepts connections from this
    /// machine only; use 0.0.0.0:PORT to let other machines (a class) connect.
    /// Port 0 picks a free port; the chosen address is printed on start.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN
                .parse()
                .expect("the default address is valid"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_malformed_address_is_a_clear_error() {
        let error =
            Config::try_parse_from(["rpc-lab-server", "--listen", "localhost"]).unwrap_err();
        assert!(error.to_string().contains("--listen"), "{error}");
    }

    #[test]
    fn help_explains_every_flag() {
        use clap::CommandFactory;
        let help = Config::command().render_long_help().to_string();
        for flag in ["--listen", "--help", "--version", "RUST_LOG"] {
            assert!(
                help.contains(flag),
                "--help does not mention {flag}:\n{help}"
            );
        }
    }
}
