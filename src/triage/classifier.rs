//! A small text classifier: TF-IDF over word, word-pair and character n-grams, and a multinomial
//! logistic regression trained by stochastic gradient descent.
//!
//! Dependency-free on purpose: the build script compiles this same file to train the shipped
//! model from the corpus, so the binary carries a ready model and never trains at start-up.
//! Training is deterministic (a fixed-seed shuffle), so the same corpus gives the same model.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Keys of the feature maps are already FNV hashes: hashing them again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ *b as u64;
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type FeatureMap<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

/// One labelled text for training, with a weight (a shop's corrections count more).
#[derive(Debug, Clone)]
pub struct Example<'a> {
    pub text: &'a str,
    pub label: &'a str,
    pub weight: f32,
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub epochs: usize,
    /// L2 regularisation strength.
    pub alpha: f64,
    /// Features seen in fewer examples are dropped (they cannot generalise and bloat the model).
    pub min_df: u32,
    /// Gives every label the same total weight, so a small label is not drowned by a big one.
    pub balance_labels: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 12,
            alpha: 1e-5,
            min_df: 2,
            balance_labels: true,
        }
    }
}

/// What the model says about one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Probability of every label, in [`Model::labels`] order.
    pub probabilities: Vec<f32>,
}

impl Prediction {
    /// The most probable label's index and probability.
    pub fn best(&self) -> (usize, f32) {
        self.probabilities
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, f32::MIN),
                |best, (i, p)| if p > best.1 { (i, p) } else { best },
            )
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ModelError {
    Corrupt,
    Version(u32),
    TooFewLabels,
}

// Written by hand rather than with thiserror: the build script compiles this file alone.
impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::Corrupt => write!(f, "the model data is truncated or corrupt"),
            ModelError::Version(v) => write!(
                f,
                "the model data has format version {v}, this Guichet reads version {FORMAT_VERSION}"
            ),
            ModelError::TooFewLabels => {
                write!(f, "training needs at least two labels with examples")
            }
        }
    }
}

impl std::error::Error for ModelError {}

const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"GUICHETM";

/// A trained classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    labels: Vec<String>,
    /// Feature hash -> column.
    columns: FeatureMap<u32>,
    /// Readable name of each column, for explanations.
    names: Vec<String>,
    idf: Vec<f32>,
    /// Column-major: the weights of column `j` for every label are `weights[j * labels ..]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// Kinds of features; the kind is mixed into the hash so "ab" the word and "ab" the n-gram differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word = 1,
    Pair = 2,
    Chars = 3,
}

/// A sparse, normalised feature vector.
#[derive(Debug, Default, Clone)]
pub struct Features {
    pub(crate) entries: Vec<(u32, f32)>,
}

impl Model {
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn feature_count(&self) -> usize {
        self.names.len()
    }

    /// Trains on `examples`. Labels are sorted, so the column order does not depend on the
    /// order of the examples.
    pub fn train(examples: &[Example<'_>], options: &TrainOptions) -> Result<Model, ModelError> {
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.to_string()).collect();
        labels.sort();
        labels.dedup();
        if labels.len() < 2 {
            return Err(ModelError::TooFewLabels);
        }
        let targets: Vec<usize> = examples
            .iter()
            .map(|e| {
                labels
                    .binary_search_by(|l| l.as_str().cmp(e.label))
                    .unwrap_or(0)
            })
            .collect();

        // Vocabulary and document frequencies.
        let mut tokens = Tokens::default();
        let mut document_frequency: FeatureMap<u32> = FeatureMap::default();
        let mut per_example: Vec<Vec<(u64, Kind, u32)>> = Vec::with_capacity(examples.len());
        for example in examples {
            let counts = tokens.count(example.text, true);
            for (hash, _, _) in &counts {
                *document_frequency.entry(*hash).or_insert(0) += 1;
            }
            per_example.push(counts);
        }
        let mut kept: Vec<(u64, u32, String)> = document_frequency
            .into_iter()
            .filter(|(_, df)| *df >= options.min_df)
            .map(|(hash, df)| (hash, df, tokens.names.remove(&hash).unwrap_or_default()))
            .collect();
        // Frequent features first, so the weights most examples touch share cache lines;
        // then by hash, so the same corpus always gives the same columns.
        kept.sort_by_key(|(hash, df, _)| (std::cmp::Reverse(*df), *hash));
        let documents = examples.len() as f32;
        let mut model = Model {
            columns: kept
                .iter()
                .enumerate()
                .map(|(j, (hash, _, _))| (*hash, j as u32))
                .collect(),
            idf: kept
                .iter()
                .map(|(_, df, _)| ((1.0 + documents) / (1.0 + *df as f32)).ln() + 1.0)
                .collect(),
            names: kept.into_iter().map(|(_, _, name)| name).collect(),
            weights: Vec::new(),
            bias: vec![0.0; labels.len()],
            labels,
        };
        let vectors: Vec<Features> = per_example
            .iter()
            .map(|counts| model.vectorize_counts(counts))
            .collect();

        let mut sample_weights: Vec<f32> = examples.iter().map(|e| e.weight).collect();
        if options.balance_labels {
            let mut totals = vec![0f32; model.labels.len()];
            for (target, weight) in targets.iter().zip(&sample_weights) {
                totals[*target] += weight;
            }
            let mean =
                totals.iter().sum::<f32>() / totals.iter().filter(|t| **t > 0.0).count() as f32;
            for (target, weight) in targets.iter().zip(sample_weights.iter_mut()) {
                *weight *= mean / totals[*target];
            }
        }
        model.fit(&vectors, &targets, &sample_weights, options);
        Ok(model)
    }

