"""Each article's language, and the mark on a story whose summary is in another one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from digest.config import ConfigError, parse_config
from digest.language import detect
from digest.models import Summary
from digest.render import render
from digest.theme import check, sample_digest

TEXTS = {
    "en": "The carmaker said on Monday that it would build a new battery plant in Ohio, and "
    "that the site would employ about 2,000 people when it opens. It was chosen for its rail "
    "links, the company said, and for the power that the grid there can offer.",
    "de": "Der Autobauer hat am Montag angekündigt, dass er ein neues Batteriewerk in Sachsen "
    "bauen wird. Das Werk soll bei voller Auslastung rund 2000 Menschen beschäftigen und wird "
    "nach Angaben des Unternehmens auch für die Zulieferer der Region wichtig sein.",
    "fr": "Le constructeur a annoncé lundi qu'il allait construire une nouvelle usine de "
    "batteries dans le Nord. Le site emploiera environ 2000 personnes et sera relié au "
    "réseau ferré, ce qui a pesé dans le choix de la ville, selon la direction.",
    "es": "El fabricante anunció el lunes que construirá una nueva planta de baterías en "
    "Valencia. La fábrica dará empleo a unas 2.000 personas y, según la empresa, se eligió "
    "por su conexión con el puerto y por el precio de la energía en la región.",
    "it": "Il costruttore ha annunciato lunedì che costruirà un nuovo impianto per le "
    "batterie in Piemonte. Lo stabilimento darà lavoro a circa 2.000 persone e, secondo "
    "l'azienda, è stato scelto per la vicinanza alla rete ferroviaria e ai fornitori.",
    "nl": "De autofabrikant heeft maandag bekendgemaakt dat het een nieuwe batterijfabriek "
    "in Limburg gaat bouwen. De fabriek moet werk bieden aan zo'n 2000 mensen en is volgens "
    "het bedrijf gekozen vanwege de ligging aan het spoor en de haven.",
    "pt": "A fabricante anunciou na segunda-feira que vai construir uma nova fábrica de "
    "baterias no Porto. O local vai empregar cerca de 2000 pessoas e foi escolhido pela "
    "ligação ao porto e pelo preço da energia, segundo a empresa, que não deu mais detalhes.",
    "sv": "Biltillverkaren meddelade på måndagen att det ska bygga en ny batterifabrik i "
    "Skellefteå. Fabriken ska ge arbete åt omkring 2000 personer och valdes enligt bolaget "
    "för att det finns gott om förnybar el i regionen och en hamn i närheten.",
}


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_each_language_is_told(code: str) -> None:
    assert detect(TEXTS[code]) == code


def test_too_little_or_no_known_language_is_unknown() -> None:
    assert detect("Tesla Model Y recall 2026") == ""  # too few words
    polish = (
        "Producent samochodów ogłosił w poniedziałek, że zbuduje nową fabrykę baterii na "
        "Śląsku. Zakład zatrudni około dwóch tysięcy osób i został wybrany ze względu na "
        "połączenia kolejowe oraz dostęp do energii, jak podała firma w komunikacie."
    )
    assert detect(polish) == ""


def german_pick(method: str, language: str = "en") -> str:
    sample = sample_digest()
    first = sample.stories[0]
    article = dataclasses.replace(first.article, language="de")
    summary = Summary(first.summary.text, method)
    story = dataclasses.replace(first, article=article, summary=summary)
    digest = dataclasses.replace(sample, stories=(story, *sample.stories[1:]), language=language)
    rendered = render(digest)
    return rendered.html + rendered.text + rendered.markdown


def test_an_offline_summary_of_an_article_in_another_language_is_marked() -> None:
    out = german_pick("extractive")
    assert '<span class="story-language">in German</span>' in out
    assert out.count("in German") == 3  # html, text and Markdown
    assert "in German" not in german_pick("test-model")  # a model wrote it in the issue's
    assert "in German" not in german_pick("extractive", language="de-AT")


def test_a_theme_translates_the_language_names(tmp_path: Path) -> None:
    theme = Path(__file__).parents[1] / "templates" / "_labels.html.j2"
    (tmp_path / "_labels.html.j2").write_text(
        theme.read_text().replace('"de": "German"', '"de": "Deutsch"')
    )
    assert check(tmp_path) == []
    sample = sample_digest()
    first = sample.stories[0]
    story = dataclasses.replace(
        first,
        article=dataclasses.replace(first.article, language="de"),
        summary=Summary("Ein Satz.", "extractive"),
    )
    html = render(dataclasses.replace(sample, stories=(story,)), tmp_path).html
    assert "in Deutsch" in html


def test_the_newsletter_language_is_a_language_tag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"newsletter\.language: language must be a language tag"):
        parse_config({"newsletter": {"language": "English"}}, tmp_path / "digest.toml")
    config = parse_config({"newsletter": {"language": "en-GB"}}, tmp_path / "digest.toml")
    assert config.newsletter.language == "en-GB"


def test_the_real_feeds_are_read_as_english_or_unknown(corpus: Path) -> None:
    """The real feeds are nearly all English: at most 1% of their entries may be told
    another language (a handful of blogs are not English), and most are told at all."""
    import gzip
    import json
    from collections import Counter
    from datetime import UTC, datetime

    from digest.feeds import parse_feed
    from digest.models import Feed

    real = corpus / "feeds" / "real"
    urls = json.loads((real / "urls.json").read_text())
    told: Counter[str] = Counter()
    for key, url in urls.items():
        body = gzip.decompress((real / f"{key}.gz").read_bytes())
        parsed = parse_feed(body, {}, Feed(url, ""), datetime.now(UTC), {})
        for entry in parsed.entries[:5]:
            told[detect(entry.content or entry.summary) or "unknown"] += 1
    total = sum(told.values())
    print(f"\n{total} entries: {dict(told.most_common())}")
    others = total - told["en"] - told["unknown"]
    assert total > 500 and others <= total // 100 and told["unknown"] <= total * 0.15
