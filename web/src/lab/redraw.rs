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

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use rpc_lab::resilience::Clock;
use wasm_bindgen_futures::spawn_local;
use yew::{Callback, UseStateSetter};

/// The page redraws at most this often while calls run.
pub const REDRAW_MS: u64 = 50;

/// Asks for redraws.
#[derive(Clone)]
pub struct Redraw {
    /// A live redraw is already on its way: later requests join it.
    pending: Rc<Cell<bool>>,
    /// Bumped on every redraw of the live part; [`Redraw::now`] sets the
    /// lab's page state to it, a new value each time.
    version: Rc<Cell<u64>>,
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
            clock,
            live: Rc::default(),
            page,
        }
    }

    /// Redraw the live part soon: many events, one redraw.
    pub fn request(&self) {
        if self.pending.replace(true) {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            this.clock.sleep(Duration::from_millis(REDRAW_MS)).await;
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

    /// How the live part redraws itself; it registers this every time it
    /// renders.
    pub fn register_live(&self, redraw: Callback<()>) {
        *self.live.borrow_mut() = Some(redraw);
    }
}
