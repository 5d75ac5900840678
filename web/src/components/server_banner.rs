//! Which server the page is calling, and how to change it.

use yew::prelude::*;

use crate::server_url::{PageHost, ServerChoice, Source};

/// Where the calls go, and why there.
pub fn server_banner(server: &ServerChoice) -> Html {
    let how = match server.source {
        Source::SameOrigin(PageHost::Trunk) => {
            "this page's own address; trunk serve forwards the calls to the lab server"
        }
        Source::SameOrigin(PageHost::LabServer) => {
            "this page's own address: the lab server serves this page and answers the calls itself"
        }
        Source::QueryParameter => {
            "set by ?server= in the address bar (the browser calls it cross-origin, under the server's CORS rules)"
        }
    };
    html! {
        <div class="server-banner" data-testid="server" data-server={server.base_url.clone()}>
            <p>
                { "Server: " }<code>{ &server.base_url }</code>
                <span class="how">{ format!(" — {how}.") }</span>
            </p>
            if let Some(warning) = &server.warning {
                <p class="warning" role="alert">{ warning }</p>
            }
        </div>
    }
}
