//! `cargo xtask fuzz`: runs every cargo-fuzz target of `ipcon-core/fuzz` for a bounded time.
//!
//! Each target runs `IPCON_FUZZ_SECONDS` seconds (default 10) and passes if libFuzzer found
//! no crash. Installs what it needs when missing (a nightly toolchain, cargo-fuzz), saying
//! so. Prints `fuzz: N passed, M failed`; crash inputs stay in `ipcon-core/fuzz/artifacts/`.
use std::path::Path;
use std::process::Command;

const FUZZ_DIR: &str = "ipcon-core/fuzz";
const DEFAULT_SECONDS: u64 = 10;

/// Runs every fuzz target from the repository root; prints its own summary line.
pub fn run(root: &Path) -> Result<(), String> {
    let seconds = seconds_from_env(std::env::var("IPCON_FUZZ_SECONDS").ok().as_deref())?;
    let fuzz_dir = root.join(FUZZ_DIR);
    let targets = targets(
        &std::fs::read_to_string(fuzz_dir.join("Cargo.toml"))
            .map_err(|e| format!("{FUZZ_DIR}/Cargo.toml: {e}"))?,
    );
    if targets.is_empty() {
        return Err(format!("fuzz: no [[bin]] targets in {FUZZ_DIR}/Cargo.toml"));
    }
    ensure_nightly()?;
    ensure_cargo_fuzz()?;

    // Build every target first, so a build failure is not mistaken for a crash.
    println!("fuzz: building {} targets", targets.len());
    let built = Command::new("cargo")
        .current_dir(root.join("ipcon-core"))
        .env_remove("CARGO_TARGET_DIR")
        .args(["+nightly", "fuzz", "build"])
        .status()
        .map_err(|e| format!("fuzz: cannot run cargo fuzz: {e}"))?;
    if !built.success() {
        return Err(format!("fuzz: building the targets failed ({built})"));
    }

    // Valid messages as seeds let libFuzzer reach the deep parsers within seconds;
    // ipcon-core writes them (xtask does not link it: it generates part of it).
    let seeded = Command::new("cargo")
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--package",
            "ipcon-core",
            "--example",
            "fuzz_seeds",
            "--",
        ])
        .arg(fuzz_dir.join("corpus"))
        .args(&targets)
        .status()
        .map_err(|e| format!("fuzz: cannot run cargo: {e}"))?;
    if !seeded.success() {
        return Err(format!("fuzz: writing the seed corpus failed ({seeded})"));
    }

    let (mut passed, mut failed) = (0, 0);
    for target in &targets {
        println!("fuzz: {target}: {seconds} s");
        let status = Command::new("cargo")
            .current_dir(root.join("ipcon-core"))
            // The fuzz workspace has its own target dir; a caller's CARGO_TARGET_DIR would mix
            // sanitizer builds into the workspace's.
            .env_remove("CARGO_TARGET_DIR")
            // The corpus (fuzz/corpus/<target>, gitignored) grows across runs.
            .args(["+nightly", "fuzz", "run", target])
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=0",
            ])
            .status()
            .map_err(|e| format!("fuzz: cannot run cargo fuzz: {e}"))?;
        if status.success() {
            passed += 1;
            println!("fuzz: {target}: ok");
        } else {
            failed += 1;
            println!("fuzz: {target}: FAILED ({status}); the crashing input is in {FUZZ_DIR}/artifacts/{target}/");
        }
    }
    println!("fuzz: {passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("fuzz: {failed} target(s) crashed"))
    }
}

fn seconds_from_env(value: Option<&str>) -> Result<u64, String> {
    match value {
        None | Some("") => Ok(DEFAULT_SECONDS),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(s) if s > 0 => Ok(s),
            _ => Err(format!(
                "IPCON_FUZZ_SECONDS must be a positive number of seconds, not {v:?}"
            )),
        },
    }
}

/// The `[[bin]]` names of the fuzz crate's manifest.
fn targets(manifest: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if in_bin {
            if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('='))
            {
                targets.push(value.trim().trim_matches('"').to_string());
            }
        }
    }
    targets
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_nightly() -> Result<(), String> {
    if succeeds(Command::new("rustc").arg("+nightly").arg("--version")) {
        return Ok(());
    }
    println!("fuzz: installing the nightly toolchain (rustup toolchain install nightly --profile minimal)");
    let ok = succeeds(Command::new("rustup").args([
        "toolchain",
        "install",
        "nightly",
        "--profile",
        "minimal",
    ]));
    if ok {
        Ok(())
    } else {
        Err("fuzz: could not install the nightly toolchain".into())
    }
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    if succeeds(Command::new("cargo").args(["+nightly", "fuzz", "--version"])) {
        return Ok(());
    }
    println!("fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = Command::new("cargo")
        .env_remove("CARGO_TARGET_DIR")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|e| format!("fuzz: cannot run cargo install: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("fuzz: could not install cargo-fuzz".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_targets_of_the_manifest() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let manifest = std::fs::read_to_string(root.join(FUZZ_DIR).join("Cargo.toml")).unwrap();
        let t = targets(&manifest);
        assert!(t.contains(&"incoming".to_string()), "{t:?}");
        assert!(!t.contains(&"ipcon-core-fuzz".to_string()), "{t:?}");
        // Every target's source exists.
        for name in &t {
            assert!(
                root.join(FUZZ_DIR)
                    .join("fuzz_targets")
                    .join(format!("{name}.rs"))
                    .exists(),
                "{name}"
            );
        }
    }

    /// `cargo test -p xtask -- --ignored run_every_target` runs the fuzzers without the CLI.
    #[test]
    #[ignore]
    fn run_every_target() {
        run(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()).unwrap();
    }

    #[test]
    fn seconds_are_validated() {
        assert_eq!(seconds_from_env(None), Ok(DEFAULT_SECONDS));
        assert_eq!(seconds_from_env(Some("5")), Ok(5));
        assert!(seconds_from_env(Some("0")).is_err());
        assert!(seconds_from_env(Some("x")).is_err());
    }
}
