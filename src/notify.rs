//! Webhook alerts: the message (json, slack or discord), its signature, and delivery with a short
//! timeout and bounded retries inside the invocation's budget. Delivery never decides DNS.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_types::date_time::{DateTime, Format};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

use crate::budget::Budget;
use crate::clients::Clients;
use crate::config::{Secret, WebhookFormat, WebhookSettings, WebhookUrl, parse_secret};
use crate::event::Trigger;
use crate::failure::{Failure, FailureKind};
use crate::incidents::Alerting;
use crate::report::{Answer, ChangeReport, Delivery};
use crate::ssm;

/// One attempt never waits longer than this.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Retries after the first attempt, on connect errors, 5xx and 429 only.
pub const RETRIES: u32 = 2;
const BACKOFF: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AlertKind {
    #[serde(rename = "dns.changed")]
    Changed,
    #[serde(rename = "dns.failed")]
    Failed,
    #[serde(rename = "dns.recovered")]
    Recovered,
    #[serde(rename = "dns.test")]
    Test,
}

/// What one alert says; rendered into the configured format.
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    pub event: AlertKind,
    pub account: Option<String>,
    pub region: Option<String>,
    pub function: Option<String>,
    pub trigger: String,
    /// Why the records moved, in a few words ("instance started").
    #[serde(skip)]
    pub cause: String,
    pub dry_run: bool,
    pub changes: Vec<ChangeReport>,
    /// Problems and errors met for the first time.
    pub errors: Vec<Failure>,
    /// Problems still open, alerted again after the reminder interval.
    pub reminders: Vec<Failure>,
    /// What cleared since the last alert, by kind and what it concerned.
    pub recovered: Vec<String>,
}

impl Alert {
    /// The alert an invocation calls for, or none: one when records changed, or a problem is new,
    /// due a reminder or cleared. A dry run changed nothing, so its changes never alert.
    pub fn of(
        answer: &Answer,
        incidents: &Alerting,
        trigger: &Trigger,
        account: Option<String>,
        region: Option<String>,
        function: Option<String>,
    ) -> Option<Self> {
        let changes = if answer.dry_run { Vec::new() } else { answer.effective_changes() };
        let event = if !incidents.new.is_empty() || !incidents.reminders.is_empty() {
            AlertKind::Failed
        } else if !changes.is_empty() {
            AlertKind::Changed
        } else if !incidents.recovered.is_empty() {
            AlertKind::Recovered
        } else {
            return None;
        };
        Some(Self {
            event,
            account,
            region,
            function,
            trigger: answer.trigger.clone(),
            cause: trigger.cause(),
            dry_run: answer.dry_run,
            changes,
            errors: incidents.new.clone(),
            reminders: incidents.reminders.clone(),
            recovered: incidents.recovered.clone(),
        })
    }

    /// The alert `{"action": "test-webhook"}` sends.
    pub fn test(account: Option<String>, region: Option<String>, function: Option<String>) -> Self {
        Self {
            event: AlertKind::Test,
            account,
            region,
            function,
            trigger: "test-webhook".into(),
            cause: "test".into(),
            dry_run: false,
            changes: Vec::new(),
            errors: Vec::new(),
            reminders: Vec::new(),
            recovered: Vec::new(),
        }
    }
}

/// A configured webhook channel, with its client built once.
#[derive(Clone, Debug)]
pub struct Notifier {
    client: reqwest::Client,
    url: WebhookUrl,
    secret: Option<Secret>,
    format: WebhookFormat,
}

impl Notifier {
    pub fn new(url: WebhookUrl, secret: Option<Secret>, format: Option<WebhookFormat>) -> Self {
        let format = format.unwrap_or_else(|| WebhookFormat::for_url(&url));
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dynamic-dns-updater/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with static settings always builds");
        Self { client, url, secret, format }
    }

    /// Builds the notifier, reading SSM parameters (with decryption) where the config names them.
    pub async fn from_settings(settings: &WebhookSettings, clients: &Clients) -> Result<Self, String> {
        // Both parameters are read at once, so a cold start waits for one round trip, not two.
        let (url, secret) = tokio::join!(
            ssm::resolve(clients, &settings.url, "DDNS_WEBHOOK_URL_PARAMETER", WebhookUrl::parse),
            async {
                match &settings.secret {
                    Some(source) => {
                        ssm::resolve(clients, source, "DDNS_WEBHOOK_SECRET_PARAMETER", parse_secret).await.map(Some)
                    }
                    None => Ok(None),
                }
            }
        );
        Ok(Self::new(url?, secret?, settings.format))
    }

    pub fn host(&self) -> &str {
        self.url.host()
    }

