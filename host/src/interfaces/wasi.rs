//! WASI 0.2 from `wasmtime-wasi`, granting only what the gate allows: no environment or
//! arguments, stdout and stderr to the log, preopens for granted trees, and TCP connects the
//! gate checks one by one.

use std::sync::Arc;

use airssys_contract::CapabilityKind;
use wasmtime::component::Linker;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiView};

use super::core::LogBudget;
use super::stdio::GuestOutput;
use crate::policy::{EffectiveCapabilities, Gate};

/// The instance's WASI context: nothing granted beyond what `gate` allows.
pub(crate) fn context(gate: &Arc<Gate>, log: &Arc<LogBudget>) -> WasiCtx {
    let (stdout, stderr) = GuestOutput::pair(gate.identity(), log);
    let mut wasi = WasiCtx::builder();
    wasi.stdout(stdout)
        .stderr(stderr)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    preopen_granted_dirs(&mut wasi, gate);
    gate_sockets(&mut wasi, gate);
    wasi.build()
}

/// Links every WASI 0.2 interface; the store data gives the context through [`WasiView`].
pub(crate) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)
}

/// Gives guest `std::fs` the directories whose whole tree is effective (`<dir>/**`), with the
/// same rights: read and write when both are effective, read-only when only reading is.
/// Narrower patterns (`/data/*` or single files) cannot be expressed as WASI preopens and are
/// reachable only through `airssys::fs`.
fn preopen_granted_dirs(wasi: &mut WasiCtxBuilder, gate: &Gate) {
    let effective = gate.capabilities().effective();
    let trees = |kind| -> Vec<String> {
        effective
            .get(kind)
            .iter()
            .filter_map(|p| p.strip_suffix("/**"))
            .filter(|root| !root.contains('*'))
            .map(|root| {
                if root.is_empty() {
                    "/".to_owned()
                } else {
                    root.to_owned()
                }
            })
            .collect()
    };
    let writable = trees(CapabilityKind::FsWrite);
    for root in trees(CapabilityKind::FsRead) {
        let perms = if writable.contains(&root) {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        if let Err(err) = wasi.preopened_dir(&root, &root, perms) {
            let who = gate.identity();
            tracing::warn!(target: "airssys::host", address = %who.address, component = %who.label(), "cannot preopen {root}: {err}");
        }
    }
}

/// Lets guest sockets (`std::net::TcpStream`) connect to `ip:port`s the gate allows for `net`,
/// checked and audited per connection like `airssys::http`. Name lookups stay off (a name
/// cannot be checked before it resolves), UDP and listening too.
fn gate_sockets(wasi: &mut WasiCtxBuilder, gate: &Arc<Gate>) {
    if !has_net(gate.capabilities()) {
        return;
    }
    let gate = gate.clone();
    wasi.allow_tcp(true).socket_addr_check(move |addr, use_| {
        let allowed = match use_ {
            // The implicit bind a connect performs, to the wildcard address.
            SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
            SocketAddrUse::TcpConnect => gate.check(CapabilityKind::Net, &addr.to_string()).is_ok(),
            _ => false,
        };
        Box::pin(async move { allowed })
    });
}

fn has_net(capabilities: &EffectiveCapabilities) -> bool {
    !capabilities.effective().get(CapabilityKind::Net).is_empty()
}
