//! A stand-in for the OAuth usage API (`GET /api/oauth/usage`).
//!
//! Claude Code's own base-URL setting does not reach this endpoint; the
//! tool's hooks call it at `PACE_MAKER_API_BASE`, which the sandbox points
//! here. A scenario chooses the figures the hooks see (for instance a
//! window well ahead of pace) and afterwards reads which requests arrived.

use serde_json::{json, Value};

use super::http::{Request, Response, Server};

/// A window's figures as the API reports them.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Percent, 0-100.
    pub utilization: f64,
    /// Epoch seconds of the reset.
    pub resets_at: i64,
}

/// The running stand-in.
pub struct UsageApi {
    server: Server,
}

impl UsageApi {
    /// Starts the stand-in answering with the given windows.
    pub fn start(five_hour: Window, seven_day: Window) -> Self {
        let body = usage_body(five_hour, seven_day);
        let server = Server::start(move |request| match request.path() {
            "/api/oauth/usage" => Response::json(200, &body),
            _ => Response::json(404, &json!({"error": "not scripted"})),
        });
        Self { server }
    }

    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }
}

fn iso(epoch_seconds: i64) -> String {
    jiff::Timestamp::from_second(epoch_seconds)
        .expect("a valid reset time")
        .to_string()
}

/// The body in the real API's shape, with the per-model and extra-usage
/// keys a real answer carries.
fn usage_body(five_hour: Window, seven_day: Window) -> Value {
    json!({
        "five_hour": {"utilization": five_hour.utilization, "resets_at": iso(five_hour.resets_at)},
        "seven_day": {"utilization": seven_day.utilization, "resets_at": iso(seven_day.resets_at)},
        "seven_day_oauth_apps": null,
        "seven_day_opus": {"utilization": 0.0, "resets_at": null},
        "seven_day_sonnet": null,
        "extra_usage": {"is_enabled": false, "monthly_limit": null, "used_credits": null, "utilization": null}
    })
}