    /// Stochastic gradient descent on the weighted log loss with L2 regularisation, with the
    /// learning-rate schedule of Bottou ("optimal" in scikit-learn). The L2 shrink is applied
    /// lazily through one scale factor, so each step only touches the example's features.
    fn fit(
        &mut self,
        vectors: &[Features],
        targets: &[usize],
        weights: &[f32],
        options: &TrainOptions,
    ) {
        let k = self.labels.len();
        // f32 weights: half the memory traffic of f64, and SGD's gradient noise is far above
        // f32's precision. The running scale stays f64: it multiplies thousands of factors.
        let mut w = vec![0f32; self.names.len() * k];
        let mut bias = vec![0f64; k];
        let alpha = options.alpha;
        let typical = (1.0 / alpha.sqrt()).sqrt();
        let t0 = 1.0 / (alpha * typical);
        let mut scale = 1.0f64;
        let mut t = 0f64;
        let mut order: Vec<usize> = (0..vectors.len()).collect();
        let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut scores = vec![0f64; k];
        let mut dot = vec![0f32; k];
        let mut step = vec![0f32; k];
        for _ in 0..options.epochs {
            random.shuffle(&mut order);
            for &i in &order {
                let x = &vectors[i];
                let eta = 1.0 / (alpha * (t0 + t));
                t += 1.0;
                dot.fill(0.0);
                for &(j, value) in &x.entries {
                    let row = &w[j as usize * k..(j as usize + 1) * k];
                    for (d, wj) in dot.iter_mut().zip(row) {
                        *d += wj * value;
                    }
                }
                for ((s, d), b) in scores.iter_mut().zip(&dot).zip(&bias) {
                    *s = b + scale * *d as f64;
                }
                softmax(&mut scores);
                scale *= 1.0 - eta * alpha;
                if scale < 1e-6 {
                    for value in &mut w {
                        *value = (*value as f64 * scale) as f32;
                    }
                    scale = 1.0;
                }
                let weight = weights[i] as f64;
                for (label, (p, st)) in scores.iter_mut().zip(step.iter_mut()).enumerate() {
                    let y = if label == targets[i] { 1.0 } else { 0.0 };
                    *p = (*p - y) * weight * eta;
                    *st = (*p / scale) as f32;
                }
                for &(j, value) in &x.entries {
                    let row = &mut w[j as usize * k..(j as usize + 1) * k];
                    for (wj, st) in row.iter_mut().zip(&step) {
                        *wj -= st * value;
                    }
                }
                // The bias is not regularised and moves slowly, as it sees every example.
                for (b, g) in bias.iter_mut().zip(&scores) {
                    *b -= g * 0.01;
                }
            }
        }
        self.weights = w.iter().map(|v| (*v as f64 * scale) as f32).collect();
        self.bias = bias.iter().map(|b| *b as f32).collect();
    }

    /// The normalised TF-IDF vector of a text.
    pub fn vectorize(&self, text: &str) -> Features {
        let counts = Tokens::default().count(text, false);
        self.vectorize_counts(&counts)
    }

