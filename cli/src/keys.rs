//! `airssys keygen` and `airssys sign`: Ed25519 keys, and signatures on components (see
//! `airssys_host::SecretKey` for the format and docs/security.md for what they prove).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use airssys_host::SecretKey;
use anyhow::Context;

use crate::ui;

/// Arguments of `airssys keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// The key's name: kebab-case; signatures carry it and `airssys inspect` shows it.
    pub name: String,
    /// Where to write `NAME.key` (secret, 0600) and `NAME.pub`.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// Arguments of `airssys sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The secret key file (`NAME.key` from `airssys keygen`).
    #[arg(long, short)]
    pub key: PathBuf,
    /// The component to sign.
    pub file: PathBuf,
    /// Write the signed component here instead of over FILE.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Makes a key pair; refuses to overwrite an existing key.
pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let key = SecretKey::generate(&args.name)?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let secret = args.dir.join(format!("{}.key", args.name));
    let public = args.dir.join(format!("{}.pub", args.name));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&secret)
        .with_context(|| {
            format!(
                "cannot create {} (does it exist already?)",
                secret.display()
            )
        })?;
    file.write_all(key.to_text().as_bytes())?;
    std::fs::write(&public, key.public_key().to_text())
        .with_context(|| format!("cannot write {}", public.display()))?;
    ui::status("Created", &format!("{} (keep it secret)", secret.display()));
    ui::status(
        "Created",
        &format!(
            "{}: list it in `[signatures] trusted` of airssys.toml",
            public.display()
        ),
    );
    println!("{}", key.public_key().to_text().trim_end());
    Ok(())
}

/// Adds the key's signature to the component.
pub fn sign(args: SignArgs) -> anyhow::Result<()> {
    let key = SecretKey::from_file(&args.key)?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    airssys_host::inspect(&bytes)
        .with_context(|| format!("{} is not an airssys component", args.file.display()))?;
    let signed = key.sign(&bytes)?;
    let output = args.output.unwrap_or(args.file);
    std::fs::write(&output, signed)
        .with_context(|| format!("cannot write {}", output.display()))?;
    ui::status(
        "Signed",
        &format!(
            "{} by {} (ed25519 {})",
            output.display(),
            key.name(),
            key.public_key().hex()
        ),
    );
    Ok(())
}
