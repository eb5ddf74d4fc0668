//! The installer: pace-maker's entries in Claude Code's settings.
//!
//! `merge` is the pure part (a JSON value in, a JSON value out, tested as
//! properties); `settings_file` reads and writes the files around it, and
//! `layout` keeps each file's own indentation and bytes. `plugin` is the
//! other way in: the Claude Code plugin of the repository's marketplace.

pub mod diff;
pub mod layout;
pub mod merge;
pub mod plugin;
pub mod receipts;
pub mod settings_file;
pub mod shell;
