//! Writes metric families straight into the Prometheus text exposition format (0.0.4).
//!
//! The data families of a large instance hold tens of thousands of series that exist only to
//! be written once per round. Building them as `prometheus` crate metrics first (a label-pair
//! vector per series, then a second copy when gathered) cost a third of a 50,000-agent round's
//! CPU and more memory than the agents themselves; writing the lines directly costs neither.
//! The self-metrics, which are few and include a histogram, still go through the crate.
//!
//! What one writer wrote is a [`Segment`]: each family's samples kept apart, so that the
//! segments of several instances and sources can be joined family by family
//! ([`join`]) without encoding any of them again.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use bytes::Bytes;

/// The `# TYPE` of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A total that only goes up (name ends in `_total`).
    Counter,
    /// Observations counted into buckets: `_bucket`, `_sum` and `_count` lines, written by
    /// [`Family::histogram`].
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
            Self::Histogram => "histogram",
        }
    }
}

/// The samples of one family within a [`Segment`].
#[derive(Debug, Clone)]
struct Section {
    name: &'static str,
    /// `# HELP` and `# TYPE` lines, made with the first sample; `None` while there is none.
    header: Option<Bytes>,
    /// Where the family's sample lines are in the segment's text.
    samples: Range<usize>,
}

/// A text exposition being written: one family after another, each family's samples together.
#[derive(Debug, Default)]
pub struct TextWriter {
    out: String,
    sections: Vec<Section>,
}

impl TextWriter {
    /// A writer whose buffer starts with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            sections: Vec::new(),
        }
    }

    /// Starts family `name`. Its `# HELP` and `# TYPE` lines go with its first sample, so a
    /// family without samples leaves no trace. `label_names` are the labels of every sample,
    /// in the order [`Family::sample`] takes their values; lines carry them sorted by name, as
    /// the `prometheus` crate writes them.
    pub fn family<'w>(
        &'w mut self,
        name: &'static str,
        help: &'w str,
        kind: Kind,
        label_names: &'static [&'static str],
    ) -> Family<'w> {
        let mut order: Vec<usize> = (0..label_names.len()).collect();
        order.sort_by_key(|index| label_names[*index]);
        let at = self.out.len();
        self.sections.push(Section {
            name,
            header: None,
            samples: at..at,
        });
        let section = self.sections.last_mut().expect("a section was just pushed");
        Family {
            out: &mut self.out,
            section,
            help,
            kind,
            label_names,
            order,
        }
    }

    /// What was written: each family's samples, kept apart for [`join`].
    pub fn into_segment(self) -> Segment {
        let index = self
            .sections
            .iter()
            .enumerate()
            .map(|(position, section)| (section.name, position))
            .collect();
        Segment {
            text: Bytes::from(self.out.into_bytes()),
            sections: self.sections,
            index,
        }
    }
}

/// One writer's families, encoded once (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct Segment {
    text: Bytes,
    sections: Vec<Section>,
    /// Position in `sections` by family name.
    index: HashMap<&'static str, usize>,
}

impl Segment {
    /// The encoded size of its sample lines.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether it has no sample at all.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// The exposition of `segments`, family by family, as pieces to send one after another: the
/// families in the order they were started (the first segment that has a family places it),
/// each with its `# HELP` and `# TYPE` lines once and then the samples of every segment, in
/// segment order; a family no segment wrote a sample of is left out. `tail` (families encoded
/// elsewhere) follows. The pieces share the segments' text: nothing is copied.
pub fn join(segments: &[&Segment], tail: Bytes) -> Vec<Bytes> {
    let mut order: Vec<&'static str> = Vec::new();
    let mut placed: std::collections::HashSet<&'static str> = std::collections::HashSet::new();
    for segment in segments {
        for section in &segment.sections {
            if placed.insert(section.name) {
                order.push(section.name);
            }
        }
    }
    let mut pieces = Vec::with_capacity(order.len() * (segments.len() + 1) + 1);
    for name in order {
        let sections = segments.iter().filter_map(|segment| {
            let section = &segment.sections[*segment.index.get(name)?];
            Some((segment, section))
        });
        let Some(header) = sections
            .clone()
            .find_map(|(_, section)| section.header.as_ref())
        else {
            continue;
        };
        pieces.push(header.clone());
        for (segment, section) in sections {
            if !section.samples.is_empty() {
                pieces.push(segment.text.slice(section.samples.clone()));
            }
        }
    }
    pieces.push(tail);
    pieces
}

/// The pieces as one text (for tests and tools; the server sends the pieces as they are).
pub fn concat(pieces: &[Bytes]) -> Bytes {
    let mut text = Vec::with_capacity(pieces.iter().map(Bytes::len).sum());
    for piece in pieces {
        text.extend_from_slice(piece);
    }
    Bytes::from(text)
}

/// One family being written; see [`TextWriter::family`].
#[derive(Debug)]
pub struct Family<'w> {
    out: &'w mut String,
    section: &'w mut Section,
    help: &'w str,
    kind: Kind,
    label_names: &'static [&'static str],
    /// Indices of `label_names` in name order.
    order: Vec<usize>,
}

