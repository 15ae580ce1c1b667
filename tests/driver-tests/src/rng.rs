//! A small seedable random stream (xorshift64*) for the fuzzer, the stress test and the storms:
//! the same seed gives the same sequence, so every run can be replayed.

/// xorshift64*: not cryptographic, only fast and reproducible.
pub struct Rng(u64);

impl Rng {
    /// The stream of `seed` for worker `index`: workers of one run draw different sequences.
    pub fn new(seed: u64, index: u64) -> Self {
        Rng(seed ^ (index + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with the given probability in percent.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
