//! The test host: what the test sets up (configuration, grants, mode, canned answers) and
//! what the components it runs leave behind (logs, files, stored data, outgoing messages).

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use airssys_contract::storage::{MemoryStore, Quota};
use airssys_contract::{Capabilities, CapabilityKind, Mode, PatternError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::files::Files;
use super::http::{Routes, SentRequest};
use super::logs::LogLine;
use super::msg::{Mailroom, Outgoing};
use super::process::{Programs, RanCommand};
use crate::http::Response as HttpResponse;
use crate::msg::MsgError;
use crate::process::Output;
use crate::storage::StorageError;
use crate::{Error, Payload, Request};

/// The instant a test host's clock starts at: 2025-01-01T00:00:00Z.
pub const START_TIME: Duration = Duration::from_secs(1_735_689_600);

/// A host for a component's native tests: it serves every host API the component calls
/// (configuration, logs, the clock, files, processes, HTTP, messaging, storage) from memory
/// and a temporary directory, decides capabilities as the real host does, and records what
/// the component did. Nothing reaches the network, and no file outside its temporary
/// directory.
///
/// Set it up with the builder methods (consuming `self`), start a component with
/// [`start`](Self::start), then look at what happened with the `&self` methods. Clones share
/// one host. It serves one test thread (a component's state is one per thread).
///
/// | setting | default |
/// |---|---|
/// | [`mode`](Self::mode) | [`Mode::Strict`], as the host: every declared capability must be granted |
/// | [`grant`](Self::grant) | nothing granted |
/// | [`config`](Self::config) | no entries |
/// | [`clock_at`](Self::clock_at) | [`START_TIME`], still until [`advance`](Self::advance) |
/// | [`storage_quota`](Self::storage_quota), [`max_namespaces`](Self::max_namespaces) | the host's defaults (`Quota::default()`, 64) |
#[derive(Clone, Default)]
pub struct TestHost {
    pub(crate) inner: Rc<Inner>,
}

/// Everything a test host holds; shared by the components it runs.
#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) setup: RefCell<Setup>,
    pub(crate) clock: Clock,
    pub(crate) logs: RefCell<Vec<LogLine>>,
    pub(crate) store: MemoryStore,
    pub(crate) files: Files,
    pub(crate) routes: RefCell<Routes>,
    pub(crate) programs: RefCell<Programs>,
    pub(crate) mailroom: RefCell<Mailroom>,
    correlation: Cell<u64>,
}

/// What components start with.
pub(crate) struct Setup {
    pub(crate) config: Vec<(String, String)>,
    pub(crate) grants: Capabilities,
    /// The first malformed pattern given, reported when a component starts.
    pub(crate) bad_grant: Option<PatternError>,
    pub(crate) mode: Mode,
    pub(crate) quota: Quota,
    pub(crate) namespaces: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            config: Vec::new(),
            grants: Capabilities::default(),
            bad_grant: None,
            mode: Mode::Strict,
            quota: Quota::default(),
            namespaces: 64,
        }
    }
}

/// The host's wall clock, which moves only when the test says.
pub(crate) struct Clock(Cell<SystemTime>);

impl Default for Clock {
    fn default() -> Self {
        Self(Cell::new(SystemTime::UNIX_EPOCH + START_TIME))
    }
}

impl Clock {
    pub(crate) fn now(&self) -> SystemTime {
        self.0.get()
    }
}

impl Inner {
    /// A correlation id for a request, unique within the test host.
    pub(crate) fn correlation_id(&self) -> u64 {
        let id = self.correlation.get() + 1;
        self.correlation.set(id);
        id
    }
}

