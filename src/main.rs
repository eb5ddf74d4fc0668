//! The `pace-maker` binary: parse, hand over, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    pace_maker::main()
}
