"""How the HTML extractor was chosen: selectolax (ours) against trafilatura on realistic municipal pages.

For each page in tests/html_pages.py: facts that must be kept, boilerplate words that must not appear,
and the time. trafilatura is not a dependency; install it into the venv to run the comparison
(`.venv/bin/pip install trafilatura`), otherwise only our extractor is measured.

    .venv/bin/python bench/html_extract.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import common  # noqa: F401  (puts the repository on sys.path)

from ingest.formats.webpage import extract
from tests.html_pages import EMPTY, MUST_KEEP, NAV_WORDS, PAGES


def _extractors() -> dict[str, Callable[[str], str]]:
    found: dict[str, Callable[[str], str]] = {"selectolax (ours)": extract}
    try:
        import trafilatura
    except ImportError:
        print("trafilatura is not installed: measuring ours only")
        return found

    def with_trafilatura(html: str) -> str:
        return trafilatura.extract(html, output_format="markdown", include_tables=True, include_links=False,
                                   include_comments=False) or ""

    found["trafilatura"] = with_trafilatura
    return found


def main() -> int:
    pages = {**PAGES, "empty": EMPTY}
    for label, fn in _extractors().items():
        fn(PAGES["drupal"])  # warm up (imports, first-call set-up)
        for name, html in pages.items():
            t0 = time.perf_counter()
            text = fn(html)
            ms = (time.perf_counter() - t0) * 1000
            missing = [k for k in MUST_KEEP.get(name, ()) if k not in text]
            noise = [w for w in NAV_WORDS if w in text]
            print(f"{label:18} {name:10} {ms:6.1f} ms  missing: {missing or '-'}  boilerplate: {noise or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
