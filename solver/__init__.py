"""The Z3 encoding of the rules in ``podfit.spec``: the second, independent oracle."""
