//! The order of a family's series by label values, worked out from the
//! indices into the collection's table before the series are converted, so
//! that conversion (which moves every series once anyway) writes them in
//! order and validation only confirms it. Values are compared by their rank
//! in the table (the table sorted once per collect), three labels packed
//! into one integer: sorting the resolved strings afterwards was 15 % of a
//! 500x10 HAProxy scrape's CPU.

use super::model::LabelValue;

/// Bits of one label's rank in a packed key: three labels fit a `u64`.
const BITS: u32 = 21;

/// The place of each value of a collection's table in byte order; equal
/// values share one.
pub struct Ranks(Vec<u32>);

impl Ranks {
    /// The ranks of `strings`.
    pub fn of(strings: &[LabelValue]) -> Ranks {
        let mut order: Vec<usize> = (0..strings.len()).collect();
        order.sort_unstable_by(|a, b| strings[*a].cmp(&strings[*b]));
        let mut ranks = vec![0; strings.len()];
        let mut rank = 0;
        for (k, &i) in order.iter().enumerate() {
            if k > 0 && strings[order[k - 1]] != strings[i] {
                rank += 1;
            }
            ranks[i] = rank;
        }
        Ranks(ranks)
    }
}

/// The positions of `count` series in label order, their values given by
/// `indices` (`n` per series) into `strings`; `None` when they are in
/// order already, or when the shape is one validation refuses or the keys
/// cannot be packed (more than three labels), which validation's own sort
/// then handles. `ranks` is made on first need and kept for the collect.
pub fn order(
    indices: &[u32],
    n: usize,
    count: usize,
    strings: &[LabelValue],
    ranks: &mut Option<Ranks>,
) -> Option<Vec<usize>> {
    if n == 0
        || n > 3
        || count < 2
        || indices.len() != n * count
        || strings.len() >= 1 << BITS
        || indices.iter().any(|i| *i as usize >= strings.len())
    {
        return None;
    }
    let values = |s: usize| &indices[s * n..(s + 1) * n];
    let before = |a: &[u32], b: &[u32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| {
                if x == y {
                    std::cmp::Ordering::Equal
                } else {
                    strings[*x as usize].cmp(&strings[*y as usize])
                }
            })
            .find(|o| o.is_ne())
            .is_some_and(|o| o.is_lt())
    };
    if (1..count).all(|s| before(values(s - 1), values(s))) {
        return None;
    }
    let ranks = ranks.get_or_insert_with(|| Ranks::of(strings));
    let mut keys: Vec<(u64, usize)> = (0..count)
        .map(|s| {
            let key = values(s).iter().fold(0u64, |key, i| {
                (key << BITS) | u64::from(ranks.0[*i as usize])
            });
            (key, s)
        })
        .collect();
    keys.sort_unstable();
    Some(keys.into_iter().map(|(_, s)| s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(v: &[&str]) -> Vec<LabelValue> {
        v.iter().map(|s| LabelValue::from(*s)).collect()
    }

    #[test]
    fn equal_values_rank_equal_and_ranks_follow_byte_order() {
        let strings = table(&["b", "a", "ab", "", "ü", "a", "B"]);
        assert_eq!(Ranks::of(&strings).0, [4, 2, 3, 0, 5, 2, 1]);
    }

    #[test]
    fn series_are_ordered_by_their_values_not_their_indices() {
        // A value twice in the table (index 1 and 5 are both "a").
        let strings = table(&["b", "a", "ab", "", "ü", "a", "B"]);
        let pairs: [[u32; 2]; 6] = [[4, 0], [1, 2], [5, 0], [3, 6], [2, 2], [0, 4]];
        let indices: Vec<u32> = pairs.iter().flatten().copied().collect();
        let mut ranks = None;
        let placed = order(&indices, 2, pairs.len(), &strings, &mut ranks).unwrap();
        let got: Vec<[&str; 2]> = placed
            .iter()
            .map(|s| pairs[*s].map(|i| &*strings[i as usize]))
            .collect();
        let mut want: Vec<[&str; 2]> = pairs
            .iter()
            .map(|p| p.map(|i| &*strings[i as usize]))
            .collect();
        want.sort();
        assert_eq!(got, want);
        // In order already, or a shape validation refuses: nothing to do.
        let sorted: Vec<u32> = [1, 2, 0].to_vec();
        assert_eq!(order(&sorted, 1, 3, &strings, &mut None), None);
        assert_eq!(order(&[1, 9], 1, 2, &strings, &mut None), None);
        assert_eq!(order(&[1, 0, 2], 1, 2, &strings, &mut None), None);
    }
}
