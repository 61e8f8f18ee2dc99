"""The naive pipeline peer tools use, as the speed benchmark's baseline.

    python bench/naive.py FEED_URL...      (or one URL per line on stdin)

A sequential loop: `feedparser.parse(url)` for each feed and, for each entry, fetch its
link and `trafilatura.extract` it. No concurrency, no cache, no conditional requests.
It refuses any URL that is not on a loopback address, so a benchmark can never leave
the machine. Prints one JSON line: feeds, entries, pages fetched, pages extracted.
"""

from __future__ import annotations

import ipaddress
import json
import sys
import urllib.request
from urllib.parse import urlsplit

import feedparser
import trafilatura


def loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(urls: list[str]) -> int:
    counts = {"feeds": 0, "entries": 0, "fetched": 0, "extracted": 0, "refused": 0}
    for url in urls:
        if not loopback(url):
            counts["refused"] += 1
            continue
        parsed = feedparser.parse(url)
        counts["feeds"] += 1
        for entry in parsed.entries:
            counts["entries"] += 1
            link = entry.get("link", "")
            if not loopback(link):
                counts["refused"] += 1
                continue
            try:
                with urllib.request.urlopen(link, timeout=30) as response:
                    html = response.read()
            except OSError:
                continue
            counts["fetched"] += 1
            if trafilatura.extract(html.decode("utf-8", "replace")):
                counts["extracted"] += 1
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or [line.strip() for line in sys.stdin if line.strip()]))