    fn vectorize_counts(&self, counts: &[(u64, Kind, u32)]) -> Features {
        // Words (with pairs) and character n-grams are two blocks, each of unit length, so the
        // many n-grams of a long word do not outweigh the words themselves.
        let mut entries = Vec::with_capacity(counts.len());
        let mut norms = [0f32; 2];
        for (hash, kind, count) in counts {
            if let Some(&column) = self.columns.get(hash) {
                let value = (1.0 + (*count as f32).ln()) * self.idf[column as usize];
                norms[(*kind == Kind::Chars) as usize] += value * value;
                entries.push((column, value, *kind == Kind::Chars));
            }
        }
        let norms = norms.map(|n| if n > 0.0 { n.sqrt() } else { 1.0 });
        let mut entries: Vec<(u32, f32)> = entries
            .into_iter()
            .map(|(column, value, chars)| (column, value / norms[chars as usize]))
            .collect();
        // In memory order: the weight rows are then read front to back.
        entries.sort_unstable_by_key(|(column, _)| *column);
        Features { entries }
    }

    pub fn predict(&self, text: &str) -> Prediction {
        self.predict_features(&self.vectorize(text))
    }

    pub fn predict_features(&self, features: &Features) -> Prediction {
        let k = self.labels.len();
        let mut scores: Vec<f64> = self.bias.iter().map(|b| *b as f64).collect();
        for &(j, value) in &features.entries {
            let row = &self.weights[j as usize * k..(j as usize + 1) * k];
            for (s, wj) in scores.iter_mut().zip(row) {
                *s += (*wj * value) as f64;
            }
        }
        softmax(&mut scores);
        Prediction {
            probabilities: scores.into_iter().map(|p| p as f32).collect(),
        }
    }

    /// The features that pushed most towards `label`, strongest first, with their weight.
    pub fn explain(&self, features: &Features, label: usize, count: usize) -> Vec<(String, f32)> {
        let k = self.labels.len();
        let mut contributions: Vec<(u32, f32)> = features
            .entries
            .iter()
            .map(|&(j, value)| {
                let row = &self.weights[j as usize * k..(j as usize + 1) * k];
                // Relative to the mean over labels: a feature that pushes every label up
                // explains nothing.
                let mean = row.iter().sum::<f32>() / k as f32;
                (j, (row[label] - mean) * value)
            })
            .filter(|(_, c)| *c > 0.0)
            .collect();
        contributions.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut seen = Vec::new();
        for (j, contribution) in contributions {
            let name = &self.names[j as usize];
            if seen.iter().any(|(n, _): &(String, f32)| n == name) {
                continue;
            }
            seen.push((name.clone(), contribution));
            if seen.len() == count {
                break;
            }
        }
        seen
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.names.len() * (16 + 4 * self.labels.len()));
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, FORMAT_VERSION);
        put_u32(&mut out, self.labels.len() as u32);
        for label in &self.labels {
            put_str(&mut out, label);
        }
        for b in &self.bias {
            out.extend_from_slice(&b.to_le_bytes());
        }
        let mut by_column: Vec<(u64, u32)> = self.columns.iter().map(|(h, c)| (*h, *c)).collect();
        by_column.sort_by_key(|(_, c)| *c);
        put_u32(&mut out, by_column.len() as u32);
        for (hash, column) in by_column {
            out.extend_from_slice(&hash.to_le_bytes());
            out.extend_from_slice(&self.idf[column as usize].to_le_bytes());
            put_str(&mut out, &self.names[column as usize]);
        }
        for w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        let mut input = Reader(bytes);
        if input.take(MAGIC.len())? != MAGIC {
            return Err(ModelError::Corrupt);
        }
        let version = input.u32()?;
        if version != FORMAT_VERSION {
            return Err(ModelError::Version(version));
        }
        let label_count = input.u32()? as usize;
        let labels = (0..label_count)
            .map(|_| input.string())
            .collect::<Result<Vec<_>, _>>()?;
        let bias = (0..label_count)
            .map(|_| input.f32())
            .collect::<Result<Vec<_>, _>>()?;
        let feature_count = input.u32()? as usize;
        if feature_count > bytes.len() {
            return Err(ModelError::Corrupt);
        }
        let mut columns = FeatureMap::with_capacity_and_hasher(feature_count, Default::default());
        let mut idf = Vec::with_capacity(feature_count);
        let mut names = Vec::with_capacity(feature_count);
        for column in 0..feature_count {
            columns.insert(input.u64()?, column as u32);
            idf.push(input.f32()?);
            names.push(input.string()?);
        }
        let weight_count = feature_count
            .checked_mul(label_count)
            .ok_or(ModelError::Corrupt)?;
        if input.0.len() != weight_count * 4 {
            return Err(ModelError::Corrupt);
        }
        let weights = input
            .0
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Model {
            labels,
            columns,
            names,
            idf,
            weights,
            bias,
        })
    }
}

