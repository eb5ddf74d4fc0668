//! What a simulation runs: sessions doing tool cycles, the state of both
//! windows at the start, how usage is reported, the prompt cache. The same
//! type is the JSON trace format of `simulate --trace FILE` (documented in
//! `docs/simulator.md`) and the built-in scenarios, so every built-in is
//! also an example trace (`simulate --scenario NAME --json` shows it).

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seed of every random draw; one seed, one outcome.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// When the run starts, RFC 3339 (the reference policy's weekday rule
    /// depends on it). Default: Monday 2026-01-05 08:00 UTC.
    #[serde(default = "default_start")]
    pub start: String,
    /// How long the run lasts; sessions outside it are cut.
    pub duration_hours: f64,
    pub windows: Windows,
    /// How many full 5-hour windows fill the weekly window.
    #[serde(default = "default_weekly_capacity")]
    pub weekly_capacity_in_five_hour_windows: f64,
    /// The model every session runs (`claude-opus-4-1`); none by default.
    /// With `windows.seven_day_opus` and an Opus model, every request also
    /// spends the Opus weekly window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// How many full 5-hour windows fill the Opus weekly window.
    #[serde(default = "default_opus_capacity")]
    pub opus_capacity_in_five_hour_windows: f64,
    #[serde(default)]
    pub reporting: Reporting,
    #[serde(default)]
    pub cache: Cache,
    pub sessions: Vec<SessionSpec>,
    /// Readings taken before the run, written to every machine's store
    /// (optional; none by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<PriorReading>,
}

/// A reading from before the run: what the usage sources said then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorReading {
    /// Minutes from the run's start, at most 0.
    pub minutes: f64,
    pub five_hour_percent: f64,
    pub seven_day_percent: f64,
    /// `api` (the default) or `statusline`.
    #[serde(default = "default_prior_source")]
    pub source: String,
}

fn default_prior_source() -> String {
    "api".to_string()
}

impl PriorReading {
    pub fn source(&self) -> crate::usage::snapshot::SnapshotSource {
        match self.source.as_str() {
            "statusline" => crate::usage::snapshot::SnapshotSource::Statusline,
            _ => crate::usage::snapshot::SnapshotSource::Api,
        }
    }
}

fn is_zero_usize(value: &usize) -> bool {
    *value == 0
}

fn default_seed() -> u64 {
    1
}

fn default_start() -> String {
    "2026-01-05T08:00:00Z".to_string()
}

fn default_weekly_capacity() -> f64 {
    20.0
}

fn default_opus_capacity() -> f64 {
    10.0
}

/// The state of both windows when the run starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Windows {
    pub five_hour: WindowStart,
    pub seven_day: WindowStart,
    /// The Opus weekly window (`seven_day_opus`), on its own reset
    /// schedule; absent by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seven_day_opus: Option<WindowStart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowStart {
    /// Utilization when the run starts, 0-100.
    pub initial_percent: f64,
    /// Minutes from the run's start to the window's first reset.
    pub resets_in_minutes: f64,
}

/// How usage reaches the pacer, the way the real sources report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reporting {
    /// Readings are rounded down to this step (whole percent, as reported).
    pub granularity_percent: f64,
    /// The usage API is polled this often.
    pub api_poll_seconds: f64,
    /// A reading shows usage as it was this long before it was taken.
    pub report_lag_seconds: f64,
    /// Interactive sessions: the status line reports after every reply.
    pub statusline: bool,
    /// The local transcript estimate is available.
    pub estimate: bool,
    /// Relative error of the estimate on usage since the last official
    /// reading (-0.1: it sees 10 % less than was used).
    pub estimate_error: f64,
    /// Periods when the usage API does not answer.
    pub outages: Vec<Outage>,
}

