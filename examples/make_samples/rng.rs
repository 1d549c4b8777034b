//! A small deterministic pseudo-random generator (SplitMix64), so every run writes the same bytes.
//!
//! Takes: a seed (scenarios derive theirs from their file name, see [`Rng::for_name`]).
//! Produces: integers, durations with 100 ns resolution (the resolution of Windows event times),
//! GUIDs shaped like the ActivityIDs Windows writes, and picks from lists. No dependency, no
//! global state: each scenario owns its generator, so scenarios do not disturb each other.

use chrono::Duration;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for sample data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from a name (FNV-1a of its bytes), mixed with `extra`.
    pub fn for_name(name: &str, extra: u64) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(hash ^ extra.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// A new generator for a sub-task, so adding draws in one place leaves the others unchanged.
    pub fn fork(&mut self, label: &str) -> Rng {
        Rng::for_name(label, self.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// A duration between `lo_ms` and `hi_ms` milliseconds, with 100 ns resolution.
    pub fn millis(&mut self, lo_ms: u64, hi_ms: u64) -> Duration {
        let ticks = self.range(lo_ms * 10_000, hi_ms * 10_000);
        Duration::nanoseconds(ticks as i64 * 100)
    }

    /// A duration between `lo` and `hi` seconds, with 100 ns resolution.
    pub fn secs(&mut self, lo: f64, hi: f64) -> Duration {
        self.millis((lo * 1000.0) as u64, (hi * 1000.0) as u64)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 99) < percent
    }

    /// One item of a non-empty list.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.range(0, items.len().saturating_sub(1) as u64) as usize;
        &items[i]
    }

    /// A random GUID in Windows' text form, lower case, in braces.
    pub fn guid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// An ActivityID as the RDP components write them: random, the last two bytes zero
    /// (`{f46273a3-5649-45dc-b3c4-243e3c910000}` in a real RdpCoreTS log).
    pub fn activity(&mut self) -> String {
        let g = self.guid();
        format!("{}0000}}", &g[..g.len() - 5])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::for_name("x", 1);
        let mut b = Rng::for_name("x", 1);
        assert_eq!(a.next_u64(), b.next_u64());
        assert!(a.activity().ends_with("0000}"));
        assert_eq!(a.guid().len(), 38);
    }
}