impl Family<'_> {
    /// Writes one sample; `label_values` pair up with the family's label names. The caller
    /// writes each label set once: the format has no way to merge two lines.
    pub fn sample(&mut self, label_values: &[&str], value: f64) {
        debug_assert_eq!(label_values.len(), self.label_names.len());
        self.write_header();
        self.write_line("", label_values, None, value);
    }

    /// Writes one histogram of a [`Kind::Histogram`] family: a `_bucket` line per
    /// `(upper bound, observations at or below it)`, the last bound `+Inf`, then `_sum` and
    /// `_count`; `label_values` pair up with the family's label names, `le` comes last.
    pub fn histogram(
        &mut self,
        label_values: &[&str],
        cumulative_buckets: impl IntoIterator<Item = (f64, u64)>,
        sum: f64,
        count: u64,
    ) {
        debug_assert_eq!(label_values.len(), self.label_names.len());
        self.write_header();
        let mut bound = String::new();
        for (upper, observations) in cumulative_buckets {
            bound.clear();
            push_value(&mut bound, upper);
            self.write_line("_bucket", label_values, Some(&bound), observations as f64);
        }
        self.write_line("_sum", label_values, None, sum);
        self.write_line("_count", label_values, None, count as f64);
    }

    fn write_header(&mut self) {
        let name = self.section.name;
        if self.section.header.is_none() {
            let mut header = String::with_capacity(32 + 2 * name.len() + self.help.len());
            header.push_str("# HELP ");
            header.push_str(name);
            header.push(' ');
            escape_into(&mut header, self.help, false);
            header.push_str("\n# TYPE ");
            header.push_str(name);
            header.push(' ');
            header.push_str(self.kind.as_str());
            header.push('\n');
            self.section.header = Some(Bytes::from(header));
        }
    }

    /// One line: the family's name with `suffix`, its labels in name order, then `le`.
    fn write_line(&mut self, suffix: &str, label_values: &[&str], le: Option<&str>, value: f64) {
        self.out.push_str(self.section.name);
        self.out.push_str(suffix);
        if !self.label_names.is_empty() || le.is_some() {
            self.out.push('{');
            for (position, index) in self.order.iter().enumerate() {
                if position > 0 {
                    self.out.push(',');
                }
                self.out.push_str(self.label_names[*index]);
                self.out.push_str("=\"");
                escape_into(self.out, label_values[*index], true);
                self.out.push('"');
            }
            if let Some(le) = le {
                if !self.label_names.is_empty() {
                    self.out.push(',');
                }
                self.out.push_str("le=\"");
                self.out.push_str(le);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        push_value(self.out, value);
        self.out.push('\n');
        self.section.samples.end = self.out.len();
    }
}

/// Escapes as the format requires: backslash and line feed always, the double quote inside
/// label values.
fn escape_into(out: &mut String, text: &str, quote: bool) {
    if !text.contains(['\\', '\n', '"']) {
        out.push_str(text);
        return;
    }
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            other => out.push(other),
        }
    }
}

