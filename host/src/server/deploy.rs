//! Deploy routes: bring a version in, steer a deploy under way, roll back, retire.
//!
//! - `POST /v1/components/{address}/deploy?strategy=..`: the body is the component's bytes
//!   (`x-airssys-source` names them); options in the query: `strategy` (`blue-green`,
//!   `stop-start`, `canary`, `rolling`), `share` and `abort_rate`, `window_ms`, `min_calls`
//!   for a canary, `batch` for rolling, `handoff=false` to start fresh. The response is JSON
//!   lines: `{"progress": ..}` as the deploy goes, then `{"outcome": ..}` or `{"error": ..}`.
//! - `POST /v1/components/{address}/rollback`: the same lines.
//! - `POST /v1/components/{address}/promote`, `.../abort`, `.../versions/{id}/retire`.

use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use super::respond::{Reply, error, failure, json, lines};
use crate::{CanaryOptions, DeployOptions, Deployment, Error, FailureRate, Host, Source, Strategy};

pub(super) async fn deploy(host: &Host, address: &str, request: Request<Incoming>) -> Reply {
    let options = match options(request.uri().query().unwrap_or_default()) {
        Ok(options) => options,
        Err(problem) => return error(StatusCode::BAD_REQUEST, &problem),
    };
    let label = request
        .headers()
        .get("x-airssys-source")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("uploaded component")
        .to_owned();
    let limit = host.max_component_size();
    let bytes = match Limited::new(request.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!(
                    "the component is over this host's limit of {limit} bytes, or did not arrive whole"
                ),
            );
        }
    };
    match host
        .deploy(address, Source::bytes(label, bytes.to_vec()), options)
        .await
    {
        Ok(deployment) => stream(deployment),
        Err(err) => failure(&err),
    }
}

pub(super) async fn rollback(host: &Host, address: &str) -> Reply {
    match host.rollback(address).await {
        Ok(deployment) => stream(deployment),
        Err(err) => failure(&err),
    }
}

pub(super) fn promote(host: &Host, address: &str) -> Reply {
    done(host.promote(address))
}

pub(super) fn abort(host: &Host, address: &str) -> Reply {
    done(host.abort(address))
}

pub(super) fn retire(host: &Host, address: &str, id: &str) -> Reply {
    match id.parse() {
        Ok(id) => done(host.retire(address, id)),
        Err(_) => error(StatusCode::BAD_REQUEST, "a version is a number"),
    }
}

fn done(result: crate::Result<()>) -> Reply {
    match result {
        Ok(()) => json(StatusCode::OK, &json!({ "ok": true })),
        Err(err) => failure(&err),
    }
}

/// The deploy's steps, one JSON line each, then its outcome.
fn stream(mut deployment: Deployment) -> Reply {
    let (mut lines, reply) = lines();
    tokio::spawn(async move {
        while let Some(step) = deployment.next_step().await {
            lines.send(&json!({ "progress": step })).await;
        }
        let last = match deployment.outcome().await {
            Ok(report) => json!({ "outcome": {
                "address": report.address,
                "from": report.from.label(),
                "to": report.to.label(),
                "version": report.version,
                "strategy": report.strategy,
                "handed_over": report.handed_over,
                "switched_after_ms": report.switched_after.as_secs_f64() * 1e3,
                "took_ms": report.took.as_secs_f64() * 1e3,
            }}),
            Err(err) => {
                let stage = match &err {
                    Error::Deploy { stage, .. } => Some(*stage),
                    _ => None,
                };
                json!({ "error": err.to_string(), "stage": stage })
            }
        };
        lines.send(&last).await;
    });
    reply
}

/// Reads a deploy's options from a query string.
fn options(query: &str) -> Result<DeployOptions, String> {
    let mut strategy = "blue-green".to_owned();
    let (mut share, mut batch, mut handoff) = (0.1, 1, true);
    let (mut rate, mut window, mut min_calls) = (None, Duration::from_secs(30), 20);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = || format!("`{key}={value}` is not a valid deploy option");
        match key {
            "strategy" => strategy = value.to_owned(),
            "share" => share = value.parse().map_err(|_| bad())?,
            "batch" => batch = value.parse().map_err(|_| bad())?,
            "handoff" => handoff = value.parse().map_err(|_| bad())?,
            "abort_rate" => rate = Some(value.parse().map_err(|_| bad())?),
            "window_ms" => window = Duration::from_millis(value.parse().map_err(|_| bad())?),
            "min_calls" => min_calls = value.parse().map_err(|_| bad())?,
            _ => return Err(format!("`{key}` is not a deploy option")),
        }
    }
    let strategy = match strategy.as_str() {
        "blue-green" => Strategy::BlueGreen,
        "stop-start" => Strategy::StopStart,
        "rolling" => Strategy::Rolling { batch },
        "canary" => {
            let mut canary = CanaryOptions::new(share);
            if let Some(rate) = rate {
                canary = canary.abort_when(FailureRate::new(rate, window).min_calls(min_calls));
            }
            Strategy::Canary(canary)
        }
        other => {
            return Err(format!(
                "`{other}` is not a strategy; use blue-green, stop-start, canary or rolling"
            ));
        }
    };
    let options = DeployOptions::new(strategy).handoff(handoff);
    options.validate().map_err(|err| err.to_string())?;
    Ok(options)
}
