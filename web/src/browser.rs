//! The few browser facts the page needs: the time, and its own address.
//!
//! Why not `std::time::Instant`? In `wasm32-unknown-unknown` it panics — there
//! is no OS clock to ask. The browser's clock is `performance.now()`: a
//! monotonic count of milliseconds (with microsecond resolution) since the
//! page loaded, exactly what measuring a call's duration needs.

use crate::server_url::{self, LAB_SERVER_TIMING, PageHost, ServerChoice};

/// Milliseconds since the page loaded, from the browser's monotonic clock.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map(|performance| performance.now())
        .unwrap_or(0.0)
}

/// The server this page should call, from its own address.
pub fn server_choice() -> ServerChoice {
    let location = web_sys::window().map(|window| window.location());
    let origin = location
        .as_ref()
        .and_then(|l| l.origin().ok())
        .unwrap_or_default();
    let search = location
        .as_ref()
        .and_then(|l| l.search().ok())
        .unwrap_or_default();
    server_url::resolve(&origin, &search, page_host())
}

/// Who served this page: the lab server marks its files with a
/// `Server-Timing` entry, which the navigation's timing entry exposes
/// (`performance.getEntriesByType("navigation")[0].serverTiming`).
pub fn page_host() -> PageHost {
    let served_by_lab = || -> Option<bool> {
        use wasm_bindgen::JsCast;
        let performance = web_sys::window()?.performance()?;
        let navigation = performance.get_entries_by_type("navigation").get(0);
        let timings = js_sys::Reflect::get(&navigation, &"serverTiming".into()).ok()?;
        let timings: js_sys::Array = timings.dyn_into().ok()?;
        Some(timings.iter().any(|timing| {
            js_sys::Reflect::get(&timing, &"name".into())
                .ok()
                .and_then(|name| name.as_string())
                .is_some_and(|name| name == LAB_SERVER_TIMING)
        }))
    };
    if served_by_lab().unwrap_or(false) {
        PageHost::LabServer
    } else {
        PageHost::Trunk
    }
}

/// The clock the resilience core runs on in the page: `performance.now()`
/// and `setTimeout` ([`WebClock`](rpc_lab::resilience::WebClock)).
#[cfg(target_arch = "wasm32")]
pub fn clock() -> std::rc::Rc<dyn rpc_lab::resilience::Clock> {
    std::rc::Rc::new(rpc_lab::resilience::WebClock::new().expect("a page has `performance`"))
}

/// Natively the page's components compile (their pure parts are tested), but
/// nothing runs them: there is no browser clock to hand out.
#[cfg(not(target_arch = "wasm32"))]
pub fn clock() -> std::rc::Rc<dyn rpc_lab::resilience::Clock> {
    panic!("the lab page's clock exists only in a browser (wasm32)")
}

/// Offers `text` to the student as a file download called `name`.
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let fail = |what: &str| format!("could not save {name}: {what}");
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| fail("the browser refused to make a file"))?;
    let url =
        web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| fail("no object URL"))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| fail("no document"))?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| fail("no link"))?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Sets a `performance.mark`: a named moment on the page's clock that tests
/// and the browser's developer tools can read.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
        let _ = performance.mark(name);
    }
}