    /// The exact bytes sent for `alert`, sent at `unix` seconds.
    pub fn render(&self, alert: &Alert, unix: u64) -> Vec<u8> {
        let body = match self.format {
            WebhookFormat::Json => {
                let mut v = serde_json::to_value(alert).unwrap_or_default();
                v["timestamp"] = json!(rfc3339(unix));
                v["sent_at"] = json!(unix);
                v
            }
            WebhookFormat::Slack => json!({ "text": chat_text(alert) }),
            WebhookFormat::Discord => json!({ "content": chat_text(alert) }),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// `sha256=<hex>` of the body under the secret, or `None` without a secret.
    pub fn signature(&self, body: &[u8]) -> Option<String> {
        let secret = self.secret.as_ref()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).ok()?;
        mac.update(body);
        Some(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
    }

    /// Sends `alert`, retrying transient failures while the budget lasts. A delivery that failed
    /// is logged; it never changes what happened to DNS.
    pub async fn send(&self, alert: &Alert, budget: &Budget) -> Delivery {
        let delivery = self.deliver(alert, budget).await;
        if let Some(err) = &delivery.error {
            tracing::error!(host = %delivery.host, attempts = delivery.attempts, error = %err, "webhook delivery failed");
        }
        delivery
    }

    async fn deliver(&self, alert: &Alert, budget: &Budget) -> Delivery {
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let body = self.render(alert, unix);
        let signature = self.signature(&body);
        let mut delivery = Delivery { host: self.host().to_string(), status: None, attempts: 0, error: None };
        loop {
            let timeout = ATTEMPT_TIMEOUT.min(budget.remaining());
            if timeout < Duration::from_millis(50) {
                delivery.error.get_or_insert_with(|| "no time left before the invocation's deadline".into());
                return delivery;
            }
            delivery.attempts += 1;
            let mut req = self
                .client
                .post(self.url.url().clone())
                .timeout(timeout)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(sig) = &signature {
                req = req.header("X-DDNS-Signature-256", sig).header("X-DDNS-Timestamp", unix.to_string());
            }
            let retry = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    delivery.status = Some(status.as_u16());
                    if status.is_success() {
                        delivery.error = None;
                        return delivery;
                    }
                    delivery.error = Some(format!("{} answered HTTP {}", self.host(), status.as_u16()));
                    status.is_server_error() || status.as_u16() == 429
                }
                Err(e) => {
                    delivery.status = None;
                    let connect = e.is_connect();
                    let what = if e.is_timeout() {
                        "timed out"
                    } else if connect {
                        "could not connect"
                    } else {
                        "failed"
                    };
                    delivery.error = Some(format!("{} {what}: {}", self.host(), e.without_url()));
                    connect
                }
            };
            let pause = BACKOFF * 2u32.pow(delivery.attempts - 1);
            if !retry || delivery.attempts > RETRIES || budget.remaining() < pause + Duration::from_millis(100) {
                return delivery;
            }
            tokio::time::sleep(pause).await;
        }
    }
}

fn rfc3339(unix: u64) -> String {
    DateTime::from_secs(unix as i64).fmt(Format::DateTime).unwrap_or_default()
}

/// The short human message for chat channels.
pub fn chat_text(alert: &Alert) -> String {
    let who = alert.function.as_deref().unwrap_or(crate::config::DEFAULT_NAME);
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut lines = vec![match alert.event {
        AlertKind::Test => format!("{who}: test alert. Alerts from this function reach this channel."),
        AlertKind::Changed => {
            let dry = if alert.dry_run { " (dry run, nothing written)" } else { "" };
            format!("{who}: {}{dry}", plural(alert.changes.len(), "DNS change", "DNS changes"))
        }
        AlertKind::Failed if alert.errors.is_empty() => {
            format!("{who}: {} still open", plural(alert.reminders.len(), "problem", "problems"))
        }
        AlertKind::Failed => {
            format!("{who}: DNS update failed ({})", plural(alert.errors.len(), "new problem", "new problems"))
        }
        AlertKind::Recovered => format!("{who}: {} cleared", plural(alert.recovered.len(), "problem", "problems")),
    }];
    for c in &alert.changes {
        let old = c.old.as_deref().unwrap_or("(none)");
        let new = c.new.as_deref().unwrap_or("(deleted)");
        lines.push(format!("{} {} {old} → {new} ({}, {})", c.name, c.rtype, c.instance_id, alert.cause));
    }
    let failure = |e: &Failure| {
        let message = first_line(&e.message);
        let stop = if message.ends_with(['.', '!', '?']) { " " } else { ". " };
        let advice = advice(e.kind).map(|a| format!("{stop}{a}")).unwrap_or_default();
        format!("{}: {message}{advice}", e.heading())
    };
    lines.extend(alert.errors.iter().map(failure));
    lines.extend(alert.reminders.iter().map(|e| format!("Still open: {}", failure(e))));
    lines.extend(alert.recovered.iter().map(|r| format!("Cleared: {r}")));
    lines.join("\n")
}

