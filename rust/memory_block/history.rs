// SPDX-License-Identifier: GPL-2.0

//! What the driver did, beyond what C tells: every online and offline of a memory block is
//! traced (`memory_block:memory_block_online`, `memory_block:memory_block_offline`), counted per
//! zone type (the zones of that type on all nodes together) with its duration
//! (`/sys/kernel/debug/memory_block/stats`), and, if it failed, logged with its reason
//! (`/sys/kernel/debug/memory_block/failures`).
//!
//! The reason of a failure is core mm's reason for failing `offline_pages()` and the memory
//! notifier callback that vetoed the operation, where there is one.

use core::fmt::Write;
use kernel::{
    c_str,
    error::Error,
    memory::{
        hotplug::{OnlineType, StateChangeFailure, Zone},
        notifier::Action,
        trace,
    },
    prelude::*,
    str::CStr,
    sync::Mutex,
    time::Ktime,
};

/// The number of recent failures kept.
const FAILURES_KEPT: usize = 64;

/// The bytes kept of a vetoing callback's symbol (`name [module]` as `%ps` prints it), with a
/// NUL: a Rust callback is the v0-mangled symbol of a generic trampoline, about 160 bytes with
/// its module.
const CALLBACK_NAME_KEPT: usize = 256;

/// The distinct errnos counted per zone type and operation; others count as `other`.
const ERRNOS_KEPT: usize = 6;

/// An online or an offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Online,
    Offline,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Online => "online",
            Op::Offline => "offline",
        }
    }
}

/// The callback that vetoed a logged failure: the event and the callback's symbol, looked up
/// when the failure was logged (its module may be gone when the log is read).
///
/// # Invariants
///
/// `name_len < CALLBACK_NAME_KEPT`.
struct LoggedVeto {
    action: Action,
    name: [u8; CALLBACK_NAME_KEPT],
    name_len: usize,
}

/// A failed online or offline, as the `failures` file shows it.
struct LoggedFailure {
    id: usize,
    op: Op,
    error: Error,
    core_mm: Option<&'static CStr>,
    veto: Option<LoggedVeto>,
}

impl LoggedFailure {
    /// Logs `failure`, looking up the name of the callback that vetoed it, if one did.
    fn new(id: usize, op: Op, failure: &StateChangeFailure) -> Self {
        let veto = failure.veto.map(|veto| {
            let mut name = [0; CALLBACK_NAME_KEPT];
            let name_len = veto.callback_name(&mut name).len();
            // INVARIANT: `callback_name()` leaves room for a NUL in `name`.
            LoggedVeto {
                action: veto.action,
                name,
                name_len,
            }
        });
        Self {
            id,
            op,
            error: failure.error,
            core_mm: failure.core_mm,
            veto,
        }
    }

    /// `memoryN online|offline ERRNO`, then `: ` and the reason where one is known: core mm's,
    /// the veto (`EVENT vetoed by SYMBOL`), or both (`notifier failure (EVENT vetoed by ...)`).
    fn show(&self, m: &mut impl Write) -> Result {
        write!(m, "memory{} {} ", self.id, self.op.name())?;
        write_errno(m, self.error)?;
        if let Some(reason) = self.core_mm {
            write!(m, ": {}", reason.to_str()?)?;
        }
        if let Some(veto) = &self.veto {
            let name = core::str::from_utf8(&veto.name[..veto.name_len]).unwrap_or("?");
            let (open, close) = if self.core_mm.is_some() {
                (" (", ")")
            } else {
                (": ", "")
            };
            write!(m, "{open}{} vetoed by {name}{close}", veto.action.name())?;
        }
        writeln!(m)?;
        Ok(())
    }
}

/// The counts of one operation in one zone type.
#[derive(Clone, Copy, Default)]
struct OpStats {
    ok: u64,
    failed: u64,
    total_ns: u64,
    max_ns: u64,
    /// Failures by errno (positive), in the order first seen.
    errnos: [(i32, u64); ERRNOS_KEPT],
    other_errnos: u64,
}

