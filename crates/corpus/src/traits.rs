//! What an investigator would note on each body: sex, age and distinguishing marks.
//!
//! Drawn from an RNG of its own, seeded by the corpus seed and the body's index, so adding
//! these columns changed no image and no number of earlier corpora. The marks are English
//! phrases ("eagle tattoo on the left forearm"), joined by "; " in `ground_truth.csv`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::noise::mix;

pub(crate) const TAG_TRAITS: u64 = 0x5452_4149;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyTraits {
    /// "male" or "female".
    pub sex: &'static str,
    /// Age at death, years.
    pub age: u32,
    pub marks: Vec<String>,
}

const KINDS: [&str; 7] = [
    "scar",
    "burn scar",
    "mole",
    "birthmark",
    "tattoo",
    "tattoo",
    "surgical scar",
];
const MOTIFS: [&str; 8] = [
    "eagle", "anchor", "heart", "star", "rose", "sword", "crescent", "bird",
];
const SIDED: [&str; 11] = [
    "arm", "forearm", "hand", "wrist", "shoulder", "leg", "thigh", "knee", "foot", "cheek",
    "eyebrow",
];
const CENTRAL: [&str; 5] = ["chest", "back", "abdomen", "forehead", "neck"];

/// The traits of body `index` (0-based, as in the plan) of the corpus made with `seed`.
pub fn body_traits(seed: u64, index: usize) -> BodyTraits {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, TAG_TRAITS, index as u64));
    let sex = if rng.gen_bool(0.95) { "male" } else { "female" };
    let age = if rng.gen_bool(0.05) {
        rng.gen_range(15..18)
    } else {
        rng.gen_range(18..65)
    };
    let n = [0, 1, 1, 1, 2, 2, 3][rng.gen_range(0..7)];
    let mut marks = Vec::with_capacity(n);
    while marks.len() < n {
        let kind = KINDS[rng.gen_range(0..KINDS.len())];
        let what = if kind == "tattoo" {
            format!("{} tattoo", MOTIFS[rng.gen_range(0..MOTIFS.len())])
        } else {
            kind.to_string()
        };
        let place = if rng.gen_bool(0.7) {
            let side = if rng.gen_bool(0.5) { "left" } else { "right" };
            format!("{side} {}", SIDED[rng.gen_range(0..SIDED.len())])
        } else {
            CENTRAL[rng.gen_range(0..CENTRAL.len())].to_string()
        };
        let mark = format!("{what} on the {place}");
        if !marks.contains(&mark) {
            marks.push(mark);
        }
    }
    BodyTraits { sex, age, marks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traits_depend_only_on_seed_and_body() {
        assert_eq!(body_traits(1, 7), body_traits(1, 7));
        let all: Vec<BodyTraits> = (0..200).map(|i| body_traits(1, i)).collect();
        assert!(all.iter().any(|t| t.sex == "female"));
        assert!(all.iter().all(|t| (15..65).contains(&t.age)));
        assert!(all.iter().filter(|t| !t.marks.is_empty()).count() > 150);
        assert_ne!(
            all[..20],
            (0..20).map(|i| body_traits(2, i)).collect::<Vec<_>>()[..]
        );
    }
}
