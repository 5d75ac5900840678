//! Which server the page talks to.
//!
//! By default the page calls the server on its own origin, under `/rpc`, so
//! the browser never makes a cross-origin request. Who answers there depends
//! on who served the page: under `./lab run`, `trunk serve` forwards those
//! paths to the lab server (see `Trunk.toml`); under `./lab class` the lab
//! server serves the page itself (`--page`) and strips the prefix — it says
//! so in a `Server-Timing` entry named [`LAB_SERVER_TIMING`] on the page's
//! files, which the page reads back. Adding `?server=http://HOST:PORT`
//! to the page's address points it at another server instead — then the
//! browser does make cross-origin calls, and the server's CORS rules apply.
//!
//! Plain string handling, no browser APIs, so it is tested natively.

/// The path under which `trunk serve` forwards requests to the lab server
/// (the `[[proxy]]` in `Trunk.toml`; the two must agree).
pub const PROXY_PREFIX: &str = "/rpc";

/// The `Server-Timing` entry the lab server puts on the page's files when it
/// serves them itself (`server/src/page/`).
pub const LAB_SERVER_TIMING: &str = "rpc-lab";

/// Who served this page, and so who answers on its own origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageHost {
    /// `trunk serve` (`./lab run`), or any server that is not the lab's: a
    /// proxy forwards [`PROXY_PREFIX`] to the lab server.
    Trunk,
    /// The lab server itself (`./lab class`): no proxy in between.
    LabServer,
}

/// Where the server address came from, for telling the student.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The page's own origin, under [`PROXY_PREFIX`].
    SameOrigin(PageHost),
    /// The `?server=` query parameter.
    QueryParameter,
}

/// The server the page will call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerChoice {
    /// Base URL without a trailing slash; the gRPC path is appended to it.
    pub base_url: String,
    pub source: Source,
    /// Set when `?server=` was given but unusable, saying why.
    pub warning: Option<String>,
}

/// Chooses the server from the page's origin (`location.origin`), query
/// string (`location.search`, with or without its leading `?`) and host.
pub fn resolve(origin: &str, search: &str, host: PageHost) -> ServerChoice {
    let same_origin = |warning| ServerChoice {
        base_url: format!("{}{PROXY_PREFIX}", origin.trim_end_matches('/')),
        source: Source::SameOrigin(host),
        warning,
    };
    match query_parameter(search, "server") {
        None => same_origin(None),
        Some(raw) => match validate(&raw) {
            Ok(base_url) => ServerChoice {
                base_url,
                source: Source::QueryParameter,
                warning: None,
            },
            Err(reason) => same_origin(Some(format!(
                "?server={raw} was ignored: {reason}. Using this page's own origin instead."
            ))),
        },
    }
}

/// Checks that `raw` is an `http://` or `https://` URL with a host.
fn validate(raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    let rest = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))
        .ok_or("it must start with http:// or https://, as in http://127.0.0.1:50051")?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err("it names no host, as in http://127.0.0.1:50051");
    }
    if raw
        .chars()
        .any(|c| c.is_whitespace() || c == '?' || c == '#')
    {
        return Err("a server address cannot contain spaces, '?' or '#'");
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// The first value of `name` in a query string, percent-decoded.
fn query_parameter(search: &str, name: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

/// Decodes `%XX` escapes and `+` (a space in query strings). Broken escapes
/// are kept as they are rather than rejected: the result is validated anyway.
fn percent_decode(value: &str) -> String {
    let value = value.replace('+', " ");
    percent_encoding::percent_decode_str(&value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "http://127.0.0.1:8080";

    #[test]
    fn without_a_parameter_the_page_calls_its_own_origin() {
        for search in ["", "?", "?lesson=1"] {
            let choice = resolve(PAGE, search, PageHost::Trunk);
            assert_eq!(choice.base_url, "http://127.0.0.1:8080/rpc");
            assert_eq!(choice.source, Source::SameOrigin(PageHost::Trunk));
            assert_eq!(choice.warning, None);
        }
    }

    #[test]
    fn a_page_the_lab_server_served_calls_it_on_the_same_origin() {
        let choice = resolve(PAGE, "", PageHost::LabServer);
        assert_eq!(choice.base_url, "http://127.0.0.1:8080/rpc");
        assert_eq!(choice.source, Source::SameOrigin(PageHost::LabServer));
        let elsewhere = resolve(PAGE, "?server=http://10.0.0.2:50051", PageHost::LabServer);
        assert_eq!(elsewhere.source, Source::QueryParameter);
    }

    #[test]
    fn server_parameter_points_elsewhere() {
        let choice = resolve(PAGE, "?server=http://127.0.0.1:50051", PageHost::Trunk);
        assert_eq!(choice.base_url, "http://127.0.0.1:50051");
        assert_eq!(choice.source, Source::QueryParameter);
        assert_eq!(choice.warning, None);
    }

    #[test]
    fn the_parameter_may_be_percent_encoded_and_among_others() {
        let choice = resolve(
            PAGE,
            "?a=1&server=http%3A%2F%2F10.0.0.2%3A9000%2F&b=2",
            PageHost::Trunk,
        );
        assert_eq!(choice.base_url, "http://10.0.0.2:9000");
    }

    #[test]
    fn a_trailing_slash_is_dropped_so_paths_join_cleanly() {
        assert_eq!(
            resolve("http://localhost:8080/", "", PageHost::Trunk).base_url,
            "http://localhost:8080/rpc"
        );
        assert_eq!(
            resolve(PAGE, "?server=https://lab.example/rpc/", PageHost::Trunk).base_url,
            "https://lab.example/rpc"
        );
    }

    #[test]
    fn an_unusable_parameter_is_explained_and_ignored() {
        for (raw, reason) in [
            ("127.0.0.1:50051", "must start with http://"),
            ("ftp://host", "must start with http://"),
            ("http://", "names no host"),
            ("", "must start with http://"),
            ("http://a%20b", "cannot contain spaces"),
        ] {
            let choice = resolve(PAGE, &format!("?server={raw}"), PageHost::Trunk);
            assert_eq!(choice.base_url, "http://127.0.0.1:8080/rpc", "{raw}");
            assert_eq!(choice.source, Source::SameOrigin(PageHost::Trunk));
            let warning = choice
                .warning
                .unwrap_or_else(|| panic!("no warning for {raw:?}"));
            assert!(warning.contains(reason), "{raw:?}: {warning}");
        }
    }

    #[test]
    fn broken_escapes_do_not_panic() {
        for search in ["?server=%", "?server=%4", "?server=%zz", "?server=%e2%82"] {
            let choice = resolve(PAGE, search, PageHost::Trunk);
            assert!(choice.warning.is_some(), "{search}");
        }
    }
}
