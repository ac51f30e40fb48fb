//! The webhook's settings as the environment gives them: its URL (inline or an SSM parameter's
//! name), its signing secret and its format. Secrets never reach a log, an error or an answer.

use std::fmt;
use std::net::IpAddr;

use super::parse_parameter_name;

/// The shortest signing secret accepted, as deploy.sh and the Terraform module require.
pub const MIN_SECRET_CHARS: usize = 16;

/// The body shape of webhook alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    Slack,
    Discord,
}

impl WebhookFormat {
    fn parse(input: &str) -> Result<Self, String> {
        match input.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "slack" => Ok(Self::Slack),
            "discord" => Ok(Self::Discord),
            other => Err(format!("{other:?} is not a format (json, slack or discord)")),
        }
    }

    /// The format a URL implies when none is configured.
    pub fn for_url(url: &WebhookUrl) -> Self {
        let host = url.host();
        let path = url.0.path();
        if host == "hooks.slack.com" {
            Self::Slack
        } else if (host == "discord.com" || host == "discordapp.com") && path.starts_with("/api/webhooks") {
            Self::Discord
        } else {
            Self::Json
        }
    }
}

/// A signing secret, wherever it comes from: at least [`MIN_SECRET_CHARS`] characters.
pub fn parse_secret(value: &str) -> Result<Secret, String> {
    let chars = value.chars().count();
    if chars < MIN_SECRET_CHARS {
        return Err(format!(
            "{chars} characters; a signing secret needs at least {MIN_SECRET_CHARS} (openssl rand -hex 32 makes a good one)"
        ));
    }
    Ok(Secret::new(value.to_string()))
}

/// A string that must never reach a log, an error or a response.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A webhook URL: https, or plain http to a loopback address. Shown by host only.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(reqwest::Url);

impl WebhookUrl {
    /// Parses a URL; the error never repeats the URL, which may hold a token.
    pub fn parse(input: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(input.trim()).map_err(|e| format!("not a valid URL ({e})"))?;
        let host = url.host_str().unwrap_or_default().to_string();
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        match url.scheme() {
            "https" => Ok(Self(url)),
            "http" if is_loopback(&host) => Ok(Self(url)),
            "http" => Err(format!("plain http is allowed only to loopback addresses; use https for {host}")),
            other => Err(format!("scheme {other:?} is not supported; use https")),
        }
    }

    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    pub fn url(&self) -> &reqwest::Url {
        &self.0
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({}/…)", self.host())
    }
}

/// Where a secret value comes from: the environment (parsed there), or an SSM SecureString
/// read at cold start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source<T = Secret> {
    Inline(T),
    Parameter(String),
}

/// Webhook settings as configured, before any SSM parameter is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    pub url: Source<WebhookUrl>,
    pub secret: Option<Source>,
    pub format: Option<WebhookFormat>,
}

pub(super) fn parse(get: &impl Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> Option<WebhookSettings> {
    let (new, old) = (get("DDNS_WEBHOOK_URL"), get("WEBHOOK_URL"));
    if let (Some(new), Some(old)) = (&new, &old)
        && new.trim() != old.trim()
    {
        errors.push(
            "WEBHOOK_URL: set to another URL than DDNS_WEBHOOK_URL, which would win; unset WEBHOOK_URL (the seed's name)".into(),
        );
    }
    let inline = new.map(|v| ("DDNS_WEBHOOK_URL", v)).or_else(|| old.map(|v| ("WEBHOOK_URL", v)));
    let parameter = get("DDNS_WEBHOOK_URL_PARAMETER");
    // A URL that was given but is wrong has its own error already.
    let given = inline.is_some() || parameter.is_some();
    let url = match (inline, parameter) {
        (Some((var, _)), Some(_)) => {
            errors.push(format!("{var}: set together with DDNS_WEBHOOK_URL_PARAMETER; keep only one"));
            None
        }
        (Some((var, raw)), None) => match WebhookUrl::parse(&raw) {
            Ok(url) => Some(Source::Inline(url)),
            Err(e) => {
                errors.push(format!("{var}: {e}"));
                None
            }
        },
        (None, Some(name)) => {
            Some(Source::Parameter(parse_parameter_name("DDNS_WEBHOOK_URL_PARAMETER", &name, errors)))
        }
        (None, None) => None,
    };
    let secret = match (get("DDNS_WEBHOOK_SECRET"), get("DDNS_WEBHOOK_SECRET_PARAMETER")) {
        (Some(_), Some(_)) => {
            errors.push("DDNS_WEBHOOK_SECRET: set together with DDNS_WEBHOOK_SECRET_PARAMETER; keep only one".into());
            None
        }
        (Some(s), None) => match parse_secret(&s) {
            Ok(secret) => Some(Source::Inline(secret)),
            Err(e) => {
                errors.push(format!("DDNS_WEBHOOK_SECRET: {e}"));
                None
            }
        },
        (None, Some(name)) => {
            Some(Source::Parameter(parse_parameter_name("DDNS_WEBHOOK_SECRET_PARAMETER", &name, errors)))
        }
        (None, None) => None,
    };
    let format = get("DDNS_WEBHOOK_FORMAT")
        .and_then(|raw| WebhookFormat::parse(&raw).map_err(|e| errors.push(format!("DDNS_WEBHOOK_FORMAT: {e}"))).ok());
    match url {
        Some(url) => Some(WebhookSettings { url, secret, format }),
        None => {
            if !given && (secret.is_some() || format.is_some()) {
                errors.push("DDNS_WEBHOOK_URL: a webhook secret or format is set, but no webhook URL (DDNS_WEBHOOK_URL or DDNS_WEBHOOK_URL_PARAMETER)".into());
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_url() {
        let f = |u: &str| WebhookFormat::for_url(&WebhookUrl::parse(u).unwrap());
        assert_eq!(f("https://hooks.slack.com/services/T/B/X"), WebhookFormat::Slack);
        assert_eq!(f("https://discord.com/api/webhooks/1/x"), WebhookFormat::Discord);
        assert_eq!(f("https://discordapp.com/api/webhooks/1/x"), WebhookFormat::Discord);
        assert_eq!(f("https://discord.com/other"), WebhookFormat::Json);
        assert_eq!(f("https://example.com/hook"), WebhookFormat::Json);
    }
}
