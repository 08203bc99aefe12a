"""``python -m twotrack`` and the ``twotrack`` console script.

Nothing is imported until ``main`` runs: multiprocessing's spawn re-runs the console script as the
main module of every scan worker, and a script that imported the command line at its top made each
worker load click and every command's libraries (about 0.25 s) before its first recording.
"""


def main():
    from .cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
