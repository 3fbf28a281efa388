"""One module per ``rtmer`` subcommand: ``register(subparsers)`` declares its arguments and points at
a ``run(args) -> int`` that imports what the command needs only when it runs."""
