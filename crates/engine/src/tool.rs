//! Out-of-process tools (OpenCASCADE's DRAW, Blender, OpenUSD's Python): one runner with a
//! time limit, an address-space cap and a log that never shows the private folder the tool
//! worked in. Out of process because real CAD and real scenes can blow up in time and memory;
//! a runaway tool must not take the worker down.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// What stands for the tool's private folder in logs and messages.
pub const PRIVATE_DIR: &str = "<work>";

/// One run of an external program.
#[derive(Debug, Clone)]
pub struct ToolRun {
    /// The executable (a name looked up on `PATH`, or a path).
    pub program: String,
    pub args: Vec<OsString>,
    /// The private working folder; its path is replaced by [`PRIVATE_DIR`] in the log.
    pub dir: PathBuf,
    pub time_limit: Duration,
    /// Address-space cap in MB (`ulimit -v`).
    pub memory_limit_mb: u64,
    /// Stops the tool (its whole process group) when cancelled: a cancelled node does not
    /// wait for a Blender render or a conversion to run to its time limit.
    pub cancel: Option<CancellationToken>,
}

/// A finished run (whatever its exit status: the caller judges it).
#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub status: ExitStatus,
    /// stdout then stderr, with the private folder's path replaced by [`PRIVATE_DIR`].
    pub log: String,
    /// stderr alone, redacted the same way (what a node's log shows).
    pub stderr: String,
}

impl ToolOutput {
    /// The last `max` bytes of the log on one line (` | ` between lines), for messages.
    pub fn log_tail(&self, max: usize) -> String {
        tail(&self.log, max)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The program is not installed (or not executable).
    #[error("`{program}` is not available: {detail}")]
    Unavailable { program: String, detail: String },
    #[error("`{program}` exceeded the {time_limit_s} s time limit and was stopped")]
    Timeout { program: String, time_limit_s: u64 },
    /// The run was cancelled; the tool was stopped.
    #[error("`{program}` was stopped: the run was cancelled")]
    Cancelled { program: String },
    /// The runner itself could not work (its folder, its log files).
    #[error("cannot run `{program}`: {detail}")]
    Io { program: String, detail: String },
}

impl ToolError {
    pub fn code(&self) -> &'static str {
        match self {
            ToolError::Unavailable { .. } => "tool_unavailable",
            ToolError::Timeout { .. } => "tool_timeout",
            ToolError::Cancelled { .. } => "cancelled",
            ToolError::Io { .. } => "tool_io",
        }
    }
}

/// Kills the process group `pid` leads (Blender and DRAW may have started helpers). Through
/// the shell's built-in `kill`: the runner needs `sh` anyway, while `/usr/bin/kill` (procps)
/// is missing from minimal images.
fn kill_group(pid: u32) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg("kill -s KILL -- \"-$1\"")
        .arg("sh")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Kills the tool's process group and lets the waiting thread reap it; bounded, so a kill
/// that could not run never hangs the node.
fn stop_group(pid: u32, exit: &std::sync::mpsc::Receiver<std::io::Result<ExitStatus>>) {
    kill_group(pid);
    let _ = exit.recv_timeout(Duration::from_secs(5));
}

/// `text` without terminal control sequences (`ESC [ … letter`): OpenCASCADE colours its
/// messages, and logs and error messages reach clients as plain text.
fn without_terminal_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // A CSI sequence ends with a byte in @..~; anything else after ESC is dropped with it.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A program's file name: what errors show of it. A configured path (`WORKFLOW_BLENDER`,
/// `WORKFLOW_USD_PYTHON`…) is the server's business, not its callers'.
pub fn program_name(program: &str) -> String {
    std::path::Path::new(program)
        .file_name()
        .map_or_else(|| program.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// The last `max` bytes of `text` (on a char boundary) on one line.
pub fn tail(text: &str, max: usize) -> String {
    let t = text.trim();
    let start = t.len().saturating_sub(max);
    let start = (start..=t.len())
        .find(|&i| t.is_char_boundary(i))
        .unwrap_or(t.len());
    t[start..].replace('\n', " | ")
}

/// Whether `program` can be started: a path to an executable file, or a name found on `PATH`
/// (what preflight asks before it promises a run).
pub fn program_available(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let executable = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| executable(&dir.join(program))))
        .unwrap_or(false)
}