impl OpStats {
    fn add(&mut self, result: &Result<(), StateChangeFailure>, duration_ns: u64) {
        self.total_ns = self.total_ns.saturating_add(duration_ns);
        self.max_ns = self.max_ns.max(duration_ns);
        let Err(failure) = result else {
            self.ok += 1;
            return;
        };
        self.failed += 1;
        let errno = -failure.error.to_errno();
        match self.errnos.iter_mut().find(|(e, n)| *e == errno || *n == 0) {
            Some(slot) => *slot = (errno, slot.1 + 1),
            None => self.other_errnos += 1,
        }
    }

    /// `OK FAILED TOTAL_NS MAX_NS ERRNO:N,...` (`-` without failures).
    fn show(&self, m: &mut impl Write) -> Result {
        write!(
            m,
            "{} {} {} {} ",
            self.ok, self.failed, self.total_ns, self.max_ns
        )?;
        let mut sep = "";
        for &(errno, n) in self.errnos.iter().filter(|(_, n)| *n != 0) {
            write!(m, "{sep}")?;
            write_errno(m, Error::from_errno(-errno))?;
            write!(m, ":{n}")?;
            sep = ",";
        }
        if self.other_errnos != 0 {
            write!(m, "{sep}other:{}", self.other_errnos)?;
            sep = ",";
        }
        writeln!(m, "{}", if sep.is_empty() { "-" } else { "" })?;
        Ok(())
    }
}

/// The counts of a zone type.
#[derive(Clone, Copy, Default)]
struct ZoneStats {
    name: Option<&'static CStr>,
    online: OpStats,
    offline: OpStats,
}

/// The driver's history: counts per zone type, and the recent failures.
///
/// # Invariants
///
/// `zones` has `Zone::MAX_NR_ZONES + 1` entries (the last for operations that found no zone).
/// The failure numbered `n` (from 0, in the order logged) is `failures[n % FAILURES_KEPT]`
/// until failure `n + FAILURES_KEPT` replaces it; `failures` grows to `FAILURES_KEPT` entries
/// in its preallocated capacity.
pub(crate) struct History {
    zones: KVec<ZoneStats>,
    failures: KVec<LoggedFailure>,
    /// The number of failures logged since boot.
    logged: u64,
}

impl History {
    /// Allocates the history; its records do not allocate.
    pub(crate) fn new() -> Result<Self> {
        let mut zones = KVec::with_capacity(Zone::MAX_NR_ZONES + 1, GFP_KERNEL)?;
        for _ in 0..=Zone::MAX_NR_ZONES {
            zones.push(ZoneStats::default(), GFP_KERNEL)?;
        }
        // INVARIANT: One entry per zone type and one more; no failure yet.
        Ok(Self {
            zones,
            failures: KVec::with_capacity(FAILURES_KEPT, GFP_KERNEL)?,
            logged: 0,
        })
    }

    fn record(
        &mut self,
        op: Op,
        zone: Option<&'static Zone>,
        result: &Result<(), StateChangeFailure>,
        duration_ns: u64,
        logged: Option<LoggedFailure>,
    ) {
        let stats = &mut self.zones[zone.map_or(Zone::MAX_NR_ZONES, Zone::idx)];
        stats.name = Some(zone.map_or(c_str!("none"), Zone::name));
        match op {
            Op::Online => stats.online.add(result, duration_ns),
            Op::Offline => stats.offline.add(result, duration_ns),
        }
        let Some(logged) = logged else { return };
        let i = (self.logged % FAILURES_KEPT as u64) as usize;
        if i < self.failures.len() {
            self.failures[i] = logged;
        } else if self.failures.push(logged, GFP_KERNEL).is_err() {
            // Within the preallocated capacity: it does not allocate, so it cannot fail.
            return;
        }
        // INVARIANT: Failure number `logged` went to its slot.
        self.logged += 1;
    }

    /// Writes the kept failures, oldest first, one per line (see [`LoggedFailure::show`]).
    pub(crate) fn show_failures(&self, m: &mut impl Write) -> Result {
        let start = (self.logged % FAILURES_KEPT as u64) as usize % self.failures.len().max(1);
        let (newer, older) = self.failures.split_at(start);
        for logged in Iterator::chain(older.iter(), newer) {
            logged.show(m)?;
        }
        Ok(())
    }

