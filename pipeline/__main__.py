"""`python -m pipeline` is the `intake` command."""

from pipeline.cli.entry import main

if __name__ == "__main__":  # not when multiprocessing runs it again as __mp_main__
    main()
