"""From evidence to a verdict, and from a verdict to words a reader can trust.

Disclosure (the publisher's own words) outranks listing (the owner's list, or history),
which outranks the style score. The style score is always computed, but only a long
enough text can be *suspected*, and a suspicion is never worded as an accusation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from digest.detect import style
from digest.models import Evidence, Verdict

PLACES = {
    "byline": "the publisher's byline reads",
    "author": "the author field reads",
    "bio": "the author bio reads",
    "disclaimer": "the page's disclaimer reads",
    "meta": "the page's metadata says",
    "jsonld": "the page's structured data says",
    "links": "a link on the page carries",
    "c2pa": "the page's C2PA provenance data says",
    "body-edges": "the article says",
    "tooltip": "the page's hover text reads",
    "aside": "a note beside the article reads",
    "footer": "the page's footer reads",
    "body": "the article says",
}


@dataclass(frozen=True)
class Listing:
    """What the owner's config and the state's history say about outlets and authors."""

    sources: dict[str, str]  # domain -> reason
    authors: dict[str, str]  # lower-cased name -> reason
    frequent: dict[str, str]  # host -> what history shows


def host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def listed_evidence(url: str, author: str, listing: Listing) -> list[Evidence]:
    """Evidence from the owner's lists and from history, for one article."""
    host = host_of(url)
    found = [
        Evidence("listed", f"detect.sources:{domain}", reason, "config")
        for domain, reason in listing.sources.items()
        if host == domain or host.endswith("." + domain)
    ]
    reason = listing.authors.get(" ".join(author.lower().split()))
    if reason:
        found.append(Evidence("listed", f"detect.authors:{author}", reason, "config"))
    if host in listing.frequent:
        found.append(Evidence("history", "history", listing.frequent[host], "state"))
    return found


# Evidence too weak to name a source on its own: human journalists copy links out of
# ChatGPT answers too (seen on staff-written articles of a major news site).
WEAK_RULES = frozenset({"utm-chatgpt"})


def judge(found: Sequence[Evidence], listed: Sequence[Evidence], reading: style.Reading) -> Verdict:
    """The strongest level the evidence supports; the style score always comes along."""
    score = reading.score
    disclosed = [e for e in found if e.rule not in WEAK_RULES]
    weak = [e for e in found if e.rule in WEAK_RULES]
    if disclosed:
        verdict = Verdict("disclosed", score, tuple(disclosed) + tuple(listed))
    elif listed:
        verdict = Verdict("listed", score, tuple(listed))
    elif reading.suspected:
        style_evidence = Evidence("style", "style-score", "; ".join(reading.signals), "text")
        verdict = Verdict("suspected", score, (style_evidence, *weak))
    elif weak:
        verdict = Verdict("suspected", score, tuple(weak))
    else:
        return Verdict("none", score)
    return replace(verdict, label=label(verdict))


def label(verdict: Verdict) -> str:
    """One line for the reader: what we say and why, quoting the evidence."""
    if not verdict.evidence or verdict.level == "none":
        return ""
    first = verdict.evidence[0]
    if verdict.level == "suspected" and first.kind == "style":
        return f"Style signals only, not a finding: {first.quote}"
    if verdict.level == "suspected":
        return f"A hint, not a finding: {_reason(first)}"
    return f"AI-generated: {_reason(first)}"


def _reason(evidence: Evidence) -> str:
    quote = " ".join(evidence.quote.split())
    if evidence.kind == "residue":
        return f"the text carries chatbot residue: \u201c{quote}\u201d"
    if evidence.kind == "listed":
        return f"listed by the editor ({quote})"
    if evidence.kind == "history":
        return quote
    place = PLACES.get(evidence.where, "the page says")
    return f"{place} \u201c{quote}\u201d"
