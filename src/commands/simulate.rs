//! `pace-maker simulate`: picks scenarios and policies from the arguments,
//! runs them, prints the table (100 columns at most; `--wide` for every
//! metric) or JSON, a terminal chart, what the policies are, where the
//! columns are explained and what to do next, and writes the SVG. Touches
//! no store and no network.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::SimulateArgs;
use crate::simulate::{self, policies, report, scenario};

/// Width of the terminal chart, in columns.
const CHART_WIDTH: usize = 72;

pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    if args.list {
        for scenario in scenario::built_in() {
            let line = format!("{:<16} {}", scenario.name, scenario.description);
            write!(
                stdout,
                "{}",
                report::wrap(&line, report::NARROW_WIDTH, &" ".repeat(17))
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut scenarios = if let Some(path) = &args.trace {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the trace {}", path.display()))?;
        let scenario = scenario::Scenario::from_json(&text).map_err(|error| {
            crate::hint::hinted(format!("{} is not a valid trace: {error}", path.display()), "docs/simulator.md describes the format; `pace-maker simulate --scenario light --print-trace` prints an example")
        })?;
        vec![scenario]
    } else if let Some(name) = &args.scenario {
        match scenario::find(name) {
            Some(scenario) => vec![scenario],
            None => {
                return Err(crate::hint::hinted(
                    format!("no built-in scenario `{name}`"),
                    "`pace-maker simulate --list` names them",
                ))
            }
        }
    } else if args.compare {
        scenario::built_in()
    } else {
        vec![scenario::find(scenario::DEFAULT_SCENARIO).expect("the default scenario exists")]
    };
    if let Some(seed) = args.seed {
        for scenario in &mut scenarios {
            scenario.seed = seed;
        }
    }
    if args.print_trace {
        for scenario in &scenarios {
            writeln!(stdout, "{}", serde_json::to_string_pretty(scenario)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let policy_names: Vec<&str> = match &args.policy {
        Some(name) if policies::POLICY_NAMES.contains(&name.as_str()) => vec![name.as_str()],
        Some(name) => {
            return Err(crate::hint::hinted(
                format!("no policy `{name}`"),
                format!("one of {}", policies::POLICY_NAMES.join(", ")),
            ))
        }
        None => policies::POLICY_NAMES.to_vec(),
    };
    if args.svg.is_some() && scenarios.len() != 1 {
        return Err(crate::hint::hinted(
            "--svg charts one scenario",
            "add --scenario NAME",
        ));
    }
    // Each scenario's runs on a thread of their own: the scenarios do not
    // share anything, and `--compare` is many of them.
    let runs: Vec<Result<simulate::ScenarioResult, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|scenario| {
                let policy_names = &policy_names;
                scope.spawn(move || simulate::simulate(scenario, policy_names))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a simulation thread"))
            .collect()
    });
    let mut results = Vec::with_capacity(scenarios.len());
    for (scenario, result) in scenarios.iter().zip(runs) {
        let failed = |error| anyhow::anyhow!("scenario `{}`: {error}", scenario.name);
        let mut result = result.map_err(failed)?;
        if let Some(seeds) = args.seeds {
            result.over_seeds =
                Some(simulate::over_seeds(scenario, &policy_names, seeds).map_err(failed)?);
        }
        results.push(result);
    }
    if let Some(path) = &args.svg {
        crate::fsutil::write_atomic(path, report::svg(&results[0]).as_bytes(), Some(0o600))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        let value = serde_json::json!({
            "target_percent": simulate::target_percent(),
            "scenarios": results,
        });
        writeln!(stdout, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.wide {
        write!(stdout, "{}", report::table(&results))?;
    } else {
        write!(stdout, "{}", report::narrow_table(&results))?;
    }
    if args.seeds.is_some() {
        writeln!(stdout)?;
        write!(stdout, "{}", report::seeds_table(&results))?;
    }
    if results.len() == 1 {
        writeln!(stdout)?;
        write!(stdout, "{}", report::resets(&results[0]))?;
        if std::io::stdout().is_terminal() {
            writeln!(stdout)?;
            write!(stdout, "{}", report::text_chart(&results[0], CHART_WIDTH))?;
        }
    }
    writeln!(stdout)?;
    write!(stdout, "{}", report::legend())?;
    Ok(ExitCode::SUCCESS)
}
