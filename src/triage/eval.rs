//! Measures of a classifier on a labelled set: per-intent precision, recall and F1, macro-F1,
//! the confusion matrix, and the precision/coverage curve of "answer when confidence >= t".

use serde::Serialize;

/// One labelled message and what triage said of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub expected: String,
    pub predicted: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IntentScore {
    pub intent: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Messages labelled with this intent.
    pub support: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CurvePoint {
    pub threshold: f64,
    /// Share of messages at or above the threshold (those Guichet would answer).
    pub coverage: f64,
    /// Share of those whose intent is right.
    pub precision: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub messages: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub intents: Vec<IntentScore>,
    /// Row: expected intent, column: predicted intent, both in `labels` order.
    pub labels: Vec<String>,
    pub confusion: Vec<Vec<usize>>,
    pub curve: Vec<CurvePoint>,
}

/// Thresholds of the curve: every 0.05 up to 0.9, then finer where shops set theirs.
pub const THRESHOLDS: [f64; 17] = [
    0.0, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98, 0.99,
];

pub fn evaluate(outcomes: &[Outcome]) -> Report {
    let mut labels: Vec<String> = outcomes
        .iter()
        .flat_map(|o| [o.expected.clone(), o.predicted.clone()])
        .collect();
    labels.sort();
    labels.dedup();
    let index = |label: &str| {
        labels
            .binary_search_by(|l| l.as_str().cmp(label))
            .unwrap_or(0)
    };
    let mut confusion = vec![vec![0usize; labels.len()]; labels.len()];
    for outcome in outcomes {
        confusion[index(&outcome.expected)][index(&outcome.predicted)] += 1;
    }
    let intents: Vec<IntentScore> = labels
        .iter()
        .enumerate()
        .filter_map(|(i, label)| {
            let support: usize = confusion[i].iter().sum();
            if support == 0 {
                // Predicted but never expected: counted in others' precision, not scored itself.
                return None;
            }
            let true_positives = confusion[i][i] as f64;
            let predicted: usize = confusion.iter().map(|row| row[i]).sum();
            let precision = ratio(true_positives, predicted as f64);
            let recall = ratio(true_positives, support as f64);
            Some(IntentScore {
                intent: label.clone(),
                precision,
                recall,
                f1: ratio(2.0 * precision * recall, precision + recall),
                support,
            })
        })
        .collect();
    let correct = right_count(outcomes);
    Report {
        messages: outcomes.len(),
        accuracy: ratio(correct as f64, outcomes.len() as f64),
        macro_f1: ratio(
            intents.iter().map(|s| s.f1).sum::<f64>(),
            intents.len() as f64,
        ),
        intents,
        labels,
        confusion,
        curve: THRESHOLDS
            .iter()
            .map(|&threshold| curve_point(outcomes, threshold))
            .collect(),
    }
}

fn curve_point(outcomes: &[Outcome], threshold: f64) -> CurvePoint {
    let answered: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.confidence as f64 >= threshold)
        .collect();
    let right = right_count(answered.iter().copied());
    CurvePoint {
        threshold,
        coverage: ratio(answered.len() as f64, outcomes.len() as f64),
        precision: ratio(right as f64, answered.len() as f64),
    }
}

/// Precision, recall and F1 of extracted items against expected ones, summed over messages.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct ExtractionScore {
    pub expected: usize,
    pub found: usize,
    pub right: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Compares extracted facts with the expected ones, message by message (exact strings).
pub fn score_extraction<'a>(
    pairs: impl IntoIterator<Item = (&'a [String], &'a [String])>,
) -> ExtractionScore {
    let mut score = ExtractionScore::default();
    for (expected, found) in pairs {
        score.expected += expected.len();
        score.found += found.len();
        score.right += found.iter().filter(|f| expected.contains(f)).count();
    }
    score.precision = ratio(score.right as f64, score.found as f64);
    score.recall = ratio(score.right as f64, score.expected as f64);
    score.f1 = ratio(
        2.0 * score.precision * score.recall,
        score.precision + score.recall,
    );
    score
}

/// A ratio that is 0 rather than NaN for an empty set, except precision of nothing found
/// against nothing expected, which callers see as 0 with counts beside it.
/// How many of `outcomes` predicted the expected intent.
fn right_count<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> usize {
    outcomes
        .into_iter()
        .filter(|o| o.expected == o.predicted)
        .count()
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(expected: &str, predicted: &str, confidence: f32) -> Outcome {
        Outcome {
            expected: expected.into(),
            predicted: predicted.into(),
            confidence,
        }
    }

    #[test]
    fn scores_per_intent_and_curve() {
        let report = evaluate(&[
            outcome("refund", "refund", 0.95),
            outcome("refund", "invoice", 0.4),
            outcome("invoice", "invoice", 0.8),
            outcome("invoice", "invoice", 0.99),
        ]);
        assert_eq!(report.labels, ["invoice", "refund"]);
        assert_eq!(report.confusion, vec![vec![2, 0], vec![1, 1]]);
        let invoice = &report.intents[0];
        assert!((invoice.precision - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(invoice.recall, 1.0);
        let refund = &report.intents[1];
        assert_eq!((refund.precision, refund.recall), (1.0, 0.5));
        assert!((report.macro_f1 - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-9);
        let at_half = report.curve.iter().find(|p| p.threshold == 0.5).unwrap();
        assert_eq!((at_half.coverage, at_half.precision), (0.75, 1.0));
    }

    #[test]
    fn extraction_counts_exact_matches() {
        let expected = [vec!["#1042".to_string()], vec![]];
        let found = [vec!["#1042".to_string(), "1042".to_string()], vec![]];
        let score = score_extraction(
            expected
                .iter()
                .zip(&found)
                .map(|(e, f)| (e.as_slice(), f.as_slice())),
        );
        assert_eq!((score.expected, score.found, score.right), (1, 2, 1));
        assert_eq!(score.recall, 1.0);
        assert_eq!(score.precision, 0.5);
    }
}
