//! Running commands: announced, timed, with clear failures, and with test counts read from
//! their output.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Prints the command line, then runs it with inherited output.
pub(crate) fn status(command: &mut Command) -> Result<(), String> {
    announce(command);
    let started = Instant::now();
    let status = command.status().map_err(|error| spawn_error(command, &error))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status}) after {}", describe(command), elapsed(started)))
    }
}

/// Runs the command (printed first), its errors to the terminal; the lines of its standard
/// output that start with `RESULT `, without that word, joined by "; ".
pub(crate) fn output_lines(command: &mut Command) -> Result<String, String> {
    announce(command);
    let output =
        command.stderr(Stdio::inherit()).output().map_err(|error| spawn_error(command, &error))?;
    if !output.status.success() {
        return Err(format!("`{}` failed ({})", describe(command), output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let results: Vec<&str> = text.lines().filter_map(|line| line.strip_prefix("RESULT ")).collect();
    Ok(results.join("; "))
}

/// The first line of the command's standard output, if it runs and succeeds.
pub(crate) fn first_line(program: impl AsRef<OsStr>, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).stderr(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).lines().next().map(str::to_owned)
}

/// Test counts read from libtest-style summaries (`test result: ok. 3 passed; 0 failed; ...`),
/// which cargo test and wasm-bindgen-test-runner both print, and from TAP summaries
/// (`# pass 3`, `# fail 0`), which node's test runner prints.
///
/// Doc examples marked `no_run` are compiled, not run: libtest counts them as passed, so they
/// are taken out of `passed` and counted apart (`test … - compile ... ok`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) compiled_only: u64,
}

impl Counts {
    /// A test that passed and failed nothing.
    pub(crate) const ONE_PASSED: Self = Self { passed: 1, failed: 0, compiled_only: 0 };
    /// A step that failed.
    pub(crate) const ONE_FAILED: Self = Self { passed: 0, failed: 1, compiled_only: 0 };

    /// Once every line is read: the compiled-only examples out of `passed`.
    fn finish(mut self) -> Self {
        self.passed = self.passed.saturating_sub(self.compiled_only);
        self
    }

    fn add_summary_line(&mut self, line: &str) {
        if line.starts_with("test ") && line.ends_with(" - compile ... ok") {
            self.compiled_only += 1;
            return;
        }
        // node's test runner, TAP reporter: `# pass 3` and `# fail 0`.
        let line = line.trim();
        if let Some(count) = line.strip_prefix("# pass ").and_then(|n| n.parse::<u64>().ok()) {
            self.passed += count;
            return;
        }
        if let Some(count) = line.strip_prefix("# fail ").and_then(|n| n.parse::<u64>().ok()) {
            self.failed += count;
            return;
        }
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        let number_before = |word: &str| -> u64 {
            rest.split(';')
                .find_map(|part| {
                    part.trim().strip_suffix(word)?.trim().rsplit(' ').next()?.parse().ok()
                })
                .unwrap_or(0)
        };
        self.passed += number_before(" passed");
        self.failed += number_before(" failed");
    }
}

/// Runs the command with its output shown as it comes, and returns the test counts it printed
/// and whether it succeeded.
pub(crate) fn tests(command: &mut Command) -> Result<(Counts, bool), String> {
    announce(command);
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| spawn_error(command, &error))?;
    let (lines, received) = mpsc::channel::<String>();
    let readers = [
        echo_lines(child.stdout.take(), lines.clone(), false),
        echo_lines(child.stderr.take(), lines, true),
    ];
    let mut counts = Counts::default();
    for line in received {
        counts.add_summary_line(&line);
    }
    for reader in readers {
        let _ = reader.join();
    }
    let counts = counts.finish();
    let status = child
        .wait()
        .map_err(|error| format!("cannot wait for `{}`: {error}", describe(command)))?;
    println!("xtask: `{}` took {}", describe(command), elapsed(started));
    Ok((counts, status.success()))
}

fn echo_lines(
    stream: Option<impl Read + Send + 'static>,
    lines: mpsc::Sender<String>,
    to_stderr: bool,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let Some(stream) = stream else { return };
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
            let _ = lines.send(line);
        }
    })
}

/// A child process that is stopped (SIGTERM, then killed after a grace period) when dropped.
pub(crate) struct Background {
    name: String,
    child: Child,
}

