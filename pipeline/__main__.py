"""`python -m pipeline` is the `intake` command."""

from pipeline.cli import main

main(prog_name="intake")
