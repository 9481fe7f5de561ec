"""Command line (placeholder until the take lands)."""


def main(argv=None) -> int:
    print("fieldrec: under construction")
    return 0


def main_gui() -> int:
    return main([])
