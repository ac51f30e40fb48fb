//! `cargo lambda watch --only-lambda-apis` as the Runtime API, and `cargo lambda invoke`: how
//! Rust Lambda authors try a function locally. cargo-lambda comes from PyPI (./test.sh installs
//! it into .venv/); its server binds a free loopback port and stops when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use super::moto::repo_root;
use super::net::{free_port, wait_for_port};

/// The cargo-lambda to run: $CARGO_LAMBDA, then the repo's .venv, then PATH.
pub fn cargo_lambda_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CARGO_LAMBDA") {
        return p.into();
    }
    let venv = repo_root().join(".venv/bin/cargo-lambda");
    if venv.exists() { venv } else { "cargo-lambda".into() }
}

pub struct Watch {
    pub port: u16,
    child: Child,
}

impl Watch {
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new(cargo_lambda_bin())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(repo_root())
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
        let file = tempfile(payload);
        let out = Command::new(cargo_lambda_bin())
            .args(["lambda", "invoke", "-A", "127.0.0.1", "-P", &self.port.to_string(), "--output-format", "json"])
            .arg("--data-file")
            .arg(&file)
            .arg("_")
            .current_dir(repo_root())
            .output()
            .unwrap();
        let _ = std::fs::remove_file(file);
        out
    }
}

fn tempfile(payload: &serde_json::Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ddns-invoke-{}-{}.json", std::process::id(), free_port()));
    std::fs::write(&path, payload.to_string()).unwrap();
    path
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
