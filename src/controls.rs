//! The runtime switch: on, off, or paused until a time. Kept in the store so
//! every hook process sees the same state.
//!
//! `off` makes every hook inert (no rows, no delay, no block) until `on`.
//! `pause` keeps the bookkeeping but adds no delay and blocks no stop until
//! it expires or `resume` ends it; neither ever turns `off` back on. The environment kill switch `PACE_MAKER_DISABLE=1` is checked
//! before any of this, before a file is opened.

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::store::Store;

/// The switch state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Control {
    On,
    Off,
    Paused { until_ms: i64 },
}

impl Control {
    /// Whether pacing delays and momentum blocks apply.
    pub fn is_active(self) -> bool {
        matches!(self, Control::On)
    }
}

impl std::fmt::Display for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Control::On => f.write_str("on"),
            Control::Off => f.write_str("off"),
            Control::Paused { until_ms } => {
                write!(f, "paused until {}", crate::clock::iso(*until_ms))
            }
        }
    }
}

/// Reads the switch; an expired pause reads as `on`.
pub fn read(connection: &Connection, now_ms: i64) -> rusqlite::Result<Control> {
    let (mode, paused_until): (String, Option<i64>) = connection.query_row(
        "SELECT mode, paused_until FROM controls WHERE id = 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(match (mode.as_str(), paused_until) {
        ("off", _) => Control::Off,
        (_, Some(until_ms)) if until_ms > now_ms => Control::Paused { until_ms },
        _ => Control::On,
    })
}

/// Sets the switch. `On` and `Off` end any pause; `Paused` leaves the
/// mode as it is, so a pause taken while off stays off.
pub fn set(store: &mut Store, control: Control, now_ms: i64) -> rusqlite::Result<()> {
    store.write(|transaction| match control {
        Control::On | Control::Off => transaction.execute(
            "UPDATE controls SET mode = ?1, paused_until = NULL, changed_at = ?2 WHERE id = 1",
            params![if control == Control::On { "on" } else { "off" }, now_ms],
        ),
        Control::Paused { until_ms } => transaction.execute(
            "UPDATE controls SET paused_until = ?1, changed_at = ?2 WHERE id = 1",
            params![until_ms, now_ms],
        ),
    })?;
    Ok(())
}

/// Ends a pause, leaving the mode as it is: `resume` never turns `off` on.
pub fn end_pause(store: &mut Store, now_ms: i64) -> rusqlite::Result<()> {
    store.write(|transaction| {
        transaction.execute(
            "UPDATE controls SET paused_until = NULL, changed_at = ?1 WHERE id = 1",
            params![now_ms],
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_pause_expires_by_itself() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        assert_eq!(read(store.connection(), 0).unwrap(), Control::On);
        set(&mut store, Control::Paused { until_ms: 1000 }, 0).unwrap();
        assert_eq!(
            read(store.connection(), 500).unwrap(),
            Control::Paused { until_ms: 1000 }
        );
        assert_eq!(read(store.connection(), 1000).unwrap(), Control::On);
        set(&mut store, Control::Off, 0).unwrap();
        assert_eq!(read(store.connection(), 0).unwrap(), Control::Off);
    }

    #[test]
    fn neither_pause_nor_resume_turns_off_back_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        set(&mut store, Control::Off, 0).unwrap();
        set(&mut store, Control::Paused { until_ms: 1000 }, 0).unwrap();
        assert_eq!(read(store.connection(), 500).unwrap(), Control::Off);
        end_pause(&mut store, 0).unwrap();
        assert_eq!(read(store.connection(), 500).unwrap(), Control::Off);
        set(&mut store, Control::On, 0).unwrap();
        set(&mut store, Control::Paused { until_ms: 1000 }, 0).unwrap();
        end_pause(&mut store, 0).unwrap();
        assert_eq!(read(store.connection(), 500).unwrap(), Control::On);
    }
}
