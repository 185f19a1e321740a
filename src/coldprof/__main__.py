"""`python -m coldprof`: the same command line as the `coldprof` script."""

from coldprof.cli.app import main

if __name__ == "__main__":
    main()
