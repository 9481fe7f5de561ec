"""The frozen program's entry point (PyInstaller runs this file as ``__main__``)."""

import multiprocessing
import sys

from fieldrec.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a process pool in a frozen program re-enters here on spawn platforms
    sys.exit(main())
