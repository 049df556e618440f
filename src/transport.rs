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
}
