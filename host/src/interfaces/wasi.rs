//! WASI 0.2 from `wasmtime-wasi`, granting only what the gate allows: no environment or
//! arguments, the host's clock, stdout and stderr to the log, preopens for whole effective trees (no symlinks
//! made in them), and TCP connects the gate checks one by one.

use std::os::fd::AsRawFd;
use std::sync::Arc;

use airssys_contract::CapabilityKind;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::bindings::filesystem::types::{Descriptor, ErrorCode};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiView};

use super::core::LogBudget;
use super::stdio::GuestOutput;
use crate::clock::Clock;
use crate::policy::{EffectiveCapabilities, Gate};

/// The instance's WASI context: nothing granted beyond what `gate` allows.
pub(crate) fn context(
    gate: &Arc<Gate>,
    log: &Arc<LogBudget>,
    clock: &Clock,
    loopback_only: bool,
) -> WasiCtx {
    let (stdout, stderr) = GuestOutput::pair(gate.identity(), log);
    let mut wasi = WasiCtx::builder();
    wasi.stdout(stdout)
        .stderr(stderr)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    clock.install(&mut wasi);
    preopen_granted_dirs(&mut wasi, gate);
    gate_sockets(&mut wasi, gate, loopback_only);
    wasi.build()
}

/// Links every WASI 0.2 interface; the store data gives the context through [`WasiView`].
pub(crate) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    refuse_symlinks(linker)
}

/// The `wasi:filesystem/types` instance `wasmtime-wasi` links (its WIT package version).
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Replaces `descriptor.symlink-at` with a refusal (`not-permitted`, which Rust's `std`
/// reports as permission denied). wasmtime-wasi lets a writable preopen hold links to any
/// relative path, `../../elsewhere` included; it never follows them out of the preopen, and
/// neither does `airssys::fs` unchecked, but a link left on the host's disk could lead
/// another reader (a host program, another component's tree) where this guest may not go.
/// Its `FsPerms` has no separate right for links, hence the shadowing.
fn refuse_symlinks<T: 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let refused = linker.instance(FILESYSTEM_TYPES)?.func_wrap(
        "[method]descriptor.symlink-at",
        |_, (_, _, _): (Resource<Descriptor>, String, String)| {
            Ok((Err::<(), _>(ErrorCode::NotPermitted),))
        },
    );
    linker.allow_shadowing(false);
    refused
}

/// Where this process's open descriptors can be opened again by number.
#[cfg(any(target_os = "linux", target_os = "android"))]
const OPEN_FDS: &str = "/proc/self/fd";
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const OPEN_FDS: &str = "/dev/fd";

/// Gives guest `std::fs` the directories whose whole tree is effective for reading
/// (`<dir>/**` declared and granted), read-write when the whole tree is effective for writing
/// too. A preopen is all-or-nothing: wasmtime-wasi checks nothing per path inside it, so only
/// a tree every path of which the gate would allow may be one, and WASI renames and hard
/// links, which need a writable preopen at both ends, move things only between paths with the
/// same rights. Narrower patterns (`/data/*`, one file, `/srv/*/app/**`) get no preopen and
/// are reachable only through `airssys::fs`.
///
/// The directory is opened from `/` without following symlinks and handed to wasmtime-wasi
/// as that open directory (through [`OPEN_FDS`]), so a link swapped in on the way cannot make
/// the preopen another tree.
fn preopen_granted_dirs(wasi: &mut WasiCtxBuilder, gate: &Gate) {
    let capabilities = gate.capabilities();
    let effective = capabilities.effective();
    let trees = effective
        .get(CapabilityKind::FsRead)
        .iter()
        .filter_map(|p| p.strip_suffix("/**"))
        .filter(|root| !root.contains('*'))
        .map(|root| if root.is_empty() { "/" } else { root })
        .filter(|root| capabilities.allows_tree(CapabilityKind::FsRead, root));
    for root in trees {
        let perms = if capabilities.allows_tree(CapabilityKind::FsWrite, root) {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        let opened = super::fs::open_real_dir(root).and_then(|dir| {
            let path = format!("{OPEN_FDS}/{}", dir.as_raw_fd());
            wasi.preopened_dir(&path, root, perms)
                .map(drop)
                .map_err(|err| err.to_string())
        });
        if let Err(err) = opened {
            let who = gate.identity();
            tracing::warn!(target: "airssys::host", address = %who.address, component = %who.label(), "cannot preopen {root}: {err}");
        }
    }
}

/// Lets guest sockets (`std::net::TcpStream`) connect to `ip:port`s the gate allows for `net`
/// (on a loopback-only host, loopback ones only), checked and audited per connection like
/// `airssys::http`. Name lookups stay off (a name cannot be checked before it resolves), UDP
/// and listening too.
fn gate_sockets(wasi: &mut WasiCtxBuilder, gate: &Arc<Gate>, loopback_only: bool) {
    if !has_net(gate.capabilities()) {
        return;
    }
    let gate = gate.clone();
    wasi.allow_tcp(true).socket_addr_check(move |addr, use_| {
        let allowed = match use_ {
            // The implicit bind a connect performs, to the wildcard address.
            SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
            SocketAddrUse::TcpConnect => {
                let resource = addr.to_string();
                if loopback_only && !addr.ip().is_loopback() {
                    let why = format!("net `{resource}` is off this loopback-only host");
                    gate.deny(CapabilityKind::Net, &resource, why);
                    false
                } else {
                    gate.check(CapabilityKind::Net, &resource).is_ok()
                }
            }
            _ => false,
        };
        Box::pin(async move { allowed })
    });
}

fn has_net(capabilities: &EffectiveCapabilities) -> bool {
    !capabilities.effective().get(CapabilityKind::Net).is_empty()
}
