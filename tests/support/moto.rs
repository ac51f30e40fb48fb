//! moto in server mode on a loopback port of its own choosing, stopped when dropped, and plain SDK
//! clients for arranging and inspecting its state.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::Region;
use aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder;
use aws_sdk_ec2::types::{Filter, InstanceNetworkInterfaceSpecification, InstanceStateName, InstanceType};
use dynamic_dns_updater::clients::Clients;

use super::net::port_announced;

pub const AMI: &str = "ami-12c6146b";

/// The checkout under test. Read when the test runs (cargo sets it then too), so a test binary
/// that cargo reuses from a build made in another checkout, through a shared target directory,
/// still finds this checkout's files.
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

/// A test tool: the path in `$var` when set, else the repo's .venv/bin/`name` when there, else
/// `name` on PATH (./test.sh sets the variables).
pub fn tool(var: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return p.into();
    }
    let venv = repo_root().join(".venv/bin").join(name);
    if venv.exists() { venv } else { name.into() }
}

/// The Python that has moto: `$PYTHON` when set (./test.sh sets it), else the repo's .venv/
/// when moto is installed there (the deployment checks make a .venv/ for their own tools, which
/// may not hold moto), else `python3` on PATH.
fn moto_python() -> PathBuf {
    static FOUND: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("PYTHON") {
                return p.into();
            }
            let venv = repo_root().join(".venv/bin/python3");
            let has_moto = |python: &PathBuf| {
                Command::new(python)
                    .args(["-c", "import moto.server"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if venv.exists() && has_moto(&venv) { venv } else { "python3".into() }
        })
        .clone()
}

/// moto in server mode, on its own port, for one test.
pub struct Moto {
    pub port: u16,
    child: Child,
}

impl Moto {
    /// moto with Route53's rule for CREATE (tests/support/moto_route53.py), as every test wants.
    pub fn start() -> Self {
        let mut cmd = Command::new(moto_python());
        cmd.arg(repo_root().join("tests/support/moto_route53.py"));
        Self::spawn(cmd)
    }

    /// moto_server as released, for the test that pins where its Route53 differs.
    pub fn start_unpatched() -> Self {
        Self::spawn(Command::new(tool("MOTO_SERVER", "moto_server")))
    }

    /// Starts moto on port 0, so the system picks a free port, and takes the port it announces
    /// (" * Running on http://127.0.0.1:PORT"): no other process can be mistaken for it.
    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?} did not start ({e}); moto must be installed (./test.sh installs it)"));
        let stderr = child.stderr.take().unwrap();
        let port =
            port_announced(stderr, "Running on http://127.0.0.1:", Duration::from_secs(60)).unwrap_or_else(|seen| {
                let _ = child.kill();
                panic!("{cmd:?} announced no port:\n{seen}")
            });
        Self { port, child }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Environment for a process that should talk to this moto.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        sdk_at(&self.endpoint()).await
    }

    pub async fn aws(&self) -> Aws {
        self.aws_in("us-east-1").await
    }

    /// Arranging clients in another region (EC2 keeps regions apart; Route53 is global).
    pub async fn aws_in(&self, region: &str) -> Aws {
        // The test's own arranging and inspecting is not under test: it waits as long as a
        // loaded machine needs, where the function keeps its own short timeouts.
        let patient = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(std::time::Duration::from_secs(60))
            .operation_timeout(std::time::Duration::from_secs(120))
            .build();
        let sdk = sdk_in(&self.endpoint(), region).await.into_builder().timeout_config(patient).build();
        Aws {
            ec2: aws_sdk_ec2::Client::new(&sdk),
            r53: aws_sdk_route53::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
        }
    }

    /// The test's clients in another `account` and `region`, with the credentials of a role
    /// there assumed through STS, as moto hands them out.
    pub async fn aws_as(&self, account: &str, region: &str) -> Aws {
        let home = sdk_in(&self.endpoint(), region).await;
        let role = format!("arn:aws:iam::{account}:role/test-arranger");
        let out = aws_sdk_sts::Client::new(&home)
            .assume_role()
            .role_arn(role)
            .role_session_name("test")
            .send()
            .await
            .unwrap();
        let c = out.credentials().unwrap();
        let credentials = aws_sdk_ec2::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().into()),
            None,
            "assumed",
        );
        let patient = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(std::time::Duration::from_secs(60))
            .operation_timeout(std::time::Duration::from_secs(120))
            .build();
        let sdk = home.into_builder().timeout_config(patient).build();
        Aws {
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&sdk).credentials_provider(credentials.clone()).build(),
            ),
            r53: aws_sdk_route53::Client::from_conf(
                aws_sdk_route53::config::Builder::from(&sdk).credentials_provider(credentials.clone()).build(),
            ),
            ssm: aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(&sdk).credentials_provider(credentials).build(),
            ),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The function's own SDK settings (timeouts, retries), pointed at `endpoint` with test credentials.
