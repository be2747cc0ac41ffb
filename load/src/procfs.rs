//! Reading a process's resident memory and CPU time from Linux's `/proc`, for this process
//! or the server's (`--server-pid`).

use std::time::Instant;

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on every Linux
/// architecture a server runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// Which process: `None` is this one.
fn proc_path(pid: Option<u32>, file: &str) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/{file}"),
        None => format!("/proc/self/{file}"),
    }
}

/// The resident set size (`VmRSS`) in bytes.
pub fn rss_bytes(pid: Option<u32>) -> Result<u64, String> {
    let path = proc_path(pid, "status");
    let status = std::fs::read_to_string(&path).map_err(|error| format!("{path}: {error}"))?;
    parse_vm_rss(&status).ok_or_else(|| format!("{path} has no VmRSS line"))
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// User plus system CPU time in seconds.
pub fn cpu_seconds(pid: Option<u32>) -> Result<f64, String> {
    let path = proc_path(pid, "stat");
    let stat = std::fs::read_to_string(&path).map_err(|error| format!("{path}: {error}"))?;
    parse_cpu_seconds(&stat).ok_or_else(|| format!("{path} does not read as a stat line"))
}

fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are
    // plain numbers, utime and stime being the 14th and 15th of the line.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// This process's soft limit on open files, when `/proc/self/limits` tells it.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// CPU use of a process over an interval: take one at the start, [`CpuClock::percent`] at the
/// end.
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    pid: Option<u32>,
    cpu: f64,
    at: Instant,
}

impl CpuClock {
    pub fn start(pid: Option<u32>) -> Option<CpuClock> {
        Some(CpuClock { pid, cpu: cpu_seconds(pid).ok()?, at: Instant::now() })
    }

    /// Percent of one core used since the start (200 is both cores of a 2-core machine).
    pub fn percent(&self) -> Option<f64> {
        let cpu = cpu_seconds(self.pid).ok()? - self.cpu;
        let wall = self.at.elapsed().as_secs_f64();
        (wall > 0.0).then(|| 100.0 * cpu / wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_stat() {
        let status = "Name:\tsegue\nVmPeak:\t 9000 kB\nVmRSS:\t   41236 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(41236 * 1024));
        let stat = "4242 (segue (x) y) S 1 4242 4242 0 -1 4194560 9 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
    }

    #[test]
    fn reads_this_process() {
        assert!(rss_bytes(None).unwrap() > 0);
        assert!(cpu_seconds(None).unwrap() >= 0.0);
        assert!(open_files_limit().unwrap() > 0);
    }
}
