//! Entry point of the page: mount the app on `<body>`.

fn main() {
    yew::Renderer::<rpc_lab_web::app::App>::new().render();
}
