"""Errors a user can cause and fix, each carrying one sentence that says what, where and how."""


class TweetgenError(Exception):
    """An error with a message meant for the user: the CLI prints it alone and exits non-zero."""


class ConfigError(TweetgenError):
    """A setting is missing or invalid (names the variable or flag to set)."""


class UsageError(ConfigError):
    """A command-line flag has a value that cannot work (names the flag): the CLI exits 2, as for any usage error."""


class SourceError(TweetgenError):
    """Input data cannot be read (names the file and, where it applies, the row)."""


class ValidationError(TweetgenError):
    """A frame does not satisfy a feature group's contract; nothing was written."""


class StoreError(TweetgenError):
    """The feature store cannot be reached or refuses an operation."""