/// What to do about a kind of problem, where its message does not say already.
pub fn advice(kind: FailureKind) -> Option<&'static str> {
    match kind {
        FailureKind::Ec2Denied | FailureKind::Route53Denied => {
            Some("The function's role does not allow this: see Permissions in docs/reference.md.")
        }
        FailureKind::NoSuchZone => Some("Check the hosted zone id in DDNS_RECORDS or DDNS_ZONES."),
        FailureKind::Route53Throttled => {
            Some("Route53 allows 5 requests a second per account; the next sweep tries again.")
        }
        _ => None,
    }
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(300) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureKind;

    fn alert(event: AlertKind) -> Alert {
        Alert {
            event,
            account: Some("123456789012".into()),
            region: Some("us-east-1".into()),
            function: Some("ddns".into()),
            trigger: "state-change:i-0abc:running".into(),
            cause: "instance started".into(),
            dry_run: false,
            changes: vec![ChangeReport {
                zone_id: "Z1".into(),
                name: "app.example.com".into(),
                rtype: "A".into(),
                action: crate::records::Action::Update,
                old: Some("3.1.2.4".into()),
                new: Some("3.1.9.9".into()),
                ttl: Some(60),
                instance_id: "i-0abc".into(),
                status: crate::report::ChangeStatus::Applied,
            }],
            errors: vec![],
            reminders: vec![],
            recovered: vec![],
        }
    }

    fn notifier(url: &str, secret: Option<&str>, format: Option<WebhookFormat>) -> Notifier {
        Notifier::new(WebhookUrl::parse(url).unwrap(), secret.map(|s| Secret::new(s.into())), format)
    }

    #[test]
    fn chat_line_reads_like_a_sentence() {
        let text = chat_text(&alert(AlertKind::Changed));
        assert!(text.contains("app.example.com A 3.1.2.4 → 3.1.9.9 (i-0abc, instance started)"), "{text}");
        let mut failed = alert(AlertKind::Failed);
        failed.errors.push(Failure::new(FailureKind::Route53Denied, "Z1", "AccessDenied\nmore"));
        let text = chat_text(&failed);
        assert!(text.contains("Z1: Route53Denied: AccessDenied. The function's role does not allow this"), "{text}");
        assert!(text.starts_with("ddns: DNS update failed (1 new problem)"), "{text}");
        let recovered = Alert {
            event: AlertKind::Recovered,
            changes: vec![],
            recovered: vec!["Conflict: taken.example.com A (i-0abc)".into()],
            ..alert(AlertKind::Recovered)
        };
        assert_eq!(chat_text(&recovered), "ddns: 1 problem cleared\nCleared: Conflict: taken.example.com A (i-0abc)");
        let reminder = Alert { changes: vec![], reminders: failed.errors.clone(), ..alert(AlertKind::Failed) };
        assert!(chat_text(&reminder).starts_with("ddns: 1 problem still open\nStill open: Z1: Route53Denied"));
    }

    #[test]
    fn an_alert_goes_out_for_news_only() {
        let answer = Answer { trigger: "schedule".into(), ..Answer::default() };
        let none = Alerting::default();
        let of = |answer: &Answer, incidents: &Alerting| {
            Alert::of(answer, incidents, &Trigger::Schedule, None, None, None).map(|a| a.event)
        };
        assert_eq!(of(&answer, &none), None, "nothing changed and nothing is new");
        let gone = Alerting { recovered: vec!["Conflict: x".into()], ..Alerting::default() };
        assert_eq!(of(&answer, &gone), Some(AlertKind::Recovered));
        let mut changed = answer.clone();
        changed.changes = alert(AlertKind::Changed).changes;
        assert_eq!(of(&changed, &gone), Some(AlertKind::Changed), "one message carries both");
        let new = Alerting { new: vec![Failure::new(FailureKind::Conflict, "x", "y")], ..gone };
        assert_eq!(of(&changed, &new), Some(AlertKind::Failed));
        changed.dry_run = true;
        assert_eq!(of(&changed, &none), None, "a dry run's changes were not made");
    }

    #[test]
    fn formats_render_their_shapes() {
        let a = alert(AlertKind::Changed);
        let body: serde_json::Value =
            serde_json::from_slice(&notifier("https://example.com/h", None, None).render(&a, 1_700_000_000)).unwrap();
        assert_eq!(body["event"], "dns.changed");
        assert_eq!(body["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(body["sent_at"], 1_700_000_000);
        assert_eq!(body["changes"][0]["new"], "3.1.9.9");
        assert_eq!(body["changes"][0]["type"], "A");
        let slack: serde_json::Value =
            serde_json::from_slice(&notifier("https://hooks.slack.com/services/x", None, None).render(&a, 0)).unwrap();
        assert!(slack["text"].as_str().unwrap().contains("→ 3.1.9.9"));
        let discord: serde_json::Value = serde_json::from_slice(
            &notifier("https://example.com/h", None, Some(WebhookFormat::Discord)).render(&a, 0),
        )
        .unwrap();
        assert!(discord["content"].as_str().unwrap().contains("→ 3.1.9.9"));
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let n = notifier("https://example.com/h", Some("Jefe"), None);
        assert_eq!(
            n.signature(b"what do ya want for nothing?").unwrap(),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(notifier("https://example.com/h", None, None).signature(b"x"), None);
    }

    #[test]
    fn debug_hides_the_url_and_secret() {
        let shown = format!("{:?}", notifier("https://example.com/secret-path", Some("s3cret"), None));
        assert!(!shown.contains("secret-path") && !shown.contains("s3cret"), "{shown}");
    }
}
