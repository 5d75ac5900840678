//! Each browser tab is its own lab session.
//!
//! The server keeps a separate world per `x-lab-session` name: its own
//! values, accounts, idempotency keys and execution counters. The page picks
//! a fresh name in a new tab and sends it with every request, so two students
//! on one server — or one student with two tabs — never see each other's
//! numbers. A reload keeps the tab's name (in the tab's `sessionStorage`):
//! a student who gave it to their own client keeps watching that client in
//! the server's view. (A tab the browser duplicates shares its name.)

use rpc_lab::headers::LAB_SESSION;
use tonic::Request;
use tonic::metadata::MetadataValue;

/// The session name for a random number: `tab-` and 12 hex digits, well
/// within the contract's 1–64 characters of `A-Z a-z 0-9 . _ -`.
pub fn name_from(random: u64) -> String {
    format!("tab-{:012x}", random & 0xffff_ffff_ffff)
}

/// A new name for this page load (the browser's `Math.random`: a session
/// name needs to be unlikely to collide, not secret).
pub fn new_name() -> String {
    let high = (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
    let low = (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
    name_from(high << 24 ^ low)
}

/// Where the tab keeps its session's name.
const STORED_AS: &str = "rpc-lab-session";

/// This tab's session: the name it had before a reload, or a new one.
pub fn tab_name() -> String {
    let storage = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
    let kept = storage
        .as_ref()
        .and_then(|s| s.get_item(STORED_AS).ok().flatten())
        .filter(|name| is_tab_name(name));
    kept.unwrap_or_else(|| {
        let name = new_name();
        if let Some(storage) = storage {
            let _ = storage.set_item(STORED_AS, &name);
        }
        name
    })
}

/// Is `name` one [`name_from`] makes? (Storage is the user's to edit.)
pub fn is_tab_name(name: &str) -> bool {
    name.len() == 16 && name.starts_with("tab-") && name[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Puts the session's name on a request.
pub fn tag<M>(request: &mut Request<M>, session: &str) {
    let value = MetadataValue::try_from(session).expect("session names are ASCII");
    request.metadata_mut().insert(LAB_SESSION, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        for random in [0, 1, u64::MAX, 0xdead_beef_cafe_f00d] {
            assert!(is_tab_name(&name_from(random)));
        }
        for kept in [
            "",
            "tab-",
            "tab-00000000000g",
            "tab-0000000000001",
            "cli-000000000001",
        ] {
            assert!(!is_tab_name(kept), "{kept}");
        }
        assert_ne!(name_from(1), name_from(2));
        let mut request = Request::new(());
        tag(&mut request, "tab-000000000001");
        assert_eq!(
            request.metadata().get("x-lab-session").unwrap(),
            "tab-000000000001"
        );
    }
}
