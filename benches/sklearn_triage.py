"""scikit-learn's TF-IDF + LogisticRegression on the files `cargo bench --bench triage` writes,
so both classifiers see exactly the same data. Prints one JSON object on stdout.

Features match Guichet's: word 1-2-grams and character 3-5-grams inside word boundaries.
Single core: BLAS/OpenMP threads are pinned to 1 before numpy loads.
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import json
import sys
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline, make_union


def load(path):
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            texts.append(record["text"])
            labels.append(record["intent"])
    return texts, labels


def pipeline():
    return make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, strip_accents="unicode"),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2,
                            strip_accents="unicode"),
        ),
        LogisticRegression(max_iter=1000, C=10.0),
    )


def main():
    directory = sys.argv[1]
    results = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".train.jsonl"):
            continue
        dataset = name[: -len(".train.jsonl")]
        train_texts, train_labels = load(os.path.join(directory, name))
        test_texts, test_labels = load(os.path.join(directory, dataset + ".test.jsonl"))
        model = pipeline()
        started = time.perf_counter()
        model.fit(train_texts, train_labels)
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        predicted = model.predict(test_texts)
        predict_seconds = time.perf_counter() - started
        results[dataset] = {
            "train_examples": len(train_texts),
            "train_seconds": train_seconds,
            "test_examples": len(test_texts),
            "messages_per_second": len(test_texts) / predict_seconds,
            "macro_f1": f1_score(test_labels, predicted, average="macro", labels=sorted(set(test_labels))),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
