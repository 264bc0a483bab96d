"""One module per `spar-hf` subcommand; each defines `register(subparsers)`.

Command modules import their heavy dependencies inside `func`, so `spar-hf --help` stays fast.
"""