    /// Writes the counts, one line per zone type and operation that has any.
    pub(crate) fn show_stats(&self, m: &mut impl Write) -> Result {
        writeln!(m, "zone op ok failed total_ns max_ns failures_by_errno")?;
        for zone in self.zones.iter() {
            let Some(name) = zone.name else { continue };
            for (op, stats) in [(Op::Online, &zone.online), (Op::Offline, &zone.offline)] {
                if stats.ok + stats.failed != 0 {
                    write!(m, "{} {} ", name.to_str()?, op.name())?;
                    stats.show(m)?;
                }
            }
        }
        writeln!(m, "failures_logged {}", self.logged)?;
        Ok(())
    }
}

/// Writes the name of `error` (`EBUSY`), or its negative number if it has none.
pub(crate) fn write_errno(m: &mut impl Write, error: Error) -> Result {
    match error.name() {
        Some(name) => write!(m, "{}", name.to_str()?)?,
        None => write!(m, "{}", error.to_errno())?,
    }
    Ok(())
}

/// Measures an online or an offline.
pub(crate) struct Timer(Ktime);

impl Timer {
    pub(crate) fn start() -> Self {
        Self(Ktime::ktime_get())
    }

    fn elapsed_ns(&self) -> u64 {
        (Ktime::ktime_get() - self.0).to_ns().max(0) as u64
    }
}

/// What is known of an online or an offline when it ends: the block's id and pfn range, the
/// zone it went to (or was in), and the result.
pub(crate) struct FinishedOp<'a> {
    pub(crate) id: usize,
    pub(crate) pfns: (usize, usize),
    pub(crate) zone: Option<&'static Zone>,
    pub(crate) result: &'a Result<(), StateChangeFailure>,
}

impl FinishedOp<'_> {
    /// Counts the operation and logs it if it failed.
    fn record(&self, history: &Mutex<History>, op: Op, duration_ns: u64) {
        // The vetoing callback's name is looked up before the lock is taken.
        let logged = self
            .result
            .as_ref()
            .err()
            .map(|f| LoggedFailure::new(self.id, op, f));
        history
            .lock()
            .record(op, self.zone, self.result, duration_ns, logged);
    }
}

/// Traces, counts and, on failure, logs an online requested as `online_type`.
// Not inlined into the online path: its frame (the failure log entry) must not sit under the
// notifier callbacks that `online_pages()` calls (`test_stack.py`).
#[inline(never)]
pub(crate) fn online_done(
    history: &Mutex<History>,
    timer: Timer,
    online_type: OnlineType,
    done: FinishedOp<'_>,
) {
    let duration_ns = timer.elapsed_ns();
    trace::memory_block_online(
        done.id,
        done.pfns,
        online_type,
        done.zone,
        (*done.result).map_err(Error::from),
        duration_ns,
    );
    done.record(history, Op::Online, duration_ns);
}

/// Traces, counts and, on failure, logs an offline.
// Not inlined into the offline path, as `online_done()`.
#[inline(never)]
pub(crate) fn offline_done(history: &Mutex<History>, timer: Timer, done: FinishedOp<'_>) {
    let duration_ns = timer.elapsed_ns();
    let reason = match done.result {
        Err(StateChangeFailure {
            core_mm: Some(reason),
            ..
        }) => reason,
        _ => c_str!(""),
    };
    trace::memory_block_offline(
        done.id,
        done.pfns,
        done.zone,
        (*done.result).map_err(Error::from),
        reason,
        duration_ns,
    );
    done.record(history, Op::Offline, duration_ns);
}

/// The `memory_block` KUnit suite: the failure log and the statistics, without a machine.
#[cfg(CONFIG_MEMORY_HOTPLUG_RUST_KUNIT_TEST)]
mod tests {
    use super::*;
    use kernel::kunit::suite::Test;

    /// The text of a `show_*` function.
    struct Text(KVec<u8>);

