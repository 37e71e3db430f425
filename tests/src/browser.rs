//! A real headless Chromium for tests of the dashboard, driven over WebDriver (`fantoccini`
//! against `chromedriver`). Chromium and its driver come from the distribution's packages
//! (`chromium`, `chromium-driver`) and are installed with `apt-get` when missing, once per
//! test process.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Map, Value, json};
use tempfile::TempDir;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long [`Browser::wait_for`] waits, unless told otherwise.
pub const WAIT: Duration = Duration::from_secs(30);

/// Installs Chromium and chromedriver from the distribution's packages unless both are
/// there; panics with what to do if that fails. Runs at most once per process.
pub fn ensure_chromium() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let outcome = INSTALLED.get_or_init(|| {
        if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
            return Ok(());
        }
        eprintln!("installing chromium and chromium-driver with apt-get (once)");
        let apt = |args: &[&str]| -> Result<(), String> {
            let status = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .status()
                .map_err(|err| format!("cannot run apt-get: {err}"))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("`apt-get {}` failed: {status}", args.join(" ")))
            }
        };
        apt(&["update"])?;
        apt(&[
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ])?;
        if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
            Ok(())
        } else {
            Err(format!(
                "apt-get installed the packages but {CHROMIUM} or {CHROMEDRIVER} is missing"
            ))
        }
    });
    if let Err(why) = outcome {
        panic!(
            "the dashboard tests need Chromium: {why}. Install it as root with `apt-get update && \
             apt-get install -y --no-install-recommends chromium chromium-driver`"
        );
    }
}

/// A headless Chromium with a fresh profile, and the chromedriver that drives it. Call
/// [`close`](Self::close) at the end; dropping it kills both.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session
    /// with a `width` x `height` window.
    pub async fn start(width: u32, height: u32) -> Self {
        ensure_chromium();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        // Its own process group, so a failed test can end the driver and its browser at once.
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {CHROMEDRIVER}: {err}"));
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut browser = Self {
            client: None,
            driver,
            profile,
        };
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", browser.profile.path().display()),
        ];
        let mut capabilities = Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(err) if Instant::now() > deadline => {
                    panic!("chromedriver at {url} opened no Chromium session within 30 s: {err}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        browser.client = Some(client);
        browser
    }

    /// The WebDriver session.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|err| panic!("cannot open {url}: {err}"));
    }

    /// The element `css` selects, once there is one (within [`WAIT`]).
    pub async fn find(&self, css: &str) -> Element {
        self.client()
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no element `{css}` appeared: {err}"))
    }

    /// The text of the element `css` selects ("" while there is none).
    pub async fn text(&self, css: &str) -> String {
        match self.client().find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the text of the element `css` selects satisfies `ready`, and returns it;
    /// panics after `within` naming `what` was awaited and the last text seen.
    pub async fn wait_for(
        &self,
        css: &str,
        within: Duration,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.text(css).await;
            if ready(&text) {
                return text;
            }
            if Instant::now() > deadline {
                panic!("waited {within:?} for {what} in `{css}`; it reads:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|err| panic!("cannot click `{css}`: {err}"));
    }

    /// Types `text` into the field `css` selects (for a file input: the file's path).
    pub async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("cannot type into `{css}`: {err}"));
    }

    /// Chooses the option of value `value` in the `<select>` that `css` selects.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("cannot choose `{value}` in `{css}`: {err}"));
    }

    /// Waits until the button `css` selects may be clicked, then clicks it.
    pub async fn click_when_enabled(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let button = self.find(css).await;
            if button.is_enabled().await.unwrap_or(false) {
                button
                    .click()
                    .await
                    .unwrap_or_else(|err| panic!("cannot click `{css}`: {err}"));
                return;
            }
            if Instant::now() > deadline {
                panic!("`{css}` stayed disabled for {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn eval(&self, script: &str) -> Result<Value, CmdError> {
        self.client().execute(script, Vec::new()).await
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client()
            .screenshot()
            .await
            .unwrap_or_else(|err| panic!("cannot take a screenshot: {err}"))
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The group is the driver's, made above: the driver and the browser it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
