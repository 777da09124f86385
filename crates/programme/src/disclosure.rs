//! Disclosure control for the statistics tables: what a count may show, decided for each
//! cell before it leaves the programme subgraph.
//!
//! The method is the cell-key method with a threshold (`docs/disclosure-control.md` says
//! why and what it guarantees). Every row of the statistics register carries a fixed random
//! record key, the same on all the rows of one client. A cell's key is the sum of its
//! contributors' keys (each client, or each event, once), so it is a function of who is in
//! the cell and of nothing else: not of the table, the dimensions asked, the filter or the
//! order. The noise added to the cell's count is a fixed function of that key. The same
//! people therefore get the same published count in every table an analyst can ask, and
//! asking again, or asking another way, never averages the noise away; a difference of two
//! published counts carries the noise of both.
//!
//! On top of the noise the threshold rule holds: a true count of 1–4 is never published,
//! and neither is a noisy count below five. Zero stays zero, since an empty cell has no
//! contributors to take a key from.

/// The largest count that is never shown.
pub const THRESHOLD: i64 = 4;

/// Whether a count would identify a small group.
pub fn is_small(count: i64) -> bool {
    (1..=THRESHOLD).contains(&count)
}

/// Record keys are below this, so that a sum over a million clients fits in SQL's 64-bit
/// integers on both backends.
pub const RECORD_KEY_RANGE: i64 = 1 << 31;

/// The largest noise ever added to or taken from a count. A published count is within
/// this of the true one; it is wide so that no set of published counts can fix a hidden
/// one, while the chance of noise near it is negligible (see [`NOISE_DECAY`]).
pub const MAX_NOISE: i64 = 20;

/// Each step further from zero makes a noise value this much less likely: noise is zero
/// a third of the time, ±1 a third, and its standard deviation is 2.
pub const NOISE_DECAY: f64 = 0.5;

/// What a cell counts, so that the noise of one kind of count is independent of another's
/// even when their keys are equal. Counts of sets of people (clients, and those of them
/// with an outcome) share one kind: the same people get the same number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Clients,
    Events,
    Participants,
}

impl Counted {
    fn salt(self) -> u64 {
        match self {
            Self::Clients => 0x6b6f_746f_0000_0001,
            Self::Events => 0x6b6f_746f_0000_0002,
            Self::Participants => 0x6b6f_746f_0000_0003,
        }
    }
}

/// The count published for a cell whose true count is `count` and whose contributors'
/// keys sum to `key`; `None` when it must be suppressed.
pub fn publish(count: i64, key: i64, counted: Counted) -> Option<i64> {
    if count == 0 {
        return Some(0);
    }
    if is_small(count) {
        return None;
    }
    let published = count + noise(key, counted);
    (published > THRESHOLD).then_some(published)
}

/// The noise for a cell key: a two-sided geometric distribution cut at [`MAX_NOISE`],
/// drawn by inverting its distribution function at a uniform number made from the key.
pub fn noise(key: i64, counted: Counted) -> i64 {
    // Only the key's low 32 bits take part, so a sum that SQL computed over any number of
    // rows gives the same noise as the same sum taken modulo 2^32.
    let low = u64::from(key as u32);
    let uniform = (mix(low ^ counted.salt()) >> 11) as f64 / (1u64 << 53) as f64;
    let weight = |k: i64| NOISE_DECAY.powi(k.unsigned_abs() as i32);
    let total: f64 = (-MAX_NOISE..=MAX_NOISE).map(weight).sum();
    let mut below = 0.0;
    for k in -MAX_NOISE..MAX_NOISE {
        below += weight(k) / total;
        if uniform < below {
            return k;
        }
    }
    MAX_NOISE
}

/// SplitMix64's finaliser: spreads every bit of the key over the whole result.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_never_published_and_zero_stays_zero() {
        for key in 0..1_000 {
            assert_eq!(publish(0, key, Counted::Clients), Some(0));
            for count in 1..=THRESHOLD {
                assert_eq!(publish(count, key, Counted::Clients), None);
            }
            for count in 5..40 {
                if let Some(shown) = publish(count, key * 7919, Counted::Events) {
                    assert!(shown > THRESHOLD, "{count} published as {shown}");
                    assert!((shown - count).abs() <= MAX_NOISE);
                }
            }
        }
    }

    #[test]
    fn the_same_key_always_gets_the_same_noise_and_keys_modulo_two_to_the_32_agree() {
        let key = 1_234_567_891;
        assert_eq!(
            noise(key, Counted::Clients),
            noise(key + (1 << 32), Counted::Clients)
        );
        assert_eq!(
            publish(120, key, Counted::Clients),
            publish(120, key, Counted::Clients)
        );
    }

    #[test]
    fn noise_follows_its_distribution() {
        // Over many keys: symmetric around zero, a third of it zero, sd near 2, none
        // beyond the bound.
        let draws: Vec<i64> = (0..200_000i64)
            .map(|i| noise(i.wrapping_mul(2_654_435_761), Counted::Clients))
            .collect();
        let n = draws.len() as f64;
        let mean = draws.iter().sum::<i64>() as f64 / n;
        let variance = draws
            .iter()
            .map(|&d| (d as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        let zeros = draws.iter().filter(|&&d| d == 0).count() as f64 / n;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!(
            (variance.sqrt() - 2.0).abs() < 0.1,
            "sd {}",
            variance.sqrt()
        );
        assert!((zeros - 1.0 / 3.0).abs() < 0.01, "zeros {zeros}");
        assert!(draws.iter().all(|d| d.abs() <= MAX_NOISE));
    }

    #[test]
    fn kinds_of_count_get_independent_noise() {
        let same = (0..10_000i64)
            .filter(|&key| {
                let key = key * 104_729;
                noise(key, Counted::Clients) == noise(key, Counted::Participants)
            })
            .count();
        // Independent draws agree about (1/3)² + 2·(1/6)² + … ≈ 0.2 of the time.
        assert!((1_500..2_700).contains(&same), "{same} of 10,000 agree");
    }
}
