//! Timing, summary statistics, and child processes reaped with `wait4` for their peak RSS.

use std::ffi::OsString;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Median of `xs` (mean of the two middle values for an even count); `None` if empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// `a / b`, or `None` when either is unknown or `b` is not positive.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Throughput in MB/s (10^6 bytes per second).
pub fn mb_per_s(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// The repeated measurements of one contender.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    pub secs: Vec<f64>,
    pub cpu_secs: Vec<f64>,
    /// Peak resident set of the timed process, KiB (child processes only).
    pub max_rss_kib: Option<u64>,
}

impl Samples {
    pub fn push(&mut self, m: &Measured) {
        self.secs.push(m.time.as_secs_f64());
        self.cpu_secs.push(m.cpu.as_secs_f64());
        if let Some(rss) = m.max_rss_kib {
            self.max_rss_kib = Some(self.max_rss_kib.unwrap_or(0).max(rss));
        }
    }

    /// Median throughput over the runs for `bytes` of input.
    pub fn median_mbps(&self, bytes: u64) -> Option<f64> {
        median(&self.mbps(bytes))
    }

    pub fn mbps(&self, bytes: u64) -> Vec<f64> {
        self.secs.iter().map(|s| bytes as f64 / 1e6 / s).collect()
    }

    pub fn median_secs(&self) -> Option<f64> {
        median(&self.secs)
    }

    /// Median of CPU time over wall time: how many cores the contender kept busy.
    pub fn median_cores(&self) -> Option<f64> {
        let cores: Vec<f64> = self
            .secs
            .iter()
            .zip(&self.cpu_secs)
            .map(|(wall, cpu)| cpu / wall)
            .collect();
        median(&cores)
    }
}

/// One timed execution.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub time: Duration,
    /// User plus system CPU time.
    pub cpu: Duration,
    pub max_rss_kib: Option<u64>,
}

fn cpu_of(u: &libc::rusage) -> Duration {
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn self_usage() -> libc::rusage {
    // SAFETY: rusage is plain old data, filled in by getrusage.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a local.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u
}

/// Time an in-process closure (CPU time is this whole process's).
pub fn time<T>(f: impl FnOnce() -> Result<T>) -> Result<(Measured, T)> {
    let cpu0 = cpu_of(&self_usage());
    let start = Instant::now();
    let out = f()?;
    let m = Measured {
        time: start.elapsed(),
        cpu: cpu_of(&self_usage()).saturating_sub(cpu0),
        max_rss_kib: None,
    };
    Ok((m, out))
}

/// Run `cmd` to completion with stdout and stderr in files under `logs` (named by `tag`).
/// Fails, quoting the end of stderr, if the exit status is not 0. Returns the measurement
/// and the child's stdout.
///
/// The command is started through [`launch`] in a fresh copy of this program: a child's
/// `ru_maxrss` includes the peak RSS of the process that spawned it (Linux records the old
/// address space's high-water mark at exec), so the launcher, whose memory is tiny, spawns
/// it instead, and reports its time, CPU and peak RSS read from `wait4`.
pub fn run_child(cmd: &mut Command, logs: &Path, tag: &str) -> Result<(Measured, String)> {
    let out_path = logs.join(format!("{tag}.stdout"));
    let err_path = logs.join(format!("{tag}.stderr"));
    let report = logs.join(format!("{tag}.rusage"));
    let what = format!("{cmd:?}");
    let mut launcher = Command::new(std::env::current_exe()?);
    launcher
        .arg("launch")
        .arg(&report)
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => launcher.env(k, v),
            None => launcher.env_remove(k),
        };
    }
    let status = launcher
        .stdin(Stdio::null())
        .stdout(File::create(&out_path)?)
        .stderr(File::create(&err_path)?)
        .status()
        .with_context(|| format!("starting {what}"))?;
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let rusage = std::fs::read_to_string(&report).unwrap_or_default();
    let fields: Vec<u64> = rusage
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    if !status.success() || fields.len() != 4 || fields[0] != 0 {
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        bail!("{what} failed ({status}, wait status {rusage:?}):\n{tail}");
    }
    let m = Measured {
        time: Duration::from_nanos(fields[3]),
        cpu: Duration::from_micros(fields[2]),
        max_rss_kib: Some(fields[1]),
    };
    Ok((m, stdout))
}

/// The launcher's side of [`run_child`]: run `command` (inheriting stdio and environment),
/// reap it with `wait4`, and write "WAIT_STATUS MAXRSS_KIB CPU_MICROS WALL_NANOS" to `report`.
pub fn launch(report: &Path, command: &[OsString]) -> Result<()> {
    let (program, args) = command.split_first().context("no command to launch")?;
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .spawn()
        .with_context(|| format!("starting {program:?}"))?;
    let (status, usage) = wait4(child.id())?;
    let wall = start.elapsed();
    let cpu = cpu_of(&usage);
    std::fs::write(
        report,
        format!(
            "{status} {} {} {}\n",
            usage.ru_maxrss.max(0),
            cpu.as_micros(),
            wall.as_nanos()
        ),
    )?;
    Ok(())
}

/// Reap child `pid`, returning its wait status and resource usage.
fn wait4(pid: u32) -> Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 writes it and the status.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; pid is our own unreaped child.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if r == pid as libc::pid_t {
            return Ok((status, usage));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("wait4");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
    }

    #[test]
    fn ratio_guards_unknown_and_zero() {
        assert_eq!(ratio(Some(10.0), Some(4.0)), Some(2.5));
        assert_eq!(ratio(Some(10.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
        assert_eq!(ratio(Some(1.0), None), None);
    }

    #[test]
    fn samples_throughput() {
        let mut s = Samples::default();
        for (secs, rss) in [(2.0, 10), (1.0, 30), (4.0, 20)] {
            s.push(&Measured {
                time: Duration::from_secs_f64(secs),
                cpu: Duration::from_secs_f64(secs * 1.5),
                max_rss_kib: Some(rss),
            });
        }
        assert_eq!(s.median_cores(), Some(1.5));
        // 8 MB in 1, 2, 4 s: 8, 4, 2 MB/s.
        assert_eq!(s.median_mbps(8_000_000), Some(4.0));
        assert_eq!(s.median_secs(), Some(2.0));
        assert_eq!(s.max_rss_kib, Some(30));
        assert!((mb_per_s(3_000_000, Duration::from_secs(2)) - 1.5).abs() < 1e-12);
    }
}
