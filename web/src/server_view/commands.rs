//! The commands that put a student's own client in this tab's session.
//!
//! Any client that sends `x-lab-session: <the tab's name>` lands in the
//! tab's world, and the server's view shows its requests. The commands need
//! the lab server's own address (native gRPC, not gRPC-Web), which is not
//! always the page's: under `./lab run`, Trunk serves the page on :8080 and
//! forwards its `/rpc` calls to the server, whose address the page cannot
//! see. Then the page says what `./lab run` uses, and says that it assumed.

use crate::server_url::{PageHost, ServerChoice, Source};

/// The address `./lab run` starts the lab server on (Trunk.toml's proxy).
pub const LAB_RUN_ADDRESS: &str = "127.0.0.1:50051";

/// Where a native gRPC client reaches the lab server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `HOST:PORT`.
    pub address: String,
    /// Over TLS (an `https://` server): no `-plaintext`.
    pub tls: bool,
    /// Read from the page's own address or `?server=`; `false`: assumed
    /// ([`LAB_RUN_ADDRESS`]).
    pub known: bool,
}

/// The lab server's address for native clients, from the server the page calls.
pub fn target(choice: &ServerChoice) -> Target {
    let from_url = |url: &str| {
        let tls = url.starts_with("https://");
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        let host = rest.split('/').next().unwrap_or(rest);
        // No port: the scheme's (a native client needs it spelled out).
        let has_port = host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            && !host.ends_with(']');
        let address = match (has_port, tls) {
            (true, _) => host.to_owned(),
            (false, true) => format!("{host}:443"),
            (false, false) => format!("{host}:80"),
        };
        Target {
            address,
            tls,
            known: true,
        }
    };
    match choice.source {
        Source::QueryParameter => from_url(&choice.base_url),
        // The lab server serves the page and the calls on one port.
        Source::SameOrigin(PageHost::LabServer) => from_url(&choice.base_url),
        Source::SameOrigin(PageHost::Trunk) => Target {
            address: LAB_RUN_ADDRESS.into(),
            tls: false,
            known: false,
        },
    }
}

fn grpcurl(target: &Target, session: &str, data: &str, method: &str) -> String {
    format!(
        "grpcurl {}-H 'x-lab-session: {session}' -d '{data}' {} calculator.v1.{method}",
        if target.tls { "" } else { "-plaintext " },
        target.address
    )
}

/// One deposit of $1.00 to alice (a withdrawal from a new session's empty
/// account would be refused), with a 50 % chance the server loses the reply:
/// run it two or three times and an `L` mark appears.
pub fn grpcurl_deposit(target: &Target, session: &str) -> String {
    let data = r#"{"account":"alice","amount_cents":100}"#;
    let call = grpcurl(target, session, data, "Account/Deposit");
    call.replacen("-H", "-H 'x-fault-drop: 0.5' -H", 1)
}

/// The server's view in a terminal: the backlog, then each request.
pub fn grpcurl_watch(target: &Target, session: &str) -> String {
    grpcurl(target, session, "{}", "Lab/WatchRequests")
}

/// The starter kit's naive client (in `starter/python`, as its README says).
pub fn python(target: &Target, session: &str) -> String {
    format!(
        "python client.py withdraw --count 20 --drop 0.3 --server {} --session {session}",
        target.address
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server_url::resolve;

    #[test]
    fn the_address_comes_from_the_page_where_it_can() {
        let page = "http://10.0.0.5:8080";
        let class = target(&resolve(page, "", PageHost::LabServer));
        assert_eq!(
            (class.address.as_str(), class.known),
            ("10.0.0.5:8080", true)
        );
        let given = target(&resolve(
            page,
            "?server=http://127.0.0.1:9000",
            PageHost::Trunk,
        ));
        assert_eq!(
            (given.address.as_str(), given.tls),
            ("127.0.0.1:9000", false)
        );
        let tls = target(&resolve(
            page,
            "?server=https://lab.example/",
            PageHost::Trunk,
        ));
        assert_eq!((tls.address.as_str(), tls.tls), ("lab.example:443", true));
        let v6 = target(&resolve(page, "?server=http://[::1]", PageHost::Trunk));
        assert_eq!(v6.address, "[::1]:80");
    }

    #[test]
    fn under_trunk_the_address_is_assumed_and_says_so() {
        let trunk = target(&resolve("http://127.0.0.1:8080", "", PageHost::Trunk));
        assert_eq!(trunk.address, LAB_RUN_ADDRESS);
        assert!(!trunk.known);
    }

    #[test]
    fn the_commands_carry_the_session_and_the_address() {
        let t = Target {
            address: "127.0.0.1:50051".into(),
            tls: false,
            known: true,
        };
        assert_eq!(
            grpcurl_deposit(&t, "tab-1"),
            r#"grpcurl -plaintext -H 'x-fault-drop: 0.5' -H 'x-lab-session: tab-1' -d '{"account":"alice","amount_cents":100}' 127.0.0.1:50051 calculator.v1.Account/Deposit"#
        );
        assert_eq!(
            grpcurl_watch(
                &Target {
                    tls: true,
                    ..t.clone()
                },
                "tab-1"
            ),
            "grpcurl -H 'x-lab-session: tab-1' -d '{}' 127.0.0.1:50051 calculator.v1.Lab/WatchRequests"
        );
        assert!(python(&t, "tab-1").ends_with("--server 127.0.0.1:50051 --session tab-1"));
    }
}
