//! Which server the page is calling, and how to change it.

use yew::prelude::*;

use crate::server_url::{ServerChoice, Source};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub server: ServerChoice,
}

#[component]
pub fn ServerBanner(props: &Props) -> Html {
    let how = match props.server.source {
        Source::SameOrigin => {
            "this page's own address; trunk serve forwards the calls to the lab server"
        }
        Source::QueryParameter => {
            "set by ?server= in the address bar (the browser calls it cross-origin, under the server's CORS rules)"
        }
    };
    html! {
        <div class="server-banner" data-testid="server" data-server={props.server.base_url.clone()}>
            <p>
                { "Server: " }<code>{ &props.server.base_url }</code>
                <span class="how">{ format!(" — {how}.") }</span>
            </p>
            if let Some(warning) = &props.server.warning {
                <p class="warning" role="alert">{ warning }</p>
            }
        </div>
    }
}
