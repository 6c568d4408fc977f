// SPDX-License-Identifier: GPL-2.0

//! Memory notifier recorder: a test module that records every memory notifier event.
//!
//! It registers three memory notifiers, `high` (priority `i32::MAX`), `default` (0) and `low`
//! (`i32::MIN`), and appends every event each of them sees, with its payload and the value the
//! callback returned, to a log. A chosen notifier can be made to answer a chosen event with an
//! errno, `NOTIFY_BAD`, `NOTIFY_STOP`, `NOTIFY_DONE` or `NOTIFY_OK`.
//!
//! In debugfs, under `memory_notifier_recorder/`:
//!
//! - `log`: one line per callback invocation, oldest first:
//!   `<seq> <notifier> <event> start_pfn=<hex> nr_pages=<hex> <change> ret=<result>`, where
//!   `<change>` is `altmap_start_pfn=<hex> altmap_nr_pages=<hex>` for `MEM_PREPARE_ONLINE` and
//!   `MEM_FINISH_OFFLINE`, and `nid=<n> nid_normal=<n>` (-1 for none) for the other events.
//!   Writing anything clears the log and restarts the sequence numbers at 0.
//! - `inject`: the active injections, one `<notifier> <event> <result>` per line (by notifier,
//!   then by event value). Writing such a
//!   line adds or replaces the injection for that notifier and event; `<result>` is a negative
//!   errno (e.g. `-12`), `bad`, `stop`, `done` or `ok` (`ok` is the default answer and removes
//!   the injection). Writing `clear` removes all of them. Writing `leak` makes the module leak
//!   its notifiers and files when it is unloaded (`core::mem::forget`), as a buggy module would:
//!   the kernel crate removes them as the module goes, with a warning
//!   (`kernel::module_going`). Anything else fails with `EINVAL`.

use core::fmt::Write;
use kernel::{
    c_str,
    debugfs::{self, Dir, FileOps},
    memory::notifier::{Action, Change, MemoryNotifier, MemoryNotify, NotifyResult, Registration},
    prelude::*,
    seq_file::SeqFile,
    sync::{new_mutex, Arc, Mutex},
};

module! {
    type: Recorder,
    name: "memory_notifier_recorder",
    author: "Rust memory hotplug for Linux developers",
    description: "Records memory notifier events and injects notifier errors (test module)",
    license: "GPL",
}

/// The recording notifiers: name and priority.
const NOTIFIERS: [(&str, i32); 3] = [("high", i32::MAX), ("default", 0), ("low", i32::MIN)];

/// The log keeps at most this many entries; later events are counted as dropped.
///
/// The log is one `KVec`, whose capacity doubles up to this power of two: it must stay within
/// `KMALLOC_MAX_SIZE` (larger allocations fail with a WARN).
const MAX_ENTRIES: usize = 1 << 14;

/// `KMALLOC_MAX_SIZE`: the largest kmalloc, a `MAX_PAGE_ORDER` (10 by default) allocation.
const KMALLOC_MAX_SIZE: usize = kernel::page::PAGE_SIZE << 10;

const _: () = assert!(
    MAX_ENTRIES.is_power_of_two()
        && MAX_ENTRIES * core::mem::size_of::<Entry>() <= KMALLOC_MAX_SIZE
);

/// One callback invocation.
struct Entry {
    seq: u64,
    notifier: usize,
    action: Action,
    arg: MemoryNotify,
    ret: NotifyResult,
}

#[derive(Default)]
struct State {
    log: KVec<Entry>,
    next_seq: u64,
    dropped: u64,
    /// The answer of each notifier to each event (by C value), when not `NOTIFY_OK`.
    injections: [[Option<NotifyResult>; Action::ALL.len()]; NOTIFIERS.len()],
    /// Leak the registrations on unload (`leak`).
    leak: bool,
}

/// State shared by the notifiers and the debugfs files.
#[pin_data]
struct Shared {
    #[pin]
    state: Mutex<State>,
}

/// One of the recording notifiers.
struct Tap {
    shared: Arc<Shared>,
    notifier: usize,
}

impl MemoryNotifier for Tap {
    fn notify(&self, action: Action, arg: &MemoryNotify) -> NotifyResult {
        let mut state = self.shared.state.lock();
        let ret =
            state.injections[self.notifier][action.as_raw() as usize].unwrap_or(NotifyResult::Ok);
        let seq = state.next_seq;
        state.next_seq += 1;
        let entry = Entry {
            seq,
            notifier: self.notifier,
            action,
            arg: *arg,
            ret,
        };
        if state.log.len() >= MAX_ENTRIES || state.log.push(entry, GFP_KERNEL).is_err() {
            state.dropped += 1;
        }
        ret
    }
}

fn write_result(m: &mut SeqFile, result: NotifyResult) -> core::fmt::Result {
    match result {
        NotifyResult::Done => write!(m, "done"),
        NotifyResult::Ok => write!(m, "ok"),
        NotifyResult::Stop => write!(m, "stop"),
        NotifyResult::Bad => write!(m, "bad"),
        NotifyResult::Error(e) => write!(m, "{}", e.to_errno()),
    }
}