    impl Write for Text {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.0
                .extend_from_slice(s.as_bytes(), GFP_KERNEL)
                .map_err(|_| core::fmt::Error)
        }
    }

    fn text(show: impl FnOnce(&mut Text) -> Result) -> Result<KVec<u8>> {
        let mut t = Text(KVec::new());
        show(&mut t)?;
        Ok(t.0)
    }

    /// How the logs show an errno: its name with `CONFIG_SYMBOLIC_ERRNAME`, else its negative
    /// number (`Errno("EBUSY", -16)`).
    struct Errno(&'static str, i32);

    impl core::fmt::Display for Errno {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            if cfg!(CONFIG_SYMBOLIC_ERRNAME) {
                f.write_str(self.0)
            } else {
                write!(f, "{}", self.1)
            }
        }
    }

    /// The expected text `args`.
    fn want(args: core::fmt::Arguments<'_>) -> KVec<u8> {
        text(|t| Ok(t.write_fmt(args)?)).unwrap_or_default()
    }

    fn failure(error: Error) -> StateChangeFailure {
        StateChangeFailure {
            error,
            veto: None,
            core_mm: Some(c_str!("failure to isolate range")),
        }
    }

    fn record_failure(h: &mut History, id: usize, error: Error) {
        let result = Err(failure(error));
        let logged = LoggedFailure::new(id, Op::Offline, result.as_ref().unwrap_err());
        h.record(Op::Offline, None, &result, 1000, Some(logged));
    }

    fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
        bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty())
    }

    /// More failures than are kept: the oldest go first, the rest stay in order.
    fn failures_wrap_around(test: &Test) {
        let Ok(mut h) = History::new() else {
            test.expect(false, format_args!("History::new"));
            return;
        };
        let n = FAILURES_KEPT + 6;
        for id in 0..n {
            record_failure(&mut h, id, EBUSY);
        }
        let Ok(log) = text(|t| h.show_failures(t)) else {
            test.expect(false, format_args!("show_failures"));
            return;
        };
        let got: KVec<&[u8]> = lines(&log).fold(KVec::new(), |mut v, l| {
            let _ = v.push(l, GFP_KERNEL);
            v
        });
        test.expect_eq(got.len(), FAILURES_KEPT, format_args!("lines kept"));
        let busy = Errno("EBUSY", -16);
        let oldest = want(format_args!(
            "memory6 offline {busy}: failure to isolate range"
        ));
        let newest = want(format_args!(
            "memory69 offline {busy}: failure to isolate range"
        ));
        test.expect_eq(
            got.first().copied(),
            Some(&oldest[..]),
            format_args!("the oldest kept"),
        );
        test.expect_eq(
            got.last().copied(),
            Some(&newest[..]),
            format_args!("the newest"),
        );
        test.expect_eq(h.logged, n as u64, format_args!("failures logged"));
    }

    /// Failures are counted by errno, the first six distinct ones by name, the rest as other.
    fn stats_by_errno(test: &Test) {
        let Ok(mut h) = History::new() else {
            test.expect(false, format_args!("History::new"));
            return;
        };
        let ok: Result<(), StateChangeFailure> = Ok(());
        h.record(Op::Online, None, &ok, 500, None);
        h.record(Op::Online, None, &ok, 1500, None);
        for (i, e) in [
            EBUSY, EBUSY, ENOMEM, EINVAL, EPERM, EAGAIN, EINTR, ENODEV, EIO,
        ]
        .into_iter()
        .enumerate()
        {
            record_failure(&mut h, i, e);
        }
        let Ok(stats) = text(|t| h.show_stats(t)) else {
            test.expect(false, format_args!("show_stats"));
            return;
        };
        let expected = want(format_args!(
            "zone op ok failed total_ns max_ns failures_by_errno\n\
             none online 2 0 2000 1500 -\n\
             none offline 0 9 9000 1000 \
             {}:2,{}:1,{}:1,{}:1,{}:1,{}:1,other:2\n\
             failures_logged 9\n",
            Errno("EBUSY", -16),
            Errno("ENOMEM", -12),
            Errno("EINVAL", -22),
            Errno("EPERM", -1),
            Errno("EAGAIN", -11),
            Errno("EINTR", -4),
        ));
        let ok = test.expect(stats[..] == expected[..], format_args!("stats text"));
        if !ok {
            test.info(format_args!(
                "got: {}",
                core::str::from_utf8(&stats).unwrap_or("?")
            ));
        }
    }

    kernel::kunit_test_suite!("memory_block", [failures_wrap_around, stats_by_errno]);
}
