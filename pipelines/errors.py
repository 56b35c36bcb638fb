"""Errors a user can act on. The CLI prints them as one line; anything else is a bug."""


class LoyaltyError(Exception):
    """Base class: the message alone must tell the user what went wrong and where."""


class ContractError(LoyaltyError):
    """A landing file does not match the declared contract of its source."""


class MissingInputError(LoyaltyError):
    """A stage was asked to run before the layer it reads exists."""


class GateError(LoyaltyError):
    """A critical data-quality expectation failed: the run stops before publish."""


class SupersededError(LoyaltyError):
    """Another run changed this run's inputs after this run built them: that run publishes."""
