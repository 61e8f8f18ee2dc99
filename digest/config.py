"""The `digest.toml` schema: defaults live here, the user's file only overrides.

Anything a user writes is validated strictly: an unknown key or a wrong type is a
`ConfigError` that names the key and the file, so a typo never silently does nothing.
Secrets never come from the file: the SMTP password is read from an environment
variable whose *name* the file may choose.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG_NAME = "digest.toml"


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    # strict: "7" is not a number and "yes" is not a boolean; a typo is an error
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


FilePath = Annotated[Path, Field(strict=False)]  # TOML has no path type: a string is fine


def web_url(key: str, value: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """`value` if empty or an absolute URL of one of `schemes`, else the error for `key`."""
    parts = urlsplit(value)
    if value and (parts.scheme not in schemes or not parts.hostname):
        shown = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ValueError(f"{key} must be an {shown} URL (got {value!r})")
    return value


class Newsletter(_Section):
    title: str = "The Autos Digest"
    editor: str = "The Editor"
    editor_title: str = "editor"
    editor_line: str = (
        "{editor}, {editor_title} of {title}, selects {their} favourite stories "
        "in this weekly newsletter."
    )
    editor_pronoun: str = "their"  # fills {their}: "her", "his", "their"
    tone: str = "warm, brisk and plain-spoken, with a dry wit; no hype"  # the model-written note
    show_note: bool = True  # the editor's note at the top
    timezone: str = "UTC"
    language: str = "en"
    max_stories: Annotated[int, Field(ge=1, le=50)] = 7

    @field_validator("editor_line")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(editor="", editor_title="", title="", their="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"cannot fill in {value!r} ({exc}); the placeholders are "
                "{editor}, {editor_title}, {title} and {their}"
            ) from None
        return value

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str) -> str:
        if not re.fullmatch(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*", value):
            raise ValueError(
                f"language must be a language tag such as 'en', 'de' or 'en-GB' (got {value!r})"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as 'Europe/London')"
            ) from None
        return value


class FeedConfig(_Section):
    url: str
    name: str = ""
    weight: Annotated[float, Field(ge=0, le=10)] = 1.0
    tags: list[str] = []

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"feed URL must be http:// or https:// with a host (got {value!r})")
        try:
            parts.port  # noqa: B018 - raises on a port out of range
        except ValueError:
            raise ValueError(f"feed URL has an invalid port (got {value!r})") from None
        return value


class Summarizer(_Section):
    sentences: Annotated[int, Field(ge=1, le=5)] = 3
    max_words: Annotated[int, Field(ge=20, le=300)] = 60


Provider = Literal["openai", "github", "ollama", "custom"]
# How the model is asked for JSON: "json_schema" (OpenAI, vLLM, Ollama >= 0.5, LM Studio),
# "json_object" (any-JSON mode, llama.cpp's server), "prompt" (the shape in the system
# message only), or "auto": json_schema first, stepping down once a server rejects it.
StructuredOutput = Literal["auto", "json_schema", "json_object", "prompt"]


class Price(_Section):
    """US dollars per million tokens."""

    input: Annotated[float, Field(ge=0)]
    output: Annotated[float, Field(ge=0)]


class Llm(_Section):
    """A model for summaries and the editor's note; absent means the offline summarizer."""

    provider: Provider = "openai"
    model: str = ""  # default per provider, see digest.summarize.providers
    base_url: str = ""  # default per provider; OPENAI_BASE_URL for openai and custom
    api_key_env: str = ""  # default per provider: OPENAI_API_KEY, GITHUB_TOKEN, none
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.2
    timeout: Annotated[float, Field(gt=0, le=600)] = 60.0  # seconds per request
    retries: Annotated[int, Field(ge=0, le=10)] = 2  # the SDK's retries on 429 / 5xx
    max_concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    max_input_tokens: Annotated[int, Field(ge=500, le=1_000_000)] = 6000
    max_output_tokens: Annotated[int, Field(ge=100, le=16_000)] = 700
    max_calls: Annotated[int, Field(ge=0, le=10_000)] = 40  # per run
    max_tokens: Annotated[int, Field(ge=0)] = 150_000  # per run, prompt + completion
    max_failures: Annotated[int, Field(ge=1, le=50)] = 3  # in a row, then offline for the run
    structured_output: StructuredOutput = "auto"
    show_usage: bool = False  # calls, tokens and cost in the digest's footer
    prices: dict[str, Price] = {}  # model id -> price; adds to the built-in table

    @field_validator("base_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        return web_url("base_url", value)

    @model_validator(mode="after")
    def _custom_is_complete(self) -> Llm:
        if self.provider == "custom" and not (self.base_url and self.model):
            raise ValueError("provider 'custom' needs both base_url and model")
        return self


class Delivery(_Section):
    sender: str = Field("", alias="from")
    to: list[str] = []
    subject: str = "{title}: {dates}"
    smtp_host: str = ""
    smtp_port: Annotated[int, Field(ge=0, le=65535)] = 0  # 0: 465 for ssl, else 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password_env: str = "DIGEST_SMTP_PASSWORD"
    timeout: Annotated[float, Field(gt=0, le=300)] = 30.0
    retries: Annotated[int, Field(ge=0, le=5)] = 2  # after a "try again later" failure
    retry_delay: Annotated[float, Field(ge=0, le=300)] = 2.0  # seconds, doubled each time
    list_id: str = ""  # List-Id; default: the newsletter's slug at the sender's domain
    unsubscribe_url: str = ""  # https: List-Unsubscribe with one-click List-Unsubscribe-Post
    unsubscribe_mailto: str = ""  # an address: List-Unsubscribe mailto:

    @field_validator("unsubscribe_url")
    @classmethod
    def _https(cls, value: str) -> str:
        return web_url("unsubscribe_url", value, schemes=("https",))

    @field_validator("unsubscribe_mailto")
    @classmethod
    def _address(cls, value: str) -> str:
        address = value.removeprefix("mailto:")
        if address and ("@" not in address or any(c.isspace() or c in "<>," for c in address)):
            raise ValueError(f"unsubscribe_mailto must be one e-mail address (got {value!r})")
        return address

    @property
    def port(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return 465 if self.security == "ssl" else 587

    @property
    def configured(self) -> bool:
        return bool(self.smtp_host and self.sender and self.to)

    @field_validator("subject")
    @classmethod
    def _subject_placeholders(cls, value: str) -> str:
        try:
            value.format(title="", dates="", issue="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"cannot fill in {value!r} ({exc}); the placeholders are "
                "{title}, {dates} and {issue}"
            ) from None
        return value

    def password(self) -> str | None:
        return os.environ.get(self.password_env) or None


class State(_Section):
    path: FilePath = Path(".digest/state.sqlite")


class Output(_Section):
    dir: FilePath = Path("out")
    templates_dir: FilePath | None = None
    max_email_bytes: Annotated[int, Field(ge=20_000, le=10_000_000)] = (
        100_000  # Gmail clips at 102 KB
    )


class Archive(_Section):
    """The static web archive: an index of issues, a page per issue, an Atom feed."""

    enabled: bool = True
    dir: FilePath | None = None  # default: "archive" inside the output folder
    url: str = ""  # where it is published (GitHub Pages, say): "View in browser" links
    include: Literal["sent", "all"] = "sent"  # "all": dry runs too (a local archive)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return web_url("url", value)


class Network(_Section):
    allow_hosts: list[str] = []
    allow_public: bool = True  # false: fetch nothing but allow_hosts (tests, benchmarks)
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    read_timeout: Annotated[float, Field(gt=0, le=300)] = 20.0
    max_bytes: Annotated[int, Field(ge=10_000)] = 10_000_000
    max_redirects: Annotated[int, Field(ge=0, le=20)] = 5
    run_deadline: Annotated[float, Field(ge=0, le=86_400)] = 1200.0  # s for all fetching; 0: none
    concurrency: Annotated[int, Field(ge=1, le=256)] = 16
    per_host: Annotated[int, Field(ge=1, le=32)] = 4
    user_agent: str = ""  # default: names this tool, its version and its repository

    @field_validator("allow_hosts")
    @classmethod
    def _host_port(cls, value: list[str]) -> list[str]:
        for item in value:
            host, sep, port = item.rpartition(":")
            if not sep or not host or not port.isdecimal() or not 0 < int(port) < 65536:
                raise ValueError(f"{item!r} is not host:port (e.g. '127.0.0.1:8123')")
        return value

    @field_validator("user_agent")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(not " " <= c <= "~" for c in value):
            raise ValueError("user_agent must be one line of printable ASCII")
        return value.strip()


class Performance(_Section):
    """How CPU work (feed parsing, page extraction) is spread over the machine."""

    workers: Annotated[int, Field(ge=0, le=64)] = 0  # processes; 0: one per core, 1: none
    min_pool_jobs: Annotated[int, Field(ge=1)] = 64  # fewer jobs than this stay in-process
    # "needed": read the pages of the stories that can still make the issue (ranked first
    # on the feeds' own text) and of every story shown; "all": every entry's page
    fetch: Literal["all", "needed"] = "needed"
    # with fetch = "needed", which headlines the first grouping embeds: "needed", those of
    # the stories that can still make the issue (a word-only grouping decides which);
    # "all": every headline of the week
    embed: Literal["all", "needed"] = "needed"


class ListedSource(_Section):
    domain: str
    reason: str

    @field_validator("domain")
    @classmethod
    def _bare_domain(cls, value: str) -> str:
        host = value.strip().lower().removeprefix("www.")
        if not host or "/" in host or ":" in host or " " in host:
            raise ValueError(f"domain must be a bare host name like 'example.com' (got {value!r})")
        return host


class ListedAuthor(_Section):
    name: str
    reason: str


class UserRule(_Section):
    id: str
    pattern: str
    where: list[str] = ["byline", "bio", "disclaimer", "meta", "jsonld"]
    kind: Literal["disclosed", "residue"] = "disclosed"
    meaning: str
    also: str = ""  # a second pattern that must match in the same regions
    case_sensitive: bool = False


class Detect(_Section):
    show_style: bool = False  # show "style signals" in the email (they are never a verdict)
    history_runs: Annotated[int, Field(ge=1, le=52)] = 6
    history_threshold: Annotated[int, Field(ge=1, le=52)] = 3
    sources: list[ListedSource] = []
    authors: list[ListedAuthor] = []
    rules: list[UserRule] = []


class Ranking(_Section):
    """How the week is ranked: each factor multiplies the story's score."""

    coverage: Annotated[float, Field(ge=0, le=5)] = 0.35  # per extra outlet covering it
    recency: Annotated[float, Field(ge=0, le=1)] = 0.5  # share of the score that decays
    source_weight: bool = True  # multiply by the canonical outlet's [[feeds]] weight
    off_topic: Annotated[float, Field(ge=0, le=1)] = 0.6  # no section matched
    ai_generated: Annotated[float, Field(ge=0, le=1)] = 0.5  # canonical source is AI-written
    paywalled: Annotated[float, Field(ge=0, le=1)] = 0.7
    thin: Annotated[float, Field(ge=0, le=1)] = 0.6  # fewer than 60 words
    more_per_section: Annotated[int, Field(ge=0, le=20)] = 3  # "Also worth reading"
    max_per_outlet: Annotated[int, Field(ge=1, le=50)] = 2  # picks sent to one outlet


class SectionRule(_Section):
    title: str
    keywords: list[str]  # words or phrases; case-insensitive, whole words
    tags: list[str] = []  # feeds tagged so lean to this section


DEFAULT_SECTIONS: tuple[dict[str, Any], ...] = (
    {
        "title": "EVs & batteries",
        "keywords": """electric vehicle|electric vehicles|EV|EVs|battery|batteries|cell|cells|
            charging|charger|chargers|lithium|solid-state|GWh|kWh|range|plug-in|hybrid|
            recycling|black mass|cathode|anode|LFP|vehicle-to-grid|V2G""",
        "tags": ["ev"],
    },
    {
        "title": "Industry, deals & earnings",
        "keywords": """profit|profits|revenue|earnings|quarter|quarterly|forecast|guidance|
            merger|acquisition|acquire|deal|stake|joint venture|investment|invest|shares|
            stock|stocks|CFO|CEO|chief executive|chief financial officer|plant|factory|
            layoffs|jobs|inventory|sales|dealer|dealers|fleet|order|supplier|suppliers|
            recall""",
        "tags": ["industry"],
    },
    {
        "title": "Policy, trade & tariffs",
        "keywords": """tariff|tariffs|trade|duty|duties|regulation|regulator|regulators|
            mandate|emissions|CO2|rules|law|government|ministry|Parliament|Congress|subsidy|
            subsidies|tax credit|tax credits|import|imports|export|exports|EU|Commission|
            NHTSA|EPA|ZEV|USMCA|rules of origin""",
        "tags": ["policy"],
    },
    {
        "title": "Autonomy & software",
        "keywords": """autonomous|self-driving|driverless|robotaxi|robotaxis|lidar|radar|
            software|over-the-air|ADAS|autopilot|driver assistance|chip|chips|AI|sensor|
            sensors|mapping|connected|zonal|computer|computers|electronics|Level 3|
            automated driving""",
        "tags": ["autonomy", "tech"],
    },
    {
        "title": "Launches & reviews",
        "keywords": """reviewed|test drive|first drive|long-term test|group test|road test|
            shortlist|launch|launches|unveil|unveils|unveiled|debut|debuts|revealed|reveal|
            new model|estate|SUV|hatchback|hatchbacks|sedan|sedans|coupe|pickup|pickups|
            priced|trim|horsepower|interior""",
        "tags": ["reviews"],
    },
)


class Health(_Section):
    silent_weeks: Annotated[int, Field(ge=1, le=52)] = 4  # a feed with nothing newer is "silent"
    owner_section: bool = False  # list failed and silent feeds in out/ (never in the email)


class Config(_Section):
    newsletter: Newsletter = Newsletter()
    feeds: list[FeedConfig] = []
    summarizer: Summarizer = Summarizer()
    llm: Llm | None = None
    delivery: Delivery = Field(default_factory=lambda: Delivery.model_validate({}))
    state: State = State()
    output: Output = Output()
    archive: Archive = Archive()
    network: Network = Network()
    performance: Performance = Performance()
    detect: Detect = Detect()
    ranking: Ranking = Ranking()
    health: Health = Health()
    sections: list[SectionRule] = Field(default_factory=lambda: default_sections())


def default_sections() -> list[SectionRule]:
    """The five automotive sections (keywords kept as readable |-separated text)."""
    return [
        SectionRule(
            title=spec["title"],
            keywords=[k.strip() for k in spec["keywords"].split("|") if k.strip()],
            tags=spec["tags"],
        )
        for spec in DEFAULT_SECTIONS
    ]


# Settings that may come from the environment instead of the file (GitHub Actions secrets,
# say: a public repository should not list its readers' addresses). A set variable wins
# over the file; an empty one is ignored, as an unset secret is an empty string there.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "DIGEST_FROM": ("delivery", "from"),
    "DIGEST_TO": ("delivery", "to"),  # comma-separated
    "DIGEST_SMTP_HOST": ("delivery", "smtp_host"),
    "DIGEST_SMTP_PORT": ("delivery", "smtp_port"),
    "DIGEST_SMTP_SECURITY": ("delivery", "security"),
    "DIGEST_SMTP_USERNAME": ("delivery", "username"),
    "DIGEST_LLM_PROVIDER": ("llm", "provider"),  # creates [llm] when the file has none
    "DIGEST_LLM_MODEL": ("llm", "model"),
    "DIGEST_LLM_BASE_URL": ("llm", "base_url"),  # e.g. http://127.0.0.1:11434/v1 (Ollama)
    "DIGEST_LLM_API_KEY_ENV": ("llm", "api_key_env"),  # the variable's name, not the key
    "DIGEST_ARCHIVE_DIR": ("archive", "dir"),  # relative to the config file's folder
    "DIGEST_ARCHIVE_URL": ("archive", "url"),
}


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate `path` (with the `ENV_OVERRIDES` found in `environ`, default the
    process environment); relative paths in it are relative to its folder."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file. Create one with `digest init`, or pass --config FILE."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    origins = _apply_env(raw, os.environ if environ is None else environ)
    return parse_config(raw, path, origins)


def _apply_env(
    raw: dict[str, Any], environ: Mapping[str, str], sections: frozenset[str] | None = None
) -> dict[str, str]:
    """Apply the overrides (of `sections`, default all); returns the keys set, with the
    variable each came from."""
    origins = {}
    for name, (section, key) in ENV_OVERRIDES.items():
        if sections is not None and section not in sections:
            continue
        value = environ.get(name, "").strip()
        if not value:
            continue
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            continue  # the file's own error is reported by validation
        target[key] = _env_value(name, key, value)
        origins[f"{section}.{key}"] = name
    return origins


def _env_value(name: str, key: str, value: str) -> Any:
    if key == "to":
        return [part.strip() for part in value.split(",") if part.strip()]
    if key == "smtp_port":
        if not value.isdecimal():
            raise ConfigError(f"environment variable {name}: not a port number (got {value!r})")
        return int(value)
    return value


def apply_env(
    raw: dict[str, Any], environ: Mapping[str, str], sections: frozenset[str]
) -> dict[str, str]:
    """The environment overrides of `sections` only (the demo takes [llm] ones)."""
    return _apply_env(raw, environ, sections)


def parse_config(
    raw: dict[str, Any], path: Path, origins: Mapping[str, str] | None = None
) -> Config:
    """Validate a parsed TOML document; `path` is only for messages and relative paths,
    `origins` names the environment variable behind a key that came from one."""
    _refuse_secrets(raw, path)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, origins or {}, raw)) from None
    return _resolve_paths(config, path.parent)


