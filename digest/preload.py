"""Imported once by the worker processes' fork server (digest.workers): the modules the
workers run, and the shipped disclosure rules compiled, so that every worker forked from
it starts with them instead of compiling them on its first page."""

from digest import feeds, pages

__all__ = ["feeds", "pages"]

pages.warm()