pub async fn sdk_at(endpoint: &str) -> aws_config::SdkConfig {
    sdk_in(endpoint, "us-east-1").await
}

/// The same, in `region`.
pub async fn sdk_in(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    Clients::loader()
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// The tag the fleet tests name records with.
pub const TAG_KEY: &str = "ddns:name";

/// Plain SDK clients for arranging and inspecting moto's state.
pub struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub r53: aws_sdk_route53::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl Aws {
    pub async fn zone(&self, name: &str) -> String {
        let out = self
            .r53
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("{name}-{:?}", Instant::now()))
            .send()
            .await
            .unwrap();
        out.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string()
    }

    /// A private hosted zone for `name`, associated with a new VPC.
    pub async fn private_zone(&self, name: &str) -> String {
        let vpc = self.ec2.create_vpc().cidr_block("10.1.0.0/16").send().await.unwrap();
        let vpc = aws_sdk_route53::types::Vpc::builder()
            .vpc_id(vpc.vpc().unwrap().vpc_id().unwrap())
            .vpc_region(aws_sdk_route53::types::VpcRegion::UsEast1)
            .build();
        let config = aws_sdk_route53::types::HostedZoneConfig::builder().private_zone(true).build();
        let out = self
            .r53
            .create_hosted_zone()
            .name(name)
            .vpc(vpc)
            .hosted_zone_config(config)
            .caller_reference(format!("{name}-private-{:?}", Instant::now()))
            .send()
            .await
            .unwrap();
        out.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string()
    }

    pub async fn private_ip(&self, id: &str) -> Option<String> {
        let out = self.ec2.describe_instances().instance_ids(id).send().await.unwrap();
        out.reservations()[0].instances()[0].private_ip_address().map(str::to_string)
    }

    /// Tags instance `id` with `names` under TAG_KEY.
    pub async fn tag(&self, id: &str, names: &str) {
        let tag = aws_sdk_ec2::types::Tag::builder().key(TAG_KEY).value(names).build();
        self.ec2.create_tags().resources(id).tags(tag).send().await.unwrap();
    }

    /// Removes instance `id`'s TAG_KEY tag.
    pub async fn untag(&self, id: &str) {
        let tag = aws_sdk_ec2::types::Tag::builder().key(TAG_KEY).build();
        self.ec2.delete_tags().resources(id).tags(tag).send().await.unwrap();
    }

    pub async fn run_instance(&self) -> String {
        self.launch(|req| req).await.instance_id().unwrap().to_string()
    }

    /// Launches one instance, letting `shape` add to the request (a subnet, an interface).
    pub async fn launch(
        &self,
        shape: impl FnOnce(RunInstancesFluentBuilder) -> RunInstancesFluentBuilder,
    ) -> aws_sdk_ec2::types::Instance {
        let req = self.ec2.run_instances().image_id(AMI).instance_type(InstanceType::T3Micro).min_count(1).max_count(1);
        shape(req).send().await.unwrap().instances()[0].clone()
    }

    /// A VPC and subnet; with `ipv6`, both get Amazon-provided IPv6 blocks.
    pub async fn subnet(&self, ipv6: bool) -> String {
        let vpc =
            self.ec2.create_vpc().cidr_block("10.0.0.0/16").amazon_provided_ipv6_cidr_block(ipv6).send().await.unwrap();
        let vpc = vpc.vpc().unwrap();
        let mut req = self.ec2.create_subnet().vpc_id(vpc.vpc_id().unwrap()).cidr_block("10.0.1.0/24");
        if ipv6 {
            let block = vpc.ipv6_cidr_block_association_set()[0].ipv6_cidr_block().unwrap();
            req = req.ipv6_cidr_block(block.replace("::/56", "::/64"));
        }
        req.send().await.unwrap().subnet().unwrap().subnet_id().unwrap().to_string()
    }

    /// A running instance with a public IPv4 address and an IPv6 address on its primary
    /// interface; returns its id and the IPv6 address.
    pub async fn dual_stack_instance(&self) -> (String, String) {
        let subnet = self.subnet(true).await;
        let nic = InstanceNetworkInterfaceSpecification::builder()
            .device_index(0)
            .subnet_id(subnet)
            .associate_public_ip_address(true)
            .build();
        let inst = self.launch(|req| req.network_interfaces(nic)).await;
        // moto ignores an address count at launch, so assign one to the primary interface after.
        let eni = inst.network_interfaces()[0].network_interface_id().unwrap();
        let out =
            self.ec2.assign_ipv6_addresses().network_interface_id(eni).ipv6_address_count(1).send().await.unwrap();
        (inst.instance_id().unwrap().to_string(), out.assigned_ipv6_addresses()[0].clone())
    }

    pub async fn public_ip(&self, id: &str) -> Option<String> {
        let out = self.ec2.describe_instances().instance_ids(id).send().await.unwrap();
        out.reservations()[0].instances()[0].public_ip_address().map(str::to_string)
    }

    pub async fn state(&self, id: &str) -> InstanceStateName {
        let out = self
            .ec2
            .describe_instances()
            .filters(Filter::builder().name("instance-id").values(id).build())
            .send()
            .await
            .unwrap();
        out.reservations()[0].instances()[0].state().unwrap().name().unwrap().clone()
    }

    pub async fn stop(&self, id: &str) {
        self.ec2.stop_instances().instance_ids(id).send().await.unwrap();
    }

    pub async fn terminate(&self, id: &str) {
        self.ec2.terminate_instances().instance_ids(id).send().await.unwrap();
    }

    pub async fn start(&self, id: &str) {
        self.ec2.start_instances().instance_ids(id).send().await.unwrap();
    }

    /// Every record set in the zone, as (name, type, ttl, values).
    pub async fn records(&self, zone: &str) -> Vec<(String, String, i64, Vec<String>)> {
        let mut out = Vec::new();
        let mut next: Option<(String, String)> = None;
        loop {
            let mut req = self.r53.list_resource_record_sets().hosted_zone_id(zone);
            if let Some((name, rtype)) = next.take() {
                req = req.start_record_name(name).start_record_type(rtype.as_str().into());
            }
            let page = req.send().await.unwrap();
            out.extend(page.resource_record_sets().iter().map(|r| {
                let values = r.resource_records().iter().map(|v| v.value().to_string()).collect();
                (r.name().to_string(), r.r#type().as_str().to_string(), r.ttl().unwrap_or(0), values)
            }));
            match (page.is_truncated(), page.next_record_name(), page.next_record_type()) {
                (true, Some(n), Some(t)) => next = Some((n.to_string(), t.as_str().to_string())),
                _ => return out,
            }
        }
    }

    /// The values of one record, if it exists.
    pub async fn values(&self, zone: &str, name: &str, rtype: &str) -> Option<Vec<String>> {
        self.records(zone).await.into_iter().find(|r| r.0 == name && r.1 == rtype).map(|r| r.3)
    }

    /// Writes one record set (`action` is CREATE, UPSERT or DELETE); panics when refused.
    pub async fn put(&self, zone: &str, action: &str, name: &str, rtype: &str, ttl: i64, values: &[&str]) {
        let change = change(action, name, rtype, ttl, values);
        self.batch(zone, vec![change]).await.unwrap_or_else(|e| panic!("{action} {name} {rtype}: {e}"));
    }

    /// Sends `changes` as one change batch; Route53's refusal as its error text.
    pub async fn batch(&self, zone: &str, changes: Vec<aws_sdk_route53::types::Change>) -> Result<(), String> {
        use aws_sdk_route53::types::ChangeBatch;
        let batch = ChangeBatch::builder().set_changes(Some(changes)).build().unwrap();
        match self.r53.change_resource_record_sets().hosted_zone_id(zone).change_batch(batch).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(aws_smithy_types::error::display::DisplayErrorContext(e).to_string()),
        }
    }
}

/// One change of a change batch: `action` (CREATE, UPSERT or DELETE) of a record set.
pub fn change(action: &str, name: &str, rtype: &str, ttl: i64, values: &[&str]) -> aws_sdk_route53::types::Change {
    use aws_sdk_route53::types::*;
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(rtype))
        .ttl(ttl)
        .set_resource_records(Some(
            values.iter().map(|v| ResourceRecord::builder().value(*v).build().unwrap()).collect(),
        ))
        .build()
        .unwrap();
    Change::builder().action(ChangeAction::from(action)).resource_record_set(set).build().unwrap()
}
