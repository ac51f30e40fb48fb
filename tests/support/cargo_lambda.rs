//! `cargo lambda watch --only-lambda-apis` as the Runtime API, and `cargo lambda invoke`: how
//! Rust Lambda authors try a function locally. cargo-lambda comes from PyPI (./test.sh installs
//! it into .venv/); its server binds a free loopback port and stops when dropped.

use std::process::{Child, Command, Output, Stdio};

use super::moto::{repo_root, tool};
use super::net::{free_port, wait_for_port};

fn cargo_lambda() -> Command {
    let mut command = Command::new(tool("CARGO_LAMBDA", "cargo-lambda"));
    command.arg("lambda").current_dir(repo_root());
    command
}

pub struct Watch {
    pub port: u16,
    child: Child,
}

impl Watch {
    pub fn start() -> Self {
        let port = free_port();
        let child = cargo_lambda()
            .args(["watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo-lambda must be installed (./test.sh installs it into .venv/)");
        wait_for_port(port, "cargo lambda watch");
        Self { port, child }
    }

    /// What a function started under this server sets as AWS_LAMBDA_RUNTIME_API.
    pub fn runtime_api(&self) -> String {
        format!("http://127.0.0.1:{}/.rt", self.port)
    }

    /// `cargo lambda invoke` with `payload`, as the function named `_`.
    pub fn invoke(&self, payload: &serde_json::Value) -> Output {
        cargo_lambda()
            .args(["invoke", "-A", "127.0.0.1", "-P", &self.port.to_string(), "--output-format", "json"])
            .args(["--data-ascii", &payload.to_string(), "_"])
            .output()
            .unwrap()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
