//! Keys in OpenSSH's formats: the server's host key, the `authorized_keys`
//! file that says who may log in (both held to sshd's StrictModes), and the
//! client's `known_hosts`.

pub mod authorized_keys;
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