impl Default for Reporting {
    fn default() -> Self {
        Self {
            granularity_percent: 1.0,
            api_poll_seconds: 300.0,
            report_lag_seconds: 0.0,
            statusline: false,
            estimate: true,
            estimate_error: -0.1,
            outages: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    pub start_minutes: f64,
    pub duration_minutes: f64,
    /// The status line stops too (the outage is Claude's, not only the usage API's).
    #[serde(default)]
    pub statusline_too: bool,
}

/// The prompt cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cache {
    /// Time-to-live: a request more than this after the previous one of
    /// the session finds the cache cold and writes the whole context again.
    pub ttl_seconds: f64,
    /// What writing a thousand tokens of context into the cache costs, in
    /// percent of the 5-hour window.
    pub rebuild_percent_per_kilotoken: f64,
    /// What reading a thousand tokens of context from a warm cache costs
    /// on every request, percent of the 5-hour window: a cycle's cost grows
    /// with its context (0 by default: the drawn cost is the whole warm cost).
    #[serde(skip_serializing_if = "is_zero")]
    pub read_percent_per_kilotoken: f64,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            ttl_seconds: 300.0,
            rebuild_percent_per_kilotoken: 0.02,
            read_percent_per_kilotoken: 0.0,
        }
    }
}

/// One Claude Code session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    pub start_minutes: f64,
    pub end_minutes: f64,
    /// The machine the session runs on (0 by default): each machine has
    /// its own store, poller, status line and estimate.
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub machine: usize,
    #[serde(default)]
    pub context: Context,
    /// Consecutive phases from the session's start; the last one lasts
    /// until the session ends.
    pub phases: Vec<Phase>,
}

/// The session's context, which every cache rebuild writes again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Context {
    pub start_kilotokens: f64,
    pub growth_kilotokens_per_cycle: f64,
    /// Claude Code compacts the conversation at this size ...
    pub max_kilotokens: f64,
    /// ... down to this.
    pub after_compaction_kilotokens: f64,
}

impl Default for Context {
    fn default() -> Self {
        Self {
            start_kilotokens: 20.0,
            growth_kilotokens_per_cycle: 1.0,
            max_kilotokens: 160.0,
            after_compaction_kilotokens: 40.0,
        }
    }
}

/// A stretch of a session with its own pace and cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub minutes: f64,
    /// Time the model takes to answer, seconds.
    pub model_seconds: Distribution,
    /// Time the tool takes to run, seconds.
    pub tool_seconds: Distribution,
    /// What a cycle with a warm cache costs, percent of the 5-hour window.
    pub cost_percent: Distribution,
    /// Chance per cycle that the session waits for a person first.
    #[serde(default)]
    pub idle_probability: f64,
    /// How long such a wait lasts, minutes.
    #[serde(default = "default_idle")]
    pub idle_minutes: Distribution,
}

fn default_idle() -> Distribution {
    Distribution::Fixed(10.0)
}

/// A random quantity. In JSON: a number, `{"uniform": [low, high]}`,
/// `{"lognormal": {"median": m, "sigma": s}}` or `{"exponential": {"mean": m}}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", untagged)]
pub enum Distribution {
    Fixed(f64),
    Tagged(TaggedDistribution),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TaggedDistribution {
    Uniform([f64; 2]),
    Lognormal { median: f64, sigma: f64 },
    Exponential { mean: f64 },
}

impl Distribution {
    pub fn lognormal(median: f64, sigma: f64) -> Self {
        Distribution::Tagged(TaggedDistribution::Lognormal { median, sigma })
    }

    pub fn uniform(low: f64, high: f64) -> Self {
        Distribution::Tagged(TaggedDistribution::Uniform([low, high]))
    }

    /// One draw. Every draw takes exactly two numbers from the generator,
    /// so a session's stream of cycles is the same whatever the policy.
    pub fn sample(&self, rng: &mut impl RngCore) -> f64 {
        let first = unit(rng);
        let second = unit(rng);
        let value = match *self {
            Distribution::Fixed(value) => value,
            Distribution::Tagged(TaggedDistribution::Uniform([low, high])) => {
                low + first * (high - low)
            }
            Distribution::Tagged(TaggedDistribution::Lognormal { median, sigma }) => {
                // Box-Muller.
                let normal = (-2.0 * (1.0 - first).ln()).sqrt()
                    * (2.0 * std::f64::consts::PI * second).cos();
                median * (sigma * normal).exp()
            }
            Distribution::Tagged(TaggedDistribution::Exponential { mean }) => {
                -mean * (1.0 - first).ln()
            }
        };
        value.max(0.0)
    }

