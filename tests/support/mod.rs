//! Shared test support: moto in server mode, a Lambda Runtime API and a webhook receiver, each on
//! a free loopback port and stopped when dropped.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use aws_config::Region;
use aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder;
use aws_sdk_ec2::types::{Filter, InstanceNetworkInterfaceSpecification, InstanceStateName, InstanceType};
use dynamic_dns_updater::config::Config;
use dynamic_dns_updater::edge::Clients;
use dynamic_dns_updater::handler::{self, App};
use dynamic_dns_updater::notify::Notifier;
use serde_json::Value;

pub const AMI: &str = "ami-12c6146b";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what} did not start on port {port}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// The checkout under test. Read when the test runs (cargo sets it then too), so a test binary
/// that cargo reuses from a build made in another checkout, through a shared target directory,
/// still finds this checkout's files.
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

/// The moto_server to run: $MOTO_SERVER, then the repo's .venv, then PATH.
pub fn moto_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MOTO_SERVER") {
        return p.into();
    }
    let venv = repo_root().join(".venv/bin/moto_server");
    if venv.exists() { venv } else { "moto_server".into() }
}

/// moto in server mode, on its own port, for one test.
pub struct Moto {
    pub port: u16,
    child: Child,
}

impl Moto {
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new(moto_server_bin())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server must be installed (./test.sh installs it)");
        wait_for_port(port, "moto_server");
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
        let sdk = self.sdk().await;
        Aws {
            ec2: aws_sdk_ec2::Client::new(&sdk),
            r53: aws_sdk_route53::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            sdk,
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
    Clients::loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// Plain SDK clients for arranging and inspecting moto's state.
pub struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub r53: aws_sdk_route53::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sdk: aws_config::SdkConfig,
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

    pub async fn put(&self, zone: &str, action: &str, name: &str, rtype: &str, ttl: i64, values: &[&str]) {
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
        let change = Change::builder().action(ChangeAction::from(action)).resource_record_set(set).build().unwrap();
        self.r53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
            .send()
            .await
            .unwrap();
    }
}

/// moto with a zone (example.com), a running instance, and DDNS_RECORDS mapping
/// app.example.com to that instance: the set-up most tests start from.
pub struct World {
    pub moto: Moto,
    pub aws: Aws,
    pub zone: String,
    pub id: String,
    pub records: String,
}

pub async fn world() -> World {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    let records = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    World { moto, aws, zone, id, records }
}

/// Builds the function's App against moto from DDNS_* variables, as main does.
pub async fn app(moto: &Moto, vars: &[(&str, &str)]) -> App {
    app_at(&moto.endpoint(), vars).await
}

/// Builds the function's App against any AWS endpoint (moto, or a fault proxy in front of it).
pub async fn app_at(endpoint: &str, vars: &[(&str, &str)]) -> App {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::from_lookup(|k| vars.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()))
        .expect("valid test config");
    let clients = Clients::from_sdk(sdk_at(endpoint).await);
    let notifier = match &config.webhook {
        Some(s) => Some(Notifier::from_settings(s, &clients.sdk).await.expect("webhook settings")),
        None => None,
    };
    let zones = match &config.discovery {
        Some(d) => dynamic_dns_updater::current::zone_names(&clients, &d.zones).await.expect("allowed zones"),
        None => Vec::new(),
    };
    App {
        config,
        clients,
        notifier,
        zones,
        function: Some("ddns-test".into()),
        region: Some("us-east-1".into()),
        emit_metrics: false,
        progress: Default::default(),
    }
}

/// Runs one event through the handler with a generous deadline.
pub async fn invoke(app: &App, event: &Value) -> Result<Value, handler::Error> {
    handler::handle(app, event, SystemTime::now() + Duration::from_secs(60), None).await
}

