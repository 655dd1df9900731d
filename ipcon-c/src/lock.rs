//! A mutex on a futex: what a handler's halves sit behind, so that one
//! thread receives while others send (no pthread, no std).
//!
//! The classic three-state lock: 0 free, 1 held, 2 held with waiters; an
//! unlock wakes one waiter only when there may be one. Panics abort (the
//! library is built with `panic = "abort"`), so there is no poisoning.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering};

use rustix::thread::futex;

const FREE: u32 = 0;
const HELD: u32 = 1;
const CONTENDED: u32 = 2;

/// A value behind a futex mutex.
#[derive(Debug)]
pub struct Lock<T> {
    state: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out the value to one thread at a time, so sharing
// the lock is as safe as sending the value.
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    /// A free lock around `value`.
    pub const fn new(value: T) -> Self {
        Self {
            state: AtomicU32::new(FREE),
            value: UnsafeCell::new(value),
        }
    }

    /// Waits until the lock is free and takes it.
    pub fn lock(&self) -> Guard<'_, T> {
        if self
            .state
            .compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Mark it contended; whoever unlocks wakes us.
            while self.state.swap(CONTENDED, Ordering::Acquire) != FREE {
                // EAGAIN (the state changed) and EINTR just mean: look again.
                let _ = futex::wait(&self.state, futex::Flags::PRIVATE, CONTENDED, None);
            }
        }
        Guard { lock: self }
    }
}

/// The held lock; unlocks on drop.
#[derive(Debug)]
pub struct Guard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard exists only while this thread holds the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        if self.lock.state.swap(FREE, Ordering::Release) == CONTENDED {
            let _ = futex::wake(&self.lock.state, futex::Flags::PRIVATE, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::sync::Arc;

    #[test]
    fn four_threads_count_without_losing_an_increment() {
        let lock = Arc::new(Lock::new(0u64));
        let threads: std::vec::Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        *lock.lock() += 1;
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(*lock.lock(), 80_000);
    }

    #[test]
    fn a_waiter_gets_the_lock_once_it_is_released() {
        let lock = Arc::new(Lock::new(false));
        let held = lock.lock();
        let waiter = {
            let lock = Arc::clone(&lock);
            std::thread::spawn(move || *lock.lock())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(held);
        *lock.lock() = true;
        // The waiter saw either value, but it did get the lock.
        let _ = waiter.join().unwrap();
        assert!(*lock.lock());
    }
}
