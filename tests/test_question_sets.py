"""Our labelled question sets stay valid against the corpus as the indexer reads it (bench/questions/check.py).

A change to the loaders or the chunker that splits a gold phrase across passages, a malformed line, a
reused id or a near-duplicate question fails here, not silently in a benchmark.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = Path(__file__).resolve().parent.parent / "bench" / "questions" / "check.py"


def test_question_sets_pass_their_check() -> None:
    run = subprocess.run([sys.executable, str(CHECK), "-q"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 errors, 0 flags" in run.stdout
