//! Label blocks shared between the families of one body.
//!
//! Many families have the same series: every family about HAProxy's
//! servers is labelled `{backend="…",server="…"}` with the same values in
//! the same order, and validation gave those series the same label-value
//! strings (one `Arc<str>` per value of a collection). So the text
//! formats write a series' `{…}` once, keep it, and copy it for each
//! later family whose label names match and whose series at the same
//! place hold the same strings (compared by address, which stays unique
//! while the families are borrowed for the body). Writing the labels was
//! most of a sample line's cost.

use crate::exposition::model::{Family, LabelValue};

/// How many label-name lists' blocks are kept (a plugin's families come
/// in a few shapes: with a `code` label and without, by kind of object).
const SHAPES: usize = 4;

/// The most bytes of blocks kept for one list: 500 HAProxy backends of 10
/// servers take 175 KB. A family of a million series, which no other
/// family may share, keeps the blocks of its first few thousand only.
const KEPT_BYTES: usize = 1 << 20;

/// The kept blocks, and where the current family is in them. One lives in
/// each text encoder, for one body.
#[derive(Debug, Default)]
pub struct Blocks {
    shapes: Vec<Shape>,
    /// The current family's shape, and whether the family is writing it
    /// (the first family of its label names) or reading it.
    current: Option<(usize, bool)>,
    /// The address of the label values last asked about, and the place of
    /// their series in the family.
    last: usize,
    at: usize,
}

/// The blocks of the series of the first family with some label names.
#[derive(Debug)]
struct Shape {
    names: Vec<String>,
    /// Per series, the addresses of its label values.
    keys: Vec<usize>,
    /// The blocks, back to back, and where each ends.
    text: Vec<u8>,
    ends: Vec<usize>,
}

fn key(value: &LabelValue) -> usize {
    value.as_ptr() as usize
}

impl Blocks {
    /// Starts `family`. `usable`: its blocks depend on its label names and
    /// values alone (not on a quoted metric name).
    pub fn family(&mut self, family: &Family, usable: bool) {
        self.last = 0;
        self.at = 0;
        self.current = None;
        if !usable || family.label_names.is_empty() {
            return;
        }
        if let Some(k) = self
            .shapes
            .iter()
            .position(|s| s.names == family.label_names)
        {
            self.current = Some((k, false));
            return;
        }
        if self.shapes.len() == SHAPES {
            self.shapes.remove(0);
        }
        self.shapes.push(Shape {
            names: family.label_names.clone(),
            keys: Vec::new(),
            text: Vec::new(),
            ends: Vec::new(),
        });
        self.current = Some((self.shapes.len() - 1, true));
    }

    /// Appends the `{…}` of the series whose label values are `values`:
    /// copied when kept, else by `write`. The series of a family must be
    /// asked about in order, each line of a series in a row.
    pub fn labels(
        &mut self,
        out: &mut Vec<u8>,
        values: &[LabelValue],
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        let Some((k, writing)) = self.current else {
            return write(out);
        };
        let address = values.as_ptr() as usize;
        if address != self.last {
            if self.last != 0 {
                self.at += 1;
            }
            self.last = address;
        }
        let (at, shape) = (self.at, &mut self.shapes[k]);
        let width = shape.names.len();
        if writing
            && shape.ends.len() == at
            && values.len() == width
            && shape.text.len() < KEPT_BYTES
        {
            let start = out.len();
            write(out);
            shape.text.extend_from_slice(&out[start..]);
            shape.ends.push(shape.text.len());
            shape.keys.extend(values.iter().map(key));
            return;
        }
        let kept = shape.keys.get(at * width..(at + 1) * width);
        let same = kept.is_some_and(|kept| {
            values.len() == width && kept.iter().zip(values).all(|(k, v)| *k == key(v))
        });
        match (same, shape.ends.get(at)) {
            (true, Some(&end)) => {
                let start = if at == 0 { 0 } else { shape.ends[at - 1] };
                out.extend_from_slice(&shape.text[start..end]);
            }
            _ => write(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::model::{Kind, Value};

    fn family(name: &str, values: &[[&LabelValue; 2]]) -> Family {
        let mut f = Family::new(Kind::Gauge, name, "h").with_labels(&["a", "b"]);
        for (i, [x, y]) in values.iter().enumerate() {
            f.push(vec![String::new(), String::new()], Value::Gauge(i as f64));
            let series = std::sync::Arc::make_mut(&mut f.series);
            if let Some(s) = series.last_mut() {
                s.label_values = [(*x).clone(), (*y).clone()].into_iter().collect();
            }
        }
        f
    }

    /// The blocks of `family`'s series through `blocks`, and which of them
    /// were written rather than copied.
    fn blocks_of(blocks: &mut Blocks, family: &Family) -> (Vec<u8>, Vec<usize>) {
        let (mut out, mut written) = (Vec::new(), Vec::new());
        blocks.family(family, true);
        for (i, s) in family.series.iter().enumerate() {
            blocks.labels(&mut out, &s.label_values, |o| {
                written.push(i);
                o.extend_from_slice(
                    format!("{{{}:{}}}", s.label_values[0], s.label_values[1]).as_bytes(),
                );
            });
        }
        (out, written)
    }

    #[test]
    fn a_list_keeps_at_most_its_bytes_of_blocks() {
        let v: Vec<LabelValue> = (0..200).map(|i| format!("value-{i:06}").into()).collect();
        let pairs: Vec<[&LabelValue; 2]> =
            (0..40_000).map(|i| [&v[i % 200], &v[i / 200]]).collect();
        let (first, again) = (family("first", &pairs), family("again", &pairs));
        let mut blocks = Blocks::default();
        let (a, written) = blocks_of(&mut blocks, &first);
        assert_eq!(written.len(), pairs.len());
        let (b, written) = blocks_of(&mut blocks, &again);
        assert_eq!(a, b);
        let kept = blocks.shapes[0].ends.len();
        assert!(
            blocks.shapes[0].text.len() <= KEPT_BYTES + 64,
            "{}",
            blocks.shapes[0].text.len()
        );
        assert!(kept > 1000 && kept < pairs.len(), "{kept}");
        assert_eq!(written, (kept..pairs.len()).collect::<Vec<_>>());
    }

    #[test]
    fn a_family_with_the_same_values_copies_and_only_those() {
        let v: Vec<LabelValue> = ["p", "q", "r", "s"].iter().map(|s| (*s).into()).collect();
        let first = family("first", &[[&v[0], &v[1]], [&v[2], &v[3]]]);
        let same = family("same", &[[&v[0], &v[1]], [&v[2], &v[3]]]);
        // Equal text, other strings: written.
        let (p, q) = (LabelValue::from("p"), LabelValue::from("q"));
        let other = family("other", &[[&p, &q], [&v[2], &v[3]], [&v[0], &v[1]]]);
        let mut blocks = Blocks::default();
        let (a, written) = blocks_of(&mut blocks, &first);
        assert_eq!((a.as_slice(), written), (&b"{p:q}{r:s}"[..], vec![0, 1]));
        let (b, written) = blocks_of(&mut blocks, &same);
        assert_eq!((b.as_slice(), written), (&b"{p:q}{r:s}"[..], vec![]));
        let (c, written) = blocks_of(&mut blocks, &other);
        assert_eq!(
            (c.as_slice(), written),
            (&b"{p:q}{r:s}{p:q}"[..], vec![0, 2])
        );
        // Not usable (a quoted metric name): always written.
        blocks.family(&same, false);
        let mut out = Vec::new();
        let mut called = false;
        blocks.labels(&mut out, &same.series[0].label_values, |_| called = true);
        assert!(called);
    }
}