def _refuse_secrets(raw: dict[str, Any], path: Path) -> None:
    llm = raw.get("llm")
    if isinstance(llm, dict) and "api_key" in llm:
        raise ConfigError(
            f"{path}: key 'llm.api_key' is not allowed: keys are never read from the config "
            "file. Remove it and set the environment variable named by 'llm.api_key_env' "
            "(default OPENAI_API_KEY, or GITHUB_TOKEN for provider 'github') instead."
        )
    delivery = raw.get("delivery")
    if isinstance(delivery, dict) and "password" in delivery:
        raise ConfigError(
            f"{path}: key 'delivery.password' is not allowed: passwords are never read from "
            "the config file. Remove it and set the environment variable named by "
            "'delivery.password_env' (default DIGEST_SMTP_PASSWORD) instead."
        )


def _describe(
    exc: ValidationError, path: Path, origins: Mapping[str, str], raw: Mapping[str, Any]
) -> str:
    lines = [f"{path}: {len(exc.errors())} error(s) in the configuration"]
    for error in exc.errors():
        key = _dotted(error["loc"]) + _feed_named(raw, error["loc"])
        if key.split("[")[0] in origins:
            key += f" (from the environment variable {origins[key.split('[')[0]]})"
        if error["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key (check its spelling and section)")
        elif error["type"] == "missing":
            lines.append(f"  {key}: required key is missing")
        elif error["type"] == "value_error":
            lines.append(f"  {key}: {error['ctx']['error']}")
        else:
            got = error.get("input")
            shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
            lines.append(f"  {key}: {error['msg']}{shown}")
    return "\n".join(lines)


