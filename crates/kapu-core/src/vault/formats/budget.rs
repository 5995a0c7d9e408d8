//! What reading one file may cost. A file chooses its own key derivations (how many, and
//! how dear each is) and the size of its pictures; each is charged against the file's budget
//! before it runs, so a file that would pass the budget is refused before most of its work
//! is done. Across requests, the memory of derivations and decoded pictures running at once
//! is capped by one gate: past it, a reader waits (a while) rather than buy more memory.
//! A reader whose client went away stops at its next charge.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::FileError;

/// The dearest single derivation a file may ask for, by kind; a cost is a share of it.
pub const MAX_KDF_MEMORY: u64 = 256 * 1024 * 1024;
pub const MAX_SCRYPT_WORK: u64 = 1 << 21;
pub const MAX_PBKDF2_ROUNDS: u64 = 2_000_000;
pub const MAX_ARGON2_WORK_MIB: u64 = 768;

/// One dearest derivation, in the budget's units.
const FULL: u64 = 1_000_000;
/// A file may cost three of the dearest derivations (a password slot or two, and a wrong
/// guess), about three seconds of one core.
const PER_FILE: u64 = 3 * FULL;
/// However cheap each step, no file is read for longer.
const PER_FILE_TIME: Duration = Duration::from_secs(20);
/// Memory of derivations and decoded pictures of all readers at once.
const GATE_BYTES: u64 = 320 * 1024 * 1024;

/// The work one file may still do, and whether its reader should stop.
pub struct Budget {
    left: Cell<u64>,
    deadline: Instant,
    cancelled: Arc<AtomicBool>,
}

/// Set when the request that reads a file goes away.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Budget {
    pub fn new(cancel: &Cancel) -> Budget {
        Budget {
            left: Cell::new(PER_FILE),
            deadline: Instant::now() + PER_FILE_TIME,
            cancelled: cancel.0.clone(),
        }
    }

    /// Whether the reader may go on at all.
    pub fn check(&self) -> Result<(), FileError> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(FileError("vault.import_cancelled"));
        }
        if Instant::now() > self.deadline {
            return Err(FileError("vault.import_too_slow"));
        }
        Ok(())
    }

    /// Charges `share` (of one dearest derivation, in millionths) before it runs.
    fn charge(&self, share: u64) -> Result<(), FileError> {
        self.check()?;
        let left = self
            .left
            .get()
            .checked_sub(share)
            .ok_or(FileError("vault.import_kdf_too_costly"))?;
        self.left.set(left);
        Ok(())
    }

    /// PBKDF2 of `rounds`.
    pub fn pbkdf2(&self, rounds: u64) -> Result<(), FileError> {
        if rounds == 0 || rounds > MAX_PBKDF2_ROUNDS {
            return Err(FileError("vault.import_kdf_too_costly"));
        }
        self.charge(share(rounds, MAX_PBKDF2_ROUNDS))
    }

    /// scrypt of `n · r · p` work and `128 · n · r` bytes; returns the memory to hold.
    pub fn scrypt(&self, n: u64, r: u64, p: u64) -> Result<u64, FileError> {
        let too_costly = FileError("vault.import_kdf_too_costly");
        let work = n
            .checked_mul(r)
            .and_then(|x| x.checked_mul(p))
            .ok_or(too_costly)?;
        let memory = n
            .checked_mul(r)
            .and_then(|x| x.checked_mul(128))
            .ok_or(too_costly)?;
        if work > MAX_SCRYPT_WORK || memory > MAX_KDF_MEMORY {
            return Err(too_costly);
        }
        self.charge(share(work, MAX_SCRYPT_WORK))?;
        Ok(memory)
    }

    /// Argon2 of `passes` over `mib` MiB; returns the memory to hold.
    pub fn argon2(&self, passes: u64, mib: u64, lanes: u64) -> Result<u64, FileError> {
        let too_costly = FileError("vault.import_kdf_too_costly");
        let memory = mib.checked_mul(1024 * 1024).ok_or(too_costly)?;
        let work = passes.checked_mul(mib).ok_or(too_costly)?;
        if passes == 0
            || mib == 0
            || lanes == 0
            || lanes > 16
            || memory > MAX_KDF_MEMORY
            || work > MAX_ARGON2_WORK_MIB
        {
            return Err(too_costly);
        }
        self.charge(share(work, MAX_ARGON2_WORK_MIB))?;
        Ok(memory)
    }
}

