//! A minimal reader for the OpenMetrics text that `berth run` serves on /metrics: enough to
//! take deltas of counters and histogram sums between two scrapes.

use std::collections::BTreeMap;

/// One scrape: every sample line, `name{labels}` → value.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    samples: Vec<Sample>,
}

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Scrape {
    /// Parses the exposition; lines it does not understand are skipped.
    pub fn parse(text: &str) -> Scrape {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(parse_line)
            .collect();
        Scrape { samples }
    }

    /// The sum of every sample called `name` whose labels include all of `labels`; `None`
    /// when there is none (the metric is not exported).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut found = None;
        for s in self.samples.iter().filter(|s| s.name == name) {
            if labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
            {
                *found.get_or_insert(0.0) += s.value;
            }
        }
        found
    }

    /// The samples called `name`, summed by the value of `label`.
    pub fn by_label(&self, name: &str, label: &str) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for s in self.samples.iter().filter(|s| s.name == name) {
            if let Some((_, v)) = s.labels.iter().find(|(k, _)| k == label) {
                *out.entry(v.clone()).or_insert(0.0) += s.value;
            }
        }
        out
    }
}

/// `later − earlier` per label value, keeping only the values that changed.
pub fn delta_by_label(
    earlier: &Scrape,
    later: &Scrape,
    name: &str,
    label: &str,
) -> BTreeMap<String, f64> {
    let before = earlier.by_label(name, label);
    later
        .by_label(name, label)
        .into_iter()
        .map(|(k, v)| {
            let d = v - before.get(&k).copied().unwrap_or(0.0);
            (k, d)
        })
        .filter(|(_, d)| *d != 0.0)
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let (series, rest) = match line.find('{') {
        Some(_) => {
            let close = line.rfind('}')?;
            (&line[..close + 1], &line[close + 1..])
        }
        None => line.split_at(line.find(' ')?),
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((n, l)) => (n, parse_labels(l.strip_suffix('}')?)),
        None => (series, Vec::new()),
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// `a="x",b="y"`; label values with escaped quotes or commas are not expected from berth.
fn parse_labels(s: &str) -> Vec<(String, String)> {
    s.split("\",")
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim().to_string(), v.trim_matches('"').to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP berth_reconciles Reconcile passes run.\n\
# TYPE berth_reconciles counter\n\
berth_reconciles_total 7\n\
berth_engine_requests_total{operation=\"list\"} 12\n\
berth_engine_requests_total{operation=\"start\"} 3\n\
berth_actions_total{action=\"start\",result=\"ok\"} 3\n\
berth_actions_total{action=\"start\",result=\"error\"} 1\n\
berth_reconcile_cpu_seconds_sum 0.25\n\
berth_reconcile_cpu_seconds_count 7\n\
berth_reconcile_cpu_seconds_bucket{le=\"0.001\"} 2\n\
# EOF\n";

    #[test]
    fn reads_counters_with_and_without_labels() {
        let s = Scrape::parse(TEXT);
        assert_eq!(s.get("berth_reconciles_total", &[]), Some(7.0));
        assert_eq!(s.get("berth_actions_total", &[]), Some(4.0));
        assert_eq!(s.get("berth_actions_total", &[("result", "ok")]), Some(3.0));
        assert_eq!(s.get("berth_reconcile_cpu_seconds_sum", &[]), Some(0.25));
        assert_eq!(s.get("berth_missing", &[]), None);
        assert_eq!(
            s.by_label("berth_engine_requests_total", "operation")
                .get("list"),
            Some(&12.0)
        );
    }

    #[test]
    fn deltas_keep_what_changed() {
        let a = Scrape::parse(TEXT);
        let b = Scrape::parse(&TEXT.replace("} 12", "} 13"));
        let d = delta_by_label(&a, &b, "berth_engine_requests_total", "operation");
        assert_eq!(d, BTreeMap::from([("list".to_string(), 1.0)]));
    }
}