def _feed_named(raw: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    """` (feed "Motor1")` for an error inside the fourth [[feeds]] table, by its name or
    URL; "" elsewhere."""
    if len(loc) < 2 or loc[0] != "feeds" or not isinstance(loc[1], int):
        return ""
    feeds = raw.get("feeds")
    table = feeds[loc[1]] if isinstance(feeds, list) and loc[1] < len(feeds) else None
    if not isinstance(table, dict):
        return ""
    named = table.get("name") or table.get("url")
    return f" (feed {str(named)[:80]!r})" if isinstance(named, str) and named else ""


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _resolve_paths(config: Config, base: Path) -> Config:
    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    output = config.output.model_copy(
        update={
            "dir": absolute(config.output.dir),
            "templates_dir": absolute(config.output.templates_dir)
            if config.output.templates_dir
            else None,
        }
    )
    state = config.state.model_copy(update={"path": absolute(config.state.path)})
    archive = config.archive.model_copy(
        update={"dir": absolute(config.archive.dir) if config.archive.dir else None}
    )
    return config.model_copy(update={"output": output, "state": state, "archive": archive})


def require_feeds(config: Config, path: Path) -> None:
    """A run needs feeds; an empty list is a config error, not an empty issue."""
    if not config.feeds:
        raise ConfigError(
            f"{path}: no [[feeds]]: add at least one feed (`digest init` writes a file "
            "with 19 automotive feeds to start from)"
        )


def starter_config() -> str:
    """The commented starter `digest.toml` that `digest init` writes."""
    return (Path(__file__).parent / "starter.toml").read_text(encoding="utf-8")