impl ToolRun {
    /// `Unavailable`, naming the program by its file name, its path taken out of `detail`.
    fn unavailable(&self, detail: &str) -> ToolError {
        let program = program_name(&self.program);
        ToolError::Unavailable {
            detail: detail.replace(&self.program, &program),
            program,
        }
    }

    /// Runs the tool to completion or to its time limit. stdout and stderr go to files in
    /// `dir` (not pipes: a chatty tool cannot block on a full pipe).
    pub fn run(&self) -> Result<ToolOutput, ToolError> {
        let io = |e: std::io::Error| ToolError::Io {
            program: program_name(&self.program),
            detail: e
                .to_string()
                .replace(&self.dir.display().to_string(), PRIVATE_DIR),
        };
        let out_path = self.dir.join(".tool-stdout.txt");
        let err_path = self.dir.join(".tool-stderr.txt");
        let log_out = std::fs::File::create(&out_path).map_err(io)?;
        let log_err = std::fs::File::create(&err_path).map_err(io)?;
        // `ulimit -v` caps the address space without unsafe pre_exec; `exec` keeps one pid,
        // and its own process group lets a timeout stop whatever the tool started too.
        let limit_kb = self.memory_limit_mb.saturating_mul(1024);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("ulimit -v \"$1\" && shift && exec \"$@\"")
            .arg("sh")
            .arg(limit_kb.to_string())
            .arg(&self.program)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log_out)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(|e| self.unavailable(&format!("cannot start sh: {e}")))?;
        let deadline = Instant::now() + self.time_limit.max(Duration::from_millis(100));
        // A thread waits for the exit, so the runner hears of it at once (polling cost up to
        // a poll interval on every conversion) and still stops the tool at its deadline.
        let pid = child.id();
        let (exited, exit) = std::sync::mpsc::channel();
        let waiter = std::thread::Builder::new()
            .name("tool-wait".into())
            .spawn(move || {
                let _ = exited.send(child.wait());
            });
        if let Err(e) = waiter {
            // No thread to watch it: the tool must not run on unsupervised.
            kill_group(pid);
            return Err(io(e));
        }
        // The deadline and the cancel token are looked at this often while the tool runs (an
        // exit is heard at once whatever the interval).
        const CANCEL_CHECK: Duration = Duration::from_millis(50);
        let status = loop {
            let now = Instant::now();
            let cancelled = self.cancel.as_ref().is_some_and(|c| c.is_cancelled());
            if cancelled || now >= deadline {
                stop_group(pid, &exit);
                let program = program_name(&self.program);
                return Err(if cancelled {
                    ToolError::Cancelled { program }
                } else {
                    ToolError::Timeout {
                        program,
                        time_limit_s: self.time_limit.as_secs().max(1),
                    }
                });
            }
            match exit.recv_timeout((deadline - now).min(CANCEL_CHECK)) {
                Ok(waited) => break waited.map_err(io)?,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(io(std::io::Error::other("the waiting thread stopped")))
                }
            }
        };
        let private = self.dir.display().to_string();
        let read = |path: &Path| {
            without_terminal_codes(&std::fs::read_to_string(path).unwrap_or_default())
                .replace(&private, PRIVATE_DIR)
        };
        let (stdout, stderr) = (read(&out_path), read(&err_path));
        let log = format!("{}\n{stderr}", stdout.trim_end());
        // `sh` answers 127 when exec finds no such program, 126 when it cannot execute it.
        if matches!(status.code(), Some(126 | 127))
            && (stderr.contains("not found")
                || stderr.contains("No such file")
                || stderr.contains("Permission denied")
                || log.trim().is_empty())
        {
            return Err(self.unavailable(&tail(&stderr, 400)));
        }
        Ok(ToolOutput {
            status,
            log,
            stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, program: &str, args: &[&str], time_limit: Duration) -> ToolRun {
        ToolRun {
            program: program.to_owned(),
            args: args.iter().map(OsString::from).collect(),
            dir: dir.to_path_buf(),
            time_limit,
            memory_limit_mb: 1024,
            cancel: None,
        }
    }

    #[test]
    fn output_is_kept_and_the_private_folder_is_never_shown() {
        let dir = tempfile::tempdir().expect("tmp");
        let script = format!(
            "echo out {0}/x; echo err {0}/y >&2; exit 3",
            dir.path().display()
        );
        let out = run(dir.path(), "sh", &["-c", &script], Duration::from_secs(10))
            .run()
            .expect("runs");
        assert_eq!(out.status.code(), Some(3));
        assert!(out.log.contains("out <work>/x"), "{}", out.log);
        assert!(out.stderr.contains("err <work>/y"), "{}", out.stderr);
        assert!(!out.log.contains(&dir.path().display().to_string()));
        assert_eq!(out.log_tail(400), "out <work>/x | err <work>/y");
    }

    #[test]
    fn terminal_colours_are_taken_out_of_the_log() {
        let dir = tempfile::tempdir().expect("tmp");
        let out = run(
            dir.path(),
            "sh",
            &[
                "-c",
                "printf '\\033[31;1m**** ERR ****\\033[0m plain\\n' >&2",
            ],
            Duration::from_secs(10),
        )
        .run()
        .expect("runs");
        assert_eq!(out.stderr.trim(), "**** ERR **** plain");
        assert!(!out.log.contains('\u{1b}'), "{:?}", out.log);
    }

    #[test]
    fn a_missing_program_is_unavailable() {
        let dir = tempfile::tempdir().expect("tmp");
        let err = run(
            dir.path(),
            "/nonexistent/tool",
            &[],
            Duration::from_secs(10),
        )
        .run()
        .expect_err("missing");
        assert_eq!(err.code(), "tool_unavailable", "{err}");
        // Named by its file name: the configured path stays on the server.
        assert!(err.to_string().contains("`tool`"), "{err}");
        assert!(!err.to_string().contains("/nonexistent"), "{err}");
        assert!(!program_available("/nonexistent/tool"));
        assert!(!program_available("surely-no-such-program-here"));
        assert!(program_available("sh"));
    }

    #[test]
    fn the_time_limit_stops_the_tool_and_its_children() {
        let dir = tempfile::tempdir().expect("tmp");
        let started = Instant::now();
        let err = run(
            dir.path(),
            "sh",
            &["-c", "sleep 30 & echo $! > child.pid; sleep 30"],
            Duration::from_secs(1),
        )
        .run()
        .expect_err("times out");
        assert_eq!(err.code(), "tool_timeout", "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_child_gone(dir.path());
    }

    /// The background child the test tool wrote to `child.pid` went with the tool (its whole
    /// process group was killed).
    fn assert_child_gone(dir: &Path) {
        let pid = std::fs::read_to_string(dir.join("child.pid")).expect("child pid");
        let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
        let gone = (0..50).any(|_| {
            let alive = std::fs::read_to_string(proc_dir.join("stat"))
                .is_ok_and(|stat| !stat.contains(") Z "));
            if alive {
                std::thread::sleep(Duration::from_millis(20));
            }
            !alive
        });
        assert!(gone, "the tool's child {} outlived it", pid.trim());
    }

    #[test]
    fn a_cancel_stops_the_tool_and_its_children_at_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let cancel = CancellationToken::new();
        let mut tool = run(
            dir.path(),
            "sh",
            &["-c", "sleep 30 & echo $! > child.pid; sleep 30"],
            Duration::from_secs(60),
        );
        tool.cancel = Some(cancel.clone());
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            cancel.cancel();
            Instant::now()
        });
        let err = tool.run().expect_err("cancelled");
        let stopped = Instant::now();
        let cancelled_at = canceller.join().expect("canceller");
        assert_eq!(err.code(), "cancelled", "{err}");
        assert!(matches!(err, ToolError::Cancelled { ref program } if program == "sh"));
        assert!(
            stopped.duration_since(cancelled_at) < Duration::from_secs(2),
            "stopped {:?} after the cancel",
            stopped.duration_since(cancelled_at)
        );
        assert_child_gone(dir.path());
    }

    #[test]
    fn a_tool_with_a_cancel_token_that_never_fires_runs_to_its_end() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut tool = run(
            dir.path(),
            "sh",
            &["-c", "echo done"],
            Duration::from_secs(60),
        );
        tool.cancel = Some(CancellationToken::new());
        let out = tool.run().expect("runs");
        assert!(out.status.success());
        assert!(out.log.contains("done"), "{}", out.log);
    }

    #[test]
    fn the_memory_cap_applies() {
        let dir = tempfile::tempdir().expect("tmp");
        // The shell reports the cap it runs under, in KB.
        let out = run(
            dir.path(),
            "sh",
            &["-c", "ulimit -v"],
            Duration::from_secs(10),
        )
        .run()
        .expect("runs");
        assert_eq!(out.log.trim(), "1048576");
    }
}
