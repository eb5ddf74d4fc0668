//! What the hook hands to the work it calls (pacing, momentum): the
//! config, the open store, the switch and the clock. Apart from the hook
//! so that pacing and momentum read it without importing the hook, which
//! imports them.

use crate::config::Config;
use crate::controls::Control;
use crate::paths::ToolHome;
use crate::store::Store;

/// Everything a hook handler needs.
pub struct HookContext<'a> {
    pub home: &'a ToolHome,
    pub config: &'a Config,
    pub store: &'a mut Store,
    pub control: Control,
    pub now_ms: i64,
    /// When the hook began: the Stop hook's checks fit in what is left of
    /// its timeout.
    pub started: std::time::Instant,
}
