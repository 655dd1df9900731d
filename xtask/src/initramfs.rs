//! The VM's root file system: static busybox, the init script, its
//! configuration, the command to run, the module and any extra files;
//! packed as gzip-compressed cpio "newc".
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cpio::Archive;
use crate::elf;

const INIT_SCRIPT: &str = include_str!("../vm/init.sh");
/// Where Debian's busybox packages put busybox (`busybox-static`'s is static).
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// The x86_64 guest's busybox, once `host_tools::ensure_static_busybox`
/// found or fetched one.
static CHOSEN_BUSYBOX: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Records the static busybox the x86_64 VM runs (the first call wins).
pub fn use_host_busybox(path: &Path) {
    let _ = CHOSEN_BUSYBOX.set(path.to_owned());
}

/// The static busybox of the x86_64 VM ([`HOST_BUSYBOX`] until another was
/// recorded).
pub fn host_busybox() -> PathBuf {
    CHOSEN_BUSYBOX
        .get()
        .cloned()
        .unwrap_or_else(|| PathBuf::from(HOST_BUSYBOX))
}

/// A host file copied into the VM.
#[derive(Clone, Debug)]
pub struct GuestFile {
    pub host: PathBuf,
    /// Absolute path inside the VM, e.g. "/bin/ipcon-e2e".
    pub guest: String,
    pub mode: u32,
}

impl GuestFile {
    /// An executable placed in the VM's `/bin` under its own file name.
    pub fn binary(host: &Path) -> Self {
        let name = host.file_name().unwrap_or_default().to_string_lossy();
        GuestFile {
            host: host.to_owned(),
            guest: format!("/bin/{name}"),
            mode: 0o755,
        }
    }
}

/// What the init script is told to do.
#[derive(Clone, Debug)]
pub struct InitConfig {
    pub nonce: String,
    /// Module to load before and unload after the command.
    pub module: Option<PathBuf>,
    pub module_params: String,
    /// Shell script text run by `sh` as the command.
    pub command: String,
    pub hung_task_secs: u32,
    /// Static busybox for the guest's architecture.
    pub busybox: PathBuf,
}

/// `insmod` takes a file; `rmmod` the module's name ("my-mod.ko" → "my_mod").
pub fn module_name(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .replace('-', "_")
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn config_script(config: &InitConfig) -> String {
    let (module, name) = match &config.module {
        Some(path) => (
            format!("/lib/modules/{}.ko", module_name(path)),
            module_name(path),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        "XTASK_NONCE={}\nXTASK_MODULE={}\nXTASK_MODULE_NAME={}\nXTASK_MODULE_PARAMS={}\n\
         XTASK_HUNG_TASK_SECS={}\n",
        shell_quote(&config.nonce),
        shell_quote(&module),
        shell_quote(&name),
        shell_quote(&config.module_params),
        config.hung_task_secs
    )
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Builds the archive; every executable must be static (the VM has no loader).
pub fn assemble(config: &InitConfig, files: &[GuestFile]) -> Result<Archive, String> {
    let mut archive = Archive::new();
    elf::require_static(&config.busybox)
        .map_err(|e| format!("{e} (the VM needs busybox-static's busybox)"))?;
    archive.file("bin/busybox", 0o755, read(&config.busybox)?);
    archive.symlink("bin/sh", "busybox");
    archive.symlink("sbin", "bin");
    archive.file("init", 0o755, INIT_SCRIPT.as_bytes().to_vec());
    archive.file("xtask/config", 0o644, config_script(config).into_bytes());
    archive.file("xtask/command", 0o644, config.command.clone().into_bytes());
    archive.char_device("dev/console", 5, 1);
    archive.char_device("dev/null", 1, 3);
    for dir in ["proc", "sys", "tmp", "run", "root", "lib/modules"] {
        archive.directory(dir);
    }
    // Named accounts for the unprivileged users the tests switch to.
    archive.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nipcon1:x:1000:1000::/tmp:/bin/sh\n\
          ipcon2:x:1001:1001::/tmp:/bin/sh\n"
            .to_vec(),
    );
    archive.file(
        "etc/group",
        0o644,
        b"root:x:0:\nipcon1:x:1000:\nipcon2:x:1001:\n".to_vec(),
    );
    if let Some(module) = &config.module {
        let guest = format!("lib/modules/{}.ko", module_name(module));
        archive.file(&guest, 0o644, read(module)?);
    }
    for file in files {
        let data = read(&file.host)?;
        if file.mode & 0o111 != 0 && data.starts_with(b"\x7fELF") {
            elf::require_static(&file.host)?;
        }
        archive.file(&file.guest, file.mode, data);
    }
    Ok(archive)
}

/// Writes `archive` gzip-compressed to `path` (through the system gzip).
pub fn write_gzip(archive: &Archive, path: &Path) -> Result<(), String> {
    let out = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut gzip = Command::new("gzip")
        .args(["-1", "-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(out)
        .spawn()
        .map_err(|e| format!("cannot start gzip: {e}"))?;
    let bytes = archive.to_bytes();
    let written = gzip.stdin.take().expect("stdin is piped").write_all(&bytes);
    let status = gzip.wait().map_err(|e| format!("gzip: {e}"))?;
    written.map_err(|e| format!("gzip: {e}"))?;
    if !status.success() {
        return Err(format!("gzip failed ({status})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_the_kernel() {
        assert_eq!(module_name(Path::new("/x/ipcon.ko")), "ipcon");
        assert_eq!(module_name(Path::new("selftest-oops.ko")), "selftest_oops");
    }

    #[test]
    fn config_is_quoted_for_the_shell() {
        let text = config_script(&InitConfig {
            nonce: "abc".into(),
            module: Some(PathBuf::from("/t/ipcon.ko")),
            module_params: "max_peers=2 x='y'".into(),
            command: String::new(),
            hung_task_secs: 20,
            busybox: host_busybox(),
        });
        assert!(text.contains("XTASK_MODULE='/lib/modules/ipcon.ko'\n"));
        assert!(text.contains("XTASK_MODULE_NAME='ipcon'\n"));
        assert!(text.contains(r"XTASK_MODULE_PARAMS='max_peers=2 x='\''y'\'''"));
        assert!(text.contains("XTASK_HUNG_TASK_SECS=20\n"));
    }
}