    /// The mean, for describing a scenario.
    pub fn mean(&self) -> f64 {
        match *self {
            Distribution::Fixed(value) => value,
            Distribution::Tagged(TaggedDistribution::Uniform([low, high])) => (low + high) / 2.0,
            Distribution::Tagged(TaggedDistribution::Lognormal { median, sigma }) => {
                median * (sigma * sigma / 2.0).exp()
            }
            Distribution::Tagged(TaggedDistribution::Exponential { mean }) => mean,
        }
    }
}

/// A uniform number in [0, 1).
pub fn unit(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl Scenario {
    /// Checks what serde cannot: positive lengths, sane percentages.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |value: f64, what: &str| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(format!("`{what}` must be positive (got {value})"))
            }
        };
        positive(self.duration_hours, "duration_hours")?;
        positive(
            self.weekly_capacity_in_five_hour_windows,
            "weekly_capacity_in_five_hour_windows",
        )?;
        positive(
            self.reporting.api_poll_seconds,
            "reporting.api_poll_seconds",
        )?;
        positive(self.cache.ttl_seconds, "cache.ttl_seconds")?;
        let granularity = self.reporting.granularity_percent;
        if granularity.is_nan() || granularity < 0.0 {
            return Err("`reporting.granularity_percent` must not be negative".into());
        }
        positive(
            self.opus_capacity_in_five_hour_windows,
            "opus_capacity_in_five_hour_windows",
        )?;
        for (name, window) in [
            ("five_hour", Some(&self.windows.five_hour)),
            ("seven_day", Some(&self.windows.seven_day)),
            ("seven_day_opus", self.windows.seven_day_opus.as_ref()),
        ]
        .into_iter()
        .filter_map(|(name, window)| Some((name, window?)))
        {
            if !(0.0..=100.0).contains(&window.initial_percent) {
                return Err(format!(
                    "`windows.{name}.initial_percent` must be in [0, 100]"
                ));
            }
            positive(
                window.resets_in_minutes,
                &format!("windows.{name}.resets_in_minutes"),
            )?;
        }
        if self.sessions.is_empty() {
            return Err("a scenario needs at least one session".into());
        }
        for (index, session) in self.sessions.iter().enumerate() {
            if session.phases.is_empty() {
                return Err(format!("session {index} has no phase"));
            }
            positive(
                session.end_minutes - session.start_minutes,
                &format!("sessions[{index}]: end_minutes - start_minutes"),
            )?;
            for phase in &session.phases {
                positive(
                    phase.minutes,
                    &format!("sessions[{index}].phases[].minutes"),
                )?;
                if !(0.0..=1.0).contains(&phase.idle_probability) {
                    return Err(format!(
                        "sessions[{index}].phases[].idle_probability must be in [0, 1]"
                    ));
                }
            }
        }
        if !self.cache.read_percent_per_kilotoken.is_finite()
            || self.cache.read_percent_per_kilotoken < 0.0
        {
            return Err("`cache.read_percent_per_kilotoken` must not be negative".into());
        }
        if self.sessions.iter().any(|session| session.machine >= 64) {
            return Err("`sessions[].machine` must be under 64".into());
        }
        for prior in &self.history {
            if !(prior.minutes <= 0.0 && prior.minutes.is_finite()) {
                return Err("`history[].minutes` must be at most 0 (before the run)".into());
            }
            if !(0.0..=100.0).contains(&prior.five_hour_percent)
                || !(0.0..=100.0).contains(&prior.seven_day_percent)
            {
                return Err("`history[]` percentages must be in [0, 100]".into());
            }
            if !matches!(prior.source.as_str(), "api" | "statusline") {
                return Err(format!(
                    "`history[].source` must be `api` or `statusline` (got `{}`)",
                    prior.source
                ));
            }
        }
        parse_start(&self.start)?;
        Ok(())
    }

    /// How many machines the sessions run on.
    pub fn machine_count(&self) -> usize {
        self.sessions
            .iter()
            .map(|session| session.machine + 1)
            .max()
            .unwrap_or(1)
    }

    /// The run's start, epoch milliseconds.
    pub fn start_ms(&self) -> i64 {
        parse_start(&self.start)
            .map(|timestamp| timestamp.as_millisecond())
            .unwrap_or(1_767_600_000_000)
    }

    /// Parses a trace file's text.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let scenario: Scenario = serde_json::from_str(text).map_err(|error| error.to_string())?;
        scenario.validate()?;
        Ok(scenario)
    }
}

