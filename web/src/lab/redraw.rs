//! When the lab's page redraws while calls run.
//!
//! A run of a thousand calls brings several thousand events, each of which
//! changes what the plots show. Redrawing on every one would spend the
//! browser's time drawing instead of calling; so the page redraws at most
//! every [`REDRAW_MS`], and a thousand calls cost a few dozen redraws.
//!
//! Two parts of the lab redraw at different rates. The live part (plots,
//! tables, progress) follows the events, throttled. The controls only change
//! when a run starts or ends; redrawing their hundred inputs on every event
//! would be wasted work, so they redraw only on [`Redraw::now`].
//!
//! **Never while an attempt is in flight.** The page has one thread, and a
//! redraw (the plots rebuilt, then the browser's layout and paint) takes
//! tens of milliseconds. A reply that arrives meanwhile waits, and the caller
//! reads the clock only when it gets the thread back: the timeline would
//! show the page's own drawing as the attempt's latency — 50–100 ms on
//! attempts the server answered in 0.1 ms. So a redraw waits for
//! [`moment_to_draw`]: the start of an animation frame (the layout and paint
//! that follow are then done before anything else runs) with no attempt in
//! flight. An attempt whose backoff ends during a redraw starts late
//! instead; the timeline shows that truthfully, as a longer wait. A run that
//! is never quiet (long timeouts, many callers) is still drawn, after at most
//! [`QUIET_WAIT_MS`]; [`Redraw::during_attempts`] counts the redraws that
//! ended with attempts in flight, and the page says so under its plots.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use rpc_lab::resilience::Clock;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use yew::{Callback, UseStateSetter};

/// The page redraws at most this often while calls run.
pub const REDRAW_MS: u64 = 50;
/// A redraw waits at most this long for a moment with no attempt in flight.
pub const QUIET_WAIT_MS: u64 = 500;

thread_local! {
    /// The lab's attempts sent and not yet ended, in this tab.
    static IN_FLIGHT: Cell<usize> = const { Cell::new(0) };
}

/// An attempt was handed to the transport.
pub fn attempt_sent() {
    IN_FLIGHT.set(IN_FLIGHT.get() + 1);
}

/// An attempt ended (answered, failed, timed out or cancelled).
pub fn attempt_ended() {
    IN_FLIGHT.set(IN_FLIGHT.get().saturating_sub(1));
}

/// Waits for a moment the page may draw without delaying a reply: the start
/// of an animation frame with no attempt in flight, or the first frame after
/// [`QUIET_WAIT_MS`].
pub async fn moment_to_draw(clock: &dyn Clock) {
    let since = clock.now();
    loop {
        next_frame().await;
        if IN_FLIGHT.get() == 0 || clock.now() - since >= Duration::from_millis(QUIET_WAIT_MS) {
            return;
        }
    }
}

/// Waits until what the page has just been asked to draw is on screen (the
/// next frame's layout and paint done), so that calls started next do not
/// wait behind it.
pub async fn drawn(clock: &dyn Clock) {
    next_frame().await;
    clock.sleep(Duration::ZERO).await;
}

/// The start of the next animation frame (`requestAnimationFrame`), or
/// 100 ms in a tab that draws no frames (hidden): whichever comes first
/// resolves the promise.
async fn next_frame() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let frame = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window.request_animation_frame(&resolve);
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 100);
    });
    let _ = JsFuture::from(frame).await;
}

/// Asks for redraws.
#[derive(Clone)]
pub struct Redraw {
    /// A live redraw is already on its way: later requests join it.
    pending: Rc<Cell<bool>>,
    /// Bumped on every redraw of the live part; [`Redraw::now`] sets the
    /// lab's page state to it, a new value each time.
    version: Rc<Cell<u64>>,
    /// Live redraws that ended with attempts in flight (they could wait no
    /// longer, or an attempt started while the drawing paused): those
    /// attempts' times include some of the page's drawing.
    busy: Rc<Cell<u64>>,
    clock: Rc<dyn Clock>,
    /// Redraws the live part (registered by the live plots when they render).
    live: Rc<RefCell<Option<Callback<()>>>>,
    /// Redraws the whole lab.
    page: UseStateSetter<u64>,
}

impl Redraw {
    /// `page` redraws the whole lab (a state setter of the lab's component).
    pub fn new(clock: Rc<dyn Clock>, page: UseStateSetter<u64>) -> Self {
        Redraw {
            pending: Rc::default(),
            version: Rc::default(),
            busy: Rc::default(),
            clock,
            live: Rc::default(),
            page,
        }
    }

    /// Redraw the live part soon, between attempts: many events, one redraw.
    pub fn request(&self) {
        if self.pending.replace(true) {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            this.clock.sleep(Duration::from_millis(REDRAW_MS)).await;
            moment_to_draw(this.clock.as_ref()).await;
            this.live_now();
        });
    }

    fn live_now(&self) {
        self.pending.set(false);
        self.version.set(self.version.get() + 1);
        if let Some(redraw) = &*self.live.borrow() {
            redraw.emit(());
        }
    }

    /// Redraw everything at once (a run started or ended).
    pub fn now(&self) {
        self.live_now();
        self.page.set(self.version.get());
    }

    /// The live part is drawn (its DOM updated): counted if attempts are
    /// in flight now.
    pub fn drew(&self) {
        if IN_FLIGHT.get() > 0 {
            self.busy.set(self.busy.get() + 1);
        }
    }

    /// How many live redraws ended with attempts in flight, since the page
    /// opened.
    pub fn during_attempts(&self) -> u64 {
        self.busy.get()
    }

    /// How the live part redraws itself; it registers this every time it
    /// renders.
    pub fn register_live(&self, redraw: Callback<()>) {
        *self.live.borrow_mut() = Some(redraw);
    }
}