fn parse_result(word: &str) -> Result<NotifyResult> {
    Ok(match word {
        "done" => NotifyResult::Done,
        "ok" => NotifyResult::Ok,
        "stop" => NotifyResult::Stop,
        "bad" => NotifyResult::Bad,
        _ => {
            let errno: i32 = word.parse().map_err(|_| EINVAL)?;
            if !(-4095..=-1).contains(&errno) {
                return Err(EINVAL);
            }
            NotifyResult::Error(Error::from_errno(errno))
        }
    })
}

/// The `log` file.
struct LogFile(Arc<Shared>);

#[vtable]
impl FileOps for LogFile {
    fn show(&self, m: &mut SeqFile) -> Result {
        let state = self.0.state.lock();
        for e in state.log.iter() {
            let _ = write!(
                m,
                "{} {} {} start_pfn={:#x} nr_pages={:#x} ",
                e.seq,
                NOTIFIERS[e.notifier].0,
                e.action.name(),
                e.arg.start_pfn,
                e.arg.nr_pages
            );
            let _ = match e.arg.change {
                Change::Altmap {
                    start_pfn,
                    nr_pages,
                } => write!(
                    m,
                    "altmap_start_pfn={start_pfn:#x} altmap_nr_pages={nr_pages:#x}"
                ),
                Change::NodeStatus { nid, nid_normal } => write!(
                    m,
                    "nid={} nid_normal={}",
                    nid.unwrap_or(-1),
                    nid_normal.unwrap_or(-1)
                ),
            };
            let _ = write!(m, " ret=");
            let _ = write_result(m, e.ret);
            let _ = writeln!(m);
        }
        if state.dropped != 0 {
            let _ = writeln!(m, "dropped {}", state.dropped);
        }
        Ok(())
    }

    fn write(&self, _data: &[u8]) -> Result {
        let mut state = self.0.state.lock();
        state.log = KVec::new();
        state.next_seq = 0;
        state.dropped = 0;
        Ok(())
    }
}

/// The `inject` file.
struct InjectFile(Arc<Shared>);

#[vtable]
impl FileOps for InjectFile {
    fn show(&self, m: &mut SeqFile) -> Result {
        let state = self.0.state.lock();
        for (notifier, answers) in state.injections.iter().enumerate() {
            for (action, result) in Action::ALL.iter().zip(answers) {
                if let Some(result) = result {
                    let _ = write!(m, "{} {} ", NOTIFIERS[notifier].0, action.name());
                    let _ = write_result(m, *result);
                    let _ = writeln!(m);
                }
            }
        }
        Ok(())
    }

    fn write(&self, data: &[u8]) -> Result {
        let text = core::str::from_utf8(data).map_err(|_| EINVAL)?;
        let mut words = text.split_ascii_whitespace();
        let first = words.next().ok_or(EINVAL)?;
        let mut state = self.0.state.lock();
        if first == "clear" || first == "leak" {
            if words.next().is_some() {
                return Err(EINVAL);
            }
            if first == "leak" {
                state.leak = true;
            } else {
                state.injections = Default::default();
            }
            return Ok(());
        }
        let notifier = NOTIFIERS
            .iter()
            .position(|(name, _)| *name == first)
            .ok_or(EINVAL)?;
        let action = Action::from_name(words.next().ok_or(EINVAL)?.as_bytes()).ok_or(EINVAL)?;
        let result = parse_result(words.next().ok_or(EINVAL)?)?;
        if words.next().is_some() {
            return Err(EINVAL);
        }
        state.injections[notifier][action.as_raw() as usize] =
            (result != NotifyResult::Ok).then_some(result);
        Ok(())
    }
}

struct Recorder {
    // Unregistered first: no event is recorded once unloading has started.
    taps: KVec<Pin<KBox<Registration<Tap>>>>,
    files: Option<(debugfs::File<LogFile>, debugfs::File<InjectFile>)>,
    shared: Arc<Shared>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.shared.state.lock().leak {
            pr_warn!("leaking the notifiers and debugfs files as asked (`leak`)\n");
            core::mem::forget(core::mem::take(&mut self.taps));
            core::mem::forget(self.files.take());
        }
    }
}

impl kernel::Module for Recorder {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let shared = Arc::pin_init(
            pin_init!(Shared {
                state <- new_mutex!(State::default(), "memory_notifier_recorder::state"),
            }),
            GFP_KERNEL,
        )?;
        let dir = Dir::new(c_str!("memory_notifier_recorder"))?;
        let log = debugfs::File::new(
            &dir,
            c_str!("log"),
            0o600,
            Arc::new(LogFile(shared.clone()), GFP_KERNEL)?,
        )?;
        let inject = debugfs::File::new(
            &dir,
            c_str!("inject"),
            0o600,
            Arc::new(InjectFile(shared.clone()), GFP_KERNEL)?,
        )?;
        let mut taps = KVec::with_capacity(NOTIFIERS.len(), GFP_KERNEL)?;
        for (notifier, (_, priority)) in NOTIFIERS.iter().enumerate() {
            let tap = Tap {
                shared: shared.clone(),
                notifier,
            };
            taps.push(
                KBox::pin_init(Registration::new(tap, *priority), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Recorder {
            taps,
            files: Some((log, inject)),
            shared,
        })
    }
}
