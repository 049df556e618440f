//! The server's host key: loaded from a file, created on first start, or
//! made fresh in memory for tests.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{WrapErr, eyre};
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::{Certificate, PrivateKey};

use super::strict_modes::{self, Kind};

/// Where the host key lives when no `--host-key` is given:
/// `$XDG_STATE_HOME/sesh/ssh_host_ed25519_key`, `~/.local/state` when unset.
pub fn default_path() -> color_eyre::Result<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => crate::home_dir()?.join(".local/state"),
    };
    Ok(state.join("sesh").join("ssh_host_ed25519_key"))
}

/// Loads the host key at `path`, creating an ed25519 key there (mode 0600
/// in directories made 0700, OpenSSH format, with a `.pub` beside it) when
/// the file does not exist. With `strict_uid`, the file must pass
/// StrictModes for that account before it is read.
pub fn load_or_create(path: &Path, strict_uid: Option<u32>) -> color_eyre::Result<PrivateKey> {
    let created = match std::fs::metadata(path) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(create(path)?),
        Err(e) => return Err(e).wrap_err_with(|| format!("could not read host key {}", path.display())),
    };
    // A key just created is checked too: the directories above it may
    // still let others replace it.
    let checked = match strict_uid {
        Some(uid) => strict_modes::check(path, Kind::HostKey, uid)?,
        None => path.to_path_buf(),
    };
    match created {
        Some(key) => Ok(key),
        None => russh::keys::load_secret_key(&checked, None)
            .map_err(|e| eyre!("could not read host key {}: {e}", path.display())),
    }
}

fn create(path: &Path) -> color_eyre::Result<PrivateKey> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // 0700 like ~/.ssh: nobody else needs to list a private key's home.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .wrap_err_with(|| format!("could not create {}", dir.display()))?;
    }
    let mut key = super::generate_ed25519()?;
    key.set_comment("sesh host key");
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| eyre!("could not encode host key: {e}"))?;
    // create_new: a key that appeared since the caller looked is never
    // overwritten; 0600 from the first byte, never readable by others.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .wrap_err_with(|| format!("could not write host key {}", path.display()))?;
    let public = key
        .public_key()
        .to_openssh()
        .map_err(|e| eyre!("could not encode host key: {e}"))?;
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    let pub_path = PathBuf::from(pub_path);
    std::fs::write(&pub_path, format!("{public}\n"))
        .wrap_err_with(|| format!("could not write {}", pub_path.display()))?;
    tracing::info!(path = %path.display(), "created a new host key");
    Ok(key)
}

/// Loads the host certificate at `path` and checks that it certifies
/// `host_key` as a host: anything else would be offered and then fail
/// every client's check.
pub fn load_certificate(path: &Path, host_key: &PrivateKey) -> color_eyre::Result<Certificate> {
    let shown = path.display();
    let cert =
        Certificate::read_file(path).map_err(|e| eyre!("could not read host certificate {shown}: {e}"))?;
    if cert.cert_type() != CertType::Host {
        return Err(eyre!("{shown} is a user certificate, not a host certificate"));
    }
    if cert.public_key() != host_key.public_key().key_data() {
        let certified = super::certificate::inner_key(&cert);
        return Err(eyre!(
            "host certificate {shown} is for the key {}, not the host key {}",
            super::fingerprint(&certified),
            super::fingerprint(host_key.public_key())
        ));
    }
    let now = super::certificate::now();
    if now >= cert.valid_before() || now < cert.valid_after() {
        tracing::warn!("host certificate {shown} is outside its validity window: clients will refuse it");
    }
    Ok(cert)
}
