"""Monitoring deployed versions: production traffic in batches, metrics per UTC day.

- `ingest`: parse and check an uploaded batch or outcomes file (pure pandas, no Django).
- `compute`: the metrics of one window against the reference, from the suites' own metric
  code in evaluations.metrics (PSI, KS / chi-square tests, accuracy, rocAuc, bias).
- `reference`: the dataset of the version's latest finished evaluation run, and its scores.
- `services`: the writes (record a batch, record outcomes, compute a window, the daily job).
- `selectors`: the reads (the API document, the page, the policy context `monitoring`).
- `signals`: `window_computed`, which continuous monitoring (policies) listens to.

See docs/monitoring.md.
"""
