//! Telling a static executable from a dynamic one without `file`: a dynamic
//! ELF names its loader in a `PT_INTERP` program header. (An inherited
//! `RUSTFLAGS` silently drops `+crt-static`; the VM has no loader, so such a
//! binary would only fail there, with a confusing "not found".)
use std::path::Path;

const PT_INTERP: u32 = 3;

fn read_u16(bytes: &[u8], at: usize, little: bool) -> Option<u16> {
    let raw: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
    Some(if little {
        u16::from_le_bytes(raw)
    } else {
        u16::from_be_bytes(raw)
    })
}

fn read_u32(bytes: &[u8], at: usize, little: bool) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(if little {
        u32::from_le_bytes(raw)
    } else {
        u32::from_be_bytes(raw)
    })
}

fn read_u64(bytes: &[u8], at: usize, little: bool) -> Option<u64> {
    let raw: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(if little {
        u64::from_le_bytes(raw)
    } else {
        u64::from_be_bytes(raw)
    })
}

/// Whether `bytes` is an ELF file that needs no dynamic loader.
/// `Err` when it is not a (well-formed) ELF file at all.
pub fn is_static(bytes: &[u8]) -> Result<bool, String> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    let class64 = match bytes.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err("unknown ELF class".into()),
    };
    let little = bytes.get(5) == Some(&1);
    let truncated = || "truncated ELF header".to_string();
    let (phoff, phentsize, phnum) = if class64 {
        (
            read_u64(bytes, 0x20, little).ok_or_else(truncated)? as usize,
            read_u16(bytes, 0x36, little).ok_or_else(truncated)? as usize,
            read_u16(bytes, 0x38, little).ok_or_else(truncated)? as usize,
        )
    } else {
        (
            read_u32(bytes, 0x1c, little).ok_or_else(truncated)? as usize,
            read_u16(bytes, 0x2a, little).ok_or_else(truncated)? as usize,
            read_u16(bytes, 0x2c, little).ok_or_else(truncated)? as usize,
        )
    };
    for index in 0..phnum {
        let header = phoff + index * phentsize;
        let kind = read_u32(bytes, header, little).ok_or("truncated program headers")?;
        if kind == PT_INTERP {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Fails unless the file at `path` is a static ELF executable.
pub fn require_static(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match is_static(&bytes) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "{} is dynamically linked, but the VM has no dynamic loader to run it; \
             build it static (Rust: `--target x86_64-unknown-linux-musl`, with no \
             RUSTFLAGS set, as they replace the +crt-static of .cargo/config.toml; \
             C: `musl-gcc -static` or `gcc -static`)",
            path.display()
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_tools_are_classified() {
        // The test binary itself is dynamic on a -gnu host; the static busybox is not.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        if cfg!(target_env = "gnu") {
            assert_eq!(is_static(&me), Ok(false));
        }
        if let Ok(busybox) = std::fs::read("/bin/busybox") {
            let output = std::process::Command::new("file")
                .arg("-L")
                .arg("/bin/busybox")
                .output();
            if let Ok(output) = output {
                let text = String::from_utf8_lossy(&output.stdout);
                assert_eq!(is_static(&busybox), Ok(text.contains("statically linked")));
            }
        }
    }

    #[test]
    fn a_dynamic_program_is_refused_with_the_fix() {
        let me = std::env::current_exe().unwrap();
        if cfg!(target_env = "gnu") {
            let error = require_static(&me).unwrap_err();
            assert!(
                error.contains("is dynamically linked")
                    && error.contains("--target x86_64-unknown-linux-musl"),
                "{error}"
            );
        }
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(is_static(b"#!/bin/sh\n").is_err());
        assert!(is_static(b"\x7fELF\x02\x01").is_err());
    }
}
