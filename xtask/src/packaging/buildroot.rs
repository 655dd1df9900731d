//! The br2-external tree under the real Buildroot (2025.02.x and 2026.05.x):
//! `utils/check-package` on the whole tree, every defconfig with assertions
//! on the `.config` it gives, `show-info`, the download step of both
//! packages (the vendored archive) and `legal-info` for them.
//!
//! Source downloads other than git, static.rust-lang.org and crates.io are
//! not reachable here, so nothing that needs the toolchain, the kernel or
//! busybox runs: `legal-info` runs for the ipcon packages (`ipcon-legal-info
//! ipcon-kmod-legal-info` after Buildroot's own preparation) rather than for
//! the whole configuration, whose other sources cannot be fetched.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

use super::crates_inc;
use super::host::PYTHON;
use super::programs;
use super::vendor;
use super::{run_captured, Outcome};
use crate::{disk, process};

/// A Buildroot release branch snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Version {
    pub name: &'static str,
    archive: &'static str,
}

pub const VERSIONS: &[Version] = &[
    Version {
        name: "2025.02.x",
        archive: "buildroot-2025.02.x",
    },
    Version {
        name: "2026.05.x",
        archive: "buildroot-2026.05.x",
    },
];

/// The tree's defconfigs.
pub const DEFCONFIGS: &[&str] = &[
    "ipcon_qemu_aarch64_virt_defconfig",
    "ipcon_qemu_arm_vexpress_defconfig",
];

/// The defconfig whose download step and legal-info run (they do not depend
/// on the machine; one host Rust is fetched per Buildroot version).
const DOWNLOAD_DEFCONFIG: &str = "ipcon_qemu_aarch64_virt_defconfig";
/// What Config.in shows when a musl toolchain lacks C++.
const CXX_COMMENT: &str = "# ipcon needs a toolchain w/ C++";
/// The tree's packages, each downloaded as a git archive of the release,
/// with a dependency show-info must name.
const PACKAGES: &[(&str, &[&str])] = &[
    ("ipcon", &["host-rustc"]),
    ("ipcon-c-samples", &["ipcon", "host-pkgconf"]),
    ("ipcon-kmod", &["linux"]),
];

/// One Buildroot version's runs.
pub struct Buildroot {
    root: PathBuf,
    tree: PathBuf,
    version: Version,
    /// target/packaging/buildroot
    work: PathBuf,
    /// A directory with a GNU tar Buildroot accepts, put first in PATH.
    tar: Option<PathBuf>,
    /// show-info per defconfig (each run evaluates every package).
    infos: Mutex<BTreeMap<String, Value>>,
}

/// Key=value lines of a defconfig or .config (`# X is not set` kept as is).
fn config_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && (!l.starts_with('#') || l.ends_with(" is not set")))
        .map(str::to_owned)
        .collect()
}

fn config_value<'a>(config: &'a str, name: &str) -> Option<&'a str> {
    config
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
}

impl Buildroot {
    pub fn new(root: &Path, version: Version) -> Result<Buildroot, String> {
        let tree = vendor::unpack(root, version.archive)?;
        Ok(Buildroot {
            root: root.to_path_buf(),
            tree,
            version,
            work: root.join("target/packaging/buildroot"),
            tar: None,
            infos: Mutex::default(),
        })
    }

    /// From now on with `tar` (a directory holding GNU tar >= 1.35) first
    /// in PATH, as the download step and later ones need.
    pub fn with_tar(self, tar: Option<PathBuf>) -> Buildroot {
        Buildroot { tar, ..self }
    }

    fn external(&self) -> PathBuf {
        self.root.join("buildroot")
    }

    fn output(&self, defconfig: &str) -> PathBuf {
        self.work.join(self.version.name).join(defconfig)
    }

    /// Every output directory of this version (`O=` of each run).
    pub fn outputs(&self) -> PathBuf {
        self.work.join(self.version.name)
    }