/// `part / whole` in millionths, never below one (every derivation costs something).
fn share(part: u64, whole: u64) -> u64 {
    (u128::from(part) * u128::from(FULL) / u128::from(whole.max(1))).clamp(1, u128::from(FULL))
        as u64
}

/// Memory held by readers of every request at once.
struct Gate {
    held: Mutex<u64>,
    freed: Condvar,
}

static GATE: Gate = Gate {
    held: Mutex::new(0),
    freed: Condvar::new(),
};

/// Memory held from the gate until dropped.
pub struct Held(u64);

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut held) = GATE.held.lock() {
            *held = held.saturating_sub(self.0);
        }
        GATE.freed.notify_all();
    }
}

/// Waits until `bytes` fit beside what other readers hold, while the budget lets it wait.
pub fn hold(budget: &Budget, bytes: u64) -> Result<Held, FileError> {
    let bytes = bytes.min(GATE_BYTES);
    let busy = FileError("vault.import_busy");
    let mut held = GATE.held.lock().map_err(|_| busy)?;
    loop {
        budget.check().map_err(|e| {
            if e.0 == "vault.import_too_slow" {
                busy
            } else {
                e
            }
        })?;
        if *held + bytes <= GATE_BYTES {
            *held += bytes;
            return Ok(Held(bytes));
        }
        held = GATE
            .freed
            .wait_timeout(held, Duration::from_millis(100))
            .map_err(|_| busy)?
            .0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_that_would_wrap_are_refused_before_anything_runs() {
        let budget = Budget::new(&Cancel::default());
        // 6148914691236517206 × 3 wraps a u64 to 2.
        assert_eq!(
            budget.argon2(6_148_914_691_236_517_206, 3, 1).unwrap_err(),
            FileError("vault.import_kdf_too_costly")
        );
        assert!(budget.argon2(3, u64::MAX / 2, 1).is_err());
        assert!(budget.scrypt(1 << 62, 8, 1).is_err());
        assert!(budget.pbkdf2(u64::MAX).is_err());
    }

    #[test]
    fn a_file_pays_for_three_dearest_derivations_and_no_more() {
        let budget = Budget::new(&Cancel::default());
        for _ in 0..3 {
            budget.scrypt(1 << 20, 2, 1).unwrap();
        }
        assert_eq!(
            budget.scrypt(1 << 20, 2, 1).unwrap_err(),
            FileError("vault.import_kdf_too_costly")
        );
        // Cheap ones add up the same way: 27,000 slots of a thousandth each do not fit.
        let budget = Budget::new(&Cancel::default());
        let paid = (0..27_000)
            .take_while(|_| budget.scrypt(1 << 11, 1, 1).is_ok())
            .count();
        assert!((2_000..27_000).contains(&paid), "{paid}");
    }

    #[test]
    fn a_cancelled_reader_stops_at_its_next_charge() {
        let cancel = Cancel::default();
        let budget = Budget::new(&cancel);
        budget.pbkdf2(10_000).unwrap();
        cancel.cancel();
        assert_eq!(
            budget.pbkdf2(10_000).unwrap_err(),
            FileError("vault.import_cancelled")
        );
    }

    #[test]
    fn the_gate_lets_no_more_memory_in_than_it_holds() {
        let budget = Budget::new(&Cancel::default());
        let a = hold(&budget, 200 * 1024 * 1024).unwrap();
        let cancel = Cancel::default();
        let waiting = Budget::new(&cancel);
        cancel.cancel();
        // A second large one would pass the gate: it waits, and stops when cancelled.
        assert_eq!(
            hold(&waiting, 200 * 1024 * 1024).err(),
            Some(FileError("vault.import_cancelled"))
        );
        drop(a);
        let _b = hold(&budget, 200 * 1024 * 1024).unwrap();
    }
}