fn push_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        // Counts are most samples: integer formatting is several times cheaper than a float's,
        // and prints the same digits. Writing to a String cannot fail.
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_help_type_and_samples_with_escaped_values() {
        let mut writer = TextWriter::default();
        let mut family = writer.family(
            "x_total",
            "Help with a \\ and\na line.",
            Kind::Counter,
            &["state", "queue"],
        );
        family.sample(&["a\\b\nc", "Sales \"EU\""], 3.0);
        family.sample(&["ok", "plain"], 0.5);
        let mut empty = writer.family("never_written", "none", Kind::Gauge, &[]);
        let _ = &mut empty;
        let mut bare = writer.family("bare", "No labels.", Kind::Gauge, &[]);
        bare.sample(&[], f64::INFINITY);
        let text =
            String::from_utf8(concat(&join(&[&writer.into_segment()], Bytes::new())).to_vec())
                .unwrap();
        assert_eq!(
            text,
            "# HELP x_total Help with a \\\\ and\\na line.\n# TYPE x_total counter\n\
             x_total{queue=\"Sales \\\"EU\\\"\",state=\"a\\\\b\\nc\"} 3\n\
             x_total{queue=\"plain\",state=\"ok\"} 0.5\n\
             # HELP bare No labels.\n# TYPE bare gauge\nbare +Inf\n"
        );
    }

    /// One family of two label values and a family only the second segment has.
    fn segment(instance: &str, extra: bool) -> Segment {
        let mut writer = TextWriter::default();
        writer
            .family("a", "A.", Kind::Gauge, &["i"])
            .sample(&[instance], 1.0);
        let mut b = writer.family("b", "B.", Kind::Gauge, &["i"]);
        if extra {
            b.sample(&[instance], 2.0);
        }
        writer
            .family("c", "C.", Kind::Gauge, &["i"])
            .sample(&[instance], 3.0);
        writer.into_segment()
    }

    #[test]
    fn segments_join_family_by_family_with_one_header_each() {
        let (one, two) = (segment("1", false), segment("2", true));
        let pieces = join(&[&one, &two], Bytes::from_static(b"# tail\n"));
        let text = String::from_utf8(concat(&pieces).to_vec()).unwrap();
        assert_eq!(
            text,
            "# HELP a A.\n# TYPE a gauge\na{i=\"1\"} 1\na{i=\"2\"} 1\n\
             # HELP b B.\n# TYPE b gauge\nb{i=\"2\"} 2\n\
             # HELP c C.\n# TYPE c gauge\nc{i=\"1\"} 3\nc{i=\"2\"} 3\n# tail\n"
        );
        // Headers and samples are shared pieces: 3 headers, 5 sample runs, the tail.
        assert_eq!(pieces.len(), 9);
    }

    #[test]
    fn histograms_write_buckets_with_le_last_then_sum_and_count() {
        let mut writer = TextWriter::default();
        writer
            .family("t_seconds", "T.", Kind::Histogram, &["status", "a"])
            .histogram(
                &["Break", "x"],
                [(5.0, 1), (30.0, 3), (f64::INFINITY, 4)],
                70.5,
                4,
            );
        writer
            .family("bare_seconds", "B.", Kind::Histogram, &[])
            .histogram(&[], [(f64::INFINITY, 0)], 0.0, 0);
        let text =
            String::from_utf8(concat(&join(&[&writer.into_segment()], Bytes::new())).to_vec())
                .unwrap();
        assert_eq!(
            text,
            "# HELP t_seconds T.\n# TYPE t_seconds histogram\n\
             t_seconds_bucket{a=\"x\",status=\"Break\",le=\"5\"} 1\n\
             t_seconds_bucket{a=\"x\",status=\"Break\",le=\"30\"} 3\n\
             t_seconds_bucket{a=\"x\",status=\"Break\",le=\"+Inf\"} 4\n\
             t_seconds_sum{a=\"x\",status=\"Break\"} 70.5\n\
             t_seconds_count{a=\"x\",status=\"Break\"} 4\n\
             # HELP bare_seconds B.\n# TYPE bare_seconds histogram\n\
             bare_seconds_bucket{le=\"+Inf\"} 0\nbare_seconds_sum 0\nbare_seconds_count 0\n"
        );
    }

    #[test]
    fn values_are_written_as_prometheus_reads_them() {
        let mut text = String::new();
        for value in [
            1_795_622_332.25,
            -2.0,
            0.0,
            -0.0,
            1e300,
            f64::NAN,
            f64::NEG_INFINITY,
        ] {
            push_value(&mut text, value);
            text.push(' ');
        }
        let big = format!("{}", 1e300);
        assert_eq!(text, format!("1795622332.25 -2 0 0 {big} NaN -Inf "));
    }
}
