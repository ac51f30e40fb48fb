//! The Terraform module, planned against moto: terraform init once in a copy of terraform/, then
//! a plan per set of inputs, read back as JSON. Terraform's AWS provider comes from the local
//! filesystem mirror: the folder DDNS_TF_MIRROR names (test.sh looks for it once and sets it;
//! empty means none), or, when that is unset, found here the way tests/support/python-tools.sh
//! finds it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use super::moto::{Moto, repo_root};

pub struct Module {
    dir: PathBuf,
    rc: PathBuf,
    /// moto's endpoint and credentials.
    env: Vec<(String, String)>,
    /// Where the provider comes from, said when terraform fails.
    providers: String,
}

/// The folder that holds registry.terraform.io, if this machine has a provider mirror: looked
/// for once per test binary.
fn mirror() -> Option<&'static Path> {
    static MIRROR: OnceLock<Option<PathBuf>> = OnceLock::new();
    MIRROR.get_or_init(find_mirror).as_deref()
}

fn find_mirror() -> Option<PathBuf> {
    if let Some(m) = std::env::var_os("DDNS_TF_MIRROR") {
        return (!m.is_empty()).then(|| PathBuf::from(m));
    }
    let out = Command::new("find")
        .args([
            "/",
            "-xdev",
            "(",
            "-path",
            "/proc",
            "-o",
            "-name",
            ".terraform",
            "-o",
            "-name",
            ".git",
            "-o",
            "-name",
            "target",
            ")",
        ])
        .args(["-prune", "-o", "-type", "d", "-name", "registry.terraform.io", "-print", "-quit"])
        .output()
        .ok()?;
    let found = String::from_utf8_lossy(&out.stdout).lines().next().map(PathBuf::from)?;
    found.parent().map(Path::to_path_buf)
}

impl Module {
    /// A copy of terraform/ in a temporary folder, initialised, planning against `moto`.
    pub fn init(moto: &Moto) -> Self {
        let dir = std::env::temp_dir().join(format!("ddns-module-{}-{}", std::process::id(), moto.port));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let copy = Command::new("cp").arg("-R").arg(repo_root().join("terraform")).arg(&dir).status().unwrap();
        assert!(copy.success());
        let dir = dir.join("terraform");
        let rc = dir.join("terraformrc");
        let provider = match mirror() {
            Some(m) => {
                format!("provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n", m.display())
            }
            None => String::new(),
        };
        std::fs::write(&rc, format!("{provider}disable_checkpoint = true\n")).unwrap();
        let providers = match mirror() {
            Some(m) => format!("the mirror {}", m.display()),
            None => "the registry: no mirror in DDNS_TF_MIRROR or found with find / -xdev".to_string(),
        };
        let module = Self { dir, rc, env: moto.env(), providers };
        module.terraform(&["init", "-input=false", "-backend=false"]);
        module
    }

    fn terraform(&self, args: &[&str]) -> String {
        let out = Command::new("terraform")
            .arg(format!("-chdir={}", self.dir.display()))
            .args(args)
            .env("TF_CLI_CONFIG_FILE", &self.rc)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("terraform must be installed (1.11 or later), under ./test.sh --rust-only too");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "terraform {args:?} failed (providers from {}):\n{text}\n{}",
            self.providers,
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    /// The plan for `inputs` (the module's variables, as JSON), as `terraform show -json` gives it.
    pub fn plan(&self, inputs: &Value) -> Value {
        let mut inputs = inputs.clone();
        inputs["zip_path"] = repo_root().join("terraform/tests/fixtures/stand-in.zip").display().to_string().into();
        std::fs::write(self.dir.join("inputs.tfvars.json"), inputs.to_string()).unwrap();
        self.terraform(&["plan", "-input=false", "-var-file=inputs.tfvars.json", "-out=inputs.tfplan"]);
        serde_json::from_str(&self.terraform(&["show", "-json", "inputs.tfplan"])).unwrap()
    }

    /// The role's policy as the plan for `inputs` renders it.
    pub fn policy(&self, inputs: &Value) -> Value {
        let plan = self.plan(inputs);
        let policy = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "aws_iam_role_policy.this")
            .map(|r| r["change"]["after"]["policy"].as_str().unwrap().to_string())
            .expect("the plan has the role's policy");
        serde_json::from_str(&policy).unwrap()
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}
