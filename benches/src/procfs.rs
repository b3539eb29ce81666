//! Linux `/proc` and per-thread CPU clocks: which thread is the exporter, how much CPU it used,
//! and the process's peak resident memory.

use std::fs;

/// Thread ids of this process whose name (`comm`, at most 15 bytes) starts with `prefix`
/// (truncated to 15 bytes as the kernel does).
pub fn threads_named(prefix: &str) -> Vec<i32> {
    let prefix = &prefix.as_bytes()[..prefix.len().min(15)];
    let Ok(dir) = fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut out: Vec<i32> = dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|tid| {
            fs::read(format!("/proc/self/task/{tid}/comm"))
                .map(|c| c.strip_suffix(b"\n").unwrap_or(&c).starts_with(prefix))
                .unwrap_or(false)
        })
        .collect();
    out.sort_unstable();
    out
}

/// CPU time (user + system) of thread `tid` of this process, in nanoseconds.
///
/// Read from the thread's CPU clock (`clock_gettime` with the clock id the kernel derives from
/// a tid, nanosecond resolution); falls back to `/proc/self/task/<tid>/schedstat` (ns), then to
/// utime + stime of `/proc/self/task/<tid>/stat` (clock ticks).
pub fn thread_cpu_ns(tid: i32) -> Option<u64> {
    thread_clock_ns(tid)
        .or_else(|| schedstat_ns(tid))
        .or_else(|| stat_ns(tid))
}

fn thread_clock_ns(tid: i32) -> Option<u64> {
    // MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) from the kernel's posix-timers.h:
    // (~tid << 3) | CPUCLOCK_PERTHREAD_MASK (4) | CPUCLOCK_SCHED (2).
    let clock = ((!(tid as u32)) << 3 | 6) as libc::clockid_t;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; an invalid clock id only returns an error.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

fn schedstat_ns(tid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn stat_ns(tid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) in parentheses.
    let rest = &s[s.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after `) `.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(ticks * 1_000_000_000 / hz)
}

/// CPU time (user + system) of every thread of this process so far, in nanoseconds.
pub fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Context switches of thread `tid` (voluntary + involuntary): how often it went to sleep
/// or was preempted; for an exporter thread, about how often it woke up.
pub fn thread_switches(tid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        s.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?
            .trim()
            .parse()
            .ok()
    };
    Some(field("voluntary_ctxt_switches")? + field("nonvoluntary_ctxt_switches")?)
}

/// CPU time of the calling thread, in nanoseconds.
pub fn current_thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A `kB` field of `/proc/self/status` (e.g. `VmHWM`, `VmRSS`), in KiB.
pub fn status_kib(field: &str) -> Option<u64> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Peak resident set size of this process (`VmHWM`), in KiB.
pub fn vm_hwm_kib() -> Option<u64> {
    status_kib("VmHWM")
}

/// Current resident set size (`VmRSS`), in KiB.
pub fn vm_rss_kib() -> Option<u64> {
    status_kib("VmRSS")
}

/// Resets `VmHWM` to the current RSS (`echo 5 > /proc/self/clear_refs`); `false` if the kernel
/// refused (then `VmHWM` includes everything since the process started).
pub fn reset_hwm() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The machine, for the results: CPU model (from `/proc/cpuinfo`) and online CPUs.
pub fn machine() -> String {
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cpus} CPUs")
}
