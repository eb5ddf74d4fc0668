//! The wait of a `mission run` in progress (`meta.mission_wait`): written
//! by `commands::mission`, read by the dashboard and `status`. Kept below
//! both so the dashboard reads it without importing a command.

/// `meta` key: the wait in progress, as JSON (`status` shows it).
pub const META_MISSION_WAIT: &str = "mission_wait";

/// A wait in progress, as stored for `status`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MissionWait {
    /// When the mission goes on, epoch ms.
    pub until_ms: i64,
    /// The session that hit the limit, when known.
    pub session_id: Option<String>,
    /// The window that is full, when the official figures say.
    pub window: Option<String>,
    /// This wait's number, and the most allowed.
    pub wait: u32,
    pub max_waits: u32,
    /// The process that waits.
    pub pid: u32,
}

/// The wait in progress, if one is stored and not over.
pub fn current_wait(
    connection: &rusqlite::Connection,
    now_ms: i64,
) -> rusqlite::Result<Option<MissionWait>> {
    let text = crate::store::meta(connection, META_MISSION_WAIT)
        .ok()
        .flatten();
    Ok(text
        .and_then(|text| serde_json::from_str::<MissionWait>(&text).ok())
        .filter(|wait| wait.until_ms > now_ms))
}