fn parse_start(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse::<jiff::Timestamp>()
        .map_err(|error| format!("`start` is not an RFC 3339 time ({error})"))
}

/// The scenario `simulate` runs without arguments.
pub const DEFAULT_SCENARIO: &str = "steady-heavy";

fn heavy_phase(minutes: f64, cost_median: f64) -> Phase {
    Phase {
        minutes,
        model_seconds: Distribution::lognormal(14.0, 0.5),
        tool_seconds: Distribution::lognormal(8.0, 0.9),
        // Rounded so that the scenario prints as short, exact JSON.
        cost_percent: Distribution::lognormal((cost_median * 1e4).round() / 1e4, 0.4),
        idle_probability: 0.0,
        idle_minutes: default_idle(),
    }
}

fn session(start_minutes: f64, end_minutes: f64, phases: Vec<Phase>) -> SessionSpec {
    SessionSpec {
        start_minutes,
        end_minutes,
        machine: 0,
        context: Context::default(),
        phases,
    }
}

fn fresh_windows(weekly_percent: f64, weekly_resets_in_hours: f64) -> Windows {
    Windows {
        five_hour: WindowStart {
            initial_percent: 0.0,
            resets_in_minutes: 300.0,
        },
        seven_day: WindowStart {
            initial_percent: weekly_percent,
            resets_in_minutes: weekly_resets_in_hours * 60.0,
        },
        seven_day_opus: None,
    }
}

/// A 5-hour window that opened an hour before the run, at 5 %: a 24 h run
/// then ends exactly at a reset.
fn an_hour_into_a_window() -> WindowStart {
    WindowStart {
        initial_percent: 5.0,
        resets_in_minutes: 240.0,
    }
}

fn base(name: &str, description: &str, hours: f64, sessions: Vec<SessionSpec>) -> Scenario {
    Scenario {
        name: name.to_string(),
        description: description.to_string(),
        seed: 7,
        start: default_start(),
        duration_hours: hours,
        windows: fresh_windows(10.0, 40.0),
        weekly_capacity_in_five_hour_windows: default_weekly_capacity(),
        model: None,
        opus_capacity_in_five_hour_windows: default_opus_capacity(),
        reporting: Reporting::default(),
        cache: Cache::default(),
        sessions,
        history: Vec::new(),
    }
}

