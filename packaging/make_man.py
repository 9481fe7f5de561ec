#!/usr/bin/env python3
"""Write the man page fieldrec(1) from the command line's own argparse definitions.

    packaging/make_man.py OUT.1 [OUT2.1 ...]

Options and commands come from ``fieldrec.cli.build_parser()`` through argparse-manpage, so the page cannot
drift from the program; the sections argparse does not know (exit status, files, see also) come from
``packaging/man-extra.txt``. The date in the footer is today, or ``SOURCE_DATE_EPOCH`` when set
(reproducible builds); tests/packaging checks that docs/man/fieldrec.1 matches the parser.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def render() -> str:
    """The man page as roff text."""
    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines to the terminal: the same width everywhere
    from argparse_manpage.manpage import Manpage

    from fieldrec import __version__
    from fieldrec.cli import build_parser

    page = Manpage(build_parser())
    page.source = f"fieldrec {__version__}"
    page.manual = "fieldrec manual"
    page.description = "field recording with live analysis, crash-safe files and metadata"
    page.parse_include(str(ROOT / "packaging" / "man-extra.txt"))
    return str(page)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: packaging/make_man.py OUT.1 [OUT2.1 ...]", file=sys.stderr)
        return 2
    text = render()
    for out in map(Path, argv):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"make_man: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
