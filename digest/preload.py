"""Imported once by the page workers' fork server (digest.workers): what reading a page
needs (`digest.pageread`, not the rest of `digest.pages`), and the shipped disclosure
rules compiled, so that every worker forked from it starts with them instead of
compiling them on its first page."""

from digest import pageread

__all__ = ["pageread"]

pageread.warm()
