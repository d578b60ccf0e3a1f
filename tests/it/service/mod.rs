//! berth as a service, each way the repository ships it: the systemd units
//! (deploy/systemd/, their command lines run as systemd would, and `systemd-analyze`), and
//! the compose deployment of the images `make image` builds (deploy/compose.yaml).

mod compose;
mod systemd;
mod unit;

use std::process::Child;

/// A process the test started, killed when dropped (pass or fail).
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
