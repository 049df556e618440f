//! The server's host key: loaded from a file, created on first start, or
//! made fresh in memory for tests.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{WrapErr, eyre};
use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;

/// Where the host key lives when no `--host-key` is given:
/// `$XDG_STATE_HOME/sesh/ssh_host_ed25519_key`, `~/.local/state` when unset.
pub fn default_path() -> color_eyre::Result<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => crate::home_dir()?.join(".local/state"),
    };
    Ok(state.join("sesh").join("ssh_host_ed25519_key"))
}

/// Loads the host key at `path`, creating an ed25519 key there (mode 0600,
/// OpenSSH format, with a `.pub` beside it) when the file does not exist.
pub fn load_or_create(path: &Path) -> color_eyre::Result<PrivateKey> {
    match std::fs::metadata(path) {
        Ok(_) => russh::keys::load_secret_key(path, None)
            .map_err(|e| eyre!("could not read host key {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(e).wrap_err_with(|| format!("could not read host key {}", path.display())),
    }
}

fn create(path: &Path) -> color_eyre::Result<PrivateKey> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("could not create {}", dir.display()))?;
    }
    let mut key = super::generate_ed25519()?;
    key.set_comment("sesh host key");
    // ssh-key writes private keys with mode 0600.
    key.write_openssh_file(path, LineEnding::LF)
        .map_err(|e| eyre!("could not write host key {}: {e}", path.display()))?;
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
