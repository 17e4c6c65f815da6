//! `h4mk keygen`, and the public keys `verify --trust` and `check-proof --trust` accept.

use std::io::Write;
use std::path::{Path, PathBuf};

use gsth4::crypto::signing::{PublicKey, SigningKey};

use crate::{CliResult, Outcome};

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the private key (PKCS#8 PEM, readable by its owner only)
    #[arg(short, long)]
    output: PathBuf,
    /// Where to write the public key (SPKI PEM) [default: the private key's path plus .pub]
    #[arg(long)]
    public: Option<PathBuf>,
}

/// Creates `path` for writing, refusing to replace a file; `private` files get mode 0600.
fn create_new(path: &Path, private: bool) -> Result<std::fs::File, Box<dyn std::error::Error>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    if private {
        o.mode(0o600);
    }
    o.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!("{} exists; a key is never overwritten", path.display()).into()
        }
        _ => format!("cannot create {}: {e}", path.display()).into(),
    })
}

pub fn keygen(a: Args) -> CliResult {
    let public_path = a.public.clone().unwrap_or_else(|| {
        let mut p = a.output.clone().into_os_string();
        p.push(".pub");
        p.into()
    });
    let (key, pkcs8) = SigningKey::generate()?;
    let mut private = create_new(&a.output, true)?;
    let mut public = match create_new(&public_path, false) {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_file(&a.output);
            return Err(e);
        }
    };
    private.write_all(SigningKey::pem_of(&pkcs8).as_bytes())?;
    private.sync_all()?;
    public.write_all(key.public().to_pem().as_bytes())?;
    public.sync_all()?;
    crate::say!(
        "ed25519 key {}: private key {}, public key {}",
        key.public().id(),
        a.output.display(),
        public_path.display()
    );
    Ok(Outcome::Ok)
}

/// The keys `--trust` names: public key files, and every `*.pub` file in a directory.
pub fn trusted(paths: &[PathBuf]) -> Result<Vec<PublicKey>, Box<dyn std::error::Error>> {
    let mut keys = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = 0;
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pub"))
                .collect();
            entries.sort();
            for p in entries {
                keys.push(PublicKey::read_file(&p)?);
                found += 1;
            }
            if found == 0 {
                return Err(format!("{} holds no *.pub key file", path.display()).into());
            }
        } else {
            keys.push(PublicKey::read_file(path)?);
        }
    }
    Ok(keys)
}