/// Every built-in scenario, in the order the comparison shows them.
pub fn built_in() -> Vec<Scenario> {
    let mut scenarios = Vec::new();

    // About 28 s a cycle, 130 cycles an hour; 0.36 % a cycle is ~2.5x the
    // 5-hour budget (19 %/h at a 95 % target).
    let heavy = 0.34;

    let mut light = base(
        "light",
        "one session for 6 h at about half the 5-hour budget, with pauses for a person",
        6.0,
        vec![session(
            0.0,
            360.0,
            vec![Phase {
                minutes: 360.0,
                model_seconds: Distribution::lognormal(18.0, 0.5),
                tool_seconds: Distribution::lognormal(20.0, 0.8),
                cost_percent: Distribution::lognormal(0.13, 0.4),
                idle_probability: 0.02,
                idle_minutes: Distribution::uniform(3.0, 20.0),
            }],
        )],
    );
    light.windows.seven_day.initial_percent = 5.0;
    scenarios.push(light);

    scenarios.push(base(
        "steady-heavy",
        "one session for 10 h demanding about 2.5x the 5-hour budget",
        10.0,
        vec![session(0.0, 600.0, vec![heavy_phase(600.0, heavy)])],
    ));

    let mut bursty_phases = Vec::new();
    for index in 0..20 {
        let burst = index % 2 == 0;
        bursty_phases.push(Phase {
            minutes: if burst { 40.0 } else { 50.0 },
            idle_probability: if burst { 0.0 } else { 0.03 },
            idle_minutes: Distribution::uniform(5.0, 15.0),
            ..heavy_phase(0.0, if burst { heavy * 1.6 } else { heavy * 0.3 })
        });
    }
    scenarios.push(base(
        "bursty",
        "one session for 15 h alternating 40-minute bursts at 4x the budget and calm stretches",
        15.0,
        vec![session(0.0, 900.0, bursty_phases)],
    ));

    scenarios.push(base(
        "three-sessions",
        "three concurrent sessions for 10 h, together about 3x the budget, the third joining after 2 h",
        10.0,
        vec![
            session(0.0, 600.0, vec![heavy_phase(600.0, heavy * 0.45)]),
            session(0.0, 600.0, vec![heavy_phase(600.0, heavy * 0.35)]),
            session(120.0, 600.0, vec![heavy_phase(480.0, heavy * 0.45)]),
        ],
    ));

    let mut late = base(
        "late-start",
        "a heavy 6 h mission starting 4 h into a 5-hour window already at 60 %",
        6.0,
        vec![session(0.0, 360.0, vec![heavy_phase(360.0, heavy)])],
    );
    late.windows.five_hour = WindowStart {
        initial_percent: 60.0,
        resets_in_minutes: 60.0,
    };
    scenarios.push(late);

    let mut weekly = base(
        "weekly-bound",
        "the weekly window at 80 % resets in 24 h; a 24 h mission at 1.5x the 5-hour budget",
        24.0,
        vec![session(0.0, 1440.0, vec![heavy_phase(1440.0, heavy * 0.6)])],
    );
    weekly.windows.five_hour = an_hour_into_a_window();
    weekly.windows.seven_day = WindowStart {
        initial_percent: 80.0,
        resets_in_minutes: 24.0 * 60.0,
    };
    scenarios.push(weekly);

    // About 11 %/h of the 5-hour window (0.6x its budget), a tenth of that
    // on the Opus weekly window: 27 points a day on a window at 80 %.
    let mut opus = base(
        "opus-weekly-bound",
        "an Opus mission for 24 h at 0.6x the 5-hour budget; the Opus weekly window at 80 % resets in 24 h, the account-wide one at 20 %",
        24.0,
        vec![session(0.0, 1440.0, vec![heavy_phase(1440.0, heavy * 0.25)])],
    );
    opus.model = Some("claude-opus-4-1".to_string());
    opus.windows.five_hour = an_hour_into_a_window();
    opus.windows.seven_day = WindowStart {
        initial_percent: 20.0,
        resets_in_minutes: 3.0 * 24.0 * 60.0,
    };
    opus.windows.seven_day_opus = Some(WindowStart {
        initial_percent: 80.0,
        resets_in_minutes: 24.0 * 60.0,
    });
    scenarios.push(opus);

    let mut coarse = base(
        "coarse-stale",
        "heavy demand seen only through a usage API polled every 10 min, lagging 2 min",
        10.0,
        vec![session(0.0, 600.0, vec![heavy_phase(600.0, heavy)])],
    );
    coarse.reporting.api_poll_seconds = 600.0;
    coarse.reporting.report_lag_seconds = 120.0;
    coarse.reporting.estimate = false;
    scenarios.push(coarse);

    let mut outage = base(
        "api-outage",
        "heavy demand; the usage API is down for 90 min mid-run (the local estimate stands in)",
        10.0,
        vec![session(0.0, 600.0, vec![heavy_phase(600.0, heavy)])],
    );
    outage.reporting.outages = vec![Outage {
        start_minutes: 150.0,
        duration_minutes: 90.0,
        statusline_too: false,
    }];
    scenarios.push(outage);

    let mut day = base(
        "day-mission",
        "a 24 h mission at 2x the 5-hour budget, with the status line reporting",
        24.0,
        vec![session(0.0, 1440.0, vec![heavy_phase(1440.0, heavy * 0.8)])],
    );
    day.reporting.statusline = true;
    day.windows.five_hour = an_hour_into_a_window();
    day.windows.seven_day.resets_in_minutes = 3.0 * 24.0 * 60.0;
    scenarios.push(day);

    let mut ttl_five = base(
        "cache-5m",
        "5x the budget with a large context and the 5-minute prompt cache: a sleep past it rebuilds the cache",
        10.0,
        vec![session(0.0, 600.0, vec![heavy_phase(600.0, heavy * 2.0)])],
    );
    ttl_five.sessions[0].context = Context {
        start_kilotokens: 60.0,
        growth_kilotokens_per_cycle: 1.5,
        max_kilotokens: 180.0,
        after_compaction_kilotokens: 60.0,
    };
    scenarios.push(ttl_five.clone());

    let mut ttl_hour = ttl_five.clone();
    ttl_hour.name = "cache-1h".to_string();
    ttl_hour.description =
        "the same with the 1-hour prompt cache (writes cost more, but sleeps never outlast it)"
            .to_string();
    ttl_hour.cache = Cache {
        ttl_seconds: 3600.0,
        rebuild_percent_per_kilotoken: 0.032,
        read_percent_per_kilotoken: 0.0,
    };
    scenarios.push(ttl_hour);

    // A mission started in a window already ahead of pace: one status-line
    // reading at 45 % with 3 h to the reset (pace 38 %), replies of about
    // 3 s, about 1.5x what the rest of the window allows.
    let mut fresh = base(
        "fresh-start",
        "a new mission in a window at 45 % with 3 h to its reset (one status-line reading), 3 s cycles at 1.5x",
        3.0,
        vec![session(
            0.0,
            180.0,
            vec![Phase {
                minutes: 180.0,
                model_seconds: Distribution::lognormal(2.0, 0.3),
                tool_seconds: Distribution::lognormal(1.0, 0.5),
                cost_percent: Distribution::lognormal(0.02, 0.4),
                idle_probability: 0.0,
                idle_minutes: default_idle(),
            }],
        )],
    );
    fresh.windows.five_hour = WindowStart {
        initial_percent: 45.0,
        resets_in_minutes: 180.0,
    };
    fresh.reporting.statusline = true;
    fresh.history = vec![PriorReading {
        minutes: 0.0,
        five_hour_percent: 45.0,
        seven_day_percent: 10.0,
        source: "statusline".to_string(),
    }];
    scenarios.push(fresh);

    // 30-minute bursts at 5x the budget, then 30 minutes of nothing: after
    // a lull the recent rate is flat, and only a polled API reports.
    let mut lull_phases = Vec::new();
    for index in 0..20 {
        let burst = index % 2 == 0;
        lull_phases.push(Phase {
            minutes: 30.0,
            idle_probability: if burst { 0.0 } else { 1.0 },
            idle_minutes: Distribution::Fixed(30.0),
            ..heavy_phase(0.0, heavy * 2.0)
        });
    }
    scenarios.push(base(
        "burst-after-lull",
        "10 h of 30-minute bursts at 5x the budget after 30-minute lulls, seen only through the polled usage API",
        10.0,
        vec![session(0.0, 600.0, lull_phases)],
    ));

    // Under the budget, with the jitter and pauses of real work: no delay
    // is needed anywhere.
    let mut under = base(
        "under-budget",
        "24 h at 0.8x the budget with natural jitter and a person's pauses of 2-12 minutes",
        24.0,
        vec![session(
            0.0,
            1440.0,
            vec![Phase {
                idle_probability: 0.02,
                idle_minutes: Distribution::uniform(2.0, 12.0),
                ..heavy_phase(1440.0, heavy * 0.36)
            }],
        )],
    );
    under.windows.seven_day.resets_in_minutes = 24.0 * 60.0;
    scenarios.push(under);

    // One mission on two machines: each has its own store, poller, status
    // line and estimate, and cannot see the other's sleeps.
    let mut machines = base(
        "two-machines",
        "two sessions on two machines for 10 h, together about 3x the budget; only the official figures join them",
        10.0,
        vec![
            session(0.0, 600.0, vec![heavy_phase(600.0, heavy * 0.6)]),
            SessionSpec {
                machine: 1,
                ..session(60.0, 600.0, vec![heavy_phase(540.0, heavy * 0.6)])
            },
        ],
    );
    machines.reporting.statusline = true;
    scenarios.push(machines);

    // A context that grows to 400k tokens: every request reads it, so
    // cycles get dearer as the mission goes on, and a rebuild is dear.
    let mut long = base(
        "context-400k",
        "10 h, the context growing to 400k tokens (each request reads it), about 2.5x the budget",
        10.0,
        vec![SessionSpec {
            context: Context {
                start_kilotokens: 30.0,
                growth_kilotokens_per_cycle: 1.5,
                max_kilotokens: 400.0,
                after_compaction_kilotokens: 60.0,
            },
            ..session(0.0, 600.0, vec![heavy_phase(600.0, heavy * 0.5)])
        }],
    );
    long.cache.read_percent_per_kilotoken = 0.0012;
    long.reporting.statusline = true;
    scenarios.push(long);

    scenarios
}

