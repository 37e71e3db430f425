//! Status routes: what runs at each address, and the versions each keeps.
//!
//! - `GET /v1/components`: every component, with its versions; in a cluster also this host's
//!   name (`host`) and the other hosts with what each runs (`peers`).
//! - `GET /v1/components/{address}`: one.

use std::time::UNIX_EPOCH;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::respond::{Reply, failure, json};
use crate::{ComponentInfo, Host, Stats, VersionInfo};

pub(super) fn components(host: &Host) -> Reply {
    let components: Vec<Value> = host
        .components()
        .iter()
        .map(|info| {
            view(
                info,
                &host.versions(&info.identity.address).unwrap_or_default(),
            )
        })
        .collect();
    let peers: Vec<Value> = host
        .peers()
        .iter()
        .map(|peer| {
            json!({
                "host": peer.host,
                "last_seen_ms": peer.last_seen.as_millis() as u64,
                "components": peer.components,
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &json!({ "components": components, "host": host.host_name(), "peers": peers }),
    )
}

pub(super) fn component(host: &Host, address: &str) -> Reply {
    let found = host.component(address).map(|handle| handle.info());
    match (found, host.versions(address)) {
        (Some(info), Ok(versions)) => json(StatusCode::OK, &view(&info, &versions)),
        (_, Err(err)) => failure(&err),
        (None, _) => failure(&crate::Error::UnknownAddress {
            address: address.to_owned(),
        }),
    }
}

fn view(info: &ComponentInfo, versions: &[VersionInfo]) -> Value {
    let id = &info.identity;
    json!({
        "address": id.address,
        "name": id.name,
        "version": id.version,
        "hash": id.hash,
        "state": info.state.to_string(),
        "uptime_ms": info.uptime.as_millis() as u64,
        "instances": info.instances,
        "queued": info.queued,
        "deploying": info.deploying,
        "stats": stats(&info.stats),
        "memory": { "current": info.memory.current, "peak": info.memory.peak },
        "versions": versions.iter().map(version).collect::<Vec<_>>(),
    })
}

fn version(version: &VersionInfo) -> Value {
    let id = &version.identity;
    json!({
        "id": version.id,
        "name": id.name,
        "version": id.version,
        "hash": id.hash,
        "source": version.source,
        "loaded_at": version
            .loaded_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
        "signature": version.signature,
        "state": version.state,
        "instances": version.instances,
        "stats": stats(&version.stats),
    })
}

fn stats(stats: &Stats) -> Value {
    json!({
        "requests": stats.requests,
        "messages": stats.messages,
        "errors": stats.errors,
        "traps": stats.traps,
        "restarts": stats.restarts,
        "denials": stats.denials,
    })
}
