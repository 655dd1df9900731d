//! Scheduling of the measured processes: the receivers' policy, and how
//! often a process waited (its voluntary context switches).
//!
//! On one CPU a receiver that blocks once per message costs two context
//! switches per message; one that drains a queue of many costs two per
//! batch. Reported next to the throughput, this tells which of the two a
//! measurement saw.
//!
//! Which of the two happens is the scheduler's choice, not the IPC's: under
//! `SCHED_OTHER` a receiver woken by a message has sleeper credit and
//! preempts its sender at the sender's next preemption point (the end of
//! the system call, or inside it: generic netlink allocates each request's
//! attribute table with `GFP_KERNEL`, a voluntary preemption point), so
//! even a batch of messages is interrupted after each one. A woken
//! `SCHED_BATCH` task never preempts the running one, so receivers of the
//! throughput shapes run `SCHED_BATCH`: the sender queues a burst and each
//! receiver drains it when the sender yields or blocks. Round trips keep
//! `SCHED_OTHER`: waking the other side at once is their latency.

use crate::error::{bail, Result};

/// The receivers' policy in the throughput shapes (unicast one-way and
/// fan-out, every implementation alike), as `PERF-INFO` names it.
pub const THROUGHPUT_RECEIVER_POLICY: &str = "SCHED_BATCH";

/// The policy of both sides of round trips.
pub const ROUND_TRIP_POLICY: &str = "SCHED_OTHER";

/// Moves the calling thread to `SCHED_BATCH` (priority 0, no privilege
/// needed). A process of a throughput shape calls it before its first
/// message, while it has no other thread.
pub fn become_batch() -> Result<()> {
    // The kernel's struct sched_param is one int, the priority (musl's
    // libc::sched_param adds fields the kernel never reads).
    let priority: libc::c_int = 0;
    // musl's sched_setscheduler() is a stub that fails with ENOSYS (POSIX
    // means the process, Linux sets one thread), so the system call is
    // made directly; pid 0 is the calling thread.
    // SAFETY: the third argument points to an initialised int that
    // outlives the call, which is all the kernel reads of it; the other
    // arguments are plain integers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_setscheduler,
            0 as libc::pid_t,
            libc::SCHED_BATCH,
            &priority as *const libc::c_int,
        )
    };
    if rc != 0 {
        bail!(
            "sched_setscheduler(SCHED_BATCH): {}",
            std::io::Error::last_os_error()
        );
    }
    if current_policy()? != libc::SCHED_BATCH {
        bail!("sched_setscheduler(SCHED_BATCH) succeeded, yet the policy is another");
    }
    Ok(())
}

/// The calling thread's scheduling policy (`libc::SCHED_*`).
pub fn current_policy() -> Result<i32> {
    // SAFETY: sched_getscheduler takes a pid (0: the calling thread) and
    // touches no memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_sched_getscheduler, 0 as libc::pid_t) };
    match i32::try_from(rc) {
        Ok(policy) if policy >= 0 => Ok(policy),
        _ => bail!("sched_getscheduler: {}", std::io::Error::last_os_error()),
    }
}

/// Voluntary context switches of this process so far (its threads'
/// blocking waits), from `getrusage`: one cheap system call, where reading
/// `/proc/self/status` costs about a millisecond in the emulated VM, and a
/// receiver counts them right after its last message, while the other
/// receivers still wait for the CPU to take theirs.
pub fn voluntary_switches() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one struct rusage to the pointer, which
    // points to a zeroed one of that type that outlives the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: the call succeeded, so the struct is initialised (and it
    // was zeroed before).
    let usage = unsafe { usage.assume_init() };
    u64::try_from(usage.ru_nvcsw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocking_wait_counts_as_a_voluntary_switch() {
        let before = voluntary_switches().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(voluntary_switches().unwrap() > before);
    }

    #[test]
    fn a_receiver_thread_becomes_sched_batch() {
        // A thread of its own: the policy is per thread, and the test
        // harness's other threads keep theirs.
        std::thread::spawn(|| {
            assert_eq!(current_policy().unwrap(), libc::SCHED_OTHER);
            become_batch().unwrap();
            assert_eq!(current_policy().unwrap(), libc::SCHED_BATCH);
        })
        .join()
        .unwrap();
        assert_eq!(current_policy().unwrap(), libc::SCHED_OTHER);
    }
}