/// A built-in scenario by name.
pub fn find(name: &str) -> Option<Scenario> {
    built_in()
        .into_iter()
        .find(|scenario| scenario.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_built_in_scenario_is_valid_and_round_trips_through_json() {
        let scenarios = built_in();
        assert!(scenarios.len() >= 11);
        assert!(find(DEFAULT_SCENARIO).is_some());
        for scenario in scenarios {
            scenario.validate().unwrap();
            let text = serde_json::to_string(&scenario).unwrap();
            let parsed = Scenario::from_json(&text).unwrap();
            assert_eq!(parsed.name, scenario.name);
            assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
        }
    }

    #[test]
    fn distributions_read_from_json_in_every_form() {
        let parsed: Vec<Distribution> = serde_json::from_str(
            r#"[5, {"uniform": [1, 3]}, {"lognormal": {"median": 20, "sigma": 0.5}}, {"exponential": {"mean": 4}}]"#,
        )
        .unwrap();
        assert_eq!(parsed[0], Distribution::Fixed(5.0));
        assert_eq!(parsed[1], Distribution::uniform(1.0, 3.0));
        assert_eq!(parsed[2], Distribution::lognormal(20.0, 0.5));
        assert_eq!(parsed[3].mean(), 4.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mean: f64 = (0..20_000).map(|_| parsed[2].sample(&mut rng)).sum::<f64>() / 20_000.0;
        assert!((mean - parsed[2].mean()).abs() < 0.5, "{mean}");
    }

    #[test]
    fn a_trace_with_an_unknown_key_or_a_bad_value_is_refused() {
        let mut value = serde_json::to_value(find("light").unwrap()).unwrap();
        value["surprise"] = serde_json::json!(1);
        assert!(Scenario::from_json(&value.to_string()).is_err());
        let mut value = serde_json::to_value(find("light").unwrap()).unwrap();
        value["duration_hours"] = serde_json::json!(-1);
        assert!(Scenario::from_json(&value.to_string())
            .unwrap_err()
            .contains("duration_hours"));
    }
}
