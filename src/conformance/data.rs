//! Reproducible test data: what `seq 1 n` prints, and pseudo-random bytes
//! (xorshift) that make a lost or reordered byte show.

/// What `seq 1 n` prints.
pub fn seq(n: u32) -> Vec<u8> {
    (1..=n).map(|i| format!("{i}\n")).collect::<String>().into_bytes()
}

/// `len` pseudo-random bytes from `seed`; the same seed gives the same bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
