//! Debian packages for other kernels and architectures, fetched without
//! touching the host: a private apt configuration (its own sources, lists
//! and cache under the target directory), `apt-get download` and
//! `dpkg-deb -x`. Nothing is installed and the host's dpkg architecture list
//! is never changed.
//!
//! Versions are always resolved from the meta-packages in the lists at run
//! time (`linux-image-amd64` → `linux-image-6.1.0-56-amd64`), never
//! hard-coded; unpacked trees are cached and reused (their `.deb`s are not
//! kept).
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process;

const MIRROR: &str = "http://deb.debian.org/debian";
const SECURITY: &str = "http://deb.debian.org/debian-security";
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// One private apt configuration: a set of suites for a set of architectures.
#[derive(Clone, Debug)]
pub struct PrivateApt {
    root: PathBuf,
    /// Debian architectures, the first one native (`amd64` for host tools).
    architectures: Vec<String>,
    /// `deb` lines (without the `[arch=... signed-by=...]` options).
    sources: Vec<String>,
}

impl PrivateApt {
    /// A configuration in `root` for `suites` of the main archive; suites
    /// ending in `-security` come from the security archive.
    pub fn new(root: PathBuf, architectures: &[&str], suites: &[&str]) -> Self {
        let sources = suites
            .iter()
            .map(|suite| {
                let archive = if suite.ends_with("-security") {
                    SECURITY
                } else {
                    MIRROR
                };
                format!("{archive} {suite} main")
            })
            .collect();
        PrivateApt {
            root,
            architectures: architectures.iter().map(|a| (*a).to_owned()).collect(),
            sources,
        }
    }

    fn sources_list(&self) -> String {
        let options = format!(
            "[arch={} signed-by={KEYRING}]",
            self.architectures.join(",")
        );
        self.sources
            .iter()
            .map(|source| format!("deb {options} {source}\n"))
            .collect()
    }

    /// `program` (apt-get, apt-cache) with every path apt would share with
    /// the host redirected into `root`.
    fn command(&self, program: &str) -> Command {
        let root = &self.root;
        let mut command = Command::new(program);
        for (name, path) in [
            ("Dir::State::Lists", root.join("lists")),
            ("Dir::Cache", root.join("cache")),
            ("Dir::Etc::sourcelist", root.join("sources.list")),
            ("Dir::Etc::sourceparts", root.join("sources.list.d")),
            // An empty dpkg status: the host's installed packages (its own
            // linux-image-amd64) must not become the candidates.
            ("Dir::State::status", root.join("status")),
        ] {
            command.arg("-o").arg(format!("{name}={}", path.display()));
        }
        command.args(["-o", "APT::Sandbox::User=root", "-q"]);
        command
            .arg("-o")
            .arg(format!("APT::Architecture={}", self.architectures[0]));
        for architecture in &self.architectures {
            command
                .arg("-o")
                .arg(format!("APT::Architectures::={architecture}"));
        }
        command
    }

