"""`python -m workers`: the same as `kneeguard worker`."""

from service.cli import main

if __name__ == "__main__":
    main(["worker"])