pub fn fixture(name: &str) -> Value {
    let path = repo_root().join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A state-change event for `instance` in `state`, shaped like the fixture.
pub fn state_change(instance: &str, state: &str) -> Value {
    let mut e = fixture("ec2-state-change-running.json");
    e["detail"]["instance-id"] = instance.into();
    e["detail"]["state"] = state.into();
    e
}

pub fn records_var(entries: &[(&str, &str, &str, &[&str])]) -> String {
    let list: Vec<Value> = entries
        .iter()
        .map(|(instance, zone, name, types)| serde_json::json!({"instance_id": instance, "zone_id": zone, "name": name, "types": types}))
        .collect();
    Value::Array(list).to_string()
}

/// What a webhook receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How the receiver answers: a status per request (the last one repeats), or never.
#[derive(Clone, Debug)]
pub enum Answer {
    Statuses(Vec<u16>),
    Never,
}

/// A real HTTP receiver for webhooks on loopback.
pub struct WebhookSink {
    pub port: u16,
    pub got: Arc<Mutex<Vec<Received>>>,
    server: Arc<tiny_http::Server>,
}

impl WebhookSink {
    pub fn start(answer: Answer) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let (s, g) = (server.clone(), got.clone());
        thread::spawn(move || {
            let mut statuses: VecDeque<u16> = match &answer {
                Answer::Statuses(v) => v.iter().copied().collect(),
                Answer::Never => VecDeque::new(),
            };
            let mut held = Vec::new();
            for mut req in s.incoming_requests() {
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                let headers = req.headers().iter().map(|h| (h.field.to_string(), h.value.to_string())).collect();
                g.lock().unwrap().push(Received { headers, body, at: Instant::now() });
                match &answer {
                    Answer::Never => held.push(req),
                    Answer::Statuses(_) => {
                        let status = if statuses.len() > 1 {
                            statuses.pop_front().unwrap()
                        } else {
                            statuses.front().copied().unwrap_or(200)
                        };
                        let _ = req.respond(tiny_http::Response::from_string("ok").with_status_code(status));
                    }
                }
            }
        });
        Self { port, got, server }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook/secret-path-token", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// A Lambda Runtime API on loopback: hands events to the function process and collects answers.
pub struct RuntimeApi {
    pub port: u16,
    events: Sender<(Value, u64)>,
    answers: Mutex<Receiver<Answered>>,
    server: Arc<tiny_http::Server>,
}

/// The function's answer to one event.
#[derive(Clone, Debug)]
pub enum Answered {
    Response(Value),
    Error(Value),
    InitError(Value),
}

impl RuntimeApi {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let (events_tx, events_rx) = channel::<(Value, u64)>();
        let (answers_tx, answers_rx) = channel();
        let s = server.clone();
        thread::spawn(move || {
            let mut n = 0u32;
            for mut req in s.incoming_requests() {
                let url = req.url().to_string();
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
                if url.ends_with("/invocation/next") {
                    let Ok((event, deadline_ms)) = events_rx.recv() else {
                        return;
                    };
                    n += 1;
                    let headers = [
                        ("Lambda-Runtime-Aws-Request-Id", format!("req-{n}")),
                        ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:ddns-test".into(),
                        ),
                        ("Lambda-Runtime-Trace-Id", format!("Root=1-00000000-{n:024}")),
                        ("Content-Type", "application/json".into()),
                    ];
                    let mut resp = tiny_http::Response::from_string(event.to_string());
                    for (k, v) in headers {
                        resp.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
                    }
                    let _ = req.respond(resp);
                } else {
                    let answered = if url.ends_with("/response") {
                        Answered::Response(parsed)
                    } else if url.contains("/init/error") {
                        Answered::InitError(parsed)
                    } else {
                        Answered::Error(parsed)
                    };
                    let _ = answers_tx.send(answered);
                    let _ = req.respond(tiny_http::Response::from_string("{}").with_status_code(202));
                }
            }
        });
        Self { port, events: events_tx, answers: Mutex::new(answers_rx), server }
    }

    /// Hands one event to the function with `timeout` until its deadline, and waits for its answer.
    pub fn invoke(&self, event: &Value, timeout: Duration) -> Answered {
        let deadline = SystemTime::now() + timeout;
        let ms = deadline.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64;
        self.events.send((event.clone(), ms)).unwrap();
        self.answers.lock().unwrap().recv_timeout(timeout + Duration::from_secs(30)).expect("the function answered")
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// The function binary, started as Lambda starts it.
pub struct Function {
    pub child: Child,
    pub log: Arc<Mutex<String>>,
}

impl Function {
    pub fn start(runtime: &RuntimeApi, env: &[(String, String)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dynamic-dns-updater"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", runtime.port))
            .env("AWS_LAMBDA_FUNCTION_NAME", "ddns-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ddns-test")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    log.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Self { child, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for the process to exit by itself (start-up failures).
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(status) = self.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(100));
                return Some(status);
            }
            thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fault to inject in place of (or before) moto's answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and an AWS error of this code, in the service's own format.
    Error { status: u16, code: &'static str },
    /// Wait this long, then forward.
    Delay(Duration),
}

/// Which calls a fault hits, and how many times.
pub struct Rule {
    pub call: Call,
    pub fault: Fault,
    pub times: usize,
}

/// The calls the function makes, recognised from the raw request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    DescribeInstances,
    ListRecords,
    ChangeRecords,
    /// A ChangeResourceRecordSets whose body mentions this text.
    ChangeMentioning(&'static str),
}

impl Call {
    fn classify(method: &str, url: &str, body: &str) -> Vec<Call> {
        let mut calls = Vec::new();
        if body.contains("Action=DescribeInstances") {
            calls.push(Call::DescribeInstances);
        }
        if url.contains("/rrset") && method == "GET" {
            calls.push(Call::ListRecords);
        }
        if url.contains("/rrset") && method == "POST" {
            calls.push(Call::ChangeRecords);
        }
        calls
    }

    fn matches(&self, method: &str, url: &str, body: &str) -> bool {
        match self {
            Call::ChangeMentioning(text) => url.contains("/rrset") && method == "POST" && body.contains(text),
            other => Call::classify(method, url, body).contains(other),
        }
    }
}

/// Each call that reached the proxy, with the status of the fault it got, if any.
pub type CallLog = Vec<(Call, Option<u16>)>;

/// An HTTP proxy in front of moto that answers chosen calls with faults, and logs every call.
pub struct FaultProxy {
    pub port: u16,
    rules: Arc<Mutex<Vec<Rule>>>,
    pub log: Arc<Mutex<CallLog>>,
    server: Arc<tiny_http::Server>,
}

impl FaultProxy {
    pub fn start(upstream: u16, rules: Vec<Rule>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let rules = Arc::new(Mutex::new(rules));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, r, l) = (server.clone(), rules.clone(), log.clone());
        thread::spawn(move || {
            for req in s.incoming_requests() {
                let (r, l) = (r.clone(), l.clone());
                thread::spawn(move || proxy_one(req, upstream, &r, &l));
            }
        });
        Self { port, rules, log, server }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many times `call` reached the proxy, and how many of those were faulted.
    pub fn count(&self, call: Call) -> (usize, usize) {
        let log = self.log.lock().unwrap();
        let all = log.iter().filter(|(c, _)| *c == call).count();
        let faulted = log.iter().filter(|(c, f)| *c == call && f.is_some()).count();
        (all, faulted)
    }

    pub fn add(&self, rule: Rule) {
        self.rules.lock().unwrap().push(rule);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn proxy_one(
    mut req: tiny_http::Request,
    upstream: u16,
    rules: &Mutex<Vec<Rule>>,
    log: &Mutex<Vec<(Call, Option<u16>)>>,
) {
    use std::io::Write;
    let mut body = Vec::new();
    let _ = req.as_reader().read_to_end(&mut body);
    let method = req.method().to_string();
    let url = req.url().to_string();
    let text = String::from_utf8_lossy(&body).to_string();
    let fault = {
        let mut rules = rules.lock().unwrap();
        rules.iter_mut().find(|rule| rule.times > 0 && rule.call.matches(&method, &url, &text)).map(|rule| {
            rule.times -= 1;
            rule.fault.clone()
        })
    };
    {
        let mut log = log.lock().unwrap();
        for call in Call::classify(&method, &url, &text) {
            let status = match &fault {
                Some(Fault::Error { status, .. }) => Some(*status),
                Some(Fault::Delay(_)) => Some(0),
                None => None,
            };
            log.push((call, status));
        }
    }
    match fault {
        Some(Fault::Error { status, code }) => {
            let xml = if text.contains("Action=") {
                format!(
                    "<Response><Errors><Error><Code>{code}</Code><Message>injected {code}</Message></Error></Errors><RequestID>fault</RequestID></Response>"
                )
            } else {
                format!(
                    "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
                )
            };
            let ct = tiny_http::Header::from_bytes("Content-Type", "text/xml").unwrap();
            let _ = req.respond(tiny_http::Response::from_string(xml).with_status_code(status).with_header(ct));
            return;
        }
        Some(Fault::Delay(d)) => thread::sleep(d),
        None => {}
    }
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
    let mut head = format!("{method} {url} HTTP/1.0\r\n");
    for h in req.headers() {
        let name = h.field.as_str().as_str();
        if !["connection", "content-length", "transfer-encoding"].contains(&name.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{name}: {}\r\n", h.value));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(&body)).is_err() {
        return;
    }
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(502);
    let mut resp = tiny_http::Response::from_data(raw[split..].to_vec()).with_status_code(status);
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':')
            && !["connection", "content-length", "transfer-encoding", "date", "server"]
                .contains(&k.trim().to_ascii_lowercase().as_str())
        {
            resp.add_header(tiny_http::Header::from_bytes(k.trim(), v.trim()).unwrap());
        }
    }
    let _ = req.respond(resp);
}