    /// Writes the configuration and refreshes the lists at most once a day
    /// (a fresh clone fetches them, later runs stay offline).
    pub fn update(&self) -> Result<(), String> {
        let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
        for dir in [
            "lists/partial",
            "cache/archives/partial",
            "sources.list.d",
            "debs",
        ] {
            let path = self.root.join(dir);
            std::fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
        }
        let status = self.root.join("status");
        if !status.is_file() {
            std::fs::write(&status, b"").map_err(|e| io(&status, e))?;
        }
        let list = self.root.join("sources.list");
        let text = self.sources_list();
        let changed = std::fs::read_to_string(&list).ok().as_deref() != Some(text.as_str());
        if changed {
            std::fs::write(&list, &text).map_err(|e| io(&list, e))?;
        }
        let stamp = self.root.join("lists/.updated");
        let fresh = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|time| time.elapsed().ok())
            .is_some_and(|age| age.as_secs() < 24 * 3600);
        if fresh && !changed {
            return Ok(());
        }
        println!(
            "xtask: apt-get update (private lists in {})",
            self.root.display()
        );
        // A mirror being synced fails an index now and then: retry a few times.
        let mut last_error = String::new();
        for attempt in 0..3 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_secs(5));
            }
            match process::capture(self.command("apt-get").arg("update"), false) {
                Ok(output) if output.success => {
                    std::fs::write(&stamp, b"").map_err(|e| io(&stamp, e))?;
                    return Ok(());
                }
                Ok(output) => last_error = output.tail(5).join(" / "),
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(format!(
            "apt-get update (private lists) failed: {last_error}"
        ))
    }

    /// The `Depends` field of `package` (e.g. `linux-image-arm64:arm64`).
    pub fn depends(&self, package: &str) -> Result<String, String> {
        Ok(first_field(&self.show(package)?, "Depends").unwrap_or_default())
    }

    /// The candidate version of `package`.
    pub fn version(&self, package: &str) -> Result<String, String> {
        first_field(&self.show(package)?, "Version")
            .ok_or_else(|| format!("{package} has no version"))
    }

    /// The candidate's record (the lists may hold several versions).
    fn show(&self, package: &str) -> Result<String, String> {
        process::output(
            self.command("apt-cache")
                .args(["show", "--no-all-versions", package]),
        )
        .map_err(|e| format!("apt-cache show {package}: {e}"))
    }

    /// Every version of `package` the lists hold, newest first.
    pub fn versions(&self, package: &str) -> Result<Vec<String>, String> {
        let table = process::output(self.command("apt-cache").args(["madison", package]))
            .map_err(|e| format!("apt-cache madison {package}: {e}"))?;
        Ok(madison_versions(&table))
    }

    /// Downloads the candidate of `package` (`name[:arch]`) unless its
    /// `.deb` is cached; returns the `.deb`.
    pub fn download(&self, package: &str) -> Result<PathBuf, String> {
        let version = self.version(package)?;
        self.download_version(package, &version)
    }

    /// Downloads `version` of `package` (`name[:arch]`) unless its `.deb` is
    /// cached; returns the `.deb`.
    pub fn download_version(&self, package: &str, version: &str) -> Result<PathBuf, String> {
        let (name, architecture) = match package.split_once(':') {
            Some((name, architecture)) => (name, Some(architecture)),
            None => (package, None),
        };
        // apt names files `<name>_<version, ':' escaped>_<arch>.deb`.
        let prefix = format!("{name}_{}_", version.replace(':', "%3a"));
        let debs = self.root.join("debs");
        let find = || -> Option<PathBuf> {
            std::fs::read_dir(&debs).ok()?.flatten().find_map(|entry| {
                let file = entry.file_name().to_string_lossy().into_owned();
                let matches = file.starts_with(&prefix)
                    && file.ends_with(".deb")
                    && architecture.map_or(true, |a| {
                        file.ends_with(&format!("_{a}.deb")) || file.ends_with("_all.deb")
                    });
                matches.then(|| entry.path())
            })
        };
        if let Some(deb) = find() {
            return Ok(deb);
        }
        println!("xtask: apt-get download {package}={version}");
        let output = process::capture(
            self.command("apt-get")
                .arg("download")
                .arg(format!("{package}={version}"))
                .current_dir(&debs),
            false,
        )?;
        if !output.success {
            return Err(format!(
                "apt-get download {package} failed: {}",
                output.tail(5).join(" / ")
            ));
        }
        find().ok_or_else(|| format!("apt-get download {package} left no .deb"))
    }

    /// Unpacks `packages` side by side into `tree` once (a `.complete` stamp
    /// marks a finished tree; an interrupted one is redone). Only what a tree
    /// lacks is downloaded, and each `.deb` is removed once it is unpacked: a
    /// finished tree is all a later run reads, and the archives of a kernel
    /// alone take a quarter of a gigabyte. Returns whether it unpacked (the
    /// caller's fix-ups then end with [`PrivateApt::finish`]).
    pub fn unpack(&self, packages: &[Part], tree: &Path) -> Result<bool, String> {
        let stamp = tree.join(".complete");
        if stamp.is_file() {
            return Ok(false);
        }
        let debs = packages
            .iter()
            .map(|part| self.download(&part.package))
            .collect::<Result<Vec<_>, _>>()?;
        if tree.exists() {
            std::fs::remove_dir_all(tree).map_err(|e| format!("{}: {e}", tree.display()))?;
        }
        std::fs::create_dir_all(tree).map_err(|e| format!("{}: {e}", tree.display()))?;
        for (part, deb) in packages.iter().zip(&debs) {
            unpack_deb(deb, part.members, tree)?;
        }
        for deb in &debs {
            std::fs::remove_file(deb).map_err(|e| format!("{}: {e}", deb.display()))?;
        }
        Ok(true)
    }

    /// Marks `tree` finished (after any fix-ups the caller made).
    pub fn finish(tree: &Path) -> Result<(), String> {
        let stamp = tree.join(".complete");
        std::fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))
    }
}

/// A package to unpack, whole or only some of its members.
#[derive(Clone, Debug)]
pub struct Part {
    /// `name[:arch]`, its candidate version.
    pub package: String,
    /// The members to take (`./boot`: that directory and what is under
    /// it); empty takes the whole package.
    pub members: &'static [&'static str],
}

impl Part {
    pub fn whole(package: impl Into<String>) -> Part {
        Part {
            package: package.into(),
            members: &[],
        }
    }

    pub fn only(package: impl Into<String>, members: &'static [&'static str]) -> Part {
        Part {
            package: package.into(),
            members,
        }
    }
}

