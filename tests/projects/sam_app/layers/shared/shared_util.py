"""A module the SharedLayer provides."""


def tag():
    return "shared"
