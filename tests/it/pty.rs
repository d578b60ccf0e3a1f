//! A pseudo-terminal for the tests that need berth to run on a terminal: `berth exec -it`
//! (raw mode, restored afterwards) and `NO_COLOR` (colours are only written to terminals).

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcgetattr, LocalModes};

/// A child process whose stdin, stdout and stderr are the slave side of a new terminal.
pub struct Pty {
    child: Child,
    master: std::fs::File,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    pub fn spawn(mut cmd: Command) -> Pty {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .expect("open the terminal's slave side");
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        let child = cmd.spawn().expect("start the command on the terminal");
        // The parent's copies of the slave side are closed with `cmd`.
        drop(cmd);
        let master = std::fs::File::from(master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with EIO once no process holds the slave side any more.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            master,
            output,
        }
    }

    /// Everything the command wrote so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Types `bytes` on the terminal.
    pub fn type_in(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Waits until the output contains `text`.
    pub fn wait_for_output(&self, text: &str) {
        crate::util::wait_for(&format!("{text:?} on the terminal"), || {
            let out = self.output();
            if out.contains(text) {
                Ok(())
            } else {
                Err(out)
            }
        });
    }

    /// Waits for the command to end (killing it after a generous deadline).
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the command did not end; it wrote:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the terminal is in its usual (cooked) mode: line editing and echo on.
    pub fn is_cooked(&self) -> bool {
        let t = tcgetattr(&self.master).unwrap();
        t.local_modes
            .contains(LocalModes::ICANON | LocalModes::ECHO)
    }

    /// Sends `signal` (e.g. `TERM`) to the command.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.kill();
    }
}
