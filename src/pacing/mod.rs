//! Pacing: how long to sleep after a tool call so the mission's usage lands
//! at or under the target by each window's reset.
//!
//! Split in two so the decision can be proven apart from the process that
//! acts on it: `policy` is a pure function of the usage history, the
//! session's own recent tool calls, settings and `now` (the simulator runs
//! the very same function); `apply` is the PostToolUse edge that reads
//! those inputs from the store, records the decision, sleeps and tells the
//! user. `decisions` owns the table the decisions are kept in. `pass` and
//! `spool` are the fast path: a decision well under every target grants
//! the session a minute's no-delay pass, and the calls taken under it are
//! spooled to small files and filed in the store by its next opener.

pub mod apply;
pub mod decisions;
pub mod pass;
pub mod policy;
pub mod spool;
