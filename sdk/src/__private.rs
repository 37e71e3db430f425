//! Support for the code `#[airssys::component]` generates. Not public API: anything here may
//! change in any release.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Once;
use std::time::{Duration, SystemTime};

pub use wit_bindgen;

use crate::{Component, Config, ErrorKind, Health, Message, Payload, Request};

/// The wit-bindgen bindings of the `airssys:core/component` world.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "component",
        path: "../wit",
        runtime_path: "::airssys::__private::wit_bindgen::rt",
        default_bindings_module: "::airssys::__private::bindings",
        pub_export_macro: true,
        // The world also offers wasi:keyvalue, for components written without this SDK.
        generate_all,
    });
}

use bindings::airssys::core::types as wit;
use bindings::exports::airssys::core::lifecycle::Guest;

/// Where the macro keeps the one value of a component type per instance.
pub trait Registered: Component {
    /// Runs `f` on the instance's state cell (a `thread_local!` the macro emits).
    fn with_state<R>(f: impl FnOnce(&RefCell<Option<Self>>) -> R) -> R;
}

/// How the macro builds a component whose impl has no `init`: with `Default`, and a
/// diagnostic that names both fixes when the type has none.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `init` and does not implement `Default`",
    label = "this component needs a way to build its state",
    note = "add `#[derive(Default)]` to `{Self}`, or write `fn init(config: &Config) -> Result<Self>` in the impl"
)]
pub trait DefaultInit: Sized {
    /// Builds the initial state.
    fn default_init() -> Self;
}

impl<T: Default> DefaultInit for T {
    fn default_init() -> Self {
        T::default()
    }
}

/// Routes the lifecycle exports to a [`Component`] type.
pub struct Export<T>(PhantomData<T>);

impl<T: Registered> Guest for Export<T> {
    fn init(config: wit::Config) -> Result<(), wit::Error> {
        install_panic_hook();
        let state = T::init(&Config::new(config)).map_err(to_wit_error)?;
        T::with_state(|cell| *cell.borrow_mut() = Some(state));
        Ok(())
    }

    fn handle_message(message: wit::Message) -> Result<(), wit::Error> {
        let mut msg = Message::new(from_wit_payload(message.payload))
            .with_timestamp(from_wit_datetime(message.timestamp));
        if let Some(source) = message.source {
            msg = msg.with_source(source);
        }
        if let Some(topic) = message.topic {
            msg = msg.with_topic(topic);
        }
        with_instance::<T, _>(|c| c.on_message(msg))
    }

    fn handle_request(request: wit::Request) -> Result<wit::Payload, wit::Error> {
        let mut req = Request::new(from_wit_payload(request.payload))
            .with_correlation_id(request.correlation_id)
            .with_timestamp(from_wit_datetime(request.timestamp));
        if let Some(source) = request.source {
            req = req.with_source(source);
        }
        with_instance::<T, _>(|c| c.on_request(req)).map(|payload| {
            let (content_type, body) = payload.into_parts();
            wit::Payload { content_type, body }
        })
    }

    fn health() -> wit::HealthStatus {
        let health = T::with_state(|cell| match cell.borrow().as_ref() {
            Some(component) => component.health(),
            None => Health::Unhealthy("not initialised".to_owned()),
        });
        match health {
            Health::Healthy => wit::HealthStatus::Healthy,
            Health::Degraded(why) => wit::HealthStatus::Degraded(why),
            Health::Unhealthy(why) => wit::HealthStatus::Unhealthy(why),
        }
    }

    fn shutdown() {
        if let Some(mut component) = T::with_state(|cell| cell.borrow_mut().take()) {
            component.shutdown();
        }
    }

    fn snapshot() -> Result<Option<wit::Payload>, wit::Error> {
        let state = with_instance::<T, _>(|component| component.snapshot())?;
        Ok(state.map(|payload| {
            let (content_type, body) = payload.into_parts();
            wit::Payload { content_type, body }
        }))
    }

    fn restore(state: wit::Payload) -> Result<(), wit::Error> {
        with_instance::<T, _>(|component| component.restore(from_wit_payload(state)))
    }
}

fn with_instance<T: Registered, R>(
    f: impl FnOnce(&mut T) -> crate::Result<R>,
) -> Result<R, wit::Error> {
    T::with_state(|cell| match cell.borrow_mut().as_mut() {
        Some(component) => f(component).map_err(to_wit_error),
        None => Err(wit::Error {
            kind: wit::ErrorKind::Unavailable,
            message: "the component is not initialised: init must succeed first".to_owned(),
        }),
    })
}

fn from_wit_payload(payload: wit::Payload) -> Payload {
    Payload::new(payload.content_type, payload.body)
}

/// A WIT `datetime` as the SDK's time type.
pub(crate) fn from_wit_datetime(time: wit::Datetime) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(time.seconds, time.nanoseconds)
}

/// A host error as the SDK's [`Error`](crate::Error).
pub fn from_wit_error(err: wit::Error) -> crate::Error {
    let kind = match err.kind {
        wit::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
        wit::ErrorKind::NotFound => ErrorKind::NotFound,
        wit::ErrorKind::Denied => ErrorKind::Denied,
        wit::ErrorKind::Unsupported => ErrorKind::Unsupported,
        wit::ErrorKind::Unavailable => ErrorKind::Unavailable,
        wit::ErrorKind::Timeout => ErrorKind::Timeout,
        wit::ErrorKind::Internal => ErrorKind::Internal,
    };
    crate::Error::new(kind, err.message)
}

fn to_wit_error(err: crate::Error) -> wit::Error {
    let kind = match err.kind() {
        ErrorKind::InvalidInput => wit::ErrorKind::InvalidInput,
        ErrorKind::NotFound => wit::ErrorKind::NotFound,
        ErrorKind::Denied => wit::ErrorKind::Denied,
        ErrorKind::Unsupported => wit::ErrorKind::Unsupported,
        ErrorKind::Unavailable => wit::ErrorKind::Unavailable,
        ErrorKind::Timeout => wit::ErrorKind::Timeout,
        ErrorKind::Internal => wit::ErrorKind::Internal,
    };
    wit::Error {
        kind,
        message: err.message().to_owned(),
    }
}

/// Sends panic messages to the host before the panic aborts into a trap, so the host can
/// report why the instance died instead of a bare `unreachable`.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_owned());
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            crate::host::report_panic(&message, location.as_deref());
        }));
    });
}