fn softmax(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::MIN, f64::max);
    let mut total = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        total += *s;
    }
    for s in scores.iter_mut() {
        *s /= total;
    }
}

/// Splits normalised text into tokens and counts the features of a text.
#[derive(Default)]
struct Tokens {
    normalized: String,
    /// Readable names of the features met so far, kept only while training.
    names: FeatureMap<String>,
}

const MIN_CHARS: usize = 3;
const MAX_CHARS: usize = 5;

impl Tokens {
    /// Counts every feature of `text`: (hash, kind, count). With `keep_names`, remembers the
    /// readable name of each feature for explanations.
    fn count(&mut self, text: &str, keep_names: bool) -> Vec<(u64, Kind, u32)> {
        normalize_words(text, &mut self.normalized);
        let mut counts: FeatureMap<(Kind, u32)> = FeatureMap::default();
        let names = &mut self.names;
        let mut bump = |hash: u64, kind: Kind, name: &dyn Fn() -> String| {
            counts.entry(hash).or_insert((kind, 0)).1 += 1;
            if keep_names {
                names.entry(hash).or_insert_with(name);
            }
        };
        // Numbers (order references, prices, dates) say nothing of the intent, and how often a
        // corpus happens to quote them would only teach noise.
        let words: Vec<&str> = self
            .normalized
            .split(' ')
            .filter(|w| !w.is_empty() && !w.bytes().all(|b| b == b'0'))
            .collect();
        let mut padded: Vec<u8> = Vec::with_capacity(64);
        for (i, word) in words.iter().enumerate() {
            bump(hash_of(Kind::Word, word.as_bytes()), Kind::Word, &|| {
                word.to_string()
            });
            if let Some(next) = words.get(i + 1) {
                bump(hash_pair(word, next), Kind::Pair, &|| {
                    format!("{word} {next}")
                });
            }
            padded.clear();
            padded.push(b' ');
            padded.extend_from_slice(word.as_bytes());
            padded.push(b' ');
            // Normalised text is ASCII, so byte windows are character windows.
            for n in MIN_CHARS..=MAX_CHARS {
                for window in padded.windows(n) {
                    bump(hash_of(Kind::Chars, window), Kind::Chars, &|| {
                        format!("«{}»", String::from_utf8_lossy(window).trim())
                    });
                }
            }
        }
        counts
            .into_iter()
            .map(|(hash, (kind, count))| (hash, kind, count))
            .collect()
    }
}

/// Lowercase ASCII words separated by single spaces: accents folded (customers often leave
/// them out), digits all made `0` (order numbers and prices say little about the intent).
pub fn normalize_words(text: &str, out: &mut String) {
    out.clear();
    let mut pending_space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let folded: &str = match c {
            'a'..='z' => {
                push_char(out, &mut pending_space, c);
                continue;
            }
            '0'..='9' => "0",
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'ß' => "ss",
            'œ' => "oe",
            'æ' => "ae",
            c if c.is_alphanumeric() => "",
            _ => {
                pending_space = !out.is_empty();
                continue;
            }
        };
        for f in folded.chars() {
            push_char(out, &mut pending_space, f);
        }
    }
}

fn push_char(out: &mut String, pending_space: &mut bool, c: char) {
    if *pending_space {
        out.push(' ');
        *pending_space = false;
    }
    out.push(c);
}

/// FNV-1a, 64 bits: fast, stable across runs and platforms (the model file stores hashes).
fn hash_of(kind: Kind, bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ kind as u64;
    for b in bytes {
        hash ^= *b as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn hash_pair(first: &str, second: &str) -> u64 {
    let mut hash = hash_of(Kind::Pair, first.as_bytes());
    for b in std::iter::once(&b' ').chain(second.as_bytes()) {
        hash ^= *b as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    put_u32(out, value.len() as u32);
    out.extend_from_slice(value.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if self.0.len() < n {
            return Err(ModelError::Corrupt);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| ModelError::Corrupt)?,
        ))
    }

    fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| ModelError::Corrupt)?,
        ))
    }

    fn f32(&mut self) -> Result<f32, ModelError> {
        Ok(f32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| ModelError::Corrupt)?,
        ))
    }

    fn string(&mut self) -> Result<String, ModelError> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| ModelError::Corrupt)
    }
}

/// The text a message is classified on: its subject, then its new text.
pub fn message_text(subject: &str, text: &str) -> String {
    if subject.is_empty() {
        text.to_string()
    } else {
        format!("{subject}\n{text}")
    }
}
