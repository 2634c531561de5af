"""The GLUE metrics of the race's PyTorch side, as apps/common/task_metrics.h computes them
(scikit-learn's matthews_corrcoef and f1_score, scipy's pearsonr and spearmanr; plain Python so
that the race needs nothing beyond torch, transformers and peft)."""

import math


def matthews(labels, predictions):
    classes = sorted(set(labels) | set(predictions))
    t = {k: labels.count(k) for k in classes}
    p = {k: predictions.count(k) for k in classes}
    s, c = len(labels), sum(1 for y, q in zip(labels, predictions) if y == q)
    den = math.sqrt((s * s - sum(v * v for v in p.values())) * (s * s - sum(v * v for v in t.values())))
    return (c * s - sum(t[k] * p[k] for k in classes)) / den if den > 0 else 0.0


def binary_f1(labels, predictions):
    tp = sum(1 for y, q in zip(labels, predictions) if y == 1 and q == 1)
    fp = sum(1 for y, q in zip(labels, predictions) if y != 1 and q == 1)
    fn = sum(1 for y, q in zip(labels, predictions) if y == 1 and q != 1)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def pearson(x, y):
    n = len(x)
    if n < 2:
        return 0.0
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy))) if sxx * syy > 0 else 0.0


def average_ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks, first = [0.0] * len(values), 0
    while first < len(order):
        end = first + 1
        while end < len(order) and values[order[end]] == values[order[first]]:
            end += 1
        for i in order[first:end]:
            ranks[i] = (first + 1 + end) / 2
        first = end
    return ranks


def spearman(x, y):
    return pearson(average_ranks(x), average_ranks(y))


def metric_values(names, labels, outputs, regression):
    """{name: value} for the metrics `names`; outputs are predicted classes or values."""
    values = {}
    for name in names:
        if name == "accuracy":
            values[name] = sum(1 for y, q in zip(labels, outputs) if y == q) / len(labels)
        elif name == "matthews":
            values[name] = matthews(labels, outputs)
        elif name == "f1":
            values[name] = binary_f1(labels, outputs)
        elif name == "pearson":
            values[name] = pearson(labels, outputs)
        elif name == "spearman":
            values[name] = spearman(labels, outputs)
        else:
            raise ValueError(f"unknown metric {name!r}")
    return values
