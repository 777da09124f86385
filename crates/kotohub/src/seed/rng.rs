//! A small deterministic random number generator (SplitMix64). The demo data must be the
//! same on every machine and every run for a given seed, so that tests, benchmarks and
//! screenshots agree; a cryptographic or OS-seeded generator would defeat that.

use chrono::NaiveDate;

pub struct Rng(u64);

impl Rng {
    /// A generator for one purpose (`stream`) under one seed, independent of the others,
    /// so that adding records to one division does not shift another division's data.
    pub fn new(seed: u64, stream: &str) -> Self {
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        for byte in stream.bytes() {
            state = (state ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
        }
        Self(state)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: i32, high: i32) -> i32 {
        low + self.below((high - low + 1) as u64) as i32
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One of `items`, each as likely as its weight.
    pub fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut pick = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        for (item, weight) in items {
            if pick < *weight {
                return item;
            }
            pick -= weight;
        }
        &items.last().expect("weighted choice from an empty list").0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A day in the years `from..=to`.
    pub fn date_in(&mut self, from: i32, to: i32) -> NaiveDate {
        let year = self.between(from, to);
        let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("January 1st exists");
        first + chrono::Days::new(self.below(365))
    }

    /// A day `min..=max` days after `date`, or `None` past the end of the data (2025).
    pub fn days_after(&mut self, date: NaiveDate, min: u64, max: u64) -> Option<NaiveDate> {
        let day = date + chrono::Days::new(min + self.below(max - min + 1));
        (day <= last_day()).then_some(day)
    }
}

/// The last day the demo data covers.
pub fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).expect("a valid date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_independent() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(1, "x");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(1, "x");
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(1, "y");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn weighted_choice_follows_weights() {
        let mut rng = Rng::new(7, "w");
        let items = [("a", 80.0), ("b", 20.0)];
        let a = (0..10_000).filter(|_| *rng.weighted(&items) == "a").count();
        assert!((7_700..8_300).contains(&a), "{a}");
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::new(3, "b");
        assert!((0..1000).all(|_| rng.below(7) < 7));
        assert!(
            (0..1000)
                .map(|_| rng.between(-2, 2))
                .all(|v| (-2..=2).contains(&v))
        );
    }
}