/// `dpkg-deb -x`, or for some members its data archive through `tar`.
fn unpack_deb(deb: &Path, members: &[&str], tree: &Path) -> Result<(), String> {
    if members.is_empty() {
        return process::run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(tree))
            .map_err(|e| format!("dpkg-deb -x {}: {e}", deb.display()));
    }
    println!(
        "$ dpkg-deb --fsys-tarfile {} | tar -x -C {} {}",
        deb.display(),
        tree.display(),
        members.join(" ")
    );
    let spawn_error = |e: std::io::Error| format!("dpkg-deb --fsys-tarfile {}: {e}", deb.display());
    let mut data = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let stdout = data.stdout.take().expect("piped");
    let extracted = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(tree)
        .args(members)
        .stdin(stdout)
        .status();
    let listed = data.wait().map_err(spawn_error)?;
    match extracted {
        Ok(status) if status.success() => {}
        Ok(status) => {
            return Err(format!(
                "tar -x {members:?} from {}: {status}",
                deb.display()
            ));
        }
        Err(e) => return Err(format!("tar: {e}")),
    }
    if !listed.success() {
        return Err(format!(
            "dpkg-deb --fsys-tarfile {}: {listed}",
            deb.display()
        ));
    }
    Ok(())
}

/// The first `Field: value` of an apt-cache record.
fn first_field(record: &str, field: &str) -> Option<String> {
    let prefix = format!("{field}: ");
    record
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .map(str::to_owned)
}

/// The versions of an `apt-cache madison` table (`name | version | source`).
fn madison_versions(table: &str) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for line in table.lines() {
        if let Some(version) = line.split('|').nth(1).map(str::trim) {
            if !version.is_empty() && !versions.iter().any(|v| v == version) {
                versions.push(version.to_owned());
            }
        }
    }
    versions
}

/// Package names of a `Depends` field (alternatives and versions dropped).
pub fn dependency_names(depends: &str) -> Vec<String> {
    depends
        .split([',', '|'])
        .filter_map(|alternative| alternative.split_whitespace().next())
        .map(|name| name.split(':').next().unwrap_or(name).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_of_a_package_is_all_that_is_unpacked() {
        let dir = std::env::temp_dir().join(format!("xtask-deb-{}", std::process::id()));
        let package = dir.join("package");
        for (path, text) in [
            ("DEBIAN/control", "Package: xtask-test\nVersion: 1\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: test\n"),
            ("boot/vmlinuz-test", "kernel"),
            ("lib/modules/test/kernel/big.ko", "module"),
        ] {
            let file = package.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
        }
        let deb = dir.join("test.deb");
        let built = Command::new("dpkg-deb")
            .args(["--root-owner-group", "-b"])
            .arg(&package)
            .arg(&deb)
            .output()
            .expect("dpkg-deb");
        assert!(built.status.success(), "{built:?}");
        let tree = dir.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        unpack_deb(&deb, &["./boot"], &tree).unwrap();
        assert_eq!(
            std::fs::read_to_string(tree.join("boot/vmlinuz-test")).unwrap(),
            "kernel"
        );
        assert!(!tree.join("lib").exists());
        let whole = dir.join("whole");
        std::fs::create_dir_all(&whole).unwrap();
        unpack_deb(&deb, &[], &whole).unwrap();
        assert!(whole.join("lib/modules/test/kernel/big.ko").is_file());
        // A member the package does not have fails, not an empty tree.
        let none = dir.join("none");
        std::fs::create_dir_all(&none).unwrap();
        let error = unpack_deb(&deb, &["./usr/src"], &none).unwrap_err();
        assert!(error.contains("./usr/src"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fields_and_dependencies_are_parsed() {
        let record = "Package: linux-headers-6.1.0-56-amd64\nVersion: 6.1.192-2\n\
                      Depends: linux-headers-6.1.0-56-common (= 6.1.192-2), \
                      linux-kbuild-6.1 (= 6.1.192-2), gcc-12 | gcc:arm64\n\
                      Package: other\nVersion: 1\n";
        assert_eq!(first_field(record, "Version").as_deref(), Some("6.1.192-2"));
        let depends = first_field(record, "Depends").unwrap();
        assert_eq!(
            dependency_names(&depends),
            [
                "linux-headers-6.1.0-56-common",
                "linux-kbuild-6.1",
                "gcc-12",
                "gcc"
            ]
        );
    }

    #[test]
    fn madison_lists_versions() {
        let table = " linux-source-7.3 | 7.3.4-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages\n\
                     \x20linux-source-7.3 | 7.3.2-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages\n";
        assert_eq!(
            madison_versions(table),
            ["7.3.4-1~bpo13+1", "7.3.2-1~bpo13+1"]
        );
    }

    #[test]
    fn sources_name_every_architecture() {
        let apt = PrivateApt::new(
            PathBuf::from("/t"),
            &["amd64", "arm64"],
            &["bookworm", "bookworm-security"],
        );
        let list = apt.sources_list();
        assert!(list.contains("[arch=amd64,arm64 signed-by="));
        assert!(list.contains("http://deb.debian.org/debian bookworm main\n"));
        assert!(list.contains("http://deb.debian.org/debian-security bookworm-security main\n"));
    }
}