impl Background {
    /// Starts `command` with its standard output piped, and waits (at most `wait`) for a line
    /// containing `marker`, which it returns. Later output is echoed.
    pub(crate) fn start(
        command: &mut Command,
        marker: &str,
        wait: Duration,
    ) -> Result<(Self, String), String> {
        announce(command);
        let name = describe(command);
        let mut child =
            command.stdout(Stdio::piped()).spawn().map_err(|error| spawn_error(command, &error))?;
        let stdout = child.stdout.take();
        let (found, receive) = mpsc::channel::<String>();
        let marker = marker.to_owned();
        thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{line}");
                let _ = std::io::stdout().flush();
                if line.contains(&marker)
                    && let Some(found) = found.take()
                {
                    let _ = found.send(line);
                }
            }
        });
        let mut background = Self { name, child };
        match receive.recv_timeout(wait) {
            Ok(line) => Ok((background, line)),
            Err(_) => {
                let exited = background.child.try_wait().ok().flatten();
                Err(match exited {
                    Some(status) => {
                        format!("`{}` exited ({status}) before it was ready", background.name)
                    }
                    None => {
                        format!("`{}` was not ready within {}", background.name, elapsed_of(wait))
                    }
                })
            }
        }
    }

    /// Starts `command` (its output goes where the xtask's goes), for a program that says
    /// nothing when it is ready: the caller waits for its own signal (a port, a file).
    pub(crate) fn spawn(command: &mut Command) -> Result<Self, String> {
        announce(command);
        let name = describe(command);
        let child = command.spawn().map_err(|error| spawn_error(command, &error))?;
        Ok(Self { name, child })
    }

    /// Asks the process to stop (SIGTERM) and waits up to 5 s before killing it.
    pub(crate) fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        let deadline = Instant::now() + Duration::from_secs(5);
        while terminated && Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        eprintln!("xtask: `{}` did not stop in time; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to exit; its exit status.
    pub(crate) fn terminate_and_wait(mut self, limit: Duration) -> Result<String, String> {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        if !sent.is_ok_and(|status| status.success()) {
            return Err(format!("cannot send SIGTERM to `{}`", self.name));
        }
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Ok(status.to_string());
            }
            thread::sleep(Duration::from_millis(5));
        }
        Err(format!("`{}` did not exit within {limit:?} of SIGTERM", self.name))
    }

    /// Waits for the process to end by itself.
    pub(crate) fn wait(mut self) -> Result<(), String> {
        let status = self
            .child
            .wait()
            .map_err(|error| format!("cannot wait for `{}`: {error}", self.name))?;
        if status.success() { Ok(()) } else { Err(format!("`{}` ended with {status}", self.name)) }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn announce(command: &Command) {
    println!("\nxtask: $ {}", describe(command));
    let _ = std::io::stdout().flush();
}

pub(crate) fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

fn spawn_error(command: &Command, error: &std::io::Error) -> String {
    format!("cannot run `{}`: {error}", describe(command))
}

pub(crate) fn elapsed(started: Instant) -> String {
    elapsed_of(started.elapsed())
}

fn elapsed_of(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_summaries() {
        let mut counts = Counts::default();
        counts.add_summary_line("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        counts.add_summary_line("test result: FAILED. 3 passed; 2 failed; 0 ignored");
        counts.add_summary_line("running 5 tests");
        counts.add_summary_line("test foo ... ok");
        counts.add_summary_line("# pass 3");
        counts.add_summary_line("# fail 1");
        counts.add_summary_line("# tests 4");
        assert_eq!(counts, Counts { passed: 18, failed: 3, compiled_only: 0 });
    }

    #[test]
    fn doc_examples_only_compiled_are_counted_apart() {
        let mut counts = Counts::default();
        counts.add_summary_line("test src/lib.rs - (line 28) - compile ... ok");
        counts.add_summary_line("test src/lib.rs - Thing (line 40) ... ok");
        counts.add_summary_line("test src/lib.rs - Other (line 50) - compile fail ... ok");
        counts.add_summary_line("test result: ok. 3 passed; 0 failed; 0 ignored");
        assert_eq!(counts.finish(), Counts { passed: 2, failed: 0, compiled_only: 1 });
    }
}