    /// Removes what host packages unpacked in their build directories once
    /// installed into `host/`: Buildroot reads them no more, and its stamps
    /// (`.stamp_*`, kept with the other dot files) stop it from unpacking
    /// them again. For host-rust-bin that is 1.9 GB of 2.6. The bytes freed.
    pub fn prune_installed_host_sources(&self) -> Result<u64, String> {
        let build = self.output(DOWNLOAD_DEFCONFIG).join("build");
        let Ok(packages) = fs::read_dir(&build) else {
            return Ok(0);
        };
        let mut freed = 0;
        for package in packages.flatten() {
            let dir = package.path();
            let name = package.file_name().to_string_lossy().into_owned();
            if !name.starts_with("host-") || !dir.join(".stamp_host_installed").is_file() {
                continue;
            }
            let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                freed += disk::remove(&entry.path())?;
            }
        }
        Ok(freed)
    }

    /// `make` with a clean environment (the caller's cargo and rustup
    /// variables must not reach Buildroot's cargo).
    fn make(&self, dir: &Path, args: &[&str]) -> Result<String, String> {
        let mut path = String::new();
        if let Some(tar) = &self.tar {
            path.push_str(&format!("{}:", tar.display()));
        }
        path.push_str("/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin");
        let mut command = Command::new("make");
        command
            .env_clear()
            .env("PATH", path)
            .env(
                "HOME",
                std::env::var_os("HOME").unwrap_or_else(|| "/root".into()),
            )
            .env("LANG", "C.UTF-8")
            .env("BR2_DL_DIR", self.work.join("dl"))
            .arg("-C")
            .arg(dir)
            .args(args);
        let what = format!("make {} (Buildroot {})", args.join(" "), self.version.name);
        run_captured(&mut command, &what, 25)
    }

    /// `utils/check-package` on every file of the tree.
    pub fn check_package(&self) -> Outcome {
        let external = self.external();
        let files = process::output(Command::new("git").arg("-C").arg(&external).args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            ".",
        ]))?;
        let files: Vec<&str> = files
            .lines()
            .filter(|f| external.join(f).is_file())
            .collect();
        let output = process::capture(
            Command::new(PYTHON)
                .arg(self.tree.join("utils/check-package"))
                .arg("-b")
                .args(&files)
                .current_dir(&external),
            false,
        )?;
        let summary = output
            .lines
            .iter()
            .find(|l| l.ends_with("warnings generated"))
            .cloned()
            .unwrap_or_default();
        if output.success && summary.starts_with("0 warnings") {
            Ok(format!("{} files, {summary}", files.len()))
        } else {
            Err(output.lines.join("\n"))
        }
    }

    /// `make <defconfig>`, then every line of the defconfig must be in the
    /// `.config` (Kconfig drops what a dependency rules out, silently), and
    /// the values the tree relies on are checked by name.
    pub fn defconfig(&self, defconfig: &str) -> Outcome {
        let out = self.output(defconfig);
        let external = format!("BR2_EXTERNAL={}", self.external().display());
        let output = format!("O={}", out.display());
        self.make(&self.tree, &[&external, &output, defconfig])?;
        let path = self.external().join("configs").join(defconfig);
        let wanted = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config = fs::read_to_string(out.join(".config"))
            .map_err(|e| format!("{}: {e}", out.join(".config").display()))?;
        let have: BTreeSet<String> = config_lines(&config).into_iter().collect();
        let mut problems: Vec<String> = config_lines(&wanted)
            .into_iter()
            .filter(|line| !have.contains(line))
            .map(|line| format!("{defconfig}: `{line}` is not in the resulting .config"))
            .collect();
        for name in [
            "BR2_PACKAGE_IPCON",
            "BR2_PACKAGE_IPCON_SAMPLES",
            "BR2_PACKAGE_IPCON_C_SAMPLES",
            "BR2_PACKAGE_IPCON_KMOD",
            "BR2_PACKAGE_HOST_RUSTC",
            "BR2_DOWNLOAD_FORCE_CHECK_HASHES",
        ] {
            if config_value(&config, name) != Some("y") {
                problems.push(format!("{defconfig}: {name} is not y in .config"));
            }
        }
        // A pinned kernel, whose hash the tree provides (downloads must have
        // one: BR2_DOWNLOAD_FORCE_CHECK_HASHES).
        let pinned = config_value(&wanted, "BR2_LINUX_KERNEL_CUSTOM_VERSION_VALUE")
            .map(|v| v.trim_matches('"').to_owned());
        match pinned {
            None => problems.push(format!("{defconfig}: the kernel version is not pinned")),
            Some(version) => {
                let quoted = format!("\"{version}\"");
                if config_value(&config, "BR2_LINUX_KERNEL_VERSION") != Some(quoted.as_str()) {
                    problems.push(format!(
                        "{defconfig}: BR2_LINUX_KERNEL_VERSION is not {quoted}"
                    ));
                }
                for hash in ["linux/linux.hash", "linux-headers/linux-headers.hash"] {
                    let file = self.external().join("patches").join(hash);
                    let text = fs::read_to_string(&file).unwrap_or_default();
                    if !text.contains(&format!("  linux-{version}.tar.xz")) {
                        problems.push(format!(
                            "{}: no hash for linux-{version}.tar.xz",
                            file.display()
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(format!(
                "{} lines kept, ipcon + samples + C samples + module",
                config_lines(&wanted).len()
            ))
        } else {
            Err(problems.join("\n"))
        }
    }

    /// A musl toolchain without C++ cannot have ipcon (Rust needs it there):
    /// the package is then not offered and Config.in says why.
    pub fn musl_without_cxx(&self) -> Outcome {
        let out = self.work.join(self.version.name).join("musl-without-cxx");
        fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let source = self.external().join("configs").join(DOWNLOAD_DEFCONFIG);
        let text = fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
        let without: String = text
            .lines()
            .filter(|l| !l.starts_with("BR2_TOOLCHAIN_BUILDROOT_CXX="))
            .map(|l| format!("{l}\n"))
            .collect();
        let defconfig = out.join("defconfig-without-cxx");
        fs::write(&defconfig, without).map_err(|e| format!("{}: {e}", defconfig.display()))?;
        let args = [
            format!("BR2_EXTERNAL={}", self.external().display()),
            format!("O={}", out.display()),
            format!("BR2_DEFCONFIG={}", defconfig.display()),
            "defconfig".to_owned(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.make(&self.tree, &args)?;
        let config = fs::read_to_string(out.join(".config")).unwrap_or_default();
        let mut problems = Vec::new();
        for name in ["BR2_PACKAGE_IPCON", "BR2_PACKAGE_IPCON_C_SAMPLES"] {
            if config_value(&config, name) == Some("y") {
                problems.push(format!("{name} is set without C++ on musl"));
            }
        }
        for comment in [CXX_COMMENT, "# ipcon-c-samples needs a toolchain w/ C++"] {
            if !config.lines().any(|l| l == comment) {
                problems.push(format!("the .config does not show `{comment}`"));
            }
        }
        if problems.is_empty() {
            Ok("ipcon and ipcon-c-samples not offered, the comments say why".into())
        } else {
            Err(problems.join("\n"))
        }
    }

    fn show_info(&self, defconfig: &str) -> Result<Value, String> {
        let mut infos = self.infos.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(info) = infos.get(defconfig) {
            return Ok(info.clone());
        }
        let text = self.make(&self.output(defconfig), &["-s", "show-info"])?;
        let json = text
            .find('{')
            .map(|start| &text[start..])
            .ok_or("show-info printed no JSON")?;
        let info: Value = serde_json::from_str(json).map_err(|e| format!("show-info: {e}"))?;
        infos.insert(defconfig.to_owned(), info.clone());
        Ok(info)
    }

    /// `show-info`: both packages at the release, with licence files and
    /// hash files, fetched by git from the configured site into archives
    /// named as the download step makes them.
    pub fn check_show_info(&self, defconfig: &str) -> Outcome {
        let info = self.show_info(defconfig)?;
        let mut problems = Vec::new();
        let release = self.release().unwrap_or_else(|e| {
            problems.push(e);
            String::new()
        });
        for (package, wanted) in PACKAGES {
            let package = *package;
            let entry = &info[package];
            let mut expect = |holds: bool, what: String| {
                if !holds {
                    problems.push(format!("{package}: {what}"));
                }
            };
            expect(
                entry["version"] == release.as_str(),
                format!("version is {}, not {release}", entry["version"]),
            );
            let source = entry["downloads"][0]["source"].as_str().unwrap_or_default();
            let prefix = format!("{package}-{release}-git4");
            expect(
                source.starts_with(&prefix) && source.ends_with(".tar.gz"),
                format!("downloads {source}, not a git archive of the release"),
            );
            if package == "ipcon" {
                expect(
                    source.contains("-cargo"),
                    format!("{source} is not vendored by the cargo download step"),
                );
            }
            let uri = entry["downloads"][0]["uris"][0]
                .as_str()
                .unwrap_or_default();
            expect(
                uri.starts_with("git+"),
                format!("is fetched from {uri}, not with git"),
            );
            expect(
                entry["license_files"]
                    .as_array()
                    .is_some_and(|files| !files.is_empty()),
                "has no licence files".into(),
            );
            expect(
                entry["hashes"]
                    .as_array()
                    .is_some_and(|files| !files.is_empty()),
                "has no hash file".into(),
            );
            let dependencies = entry["dependencies"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for dependency in *wanted {
                expect(
                    dependencies.iter().any(|d| d == dependency),
                    format!("does not depend on {dependency}"),
                );
            }
        }
        if let Err(e) = self.judge_package_variables(defconfig) {
            problems.push(e);
        }
        if problems.is_empty() {
            Ok(format!(
                "{} packages at {}, libipcon to staging and target, the policy's boot step",
                PACKAGES.len(),
                &release[..12.min(release.len())]
            ))
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The packages' variables as Buildroot expands them (`printvars`):
    /// libipcon built and installed by ipcon (staging and target), the C
    /// samples built with pkg-config (also without shared libraries), the
    /// policy and its boot step.
    fn judge_package_variables(&self, defconfig: &str) -> Result<(), String> {
        let names = [
            "IPCON_INSTALL_STAGING",
            "IPCON_CARGO_BUILD_OPTS",
            "IPCON_INSTALL_STAGING_CMDS",
            "IPCON_INSTALL_TARGET_CMDS",
            "IPCON_INSTALL_INIT_SYSV",
            "IPCON_INSTALL_INIT_SYSTEMD",
            "IPCON_C_SAMPLES_BUILD_CMDS",
            "IPCON_C_SAMPLES_INSTALL_TARGET_CMDS",
            "IPCON_C_SAMPLES_PROGRAMS",
        ];
        let vars = format!("VARS={}", names.join(" "));
        let text = self.make(&self.output(defconfig), &["-s", "printvars", &vars])?;
        let value = |name: &str| printed_value(&text, &names, name);
        let mut problems = Vec::new();
        let mut expect = |name: &str, part: &str| {
            if !value(name).contains(part) {
                problems.push(format!("{name} lacks `{part}`: {}", value(name)));
            }
        };
        expect("IPCON_INSTALL_STAGING", "YES");
        expect("IPCON_CARGO_BUILD_OPTS", "--package ipcon-c");
        let out = self.output(defconfig);
        for (name, destdir) in [
            ("IPCON_INSTALL_STAGING_CMDS", out.join("host")),
            ("IPCON_INSTALL_TARGET_CMDS", out.join("target")),
        ] {
            expect(name, "/ipcon-c/install.sh");
            expect(name, &format!("DESTDIR=\"{}", destdir.display()));
            expect(name, "CC=\"");
            expect(name, "LDFLAGS=\"");
        }
        expect("IPCON_INSTALL_STAGING_CMDS", "/sysroot");
        expect("IPCON_INSTALL_TARGET_CMDS", "/etc/ipcon/policy.conf");
        expect("IPCON_INSTALL_INIT_SYSV", "/etc/init.d/S31ipcon-policy");
        expect(
            "IPCON_INSTALL_INIT_SYSTEMD",
            "/usr/lib/systemd/system/ipcon-policy.service",
        );
        expect("IPCON_C_SAMPLES_BUILD_CMDS", "/host/bin/pkg-config ");
        expect("IPCON_C_SAMPLES_BUILD_CMDS", "libipcon --cflags`");
        expect("IPCON_C_SAMPLES_BUILD_CMDS", "libipcon --libs`");
        for sample in value("IPCON_C_SAMPLES_PROGRAMS").split_whitespace() {
            expect(
                "IPCON_C_SAMPLES_BUILD_CMDS",
                &format!("/samples/c/{sample}.c"),
            );
            expect(
                "IPCON_C_SAMPLES_INSTALL_TARGET_CMDS",
                &format!("/usr/bin/{sample}"),
            );
        }
        // Without shared libraries: no shared link, its links removed, the
        // samples linked statically.
        let names = ["IPCON_INSTALL_STAGING_CMDS", "IPCON_C_SAMPLES_BUILD_CMDS"];
        let vars = format!("VARS={}", names.join(" "));
        let text = self.make(
            &self.output(defconfig),
            &["-s", "printvars", "BR2_STATIC_LIBS=y", &vars],
        )?;
        let value = |name: &str| printed_value(&text, &names, name);
        for (name, part) in [
            ("IPCON_INSTALL_STAGING_CMDS", "CC=\"true\""),
            ("IPCON_INSTALL_STAGING_CMDS", "/usr/lib/libipcon.so*"),
            ("IPCON_C_SAMPLES_BUILD_CMDS", "--static libipcon --libs`"),
        ] {
            if !value(name).contains(part) {
                problems.push(format!(
                    "with BR2_STATIC_LIBS, {name} lacks `{part}`: {}",
                    value(name)
                ));
            }
        }
        // The boot step: the init script loads the installed policy.
        let script = self.external().join("package/ipcon/S31ipcon-policy");
        let text = fs::read_to_string(&script).map_err(|e| format!("{}: {e}", script.display()))?;
        if !text.contains("/usr/bin/ipcon policy load \"$POLICY\"")
            || !text.contains("POLICY=\"/etc/ipcon/policy.conf\"")
        {
            problems.push(format!(
                "{} does not load /etc/ipcon/policy.conf",
                script.display()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    fn release(&self) -> Result<String, String> {
        let path = self.external().join("external.mk");
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        programs::make_value(&text, "IPCON_RELEASE")
            .ok_or_else(|| "external.mk sets no IPCON_RELEASE".into())
    }

    /// The download step of both packages: the archives show-info names
    /// exist, pass their hashes, and ipcon's carries every crate of its
    /// Cargo.lock with a cargo configuration that only points at them (the
    /// tree's own .cargo/config.toml must not reach the build).
    pub fn download(&self) -> Outcome {
        let out = self.output(DOWNLOAD_DEFCONFIG);
        let info = self.show_info(DOWNLOAD_DEFCONFIG)?;
        // Without its stamp the step runs again, and an archive already in
        // DL_DIR is checked against the .hash file again.
        for (package, _) in PACKAGES {
            let version = info[package]["version"].as_str().unwrap_or_default();
            let stamp = out
                .join("build")
                .join(format!("{package}-{version}"))
                .join(".stamp_downloaded");
            let _ = fs::remove_file(stamp);
        }
        let text = self.make(
            &out,
            &[
                "ipcon-source",
                "ipcon-c-samples-source",
                "ipcon-kmod-source",
            ],
        )?;
        let mut problems = Vec::new();
        let mut crates = 0;
        for (package, _) in PACKAGES {
            let package = *package;
            let source = info[package]["downloads"][0]["source"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let archive = self.work.join("dl").join(package).join(&source);
            if !archive.is_file() {
                problems.push(format!(
                    "{package}: show-info's {source} was not downloaded"
                ));
                continue;
            }
            let verified = format!("{source}: OK (sha256");
            if !text.contains(&verified) {
                problems.push(format!(
                    "{package}: {source} was not checked against {package}.hash"
                ));
            }
            if package == "ipcon" {
                match self.judge_vendored(&archive) {
                    Ok(count) => crates = count,
                    Err(e) => problems.push(e),
                }
            } else {
                let top = source.trim_end_matches(".tar.gz").trim_end_matches("-git4");
                let listing = tar_listing(&archive)?;
                let needed: Vec<String> = if package == "ipcon-kmod" {
                    vec!["kmod/Kbuild".into()]
                } else {
                    let mk = fs::read_to_string(
                        self.external()
                            .join("package/ipcon-c-samples/ipcon-c-samples.mk"),
                    )
                    .map_err(|e| e.to_string())?;
                    programs::make_value(&mk, "IPCON_C_SAMPLES_PROGRAMS")
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(|p| format!("samples/c/{p}.c"))
                        .collect()
                };
                for file in needed {
                    if !listing.contains(&format!("{top}/{file}")) {
                        problems.push(format!("{source} has no {file}"));
                    }
                }
            }
        }
        if problems.is_empty() {
            if let Err(e) = self.extracted_cargo_config(&out, &info) {
                problems.push(e);
            }
        }
        if problems.is_empty() {
            Ok(format!(
                "vendored archive with {crates} crates and libipcon, C samples archive, module \
                 archive, hashes checked, only the vendoring in the extracted .cargo/"
            ))
        } else {
            Err(problems.join("\n"))
        }
    }

    /// What cargo reads in the extracted sources (`make ipcon-extract`): one
    /// configuration file, the source replacement only; the workspace's own
    /// (rustflags for the project's static builds) must not reach the build.
    fn extracted_cargo_config(&self, out: &Path, info: &Value) -> Result<(), String> {
        let version = info["ipcon"]["version"].as_str().unwrap_or_default();
        let stamp = out.join("build").join(format!("ipcon-{version}"));
        let _ = fs::remove_dir_all(&stamp);
        self.make(out, &["ipcon-extract"])?;
        let dir = stamp.join(".cargo");
        // The files cargo reads by itself (the workspace's other files there
        // are only used through an explicit --config).
        let files: Vec<String> = fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name == "config" || name == "config.toml")
            .collect();
        let [only] = files.as_slice() else {
            return Err(format!(
                "the extracted .cargo/ holds {files:?}: cargo would read more than the \
                 source replacement"
            ));
        };
        let text = fs::read_to_string(dir.join(only)).map_err(|e| e.to_string())?;
        let configures = ["rustflags", "[target", "[build", "linker"];
        if let Some(word) = configures.iter().find(|w| text.contains(*w)) {
            return Err(format!(
                "the extracted .cargo/{only} configures the build ({word}):\n{text}"
            ));
        }
        Ok(())
    }

    /// ipcon's vendored archive: `VENDOR/` holds every crate of the
    /// archive's Cargo.lock, `.cargo/config.toml` is only the source
    /// replacement, and the programs the package installs are in it.
    fn judge_vendored(&self, archive: &Path) -> Result<usize, String> {
        let listing = tar_listing(archive)?;
        let top = listing
            .iter()
            .next()
            .and_then(|p| p.split('/').next())
            .ok_or("empty archive")?
            .to_owned();
        let file = |path: &str| tar_file(archive, &format!("{top}/{path}"));
        let lock = file("Cargo.lock")?;
        let mut problems = Vec::new();
        let vendored: BTreeSet<String> = listing
            .iter()
            .filter_map(|p| {
                p.strip_prefix(&format!("{top}/VENDOR/"))?
                    .strip_suffix("/Cargo.toml")
            })
            .filter(|p| !p.contains('/'))
            .map(str::to_owned)
            .collect();
        let locked = crates_inc::registry_packages(&lock)?;
        // cargo vendor names a crate's directory by name, adding the
        // version when several versions are locked.
        let missing: Vec<String> = locked
            .iter()
            .map(|(name, version)| (name.clone(), format!("{name}-{version}")))
            .filter(|(name, key)| !vendored.contains(name) && !vendored.contains(key))
            .map(|(_, key)| key)
            .collect();
        if !missing.is_empty() || vendored.len() != locked.len() {
            problems.push(format!(
                "VENDOR/ holds {} crates, Cargo.lock locks {}; missing {missing:?}",
                vendored.len(),
                locked.len()
            ));
        }
        // The download step writes the source replacement to .cargo/config
        // (2025.02) or over .cargo/config.toml (later versions).
        let written = if listing.contains(&format!("{top}/.cargo/config")) {
            file(".cargo/config")?
        } else {
            file(".cargo/config.toml")?
        };
        if !written.contains("directory = \"VENDOR\"") {
            problems.push("the download step wrote no cargo source replacement for VENDOR".into());
        }
        let mk = fs::read_to_string(self.external().join("package/ipcon/ipcon.mk"))
            .map_err(|e| e.to_string())?;
        let programs: Vec<String> = ["IPCON_TOOLS", "IPCON_SAMPLES"]
            .iter()
            .filter_map(|v| programs::make_value(&mk, v))
            .flat_map(|v| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        let bins = programs::programs_in_listing(&listing, &format!("{top}/samples/src/bin/"));
        for program in &programs {
            if !bins.contains(program) {
                problems.push(format!(
                    "ipcon.mk installs {program}, which the release does not build"
                ));
            }
        }
        for file in [
            "ipcon-c/install.sh",
            "ipcon-c/Cargo.toml",
            "ipcon-c/libipcon.map",
        ] {
            if !listing.contains(&format!("{top}/{file}")) {
                problems.push(format!(
                    "the release has no {file}: libipcon cannot be built"
                ));
            }
        }
        if problems.is_empty() {
            Ok(locked.len())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// legal-info for both packages: their licence files saved (checked
    /// against the .hash files), the sources saved with the crates, the
    /// manifest rows, and no warning about them.
    pub fn legal_info(&self) -> Outcome {
        let out = self.output(DOWNLOAD_DEFCONFIG);
        let info = self.show_info(DOWNLOAD_DEFCONFIG)?;
        let text = self.make(
            &out,
            &[
                "legal-info-clean",
                "legal-info-prepare",
                "ipcon-legal-info",
                "ipcon-c-samples-legal-info",
                "ipcon-kmod-legal-info",
            ],
        )?;
        let legal = out.join("legal-info");
        let manifest = fs::read_to_string(legal.join("manifest.csv")).unwrap_or_default();
        let warnings = fs::read_to_string(legal.join(".warnings")).unwrap_or_default();
        let mut problems = Vec::new();
        for line in text.lines().filter(|l| l.contains("No hash found")) {
            problems.push(format!("legal-info: {line}"));
        }
        for (package, _) in PACKAGES {
            let package = *package;
            let entry = &info[package];
            let version = entry["version"].as_str().unwrap_or_default();
            let source = entry["downloads"][0]["source"].as_str().unwrap_or_default();
            let name = format!("{package}-{version}");
            for warning in warnings
                .lines()
                .filter(|l| l.contains(&name) || l.contains(&format!(" {package}:")))
            {
                problems.push(format!("legal-info warns: {warning}"));
            }
            let row = format!("\"{package}\",\"{version}\",");
            match manifest.lines().find(|l| l.starts_with(&row)) {
                None => problems.push(format!("manifest.csv has no row for {package}")),
                Some(row) if !row.contains(&format!("\"{source}\"")) => {
                    problems.push(format!("manifest.csv does not name {source}: {row}"))
                }
                Some(_) => {}
            }
            for file in entry["license_files"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let file = file.as_str().unwrap_or_default();
                let saved = legal.join("licenses").join(&name).join(file);
                let original = self.root.join(file);
                if fs::read(&saved).ok() != fs::read(&original).ok() {
                    problems.push(format!("legal-info did not save {file} for {package}"));
                }
            }
            let saved = legal.join("sources").join(&name).join(source);
            if !saved.is_file() {
                problems.push(format!("legal-info did not save {source}"));
            } else if package == "ipcon" {
                let listing = tar_listing(&saved)?;
                if !listing.iter().any(|p| p.contains("/VENDOR/")) {
                    problems.push(format!("the saved {source} has no crates"));
                }
            }
        }
        if problems.is_empty() {
            Ok("licences saved and checked, sources saved with the crates, manifest rows".into())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// A working tree built with IPCON_OVERRIDE_SRCDIR (and
    /// IPCON_KMOD_OVERRIDE_SRCDIR) is not downloaded: Buildroot's rsync
    /// step copies it without what git ignores (`target/` alone holds
    /// gigabytes of build outputs), and the package vendors its crates
    /// itself before configuring (that hook needs the cross toolchain, which
    /// cannot be built here, so only its registration is checked).
    pub fn override_srcdir(&self) -> Outcome {
        let out = self.output(DOWNLOAD_DEFCONFIG);
        let build = out.join("build");
        for dir in ["ipcon-custom", "ipcon-kmod-custom"] {
            let _ = fs::remove_dir_all(build.join(dir));
        }
        let root = self.root.display();
        let text = self.make(
            &out,
            &[
                &format!("IPCON_OVERRIDE_SRCDIR={root}"),
                &format!("IPCON_KMOD_OVERRIDE_SRCDIR={root}"),
                "ipcon-rsync",
                "ipcon-kmod-rsync",
                "printvars",
                "VARS=IPCON_PRE_CONFIGURE_HOOKS IPCON_VERSION",
            ],
        )?;
        let mut problems = Vec::new();
        let hooks = text
            .lines()
            .find(|l| l.starts_with("IPCON_PRE_CONFIGURE_HOOKS="))
            .unwrap_or_default();
        if !hooks.contains("IPCON_VENDOR_CRATES") {
            problems.push(format!("the vendoring hook is not registered: {hooks}"));
        }
        if !text.lines().any(|l| l == "IPCON_VERSION=custom") {
            problems.push("IPCON_VERSION is not custom".to_owned());
        }
        for (dir, source) in [
            ("ipcon-custom", "Cargo.lock"),
            ("ipcon-kmod-custom", "kmod/Kbuild"),
        ] {
            let copy = build.join(dir);
            if !copy.join(source).is_file() {
                problems.push(format!("the rsync step did not copy {source} into {dir}"));
            }
            if copy.join("target").exists() {
                problems.push(format!("the rsync step copied target/ into {dir}"));
            }
        }
        if problems.is_empty() {
            Ok("working tree rsynced without what git ignores, vendoring hook registered".into())
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// A variable's value in `make printvars` output, whose multi-line values
/// (define blocks) run until the next printed variable.
fn printed_value(text: &str, names: &[&str], name: &str) -> String {
    let starts = |line: &str| {
        names
            .iter()
            .any(|n| line.strip_prefix(n).is_some_and(|r| r.starts_with('=')))
    };
    let mut lines = text
        .lines()
        .skip_while(|l| !l.strip_prefix(name).is_some_and(|r| r.starts_with('=')));
    let Some(first) = lines.next() else {
        return String::new();
    };
    let mut value = first[name.len() + 1..].to_owned();
    for line in lines.take_while(|l| !starts(l)) {
        value.push('\n');
        value.push_str(line);
    }
    value
}

fn tar_listing(archive: &Path) -> Result<BTreeSet<String>, String> {
    let text = process::output(Command::new("tar").arg("-tzf").arg(archive))
        .map_err(|e| format!("tar -tzf {}: {e}", archive.display()))?;
    Ok(text.lines().map(str::to_owned).collect())
}

fn tar_file(archive: &Path, path: &str) -> Result<String, String> {
    process::output(Command::new("tar").arg("-xzOf").arg(archive).arg(path))
        .map_err(|e| format!("{path} in {}: {e}", archive.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_values_span_define_blocks() {
        let text = "A_CMDS=\n\tone\n\ttwo\nA_CMDS_MORE=x\nB=YES\n";
        let names = ["A_CMDS", "A_CMDS_MORE", "B"];
        assert_eq!(printed_value(text, &names, "A_CMDS"), "\n\tone\n\ttwo");
        assert_eq!(printed_value(text, &names, "A_CMDS_MORE"), "x");
        assert_eq!(printed_value(text, &names, "B"), "YES");
        assert_eq!(printed_value(text, &names, "C"), "");
    }

    #[test]
    fn config_lines_keep_values_and_unset_options() {
        let text = "# comment\nBR2_A=y\n\n# BR2_B is not set\nBR2_C=\"x y\"\n";
        assert_eq!(
            config_lines(text),
            ["BR2_A=y", "# BR2_B is not set", "BR2_C=\"x y\""]
        );
        assert_eq!(config_value(text, "BR2_C"), Some("\"x y\""));
        assert_eq!(config_value(text, "BR2_A"), Some("y"));
        assert_eq!(config_value(text, "BR2_"), None);
    }
}
