//! Checking what acts on segments: `holdout:` shares and `destinations:`.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::context::{FileContext, at};
use crate::diagnostic::Code;
use crate::model::{Destination, DestinationTarget, FilesTarget, Holdout, Webhook};
use crate::syntax::{DestinationSyntax, FileMode};

/// `10%` → a holdout of 0.1; reported unless strictly between 0% and 100%.
pub fn holdout(ctx: &mut FileContext, text: &Spanned<String>) -> Option<Holdout> {
    let share = text
        .value
        .trim()
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| *n > 0.0 && *n < 100.0);
    match share {
        Some(percent) => Some(Holdout {
            fraction: percent / 100.0,
        }),
        None => {
            ctx.report(
                Code::BadHoldout,
                at(text),
                format!("`{}` is not a holdout share", text.value),
                "write a percentage between 0% and 100%, e.g. `holdout: 10%`",
            );
            None
        }
    }
}

/// An environment variable name (`CRM_SIGNING_KEY`).
fn variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The destinations of the project file (their segment names are checked with the segments).
pub fn destinations(
    ctx: &mut FileContext,
    syntax: &BTreeMap<String, Spanned<DestinationSyntax>>,
) -> Option<Vec<Destination>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (name, node) in syntax {
        match destination(ctx, name, node) {
            Some(d) => out.push(d),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn bad(ctx: &mut FileContext, at: crate::diagnostic::Position, message: String, hint: &str) {
    ctx.report(Code::BadDestination, at, message, hint);
}

fn destination(
    ctx: &mut FileContext,
    name: &str,
    node: &Spanned<DestinationSyntax>,
) -> Option<Destination> {
    let d = &node.value;
    let target = match (&d.webhook, &d.files) {
        (Some(w), None) => webhook(ctx, name, w).map(DestinationTarget::Webhook),
        (None, Some(f)) => Some(DestinationTarget::Files(FilesTarget {
            location: f.value.location.value.clone(),
            format: f.value.format.value,
            mode: f
                .value
                .mode
                .as_ref()
                .map(|m| m.value)
                .unwrap_or(FileMode::Delta),
        })),
        _ => {
            bad(
                ctx,
                at(node),
                format!("destination `{name}` needs exactly one of `webhook:` or `files:`"),
                "e.g. `webhook: {url: https://…}` or `files: {location: s3://…, format: csv}`",
            );
            None
        }
    };
    Some(Destination {
        name: name.to_string(),
        target: target?,
        segments: d
            .segments
            .iter()
            .flat_map(|s| s.value.iter().map(|n| n.value.clone()))
            .collect(),
        include_holdout: d.include_holdout.as_ref().is_some_and(|b| b.value),
    })
}

fn webhook(
    ctx: &mut FileContext,
    name: &str,
    node: &Spanned<crate::syntax::WebhookSyntax>,
) -> Option<Webhook> {
    let w = &node.value;
    let mut ok = true;
    let url = w.url.value.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bad(
            ctx,
            at(&w.url),
            format!("destination `{name}`: `{url}` is not an http(s) URL"),
            "write the receiver's full URL, e.g. `https://crm.example.com/hooks/segments`",
        );
        ok = false;
    }
    let variables = w
        .signing_key_env
        .iter()
        .chain(w.headers_env.iter().flat_map(|h| h.values()));
    for variable in variables {
        if !variable_name(&variable.value) {
            bad(
                ctx,
                at(variable),
                format!(
                    "destination `{name}`: this is not an environment variable name (the value is not shown, in case it is a secret)"
                ),
                "secrets are read from environment variables: name one here, e.g. `CRM_SIGNING_KEY`, and put the secret in it",
            );
            ok = false;
        }
    }
    if let Some(b) = &w.batch_size
        && b.value == 0
    {
        bad(
            ctx,
            at(b),
            "`batch_size` must be at least 1".into(),
            "e.g. `batch_size: 500`",
        );
        ok = false;
    }
    if let Some(r) = &w.requests_per_second
        && !(r.value > 0.0 && r.value.is_finite())
    {
        bad(
            ctx,
            at(r),
            "`requests_per_second` must be more than 0".into(),
            "e.g. `requests_per_second: 10`",
        );
        ok = false;
    }
    ok.then(|| Webhook {
        url: url.to_string(),
        signing_key_env: w.signing_key_env.as_ref().map(|v| v.value.clone()),
        headers_env: w
            .headers_env
            .iter()
            .flatten()
            .map(|(h, v)| (h.clone(), v.value.clone()))
            .collect(),
        batch_size: w.batch_size.as_ref().map_or(500, |b| b.value as usize),
        requests_per_second: w.requests_per_second.as_ref().map_or(10.0, |r| r.value),
        max_retries: w.max_retries.as_ref().map_or(5, |r| r.value),
        timeout_seconds: w.timeout_seconds.as_ref().map_or(10, |t| t.value),
    })
}
