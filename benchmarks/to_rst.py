"""Turn the JSON lines of ``bench_training.py`` and ``bench_predict.py`` into the
reStructuredText table of ``docs/performance.rst``.

Usage::

    python bench_training.py > training.jsonl
    python bench_predict.py > predict.jsonl
    python to_rst.py training.jsonl predict.jsonl
"""

import json
import sys

KEY = ("cell", "N", "T", "F", "H", "dtype")
COLUMNS = ["cell", "N, T, F, H, batch", "dtype", "skrnn epoch (s)", "PyTorch epoch (s)",
           "training: PyTorch / skrnn", "MLP epoch (s)", "fraction of GEMM peak",
           "predict: PyTorch / skrnn"]


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def main(training, predict):
    train_rows = [r for r in read(training) if "cell" in r]
    pred = {tuple(r[k] for k in KEY): r for r in read(predict) if "cell" in r}
    lines = [".. list-table::", "   :header-rows: 1", ""]
    lines += [("   * - " if i == 0 else "     - ") + c for i, c in enumerate(COLUMNS)]
    for r in train_rows:
        p = pred.get(tuple(r[k] for k in KEY), {})
        cells = [r["cell"], f"{r['N']}, {r['T']}, {r['F']}, {r['H']}, {r['batch']}",
                 r["dtype"], f"{r['skrnn_s']:.3f}", f"{r['torch_s']:.3f}",
                 f"{r['speedup_vs_torch']:.2f}", f"{r['mlp_s']:.3f}",
                 f"{r['fraction_of_gemm_peak']:.2f}",
                 f"{p['speedup_vs_torch']:.2f}" if p else "-"]
        lines += [("   * - " if i == 0 else "     - ") + c for i, c in enumerate(cells)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