impl TestHost {
    /// A host with the defaults in the table above.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_setup(self, change: impl FnOnce(&mut Setup)) -> Self {
        change(&mut self.inner.setup.borrow_mut());
        self
    }

    /// Adds a configuration entry; components read it in `init`, as from the operator's
    /// `--config key=value`.
    pub fn config(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let entry = (key.into(), value.into());
        self.with_setup(|setup| setup.config.push(entry))
    }

    /// Grants `pattern` of `kind`, as an operator does: a component may use what it declared
    /// and a grant allows. A malformed pattern fails [`start`](Self::start) with
    /// [`CallError::InvalidGrant`](super::CallError::InvalidGrant).
    pub fn grant(self, kind: CapabilityKind, pattern: &str) -> Self {
        self.with_setup(|setup| {
            if let Err(err) = setup.grants.add(kind, pattern) {
                setup.bad_grant.get_or_insert(err);
            }
        })
    }

    /// How declared capabilities that are not granted are treated, as the host's
    /// [`Mode`]: strict refuses to start the component, permissive denies the calls that need
    /// them, development grants whatever the component declares.
    pub fn mode(self, mode: Mode) -> Self {
        self.with_setup(|setup| setup.mode = mode)
    }

    /// The quota of every storage namespace a component writes, on top of each namespace's
    /// default (the host's `Limits::storage`).
    pub fn storage_quota(self, quota: Quota) -> Self {
        self.with_setup(|setup| setup.quota = quota)
    }

    /// Most distinct storage namespaces a component may open (the host's
    /// `Limits::namespaces`).
    pub fn max_namespaces(self, namespaces: usize) -> Self {
        self.with_setup(|setup| setup.namespaces = namespaces)
    }

    /// Sets the clock (`airssys::now`, message timestamps) to `time`.
    pub fn clock_at(self, time: SystemTime) -> Self {
        self.inner.clock.0.set(time);
        self
    }

    /// Answers an `airssys::http` request of `method` to exactly `url` with `response`. A
    /// request nothing answers fails with [`ErrorKind::Unavailable`](crate::ErrorKind),
    /// naming it; a redirect answered here is followed as the host follows it.
    pub fn respond(self, method: &str, url: &str, response: HttpResponse) -> Self {
        self.inner.routes.borrow_mut().add(method, url, response);
        self
    }

    /// Answers `airssys::process` running exactly `program` with `args` with `output`. A
    /// command nothing answers fails with [`ErrorKind::NotFound`](crate::ErrorKind), as a
    /// program missing from the host's `PATH` does.
    pub fn program<S: Into<String>>(
        self,
        program: &str,
        args: impl IntoIterator<Item = S>,
        output: Output,
    ) -> Self {
        let args = args.into_iter().map(Into::into).collect();
        self.inner
            .programs
            .borrow_mut()
            .add(program.to_owned(), args, output);
        self
    }

    /// Runs a component at `address` that takes messages and answers requests with `reply`
    /// (given the request as the component would receive it). Requests to an address with no
    /// component fail with [`MsgError::NoSuchComponent`], as under the host.
    pub fn reply(
        self,
        address: &str,
        reply: impl Fn(Request) -> Result<Payload, MsgError> + 'static,
    ) -> Self {
        self.inner
            .mailroom
            .borrow_mut()
            .peer(address, Some(Rc::new(reply)));
        self
    }

    /// [`reply`](Self::reply) with JSON on both sides: `reply` gets the decoded query, and an
    /// error it returns reaches the requester as the target's own
    /// ([`MsgError::Target`]).
    pub fn reply_json<Q, R>(
        self,
        address: &str,
        reply: impl Fn(Q) -> Result<R, Error> + 'static,
    ) -> Self
    where
        Q: DeserializeOwned,
        R: Serialize,
    {
        self.reply(address, move |request| {
            let query = request.json().map_err(MsgError::Target)?;
            let answer = reply(query).map_err(MsgError::Target)?;
            Payload::json(&answer).map_err(MsgError::Target)
        })
    }

    /// Runs a component at `address` that takes messages and handles no requests (they fail
    /// with the target's `unsupported` error, as the SDK's default `on_request` does).
    pub fn peer(self, address: &str) -> Self {
        self.inner.mailroom.borrow_mut().peer(address, None);
        self
    }

    /// Subscribes the component at `address` to topics matching `pattern` (`orders.*`), so
    /// publishes that match count it as delivered.
    pub fn subscriber(self, address: &str, pattern: &str) -> Self {
        self.inner.mailroom.borrow_mut().subscribe(address, pattern);
        self
    }

    /// The clock's time.
    pub fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let clock = &self.inner.clock.0;
        clock.set(clock.get() + by);
    }

    /// Every `airssys::log` event (and `info!`, `warn!`, ...) so far, in order.
    pub fn logs(&self) -> Vec<LogLine> {
        self.inner.logs.borrow().clone()
    }

    /// Every `airssys::http` request sent so far (refused ones are not sent), in order.
    pub fn http_requests(&self) -> Vec<SentRequest> {
        self.inner.routes.borrow().sent().to_vec()
    }

    /// Every command run so far (refused ones are not run), in order.
    pub fn commands(&self) -> Vec<RanCommand> {
        self.inner.programs.borrow().ran().to_vec()
    }

    /// Every send, request and publish that passed its checks, in order.
    pub fn outgoing(&self) -> Vec<Outgoing> {
        self.inner.mailroom.borrow().outgoing().to_vec()
    }

    /// The payloads sent or requested to `address`, in order.
    pub fn sent_to(&self, address: &str) -> Vec<Payload> {
        self.inner.mailroom.borrow().sent_to(address)
    }

    /// The payloads published on `topic`, in order.
    pub fn published_on(&self, topic: &str) -> Vec<Payload> {
        self.inner.mailroom.borrow().published_on(topic)
    }

    /// Where the guest path `path` (absolute) lives on disk: inside the host's temporary
    /// directory, which is made on first use and removed with the host.
    pub fn path(&self, path: &str) -> std::io::Result<PathBuf> {
        self.inner.files.real(path)
    }

    /// Writes a file at the guest path `path`, making its directories, for a component to
    /// read (if it may).
    pub fn write_file(&self, path: &str, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
        let real = self.path(path)?;
        if let Some(parent) = real.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(real, contents)
    }

    /// The file at the guest path `path`.
    pub fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path(path)?)
    }

    /// Stores `value` under `key` in `namespace`, as the embedder's `Storage` would, for a
    /// component to find.
    pub fn store(
        &self,
        namespace: &str,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), StorageError> {
        super::storage::seed(&self.inner.store, namespace, key.as_ref(), value.as_ref())
    }

    /// [`store`](Self::store) of `value` as JSON.
    pub fn store_json<T: Serialize + ?Sized>(
        &self,
        namespace: &str,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> Result<(), StorageError> {
        self.store(namespace, key, serde_json::to_vec(value)?)
    }

    /// What `key` holds in `namespace`, if anything.
    pub fn stored(
        &self,
        namespace: &str,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        super::storage::peek(&self.inner.store, namespace, key.as_ref())
    }

    /// [`stored`](Self::stored), decoded from JSON.
    pub fn stored_json<T: DeserializeOwned>(
        &self,
        namespace: &str,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<T>, StorageError> {
        self.stored(namespace, key)?
            .map(|value| serde_json::from_slice(&value))
            .transpose()
            .map_err(StorageError::from)
    }
}
