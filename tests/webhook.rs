//! Alerts against a real HTTP receiver on loopback: formats, signatures, retries, timeouts,
//! silence when nothing changed, the test button, and SSM-held secrets in moto.

mod support;

use std::time::{Duration, Instant, SystemTime};

use dynamic_dns_updater::clients::Clients;
use dynamic_dns_updater::config::{Source, WebhookSettings};
use dynamic_dns_updater::handler::{self, Invocation};
use dynamic_dns_updater::notify::Notifier;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use support::*;

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn json_alert_is_signed_and_complete() {
    let w = world().await;
    let sink = WebhookSink::start(Reply::Statuses(vec![204]));
    let url = sink.url();
    let app = app(
        &w.moto,
        &[("DDNS_RECORDS", &w.records), ("DDNS_WEBHOOK_URL", &url), ("DDNS_WEBHOOK_SECRET", "hunter2-hunter2-hunter2")],
    )
    .await;
    let r = invoke(&app, &state_change(&w.id, "running")).await.unwrap();
    assert_eq!(r["webhook"]["status"], 204);

    let got = sink.received();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(
        req.header("X-DDNS-Signature-256").unwrap(),
        hmac_hex("hunter2-hunter2-hunter2", &req.body),
        "signature over the exact bytes"
    );
    let body = req.json();
    assert_eq!(req.header("X-DDNS-Timestamp").unwrap(), body["sent_at"].to_string());
    assert_eq!(body["event"], "dns.changed");
    assert_eq!(body["account"], "123456789012");
    assert_eq!(body["region"], "us-east-1");
    assert_eq!(body["function"], "ddns-test");
    assert_eq!(body["dry_run"], false);
    assert!(body["trigger"].as_str().unwrap().starts_with("state-change:"));
    let ip = w.aws.public_ip(&w.id).await.unwrap();
    assert_eq!(
        body["changes"],
        json!([{
            "zone_id": w.zone, "name": "app.example.com", "type": "A", "action": "create",
            "old": null, "new": ip, "ttl": 60, "instance": w.id, "status": "applied"
        }])
    );
    assert_eq!(body["errors"], json!([]));
    let ts = body["timestamp"].as_str().unwrap();
    assert!(aws_smithy_types::DateTime::from_str(ts, aws_smithy_types::date_time::Format::DateTime).is_ok(), "{ts}");

    // Nothing changed: nothing is sent.
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert!(r.get("webhook").is_none());
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn chat_formats() {
    for (format, field) in [("slack", "text"), ("discord", "content")] {
        let w = world().await;
        let sink = WebhookSink::start(Reply::Statuses(vec![200]));
        let url = sink.url();
        let app =
            app(&w.moto, &[("DDNS_RECORDS", &w.records), ("DDNS_WEBHOOK_URL", &url), ("DDNS_WEBHOOK_FORMAT", format)])
                .await;
        invoke(&app, &state_change(&w.id, "running")).await.unwrap();
        let body = sink.received()[0].json();
        let ip = w.aws.public_ip(&w.id).await.unwrap();
        assert_eq!(body.as_object().unwrap().len(), 1, "{format}: {body}");
        let text = body[field].as_str().unwrap();
        assert!(
            text.contains(&format!("app.example.com A (none) → {ip} ({}, instance started)", w.id)),
            "{format}: {text}"
        );
        assert!(sink.received()[0].header("X-DDNS-Signature-256").is_none(), "no secret, no signature");
    }
}

#[tokio::test]
async fn retries_on_5xx_but_not_on_4xx() {
    for (answers, want_attempts, ok) in
        [(vec![500, 503, 200], 3, true), (vec![429, 200], 2, true), (vec![500], 3, false), (vec![400], 1, false)]
    {
        let w = world().await;
        let sink = WebhookSink::start(Reply::Statuses(answers.clone()));
        let url = sink.url();
        let app = app(&w.moto, &[("DDNS_RECORDS", &w.records), ("DDNS_WEBHOOK_URL", &url)]).await;
        let r = invoke(&app, &state_change(&w.id, "running")).await.unwrap();
        assert_eq!(sink.received().len(), want_attempts, "{answers:?}");
        assert_eq!(r["webhook"]["attempts"], want_attempts, "{answers:?}");
        assert_eq!(r["webhook"]["error"].is_null(), ok, "{answers:?}: {r}");
        // Delivery never changes whether the DNS update happened.
        assert!(w.aws.values(&w.zone, "app.example.com.", "A").await.is_some());
        let bodies: Vec<_> = sink.received().iter().map(|r| r.body.clone()).collect();
        assert!(bodies.windows(2).all(|p| p[0] == p[1]), "retries send the same body");
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_cannot_hold_the_invocation() {
    let w = world().await;
    let sink = WebhookSink::start(Reply::Never);
    let url = sink.url();
    let app = app(&w.moto, &[("DDNS_RECORDS", &w.records), ("DDNS_WEBHOOK_URL", &url)]).await;
    let deadline = SystemTime::now() + Duration::from_secs(6);
    let started = Instant::now();
    let invocation = Invocation { deadline, account: None };
    let r = serde_json::to_value(handler::handle(&app, &state_change(&w.id, "running"), invocation).await.unwrap())
        .unwrap();
    assert!(SystemTime::now() < deadline, "answered after the deadline ({:?})", started.elapsed());
    assert!(r["webhook"]["error"].as_str().unwrap().contains("timed out"), "{r}");
    assert_eq!(r["webhook"]["attempts"], 1, "a timeout is not retried");
    assert!(w.aws.values(&w.zone, "app.example.com.", "A").await.is_some());
}

#[tokio::test]
async fn test_button() {
    let w = world().await;
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    let url = sink.url();
    let first = app(&w.moto, &[("DDNS_RECORDS", &w.records), ("DDNS_WEBHOOK_URL", &url)]).await;
    let r = invoke(&first, &json!({"action": "test-webhook"})).await.unwrap();
    assert_eq!(r["webhook"]["status"], 200);
    assert_eq!(r["webhook"]["host"], "127.0.0.1");
    assert_eq!(sink.received()[0].json()["event"], "dns.test");
    assert!(w.aws.records(&w.zone).await.iter().all(|r| r.1 != "A"), "the test button changes no DNS");

    let failing = WebhookSink::start(Reply::Statuses(vec![404]));
    let url = failing.url();
    let app2 = app(&w.moto, &[("DDNS_RECORDS", &w.records), ("DDNS_WEBHOOK_URL", &url)]).await;
    let err = invoke(&app2, &json!({"action": "test-webhook"})).await.unwrap_err().to_string();
    assert!(err.contains("404") && !err.contains("secret-path-token"), "{err}");

    let app3 = app(&w.moto, &[("DDNS_RECORDS", &w.records)]).await;
    let err = invoke(&app3, &json!({"action": "test-webhook"})).await.unwrap_err().to_string();
    assert!(err.contains("no webhook is configured"), "{err}");
}

#[tokio::test]
async fn secrets_come_from_ssm_parameters() {
    use aws_sdk_ssm::types::ParameterType;
    let w = world().await;
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    for (name, value) in
        [("/ddns/webhook-url", sink.url()), ("/ddns/webhook-secret", "from-ssm-from-ssm-from-ssm".to_string())]
    {
        w.aws.ssm.put_parameter().name(name).value(value).r#type(ParameterType::SecureString).send().await.unwrap();
    }
    let app = app(
        &w.moto,
        &[
            ("DDNS_RECORDS", &w.records),
            ("DDNS_WEBHOOK_URL_PARAMETER", "/ddns/webhook-url"),
            ("DDNS_WEBHOOK_SECRET_PARAMETER", "/ddns/webhook-secret"),
        ],
    )
    .await;
    invoke(&app, &state_change(&w.id, "running")).await.unwrap();
    let req = &sink.received()[0];
    assert_eq!(req.header("X-DDNS-Signature-256").unwrap(), hmac_hex("from-ssm-from-ssm-from-ssm", &req.body));

    // A missing parameter is a clear error that names it: why the webhook is unavailable.
    let settings = WebhookSettings { url: Source::Parameter("/ddns/missing".into()), secret: None, format: None };
    let clients = Clients::from_sdk(&w.moto.sdk().await);
    let err = Notifier::from_settings(&settings, &clients).await.unwrap_err();
    assert!(
        err.contains("DDNS_WEBHOOK_URL_PARAMETER")
            && err.contains("/ddns/missing")
            && err.contains("ParameterNotFound"),
        "{err}"
    );
}
