//! Transport tuning shared by `sesh serve` and `sesh exec`: which cipher
//! to prefer, and why; the host certificate types `sesh exec` asks for;
//! and how far a channel's receive window may grow.

use std::borrow::Cow;

use russh::cipher;
use russh::keys::{Algorithm, EcdsaCurve, HashAlg};

/// The default cap of a channel's receive window (`--window-max`). Each
/// channel starts at russh's 2 MiB and grows, while the peer keeps it full,
/// to twice the bytes that arrive per round trip (vendor/russh's
/// window_tuner.rs): 64 MiB carries 640 MB/s over a 100 ms path. The cap
/// does not bound memory (data is taken off the wire only as fast as the
/// consumer or the spill takes it); it bounds what one channel may have in
/// flight.
pub const WINDOW_MAX: u32 = 64 << 20;

/// Algorithm preferences: russh's defaults with the cipher order chosen
/// for this CPU. In SSH the client's order decides, so the order matters
/// for `sesh exec`; `sesh serve` offers the same list to any client.
pub fn preferred() -> russh::Preferred {
    russh::Preferred {
        cipher: Cow::Owned(ciphers(hardware_aes())),
        // Client only (a server offers the certificates it has): ask for
        // host certificates first, as ssh does. One no CA vouches for
        // falls back to its plain key (client/host_key.rs).
        host_key_certificates: Cow::Owned(vec![
            Algorithm::Ed25519,
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP384,
            },
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP521,
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ]),
        ..russh::Preferred::default()
    }
}

/// [`preferred`] for a host whose known_hosts entries are `on_file`, with
/// the host key algorithms ordered as ssh orders them: the types on file
/// first; host certificates only when a CA line names the host (a
/// certificate no CA vouches for is checked by its plain key anyway). A
/// host with nothing on file gets the default order. The first host key
/// algorithm must match the server's for the key exchange guess to count.
pub fn preferred_for(on_file: &crate::client::host_key::OnFile) -> russh::Preferred {
    let mut preferred = preferred();
    if on_file.algorithms.is_empty() {
        return preferred;
    }
    let known = |a: &Algorithm| on_file.algorithms.iter().any(|b| same_key_type(a, b));
    let (mut key, rest): (Vec<Algorithm>, Vec<Algorithm>) = preferred.key.iter().cloned().partition(known);
    key.extend(rest);
    preferred.key = Cow::Owned(key);
    if !on_file.authority {
        preferred.host_key_certificates = Cow::Borrowed(&[]);
    }
    preferred
}

/// Whether two algorithms take the same kind of key (RSA's hashes are one).
fn same_key_type(a: &Algorithm, b: &Algorithm) -> bool {
    match (a, b) {
        (Algorithm::Rsa { .. }, Algorithm::Rsa { .. }) => true,
        _ => a == b,
    }
}

/// AES-GCM first where the CPU has AES and carry-less multiply
/// instructions: on loopback it moved 1 GiB at about 1.6x the rate of
/// chacha20-poly1305 (russh's first choice) in sesh exec -> sesh serve.
/// Without them, software AES is slow and chacha20 leads. aes128-gcm is
/// offered for OpenSSH clients that ask for it; it measured no faster than
/// aes256-gcm here, so the stronger one leads.
fn ciphers(hardware_aes: bool) -> Vec<cipher::Name> {
    let aead = if hardware_aes {
        [
            cipher::AES_256_GCM,
            cipher::AES_128_GCM,
            cipher::CHACHA20_POLY1305,
        ]
    } else {
        [
            cipher::CHACHA20_POLY1305,
            cipher::AES_256_GCM,
            cipher::AES_128_GCM,
        ]
    };
    let ctr = [cipher::AES_256_CTR, cipher::AES_192_CTR, cipher::AES_128_CTR];
    aead.into_iter().chain(ctr).collect()
}

fn hardware_aes() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes") && std::arch::is_aarch64_feature_detected!("pmull")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_gcm_leads_only_with_hardware_aes() {
        assert_eq!(ciphers(true)[0], cipher::AES_256_GCM);
        assert_eq!(ciphers(false)[0], cipher::CHACHA20_POLY1305);
        // Every cipher russh prefers by default stays on offer.
        for name in russh::Preferred::default().cipher.iter() {
            assert!(
                ciphers(true).contains(name) && ciphers(false).contains(name),
                "{name:?}"
            );
        }
    }

    #[test]
    fn host_key_types_on_file_lead() {
        use crate::client::host_key::OnFile;
        let p256 = Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        };
        // Nothing on file: the default, certificates first.
        let default = preferred_for(&OnFile::default());
        assert_eq!(default.key[0], Algorithm::Ed25519);
        assert!(!default.host_key_certificates.is_empty());
        // An ECDSA key on file: ECDSA first, every other type after, and
        // no certificates without a CA for the host.
        let ecdsa = preferred_for(&OnFile {
            algorithms: vec![p256.clone()],
            authority: false,
        });
        assert_eq!(ecdsa.key[0], p256);
        assert_eq!(ecdsa.key.len(), default.key.len());
        assert!(ecdsa.host_key_certificates.is_empty());
        // An RSA key (ssh-rsa) puts both SHA-2 RSA algorithms first; a CA
        // line keeps the certificates.
        let rsa = preferred_for(&OnFile {
            algorithms: vec![Algorithm::Rsa { hash: None }],
            authority: true,
        });
        assert!(matches!(rsa.key[0], Algorithm::Rsa { .. }));
        assert!(matches!(rsa.key[1], Algorithm::Rsa { .. }));
        assert!(!rsa.host_key_certificates.is_empty());
    }
}
