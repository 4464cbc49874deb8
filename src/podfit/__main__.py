"""``python -m podfit``."""

from podfit.cli import main

if __name__ == "__main__":
    main()
