//! The disk a run takes. `cargo xtask test` unpacks kernels, toolchains and
//! build-system snapshots, so on a machine with little room a step can die of
//! a full disk in the middle of a tool's output. Here: the free space of the
//! filesystem the run writes to, sampled while the steps run (the lowest point
//! and the step it fell in are printed with the summary), and the removal of
//! scratch files and directories with their size.
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often [`Watch`] samples: often enough to see a toolchain unpacked
/// and removed again (that takes tens of seconds).
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Below this much free space at the run's lowest point, a failed step's
/// reason says the disk was nearly full (the usual cause of a tool failing
/// there).
pub const NEARLY_FULL: u64 = 512 << 20;

/// Bytes free for an unprivileged writer on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Bytes the files under `path` take on disk (symbolic links not followed).
pub fn size_of(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let own = meta.blocks() * 512;
    if !meta.is_dir() {
        return own;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    own + entries
        .flatten()
        .map(|entry| size_of(&entry.path()))
        .sum::<u64>()
}

/// Removes `path`: a file, a symbolic link (not what it points to) or a
/// directory with everything under it; the bytes that freed (0 when there
/// was nothing).
pub fn remove(path: &Path) -> Result<u64, String> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(0);
    };
    let size = size_of(path);
    let removed = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.map_err(|e| format!("remove {}: {e}", path.display()))?;
    Ok(size)
}

/// `1.2 GiB`, `340 MiB`.
pub fn human(bytes: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    let value = bytes as f64;
    if value >= GIB {
        format!("{:.1} GiB", value / GIB)
    } else {
        format!("{:.0} MiB", value / MIB)
    }
}

/// The lowest free space seen, and in which step.
#[derive(Debug)]
struct Lowest {
    free: u64,
    during: String,
}

#[derive(Debug)]
struct State {
    current: String,
    lowest: Lowest,
}

/// Free space sampled on a thread until [`Watch::finish`].
pub struct Watch {
    /// Free space when sampling started.
    start: u64,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<()>>,
    path: std::path::PathBuf,
}

impl Watch {
    /// Starts sampling the filesystem of `path`; `None` when it cannot be
    /// read (nothing is then reported).
    pub fn start(path: &Path) -> Option<Watch> {
        let start = free_bytes(path)?;
        let state = Arc::new(Mutex::new(State {
            current: "setup".into(),
            lowest: Lowest {
                free: start,
                during: "setup".into(),
            },
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (state, stop, path) = (state.clone(), stop.clone(), path.to_path_buf());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    sample(&state, &path);
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Some(Watch {
            start,
            state,
            stop,
            sampler: Some(sampler),
            path: path.to_path_buf(),
        })
    }

    /// Free space when sampling started.
    pub fn start_free(&self) -> u64 {
        self.start
    }

    /// From now on, samples count for step `name`.
    pub fn step(&self, name: &str) {
        sample(&self.state, &self.path);
        lock(&self.state).current = name.to_owned();
    }

    /// The lowest free space so far, and the step it fell in. A full disk
    /// can fail a later step too (a file cut short, a background job), so
    /// a failure is judged by the run's lowest point, not its step's.
    pub fn lowest(&self) -> (u64, String) {
        sample(&self.state, &self.path);
        let state = lock(&self.state);
        (state.lowest.free, state.lowest.during.clone())
    }

    /// Stops sampling; the line for the summary.
    pub fn finish(mut self) -> String {
        sample(&self.state, &self.path);
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
        let state = lock(&self.state);
        format!(
            "disk: {} free at the start, {} at the lowest (during {}): down by up to {}",
            human(self.start),
            human(state.lowest.free),
            state.lowest.during,
            human(self.start.saturating_sub(state.lowest.free)),
        )
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads the free space of `path` now and notes it.
fn sample(state: &Mutex<State>, path: &Path) {
    if let Some(free) = free_bytes(path) {
        note(state, free);
    }
}

fn note(state: &Mutex<State>, free: u64) {
    let mut state = lock(state);
    if free < state.lowest.free {
        state.lowest = Lowest {
            free,
            during: state.current.clone(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_what_is_under_a_directory() {
        let dir = std::env::temp_dir().join(format!("xtask-disk-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/file"), vec![1u8; 64 << 10]).unwrap();
        std::os::unix::fs::symlink("/usr", dir.join("link")).unwrap();
        let size = size_of(&dir);
        // The file's 64 KiB, the directories' blocks, not /usr's gigabytes.
        assert!((64 << 10..1 << 20).contains(&size), "{size}");
        // A link goes, not what it points to; then the tree.
        remove(&dir.join("link")).unwrap();
        assert!(!dir.join("link").exists() && Path::new("/usr/bin").is_dir());
        let tree = size_of(&dir);
        assert!(tree <= size && tree >= 64 << 10, "{tree}");
        assert_eq!(remove(&dir).unwrap(), tree);
        assert!(!dir.exists());
        assert_eq!(remove(&dir).unwrap(), 0);
    }

    #[test]
    fn the_lowest_point_names_its_step() {
        let watch = Watch::start(Path::new("/")).expect("statvfs /");
        watch.step("first");
        note(&watch.state, 1);
        watch.step("second");
        let line = watch.finish();
        assert!(line.contains("during first"), "{line}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(340 << 20), "340 MiB");
        assert_eq!(human(3 << 29), "1.5 GiB");
    }
}
