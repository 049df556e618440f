//! Keys in OpenSSH's formats: the server's host key, the `authorized_keys`
//! file that says who may log in (both held to sshd's StrictModes), and the
//! client's `known_hosts`.

pub mod authorized_keys;
pub mod certificate;
pub mod host_key;
pub mod known_hosts;
pub mod strict_modes;

use color_eyre::eyre::eyre;
use russh::keys::{Algorithm, HashAlg, PrivateKey, PublicKey};

/// A new ed25519 key in memory (an ephemeral host key, or the client key
/// of an embedded `sesh test` run).
pub fn generate_ed25519() -> color_eyre::Result<PrivateKey> {
    let mut rng = russh::keys::key::safe_rng();
    PrivateKey::random(&mut rng, Algorithm::Ed25519).map_err(|e| eyre!("could not generate a key: {e}"))
}

/// The `SHA256:...` fingerprint `ssh-keygen -l` prints for a key.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The lines of an OpenSSH text file, numbered from 1, without the CR of a
/// CRLF ending. A line that is not UTF-8 comes back as `Err`, so one stray
/// byte costs that line only, never the whole file.
pub(crate) fn numbered_lines(
    bytes: &[u8],
) -> impl Iterator<Item = (usize, Result<&str, std::str::Utf8Error>)> {
    bytes.split(|&b| b == b'\n').enumerate().map(|(index, line)| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (index + 1, std::str::from_utf8(line))
    })
}
