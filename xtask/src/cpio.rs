//! The cpio "newc" archive format the kernel unpacks as initramfs. Written by
//! hand so the archive needs neither root (device nodes) nor a staging tree.
use std::collections::BTreeMap;

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Directory,
    File { mode: u32, data: Vec<u8> },
    Symlink { target: String },
    CharDevice { major: u32, minor: u32 },
}

/// An archive under construction; paths are relative ("bin/busybox").
/// Parent directories are added automatically.
#[derive(Debug, Default)]
pub struct Archive {
    entries: BTreeMap<String, Entry>,
}

impl Archive {
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, path: &str, entry: Entry) {
        let path = path.trim_matches('/');
        let mut parent = String::new();
        for component in path.split('/').take(path.split('/').count() - 1) {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(component);
            self.entries
                .entry(parent.clone())
                .or_insert(Entry::Directory);
        }
        self.entries.insert(path.to_owned(), entry);
    }

    pub fn directory(&mut self, path: &str) {
        self.insert(path, Entry::Directory);
    }

    /// A regular file; `mode` holds the permission bits (0o755, 0o644).
    pub fn file(&mut self, path: &str, mode: u32, data: Vec<u8>) {
        self.insert(path, Entry::File { mode, data });
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        let target = target.to_owned();
        self.insert(path, Entry::Symlink { target });
    }

    pub fn char_device(&mut self, path: &str, major: u32, minor: u32) {
        self.insert(path, Entry::CharDevice { major, minor });
    }

    /// The archive bytes, ending with the `TRAILER!!!` record.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (inode, (path, entry)) in self.entries.iter().enumerate() {
            let (mode, data, rdev): (u32, &[u8], (u32, u32)) = match entry {
                Entry::Directory => (S_IFDIR | 0o755, &[], (0, 0)),
                Entry::File { mode, data } => (S_IFREG | mode, data, (0, 0)),
                Entry::Symlink { target } => (S_IFLNK | 0o777, target.as_bytes(), (0, 0)),
                Entry::CharDevice { major, minor } => (S_IFCHR | 0o600, &[], (*major, *minor)),
            };
            let nlink = if matches!(entry, Entry::Directory) {
                2
            } else {
                1
            };
            write_record(&mut out, inode as u32 + 1, mode, nlink, rdev, path, data);
        }
        write_record(&mut out, 0, 0, 1, (0, 0), "TRAILER!!!", &[]);
        out
    }
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

fn write_record(
    out: &mut Vec<u8>,
    inode: u32,
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
    name: &str,
    data: &[u8],
) {
    let fields = [
        inode,
        mode,
        0, // uid: root
        0, // gid: root
        nlink,
        0, // mtime: fixed, so equal inputs give equal archives
        data.len() as u32,
        0, // device major of the archive's filesystem
        0,
        rdev.0,
        rdev.1,
        name.len() as u32 + 1,
        0, // checksum, unused by "newc"
    ];
    out.extend_from_slice(b"070701");
    for field in fields {
        out.extend_from_slice(format!("{field:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(record: &[u8], index: usize) -> u32 {
        let start = 6 + index * 8;
        u32::from_str_radix(std::str::from_utf8(&record[start..start + 8]).unwrap(), 16).unwrap()
    }

    #[test]
    fn parents_come_first_and_records_are_aligned() {
        let mut archive = Archive::new();
        archive.file("bin/tool", 0o755, b"abc".to_vec());
        let bytes = archive.to_bytes();
        // "bin" directory first: 110-byte header + "bin\0" = 114 → padded to 116.
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(field(&bytes, 1), S_IFDIR | 0o755);
        assert_eq!(&bytes[110..114], b"bin\0");
        let second = &bytes[116..];
        assert_eq!(field(second, 1), S_IFREG | 0o755);
        assert_eq!(field(second, 6), 3);
        assert_eq!(field(second, 11), "bin/tool".len() as u32 + 1);
        // header 110 + name 9 = 119 → 120, then "abc" padded to 4.
        assert_eq!(&second[120..124], b"abc\0");
        assert!(bytes.len() % 4 == 0);
        assert!(bytes
            .windows(b"TRAILER!!!".len())
            .any(|window| window == b"TRAILER!!!"));
    }

    #[test]
    fn the_system_cpio_reads_it_back() {
        let mut archive = Archive::new();
        archive.file("init", 0o755, b"#!/bin/sh\n".to_vec());
        archive.symlink("bin/sh", "busybox");
        archive.char_device("dev/console", 5, 1);
        let Ok(mut child) = std::process::Command::new("cpio")
            .args(["-t", "-v", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        else {
            eprintln!("cpio not installed; skipping");
            return;
        };
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&archive.to_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let listing = String::from_utf8(output.stdout).unwrap();
        assert!(output.status.success());
        assert!(listing.contains("bin/sh -> busybox"), "{listing}");
        assert!(listing.contains("crw-------"), "{listing}");
        assert!(listing.lines().any(|l| l.ends_with(" init")), "{listing}");
    }
}
